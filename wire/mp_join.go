package wire

import (
	"encoding/binary"
	"strconv"
)

// MP_JOIN field offsets from the option's kind byte (RFC 8684 §3.2,
// Figures 5, 6 and 7).
const (
	mpjFlagsOff         = 2  // low nibble: 3 reserved bits and B; the subtype is the high nibble
	mpjAddrIDOff        = 3  // Address ID (SYN, SYN/ACK); reserved in the ACK
	mpjTokenOff         = 4  // SYN: Receiver's Token, 4 octets
	mpjSYNRandomOff     = 8  // SYN: Sender's Random Number, 4 octets
	mpjTruncatedHMACOff = 4  // SYN/ACK: Sender's Truncated HMAC, 8 octets
	mpjSYNACKRandomOff  = 12 // SYN/ACK: Sender's Random Number, 4 octets
	mpjHMACOff          = 4  // ACK: Sender's HMAC, 20 octets
	mpjFlagsMask        = 0x0f
	mpjBackupFlag       = 0x01 // B
	mpJoinHMACLen       = 20   // octets of the ACK's HMAC
)

// MP_JOIN option lengths, one per form (RFC 8684 §3.2).
const (
	MPJoinLenSYN    = 12
	MPJoinLenSYNACK = 16
	MPJoinLenACK    = 24
)

// MPJoinForm says which of the three MP_JOIN layouts of RFC 8684 §3.2 an
// option has. Each form has one length.
type MPJoinForm uint8

// MP_JOIN forms (RFC 8684 §3.2).
const (
	// MPJoinSYN (length 12, Figure 5): B flag, Address ID, Receiver's
	// Token, Sender's Random Number.
	MPJoinSYN MPJoinForm = iota
	// MPJoinSYNACK (length 16, Figure 6): B flag, Address ID, Sender's
	// Truncated HMAC, Sender's Random Number.
	MPJoinSYNACK
	// MPJoinACK (length 24, Figure 7): the Sender's HMAC.
	MPJoinACK
)

var mpJoinFormLens = [...]uint8{
	MPJoinSYN:    MPJoinLenSYN,
	MPJoinSYNACK: MPJoinLenSYNACK,
	MPJoinACK:    MPJoinLenACK,
}

var mpJoinFormNames = [...]string{
	MPJoinSYN:    "syn",
	MPJoinSYNACK: "synack",
	MPJoinACK:    "ack",
}

// Len is the option length of the form. A value outside the defined forms
// is treated as MPJoinSYN.
func (f MPJoinForm) Len() int {
	if int(f) < len(mpJoinFormLens) {
		return int(mpJoinFormLens[f])
	}
	return MPJoinLenSYN
}

// String returns a short name of the form ("syn", "synack", "ack").
func (f MPJoinForm) String() string {
	if int(f) < len(mpJoinFormNames) {
		return mpJoinFormNames[f]
	}
	return "form(" + strconv.Itoa(int(f)) + ")"
}

// MPJoin is the MP_JOIN option (RFC 8684 §3.2), which adds a subflow to an
// existing MPTCP connection. Fields that the Form does not carry are zero
// after parsing and ignored by Append.
//
// Reserved bits are kept as received so that Append reproduces the option
// exactly: Flags holds the four bits that follow the subtype (B is the
// lowest, the other three are reserved) in every form, and in the ACK form,
// where the whole 12 bits after the subtype are reserved, AddrID holds the
// reserved second octet.
type MPJoin struct {
	TruncatedHMAC uint64   // SYN/ACK: Sender's Truncated HMAC, the leftmost 64 bits of the HMAC, big-endian
	Token         uint32   // SYN: Receiver's Token
	Random        uint32   // SYN, SYN/ACK: Sender's Random Number
	HMAC          [20]byte // ACK: Sender's HMAC, the leftmost 160 bits of the HMAC-SHA256
	Form          MPJoinForm
	Flags         uint8 // low 4 bits are sent; MPJoinBackup is bit B
	AddrID        uint8 // Address ID; reserved octet in the ACK form
}

// MPJoinBackup is flag B of MP_JOIN's SYN and SYN/ACK (RFC 8684 §3.2): the
// sender wants the subflow used only as a backup (§3.3.8).
const MPJoinBackup = mpjBackupFlag

var _ MPTCPOption = MPJoin{}

// Subtype returns SubtypeMPJoin.
func (MPJoin) Subtype() MPTCPSubtype { return SubtypeMPJoin }

// Len is the option's encoded length, set by its Form.
func (v MPJoin) Len() int { return v.Form.Len() }

