package wire

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Packets captured on the loopback interface of a Linux 6.18 host running
// an MPTCP (IPPROTO_MPTCP) connection, IP header first. Loopback leaves the
// TCP checksum as the partial pseudo-header sum of checksum offload, so
// those fields do not verify; the IPv4 header checksums do.
const (
	// SYN: MSS 65495, SACK-permitted + TS, NOP + WS 10, MP_CAPABLE v1 (H).
	capV4SYN = "4500004051c040004006eaf57f0000017f000001ad4eebb9180f3d5400000000b002ffd7fe340000" +
		"0204ffd70402080a74c3f903000000000103030a1e040101"
	// SYN-ACK: as the SYN, MP_CAPABLE with the listener's key.
	capV4SYNACK = "450000480000400040063cae7f0000017f000001ebb9ad4e93677246180f3d55d012ffcbfe3c0000" +
		"0204ffd70402080a0b4362ff74c3f9030103030a1e0c01013fdc75d2344a6b48"
	// Third ACK: NOP NOP TS, MP_CAPABLE with both keys (20 bytes).
	capV4ACK = "4500004851c140004006eaec7f0000017f000001ad4eebb9180f3d5593677247d0100040fe3c0000" +
		"0101080a74c3f9030b4362ff1e1401010137394bbaa93ef13fdc75d2344a6b48"
	// First data: NOP NOP TS, MP_CAPABLE with data length (22) + NOP NOP, "hello mptcp".
	capV4Data = "4500005751c240004006eadc7f0000017f000001ad4eebb9180f3d5593677247e0180040fe4b0000" +
		"0101080a74c3f9030b4362ff1e1601010137394bbaa93ef13fdc75d2344a6b48000b0101" +
		"68656c6c6f206d70746370"
	// Data: NOP NOP TS, DSS (64-bit DACK and DSN, 26 bytes) + NOP NOP, 30 bytes of "x".
	capV4DSS = "4500006e93af40004006a8d87f0000017f000001ebb9ad4e93677247180f3d60f0180040fe620000" +
		"0101080a0b4362ff74c3f9031e1a200fe86d62034fb6222ab4bb738ad42ee05800000001001e0101" +
		"787878787878787878787878787878787878787878787878787878787878"
	// DATA_FIN: NOP NOP TS, DSS with F flag + NOP NOP.
	capV4DataFIN = "4500005051c440004006eae17f0000017f000001ad4eebb9180f3d6093677265f0100040fe440000" +
		"0101080a74c3f9030b4362ff1e1a201fb4bb738ad42ee076e86d62034fb6222a0000000000010101"
	// IPv6 SYN over ::1.
	capV6SYN = "6003da0a002c06400000000000000000000000000000000100000000000000000000000000000001" +
		"e7fed1317d65a88000000000b002ffc400340000" +
		"0204ffc40402080ac2bf8431000000000103030a1e040101"
	// IPv6 data with DSS.
	capV6DSS = "600a4c25005a06400000000000000000000000000000000100000000000000000000000000000001" +
		"d131e7feb43aa5457d65a88cf018004000620000" +
		"0101080a63ab1ea3c2bf84311e1a200f417722c98426dbdb3f1a5d79b0b3ae1d00000001001e0101" +
		"787878787878787878787878787878787878787878787878787878787878"
)

var capturedPackets = []struct {
	name string
	hex  string
}{
	{"v4 SYN", capV4SYN}, {"v4 SYN-ACK", capV4SYNACK}, {"v4 ACK", capV4ACK}, {"v4 data", capV4Data},
	{"v4 DSS", capV4DSS}, {"v4 DATA_FIN", capV4DataFIN}, {"v6 SYN", capV6SYN}, {"v6 DSS", capV6DSS},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex literal: %v", err)
	}
	return b
}

// addrCmp lets cmp compare netip.Addr values.
var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// tcpOfPacket returns the addresses and TCP segment of a captured packet.
func tcpOfPacket(t testing.TB, pkt []byte) (src, dst netip.Addr, seg TCP) {
	t.Helper()
	if pkt[0]>>4 == 4 {
		ip := IPv4(pkt)
		if err := ip.Check(); err != nil {
			t.Fatal(err)
		}
		return ip.Src(), ip.Dst(), TCP(ip.Payload())
	}
	ip := IPv6(pkt)
	if err := ip.Check(); err != nil {
		t.Fatal(err)
	}
	return ip.Src(), ip.Dst(), TCP(ip.Payload())
}

