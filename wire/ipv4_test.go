package wire

import (
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestIPv4ViewCaptured(t *testing.T) {
	type fields struct {
		Version        uint8
		HeaderLen      int
		TOS            uint8
		TotalLen       int
		ID             uint16
		DF, MF         bool
		FragmentOffset uint16
		TTL, Protocol  uint8
		Checksum       uint16
		Src, Dst       netip.Addr
		Options        string
		PayloadLen     int
		ChecksumValid  bool
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		pkt  string
		want fields
	}{
		{capV4SYN, fields{4, 20, 0, 64, 0x51c0, true, false, 0, 64, IPProtocolTCP, 0xeaf5, lo, lo, "", 44, true}},
		{capV4SYNACK, fields{4, 20, 0, 72, 0, true, false, 0, 64, IPProtocolTCP, 0x3cae, lo, lo, "", 52, true}},
		{capV4DSS, fields{4, 20, 0, 110, 0x93af, true, false, 0, 64, IPProtocolTCP, 0xa8d8, lo, lo, "", 90, true}},
	}
	for _, tt := range tests {
		ip := IPv4(unhex(t, tt.pkt))
		if err := ip.Check(); err != nil {
			t.Fatal(err)
		}
		got := fields{ip.Version(), ip.HeaderLen(), ip.TOS(), ip.TotalLen(), ip.ID(), ip.DontFragment(),
			ip.MoreFragments(), ip.FragmentOffset(), ip.TTL(), ip.Protocol(), ip.Checksum(), ip.Src(), ip.Dst(),
			hex.EncodeToString(ip.Options()), len(ip.Payload()), ip.ChecksumValid()}
		if d := cmp.Diff(tt.want, got, addrCmp); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	}
}

// The header of RFC 1071-style worked examples: a UDP packet from
// 192.168.0.1 to 192.168.0.199 whose checksum is 0xb861.
const ipv4KnownHeader = "450000730000400040110000c0a80001c0a800c7"

func TestIPv4SetChecksumKnown(t *testing.T) {
	b := unhex(t, ipv4KnownHeader)
	b = append(b, make([]byte, 0x73-20)...)
	ip := IPv4(b)
	if ip.ChecksumValid() {
		t.Error("zero checksum reported valid")
	}
	ip.SetChecksum()
	if ip.Checksum() != 0xb861 {
		t.Errorf("checksum %#04x, want 0xb861", ip.Checksum())
	}
	if !ip.ChecksumValid() {
		t.Error("checksum invalid after SetChecksum")
	}
	ip.SetTTL(63)
	if ip.ChecksumValid() {
		t.Error("checksum still valid after changing TTL")
	}
}

func TestIPv4Check(t *testing.T) {
	good := unhex(t, capV4SYN)
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
		{"captured", good, nil},
		{"trailing link padding", append(append([]byte(nil), good...), 0, 0, 0, 0), nil},
		{"empty", nil, ErrTruncated},
		{"19 bytes", good[:19], ErrTruncated},
		{"version 6", mod(func(b []byte) { b[0] = 0x65 }), ErrBadVersion},
		{"version 0", mod(func(b []byte) { b[0] = 0x05 }), ErrBadVersion},
		{"IHL 4", mod(func(b []byte) { b[0] = 0x44 }), ErrBadLength},
		{"IHL 0", mod(func(b []byte) { b[0] = 0x40 }), ErrBadLength},
		{"total length past buffer", mod(func(b []byte) { b[3]++ }), ErrTruncated},
		{"header past total length", mod(func(b []byte) { b[0] = 0x4f; b[2], b[3] = 0, 40 }), ErrBadLength},
		{"IHL 15 within total length", mod(func(b []byte) { b[0] = 0x4f }), nil},
		{"total length = header", mod(func(b []byte) { b[2], b[3] = 0, 20 }), nil},
	}
	for _, tt := range tests {
		err := IPv4(tt.b).Check()
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: Check() = %v, want %v", tt.name, err, tt.want)
		}
		var he *HeaderError
		if err != nil && (!errors.As(err, &he) || he.Proto != "IPv4") {
			t.Errorf("%s: %v is not an IPv4 *HeaderError", tt.name, err)
		}
	}
}

