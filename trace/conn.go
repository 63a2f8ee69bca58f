package trace

import (
	"encoding/binary"
	"net/netip"

	"github.com/gomptcp/mptcp/wire"
)

// Conn is an MPTCP connection seen in a capture: what its MP_CAPABLE
// handshake revealed and the subflows that joined it.
type Conn struct {
	ID int // 1-based, in order of appearance
	// Client is the host that sent the initial SYN, Server the one that
	// answered it.
	Client, Server netip.AddrPort
	Version        uint8
	// Keys as seen on the wire (RFC 8684 §3.1): the server's in its
	// SYN/ACK, the client's in the third ACK (or the first data packet
	// carrying MP_CAPABLE).
	ClientKey, ServerKey       uint64
	HasClientKey, HasServerKey bool
	// KeyMismatch is set when a later MP_CAPABLE repeated a key with a
	// different value.
	KeyMismatch bool
	// ChecksumRequired is set when either side set the A flag.
	ChecksumRequired bool
	// Fallback is set when the SYN/ACK came without MP_CAPABLE: the
	// connection went on as plain TCP (RFC 8684 §3.7).
	Fallback bool
	Subflows []*Subflow
	// Addresses lists the ADD_ADDR options seen (echoes included).
	Addresses []Announcement
}

// ClientToken returns the token derived from the client's key.
func (c *Conn) ClientToken() uint32 { return wire.Token(c.ClientKey) }

// ServerToken returns the token derived from the server's key.
func (c *Conn) ServerToken() uint32 { return wire.Token(c.ServerKey) }

// ClientIDSN returns the client's initial data sequence number.
func (c *Conn) ClientIDSN() uint64 { return wire.IDSN(c.ClientKey) }

// ServerIDSN returns the server's initial data sequence number.
func (c *Conn) ServerIDSN() uint64 { return wire.IDSN(c.ServerKey) }

// keyOf returns the key of the host at addr, by whether addr belongs to the
// side that opened the connection. Subflows may use other addresses, so the
// side is taken from the subflow, not the address.
func (c *Conn) key(client bool) (uint64, bool) {
	if client {
		return c.ClientKey, c.HasClientKey
	}
	return c.ServerKey, c.HasServerKey
}

// Subflow is one TCP connection of an MPTCP connection.
type Subflow struct {
	Conn *Conn
	// Initiator sent the subflow's SYN; Responder answered it.
	Initiator, Responder netip.AddrPort
	// InitiatorIsClient tells which side of the MPTCP connection opened
	// this subflow (joins may come from either side).
	InitiatorIsClient bool
	Join              bool // opened with MP_JOIN (false: the initial subflow)
	Backup            bool // B flag of the MP_JOIN SYN
	// MP_JOIN handshake values (RFC 8684 §3.2).
	InitiatorAddrID, ResponderAddrID uint8
	Token                            uint32 // receiver's token in the SYN
	InitiatorNonce, ResponderNonce   uint32
	SynAckHMAC                       [8]byte
	AckHMAC                          [20]byte
	HasSynAck, HasAck                bool
	// Verification of the HMACs against the connection's keys; set once
	// both keys and the handshake values are known.
	SynAckHMACOK, AckHMACOK Verdict
	// ISN of each direction, for relative subflow sequence numbers.
	InitiatorISN, ResponderISN uint32
	HasResponderISN            bool
}

// Verdict is the result of checking a value seen on the wire.
type Verdict int8

const (
	Unchecked Verdict = iota // not enough was seen to check
	Valid
	Invalid
)

func (v Verdict) String() string {
	switch v {
	case Valid:
		return "ok"
	case Invalid:
		return "BAD"
	}
	return "unchecked"
}

// Announcement is an ADD_ADDR seen on a connection.
type Announcement struct {
	Frame      int
	FromClient bool
	Option     wire.AddAddr
	HMACOK     Verdict // Unchecked for echoes
}

type flowKey struct{ a, b netip.AddrPort }

// Tracker follows MPTCP connections through a capture. Feed it every
// segment in capture order with Add.
type Tracker struct {
	conns    []*Conn
	mappings map[flowDir][]*mapping      // DSS mappings whose payload is being gathered
	mapped   map[flowDir]map[uint32]bool // mappings seen, by relative subflow sequence number
	flows    map[flowKey]*Subflow
	pending  map[flowKey]*Subflow // MP_JOIN SYNs whose token is not (yet) known
}

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker {
	return &Tracker{flows: map[flowKey]*Subflow{}, pending: map[flowKey]*Subflow{}}
}

// Conns returns the MPTCP connections seen so far, in order of appearance.
func (t *Tracker) Conns() []*Conn { return t.conns }

// Lookup returns the subflow a segment belongs to, and whether the segment
// travels from the subflow's initiator.
func (t *Tracker) Lookup(s *Segment) (*Subflow, bool) {
	if sf, ok := t.flows[flowKey{s.Src, s.Dst}]; ok {
		return sf, true
	}
	if sf, ok := t.flows[flowKey{s.Dst, s.Src}]; ok {
		return sf, false
	}
	return nil, false
}