func TestTCPFlagsString(t *testing.T) {
	tests := []struct {
		f    TCPFlags
		want string
	}{
		{0, "none"},
		{FlagSYN, "S"},
		{FlagSYN | FlagACK, "S."},
		{FlagFIN | FlagACK, "F."},
		{FlagRST, "R"},
		{FlagRST | FlagACK, "R."},
		{FlagPSH | FlagACK, "P."},
		{FlagACK, "."},
		{FlagFIN | FlagPSH | FlagACK, "FP."},
		{FlagSYN | FlagECE | FlagCWR, "SEW"},
		{FlagURG | FlagACK, ".U"},
		{0xff, "FSRP.UEW"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("TCPFlags(%#x).String() = %q, want %q", uint8(tt.f), got, tt.want)
		}
	}
	if !(FlagSYN | FlagACK).Has(FlagSYN) || (FlagSYN).Has(FlagSYN|FlagACK) {
		t.Error("Has gives wrong answers")
	}
}

func TestTCPViewCaptured(t *testing.T) {
	type fields struct {
		SrcPort, DstPort uint16
		Seq, Ack         uint32
		DataOffset       uint8
		HeaderLen        int
		Flags            TCPFlags
		Window           uint16
		Checksum         uint16
		Urgent           uint16
		Options          string
		Payload          string
	}
	tests := []struct {
		pkt  string
		want fields
	}{
		{capV4SYN, fields{44366, 60345, 0x180f3d54, 0, 11, 44, FlagSYN, 65495, 0xfe34, 0,
			"0204ffd70402080a74c3f903000000000103030a1e040101", ""}},
		{capV4DSS, fields{60345, 44366, 0x93677247, 0x180f3d60, 15, 60, FlagPSH | FlagACK, 64, 0xfe62, 0,
			"0101080a0b4362ff74c3f9031e1a200fe86d62034fb6222ab4bb738ad42ee05800000001001e0101",
			strings.Repeat("78", 30)}},
		{capV6SYN, fields{59390, 53553, 0x7d65a880, 0, 11, 44, FlagSYN, 65476, 0x0034, 0,
			"0204ffc40402080ac2bf8431000000000103030a1e040101", ""}},
	}
	for _, tt := range tests {
		_, _, seg := tcpOfPacket(t, unhex(t, tt.pkt))
		if err := seg.Check(); err != nil {
			t.Fatalf("Check: %v", err)
		}
		got := fields{seg.SrcPort(), seg.DstPort(), seg.Seq(), seg.Ack(), seg.DataOffset(), seg.HeaderLen(),
			seg.Flags(), seg.Window(), seg.Checksum(), seg.Urgent(),
			hex.EncodeToString(seg.Options()), hex.EncodeToString(seg.Payload())}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("fields (-want +got):\n%s", d)
		}
	}
}

func TestTCPCheck(t *testing.T) {
	_, _, syn := tcpOfPacket(t, unhex(t, capV4SYN))
	tests := []struct {
		name string
		seg  []byte
		want error
	}{
		{"captured", syn, nil},
		{"empty", nil, ErrTruncated},
		{"19 bytes", syn[:19], ErrTruncated},
		{"options cut", syn[:40], ErrTruncated},
		{"data offset 4", func() []byte { b := append([]byte(nil), syn[:20]...); b[12] = 4 << 4; return b }(), ErrBadLength},
		{"data offset 0", func() []byte { b := append([]byte(nil), syn[:20]...); b[12] = 0; return b }(), ErrBadLength},
		{"data offset 5 exact", func() []byte { b := append([]byte(nil), syn[:20]...); b[12] = 5 << 4; return b }(), nil},
		{"data offset 15 short", func() []byte { b := append([]byte(nil), syn...); b[12] = 15 << 4; return b }(), ErrTruncated},
	}
	for _, tt := range tests {
		err := TCP(tt.seg).Check()
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: Check() = %v, want %v", tt.name, err, tt.want)
		}
		var he *HeaderError
		if err != nil && (!errors.As(err, &he) || he.Proto != "TCP") {
			t.Errorf("%s: error %v is not a TCP *HeaderError", tt.name, err)
		}
	}
}

