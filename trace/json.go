package trace

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// Object is a JSON object whose keys keep their insertion order, so that
// the output of "mptcp decode --json" is stable and reads in RFC order.
type Object []Field

// Field is one member of an Object.
type Field struct {
	Key   string
	Value any
}

// Add appends a member.
func (o *Object) Add(k string, v any) { *o = append(*o, Field{k, v}) }

// Get returns the value of key k.
func (o Object) Get(k string) (any, bool) {
	for _, f := range o {
		if f.Key == k {
			return f.Value, true
		}
	}
	return nil, false
}

// MarshalJSON implements json.Marshaler.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Key, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func hex64(v uint64) string { return fmt.Sprintf("0x%016x", v) }
func hex32(v uint32) string { return fmt.Sprintf("0x%08x", v) }
func hex16(v uint16) string { return fmt.Sprintf("0x%04x", v) }

// SegmentObject is the JSON form of a segment. conn is the MPTCP
// connection's ID, 0 if the segment belongs to none.
func SegmentObject(s *Segment, conn int) Object {
	var o Object
	o.Add("frame", s.Frame)
	o.Add("time", s.Time.UTC().Format(time.RFC3339Nano))
	o.Add("src", s.Src.String())
	o.Add("dst", s.Dst.String())
	o.Add("flags", s.Flags.String())
	o.Add("seq", s.Seq)
	o.Add("ack", s.Ack)
	o.Add("window", s.Window)
	o.Add("payload_length", s.PayloadLen)
	if conn != 0 {
		o.Add("mptcp_connection", conn)
	}
	o.Add("tcp_options", tcpOptionsObject(&s.Options))
	if s.OptionsErr != nil {
		o.Add("tcp_options_error", s.OptionsErr.Error())
	}
	mp := make([]Object, 0, len(s.MPTCP))
	for _, opt := range s.MPTCP {
		mp = append(mp, OptionObject(opt))
	}
	o.Add("mptcp", mp)
	if s.DSSChecksum != Unchecked {
		o.Add("dss_checksum", s.DSSChecksum.String())
	}
	return o
}

func tcpOptionsObject(t *wire.TCPOptions) Object {
	var o Object
	if t.HasMSS {
		o.Add("mss", t.MSS)
	}
	if t.HasWindowScale {
		o.Add("window_scale", t.WindowScale)
	}
	if t.SACKPermitted {
		o.Add("sack_permitted", true)
	}
	if t.NumSACKBlocks > 0 {
		blocks := make([][2]uint32, 0, t.NumSACKBlocks)
		for _, b := range t.SACKBlocks[:min(t.NumSACKBlocks, len(t.SACKBlocks))] {
			blocks = append(blocks, [2]uint32{b.Left, b.Right})
		}
		o.Add("sack", blocks)
	}
	if t.HasTimestamps {
		o.Add("tsval", t.TSVal)
		o.Add("tsecr", t.TSEcr)
	}
	if t.NumUnknown > 0 {
		var raw []string
		for _, u := range t.Unknown[:min(t.NumUnknown, len(t.Unknown))] {
			raw = append(raw, hex.EncodeToString(u))
		}
		o.Add("unknown", raw)
	}
	return o
}