func TestIPv4TruncatedPrefixes(t *testing.T) {
	h := IPv4Header{TTL: 1, Protocol: IPProtocolTCP, Src: netip.MustParseAddr("192.0.2.1"),
		Dst: netip.MustParseAddr("192.0.2.2"), Options: []byte{0x94, 0x04, 0, 0}, PayloadLen: 3}
	pkt := append(h.Append(nil), 1, 2, 3)
	for _, b := range [][]byte{pkt, unhex(t, capV4SYN)} {
		if err := IPv4(b).Check(); err != nil {
			t.Fatal(err)
		}
		for n := range len(b) {
			if err := IPv4(b[:n]).Check(); !errors.Is(err, ErrTruncated) {
				t.Errorf("%d-byte prefix: Check() = %v, want ErrTruncated", n, err)
			}
			if _, _, err := ParseIPv4Header(b[:n]); err == nil {
				t.Errorf("%d-byte prefix: ParseIPv4Header succeeded", n)
			}
		}
	}
}

func TestIPv4Setters(t *testing.T) {
	ip := IPv4(make([]byte, 24))
	ip[0] = 0x46
	ip.SetTOS(0xb8)
	ip.SetTotalLen(24)
	ip.SetID(0xbeef)
	ip.SetDontFragment(true)
	ip.SetMoreFragments(true)
	ip.SetFragmentOffset(0xffff) // only 13 bits kept
	ip.SetTTL(3)
	ip.SetProtocol(IPProtocolUDP)
	ip.SetSrc(netip.MustParseAddr("::ffff:10.0.0.1")) // IPv4-mapped is accepted
	ip.SetDst(netip.MustParseAddr("10.0.0.2"))
	if err := ip.Check(); err != nil {
		t.Fatal(err)
	}
	if !ip.DontFragment() || !ip.MoreFragments() || ip.FragmentOffset() != 0x1fff {
		t.Errorf("flags DF=%v MF=%v offset=%#x", ip.DontFragment(), ip.MoreFragments(), ip.FragmentOffset())
	}
	ip.SetDontFragment(false)
	ip.SetFragmentOffset(5)
	if ip.DontFragment() || !ip.MoreFragments() || ip.FragmentOffset() != 5 {
		t.Errorf("after clearing: DF=%v MF=%v offset=%#x", ip.DontFragment(), ip.MoreFragments(), ip.FragmentOffset())
	}
	ip.SetMoreFragments(false)
	ip.SetChecksum()
	want := "46b80018beef000503110000" + "0a000001" + "0a000002" + "00000000"
	got := hex.EncodeToString(ip)
	if got[:20] != want[:20] || got[24:] != want[24:] {
		t.Errorf("bytes = %s, want %s (checksum aside)", got, want)
	}
	if !ip.ChecksumValid() {
		t.Error("checksum invalid after SetChecksum")
	}
	// Setters that break the length invariants leave accessors panic-free.
	ip.SetTotalLen(1000)
	ip[0] = 0x4f
	_, _, _ = ip.Options(), ip.Payload(), ip.Header()
}

