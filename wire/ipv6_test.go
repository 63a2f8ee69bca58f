package wire

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	v6a = netip.MustParseAddr("2001:db8::a")
	v6b = netip.MustParseAddr("2001:db8::b")
)

// Extension headers for the walker tests (RFC 8200 §4).

// optsHdr is a Hop-by-Hop or Destination Options header of 8 bytes: one
// PadN option fills it (RFC 8200 §4.2).
func optsHdr(next uint8) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }

// routingHdr is an 8-byte Routing header with the given Segments Left.
func routingHdr(next, segLeft uint8) []byte { return []byte{next, 0, 4, segLeft, 0, 0, 0, 0} }

// fragHdr is a Fragment header (RFC 8200 §4.5).
func fragHdr(next uint8, offset uint16, more bool, id uint32) []byte {
	b := []byte{next, 0, 0, 0, 0, 0, 0, 0}
	fo := offset << 3
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(b[2:], fo)
	binary.BigEndian.PutUint32(b[4:], id)
	return b
}

// ahHdr is an Authentication Header with a 12-byte ICV: Payload Len 4,
// 24 bytes (RFC 4302 §2.2).
func ahHdr(next uint8) []byte {
	b := make([]byte, 24)
	b[0], b[1] = next, 4
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// packet6 builds an IPv6 packet with the given first Next Header and body.
func packet6(nh uint8, body []byte) []byte {
	h := IPv6Header{TrafficClass: 0x12, FlowLabel: 0xabcde, PayloadLen: len(body), NextHeader: nh, HopLimit: 9, Src: v6a, Dst: v6b}
	return append(h.Append(nil), body...)
}

func TestIPv6ViewCaptured(t *testing.T) {
	ip := IPv6(unhex(t, capV6DSS))
	if err := ip.Check(); err != nil {
		t.Fatal(err)
	}
	type fields struct {
		Version, TrafficClass uint8
		FlowLabel             uint32
		PayloadLen            int
		NextHeader, HopLimit  uint8
		Src, Dst              netip.Addr
		Payload               int
	}
	want := fields{6, 0, 0xa4c25, 90, IPProtocolTCP, 64, netip.IPv6Loopback(), netip.IPv6Loopback(), 90}
	got := fields{ip.Version(), ip.TrafficClass(), ip.FlowLabel(), ip.PayloadLen(), ip.NextHeader(), ip.HopLimit(),
		ip.Src(), ip.Dst(), len(ip.Payload())}
	if d := cmp.Diff(want, got, addrCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	up, err := ip.UpperLayer()
	if err != nil || up.Protocol != IPProtocolTCP || up.Offset != IPv6HeaderLen || len(up.Payload) != 90 || up.IsFragment() {
		t.Errorf("UpperLayer() = %+v, %v", up, err)
	}
}

func TestIPv6Check(t *testing.T) {
	good := packet6(IPProtocolTCP, make([]byte, 20))
	mod := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"good", good, nil},
		{"captured", unhex(t, capV6SYN), nil},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0), nil},
		{"zero payload length", mod(func(b []byte) { b[4], b[5] = 0, 0 }), nil},
		{"empty", nil, ErrTruncated},
		{"39 bytes", good[:39], ErrTruncated},
		{"version 4", mod(func(b []byte) { b[0] = 0x41 }), ErrBadVersion},
		{"payload length past buffer", mod(func(b []byte) { b[5]++ }), ErrTruncated},
	}
	for _, tt := range tests {
		err := IPv6(tt.b).Check()
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: Check() = %v, want %v", tt.name, err, tt.want)
		}
		var he *HeaderError
		if err != nil && (!errors.As(err, &he) || he.Proto != "IPv6") {
			t.Errorf("%s: %v is not an IPv6 *HeaderError", tt.name, err)
		}
	}
	// The walker does not panic on an unchecked short buffer either.
	if _, err := IPv6(good[:10]).UpperLayer(); !errors.Is(err, ErrTruncated) {
		t.Errorf("UpperLayer of 10 bytes: err = %v, want ErrTruncated", err)
	}
}

