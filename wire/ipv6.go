package wire

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 extension header and related Next Header values (RFC 8200 §4 and
// the IANA "IPv6 Extension Header Types" registry).
const (
	IPv6HopByHop           = 0   // RFC 8200 §4.3
	IPv6Routing            = 43  // RFC 8200 §4.4
	IPv6Fragment           = 44  // RFC 8200 §4.5
	IPProtocolESP          = 50  // RFC 4303
	IPProtocolAH           = 51  // RFC 4302
	IPv6NoNextHeader       = 59  // RFC 8200 §4.7
	IPv6DestinationOptions = 60  // RFC 8200 §4.6
	IPv6Mobility           = 135 // RFC 6275
	IPv6HIP                = 139 // RFC 7401
	IPv6Shim6              = 140 // RFC 5533
)

// IPv6 header layout (RFC 8200 §3).
const (
	IPv6HeaderLen = 40

	ipv6VersionTCFL = 0
	ipv6PayloadLen  = 4
	ipv6NextHeader  = 6
	ipv6HopLimit    = 7
	ipv6Src         = 8
	ipv6Dst         = 24

	ipv6FlowLabelMask = 0x000fffff
)

// IPv6 is a view of an IPv6 packet (RFC 8200 §3), fixed header first. Call
// Check before any other method: after Check returns nil no accessor
// panics. Jumbograms (RFC 2675, Payload Length zero with a Jumbo Payload
// option) are not supported: Payload Length zero means no payload.
type IPv6 []byte

// Check validates the buffer holds the 40-byte fixed header, Version is 6,
// and Payload Length does not exceed the buffer. Bytes after the payload
// (link-layer padding) are allowed and ignored. Extension headers are
// checked by UpperLayer and the walker.
func (ip IPv6) Check() error {
	if len(ip) < IPv6HeaderLen {
		return &HeaderError{Proto: "IPv6", Err: ErrTruncated, Detail: "shorter than the 40-byte fixed header"}
	}
	if ip[ipv6VersionTCFL]>>4 != 6 {
		return &HeaderError{Proto: "IPv6", Err: ErrBadVersion, Detail: "version field is not 6"}
	}
	if IPv6HeaderLen+ip.PayloadLen() > len(ip) {
		return &HeaderError{Proto: "IPv6", Err: ErrTruncated, Detail: "payload length exceeds the buffer"}
	}
	return nil
}

// Version returns the Version field (6 in a checked view).
func (ip IPv6) Version() uint8 { return ip[ipv6VersionTCFL] >> 4 }

// TrafficClass returns the Traffic Class field: DSCP and ECN.
func (ip IPv6) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(ip[ipv6VersionTCFL:]) >> 4)
}

// FlowLabel returns the 20-bit Flow Label field.
func (ip IPv6) FlowLabel() uint32 {
	return binary.BigEndian.Uint32(ip[ipv6VersionTCFL:]) & ipv6FlowLabelMask
}

// PayloadLen returns the Payload Length field: the bytes after the fixed
// header, extension headers included.
func (ip IPv6) PayloadLen() int { return int(binary.BigEndian.Uint16(ip[ipv6PayloadLen:])) }

// NextHeader returns the Next Header field of the fixed header.
func (ip IPv6) NextHeader() uint8 { return ip[ipv6NextHeader] }

// HopLimit returns the Hop Limit field.
func (ip IPv6) HopLimit() uint8 { return ip[ipv6HopLimit] }

// Src returns the Source Address.
func (ip IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(ip[ipv6Src : ipv6Src+16])) }

// Dst returns the Destination Address.
func (ip IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(ip[ipv6Dst : ipv6Dst+16])) }

// Payload returns the bytes after the fixed header up to Payload Length,
// extension headers included. It aliases ip.
func (ip IPv6) Payload() []byte {
	end := min(IPv6HeaderLen+ip.PayloadLen(), len(ip))
	return ip[IPv6HeaderLen:end]
}

