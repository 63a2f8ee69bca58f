package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refSum is the plain RFC 1071 §4.1 loop: big-endian 16-bit words, an odd
// byte padded with zero, carries folded at the end.
func refSum(b []byte) uint64 {
	var s uint64
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := ChecksumFold(ChecksumAdd(0, b)); got != ^uint16(0xddf2) {
		t.Errorf("checksum %#04x, want %#04x", got, ^uint16(0xddf2))
	}
}

func TestChecksumAddMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2100)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	ones := make([]byte, 300)
	for i := range ones {
		ones[i] = 0xff
	}
	starts := []uint64{0, 1, 0xffff, 0x12345678, math.MaxUint64 - 3, math.MaxUint64}
	for _, data := range [][]byte{buf, ones, make([]byte, 300)} {
		for n := 0; n <= len(data); n++ {
			if n > 300 && n%97 != 0 {
				continue
			}
			b := data[:n]
			for _, s := range starts {
				// The reference folds the start value the same way: any
				// value congruent modulo 0xffff is a valid running sum.
				want := ChecksumFold(foldStart(s) + refSum(b))
				if got := ChecksumFold(ChecksumAdd(s, b)); got != want {
					t.Fatalf("len %d start %#x: %#04x, want %#04x", n, s, got, want)
				}
			}
		}
	}
}

// foldStart reduces s modulo 0xffff the way ChecksumFold would, keeping a
// non-zero value non-zero.
func foldStart(s uint64) uint64 {
	for s>>16 != 0 {
		s = (s & 0xffff) + s>>16
	}
	return s
}

func TestChecksumAddChunked(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 1501)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	want := ChecksumFold(ChecksumAdd(0, b))
	for _, cut := range []int{0, 2, 8, 14, 64, 66, 1000, 1500} {
		if got := ChecksumFold(ChecksumAdd(ChecksumAdd(0, b[:cut]), b[cut:])); got != want {
			t.Errorf("cut at %d: %#04x, want %#04x", cut, got, want)
		}
	}
}