func TestIPv6TruncatedPrefixes(t *testing.T) {
	for _, b := range [][]byte{unhex(t, capV6SYN), packet6(IPv6HopByHop, cat(optsHdr(IPProtocolTCP), make([]byte, 20)))} {
		for n := range len(b) {
			if err := IPv6(b[:n]).Check(); !errors.Is(err, ErrTruncated) {
				t.Errorf("%d-byte prefix: Check() = %v, want ErrTruncated", n, err)
			}
			if _, _, err := ParseIPv6Header(b[:n]); err == nil {
				t.Errorf("%d-byte prefix: ParseIPv6Header succeeded", n)
			}
		}
	}
	// A chain cut short by Payload Length is an error too.
	chain := cat(optsHdr(IPv6DestinationOptions), optsHdr(IPv6Fragment), fragHdr(IPProtocolTCP, 0, false, 1))
	for n := 1; n < len(chain); n++ {
		if n%8 == 0 {
			continue // ends on a header boundary: the next header is missing, checked below
		}
		ip := IPv6(packet6(IPv6HopByHop, chain[:n]))
		if _, err := ip.UpperLayer(); !errors.Is(err, ErrTruncated) {
			t.Errorf("chain cut to %d bytes: err = %v, want ErrTruncated", n, err)
		}
	}
	for _, n := range []int{8, 16} {
		ip := IPv6(packet6(IPv6HopByHop, chain[:n]))
		if _, err := ip.UpperLayer(); !errors.Is(err, ErrTruncated) {
			t.Errorf("chain of %d bytes without its last header: err = %v, want ErrTruncated", n, err)
		}
	}
}