// SetTrafficClass sets the Traffic Class field.
func (ip IPv6) SetTrafficClass(tc uint8) {
	v := binary.BigEndian.Uint16(ip[ipv6VersionTCFL:])
	v = v&0xf00f | uint16(tc)<<4
	binary.BigEndian.PutUint16(ip[ipv6VersionTCFL:], v)
}

// SetFlowLabel sets the Flow Label field (only the low 20 bits are kept).
func (ip IPv6) SetFlowLabel(fl uint32) {
	v := binary.BigEndian.Uint32(ip[ipv6VersionTCFL:])
	v = v&^ipv6FlowLabelMask | fl&ipv6FlowLabelMask
	binary.BigEndian.PutUint32(ip[ipv6VersionTCFL:], v)
}

// SetPayloadLen sets the Payload Length field.
func (ip IPv6) SetPayloadLen(n uint16) { binary.BigEndian.PutUint16(ip[ipv6PayloadLen:], n) }

// SetNextHeader sets the Next Header field of the fixed header.
func (ip IPv6) SetNextHeader(nh uint8) { ip[ipv6NextHeader] = nh }

// SetHopLimit sets the Hop Limit field.
func (ip IPv6) SetHopLimit(h uint8) { ip[ipv6HopLimit] = h }

// SetSrc sets the Source Address. An IPv4 address is stored in its
// IPv4-mapped form.
func (ip IPv6) SetSrc(a netip.Addr) {
	b := a.As16()
	copy(ip[ipv6Src:ipv6Src+16], b[:])
}

// SetDst sets the Destination Address; see SetSrc.
func (ip IPv6) SetDst(a netip.Addr) {
	b := a.As16()
	copy(ip[ipv6Dst:ipv6Dst+16], b[:])
}

// IPv6ExtHeader is one extension header found by IPv6ExtWalker.
type IPv6ExtHeader struct {
	// Type is the Next Header value that announced this header
	// (IPv6HopByHop, IPv6Routing, …).
	Type uint8
	// NextHeader is this header's own Next Header field.
	NextHeader uint8
	// Offset is where the header starts, from the start of the packet.
	Offset int
	// Data is the whole extension header, from its Next Header byte to
	// its last byte; it aliases the packet.
	Data []byte
}

// IPv6ExtWalker walks the extension header chain of a checked IPv6 packet
// without allocating:
//
//	w := ip.ExtHeaders()
//	for h, ok := w.Next(); ok; h, ok = w.Next() { … }
//	if err := w.Err(); err != nil { … }
//	proto, payload := w.Protocol(), w.Payload()
//
// Headers walked (RFC 8200 §4): Hop-by-Hop Options (only directly after the
// fixed header, §4.1), Routing, Destination Options, Mobility, HIP and Shim6
// (all (Hdr Ext Len + 1) × 8 bytes, RFC 8200 §4.3, RFC 6564), Fragment (8
// bytes, §4.5) and Authentication Header ((Payload Len + 2) × 4 bytes, a
// multiple of 8 in IPv6, RFC 4302 §2.2). The walk stops at any other Next
// Header value, which is the upper-layer protocol; ESP (RFC 4303) and No
// Next Header (§4.7) end it too, since nothing after them can be parsed,
// and so does a Fragment header with a non-zero offset: what follows it is
// the middle of the fragmented packet, not a header (RFC 8200 §4.5).
type IPv6ExtWalker struct {
	pkt  []byte // the packet up to the end of its payload
	off  int    // start of the next header to read
	next uint8  // the Next Header value that announces it
	err  error
	done bool // the walk reached the upper layer or a non-first fragment
}

// ExtHeaders returns a walker over ip's extension headers. ip should have
// passed Check; a buffer shorter than the fixed header gives a walker whose
// Err reports it.
func (ip IPv6) ExtHeaders() IPv6ExtWalker {
	if len(ip) < IPv6HeaderLen {
		return IPv6ExtWalker{pkt: ip, off: len(ip), err: &HeaderError{Proto: "IPv6", Err: ErrTruncated, Detail: "shorter than the 40-byte fixed header"}}
	}
	end := min(IPv6HeaderLen+ip.PayloadLen(), len(ip))
	return IPv6ExtWalker{pkt: ip[:end], off: IPv6HeaderLen, next: ip[ipv6NextHeader]}
}

