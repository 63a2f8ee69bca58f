package wire

import (
	"fmt"
	"net/netip"
	"testing"
)

// dataSegmentOptions is the option area of an MPTCP data segment as Linux
// sends it with DSS checksums on: NOP NOP + timestamps, and a 20-byte DSS
// (4-byte DATA_ACK and DSN, SSN, data-level length, checksum).
func dataSegmentOptions() TCPOptions {
	return withMPTCP(TCPOptions{HasTimestamps: true, TSVal: 0x01020304, TSEcr: 0x05060708},
		"1e142005 00000001 00000002 00000003 05a8abcd")
}

// checksumSink keeps the benchmarked sums alive.
var checksumSink uint64

func BenchmarkChecksumAdd(b *testing.B) {
	for _, n := range []int{20, 64, 1500, 9000, 65536} {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			var s uint64
			for b.Loop() {
				s = ChecksumAdd(s, buf)
			}
			checksumSink = s
		})
	}
}

func BenchmarkTCPChecksum(b *testing.B) {
	seg := make([]byte, 1460+32)
	for name, addrs := range map[string][2]netip.Addr{
		"v4": {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")},
		"v6": {netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")},
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(seg)))
			b.ReportAllocs()
			for b.Loop() {
				TCP(seg).SetChecksum(addrs[0], addrs[1])
			}
		})
	}
}

func BenchmarkParseTCPOptionsData(b *testing.B) {
	o := dataSegmentOptions()
	in := o.Append(nil)
	var out TCPOptions
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseTCPOptions(in, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTCPOptionsData(b *testing.B) {
	o := dataSegmentOptions()
	buf := make([]byte, 0, TCPMaxOptionsLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = o.Append(buf[:0])
	}
	if len(buf) != 32 {
		b.Fatalf("wrote %d bytes", len(buf))
	}
}

func BenchmarkParseTCPOptionsSYN(b *testing.B) {
	in := optionsOf(b, capV4SYN)
	var out TCPOptions
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseTCPOptions(in, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTCPHeaderParse(b *testing.B) {
	_, _, seg := tcpOfPacket(b, unhex(b, capV4DSS))
	var h TCPHeader
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTCPHeader(seg, &h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTCPHeaderBuild(b *testing.B) {
	h := TCPHeader{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: FlagACK | FlagPSH, Window: 500, Options: dataSegmentOptions()}
	buf := make([]byte, 0, TCPMaxHeaderLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.Append(buf[:0])
	}
}

func BenchmarkIPv4Parse(b *testing.B) {
	pkt := unhex(b, capV4DSS)
	b.ReportAllocs()
	for b.Loop() {
		ip := IPv4(pkt)
		if ip.Check() != nil || !ip.ChecksumValid() || ip.Protocol() != IPProtocolTCP || len(ip.Payload()) == 0 {
			b.Fatal("bad packet")
		}
	}
}

func BenchmarkIPv4Build(b *testing.B) {
	h := IPv4Header{ID: 1, DontFragment: true, TTL: 64, Protocol: IPProtocolTCP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), PayloadLen: 1460}
	buf := make([]byte, 0, IPv4MaxHeaderLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.Append(buf[:0])
	}
}

func BenchmarkIPv6UpperLayer(b *testing.B) {
	pkt := unhex(b, capV6DSS)
	b.ReportAllocs()
	for b.Loop() {
		ip := IPv6(pkt)
		if ip.Check() != nil {
			b.Fatal("bad packet")
		}
		if up, err := ip.UpperLayer(); err != nil || up.Protocol != IPProtocolTCP {
			b.Fatal("no TCP")
		}
	}
}

func BenchmarkIPv6Build(b *testing.B) {
	h := IPv6Header{PayloadLen: 1460, NextHeader: IPProtocolTCP, HopLimit: 64,
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}
	buf := make([]byte, 0, IPv6HeaderLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = h.Append(buf[:0])
	}
}

// BenchmarkBuildSegment builds a whole IPv4 MPTCP data segment: IP header,
// TCP header with options, payload copy and both checksums.
func BenchmarkBuildSegment(b *testing.B) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	payload := make([]byte, 1400)
	th := TCPHeader{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: FlagACK, Window: 500, Options: dataSegmentOptions()}
	ih := IPv4Header{TTL: 64, Protocol: IPProtocolTCP, Src: src, Dst: dst, PayloadLen: th.Len() + len(payload)}
	buf := make([]byte, 0, 1500)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		buf = ih.Append(buf[:0])
		off := len(buf)
		buf = th.Append(buf)
		buf = append(buf, payload...)
		TCP(buf[off:]).SetChecksum(src, dst)
	}
}
