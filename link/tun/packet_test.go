package tun

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
)

var (
	src4, dst4 = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	src6, dst6 = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:1::2")
)

// icmpPacket builds an ICMP (IPv4) or ICMPv6 echo request with gopacket.
func icmpPacket(src, dst netip.Addr, data []byte) []byte {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1}
		err = gopacket.SerializeLayers(buf, opts, ip, icmp, gopacket.Payload(data))
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
		if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
			panic(err)
		}
		echo := &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1}
		err = gopacket.SerializeLayers(buf, opts, ip, icmp, echo, gopacket.Payload(data))
	}
	if err != nil {
		panic(err)
	}
	return bytes.Clone(buf.Bytes())
}

func udpPacket(src, dst netip.Addr, payload string) []byte {
	return pkttest.UDP(netip.AddrPortFrom(src, 1000), netip.AddrPortFrom(dst, 7), []byte(payload))
}

func tcpPacket(src, dst netip.Addr, payload string) []byte {
	return pkttest.TCP(pkttest.TCPSpec{Src: netip.AddrPortFrom(src, 1000), Dst: netip.AddrPortFrom(dst, 80),
		Seq: 1, Ack: 2, ACK: true, PSH: true, Payload: []byte(payload),
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)}}})
}

// flip returns a copy of pkt with bit b of byte i flipped.
func flip(pkt []byte, i int, b uint) []byte {
	out := bytes.Clone(pkt)
	out[i] ^= 1 << b
	return out
}

// zeroUDPSum returns a copy of a UDP packet with its checksum set to zero.
func zeroUDPSum(pkt []byte) []byte {
	out := bytes.Clone(pkt)
	off := 20
	if pkt[0]>>4 == 6 {
		off = 40
	}
	out[off+6], out[off+7] = 0, 0
	return out
}