// Every truncated prefix of every captured TCP header fails to parse.
func TestTCPTruncatedPrefixes(t *testing.T) {
	for _, c := range capturedPackets {
		_, _, seg := tcpOfPacket(t, unhex(t, c.hex))
		var h TCPHeader
		for n := range seg.HeaderLen() {
			if err := TCP(seg[:n]).Check(); !errors.Is(err, ErrTruncated) {
				t.Errorf("%s: Check of %d-byte prefix = %v, want ErrTruncated", c.name, n, err)
			}
			if _, err := ParseTCPHeader(seg[:n], &h); err == nil {
				t.Errorf("%s: ParseTCPHeader of %d-byte prefix succeeded", c.name, n)
			}
		}
		if _, err := ParseTCPHeader(seg, &h); err != nil {
			t.Errorf("%s: ParseTCPHeader: %v", c.name, err)
		}
	}
}

func TestTCPSetters(t *testing.T) {
	seg := TCP(make([]byte, 24))
	seg[12] = 6 << 4
	seg.SetSrcPort(1)
	seg.SetDstPort(0xfffe)
	seg.SetSeq(0xdeadbeef)
	seg.SetAck(7)
	seg.SetFlags(FlagSYN | FlagACK)
	seg.SetWindow(0x1234)
	seg.SetUrgent(9)
	want := "0001fffe" + "deadbeef" + "00000007" + "6012" + "1234" + "0000" + "0009" + "00000000"
	if got := hex.EncodeToString(seg); got != want {
		t.Errorf("bytes = %s, want %s", got, want)
	}
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	if seg.ChecksumValid(src, dst) {
		t.Error("zero checksum reported valid")
	}
	seg.SetChecksum(src, dst)
	if !seg.ChecksumValid(src, dst) {
		t.Error("checksum invalid after SetChecksum")
	}
	if seg.ChecksumValid(src, netip.MustParseAddr("198.51.100.3")) {
		t.Error("checksum valid for another destination")
	}
}

func TestParseTCPHeaderCaptured(t *testing.T) {
	pkt := unhex(t, capV4SYN)
	_, _, seg := tcpOfPacket(t, pkt)
	var h TCPHeader
	n, err := ParseTCPHeader(seg, &h)
	if err != nil {
		t.Fatal(err)
	}
	want := TCPHeader{
		SrcPort: 44366, DstPort: 60345, Seq: 0x180f3d54, Flags: FlagSYN, Window: 65495,
		Options: TCPOptions{
			HasMSS: true, MSS: 65495, SACKPermitted: true,
			HasTimestamps: true, TSVal: 0x74c3f903,
			HasWindowScale: true, WindowScale: 10,
			NumMPTCP: 1, MPTCP: [MaxMPTCPOptions][]byte{{0x1e, 0x04, 0x01, 0x01}},
		},
	}
	if n != 44 {
		t.Errorf("header length %d, want 44", n)
	}
	if d := cmp.Diff(want, h); d != "" {
		t.Errorf("header (-want +got):\n%s", d)
	}
	// The rebuilt header is byte-identical but for the checksum.
	got := h.Append(nil)
	wantBytes := append([]byte(nil), seg[:44]...)
	wantBytes[16], wantBytes[17] = 0, 0
	if d := cmp.Diff(wantBytes, got); d != "" {
		t.Errorf("Append (-want +got):\n%s", d)
	}
	// A malformed option makes the header parse fail and zeroes h.
	bad := append([]byte(nil), seg[:44]...)
	bad[21] = 5 // MSS length 5
	if _, err := ParseTCPHeader(bad, &h); !errors.Is(err, ErrBadLength) {
		t.Errorf("bad MSS length: err = %v, want ErrBadLength", err)
	}
	if d := cmp.Diff(TCPHeader{}, h); d != "" {
		t.Errorf("header not zeroed after error:\n%s", d)
	}
}

