package wire

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), the
// values of the IPv4 Protocol and IPv6 Next Header fields.
const (
	IPProtocolICMP   = 1  // RFC 792
	IPProtocolTCP    = 6  // RFC 9293
	IPProtocolUDP    = 17 // RFC 768
	IPProtocolICMPv6 = 58 // RFC 4443
)

// IPv4 header layout (RFC 791 §3.1).
const (
	IPv4MinHeaderLen  = 20 // a header without options
	IPv4MaxHeaderLen  = 60 // IHL is 4 bits of 32-bit words
	IPv4MaxOptionsLen = IPv4MaxHeaderLen - IPv4MinHeaderLen

	ipv4VersionIHL   = 0
	ipv4TOS          = 1
	ipv4TotalLen     = 2
	ipv4ID           = 4
	ipv4FlagsFragOff = 6
	ipv4TTL          = 8
	ipv4Protocol     = 9
	ipv4Checksum     = 10
	ipv4Src          = 12
	ipv4Dst          = 16

	ipv4FlagDF      = 0x4000 // Don't Fragment
	ipv4FlagMF      = 0x2000 // More Fragments
	ipv4FragOffMask = 0x1fff
)

// IPv4 is a view of an IPv4 packet (RFC 791 §3.1), header first. Call Check
// before any other method: after Check returns nil no accessor panics. The
// setters write fields in place; the length setters can make the view
// invalid again, so call Check after using them on untrusted sizes.
type IPv4 []byte

// Check validates the fields that locate the header and payload: the buffer
// holds a fixed header, Version is 4, IHL is at least 5 (RFC 791 §3.1:
// "the minimum value for a correct header is 5"), Total Length does not
// exceed the buffer, and the header fits within Total Length. Bytes after
// Total Length (link-layer padding) are allowed and ignored. The header
// checksum is not verified here: see ChecksumValid.
func (ip IPv4) Check() error {
	if len(ip) < IPv4MinHeaderLen {
		return &HeaderError{Proto: "IPv4", Err: ErrTruncated, Detail: "shorter than the 20-byte fixed header"}
	}
	if v := ip[ipv4VersionIHL] >> 4; v != 4 {
		return &HeaderError{Proto: "IPv4", Err: ErrBadVersion, Detail: "version field is not 4"}
	}
	hl := ip.HeaderLen()
	if hl < IPv4MinHeaderLen {
		return &HeaderError{Proto: "IPv4", Err: ErrBadLength, Detail: "IHL below 5"}
	}
	tl := ip.TotalLen()
	if tl > len(ip) {
		return &HeaderError{Proto: "IPv4", Err: ErrTruncated, Detail: "total length exceeds the buffer"}
	}
	if hl > tl {
		return &HeaderError{Proto: "IPv4", Err: ErrBadLength, Detail: "header longer than total length"}
	}
	return nil
}

// Version returns the Version field (4 in a checked view).
func (ip IPv4) Version() uint8 { return ip[ipv4VersionIHL] >> 4 }

// HeaderLen returns the header length in bytes: IHL × 4.
func (ip IPv4) HeaderLen() int { return int(ip[ipv4VersionIHL]&0x0f) * 4 }

// TOS returns the Type of Service octet: DSCP and ECN (RFC 2474, RFC 3168).
func (ip IPv4) TOS() uint8 { return ip[ipv4TOS] }

// TotalLen returns the Total Length field: header and data, in bytes.
func (ip IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(ip[ipv4TotalLen:])) }

// ID returns the Identification field.
func (ip IPv4) ID() uint16 { return binary.BigEndian.Uint16(ip[ipv4ID:]) }

// DontFragment reports the DF flag.
func (ip IPv4) DontFragment() bool { return ip[ipv4FlagsFragOff]&(ipv4FlagDF>>8) != 0 }

// MoreFragments reports the MF flag.
func (ip IPv4) MoreFragments() bool { return ip[ipv4FlagsFragOff]&(ipv4FlagMF>>8) != 0 }

// FragmentOffset returns the Fragment Offset field, in units of 8 octets.
func (ip IPv4) FragmentOffset() uint16 {
	return binary.BigEndian.Uint16(ip[ipv4FlagsFragOff:]) & ipv4FragOffMask
}

