package diag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/mdlayher/netlink"
)

// ErrMalformed is wrapped by every decoding error; it is the kernel
// package's sentinel.
var ErrMalformed = kernel.ErrMalformed

// Linux address families, as carried in inet_diag messages.
const (
	AFInet  = 2
	AFInet6 = 10
)

// ipprotoTCP is IPPROTO_TCP.
const ipprotoTCP = 6

// Sizes of the inet_diag structures (include/uapi/linux/inet_diag.h).
const (
	sockIDSize = 48 // struct inet_diag_sockid
	// ReqSize is sizeof(struct inet_diag_req_v2).
	ReqSize = 8 + sockIDSize
	// MsgSize is sizeof(struct inet_diag_msg).
	MsgSize = 4 + sockIDSize + 20
)

// Header is struct inet_diag_msg: what inet_diag reports of every socket.
type Header struct {
	// Family is AFInet or AFInet6.
	Family uint8           `json:"family"`
	State  kernel.TCPState `json:"state"`
	Timer  uint8           `json:"timer"`
	// Retrans is the timer's retransmission count.
	Retrans uint8          `json:"retrans"`
	Local   netip.AddrPort `json:"local"`
	Remote  netip.AddrPort `json:"remote"`
	// Interface is the bound interface index (0 if none).
	Interface uint32 `json:"interface"`
	// Cookie identifies the socket; for MPTCP sockets the kernel puts the
	// token in its low 32 bits of a dump_one request.
	Cookie uint64 `json:"cookie"`
	// Expires is the time until the pending timer fires, in milliseconds.
	Expires uint32 `json:"expires_ms"`
	// RecvQ and SendQ are the queue lengths ss shows (for listeners: the
	// accept queue and its limit).
	RecvQ uint32 `json:"recv_q"`
	SendQ uint32 `json:"send_q"`
	UID   uint32 `json:"uid"`
	Inode uint32 `json:"inode"`
}

// DecodeHeader decodes struct inet_diag_msg. Addresses of the family's size
// are taken from the 16-byte fields; ports are in network order, the rest in
// host order.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < MsgSize {
		return h, fmt.Errorf("%w: inet_diag_msg is %d bytes, need %d", ErrMalformed, len(b), MsgSize)
	}
	ne := binary.NativeEndian
	h.Family = b[0]
	h.State = kernel.TCPState(b[1])
	h.Timer = b[2]
	h.Retrans = b[3]
	sport := binary.BigEndian.Uint16(b[4:])
	dport := binary.BigEndian.Uint16(b[6:])
	switch h.Family {
	case AFInet:
		h.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[8:12])), sport)
		h.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[24:28])), dport)
	case AFInet6:
		h.Local = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), sport)
		h.Remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])), dport)
	default:
		return h, fmt.Errorf("%w: inet_diag_msg family %d is neither AF_INET nor AF_INET6", ErrMalformed, h.Family)
	}
	h.Interface = ne.Uint32(b[40:])
	h.Cookie = uint64(ne.Uint32(b[44:])) | uint64(ne.Uint32(b[48:]))<<32
	h.Expires = ne.Uint32(b[52:])
	h.RecvQ = ne.Uint32(b[56:])
	h.SendQ = ne.Uint32(b[60:])
	h.UID = ne.Uint32(b[64:])
	h.Inode = ne.Uint32(b[68:])
	return h, nil
}

// AppendHeader appends the inet_diag_msg encoding of h to b (for tests and
// fakes).
func AppendHeader(b []byte, h Header) []byte {
	ne := binary.NativeEndian
	var m [MsgSize]byte
	m[0], m[1], m[2], m[3] = h.Family, uint8(h.State), h.Timer, h.Retrans
	binary.BigEndian.PutUint16(m[4:], h.Local.Port())
	binary.BigEndian.PutUint16(m[6:], h.Remote.Port())
	putAddr(m[8:24], h.Local.Addr())
	putAddr(m[24:40], h.Remote.Addr())
	ne.PutUint32(m[40:], h.Interface)
	ne.PutUint32(m[44:], uint32(h.Cookie))
	ne.PutUint32(m[48:], uint32(h.Cookie>>32))
	ne.PutUint32(m[52:], h.Expires)
	ne.PutUint32(m[56:], h.RecvQ)
	ne.PutUint32(m[60:], h.SendQ)
	ne.PutUint32(m[64:], h.UID)
	ne.PutUint32(m[68:], h.Inode)
	return append(b, m[:]...)
}

func putAddr(dst []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(dst, v[:])
	} else if a.Is6() {
		v := a.As16()
		copy(dst, v[:])
	}
}

// Request is an inet_diag_req_v2 dump request.
type Request struct {
	Family uint8 // AFInet or AFInet6
	// Protocol is the IP protocol; values above 255 (IPPROTO_MPTCP) are
	// sent in an INET_DIAG_REQ_PROTOCOL attribute.
	Protocol int
	// Ext is the bitmask of attributes requested: bit n-1 asks for
	// attribute n (INET_DIAG_INFO …).
	Ext uint8
	// States is the bitmask of TCP states to dump: bit n for state n.
	States uint32
}

