package wire

import (
	"encoding/binary"
	"fmt"
)

// MP_FASTCLOSE layout (RFC 8684 §3.5, Figure 17):
//
//	+-------+-----------+-------+--------------------+
//	| Kind  | Length=12 |Subtype|   (reserved, 12)   |
//	+-------+-----------+-------+--------------------+
//	|      Option Receiver's Key (64 bits)           |
//	+------------------------------------------------+
const (
	mpFastCloseRsvOff = 2 // low 4 bits of byte 2 and all of byte 3
	mpFastCloseKeyOff = 4

	mpFastCloseRsvMask = 0x0fff

	mpFastCloseLen = mpFastCloseKeyOff + KeyLen // 12
)

// MPFastClose is the MP_FASTCLOSE option (RFC 8684 §3.5): the sender
// abruptly closes the whole MPTCP connection. ReceiverKey must be the key
// of the host receiving the option, which proves the sender knows it; the
// receiver compares it with its own key before acting.
type MPFastClose struct {
	// Reserved holds the 12 reserved bits after the subtype as received
	// (RFC 8684 sends zero). Keeping them makes parsing lossless.
	Reserved uint16
	// ReceiverKey is the Option Receiver's Key.
	ReceiverKey uint64
}

var _ MPTCPOption = MPFastClose{}

// Subtype returns SubtypeMPFastClose.
func (f MPFastClose) Subtype() MPTCPSubtype { return SubtypeMPFastClose }

// Len returns the encoded length, 12.
func (f MPFastClose) Len() int { return mpFastCloseLen }

// Append appends the encoded option to b.
func (f MPFastClose) Append(b []byte) []byte {
	b = append(b, OptionKindMPTCP, mpFastCloseLen)
	b = binary.BigEndian.AppendUint16(b, uint16(SubtypeMPFastClose)<<12|f.Reserved&mpFastCloseRsvMask)
	return binary.BigEndian.AppendUint64(b, f.ReceiverKey)
}

// ParseMPFastClose parses the MP_FASTCLOSE option at the start of b and
// returns it with its length, which must be 12.
func ParseMPFastClose(b []byte) (MPFastClose, int, error) {
	l, err := checkMPTCP(b, SubtypeMPFastClose)
	if err != nil {
		return MPFastClose{}, 0, err
	}
	if l != mpFastCloseLen {
		return MPFastClose{}, 0, mptcpErr(SubtypeMPFastClose, l, ErrBadLength, "want 12")
	}
	return MPFastClose{
		Reserved:    binary.BigEndian.Uint16(b[mpFastCloseRsvOff:]) & mpFastCloseRsvMask,
		ReceiverKey: binary.BigEndian.Uint64(b[mpFastCloseKeyOff:]),
	}, l, nil
}

// String returns a compact form such as
// "MP_FASTCLOSE key=0x0123456789abcdef".
func (f MPFastClose) String() string {
	if f.Reserved != 0 {
		return fmt.Sprintf("MP_FASTCLOSE key=%#016x rsv=%#x", f.ReceiverKey, f.Reserved)
	}
	return fmt.Sprintf("MP_FASTCLOSE key=%#016x", f.ReceiverKey)
}