// isIPv6ExtHeader reports whether nh names an extension header the walker
// steps over.
func isIPv6ExtHeader(nh uint8) bool {
	switch nh {
	case IPv6HopByHop, IPv6Routing, IPv6Fragment, IPv6DestinationOptions,
		IPProtocolAH, IPv6Mobility, IPv6HIP, IPv6Shim6:
		return true
	}
	return false
}

// Next returns the next extension header, or false at the upper-layer
// header or on an error (see Err).
func (w *IPv6ExtWalker) Next() (IPv6ExtHeader, bool) {
	if w.done || w.err != nil {
		return IPv6ExtHeader{}, false
	}
	if !isIPv6ExtHeader(w.next) {
		w.done = true
		return IPv6ExtHeader{}, false
	}
	if w.next == IPv6HopByHop && w.off != IPv6HeaderLen {
		// RFC 8200 §4.1: Hop-by-Hop Options only immediately after the
		// IPv6 header.
		w.err = &HeaderError{Proto: "IPv6", Err: ErrBadValue, Detail: "Hop-by-Hop Options header not first"}
		return IPv6ExtHeader{}, false
	}
	rest := w.pkt[w.off:]
	if len(rest) < 8 {
		// Every extension header is at least 8 bytes long.
		w.err = &HeaderError{Proto: "IPv6", Err: ErrTruncated, Detail: "extension header"}
		return IPv6ExtHeader{}, false
	}
	var n int
	switch w.next {
	case IPv6Fragment:
		n = 8 // RFC 8200 §4.5: fixed length
	case IPProtocolAH:
		// RFC 4302 §2.2: Payload Len is the length in 32-bit words
		// minus 2; in IPv6 the header is a multiple of 8 octets.
		n = (int(rest[1]) + 2) * 4
		if n%8 != 0 {
			w.err = &HeaderError{Proto: "IPv6", Err: ErrBadLength, Detail: "AH length not a multiple of 8 octets"}
			return IPv6ExtHeader{}, false
		}
	default:
		n = (int(rest[1]) + 1) * 8 // RFC 8200 §4.3: 8-octet units, not counting the first 8
	}
	if n > len(rest) {
		w.err = &HeaderError{Proto: "IPv6", Err: ErrTruncated, Detail: "extension header exceeds the payload"}
		return IPv6ExtHeader{}, false
	}
	h := IPv6ExtHeader{Type: w.next, NextHeader: rest[0], Offset: w.off, Data: rest[:n]}
	if h.Type == IPv6Fragment && binary.BigEndian.Uint16(rest[2:])>>3 != 0 {
		w.done = true
	}
	w.off += n
	w.next = rest[0]
	return h, true
}

// Err returns the error that stopped the walk, if any.
func (w *IPv6ExtWalker) Err() error { return w.err }

// Protocol returns the Next Header value after the last extension header
// walked so far: the upper-layer protocol once Next has returned false
// without an error.
func (w *IPv6ExtWalker) Protocol() uint8 { return w.next }

// Payload returns the bytes after the last extension header walked so far,
// up to the end of the IPv6 payload. It aliases the packet.
func (w *IPv6ExtWalker) Payload() []byte { return w.pkt[w.off:] }

// Offset returns the offset in the packet of what Payload returns.
func (w *IPv6ExtWalker) Offset() int { return w.off }

// IPv6UpperLayer is what IPv6.UpperLayer found after the extension headers.
type IPv6UpperLayer struct {
	// Protocol is the Next Header value of the last extension header (or
	// of the fixed header if there are none): IPProtocolTCP, …
	Protocol uint8
	// Offset is where Payload starts, from the start of the packet.
	Offset int
	// Payload is the upper-layer packet (or, for a fragment, this
	// fragment's data). It aliases the packet.
	Payload []byte

	// HasFragment reports a Fragment header (RFC 8200 §4.5); the fields
	// below are its contents.
	HasFragment    bool
	FragmentOffset uint16 // in 8-octet units
	MoreFragments  bool   // M flag
	FragmentID     uint32 // Identification

	// RoutingSegmentsLeft is the Segments Left field of the last Routing
	// header, 0 if there is none. When it is non-zero the Destination
	// Address is not the final destination (RFC 8200 §8.1).
	RoutingSegmentsLeft uint8
}

