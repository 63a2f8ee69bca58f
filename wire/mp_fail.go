package wire

import (
	"encoding/binary"
	"fmt"
)

// MP_FAIL layout (RFC 8684 §3.7, Figure 19):
//
//	+-------+-----------+-------+--------------------+
//	| Kind  | Length=12 |Subtype|   (reserved, 12)   |
//	+-------+-----------+-------+--------------------+
//	|        Data Sequence Number (8 octets)         |
//	+------------------------------------------------+
const (
	mpFailRsvOff = 2 // low 4 bits of byte 2 and all of byte 3
	mpFailDSNOff = 4

	mpFailRsvMask = 0x0fff

	mpFailLen = mpFailDSNOff + 8 // 12
)

// MPFail is the MP_FAIL option (RFC 8684 §3.7): the sender detected a DSS
// checksum failure, and DSN is the data sequence number at the start of the
// data that failed the checksum.
type MPFail struct {
	// Reserved holds the 12 reserved bits after the subtype as received
	// (RFC 8684 sends zero). Keeping them makes parsing lossless.
	Reserved uint16
	// DSN is the full 64-bit data sequence number.
	DSN uint64
}

var _ MPTCPOption = MPFail{}

// Subtype returns SubtypeMPFail.
func (f MPFail) Subtype() MPTCPSubtype { return SubtypeMPFail }

// Len returns the encoded length, 12.
func (f MPFail) Len() int { return mpFailLen }

// Append appends the encoded option to b.
func (f MPFail) Append(b []byte) []byte {
	b = append(b, OptionKindMPTCP, mpFailLen)
	b = binary.BigEndian.AppendUint16(b, uint16(SubtypeMPFail)<<12|f.Reserved&mpFailRsvMask)
	return binary.BigEndian.AppendUint64(b, f.DSN)
}

// ParseMPFail parses the MP_FAIL option at the start of b and returns it
// with its length, which must be 12.
func ParseMPFail(b []byte) (MPFail, int, error) {
	l, err := checkMPTCP(b, SubtypeMPFail)
	if err != nil {
		return MPFail{}, 0, err
	}
	if l != mpFailLen {
		return MPFail{}, 0, mptcpErr(SubtypeMPFail, l, ErrBadLength, "want 12")
	}
	return MPFail{
		Reserved: binary.BigEndian.Uint16(b[mpFailRsvOff:]) & mpFailRsvMask,
		DSN:      binary.BigEndian.Uint64(b[mpFailDSNOff:]),
	}, l, nil
}

// String returns a compact form such as "MP_FAIL dsn=1234".
func (f MPFail) String() string {
	if f.Reserved != 0 {
		return fmt.Sprintf("MP_FAIL dsn=%d rsv=%#x", f.DSN, f.Reserved)
	}
	return fmt.Sprintf("MP_FAIL dsn=%d", f.DSN)
}
