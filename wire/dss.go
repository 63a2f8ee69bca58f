package wire

import (
	"encoding/binary"
	"strconv"
)

// DSS field offsets and sizes (RFC 8684 §3.3, Figure 9). After the fixed
// header come, in this order and only when their flags say so, the Data ACK
// and the mapping (DSN, Subflow Sequence Number, Data-Level Length,
// Checksum), so only the header has fixed offsets.
const (
	dssFlagsHiOff  = 2 // low nibble: the first 4 reserved bits; the subtype is the high nibble
	dssFlagsOff    = 3 // 3 reserved bits, then F m M a A
	dssBodyOff     = 4 // first octet after the header
	dssLenHeader   = 4
	dssLenDataACK4 = 4 // Data ACK without flag a
	dssLenDataACK8 = 8 // Data ACK with flag a
	dssLenDSN4     = 4 // DSN without flag m
	dssLenDSN8     = 8 // DSN with flag m
	dssLenSSN      = 4 // Subflow Sequence Number
	dssLenDataLen  = 2 // Data-Level Length
	dssLenChecksum = 2 // Checksum, present only when negotiated (§3.3.1)
)

// DSSFlags holds the 12 bits that follow DSS's subtype (RFC 8684 §3.3,
// Figure 9): 7 reserved bits, then F, m, M, a and A in the low 5 bits.
type DSSFlags uint16

// DSS flags (RFC 8684 §3.3).
const (
	// DSSDataACK is flag A: a Data ACK is present.
	DSSDataACK DSSFlags = 0x01
	// DSSDataACK64 is flag a: the Data ACK is 8 octets rather than 4.
	// It has a meaning only together with DSSDataACK.
	DSSDataACK64 DSSFlags = 0x02
	// DSSMapping is flag M: a mapping (DSN, Subflow Sequence Number,
	// Data-Level Length and, if negotiated, Checksum) is present.
	DSSMapping DSSFlags = 0x04
	// DSSDSN64 is flag m: the DSN is 8 octets rather than 4. It has a
	// meaning only together with DSSMapping.
	DSSDSN64 DSSFlags = 0x08
	// DSSDataFIN is flag F: the mapping's last data-level octet is a
	// DATA_FIN (RFC 8684 §3.3.3). Without DSSMapping it names no data
	// sequence number; parsing keeps it and leaves the judgement to the
	// engine.
	DSSDataFIN DSSFlags = 0x10
	// DSSReservedFlags are the 7 reserved bits, sent as 0.
	DSSReservedFlags DSSFlags = 0x0fe0
)

// dssLens is the option length without checksum for each combination of
// the flags A, a, M and m (the low 4 bits of DSSFlags): 4, plus the Data ACK
// if A, plus DSN, Subflow Sequence Number and Data-Level Length if M
// (RFC 8684 §3.3). Flags a and m occupy nothing without A and M.
var dssLens = func() (t [16]uint8) {
	for i := range t {
		f := DSSFlags(i)
		n := dssLenHeader
		switch {
		case f&DSSDataACK == 0:
		case f&DSSDataACK64 != 0:
			n += dssLenDataACK8
		default:
			n += dssLenDataACK4
		}
		switch {
		case f&DSSMapping == 0:
		case f&DSSDSN64 != 0:
			n += dssLenDSN8 + dssLenSSN + dssLenDataLen
		default:
			n += dssLenDSN4 + dssLenSSN + dssLenDataLen
		}
		t[i] = uint8(n)
	}
	return t
}()

// DSS is the Data Sequence Signal option (RFC 8684 §3.3): a Data ACK, a
// mapping from subflow to data sequence space, a DATA_FIN, or any
// combination of them.
//
// Flags decide which fields are on the wire; fields they leave out are zero
// after parsing and ignored by Append. DataACK and DSN hold the value as
// sent: with flag a (m) clear, the 4-octet wire field zero-extended. Append
// writes the low 32 bits when a (m) is clear. Expanding a 4-octet DSN or
// Data ACK to 64 bits is the engine's job (RFC 8684 §3.3).
//
// Flags a and m have a meaning only together with A and M respectively
// (RFC 8684 §3.3); without them they occupy no octets, and they and the
// reserved bits are kept as received so that Append reproduces the option
// exactly. Bits of Flags above the 12 on the wire are not sent.
//
// The checksum's presence cannot be told from the flags: both lengths are
// valid for the same flags, and the MP_CAPABLE handshake decides which one
// a connection uses (RFC 8684 §3.3.1). HasChecksum records it; it has no
// effect without a mapping, which the checksum belongs to.
type DSS struct {
	DataACK     uint64 // Data ACK (flag A)
	DSN         uint64 // Data Sequence Number (flag M)
	SSN         uint32 // Subflow Sequence Number, relative to the subflow's initial sequence number (flag M)
	DataLen     uint16 // Data-Level Length (flag M); 0 is the infinite mapping (§3.3.1)
	Checksum    uint16 // DSS checksum (flag M and HasChecksum; §3.3.1)
	Flags       DSSFlags
	HasChecksum bool
}