// AppendRequest appends the encoding of r to b: struct inet_diag_req_v2,
// then the protocol attribute when needed.
func AppendRequest(b []byte, r Request) []byte {
	var m [ReqSize]byte
	m[0] = r.Family
	m[1] = uint8(r.Protocol)
	if r.Protocol > 0xff {
		// The real protocol goes in INET_DIAG_REQ_PROTOCOL; the kernel's
		// MPTCP selftests put IPPROTO_TCP here.
		m[1] = ipprotoTCP
	}
	m[2] = r.Ext
	binary.NativeEndian.PutUint32(m[4:], r.States)
	b = append(b, m[:]...)
	if r.Protocol > 0xff {
		// struct nlattr {u16 nla_len; u16 nla_type} then the u32 value.
		ne := binary.NativeEndian
		b = ne.AppendUint16(b, 8)
		b = ne.AppendUint16(b, kernel.INET_DIAG_REQ_PROTOCOL)
		b = ne.AppendUint32(b, uint32(r.Protocol))
	}
	return b
}

// Socket is one MPTCP socket (a connection or a listener) with the
// subflows List found for it.
type Socket struct {
	Header
	// Info is the socket's mptcp_info, nil if the kernel sent none.
	Info *kernel.MPTCPInfo `json:"info,omitempty"`
	// Subflows are the TCP subflows of the connection, or the TCP listener
	// of an MPTCP listener.
	Subflows []Subflow `json:"subflows"`
}

// Subflow is one TCP socket that is an MPTCP subflow.
type Subflow struct {
	Header
	// Cong is the congestion control algorithm, if reported.
	Cong string `json:"cong,omitempty"`
	// TCPInfo is the subflow's tcp_info, nil if not reported.
	TCPInfo *kernel.TCPInfo `json:"tcp_info,omitempty"`
	// ULP is the name of the upper layer protocol ("mptcp" for subflows,
	// empty for plain TCP sockets).
	ULP string `json:"ulp"`
	// MPTCP is the subflow's MPTCP state; nil for listening subflows, for
	// which the kernel sends no INET_ULP_INFO_MPTCP.
	MPTCP *SubflowInfo `json:"mptcp,omitempty"`
}

// SubflowFlags is MPTCP_SUBFLOW_ATTR_FLAGS.
type SubflowFlags uint32

// String returns the flags as ss prints them: M (MP_CAPABLE from the peer),
// m (MP_CAPABLE requested locally), J/j (MP_JOIN), B/b (backup), e (fully
// established), c (connected), v (valid mapping). Unknown bits are shown
// in hex after a '+'.
func (f SubflowFlags) String() string {
	const letters = "MmJjBbecv"
	var sb strings.Builder
	for i := range len(letters) {
		if f&(1<<i) != 0 {
			sb.WriteByte(letters[i])
		}
	}
	if rest := f &^ (1<<len(letters) - 1); rest != 0 {
		sb.WriteString("+" + strconv.FormatUint(uint64(rest), 16))
	}
	return sb.String()
}

// SubflowInfo is the INET_ULP_INFO_MPTCP nest of a subflow
// (MPTCP_SUBFLOW_ATTR_*).
type SubflowInfo struct {
	// TokenRem and TokenLoc are the peer's and the local connection
	// token (RFC 8684 §3.2).
	TokenRem uint32 `json:"token_rem"`
	TokenLoc uint32 `json:"token_loc"`
	// RelWriteSeq is the relative subflow sequence number of the next
	// byte to send.
	RelWriteSeq uint32 `json:"relwrite_seq"`
	// MapSeq, MapSfSeq and MapDataLen describe the current DSS mapping
	// (RFC 8684 §3.3.1): data sequence number, relative subflow sequence
	// number and length.
	MapSeq     uint64 `json:"map_seq"`
	MapSfSeq   uint32 `json:"map_sfseq"`
	MapDataLen uint16 `json:"map_datalen"`
	// SSNOffset is the subflow's initial sequence number.
	SSNOffset uint32       `json:"ssn_offset"`
	Flags     SubflowFlags `json:"flags"`
	// IDRem and IDLoc are the peer's and the local address id
	// (RFC 8684 §3.2).
	IDRem uint8 `json:"id_rem"`
	IDLoc uint8 `json:"id_loc"`
}