func TestTCPHeaderAppend(t *testing.T) {
	tests := []struct {
		name string
		h    TCPHeader
		want string
	}{
		{"bare ACK", TCPHeader{SrcPort: 80, DstPort: 1234, Seq: 1, Ack: 2, Flags: FlagACK, Window: 512},
			"0050" + "04d2" + "00000001" + "00000002" + "5010" + "0200" + "0000" + "0000"},
		{"SYN with MSS", TCPHeader{SrcPort: 1, DstPort: 2, Flags: FlagSYN, Window: 65535, Urgent: 3,
			Options: TCPOptions{HasMSS: true, MSS: 1460}},
			"00010002" + "00000000" + "00000000" + "6002" + "ffff" + "0000" + "0003" + "020405b4"},
	}
	for _, tt := range tests {
		got := tt.h.Append([]byte{0xaa})
		if len(got)-1 != tt.h.Len() {
			t.Errorf("%s: Append wrote %d bytes, Len() = %d", tt.name, len(got)-1, tt.h.Len())
		}
		if got[0] != 0xaa {
			t.Errorf("%s: Append overwrote the prefix", tt.name)
		}
		if g := hex.EncodeToString(got[1:]); g != tt.want {
			t.Errorf("%s: Append = %s, want %s", tt.name, g, tt.want)
		}
	}
}

// tcpHeaderCases are headers with option sets used by the round-trip and
// oracle tests.
func tcpHeaderCases() []TCPHeader {
	mpc := []byte{0x1e, 0x04, 0x01, 0x01}
	dss := []byte{0x1e, 0x14, 0x20, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 100, 0xab, 0xcd}
	return []TCPHeader{
		{SrcPort: 443, DstPort: 50000, Seq: 100, Ack: 200, Flags: FlagACK, Window: 1000},
		{SrcPort: 1, DstPort: 2, Seq: 0xffffffff, Flags: FlagSYN, Window: 64240, Options: TCPOptions{
			HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 1, TSEcr: 0,
			HasWindowScale: true, WindowScale: 7, NumMPTCP: 1, MPTCP: [MaxMPTCPOptions][]byte{mpc}}},
		{SrcPort: 3, DstPort: 4, Seq: 5, Ack: 6, Flags: FlagPSH | FlagACK | FlagECE | FlagCWR, Window: 9, Urgent: 1,
			Options: TCPOptions{HasTimestamps: true, TSVal: 7, TSEcr: 8, NumMPTCP: 1, MPTCP: [MaxMPTCPOptions][]byte{dss}}},
		{SrcPort: 5, DstPort: 6, Flags: FlagACK, Options: TCPOptions{HasTimestamps: true, TSVal: 1, TSEcr: 2,
			NumSACKBlocks: 3, SACKBlocks: [MaxSACKBlocks]SACKBlock{{1, 2}, {3, 4}, {5, 6}}}},
		{SrcPort: 7, DstPort: 8, Flags: FlagFIN | FlagACK, Options: TCPOptions{SACKPermitted: true,
			NumUnknown: 1, Unknown: [MaxUnknownOptions][]byte{{34, 10, 1, 2, 3, 4, 5, 6, 7, 8}}}},
	}
}

func TestTCPHeaderRoundTrip(t *testing.T) {
	for i, h := range tcpHeaderCases() {
		b := h.Append(nil)
		if len(b) != h.Len() || len(b)%4 != 0 {
			t.Errorf("case %d: len(Append) = %d, Len() = %d", i, len(b), h.Len())
		}
		var got TCPHeader
		n, err := ParseTCPHeader(b, &got)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if n != len(b) {
			t.Errorf("case %d: parsed header length %d, wrote %d", i, n, len(b))
		}
		if d := cmp.Diff(h, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("case %d: round trip (-want +got):\n%s", i, d)
		}
	}
}