// Add updates the tracker with a segment and returns the subflow it belongs
// to (nil if it is not part of a known MPTCP connection).
func (t *Tracker) Add(s *Segment) *Subflow {
	syn := s.Flags&wire.FlagSYN != 0
	ack := s.Flags&wire.FlagACK != 0
	var mpc *wire.MPCapable
	var mpj *wire.MPJoin
	for i := range s.MPTCP {
		switch v := s.MPTCP[i].Value.(type) {
		case wire.MPCapable:
			mpc = &v
		case wire.MPJoin:
			mpj = &v
		}
	}
	switch {
	case syn && !ack && mpc != nil:
		c := &Conn{ID: len(t.conns) + 1, Client: s.Src, Server: s.Dst, Version: mpc.Version}
		c.ChecksumRequired = mpc.Flags&wire.MPCapableChecksumRequired != 0
		sf := &Subflow{Conn: c, Initiator: s.Src, Responder: s.Dst, InitiatorIsClient: true, InitiatorISN: s.Seq}
		c.Subflows = append(c.Subflows, sf)
		t.conns = append(t.conns, c)
		t.flows[flowKey{s.Src, s.Dst}] = sf
		return sf
	case syn && !ack && mpj != nil && mpj.Form == wire.MPJoinSYN:
		sf := &Subflow{Initiator: s.Src, Responder: s.Dst, Join: true, Backup: mpj.Backup(),
			InitiatorAddrID: mpj.AddrID, Token: mpj.Token, InitiatorNonce: mpj.Random, InitiatorISN: s.Seq}
		if c, client := t.byToken(mpj.Token); c != nil {
			// The token names the SYN's receiver: the initiator is the other side.
			t.attach(c, sf, !client)
		} else {
			t.pending[flowKey{s.Src, s.Dst}] = sf
		}
		t.flows[flowKey{s.Src, s.Dst}] = sf
		return sf
	}
	sf, fromInitiator := t.Lookup(s)
	if sf == nil {
		return nil
	}
	c := sf.Conn
	if syn && ack && !fromInitiator {
		sf.ResponderISN, sf.HasResponderISN = s.Seq, true
	}
	if c == nil { // a join whose connection is unknown
		return sf
	}
	fromClient := fromInitiator == sf.InitiatorIsClient
	if mpc != nil {
		if mpc.Flags&wire.MPCapableChecksumRequired != 0 {
			c.ChecksumRequired = true
		}
		if mpc.Form.HasSenderKey() {
			t.learnKey(c, fromClient, mpc.SenderKey)
		}
		if mpc.Form.HasReceiverKey() {
			t.learnKey(c, !fromClient, mpc.ReceiverKey)
		}
	} else if syn && ack && !sf.Join && !fromInitiator {
		c.Fallback = true
	}
	if mpj != nil {
		switch {
		case mpj.Form == wire.MPJoinSYNACK && !fromInitiator:
			sf.ResponderAddrID = mpj.AddrID
			sf.ResponderNonce = mpj.Random
			binary.BigEndian.PutUint64(sf.SynAckHMAC[:], mpj.TruncatedHMAC)
			sf.HasSynAck = true
		case mpj.Form == wire.MPJoinACK && fromInitiator:
			sf.AckHMAC = mpj.HMAC
			sf.HasAck = true
		}
		t.verifyJoin(sf)
	}
	s.DSSChecksum = t.checkDSS(s, sf, fromInitiator, fromClient)
	for i := range s.MPTCP {
		if a, ok := s.MPTCP[i].Value.(wire.AddAddr); ok {
			an := Announcement{Frame: s.Frame, FromClient: fromClient, Option: a}
			if !a.Echo {
				sk, ok1 := c.key(fromClient)
				rk, ok2 := c.key(!fromClient)
				if ok1 && ok2 {
					an.HMACOK = verdict(a.HMACValid(sk, rk))
				}
			}
			c.Addresses = append(c.Addresses, an)
		}
	}
	return sf
}

func (t *Tracker) learnKey(c *Conn, client bool, key uint64) {
	have, known := c.key(client)
	if known {
		if have != key {
			c.KeyMismatch = true
		}
		return
	}
	if client {
		c.ClientKey, c.HasClientKey = key, true
	} else {
		c.ServerKey, c.HasServerKey = key, true
	}
	// A token may now resolve joins seen before the key was.
	for k, sf := range t.pending {
		if cc, isClient := t.byToken(sf.Token); cc != nil {
			t.attach(cc, sf, !isClient)
			t.verifyJoin(sf)
			delete(t.pending, k)
		}
	}
}

// byToken finds the connection with a key whose token is tok, and whether
// that key is the client's.
func (t *Tracker) byToken(tok uint32) (*Conn, bool) {
	for _, c := range t.conns {
		if c.HasClientKey && c.ClientToken() == tok {
			return c, true
		}
		if c.HasServerKey && c.ServerToken() == tok {
			return c, false
		}
	}
	return nil, false
}

