package wire

import (
	"encoding/binary"
	"strconv"
)

// MP_CAPABLE field offsets from the option's kind byte (RFC 8684 §3.1,
// Figure 4).
const (
	mpcVersionOff     = 2  // low nibble; the subtype is the high nibble
	mpcFlagsOff       = 3  // A B C D E F G H
	mpcSenderKeyOff   = 4  // Option Sender's Key, 8 octets
	mpcReceiverKeyOff = 12 // Option Receiver's Key, 8 octets
	mpcDataLenOff     = 20 // Data-Level Length, 2 octets
	mpcChecksumOff    = 22 // Checksum, 2 octets
)

// MP_CAPABLE option lengths, one per form (RFC 8684 §3.1).
const (
	MPCapableLenSYN             = 4
	MPCapableLenSYNACK          = 12
	MPCapableLenACK             = 20
	MPCapableLenACKData         = 22
	MPCapableLenACKDataChecksum = 24
)

// MPTCP protocol versions carried in MP_CAPABLE's version nibble.
const (
	// MPTCPVersion0 is RFC 6824's version. This package recognises it only
	// so that an engine can fall back (RFC 8684 §3.1, version negotiation).
	MPTCPVersion0 = 0
	// MPTCPVersion1 is RFC 8684's version, the one this package speaks.
	MPTCPVersion1 = 1
)

// MPCapableFlags is MP_CAPABLE's flags octet, bits A (most significant)
// through H (least significant) of RFC 8684 §3.1.
type MPCapableFlags uint8

// MP_CAPABLE flags (RFC 8684 §3.1; IANA "MPTCP Handshake Algorithms").
const (
	// MPCapableChecksumRequired is flag A: the sender requires DSS
	// checksums (RFC 8684 §3.3.1).
	MPCapableChecksumRequired MPCapableFlags = 0x80
	// MPCapableExtensibility is flag B, which current implementations set to
	// 0. A receiver that does not understand it set in a SYN ignores the
	// MP_CAPABLE and falls back to regular TCP (RFC 8684 §3.1).
	MPCapableExtensibility MPCapableFlags = 0x40
	// MPCapableNoJoinToSource is flag C: the sender will not accept
	// MP_JOINs to the address and port this option was sent from
	// (RFC 8684 §3.1).
	MPCapableNoJoinToSource MPCapableFlags = 0x20
	// MPCapableReservedFlags are flags D through G, reserved for crypto
	// algorithm negotiation and sent as 0 (RFC 8684 §3.1). Parsing keeps
	// them as received.
	MPCapableReservedFlags MPCapableFlags = 0x1e
	// MPCapableHMACSHA256 is flag H: HMAC-SHA256 (RFC 8684 §3.2), the only
	// crypto algorithm defined. RFC 8684 §3.1 has an MP_CAPABLE with no
	// crypto algorithm bit set treated as invalid; that judgement is left
	// to the engine, the codec keeps the flags as received.
	MPCapableHMACSHA256 MPCapableFlags = 0x01
)

// String lists the set flags by their RFC 8684 letters, e.g. "AH", or "-"
// when none is set.
func (f MPCapableFlags) String() string {
	if f == 0 {
		return "-"
	}
	var buf [8]byte
	n := 0
	for i := 0; i < 8; i++ {
		if f&(0x80>>i) != 0 {
			buf[n] = "ABCDEFGH"[i]
			n++
		}
	}
	return string(buf[:n])
}

// MPCapableForm says which of the five MP_CAPABLE layouts of RFC 8684 §3.1
// an option has. Each form has one length.
type MPCapableForm uint8

// MP_CAPABLE forms (RFC 8684 §3.1).
const (
	// MPCapableSYN: flags only (length 4), sent on the SYN.
	MPCapableSYN MPCapableForm = iota
	// MPCapableSYNACK: the sender's key (length 12), sent on the SYN/ACK.
	// A version-0 (RFC 6824) SYN also has this layout.
	MPCapableSYNACK
	// MPCapableACK: the sender's and the receiver's key (length 20), sent
	// on the third ACK when it carries no data.
	MPCapableACK
	// MPCapableACKData: both keys and the data-level length (length 22),
	// sent on the first data segment when checksums are not in use.
	MPCapableACKData
	// MPCapableACKDataChecksum: both keys, the data-level length and the
	// DSS checksum (length 24), sent on the first data segment when
	// checksums are in use.
	MPCapableACKDataChecksum
)