func TestIPv4HeaderRoundTrip(t *testing.T) {
	tests := []IPv4Header{
		{TOS: 0x02, ID: 1, DontFragment: true, TTL: 64, Protocol: IPProtocolTCP,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), PayloadLen: 100},
		{ID: 0xffff, MoreFragments: true, FragmentOffset: 0x1234, TTL: 1, Protocol: IPProtocolUDP,
			Src: netip.MustParseAddr("255.255.255.255"), Dst: netip.MustParseAddr("0.0.0.0"),
			Options: []byte{0x94, 0x04, 0x00, 0x00}}, // Router Alert (RFC 2113)
		{TTL: 255, Protocol: 253, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"),
			Options: make([]byte, IPv4MaxOptionsLen), PayloadLen: 65535 - IPv4MaxHeaderLen},
	}
	for i, h := range tests {
		b := h.Append([]byte{0xcc})[1:]
		if len(b) != h.Len() {
			t.Errorf("case %d: Append wrote %d bytes, Len() = %d", i, len(b), h.Len())
		}
		if !IPv4(b).ChecksumValid() {
			t.Errorf("case %d: header checksum invalid", i)
		}
		b = append(b, make([]byte, h.PayloadLen)...)
		got, n, err := ParseIPv4Header(b)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if n != h.Len() {
			t.Errorf("case %d: header length %d, want %d", i, n, h.Len())
		}
		if d := cmp.Diff(h, got, addrCmp, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("case %d (-want +got):\n%s", i, d)
		}
	}
}

func TestIPv4HeaderOptionsPadding(t *testing.T) {
	h := IPv4Header{TTL: 1, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"),
		Options: []byte{0x01, 0x01, 0x07}}
	b := h.Append(nil)
	if len(b) != 24 || b[0] != 0x46 || hex.EncodeToString(b[20:]) != "01010700" {
		t.Errorf("padded header %x", b)
	}
	h.Options = make([]byte, 50) // longer than IPv4 allows: capped
	if b := h.Append(nil); len(b) != IPv4MaxHeaderLen || h.Len() != IPv4MaxHeaderLen || b[0] != 0x4f {
		t.Errorf("oversized options: %d bytes, Len() = %d", len(b), h.Len())
	}
}

// Headers built here decode with gopacket to the same fields and a valid
// checksum; headers gopacket serializes parse here to its fields.
func TestIPv4AgainstGopacket(t *testing.T) {
	h := IPv4Header{TOS: 0x28, ID: 4242, DontFragment: true, FragmentOffset: 0, TTL: 17, Protocol: IPProtocolTCP,
		Src: netip.MustParseAddr("203.0.113.7"), Dst: netip.MustParseAddr("198.51.100.250"),
		Options: []byte{0x94, 0x04, 0x00, 0x00}, PayloadLen: 5}
	pkt := append(h.Append(nil), 1, 2, 3, 4, 5)
	var g layers.IPv4
	if err := g.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	type fields struct {
		Version, IHL, TOS uint8
		Length, Id        uint16
		Flags             layers.IPv4Flag
		FragOffset        uint16
		TTL               uint8
		Protocol          layers.IPProtocol
		Src, Dst          string
		Payload           []byte
	}
	want := fields{4, 6, 0x28, 29, 4242, layers.IPv4DontFragment, 0, 17, layers.IPProtocolTCP,
		"203.0.113.7", "198.51.100.250", []byte{1, 2, 3, 4, 5}}
	got := fields{g.Version, g.IHL, g.TOS, g.Length, g.Id, g.Flags, g.FragOffset, g.TTL, g.Protocol,
		g.SrcIP.String(), g.DstIP.String(), g.Payload}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("gopacket view (-want +got):\n%s", d)
	}
	// gopacket's checksum of our header equals ours.
	g2 := g
	buf := gopacket.NewSerializeBuffer()
	if err := g2.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
		t.Fatal(err)
	}
	if g2.Checksum != IPv4(pkt).Checksum() {
		t.Errorf("gopacket checksum %#04x, ours %#04x", g2.Checksum, IPv4(pkt).Checksum())
	}

	// The other way round.
	src := &layers.IPv4{Version: 4, TOS: 0xfc, Id: 7, Flags: layers.IPv4MoreFragments, FragOffset: 185, TTL: 2,
		Protocol: layers.IPProtocolUDP, SrcIP: net.IP{100, 64, 0, 1}, DstIP: net.IP{100, 64, 0, 2}}
	buf = gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		src, gopacket.Payload("abc")); err != nil {
		t.Fatal(err)
	}
	ip := IPv4(buf.Bytes())
	if err := ip.Check(); err != nil {
		t.Fatal(err)
	}
	if !ip.ChecksumValid() {
		t.Error("gopacket's header checksum does not verify here")
	}
	pg, _, err := ParseIPv4Header(ip)
	if err != nil {
		t.Fatal(err)
	}
	wantH := IPv4Header{TOS: 0xfc, ID: 7, MoreFragments: true, FragmentOffset: 185, TTL: 2, Protocol: IPProtocolUDP,
		Src: netip.MustParseAddr("100.64.0.1"), Dst: netip.MustParseAddr("100.64.0.2"), PayloadLen: 3}
	if d := cmp.Diff(wantH, pg, addrCmp); d != "" {
		t.Errorf("parsed gopacket header (-want +got):\n%s", d)
	}
	if string(ip.Payload()) != "abc" {
		t.Errorf("payload %q", ip.Payload())
	}
}

