package wire

import (
	"fmt"
	"strings"
)

// REMOVE_ADDR layout (RFC 8684 §3.4.2, Figure 16):
//
//	+-------+------------+-------+--------+------------+-----
//	| Kind  | Length=3+n |Subtype|(resvd) | Address ID | ...
//	+-------+------------+-------+--------+------------+-----
const (
	removeAddrFlagsOff = 2 // subtype, 4 reserved bits
	removeAddrIDsOff   = 3

	removeAddrRsvMask = 0x0f

	// MaxRemoveAddrIDs is the most address IDs one REMOVE_ADDR can carry
	// in a TCP header: 40 bytes of option space less the 3-byte header.
	MaxRemoveAddrIDs = 40 - removeAddrIDsOff
)

// RemoveAddr is the REMOVE_ADDR option (RFC 8684 §3.4.2): the sender's
// addresses with these Address IDs are no longer usable, and subflows using
// them are to be closed.
type RemoveAddr struct {
	// Reserved holds the four "(resvd)" bits after the subtype as received
	// (RFC 8684 sends zero). Keeping them makes parsing lossless.
	Reserved uint8
	// IDs lists the removed Address IDs, at least one. In a parsed option
	// it aliases the parsed buffer: copy it to keep it after the buffer
	// is reused.
	IDs []uint8
}

var _ MPTCPOption = RemoveAddr{}

// Subtype returns SubtypeRemoveAddr.
func (r RemoveAddr) Subtype() MPTCPSubtype { return SubtypeRemoveAddr }

// Len returns the encoded length, 3 + len(IDs).
func (r RemoveAddr) Len() int { return removeAddrIDsOff + len(r.IDs) }

// Append appends the encoded option to b. It panics unless IDs holds 1 to
// 255-3 IDs, the counts a REMOVE_ADDR can carry (RFC 8684 §3.4.2); at most
// MaxRemoveAddrIDs fit in a TCP header.
func (r RemoveAddr) Append(b []byte) []byte {
	if len(r.IDs) == 0 || r.Len() > 0xff {
		panic(fmt.Sprintf("wire: REMOVE_ADDR with %d address IDs", len(r.IDs)))
	}
	b = append(b, OptionKindMPTCP, byte(r.Len()), byte(SubtypeRemoveAddr)<<4|r.Reserved&removeAddrRsvMask)
	return append(b, r.IDs...)
}

// ParseRemoveAddr parses the REMOVE_ADDR option at the start of b and
// returns it with its length. The length must be 3+n with n ≥ 1. IDs
// aliases b.
func ParseRemoveAddr(b []byte) (RemoveAddr, int, error) {
	l, err := checkMPTCP(b, SubtypeRemoveAddr)
	if err != nil {
		return RemoveAddr{}, 0, err
	}
	if l <= removeAddrIDsOff {
		return RemoveAddr{}, 0, mptcpErr(SubtypeRemoveAddr, l, ErrBadLength, "no address ID")
	}
	return RemoveAddr{
		Reserved: b[removeAddrFlagsOff] & removeAddrRsvMask,
		IDs:      b[removeAddrIDsOff:l:l],
	}, l, nil
}

// String returns a compact form such as "REMOVE_ADDR ids=[1 2]".
func (r RemoveAddr) String() string {
	var s strings.Builder
	s.WriteString("REMOVE_ADDR ids=[")
	for i, id := range r.IDs {
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%d", id)
	}
	s.WriteByte(']')
	if r.Reserved != 0 {
		fmt.Fprintf(&s, " rsv=%#x", r.Reserved)
	}
	return s.String()
}
