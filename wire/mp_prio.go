package wire

import (
	"fmt"
	"strings"
)

// MP_PRIO layout (RFC 8684 §3.3.8, Figure 11):
//
//	+-------+--------+-------+-----+-+
//	| Kind  | Length |Subtype|(rsv)|B|
//	+-------+--------+-------+-----+-+
//
// RFC 6824 §3.3.8 allowed a fourth byte, the Address ID of the subflows
// whose priority changes; RFC 8684 dropped it.
const (
	mpPrioFlagsOff  = 2 // subtype, 3 reserved bits, B
	mpPrioAddrIDOff = 3 // RFC 6824 form only

	mpPrioBackupFlag = 0x01
	mpPrioRsvMask    = 0x0e
	mpPrioRsvShift   = 1

	mpPrioLen       = 3 // RFC 8684
	mpPrioLenAddrID = 4 // RFC 6824, with Address ID
)

// MPPrio is the MP_PRIO option (RFC 8684 §3.3.8): it asks the receiver to
// change the priority of the subflow it arrives on, to backup (B set) or
// regular.
//
// RFC 8684 defines only the 3-byte form. The 4-byte RFC 6824 form, whose
// last byte names an Address ID, is recognised too so that such a peer's
// option is decoded rather than rejected: HasAddrID reports it. Whether to
// act on the Address ID is the engine's decision; Linux accepts only the
// 3-byte form.
type MPPrio struct {
	// Reserved holds the three "(rsv)" bits before B as received (RFC 8684
	// sends zero). Keeping them makes parsing lossless.
	Reserved uint8
	// Backup is the B flag: the sender wants the subflow used as backup.
	Backup bool
	// HasAddrID selects the 4-byte RFC 6824 form carrying AddrID.
	HasAddrID bool
	AddrID    uint8
}

var _ MPTCPOption = MPPrio{}

// Subtype returns SubtypeMPPrio.
func (p MPPrio) Subtype() MPTCPSubtype { return SubtypeMPPrio }

// Len returns the encoded length: 3, or 4 with HasAddrID.
func (p MPPrio) Len() int {
	if p.HasAddrID {
		return mpPrioLenAddrID
	}
	return mpPrioLen
}

// Append appends the encoded option to b.
func (p MPPrio) Append(b []byte) []byte {
	flags := byte(SubtypeMPPrio)<<4 | (p.Reserved<<mpPrioRsvShift)&mpPrioRsvMask
	if p.Backup {
		flags |= mpPrioBackupFlag
	}
	b = append(b, OptionKindMPTCP, byte(p.Len()), flags)
	if p.HasAddrID {
		b = append(b, p.AddrID)
	}
	return b
}

// ParseMPPrio parses the MP_PRIO option at the start of b and returns it
// with its length, 3 or 4.
func ParseMPPrio(b []byte) (MPPrio, int, error) {
	l, err := checkMPTCP(b, SubtypeMPPrio)
	if err != nil {
		return MPPrio{}, 0, err
	}
	if l != mpPrioLen && l != mpPrioLenAddrID {
		return MPPrio{}, 0, mptcpErr(SubtypeMPPrio, l, ErrBadLength, "want 3, or 4 with an address ID")
	}
	p := MPPrio{
		Reserved: (b[mpPrioFlagsOff] & mpPrioRsvMask) >> mpPrioRsvShift,
		Backup:   b[mpPrioFlagsOff]&mpPrioBackupFlag != 0,
	}
	if l == mpPrioLenAddrID {
		p.HasAddrID = true
		p.AddrID = b[mpPrioAddrIDOff]
	}
	return p, l, nil
}

// String returns a compact form such as "MP_PRIO backup" or
// "MP_PRIO regular id=2".
func (p MPPrio) String() string {
	var s strings.Builder
	s.WriteString("MP_PRIO ")
	if p.Backup {
		s.WriteString("backup")
	} else {
		s.WriteString("regular")
	}
	if p.HasAddrID {
		fmt.Fprintf(&s, " id=%d", p.AddrID)
	}
	if p.Reserved != 0 {
		fmt.Fprintf(&s, " rsv=%#x", p.Reserved)
	}
	return s.String()
}