// TTL returns the Time to Live field.
func (ip IPv4) TTL() uint8 { return ip[ipv4TTL] }

// Protocol returns the Protocol field (IPProtocolTCP, …).
func (ip IPv4) Protocol() uint8 { return ip[ipv4Protocol] }

// Checksum returns the Header Checksum field.
func (ip IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(ip[ipv4Checksum:]) }

// Src returns the Source Address.
func (ip IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(ip[ipv4Src : ipv4Src+4])) }

// Dst returns the Destination Address.
func (ip IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(ip[ipv4Dst : ipv4Dst+4])) }

// Header returns the header bytes, options included. It aliases ip.
func (ip IPv4) Header() []byte { return ip[:ip.headerEnd()] }

// Options returns the option bytes of the header, padding included, or an
// empty slice. It aliases ip.
func (ip IPv4) Options() []byte { return ip[IPv4MinHeaderLen:ip.headerEnd()] }

// Payload returns the data after the header up to Total Length. It aliases
// ip.
func (ip IPv4) Payload() []byte {
	end := min(ip.TotalLen(), len(ip))
	start := min(ip.headerEnd(), end)
	return ip[start:end]
}

// headerEnd is HeaderLen kept within the buffer and at least the fixed
// header, so that accessors cannot panic even after a setter broke the
// invariants Check established.
func (ip IPv4) headerEnd() int {
	return min(max(ip.HeaderLen(), IPv4MinHeaderLen), len(ip))
}

// SetTOS sets the Type of Service octet.
func (ip IPv4) SetTOS(v uint8) { ip[ipv4TOS] = v }

// SetTotalLen sets the Total Length field.
func (ip IPv4) SetTotalLen(n uint16) { binary.BigEndian.PutUint16(ip[ipv4TotalLen:], n) }

// SetID sets the Identification field.
func (ip IPv4) SetID(v uint16) { binary.BigEndian.PutUint16(ip[ipv4ID:], v) }

// SetDontFragment sets or clears the DF flag.
func (ip IPv4) SetDontFragment(on bool) { ip.setFlag(ipv4FlagDF, on) }

// SetMoreFragments sets or clears the MF flag.
func (ip IPv4) SetMoreFragments(on bool) { ip.setFlag(ipv4FlagMF, on) }

func (ip IPv4) setFlag(mask uint16, on bool) {
	v := binary.BigEndian.Uint16(ip[ipv4FlagsFragOff:])
	if on {
		v |= mask
	} else {
		v &^= mask
	}
	binary.BigEndian.PutUint16(ip[ipv4FlagsFragOff:], v)
}

// SetFragmentOffset sets the Fragment Offset field (8-octet units; only the
// low 13 bits are kept).
func (ip IPv4) SetFragmentOffset(off uint16) {
	v := binary.BigEndian.Uint16(ip[ipv4FlagsFragOff:])
	v = v&^ipv4FragOffMask | off&ipv4FragOffMask
	binary.BigEndian.PutUint16(ip[ipv4FlagsFragOff:], v)
}

// SetTTL sets the Time to Live field.
func (ip IPv4) SetTTL(v uint8) { ip[ipv4TTL] = v }

// SetProtocol sets the Protocol field.
func (ip IPv4) SetProtocol(v uint8) { ip[ipv4Protocol] = v }

// SetSrc sets the Source Address. a must be an IPv4 or IPv4-mapped IPv6
// address; like netip.Addr.As4, SetSrc panics otherwise (a caller bug, not
// bad input).
func (ip IPv4) SetSrc(a netip.Addr) {
	b := a.As4()
	copy(ip[ipv4Src:ipv4Src+4], b[:])
}

// SetDst sets the Destination Address; see SetSrc.
func (ip IPv4) SetDst(a netip.Addr) {
	b := a.As4()
	copy(ip[ipv4Dst:ipv4Dst+4], b[:])
}