var _ MPTCPOption = DSS{}

// Subtype returns SubtypeDSS.
func (DSS) Subtype() MPTCPSubtype { return SubtypeDSS }

// HasDataACK reports whether flag A is set.
func (v DSS) HasDataACK() bool { return v.Flags&DSSDataACK != 0 }

// HasMapping reports whether flag M is set.
func (v DSS) HasMapping() bool { return v.Flags&DSSMapping != 0 }

// DataFIN reports whether flag F is set.
func (v DSS) DataFIN() bool { return v.Flags&DSSDataFIN != 0 }

// hasChecksumField reports whether the checksum is on the wire.
func (v DSS) hasChecksumField() bool { return v.HasChecksum && v.Flags&DSSMapping != 0 }

// IsInfiniteMapping reports whether the option carries the infinite mapping
// of a fallback to regular TCP: a mapping whose Data-Level Length is 0
// (RFC 8684 §3.3.1, §3.7).
func (v DSS) IsInfiniteMapping() bool { return v.HasMapping() && v.DataLen == 0 }

// IsBareDataFIN reports whether the option signals a DATA_FIN that is not
// on a data segment: flag F with a mapping of Subflow Sequence Number 0 and
// Data-Level Length 1, the DATA_FIN's own octet (RFC 8684 §3.3.3).
func (v DSS) IsBareDataFIN() bool {
	return v.DataFIN() && v.HasMapping() && v.SSN == 0 && v.DataLen == 1
}

// Len is the option's encoded length: 4, plus 4 or 8 for a Data ACK, plus
// 10 or 14 for a mapping, plus 2 for a checksum (RFC 8684 §3.3).
func (v DSS) Len() int {
	n := int(dssLens[v.Flags&0x0f])
	if v.hasChecksumField() {
		n += dssLenChecksum
	}
	return n
}

// Append appends the encoded option to b and returns the result.
func (v DSS) Append(b []byte) []byte {
	f := v.Flags
	b = append(b, OptionKindMPTCP, byte(v.Len()), byte(SubtypeDSS)<<4|byte(f>>8)&0x0f, byte(f))
	if f&DSSDataACK != 0 {
		if f&DSSDataACK64 != 0 {
			b = binary.BigEndian.AppendUint64(b, v.DataACK)
		} else {
			b = binary.BigEndian.AppendUint32(b, uint32(v.DataACK))
		}
	}
	if f&DSSMapping != 0 {
		if f&DSSDSN64 != 0 {
			b = binary.BigEndian.AppendUint64(b, v.DSN)
		} else {
			b = binary.BigEndian.AppendUint32(b, uint32(v.DSN))
		}
		b = binary.BigEndian.AppendUint32(b, v.SSN)
		b = binary.BigEndian.AppendUint16(b, v.DataLen)
		if v.HasChecksum {
			b = binary.BigEndian.AppendUint16(b, v.Checksum)
		}
	}
	return b
}