// gopacketOptions converts our options to gopacket's list, in the order of
// the bytes we emit.
func gopacketOptions(t *testing.T, b []byte) []layers.TCPOption {
	t.Helper()
	var out []layers.TCPOption
	it := NewOptionIter(b)
	for kind, opt, ok := it.Next(); ok; kind, opt, ok = it.Next() {
		o := layers.TCPOption{OptionType: layers.TCPOptionKind(kind), OptionLength: 1}
		if kind > OptionKindNOP {
			o.OptionLength = opt[1]
			o.OptionData = opt[2:]
		}
		out = append(out, o)
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	return out
}

// Packets built here decode with gopacket to the same fields and a valid
// checksum, for IPv4 and IPv6.
func TestTCPAgainstGopacket(t *testing.T) {
	v4src, v4dst := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.4.5.6")
	v6src, v6dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:ffff::2")
	payload := []byte("the quick brown fox jumps over the lazy dog!")
	for i, h := range tcpHeaderCases() {
		for _, v6 := range []bool{false, true} {
			var pkt []byte
			src, dst := v4src, v4dst
			segLen := h.Len() + len(payload)
			if v6 {
				src, dst = v6src, v6dst
				ih := IPv6Header{PayloadLen: segLen, NextHeader: IPProtocolTCP, HopLimit: 64, Src: src, Dst: dst}
				pkt = ih.Append(pkt)
			} else {
				ih := IPv4Header{ID: uint16(i), DontFragment: true, TTL: 64, Protocol: IPProtocolTCP, Src: src, Dst: dst, PayloadLen: segLen}
				pkt = ih.Append(pkt)
			}
			off := len(pkt)
			pkt = h.Append(pkt)
			pkt = append(pkt, payload...)
			TCP(pkt[off:]).SetChecksum(src, dst)

			first := layers.LayerTypeIPv4
			if v6 {
				first = layers.LayerTypeIPv6
			}
			p := gopacket.NewPacket(pkt, first, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("case %d v6=%v: gopacket: %v", i, v6, el.Error())
			}
			g, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if !ok {
				t.Fatalf("case %d: gopacket found no TCP layer", i)
			}
			if err := g.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
				t.Fatal(err)
			}
			err, res := g.VerifyChecksum()
			if err != nil || !res.Valid {
				t.Errorf("case %d v6=%v: gopacket says checksum invalid (%v, %+v)", i, v6, err, res)
			}
			type fields struct {
				SrcPort, DstPort uint16
				Seq, Ack         uint32
				DataOffset       uint8
				FIN, SYN, RST    bool
				PSH, ACK, URG    bool
				ECE, CWR         bool
				Window, Urgent   uint16
				Options          []layers.TCPOption
				Payload          []byte
			}
			want := fields{h.SrcPort, h.DstPort, h.Seq, h.Ack, uint8(h.Len() / 4),
				h.Flags.Has(FlagFIN), h.Flags.Has(FlagSYN), h.Flags.Has(FlagRST),
				h.Flags.Has(FlagPSH), h.Flags.Has(FlagACK), h.Flags.Has(FlagURG),
				h.Flags.Has(FlagECE), h.Flags.Has(FlagCWR), h.Window, h.Urgent,
				gopacketOptions(t, h.Options.Append(nil)), payload}
			got := fields{uint16(g.SrcPort), uint16(g.DstPort), g.Seq, g.Ack, g.DataOffset,
				g.FIN, g.SYN, g.RST, g.PSH, g.ACK, g.URG, g.ECE, g.CWR, g.Window, g.Urgent,
				g.Options, g.Payload}
			opt := cmpopts.IgnoreFields(layers.TCPOption{}, "OptionMultipath", "OptionMPTCPMpCapable",
				"OptionMPTCPDss", "OptionMPTCPMpJoin", "OptionMPTCPMpPrio", "OptionMPTCPAddAddr",
				"OptionMTCPRemAddr", "OptionMTCPMPFastClose", "OptionMPTCPMPTcpRst", "OptionMTCPMPFail")
			if d := cmp.Diff(want, got, opt, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("case %d v6=%v: gopacket view (-want +got):\n%s", i, v6, d)
			}
			if err := VerifyChecksums(pkt); err != nil {
				t.Errorf("case %d v6=%v: VerifyChecksums: %v", i, v6, err)
			}
		}
	}
}