var mpCapableFormLens = [...]uint8{
	MPCapableSYN:             MPCapableLenSYN,
	MPCapableSYNACK:          MPCapableLenSYNACK,
	MPCapableACK:             MPCapableLenACK,
	MPCapableACKData:         MPCapableLenACKData,
	MPCapableACKDataChecksum: MPCapableLenACKDataChecksum,
}

var mpCapableFormNames = [...]string{
	MPCapableSYN:             "syn",
	MPCapableSYNACK:          "synack",
	MPCapableACK:             "ack",
	MPCapableACKData:         "ack+data",
	MPCapableACKDataChecksum: "ack+data+csum",
}

// Len is the option length of the form. A value outside the defined forms
// is treated as MPCapableSYN.
func (f MPCapableForm) Len() int {
	if int(f) < len(mpCapableFormLens) {
		return int(mpCapableFormLens[f])
	}
	return MPCapableLenSYN
}

// String returns a short name of the form ("syn", "synack", "ack",
// "ack+data", "ack+data+csum").
func (f MPCapableForm) String() string {
	if int(f) < len(mpCapableFormNames) {
		return mpCapableFormNames[f]
	}
	return "form(" + strconv.Itoa(int(f)) + ")"
}

// HasSenderKey reports whether the form carries the Option Sender's Key.
func (f MPCapableForm) HasSenderKey() bool { return f.Len() >= MPCapableLenSYNACK }

// HasReceiverKey reports whether the form carries the Option Receiver's Key.
func (f MPCapableForm) HasReceiverKey() bool { return f.Len() >= MPCapableLenACK }

// HasDataLen reports whether the form carries the Data-Level Length.
func (f MPCapableForm) HasDataLen() bool { return f.Len() >= MPCapableLenACKData }

// HasChecksum reports whether the form carries the DSS checksum.
func (f MPCapableForm) HasChecksum() bool { return f.Len() == MPCapableLenACKDataChecksum }

// MPCapable is the MP_CAPABLE option (RFC 8684 §3.1), which starts an MPTCP
// connection and exchanges the keys. Fields that the Form does not carry
// are zero after parsing and ignored by Append.
//
// In the ACK forms, SenderKey is the key of the host sending the ACK (the
// connection's initiator) and ReceiverKey the key its peer sent in the
// SYN/ACK (RFC 8684 §3.1).
type MPCapable struct {
	SenderKey   uint64 // Option Sender's Key
	ReceiverKey uint64 // Option Receiver's Key
	DataLen     uint16 // Data-Level Length of the payload mapped by this option
	Checksum    uint16 // DSS checksum of the mapped payload (RFC 8684 §3.3.1)
	Version     uint8  // low 4 bits are sent; MPTCPVersion1 for RFC 8684
	Flags       MPCapableFlags
	Form        MPCapableForm
}

var _ MPTCPOption = MPCapable{}

// Subtype returns SubtypeMPCapable.
func (MPCapable) Subtype() MPTCPSubtype { return SubtypeMPCapable }

// Len is the option's encoded length, set by its Form.
func (v MPCapable) Len() int { return v.Form.Len() }

// Append appends the encoded option to b and returns the result.
func (v MPCapable) Append(b []byte) []byte {
	l := v.Form.Len()
	b = append(b, OptionKindMPTCP, byte(l), byte(SubtypeMPCapable)<<4|v.Version&0x0f, byte(v.Flags))
	if l >= MPCapableLenSYNACK {
		b = binary.BigEndian.AppendUint64(b, v.SenderKey)
	}
	if l >= MPCapableLenACK {
		b = binary.BigEndian.AppendUint64(b, v.ReceiverKey)
	}
	if l >= MPCapableLenACKData {
		b = binary.BigEndian.AppendUint16(b, v.DataLen)
	}
	if l >= MPCapableLenACKDataChecksum {
		b = binary.BigEndian.AppendUint16(b, v.Checksum)
	}
	return b
}

