package wire

import (
	"fmt"
	"strings"
)

// MP_TCPRST layout (RFC 8684 §3.6, Figure 18):
//
//	+-------+----------+-------+-+-+-+-+--------+
//	| Kind  | Length=4 |Subtype|U|V|W|T| Reason |
//	+-------+----------+-------+-+-+-+-+--------+
const (
	mpTCPRSTFlagsOff  = 2 // subtype, U V W T
	mpTCPRSTReasonOff = 3

	mpTCPRSTFlagU = 0x08
	mpTCPRSTFlagV = 0x04
	mpTCPRSTFlagW = 0x02
	mpTCPRSTFlagT = 0x01

	mpTCPRSTLen = 4
)

// TCPRSTReason is the reason code of an MP_TCPRST option (RFC 8684 §3.6;
// IANA "MPTCP MP_TCPRST Reason Codes"). Codes without a name here are kept
// as received.
type TCPRSTReason uint8

// MP_TCPRST reason codes (RFC 8684 §3.6).
const (
	TCPRSTUnspecified             TCPRSTReason = 0x00 // Unspecified error
	TCPRSTMPTCPError              TCPRSTReason = 0x01 // MPTCP-specific error
	TCPRSTLackOfResources         TCPRSTReason = 0x02 // Lack of resources
	TCPRSTAdminProhibited         TCPRSTReason = 0x03 // Administratively prohibited
	TCPRSTTooMuchOutstandingData  TCPRSTReason = 0x04 // Too much outstanding data
	TCPRSTUnacceptablePerformance TCPRSTReason = 0x05 // Unacceptable performance
	TCPRSTMiddleboxInterference   TCPRSTReason = 0x06 // Middlebox interference
)

var tcpRSTReasonNames = [...]string{
	TCPRSTUnspecified:             "unspecified error",
	TCPRSTMPTCPError:              "MPTCP-specific error",
	TCPRSTLackOfResources:         "lack of resources",
	TCPRSTAdminProhibited:         "administratively prohibited",
	TCPRSTTooMuchOutstandingData:  "too much outstanding data",
	TCPRSTUnacceptablePerformance: "unacceptable performance",
	TCPRSTMiddleboxInterference:   "middlebox interference",
}

// String returns the RFC 8684 description of the reason, or
// "reason 0x.." for a code RFC 8684 does not assign.
func (r TCPRSTReason) String() string {
	if int(r) < len(tcpRSTReasonNames) {
		return tcpRSTReasonNames[r]
	}
	return fmt.Sprintf("reason 0x%02x", uint8(r))
}

// MPTCPRST is the MP_TCPRST option (RFC 8684 §3.6), sent on a TCP RST to
// tell why a subflow is being reset.
type MPTCPRST struct {
	// U, V and W are flags RFC 8684 leaves unassigned (sent as zero);
	// they are kept as received.
	U, V, W bool
	// T (Transient) reports that the error is temporary and the subflow
	// may be re-established later.
	T bool
	// Reason is the reason code.
	Reason TCPRSTReason
}

var _ MPTCPOption = MPTCPRST{}

// Subtype returns SubtypeMPTCPRST.
func (r MPTCPRST) Subtype() MPTCPSubtype { return SubtypeMPTCPRST }

// Len returns the encoded length, 4.
func (r MPTCPRST) Len() int { return mpTCPRSTLen }

// Append appends the encoded option to b.
func (r MPTCPRST) Append(b []byte) []byte {
	flags := byte(SubtypeMPTCPRST) << 4
	if r.U {
		flags |= mpTCPRSTFlagU
	}
	if r.V {
		flags |= mpTCPRSTFlagV
	}
	if r.W {
		flags |= mpTCPRSTFlagW
	}
	if r.T {
		flags |= mpTCPRSTFlagT
	}
	return append(b, OptionKindMPTCP, mpTCPRSTLen, flags, byte(r.Reason))
}

// ParseMPTCPRST parses the MP_TCPRST option at the start of b and returns
// it with its length, which must be 4.
func ParseMPTCPRST(b []byte) (MPTCPRST, int, error) {
	l, err := checkMPTCP(b, SubtypeMPTCPRST)
	if err != nil {
		return MPTCPRST{}, 0, err
	}
	if l != mpTCPRSTLen {
		return MPTCPRST{}, 0, mptcpErr(SubtypeMPTCPRST, l, ErrBadLength, "want 4")
	}
	f := b[mpTCPRSTFlagsOff]
	return MPTCPRST{
		U:      f&mpTCPRSTFlagU != 0,
		V:      f&mpTCPRSTFlagV != 0,
		W:      f&mpTCPRSTFlagW != 0,
		T:      f&mpTCPRSTFlagT != 0,
		Reason: TCPRSTReason(b[mpTCPRSTReasonOff]),
	}, l, nil
}

// String returns a compact form such as
// "MP_TCPRST reason=lack of resources flags=T".
func (r MPTCPRST) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "MP_TCPRST reason=%s", r.Reason)
	if r.U || r.V || r.W || r.T {
		s.WriteString(" flags=")
		for _, f := range [...]struct {
			set  bool
			name byte
		}{{r.U, 'U'}, {r.V, 'V'}, {r.W, 'W'}, {r.T, 'T'}} {
			if f.set {
				s.WriteByte(f.name)
			}
		}
	}
	return s.String()
}