// Segments serialized by gopacket parse here to the same fields, and
// gopacket's checksums verify here.
func TestTCPFromGopacket(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		g := &layers.TCP{
			SrcPort: 8080, DstPort: 40000, Seq: 123456789, Ack: 987654321,
			SYN: true, ACK: true, ECE: true, Window: 29200, Urgent: 0,
			Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
				{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 9, 0, 0, 0, 8}},
				{OptionType: layers.TCPOptionKindMultipathTCP, OptionLength: 12, OptionData: []byte{0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}},
			},
		}
		var nl gopacket.SerializableLayer
		var src, dst netip.Addr
		if v6 {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
				SrcIP: []byte(netip.MustParseAddr("fe80::1").AsSlice()), DstIP: []byte(netip.MustParseAddr("fe80::2").AsSlice())}
			if err := g.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			nl, src, dst = ip, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
		} else {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
				SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{192, 0, 2, 2}}
			if err := g.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			nl, src, dst = ip, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
		}
		buf := gopacket.NewSerializeBuffer()
		payload := gopacket.Payload("odd-length payload")
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, nl, g, payload); err != nil {
			t.Fatal(err)
		}
		pkt := buf.Bytes()
		gotSrc, gotDst, seg := tcpOfPacket(t, pkt)
		if gotSrc != src || gotDst != dst {
			t.Errorf("v6=%v: addresses %v > %v, want %v > %v", v6, gotSrc, gotDst, src, dst)
		}
		if !seg.ChecksumValid(src, dst) {
			t.Errorf("v6=%v: gopacket's TCP checksum does not verify here", v6)
		}
		if c := TCPChecksum(src, dst, seg); c != seg.Checksum() {
			t.Errorf("v6=%v: TCPChecksum = %#04x, gopacket wrote %#04x", v6, c, seg.Checksum())
		}
		if err := VerifyChecksums(pkt); err != nil {
			t.Errorf("v6=%v: VerifyChecksums: %v", v6, err)
		}
		var h TCPHeader
		if _, err := ParseTCPHeader(seg, &h); err != nil {
			t.Fatal(err)
		}
		want := TCPHeader{SrcPort: 8080, DstPort: 40000, Seq: 123456789, Ack: 987654321,
			Flags: FlagSYN | FlagACK | FlagECE, Window: 29200,
			Options: TCPOptions{HasMSS: true, MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true,
				HasTimestamps: true, TSVal: 9, TSEcr: 8,
				NumMPTCP: 1, MPTCP: [MaxMPTCPOptions][]byte{{30, 12, 0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}}}}
		if d := cmp.Diff(want, h); d != "" {
			t.Errorf("v6=%v: parsed (-want +got):\n%s", v6, d)
		}
		if got := string(seg.Payload()); got != string(payload) {
			t.Errorf("v6=%v: payload %q", v6, got)
		}
	}
}

func TestTCPHeaderAllocs(t *testing.T) {
	_, _, seg := tcpOfPacket(t, unhex(t, capV4DSS))
	var h TCPHeader
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseTCPHeader(seg, &h); err != nil {
			t.Fatal(err)
		}
		buf = h.Append(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("ParseTCPHeader + Append: %v allocs, want 0", allocs)
	}
}

func FuzzTCP(f *testing.F) {
	for _, c := range capturedPackets {
		pkt := unhex(f, c.hex)
		_, _, seg := tcpOfPacket(f, pkt)
		f.Add([]byte(seg))
	}
	for _, h := range tcpHeaderCases() {
		f.Add(h.Append(nil))
	}
	f.Add([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		seg := TCP(b)
		if err := seg.Check(); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("Check error %v is not a *HeaderError", err)
			}
			return
		}
		// Accessors cannot panic after Check.
		_ = seg.SrcPort() + seg.DstPort() + seg.Window() + seg.Checksum() + seg.Urgent()
		_ = seg.Seq() + seg.Ack()
		_ = seg.Flags().String()
		if len(seg.Options())+TCPMinHeaderLen+len(seg.Payload()) != len(b) || seg.HeaderLen() != TCPMinHeaderLen+len(seg.Options()) {
			t.Fatalf("options %d + payload %d do not add up to %d", len(seg.Options()), len(seg.Payload()), len(b))
		}
		var h TCPHeader
		if _, err := ParseTCPHeader(b, &h); err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("ParseTCPHeader error %v is not an *OptionError", err)
			}
			return
		}
		out := h.Append(nil)
		if len(out) != h.Len() || len(out) > TCPMaxHeaderLen || len(out)%4 != 0 {
			t.Fatalf("Append wrote %d bytes, Len() = %d", len(out), h.Len())
		}
		var h2 TCPHeader
		if _, err := ParseTCPHeader(out, &h2); err != nil {
			t.Fatalf("re-parse of %x: %v", out, err)
		}
		want := h
		want.Options = fittedOptions(&h.Options)
		if d := cmp.Diff(want, h2, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}