func TestChecksumZeroRepresentation(t *testing.T) {
	// All-zero data gives the all-ones checksum; data summing to a
	// negative zero gives 0x0000, as the word-by-word sum does.
	if got := ChecksumFold(ChecksumAdd(0, make([]byte, 64))); got != 0xffff {
		t.Errorf("zeros: %#04x, want 0xffff", got)
	}
	b := make([]byte, 64)
	b[0], b[1], b[40], b[41] = 0xff, 0x00, 0x00, 0xff // 0xff00 + 0x00ff = 0xffff
	if got := ChecksumFold(ChecksumAdd(0, b)); got != 0 {
		t.Errorf("negative zero: %#04x, want 0", got)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	// IPv4 (RFC 9293 §3.1): src, dst, 0, protocol, TCP length.
	src4, dst4 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	ph4 := []byte{192, 0, 2, 1, 198, 51, 100, 2, 0, IPProtocolTCP, 0x05, 0xdc}
	if got, want := ChecksumFold(PseudoHeaderSum(IPProtocolTCP, src4, dst4, 1500)), ChecksumFold(refSum(ph4)); got != want {
		t.Errorf("IPv4 pseudo-header: %#04x, want %#04x", got, want)
	}
	// IPv6 (RFC 8200 §8.1): src, dst, 32-bit length, 3 zero bytes, next header.
	src6, dst6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	s, d := src6.As16(), dst6.As16()
	ph6 := append(append(s[:], d[:]...), 0x00, 0x01, 0x00, 0x04, 0, 0, 0, IPProtocolTCP)
	if got, want := ChecksumFold(PseudoHeaderSum(IPProtocolTCP, src6, dst6, 0x10004)), ChecksumFold(refSum(ph6)); got != want {
		t.Errorf("IPv6 pseudo-header: %#04x, want %#04x", got, want)
	}
	// An IPv4 address paired with an IPv6 one enters IPv4-mapped.
	mapped := netip.AddrFrom16(src4.As16())
	if PseudoHeaderSum(IPProtocolTCP, src4, dst6, 20) != PseudoHeaderSum(IPProtocolTCP, mapped, dst6, 20) {
		t.Error("mixed families: IPv4 address not taken in its mapped form")
	}
}

// The captured packets carry partial checksums (loopback offload);
// FillChecksums makes them verify, and VerifyChecksums notices corruption.
func TestFillAndVerifyChecksums(t *testing.T) {
	for _, c := range capturedPackets {
		pkt := unhex(t, c.hex)
		if err := VerifyChecksums(pkt); !errors.Is(err, ErrBadChecksum) {
			t.Errorf("%s: partial checksum: VerifyChecksums = %v, want ErrBadChecksum", c.name, err)
		}
		if err := FillChecksums(pkt); err != nil {
			t.Fatalf("%s: FillChecksums: %v", c.name, err)
		}
		if err := VerifyChecksums(pkt); err != nil {
			t.Errorf("%s: after FillChecksums: %v", c.name, err)
		}
		src, dst, seg := tcpOfPacket(t, pkt)
		if !seg.ChecksumValid(src, dst) || TCPChecksum(src, dst, seg) != seg.Checksum() {
			t.Errorf("%s: TCP checksum does not verify", c.name)
		}
		pkt[len(pkt)-1] ^= 0x40
		var he *HeaderError
		if err := VerifyChecksums(pkt); !errors.Is(err, ErrBadChecksum) || !errors.As(err, &he) || he.Proto != "TCP" {
			t.Errorf("%s: corrupted segment: VerifyChecksums = %v", c.name, err)
		}
	}
	pkt := unhex(t, capV4SYN)
	if err := FillChecksums(pkt); err != nil {
		t.Fatal(err)
	}
	pkt[8]-- // TTL: the IPv4 header checksum no longer verifies
	var he *HeaderError
	if err := VerifyChecksums(pkt); !errors.Is(err, ErrBadChecksum) || !errors.As(err, &he) || he.Proto != "IPv4" {
		t.Errorf("corrupted IPv4 header: VerifyChecksums = %v", err)
	}
}

func TestFillChecksumsErrors(t *testing.T) {
	tcp := (&TCPHeader{SrcPort: 1, DstPort: 2}).Append(nil)
	v4 := func(mod func(h *IPv4Header)) []byte {
		h := IPv4Header{TTL: 1, Protocol: IPProtocolTCP, Src: netip.MustParseAddr("192.0.2.1"),
			Dst: netip.MustParseAddr("192.0.2.2"), PayloadLen: len(tcp)}
		mod(&h)
		return append(h.Append(nil), tcp...)
	}
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"version 5", []byte{0x50, 0, 0, 0}, ErrBadVersion},
		{"bad IPv4", v4(func(h *IPv4Header) {})[:30], ErrTruncated},
		{"UDP", v4(func(h *IPv4Header) { h.Protocol = IPProtocolUDP }), ErrWrongKind},
		{"IPv4 fragment", v4(func(h *IPv4Header) { h.MoreFragments = true }), ErrBadValue},
		{"IPv4 later fragment", v4(func(h *IPv4Header) { h.FragmentOffset = 3 }), ErrBadValue},
		{"bad TCP header", func() []byte { b := v4(func(h *IPv4Header) {}); b[32] = 0x40; return b }(), ErrBadLength},
		{"bad IPv6 chain", packet6(IPv6HopByHop, []byte{IPProtocolTCP, 9, 0, 0, 0, 0, 0, 0}), ErrTruncated},
		{"IPv6 fragment", packet6(IPv6Fragment, cat(fragHdr(IPProtocolTCP, 0, true, 1), tcp)), ErrBadValue},
		{"IPv6 routing, segments left", packet6(IPv6Routing, cat(routingHdr(IPProtocolTCP, 1), tcp)), ErrBadValue},
		{"IPv6 not TCP", packet6(IPProtocolUDP, tcp), ErrWrongKind},
		{"bad IPv6", packet6(IPProtocolTCP, tcp)[:50], ErrTruncated},
	}
	for _, tt := range tests {
		orig := string(tt.pkt)
		if err := FillChecksums(tt.pkt); !errors.Is(err, tt.want) {
			t.Errorf("%s: FillChecksums = %v, want %v", tt.name, err, tt.want)
		}
		if string(tt.pkt) != orig {
			t.Errorf("%s: FillChecksums modified a packet it rejected", tt.name)
		}
		if err := VerifyChecksums(tt.pkt); !errors.Is(err, tt.want) {
			t.Errorf("%s: VerifyChecksums = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Routing with no segments left and an atomic fragment are fine.
	for _, pkt := range [][]byte{
		packet6(IPv6Routing, cat(routingHdr(IPv6Fragment, 0), fragHdr(IPProtocolTCP, 0, false, 1), tcp)),
	} {
		if err := FillChecksums(pkt); err != nil {
			t.Errorf("FillChecksums: %v", err)
		}
		if err := VerifyChecksums(pkt); err != nil {
			t.Errorf("VerifyChecksums: %v", err)
		}
	}
}

func TestChecksumAllocs(t *testing.T) {
	pkt := unhex(t, capV6DSS)
	src, dst, seg := tcpOfPacket(t, pkt)
	allocs := testing.AllocsPerRun(100, func() {
		_ = TCPChecksum(src, dst, seg)
		if err := FillChecksums(pkt); err != nil {
			t.Fatal(err)
		}
		if err := VerifyChecksums(pkt); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs, want 0", allocs)
	}
}
