package wire

import "fmt"

// OptionKindMPTCP is the TCP option kind of every MPTCP option (RFC 8684 §2).
const OptionKindMPTCP = 30

// MPTCPSubtype is the 4-bit subtype that follows an MPTCP option's length
// byte (RFC 8684 §2, Table 1 in §7).
type MPTCPSubtype uint8

// MPTCP option subtypes (RFC 8684 §7, "MPTCP Option Subtypes").
const (
	SubtypeMPCapable      MPTCPSubtype = 0x0 // §3.1
	SubtypeMPJoin         MPTCPSubtype = 0x1 // §3.2
	SubtypeDSS            MPTCPSubtype = 0x2 // §3.3
	SubtypeAddAddr        MPTCPSubtype = 0x3 // §3.4.1
	SubtypeRemoveAddr     MPTCPSubtype = 0x4 // §3.4.2
	SubtypeMPPrio         MPTCPSubtype = 0x5 // §3.3.8
	SubtypeMPFail         MPTCPSubtype = 0x6 // §3.7
	SubtypeMPFastClose    MPTCPSubtype = 0x7 // §3.5
	SubtypeMPTCPRST       MPTCPSubtype = 0x8 // §3.6
	SubtypeMPExperimental MPTCPSubtype = 0xf // §7
)

var subtypeNames = [16]string{
	SubtypeMPCapable:      "MP_CAPABLE",
	SubtypeMPJoin:         "MP_JOIN",
	SubtypeDSS:            "DSS",
	SubtypeAddAddr:        "ADD_ADDR",
	SubtypeRemoveAddr:     "REMOVE_ADDR",
	SubtypeMPPrio:         "MP_PRIO",
	SubtypeMPFail:         "MP_FAIL",
	SubtypeMPFastClose:    "MP_FASTCLOSE",
	SubtypeMPTCPRST:       "MP_TCPRST",
	SubtypeMPExperimental: "MP_EXPERIMENTAL",
}

// String returns the RFC 8684 name of the subtype.
func (s MPTCPSubtype) String() string {
	if int(s) < len(subtypeNames) && subtypeNames[s] != "" {
		return subtypeNames[s]
	}
	return fmt.Sprintf("MPTCP_SUBTYPE_%#x", uint8(s))
}

// MPTCPOption is implemented by the value type of every MPTCP option.
type MPTCPOption interface {
	// Subtype reports the option's MPTCP subtype.
	Subtype() MPTCPSubtype
	// Len is the option's encoded length in bytes, kind and length included.
	Len() int
	// Append appends the encoded option to b and returns the result.
	Append(b []byte) []byte
}

// PeekMPTCPSubtype reports the subtype of the MPTCP option at the start of b,
// or false if b does not start with at least the three bytes of an MPTCP
// option header.
func PeekMPTCPSubtype(b []byte) (MPTCPSubtype, bool) {
	if len(b) < 3 || b[0] != OptionKindMPTCP {
		return 0, false
	}
	return MPTCPSubtype(b[2] >> 4), true
}

// checkMPTCP validates the header shared by all MPTCP options (kind, length,
// subtype) at the start of b and returns the option's length. Subtype
// parsers then check the lengths their forms allow.
func checkMPTCP(b []byte, st MPTCPSubtype) (int, error) {
	if len(b) < 3 {
		l := -1
		if len(b) >= 2 {
			l = int(b[1])
		}
		return 0, mptcpErr(st, l, ErrTruncated, "")
	}
	l := int(b[1])
	if b[0] != OptionKindMPTCP {
		return 0, &OptionError{Kind: b[0], Length: l, Err: ErrWrongKind, Detail: "not an MPTCP option"}
	}
	if got := MPTCPSubtype(b[2] >> 4); got != st {
		return 0, mptcpErr(st, l, ErrWrongKind, "subtype is "+got.String())
	}
	if l < 3 {
		return 0, mptcpErr(st, l, ErrBadLength, "")
	}
	if l > len(b) {
		return 0, mptcpErr(st, l, ErrTruncated, "")
	}
	return l, nil
}