// ParseMPCapable parses the MP_CAPABLE option at the start of b (b[0] is the
// kind byte) and returns it with its length n.
//
// Version 1 options of lengths 4, 12, 20, 22 and 24 parse without error;
// any other length is ErrBadLength.
//
// Other versions return a non-nil value together with an *OptionError that
// wraps ErrBadVersion, so that an engine can detect them with
// errors.Is(err, ErrBadVersion) and negotiate down or fall back to regular
// TCP (RFC 8684 §3.1). n is then the option's length, so the caller can step
// over it. Version and Flags are always filled in. For version 0 (RFC 6824)
// only lengths 12 (SYN or SYN/ACK: the sender's key) and 20 (ACK: both keys)
// exist; they fill Form and the keys, and any other length is ErrBadLength.
// For versions above 1, whose layouts this package cannot know, Form and the
// keys stay zero.
//
// On every other error the value is zero and n is 0.
func ParseMPCapable(b []byte) (MPCapable, int, error) {
	l, err := checkMPTCP(b, SubtypeMPCapable)
	if err != nil {
		return MPCapable{}, 0, err
	}
	if l < MPCapableLenSYN {
		return MPCapable{}, 0, mptcpErr(SubtypeMPCapable, l, ErrBadLength, "shorter than the flags octet")
	}
	v := MPCapable{Version: b[mpcVersionOff] & 0x0f, Flags: MPCapableFlags(b[mpcFlagsOff])}
	switch v.Version {
	case MPTCPVersion1:
		switch l {
		case MPCapableLenSYN:
			v.Form = MPCapableSYN
		case MPCapableLenSYNACK:
			v.Form = MPCapableSYNACK
		case MPCapableLenACK:
			v.Form = MPCapableACK
		case MPCapableLenACKData:
			v.Form = MPCapableACKData
		case MPCapableLenACKDataChecksum:
			v.Form = MPCapableACKDataChecksum
		default:
			return MPCapable{}, 0, mptcpErr(SubtypeMPCapable, l, ErrBadLength, "version 1 allows 4, 12, 20, 22 or 24")
		}
	case MPTCPVersion0:
		// RFC 6824 §3.1: the SYN and SYN/ACK carry the sender's key, the ACK
		// both keys.
		switch l {
		case MPCapableLenSYNACK:
			v.Form = MPCapableSYNACK
		case MPCapableLenACK:
			v.Form = MPCapableACK
		default:
			return MPCapable{}, 0, mptcpErr(SubtypeMPCapable, l, ErrBadLength, "version 0 allows 12 or 20")
		}
		v.decodeKeys(b)
		return v, l, mptcpErr(SubtypeMPCapable, l, ErrBadVersion, "version 0 (RFC 6824)")
	default:
		return v, l, mptcpErr(SubtypeMPCapable, l, ErrBadVersion, "version "+strconv.Itoa(int(v.Version)))
	}
	v.decodeKeys(b)
	if l >= MPCapableLenACKData {
		v.DataLen = binary.BigEndian.Uint16(b[mpcDataLenOff:])
	}
	if l >= MPCapableLenACKDataChecksum {
		v.Checksum = binary.BigEndian.Uint16(b[mpcChecksumOff:])
	}
	return v, l, nil
}

// decodeKeys fills the keys that v.Form carries; b holds the whole option.
func (v *MPCapable) decodeKeys(b []byte) {
	if v.Form.HasSenderKey() {
		v.SenderKey = binary.BigEndian.Uint64(b[mpcSenderKeyOff:])
	}
	if v.Form.HasReceiverKey() {
		v.ReceiverKey = binary.BigEndian.Uint64(b[mpcReceiverKeyOff:])
	}
}

// String returns a compact form such as
// "MP_CAPABLE{v1 ack flags=AH skey=0x… rkey=0x…}".
func (v MPCapable) String() string {
	b := make([]byte, 0, 96)
	b = append(b, "MP_CAPABLE{v"...)
	b = strconv.AppendUint(b, uint64(v.Version), 10)
	b = append(b, ' ')
	b = append(b, v.Form.String()...)
	b = append(b, " flags="...)
	b = append(b, v.Flags.String()...)
	if v.Form.HasSenderKey() {
		b = append(b, " skey=0x"...)
		b = strconv.AppendUint(b, v.SenderKey, 16)
	}
	if v.Form.HasReceiverKey() {
		b = append(b, " rkey=0x"...)
		b = strconv.AppendUint(b, v.ReceiverKey, 16)
	}
	if v.Form.HasDataLen() {
		b = append(b, " len="...)
		b = strconv.AppendUint(b, uint64(v.DataLen), 10)
	}
	if v.Form.HasChecksum() {
		b = append(b, " csum=0x"...)
		b = strconv.AppendUint(b, uint64(v.Checksum), 16)
	}
	b = append(b, '}')
	return string(b)
}