// fragment returns a copy of an IPv4 packet with More Fragments set (and
// the header checksum fixed), its payload corrupted.
func fragment(pkt []byte) []byte {
	out := bytes.Clone(pkt)
	out[6] |= 0x20
	out[len(out)-1] ^= 0xff
	out[10], out[11] = 0, 0
	sum := uint32(0)
	for i := 0; i < 20; i += 2 {
		sum += uint32(out[i])<<8 | uint32(out[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	out[10], out[11] = byte(^sum>>8), byte(^sum)
	return out
}

func TestInspect(t *testing.T) {
	udp4, udp6 := udpPacket(src4, dst4, "hello"), udpPacket(src6, dst6, "hello")
	tcp4, tcp6 := tcpPacket(src4, dst4, "data"), tcpPacket(src6, dst6, "data")
	icmp4, icmp6 := icmpPacket(src4, dst4, []byte("ping")), icmpPacket(src6, dst6, []byte("ping"))
	for _, tc := range []struct {
		name    string
		pkt     []byte
		dst     netip.Addr
		verdict verdict
	}{
		{"udp4", udp4, dst4, verdictOK},
		{"udp6", udp6, dst6, verdictOK},
		{"tcp4", tcp4, dst4, verdictOK},
		{"tcp6", tcp6, dst6, verdictOK},
		{"icmp4", icmp4, dst4, verdictOK},
		{"icmp6", icmp6, dst6, verdictOK},
		{"udp4 without checksum", zeroUDPSum(udp4), dst4, verdictOK},
		{"udp6 without checksum", zeroUDPSum(udp6), dst6, verdictBadChecksum},
		{"udp4 payload bit", flip(udp4, len(udp4)-1, 3), dst4, verdictBadChecksum},
		{"udp6 payload bit", flip(udp6, len(udp6)-1, 0), dst6, verdictBadChecksum},
		{"tcp4 payload bit", flip(tcp4, len(tcp4)-2, 7), dst4, verdictBadChecksum},
		{"tcp6 header bit", flip(tcp6, 40+4, 1), dst6, verdictBadChecksum},
		{"icmp4 bit", flip(icmp4, len(icmp4)-1, 5), dst4, verdictBadChecksum},
		{"icmp6 bit", flip(icmp6, len(icmp6)-1, 5), dst6, verdictBadChecksum},
		{"ipv4 header bit", flip(udp4, 8, 0), dst4, verdictBadChecksum},                       // TTL
		{"ipv6 source bit", flip(udp6, 8, 0), dst6, verdictBadChecksum},                       // pseudo-header
		{"ipv4 fragment is not checked past IP", fragment(udp4), dst4, verdictOK},             //
		{"empty", nil, netip.Addr{}, verdictMalformed},                                        //
		{"version 5", append([]byte{0x50}, udp4[1:]...), netip.Addr{}, verdictMalformed},      //
		{"ipv4 truncated", udp4[:len(udp4)-1], netip.Addr{}, verdictMalformed},                //
		{"ipv6 truncated", udp6[:39], netip.Addr{}, verdictMalformed},                         //
		{"short udp", udp4[:20+4], netip.Addr{}, verdictMalformed},                            // total length says more
		{"tcp with bad data offset", flip(tcp4, 20+12, 7), dst4, verdictMalformed},            // offset beyond segment
		{"ipv6 payload length too long", flip(udp6, 4, 0), netip.Addr{}, verdictMalformed},    //
		{"ipv4 ihl 4", append([]byte{0x44}, udp4[1:]...), netip.Addr{}, verdictMalformed},     //
		{"ipv4 udp claims 4 bytes", shortenUDP(udp4), dst4, verdictMalformed},                 //
		{"ipv6 icmpv6 of 2 bytes", shortenV6(icmp6, 2), dst6, verdictMalformed},               //
		{"ipv6 unknown protocol", setNextHeader(udp6, 253), dst6, verdictOK},                  // RFC 3692 experiment
		{"ipv6 protocol 1 is not checked", setNextHeader(udp6, protoICMP), dst6, verdictOK},   //
		{"ipv4 protocol 58 is not checked", setProtocol4(udp4, protoICMPv6), dst4, verdictOK}, //
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, v := inspect(tc.pkt, true)
			if v != tc.verdict || (v != verdictMalformed && dst != tc.dst) {
				t.Fatalf("inspect = %v, %d; want %v, %d", dst, v, tc.dst, tc.verdict)
			}
		})
	}
}

// TestInspectWithoutSums: without the transport checksums, a flipped
// payload bit passes, and every other check stays.
func TestInspectWithoutSums(t *testing.T) {
	udp4, tcp4 := udpPacket(src4, dst4, "hello"), tcpPacket(src4, dst4, "data")
	tcp6, icmp6 := tcpPacket(src6, dst6, "data"), icmpPacket(src6, dst6, []byte("ping"))
	for _, tc := range []struct {
		name    string
		pkt     []byte
		verdict verdict
	}{
		{"tcp4 payload bit", flip(tcp4, len(tcp4)-2, 7), verdictOK},
		{"tcp6 header bit", flip(tcp6, 40+4, 1), verdictOK},
		{"udp4 payload bit", flip(udp4, len(udp4)-1, 3), verdictOK},
		{"icmp6 bit", flip(icmp6, len(icmp6)-1, 5), verdictOK},
		{"ipv4 header checksum", flip(tcp4, 10, 0), verdictBadChecksum},
		{"tcp with bad data offset", flip(tcp4, 20+12, 7), verdictMalformed},
		{"short udp", udp4[:20+4], verdictMalformed},
	} {
		if _, v := inspect(tc.pkt, false); v != tc.verdict {
			t.Errorf("%s: verdict %d, want %d", tc.name, v, tc.verdict)
		}
	}
}

// shortenUDP returns an IPv4 packet holding a 4-byte UDP "header".
func shortenUDP(pkt []byte) []byte {
	out := bytes.Clone(pkt[:24])
	out[2], out[3] = 0, 24
	return refix4(out)
}

// shortenV6 returns an IPv6 packet keeping n bytes of its payload.
func shortenV6(pkt []byte, n int) []byte {
	out := bytes.Clone(pkt[:40+n])
	out[4], out[5] = 0, byte(n)
	return out
}

func setNextHeader(pkt []byte, nh byte) []byte {
	out := bytes.Clone(pkt)
	out[6] = nh
	return out
}

func setProtocol4(pkt []byte, p byte) []byte {
	out := bytes.Clone(pkt)
	out[9] = p
	return refix4(out)
}

// refix4 recomputes an IPv4 header checksum.
func refix4(out []byte) []byte {
	out[10], out[11] = 0, 0
	sum := uint32(0)
	for i := 0; i < 20; i += 2 {
		sum += uint32(out[i])<<8 | uint32(out[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	out[10], out[11] = byte(^sum>>8), byte(^sum)
	return out
}

// TestInspectPrefixes: no truncation of a valid packet panics, and none
// that cuts into what the IP header announces passes.
func TestInspectPrefixes(t *testing.T) {
	for _, pkt := range [][]byte{
		udpPacket(src4, dst4, "hello"), udpPacket(src6, dst6, "hello"),
		tcpPacket(src4, dst4, "x"), tcpPacket(src6, dst6, "x"),
		icmpPacket(src4, dst4, nil), icmpPacket(src6, dst6, nil),
	} {
		for n := range len(pkt) {
			if _, v := inspect(pkt[:n], true); v != verdictMalformed {
				t.Fatalf("%x (prefix %d of %d bytes): verdict %d, want malformed", pkt[:n], n, len(pkt), v)
			}
		}
	}
}

func TestInspectAllocs(t *testing.T) {
	pkt := tcpPacket(src6, dst6, "data")
	if a := testing.AllocsPerRun(100, func() { inspect(pkt, true) }); a != 0 {
		t.Fatalf("inspect allocates %v times", a)
	}
}

func FuzzInspect(f *testing.F) {
	for _, p := range [][]byte{
		udpPacket(src4, dst4, "hello"), udpPacket(src6, dst6, "hello"),
		tcpPacket(src4, dst4, "data"), tcpPacket(src6, dst6, "data"),
		icmpPacket(src4, dst4, []byte("ping")), icmpPacket(src6, dst6, []byte("ping")),
		fragment(udpPacket(src4, dst4, "frag")), zeroUDPSum(udpPacket(src4, dst4, "z")),
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		dst, v := inspect(pkt, true)
		if v == verdictMalformed {
			return
		}
		// A packet that is not malformed has the destination of its header.
		var want netip.Addr
		switch pkt[0] >> 4 {
		case 4:
			want = netip.AddrFrom4([4]byte(pkt[16:20]))
		case 6:
			want = netip.AddrFrom16([16]byte(pkt[24:40]))
		default:
			t.Fatalf("version %d not malformed", pkt[0]>>4)
		}
		if dst != want {
			t.Fatalf("dst %v, header says %v", dst, want)
		}
		// For a plain TCP or UDP packet (no IPv4 options or fragments, no
		// IPv6 extension headers) the verdict agrees with a word-by-word
		// RFC 1071 sum.
		if ok, plain := refChecksumOK(pkt); plain && ok != (v == verdictOK) {
			t.Fatalf("inspect says %d for %x; the reference sum says valid=%v", v, pkt, ok)
		}
	})
}

// refChecksumOK checks the transport checksum of a plain TCP or UDP packet
// (and the IPv4 header checksum) with a straightforward RFC 1071 sum of
// big-endian 16-bit words. plain is false for other packets.
func refChecksumOK(pkt []byte) (ok, plain bool) {
	sum16 := func(parts ...[]byte) uint32 {
		var all []byte
		for _, p := range parts {
			all = append(all, p...)
		}
		if len(all)%2 == 1 {
			all = append(all, 0)
		}
		var s uint32
		for i := 0; i < len(all); i += 2 {
			s += uint32(all[i])<<8 | uint32(all[i+1])
		}
		for s>>16 != 0 {
			s = s&0xffff + s>>16
		}
		return s
	}
	var proto byte
	var seg, pseudo []byte
	switch {
	case len(pkt) >= 20 && pkt[0] == 0x45:
		total := int(pkt[2])<<8 | int(pkt[3])
		if total != len(pkt) || pkt[6]&0x3f != 0 || pkt[7] != 0 {
			return false, false
		}
		if sum16(pkt[:20]) != 0xffff {
			return false, true
		}
		proto, seg = pkt[9], pkt[20:]
		pseudo = append(append([]byte{}, pkt[12:20]...), 0, proto, byte(len(seg)>>8), byte(len(seg)))
	case len(pkt) >= 40 && pkt[0]>>4 == 6:
		if int(pkt[4])<<8|int(pkt[5]) != len(pkt)-40 {
			return false, false
		}
		proto, seg = pkt[6], pkt[40:]
		n := len(seg)
		pseudo = append(append([]byte{}, pkt[8:40]...), byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, proto)
	default:
		return false, false
	}
	switch {
	case proto == 6 && len(seg) >= 20 && int(seg[12]>>4)*4 >= 20 && int(seg[12]>>4)*4 <= len(seg):
	case proto == 17 && len(seg) >= 8 && !(seg[6] == 0 && seg[7] == 0):
	default:
		return false, false
	}
	return sum16(pseudo, seg) == 0xffff, true
}