// SetChecksum computes the Header Checksum over the header (RFC 791 §3.1)
// and stores it.
func (ip IPv4) SetChecksum() {
	ip[ipv4Checksum], ip[ipv4Checksum+1] = 0, 0
	binary.BigEndian.PutUint16(ip[ipv4Checksum:], ChecksumFold(ChecksumAdd(0, ip.Header())))
}

// ChecksumValid reports whether the Header Checksum verifies: the
// one's-complement sum of the header, checksum included, is all ones.
func (ip IPv4) ChecksumValid() bool {
	return ChecksumFold(ChecksumAdd(0, ip.Header())) == 0
}

// IPv4Header is the value form of an IPv4 header (RFC 791 §3.1). Version,
// IHL, Total Length and Header Checksum are derived by Append.
type IPv4Header struct {
	TOS            uint8  // DSCP and ECN
	ID             uint16 // Identification
	DontFragment   bool   // DF flag
	MoreFragments  bool   // MF flag
	FragmentOffset uint16 // in units of 8 octets, 13 bits
	TTL            uint8
	Protocol       uint8
	Src, Dst       netip.Addr // IPv4 (or IPv4-mapped) addresses
	// Options holds the option bytes. Append pads them with zero bytes
	// (End of Option List) to a multiple of 4 and writes at most
	// IPv4MaxOptionsLen bytes of them; ParseIPv4Header aliases the
	// packet.
	Options []byte
	// PayloadLen is the number of data bytes after the header; Append
	// writes Len()+PayloadLen, truncated to 16 bits, as Total Length.
	PayloadLen int
}

// ParseIPv4Header checks b as an IPv4 packet and returns its header as a
// value and the header length. The header checksum is not verified: use
// IPv4(b).ChecksumValid.
func ParseIPv4Header(b []byte) (IPv4Header, int, error) {
	ip := IPv4(b)
	if err := ip.Check(); err != nil {
		return IPv4Header{}, 0, err
	}
	h := IPv4Header{
		TOS:            ip.TOS(),
		ID:             ip.ID(),
		DontFragment:   ip.DontFragment(),
		MoreFragments:  ip.MoreFragments(),
		FragmentOffset: ip.FragmentOffset(),
		TTL:            ip.TTL(),
		Protocol:       ip.Protocol(),
		Src:            ip.Src(),
		Dst:            ip.Dst(),
		PayloadLen:     ip.TotalLen() - ip.HeaderLen(),
	}
	if opts := ip.Options(); len(opts) > 0 {
		h.Options = opts
	}
	return h, ip.HeaderLen(), nil
}

// optionsLen is the length Append gives the options: padded to 32 bits,
// capped at IPv4MaxOptionsLen.
func (h *IPv4Header) optionsLen() int {
	return min((len(h.Options)+3)&^3, IPv4MaxOptionsLen)
}

// Len returns the header length Append writes.
func (h *IPv4Header) Len() int { return IPv4MinHeaderLen + h.optionsLen() }

// Append appends the header, with a correct Header Checksum, to b. Src and
// Dst must be IPv4 (or IPv4-mapped) addresses: Append panics otherwise, as
// netip.Addr.As4 does, since that is a caller bug.
func (h *IPv4Header) Append(b []byte) []byte {
	hl := h.Len()
	start := len(b)
	b = append(b, make([]byte, hl)...)
	ip := IPv4(b[start:])
	ip[ipv4VersionIHL] = 4<<4 | uint8(hl/4)
	ip[ipv4TOS] = h.TOS
	binary.BigEndian.PutUint16(ip[ipv4TotalLen:], uint16(hl+h.PayloadLen))
	binary.BigEndian.PutUint16(ip[ipv4ID:], h.ID)
	ff := h.FragmentOffset & ipv4FragOffMask
	if h.DontFragment {
		ff |= ipv4FlagDF
	}
	if h.MoreFragments {
		ff |= ipv4FlagMF
	}
	binary.BigEndian.PutUint16(ip[ipv4FlagsFragOff:], ff)
	ip[ipv4TTL] = h.TTL
	ip[ipv4Protocol] = h.Protocol
	ip.SetSrc(h.Src)
	ip.SetDst(h.Dst)
	copy(ip[IPv4MinHeaderLen:hl], h.Options)
	ip.SetChecksum()
	return b
}