// ParseDSS parses the DSS option at the start of b (b[0] is the kind byte)
// and returns it with its length n. The length must be the one the flags
// call for, or, when a mapping is present, that plus 2 for the checksum;
// anything else is ErrBadLength.
func ParseDSS(b []byte) (DSS, int, error) {
	l, err := checkMPTCP(b, SubtypeDSS)
	if err != nil {
		return DSS{}, 0, err
	}
	if l < dssLenHeader {
		return DSS{}, 0, mptcpErr(SubtypeDSS, l, ErrBadLength, "shorter than the flags octet")
	}
	// The fields are gathered in locals and the value built once at the
	// end: filling a struct field by field and then returning it costs a
	// store-forwarding stall on every data segment.
	f := DSSFlags(b[dssFlagsHiOff]&0x0f)<<8 | DSSFlags(b[dssFlagsOff])
	want := int(dssLens[f&0x0f])
	csum := false
	if l != want {
		if l != want+dssLenChecksum || f&DSSMapping == 0 {
			return DSS{}, 0, dssLengthErr(l, f, want)
		}
		csum = true
	}
	var (
		ack, dsn uint64
		ssn      uint32
		dataLen  uint16
		checksum uint16
	)
	p := b[dssBodyOff:l]
	if f&DSSDataACK != 0 {
		if f&DSSDataACK64 != 0 {
			ack = binary.BigEndian.Uint64(p)
			p = p[dssLenDataACK8:]
		} else {
			ack = uint64(binary.BigEndian.Uint32(p))
			p = p[dssLenDataACK4:]
		}
	}
	if f&DSSMapping != 0 {
		if f&DSSDSN64 != 0 {
			dsn = binary.BigEndian.Uint64(p)
			p = p[dssLenDSN8:]
		} else {
			dsn = uint64(binary.BigEndian.Uint32(p))
			p = p[dssLenDSN4:]
		}
		ssn = binary.BigEndian.Uint32(p)
		dataLen = binary.BigEndian.Uint16(p[dssLenSSN:])
		if csum {
			checksum = binary.BigEndian.Uint16(p[dssLenSSN+dssLenDataLen:])
		}
	}
	return DSS{
		DataACK:     ack,
		DSN:         dsn,
		SSN:         ssn,
		DataLen:     dataLen,
		Checksum:    checksum,
		Flags:       f,
		HasChecksum: csum,
	}, l, nil
}

// dssLengthErr builds the error for a DSS whose length disagrees with its
// flags; want is the length without checksum.
func dssLengthErr(l int, f DSSFlags, want int) error {
	d := "flags 0x" + strconv.FormatUint(uint64(f), 16) + " need length " + strconv.Itoa(want)
	if f&DSSMapping != 0 {
		d += " or " + strconv.Itoa(want+dssLenChecksum)
	}
	return mptcpErr(SubtypeDSS, l, ErrBadLength, d)
}

// String returns a compact form such as
// "DSS{ack=… dsn=… ssn=… len=… csum=0x… fin}". A 4-octet Data ACK or DSN
// shows as ack32= or dsn32=; "infinite" marks the infinite mapping; flags=
// appears when reserved bits, or a or m without A or M, are set.
func (v DSS) String() string {
	b := make([]byte, 0, 96)
	b = append(b, "DSS{"...)
	f := v.Flags
	shown := DSSDataFIN
	sep := ""
	if f&DSSDataACK != 0 {
		shown |= DSSDataACK | DSSDataACK64
		if f&DSSDataACK64 != 0 {
			b = append(b, "ack="...)
		} else {
			b = append(b, "ack32="...)
		}
		b = strconv.AppendUint(b, v.DataACK, 10)
		sep = " "
	}
	if f&DSSMapping != 0 {
		shown |= DSSMapping | DSSDSN64
		b = append(b, sep...)
		if f&DSSDSN64 != 0 {
			b = append(b, "dsn="...)
		} else {
			b = append(b, "dsn32="...)
		}
		b = strconv.AppendUint(b, v.DSN, 10)
		b = append(b, " ssn="...)
		b = strconv.AppendUint(b, uint64(v.SSN), 10)
		b = append(b, " len="...)
		b = strconv.AppendUint(b, uint64(v.DataLen), 10)
		if v.HasChecksum {
			b = append(b, " csum=0x"...)
			b = strconv.AppendUint(b, uint64(v.Checksum), 16)
		}
		if v.DataLen == 0 {
			b = append(b, " infinite"...)
		}
		sep = " "
	}
	if f&DSSDataFIN != 0 {
		b = append(b, sep...)
		b = append(b, "fin"...)
		sep = " "
	}
	if f&^shown != 0 {
		b = append(b, sep...)
		b = append(b, "flags=0x"...)
		b = strconv.AppendUint(b, uint64(f), 16)
	}
	b = append(b, '}')
	return string(b)
}
