package wire

import (
	"fmt"
)

// MP_EXPERIMENTAL layout (RFC 8684 §7, subtype 0xf "Reserved for Private
// Use"): RFC 8684 fixes only the header; what follows belongs to the
// experiment.
//
//	+-------+--------+-------+---------+----------------
//	| Kind  | Length |Subtype| 4 bits  | Data (Length-3)
//	+-------+--------+-------+---------+----------------
const (
	mpExperimentalBitsOff = 2 // subtype, 4 private bits
	mpExperimentalDataOff = 3

	mpExperimentalBitsMask = 0x0f
)

// MPExperimental is an MP_EXPERIMENTAL option (subtype 0xf, RFC 8684 §7),
// kept raw: this package does not interpret private-use options, but
// decodes and re-encodes them without loss.
type MPExperimental struct {
	// Bits holds the 4 bits that follow the subtype.
	Bits uint8
	// Data holds the bytes after the subtype byte. In a parsed option it
	// aliases the parsed buffer: copy it to keep it after the buffer is
	// reused.
	Data []byte
}

var _ MPTCPOption = MPExperimental{}

// Subtype returns SubtypeMPExperimental.
func (e MPExperimental) Subtype() MPTCPSubtype { return SubtypeMPExperimental }

// Len returns the encoded length, 3 + len(Data).
func (e MPExperimental) Len() int { return mpExperimentalDataOff + len(e.Data) }

// Append appends the encoded option to b. It panics if Data is longer than
// 255-3 bytes, which no option length can describe.
func (e MPExperimental) Append(b []byte) []byte {
	if e.Len() > 0xff {
		panic(fmt.Sprintf("wire: MP_EXPERIMENTAL with %d data bytes", len(e.Data)))
	}
	b = append(b, OptionKindMPTCP, byte(e.Len()), byte(SubtypeMPExperimental)<<4|e.Bits&mpExperimentalBitsMask)
	return append(b, e.Data...)
}

// ParseMPExperimental parses the MP_EXPERIMENTAL option at the start of b
// and returns it with its length, which may be anything from 3 on. Data
// aliases b.
func ParseMPExperimental(b []byte) (MPExperimental, int, error) {
	l, err := checkMPTCP(b, SubtypeMPExperimental)
	if err != nil {
		return MPExperimental{}, 0, err
	}
	return MPExperimental{
		Bits: b[mpExperimentalBitsOff] & mpExperimentalBitsMask,
		Data: b[mpExperimentalDataOff:l:l],
	}, l, nil
}

// String returns a compact form such as "MP_EXPERIMENTAL bits=0x1 data=0a0b".
func (e MPExperimental) String() string {
	return fmt.Sprintf("MP_EXPERIMENTAL bits=%#x data=%x", e.Bits, e.Data)
}