// OptionObject is the JSON form of an MPTCP option, with members named
// after the fields of RFC 8684's figures.
func OptionObject(opt Option) Object {
	var o Object
	st, _ := wire.PeekMPTCPSubtype(opt.Raw)
	o.Add("subtype", st.String())
	o.Add("length", len(opt.Raw))
	if opt.Err != nil {
		o.Add("error", opt.Err.Error())
		o.Add("raw", hex.EncodeToString(opt.Raw))
	}
	switch v := opt.Value.(type) {
	case wire.MPCapable:
		o.Add("version", v.Version)
		o.Add("form", v.Form.String())
		o.Add("flag_a_checksum_required", v.Flags&wire.MPCapableChecksumRequired != 0)
		o.Add("flag_b_extensibility", v.Flags&wire.MPCapableExtensibility != 0)
		o.Add("flag_c_no_join_to_source", v.Flags&wire.MPCapableNoJoinToSource != 0)
		o.Add("flag_h_hmac_sha256", v.Flags&wire.MPCapableHMACSHA256 != 0)
		o.Add("flags", fmt.Sprintf("0x%02x", uint8(v.Flags)))
		if v.Form.HasSenderKey() {
			o.Add("sender_key", hex64(v.SenderKey))
		}
		if v.Form.HasReceiverKey() {
			o.Add("receiver_key", hex64(v.ReceiverKey))
		}
		if v.Form.HasDataLen() {
			o.Add("data_level_length", v.DataLen)
		}
		if v.Form.HasChecksum() {
			o.Add("checksum", hex16(v.Checksum))
		}
	case wire.MPJoin:
		o.Add("form", v.Form.String())
		switch v.Form {
		case wire.MPJoinSYN:
			o.Add("backup", v.Backup())
			o.Add("address_id", v.AddrID)
			o.Add("receiver_token", hex32(v.Token))
			o.Add("sender_random_number", hex32(v.Random))
		case wire.MPJoinSYNACK:
			o.Add("backup", v.Backup())
			o.Add("address_id", v.AddrID)
			o.Add("sender_truncated_hmac", hex64(v.TruncatedHMAC))
			o.Add("sender_random_number", hex32(v.Random))
		case wire.MPJoinACK:
			o.Add("sender_hmac", hex.EncodeToString(v.HMAC[:]))
		}
	case wire.DSS:
		o.Add("flag_data_fin", v.DataFIN())
		if v.HasDataACK() {
			o.Add("data_ack_8_octets", v.Flags&wire.DSSDataACK64 != 0)
			o.Add("data_ack", v.DataACK)
		}
		if v.HasMapping() {
			o.Add("dsn_8_octets", v.Flags&wire.DSSDSN64 != 0)
			o.Add("data_sequence_number", v.DSN)
			o.Add("subflow_sequence_number", v.SSN)
			o.Add("data_level_length", v.DataLen)
			if v.HasChecksum {
				o.Add("checksum", hex16(v.Checksum))
			}
			if v.IsInfiniteMapping() {
				o.Add("infinite_mapping", true)
			}
		}
	case wire.AddAddr:
		o.Add("echo", v.Echo)
		o.Add("address_id", v.AddrID)
		o.Add("address", v.Addr.String())
		if v.HasPort {
			o.Add("port", v.Port)
		}
		if !v.Echo {
			o.Add("truncated_hmac", hex64(v.HMAC))
		}
	case wire.RemoveAddr:
		ids := make([]int, len(v.IDs))
		for i, id := range v.IDs {
			ids[i] = int(id)
		}
		o.Add("address_ids", ids)
	case wire.MPPrio:
		o.Add("backup", v.Backup)
		if v.HasAddrID {
			o.Add("address_id", v.AddrID)
		}
	case wire.MPFail:
		o.Add("data_sequence_number", v.DSN)
	case wire.MPFastClose:
		o.Add("receiver_key", hex64(v.ReceiverKey))
	case wire.MPTCPRST:
		o.Add("flag_t_transient", v.T)
		o.Add("reason", uint8(v.Reason))
		o.Add("reason_name", v.Reason.String())
	case wire.MPExperimental:
		o.Add("data", hex.EncodeToString(v.Data))
	}
	return o
}

// ConnObject is the JSON form of an MPTCP connection's summary.
func ConnObject(c *Conn) Object {
	var o Object
	o.Add("mptcp_connection", c.ID)
	o.Add("client", c.Client.String())
	o.Add("server", c.Server.String())
	o.Add("version", c.Version)
	o.Add("fallback", c.Fallback)
	o.Add("checksum_required", c.ChecksumRequired)
	if c.HasClientKey {
		o.Add("client_key", hex64(c.ClientKey))
		o.Add("client_token", hex32(c.ClientToken()))
		o.Add("client_idsn", c.ClientIDSN())
	}
	if c.HasServerKey {
		o.Add("server_key", hex64(c.ServerKey))
		o.Add("server_token", hex32(c.ServerToken()))
		o.Add("server_idsn", c.ServerIDSN())
	}
	if c.KeyMismatch {
		o.Add("key_mismatch", true)
	}
	sfs := make([]Object, 0, len(c.Subflows))
	for _, sf := range c.Subflows {
		var s Object
		s.Add("initiator", sf.Initiator.String())
		s.Add("responder", sf.Responder.String())
		s.Add("initiated_by", side(sf.InitiatorIsClient))
		s.Add("join", sf.Join)
		if sf.Join {
			s.Add("backup", sf.Backup)
			s.Add("initiator_address_id", sf.InitiatorAddrID)
			s.Add("responder_address_id", sf.ResponderAddrID)
			s.Add("token", hex32(sf.Token))
			s.Add("synack_hmac", sf.SynAckHMACOK.String())
			s.Add("ack_hmac", sf.AckHMACOK.String())
		}
		sfs = append(sfs, s)
	}
	o.Add("subflows", sfs)
	if len(c.Addresses) > 0 {
		as := make([]Object, 0, len(c.Addresses))
		for _, a := range c.Addresses {
			var s Object
			s.Add("frame", a.Frame)
			s.Add("from", side(a.FromClient))
			s.Add("echo", a.Option.Echo)
			s.Add("address_id", a.Option.AddrID)
			s.Add("address", a.Option.Addr.String())
			if a.Option.HasPort {
				s.Add("port", a.Option.Port)
			}
			if !a.Option.Echo {
				s.Add("hmac", a.HMACOK.String())
			}
			as = append(as, s)
		}
		o.Add("add_addr", as)
	}
	return o
}

func side(client bool) string {
	if client {
		return "client"
	}
	return "server"
}