// DecodeSubflowInfo decodes the MPTCP_SUBFLOW_ATTR_* attributes of an
// INET_ULP_INFO_MPTCP nest. Unknown attributes are skipped; known ones of
// the wrong size are errors.
func DecodeSubflowInfo(b []byte) (SubflowInfo, error) {
	var s SubflowInfo
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return s, fmt.Errorf("%w: MPTCP subflow attributes: %v", ErrMalformed, err)
	}
	for ad.Next() {
		switch ad.Type() {
		case kernel.MPTCP_SUBFLOW_ATTR_TOKEN_REM:
			s.TokenRem = ad.Uint32()
		case kernel.MPTCP_SUBFLOW_ATTR_TOKEN_LOC:
			s.TokenLoc = ad.Uint32()
		case kernel.MPTCP_SUBFLOW_ATTR_RELWRITE_SEQ:
			s.RelWriteSeq = ad.Uint32()
		case kernel.MPTCP_SUBFLOW_ATTR_MAP_SEQ:
			s.MapSeq = ad.Uint64()
		case kernel.MPTCP_SUBFLOW_ATTR_MAP_SFSEQ:
			s.MapSfSeq = ad.Uint32()
		case kernel.MPTCP_SUBFLOW_ATTR_SSN_OFFSET:
			s.SSNOffset = ad.Uint32()
		case kernel.MPTCP_SUBFLOW_ATTR_MAP_DATALEN:
			s.MapDataLen = ad.Uint16()
		case kernel.MPTCP_SUBFLOW_ATTR_FLAGS:
			s.Flags = SubflowFlags(ad.Uint32())
		case kernel.MPTCP_SUBFLOW_ATTR_ID_REM:
			s.IDRem = ad.Uint8()
		case kernel.MPTCP_SUBFLOW_ATTR_ID_LOC:
			s.IDLoc = ad.Uint8()
		}
	}
	if err := ad.Err(); err != nil {
		return s, fmt.Errorf("%w: MPTCP subflow attributes: %v", ErrMalformed, err)
	}
	return s, nil
}

// DecodeULPInfo decodes an INET_DIAG_ULP_INFO nest: the ULP name and, for
// MPTCP subflows that are not listening, the INET_ULP_INFO_MPTCP nest.
func DecodeULPInfo(b []byte) (name string, mptcp *SubflowInfo, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return "", nil, fmt.Errorf("%w: ULP info: %v", ErrMalformed, err)
	}
	for ad.Next() {
		switch ad.Type() {
		case kernel.INET_ULP_INFO_NAME:
			name = ad.String()
		case kernel.INET_ULP_INFO_MPTCP:
			s, serr := DecodeSubflowInfo(ad.Bytes())
			if serr != nil {
				return "", nil, serr
			}
			mptcp = &s
		}
	}
	if err := ad.Err(); err != nil {
		return "", nil, fmt.Errorf("%w: ULP info: %v", ErrMalformed, err)
	}
	if mptcp != nil && name != "mptcp" {
		return "", nil, fmt.Errorf("%w: ULP %q carries MPTCP subflow info", ErrMalformed, name)
	}
	return name, mptcp, nil
}

// attrs walks the attributes after an inet_diag_msg, calling f for each.
func attrs(b []byte, f func(ad *netlink.AttributeDecoder) error) error {
	if len(b) == 0 {
		return nil
	}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return fmt.Errorf("%w: inet_diag attributes: %v", ErrMalformed, err)
	}
	for ad.Next() {
		if err := f(ad); err != nil {
			return err
		}
	}
	if err := ad.Err(); err != nil {
		if errors.Is(err, ErrMalformed) {
			return err
		}
		return fmt.Errorf("%w: inet_diag attributes: %v", ErrMalformed, err)
	}
	return nil
}

// DecodeMPTCPMessage decodes the payload of one SOCK_DIAG_BY_FAMILY reply
// to an IPPROTO_MPTCP dump: inet_diag_msg, then attributes, of which
// INET_DIAG_INFO is struct mptcp_info.
func DecodeMPTCPMessage(b []byte) (Socket, error) {
	var s Socket
	var err error
	if s.Header, err = DecodeHeader(b); err != nil {
		return s, err
	}
	err = attrs(b[MsgSize:], func(ad *netlink.AttributeDecoder) error {
		if ad.Type() == kernel.INET_DIAG_INFO {
			i, err := kernel.DecodeInfo(ad.Bytes())
			if err != nil {
				return fmt.Errorf("INET_DIAG_INFO: %w", err)
			}
			s.Info = &i
		}
		return nil
	})
	return s, err
}

// DecodeTCPMessage decodes the payload of one SOCK_DIAG_BY_FAMILY reply to
// an IPPROTO_TCP dump: inet_diag_msg, then attributes (INET_DIAG_INFO is
// struct tcp_info; INET_DIAG_ULP_INFO names the ULP and, for MPTCP
// subflows, nests their MPTCP state).
func DecodeTCPMessage(b []byte) (Subflow, error) {
	var s Subflow
	var err error
	if s.Header, err = DecodeHeader(b); err != nil {
		return s, err
	}
	err = attrs(b[MsgSize:], func(ad *netlink.AttributeDecoder) error {
		switch ad.Type() {
		case kernel.INET_DIAG_INFO:
			ti, err := kernel.DecodeTCPInfo(ad.Bytes())
			if err != nil {
				return fmt.Errorf("INET_DIAG_INFO: %w", err)
			}
			s.TCPInfo = &ti
		case kernel.INET_DIAG_CONG:
			s.Cong = ad.String()
		case kernel.INET_DIAG_ULP_INFO:
			name, m, err := DecodeULPInfo(ad.Bytes())
			if err != nil {
				return err
			}
			s.ULP, s.MPTCP = name, m
		}
		return nil
	})
	return s, err
}