func TestIPv4Allocs(t *testing.T) {
	pkt := unhex(t, capV4DSS)
	buf := make([]byte, 0, 64)
	h := IPv4Header{TTL: 64, Protocol: IPProtocolTCP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}
	allocs := testing.AllocsPerRun(100, func() {
		ip := IPv4(pkt)
		if ip.Check() != nil || !ip.ChecksumValid() || ip.Src() != ip.Dst() {
			t.Fatal("captured packet does not check")
		}
		buf = h.Append(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocs, want 0", allocs)
	}
}

func FuzzIPv4(f *testing.F) {
	for _, c := range capturedPackets[:6] {
		f.Add(unhex(f, c.hex))
	}
	f.Add(unhex(f, ipv4KnownHeader))
	h := IPv4Header{TTL: 1, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"),
		Options: []byte{0x94, 0x04, 0, 0}}
	f.Add(h.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		ip := IPv4(b)
		if err := ip.Check(); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("Check error %v is not a *HeaderError", err)
			}
			return
		}
		_ = ip.TOS() + ip.TTL() + ip.Protocol()
		_ = ip.ID() + ip.Checksum() + ip.FragmentOffset()
		_, _ = ip.DontFragment(), ip.MoreFragments()
		_ = ip.ChecksumValid()
		if !ip.Src().Is4() || !ip.Dst().Is4() {
			t.Fatal("addresses are not IPv4")
		}
		if ip.HeaderLen()+len(ip.Payload()) != ip.TotalLen() || len(ip.Options()) != ip.HeaderLen()-IPv4MinHeaderLen {
			t.Fatalf("header %d + payload %d != total %d", ip.HeaderLen(), len(ip.Payload()), ip.TotalLen())
		}
		v, n, err := ParseIPv4Header(b)
		if err != nil || n != ip.HeaderLen() {
			t.Fatalf("ParseIPv4Header after Check: %v, n=%d", err, n)
		}
		out := v.Append(nil)
		if len(out) != v.Len() || !IPv4(out).ChecksumValid() {
			t.Fatalf("Append wrote %d bytes (Len %d), checksum valid %v", len(out), v.Len(), IPv4(out).ChecksumValid())
		}
		// The rebuilt header is the original but for the checksum and
		// the reserved flag bit (RFC 791 §3.1: must be zero).
		orig := append([]byte(nil), b[:n]...)
		orig[6] &^= 0x80
		orig[10], orig[11] = out[10], out[11]
		if string(out) != string(orig) {
			t.Fatalf("rebuilt header %x differs from %x", out, b[:n])
		}
		out = append(out, ip.Payload()...)
		v2, _, err := ParseIPv4Header(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if d := cmp.Diff(v, v2, addrCmp, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}