func (t *Tracker) attach(c *Conn, sf *Subflow, initiatorIsClient bool) {
	sf.Conn = c
	sf.InitiatorIsClient = initiatorIsClient
	c.Subflows = append(c.Subflows, sf)
}

// verifyJoin checks the MP_JOIN HMACs once keys and nonces are known
// (RFC 8684 §3.2: A is the initiator, B the responder).
func (t *Tracker) verifyJoin(sf *Subflow) {
	c := sf.Conn
	if c == nil || !sf.Join {
		return
	}
	keyA, okA := c.key(sf.InitiatorIsClient)
	keyB, okB := c.key(!sf.InitiatorIsClient)
	if !okA || !okB {
		return
	}
	if sf.HasSynAck {
		sf.SynAckHMACOK = verdict(wire.VerifyMPJoinSYNACKHMAC(keyA, keyB, sf.InitiatorNonce, sf.ResponderNonce, sf.SynAckHMAC[:]))
	}
	if sf.HasAck && sf.HasSynAck {
		sf.AckHMACOK = verdict(wire.VerifyMPJoinACKHMAC(keyA, keyB, sf.InitiatorNonce, sf.ResponderNonce, sf.AckHMAC[:]))
	}
}

// mapping is a DSS mapping with a checksum whose payload is being
// gathered from the segments of its subflow, so that the checksum, which
// covers the whole mapping (RFC 8684 §3.3.1), can be verified however the
// sender cut the mapping into segments.
type mapping struct {
	ssn     uint32 // relative subflow sequence number of the first octet
	dsn     uint64
	dataLen uint16 // data-level length, a DATA_FIN included
	csum    uint16
	buf     []byte // the payload, len = octets of data (DATA_FIN excluded)
	have    []bool
	missing int
}

// flowDir names one direction of a subflow.
type flowDir struct {
	sf            *Subflow
	fromInitiator bool
}

// checkDSS gathers payload for the DSS mappings with a checksum of the
// segment's direction and returns the verdict on the mappings this segment
// completed (Invalid if any failed), or Unchecked. The MP_CAPABLE third ACK
// with data maps DSN = IDSN+1 at relative subflow sequence number 1
// (RFC 8684 §3.1). Mappings with 32-bit DSNs, infinite mappings and
// payload cut by the capture's snap length are not checked.
func (t *Tracker) checkDSS(s *Segment, sf *Subflow, fromInitiator, fromClient bool) Verdict {
	isn := sf.InitiatorISN
	if !fromInitiator {
		if !sf.HasResponderISN {
			return Unchecked
		}
		isn = sf.ResponderISN
	}
	dir := flowDir{sf, fromInitiator}
	if t.mappings == nil {
		t.mappings = map[flowDir][]*mapping{}
		t.mapped = map[flowDir]map[uint32]bool{}
	}
	for _, o := range s.MPTCP {
		if o.Err != nil {
			continue
		}
		var m *mapping
		switch v := o.Value.(type) {
		case wire.DSS:
			if !v.HasMapping() || !v.HasChecksum || v.Flags&wire.DSSDSN64 == 0 || v.IsInfiniteMapping() {
				continue
			}
			n := int(v.DataLen)
			if v.DataFIN() {
				n-- // DATA_FIN takes one octet of data-level length (§3.3.3)
			}
			m = &mapping{ssn: v.SSN, dsn: v.DSN, dataLen: v.DataLen, csum: v.Checksum, buf: make([]byte, max(n, 0))}
		case wire.MPCapable:
			key, ok := sf.Conn.key(fromClient)
			if !v.Form.HasChecksum() || !ok {
				continue
			}
			m = &mapping{ssn: 1, dsn: wire.IDSN(key) + 1, dataLen: v.DataLen, csum: v.Checksum, buf: make([]byte, v.DataLen)}
		default:
			continue
		}
		if t.mapped[dir] == nil {
			t.mapped[dir] = map[uint32]bool{}
		}
		if t.mapped[dir][m.ssn] {
			continue // a retransmission of a mapping already seen
		}
		t.mapped[dir][m.ssn] = true
		m.have = make([]bool, len(m.buf))
		m.missing = len(m.buf)
		t.mappings[dir] = append(t.mappings[dir], m)
	}
	result := Unchecked
	rel := s.Seq - isn
	pending := t.mappings[dir][:0]
	for _, m := range t.mappings[dir] {
		if !s.Truncated() {
			// Copy the part of the payload inside the mapping; the
			// subtraction is modulo 2^32 like sequence numbers.
			for i := range s.Payload {
				off := rel + uint32(i) - m.ssn
				if off < uint32(len(m.buf)) && !m.have[off] {
					m.buf[off], m.have[off] = s.Payload[i], true
					m.missing--
				}
			}
		}
		if m.missing > 0 {
			pending = append(pending, m)
			continue
		}
		ok := wire.VerifyDSSChecksum(m.dsn, m.ssn, m.dataLen, m.csum, m.buf)
		if !ok || result == Unchecked {
			result = verdict(ok)
		}
	}
	t.mappings[dir] = pending
	return result
}

func verdict(ok bool) Verdict {
	if ok {
		return Valid
	}
	return Invalid
}