func TestIPv6UpperLayer(t *testing.T) {
	tcp := make([]byte, 20)
	tests := []struct {
		name   string
		nh     uint8
		body   []byte
		want   IPv6UpperLayer // Payload is checked by length via payloadLen
		plen   int
		types  []uint8
		hasErr error
	}{
		{"no extension headers", IPProtocolTCP, tcp, IPv6UpperLayer{Protocol: IPProtocolTCP, Offset: 40}, 20, nil, nil},
		{"hop-by-hop", IPv6HopByHop, cat(optsHdr(IPProtocolTCP), tcp),
			IPv6UpperLayer{Protocol: IPProtocolTCP, Offset: 48}, 20, []uint8{IPv6HopByHop}, nil},
		{"long chain with atomic fragment", IPv6HopByHop,
			cat(optsHdr(IPv6DestinationOptions), optsHdr(IPv6Routing), routingHdr(IPv6Fragment, 0),
				fragHdr(IPv6DestinationOptions, 0, false, 77), optsHdr(IPProtocolTCP), tcp),
			IPv6UpperLayer{Protocol: IPProtocolTCP, Offset: 80, HasFragment: true, FragmentID: 77}, 20,
			[]uint8{IPv6HopByHop, IPv6DestinationOptions, IPv6Routing, IPv6Fragment, IPv6DestinationOptions}, nil},
		{"longer options header", IPv6DestinationOptions, cat([]byte{IPProtocolUDP, 1, 1, 12}, make([]byte, 12), make([]byte, 8)),
			IPv6UpperLayer{Protocol: IPProtocolUDP, Offset: 56}, 8, []uint8{IPv6DestinationOptions}, nil},
		{"AH", IPProtocolAH, cat(ahHdr(IPProtocolTCP), tcp),
			IPv6UpperLayer{Protocol: IPProtocolTCP, Offset: 64}, 20, []uint8{IPProtocolAH}, nil},
		{"ESP ends the walk", IPv6HopByHop, cat(optsHdr(IPProtocolESP), make([]byte, 30)),
			IPv6UpperLayer{Protocol: IPProtocolESP, Offset: 48}, 30, []uint8{IPv6HopByHop}, nil},
		{"no next header", IPv6NoNextHeader, make([]byte, 4),
			IPv6UpperLayer{Protocol: IPv6NoNextHeader, Offset: 40}, 4, nil, nil},
		{"first fragment continues", IPv6Fragment, cat(fragHdr(IPv6DestinationOptions, 0, true, 5), optsHdr(IPProtocolTCP), tcp),
			IPv6UpperLayer{Protocol: IPProtocolTCP, Offset: 56, HasFragment: true, MoreFragments: true, FragmentID: 5}, 20,
			[]uint8{IPv6Fragment, IPv6DestinationOptions}, nil},
		{"later fragment stops", IPv6Fragment, cat(fragHdr(IPv6DestinationOptions, 185, false, 5), make([]byte, 3)),
			IPv6UpperLayer{Protocol: IPv6DestinationOptions, Offset: 48, HasFragment: true, FragmentOffset: 185, FragmentID: 5}, 3,
			[]uint8{IPv6Fragment}, nil},
		{"routing with segments left", IPv6Routing, cat(routingHdr(IPProtocolTCP, 2), tcp),
			IPv6UpperLayer{Protocol: IPProtocolTCP, Offset: 48, RoutingSegmentsLeft: 2}, 20, []uint8{IPv6Routing}, nil},
		{"hop-by-hop not first", IPv6DestinationOptions, cat(optsHdr(IPv6HopByHop), optsHdr(IPProtocolTCP), tcp),
			IPv6UpperLayer{}, 0, []uint8{IPv6DestinationOptions}, ErrBadValue},
		{"two fragment headers", IPv6Fragment, cat(fragHdr(IPv6Fragment, 0, true, 1), fragHdr(IPProtocolTCP, 0, true, 1), tcp),
			IPv6UpperLayer{}, 0, []uint8{IPv6Fragment, IPv6Fragment}, ErrBadValue},
		{"AH length not a multiple of 8", IPProtocolAH, cat([]byte{IPProtocolTCP, 3}, make([]byte, 18), tcp),
			IPv6UpperLayer{}, 0, nil, ErrBadLength},
		{"header past payload", IPv6HopByHop, []byte{IPProtocolTCP, 2, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			IPv6UpperLayer{}, 0, nil, ErrTruncated},
		{"header shorter than 8", IPv6HopByHop, []byte{IPProtocolTCP, 0, 1, 2, 0, 0},
			IPv6UpperLayer{}, 0, nil, ErrTruncated},
	}
	for _, tt := range tests {
		ip := IPv6(packet6(tt.nh, tt.body))
		if err := ip.Check(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var types []uint8
		w := ip.ExtHeaders()
		off := IPv6HeaderLen
		for h, ok := w.Next(); ok; h, ok = w.Next() {
			types = append(types, h.Type)
			if h.Offset != off || &h.Data[0] != &ip[off] {
				t.Errorf("%s: header at %d, want %d", tt.name, h.Offset, off)
			}
			off += len(h.Data)
		}
		if d := cmp.Diff(tt.types, types); d != "" {
			t.Errorf("%s: walked types (-want +got):\n%s", tt.name, d)
		}
		up, err := ip.UpperLayer()
		if !errors.Is(err, tt.hasErr) || (tt.hasErr == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.hasErr)
			continue
		}
		if err != nil {
			var he *HeaderError
			if !errors.As(err, &he) || he.Proto != "IPv6" {
				t.Errorf("%s: %v is not an IPv6 *HeaderError", tt.name, err)
			}
			continue
		}
		if len(up.Payload) != tt.plen || (tt.plen > 0 && &up.Payload[0] != &ip[up.Offset]) {
			t.Errorf("%s: payload of %d bytes at %d, want %d", tt.name, len(up.Payload), up.Offset, tt.plen)
		}
		if d := cmp.Diff(tt.want, up, cmpopts.IgnoreFields(IPv6UpperLayer{}, "Payload")); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
		if up.IsFragment() != (up.MoreFragments || up.FragmentOffset != 0) {
			t.Errorf("%s: IsFragment() = %v", tt.name, up.IsFragment())
		}
	}
}

func TestIPv6Setters(t *testing.T) {
	ip := IPv6(make([]byte, 40))
	ip[0] = 0x60
	ip.SetTrafficClass(0xff)
	ip.SetFlowLabel(0xfffff)
	ip.SetTrafficClass(0xa5)
	ip.SetFlowLabel(0x123456) // only 20 bits kept
	ip.SetPayloadLen(0)
	ip.SetNextHeader(IPv6NoNextHeader)
	ip.SetHopLimit(255)
	ip.SetSrc(netip.MustParseAddr("192.0.2.1")) // stored IPv4-mapped
	ip.SetDst(v6b)
	if err := ip.Check(); err != nil {
		t.Fatal(err)
	}
	if ip.Version() != 6 || ip.TrafficClass() != 0xa5 || ip.FlowLabel() != 0x23456 || ip.NextHeader() != IPv6NoNextHeader ||
		ip.HopLimit() != 255 || ip.Src() != netip.MustParseAddr("::ffff:192.0.2.1") || ip.Dst() != v6b {
		t.Errorf("fields: v%d tc=%#x fl=%#x nh=%d hl=%d %v > %v", ip.Version(), ip.TrafficClass(), ip.FlowLabel(),
			ip.NextHeader(), ip.HopLimit(), ip.Src(), ip.Dst())
	}
	ip.SetPayloadLen(100) // breaks the invariant; accessors stay panic-free
	_ = ip.Payload()
}

func TestIPv6HeaderRoundTrip(t *testing.T) {
	tests := []IPv6Header{
		{TrafficClass: 0xb8, FlowLabel: 0xfffff, PayloadLen: 20, NextHeader: IPProtocolTCP, HopLimit: 64, Src: v6a, Dst: v6b},
		{NextHeader: IPv6NoNextHeader, Src: netip.IPv6Unspecified(), Dst: netip.MustParseAddr("ff02::1")},
	}
	for i, h := range tests {
		b := h.Append([]byte{0xdd})[1:]
		if len(b) != h.Len() {
			t.Errorf("case %d: Append wrote %d bytes, Len() = %d", i, len(b), h.Len())
		}
		b = append(b, make([]byte, h.PayloadLen)...)
		got, n, err := ParseIPv6Header(b)
		if err != nil || n != IPv6HeaderLen {
			t.Fatalf("case %d: %v, n=%d", i, err, n)
		}
		if d := cmp.Diff(h, got, addrCmp); d != "" {
			t.Errorf("case %d (-want +got):\n%s", i, d)
		}
	}
}

// Packets built here decode with gopacket to the same fields; packets
// gopacket serializes parse here to its fields.
func TestIPv6AgainstGopacket(t *testing.T) {
	seg := (&TCPHeader{SrcPort: 1, DstPort: 2, Flags: FlagSYN, Options: TCPOptions{HasMSS: true, MSS: 1440}}).Append(nil)
	TCP(seg).SetChecksum(v6a, v6b)
	pkt := packet6(IPv6HopByHop, cat(optsHdr(IPProtocolTCP), seg))
	p := gopacket.NewPacket(pkt, layers.LayerTypeIPv6, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatal(el.Error())
	}
	g := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	type fields struct {
		Version, TrafficClass uint8
		FlowLabel             uint32
		Length                uint16
		NextHeader            layers.IPProtocol
		HopLimit              uint8
		Src, Dst              string
		HopByHop              bool
	}
	want := fields{6, 0x12, 0xabcde, uint16(8 + len(seg)), layers.IPProtocolIPv6HopByHop, 9, v6a.String(), v6b.String(), true}
	got := fields{g.Version, g.TrafficClass, g.FlowLabel, g.Length, g.NextHeader, g.HopLimit, g.SrcIP.String(), g.DstIP.String(),
		p.Layer(layers.LayerTypeIPv6HopByHop) != nil}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("gopacket view (-want +got):\n%s", d)
	}
	gt, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok || gt.SrcPort != 1 || gt.DstPort != 2 || !gt.SYN {
		t.Fatalf("gopacket TCP layer %+v", gt)
	}
	if err := gt.SetNetworkLayerForChecksum(g); err != nil {
		t.Fatal(err)
	}
	if err, res := gt.VerifyChecksum(); err != nil || !res.Valid {
		t.Errorf("gopacket: checksum invalid (%v, %+v)", err, res)
	}
	if err := VerifyChecksums(pkt); err != nil {
		t.Errorf("VerifyChecksums: %v", err)
	}

	src := &layers.IPv6{Version: 6, TrafficClass: 0x04, FlowLabel: 0x54321, NextHeader: layers.IPProtocolNoNextHeader,
		HopLimit: 1, SrcIP: v6b.AsSlice(), DstIP: v6a.AsSlice()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, src, gopacket.Payload("xyz")); err != nil {
		t.Fatal(err)
	}
	h, _, err := ParseIPv6Header(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	wantH := IPv6Header{TrafficClass: 0x04, FlowLabel: 0x54321, PayloadLen: 3, NextHeader: IPv6NoNextHeader, HopLimit: 1, Src: v6b, Dst: v6a}
	if d := cmp.Diff(wantH, h, addrCmp); d != "" {
		t.Errorf("parsed gopacket header (-want +got):\n%s", d)
	}
}

func TestIPv6Allocs(t *testing.T) {
	pkt := packet6(IPv6HopByHop, cat(optsHdr(IPv6Fragment), fragHdr(IPProtocolTCP, 0, false, 1), make([]byte, 20)))
	buf := make([]byte, 0, 64)
	h := IPv6Header{NextHeader: IPProtocolTCP, Src: v6a, Dst: v6b}
	allocs := testing.AllocsPerRun(100, func() {
		ip := IPv6(pkt)
		if ip.Check() != nil {
			t.Fatal("Check failed")
		}
		if up, err := ip.UpperLayer(); err != nil || up.Protocol != IPProtocolTCP {
			t.Fatal("UpperLayer failed")
		}
		buf = h.Append(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocs, want 0", allocs)
	}
}

func FuzzIPv6(f *testing.F) {
	f.Add(unhex(f, capV6SYN))
	f.Add(unhex(f, capV6DSS))
	tcp := make([]byte, 20)
	f.Add(packet6(IPv6HopByHop, cat(optsHdr(IPv6DestinationOptions), optsHdr(IPv6Routing), routingHdr(IPv6Fragment, 1),
		fragHdr(IPProtocolAH, 0, true, 9), ahHdr(IPProtocolTCP), tcp)))
	f.Add(packet6(IPv6Fragment, cat(fragHdr(IPv6HopByHop, 3, false, 1), tcp)))
	f.Add(packet6(IPProtocolESP, tcp))
	f.Fuzz(func(t *testing.T, b []byte) {
		ip := IPv6(b)
		if err := ip.Check(); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("Check error %v is not a *HeaderError", err)
			}
			return
		}
		_ = ip.TrafficClass() + ip.NextHeader() + ip.HopLimit()
		_ = ip.FlowLabel()
		if !ip.Src().Is6() || !ip.Dst().Is6() || len(ip.Payload()) != ip.PayloadLen() {
			t.Fatal("bad addresses or payload")
		}
		up, err := ip.UpperLayer()
		if err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("UpperLayer error %v is not a *HeaderError", err)
			}
		} else {
			if up.Offset < IPv6HeaderLen || up.Offset+len(up.Payload) != IPv6HeaderLen+ip.PayloadLen() {
				t.Fatalf("payload at %d+%d, packet payload ends at %d", up.Offset, len(up.Payload), IPv6HeaderLen+ip.PayloadLen())
			}
			if isIPv6ExtHeader(up.Protocol) && !up.IsFragment() {
				t.Fatalf("walk stopped at extension header %d", up.Protocol)
			}
		}
		v, _, err := ParseIPv6Header(b)
		if err != nil {
			t.Fatalf("ParseIPv6Header after Check: %v", err)
		}
		out := v.Append(nil)
		if string(out) != string(b[:IPv6HeaderLen]) {
			t.Fatalf("rebuilt header %x differs from %x", out, b[:IPv6HeaderLen])
		}
	})
}