// IsFragment reports whether Payload is a piece of a fragmented packet
// rather than a whole upper-layer packet. A Fragment header with offset 0
// and M clear (an atomic fragment, RFC 6946) carries a whole packet.
func (u *IPv6UpperLayer) IsFragment() bool {
	return u.HasFragment && (u.FragmentOffset != 0 || u.MoreFragments)
}

// UpperLayer walks ip's extension headers and returns the upper-layer
// protocol and payload, with what the Fragment and Routing headers say. It
// returns an *HeaderError on a malformed chain. ip should have passed Check.
// It does not allocate on success.
func (ip IPv6) UpperLayer() (IPv6UpperLayer, error) {
	var u IPv6UpperLayer
	w := ip.ExtHeaders()
	for h, ok := w.Next(); ok; h, ok = w.Next() {
		switch h.Type {
		case IPv6Fragment:
			// RFC 8200 §4.5: Fragment Offset (13 bits), Res, M flag,
			// Identification.
			if u.HasFragment {
				return IPv6UpperLayer{}, &HeaderError{Proto: "IPv6", Err: ErrBadValue, Detail: "more than one Fragment header"}
			}
			fo := binary.BigEndian.Uint16(h.Data[2:])
			u.HasFragment = true
			u.FragmentOffset = fo >> 3
			u.MoreFragments = fo&1 != 0
			u.FragmentID = binary.BigEndian.Uint32(h.Data[4:])
		case IPv6Routing:
			u.RoutingSegmentsLeft = h.Data[3] // RFC 8200 §4.4
		}
	}
	if err := w.Err(); err != nil {
		return IPv6UpperLayer{}, err
	}
	u.Protocol = w.Protocol()
	u.Offset = w.Offset()
	u.Payload = w.Payload()
	return u, nil
}

// IPv6Header is the value form of the IPv6 fixed header (RFC 8200 §3).
// Extension headers, if any, are appended by the caller after it, with
// NextHeader naming the first one.
type IPv6Header struct {
	TrafficClass uint8
	FlowLabel    uint32 // 20 bits
	// PayloadLen is the Payload Length: extension headers and upper-layer
	// data. Append writes it truncated to 16 bits.
	PayloadLen int
	NextHeader uint8
	HopLimit   uint8
	Src, Dst   netip.Addr // IPv4 addresses are written IPv4-mapped
}

// ParseIPv6Header checks b as an IPv6 packet and returns its fixed header as
// a value and its length (IPv6HeaderLen).
func ParseIPv6Header(b []byte) (IPv6Header, int, error) {
	ip := IPv6(b)
	if err := ip.Check(); err != nil {
		return IPv6Header{}, 0, err
	}
	return IPv6Header{
		TrafficClass: ip.TrafficClass(),
		FlowLabel:    ip.FlowLabel(),
		PayloadLen:   ip.PayloadLen(),
		NextHeader:   ip.NextHeader(),
		HopLimit:     ip.HopLimit(),
		Src:          ip.Src(),
		Dst:          ip.Dst(),
	}, IPv6HeaderLen, nil
}

// Len returns IPv6HeaderLen.
func (h *IPv6Header) Len() int { return IPv6HeaderLen }

// Append appends the fixed header to b.
func (h *IPv6Header) Append(b []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, IPv6HeaderLen)...)
	ip := IPv6(b[start:])
	binary.BigEndian.PutUint32(ip[ipv6VersionTCFL:], 6<<28|uint32(h.TrafficClass)<<20|h.FlowLabel&ipv6FlowLabelMask)
	binary.BigEndian.PutUint16(ip[ipv6PayloadLen:], uint16(h.PayloadLen))
	ip[ipv6NextHeader] = h.NextHeader
	ip[ipv6HopLimit] = h.HopLimit
	ip.SetSrc(h.Src)
	ip.SetDst(h.Dst)
	return b
}