// Backup reports whether flag B is set in a SYN or SYN/ACK form. In the ACK
// form the bit is reserved and Backup is false.
func (v MPJoin) Backup() bool {
	return v.Form != MPJoinACK && v.Flags&MPJoinBackup != 0
}

// Append appends the encoded option to b and returns the result.
func (v MPJoin) Append(b []byte) []byte {
	l := v.Form.Len()
	b = append(b, OptionKindMPTCP, byte(l), byte(SubtypeMPJoin)<<4|v.Flags&mpjFlagsMask, v.AddrID)
	switch l {
	case MPJoinLenSYNACK:
		b = binary.BigEndian.AppendUint64(b, v.TruncatedHMAC)
		b = binary.BigEndian.AppendUint32(b, v.Random)
	case MPJoinLenACK:
		b = append(b, v.HMAC[:]...)
	default:
		b = binary.BigEndian.AppendUint32(b, v.Token)
		b = binary.BigEndian.AppendUint32(b, v.Random)
	}
	return b
}

// ParseMPJoin parses the MP_JOIN option at the start of b (b[0] is the kind
// byte) and returns it with its length n. The length alone selects the form
// (12, 16 or 24; anything else is ErrBadLength). The HMAC is copied out of
// b.
func ParseMPJoin(b []byte) (MPJoin, int, error) {
	l, err := checkMPTCP(b, SubtypeMPJoin)
	if err != nil {
		return MPJoin{}, 0, err
	}
	v := MPJoin{Flags: b[mpjFlagsOff] & mpjFlagsMask}
	switch l {
	case MPJoinLenSYN:
		v.Form = MPJoinSYN
		v.AddrID = b[mpjAddrIDOff]
		v.Token = binary.BigEndian.Uint32(b[mpjTokenOff:])
		v.Random = binary.BigEndian.Uint32(b[mpjSYNRandomOff:])
	case MPJoinLenSYNACK:
		v.Form = MPJoinSYNACK
		v.AddrID = b[mpjAddrIDOff]
		v.TruncatedHMAC = binary.BigEndian.Uint64(b[mpjTruncatedHMACOff:])
		v.Random = binary.BigEndian.Uint32(b[mpjSYNACKRandomOff:])
	case MPJoinLenACK:
		v.Form = MPJoinACK
		v.AddrID = b[mpjAddrIDOff]
		copy(v.HMAC[:], b[mpjHMACOff:mpjHMACOff+mpJoinHMACLen])
	default:
		return MPJoin{}, 0, mptcpErr(SubtypeMPJoin, l, ErrBadLength, "MP_JOIN allows 12, 16 or 24")
	}
	return v, l, nil
}

// String returns a compact form such as
// "MP_JOIN{syn id=1 backup token=0x… rand=0x…}".
func (v MPJoin) String() string {
	b := make([]byte, 0, 96)
	b = append(b, "MP_JOIN{"...)
	b = append(b, v.Form.String()...)
	if v.Form != MPJoinACK {
		b = append(b, " id="...)
		b = strconv.AppendUint(b, uint64(v.AddrID), 10)
		if v.Backup() {
			b = append(b, " backup"...)
		}
	}
	if rsv := v.reservedBits(); rsv != 0 {
		b = append(b, " rsv=0x"...)
		b = strconv.AppendUint(b, uint64(rsv), 16)
	}
	switch v.Form {
	case MPJoinSYNACK:
		b = append(b, " thmac=0x"...)
		b = strconv.AppendUint(b, v.TruncatedHMAC, 16)
		b = append(b, " rand=0x"...)
		b = strconv.AppendUint(b, uint64(v.Random), 16)
	case MPJoinACK:
		const digits = "0123456789abcdef"
		b = append(b, " hmac="...)
		for _, c := range v.HMAC {
			b = append(b, digits[c>>4], digits[c&0xf])
		}
	default:
		b = append(b, " token=0x"...)
		b = strconv.AppendUint(b, uint64(v.Token), 16)
		b = append(b, " rand=0x"...)
		b = strconv.AppendUint(b, uint64(v.Random), 16)
	}
	b = append(b, '}')
	return string(b)
}

// reservedBits returns the reserved bits of the form as received: the three
// above B in SYN and SYN/ACK, all twelve after the subtype in the ACK.
func (v MPJoin) reservedBits() uint16 {
	if v.Form == MPJoinACK {
		return uint16(v.Flags&mpjFlagsMask)<<8 | uint16(v.AddrID)
	}
	return uint16(v.Flags & (mpjFlagsMask &^ mpjBackupFlag))
}
