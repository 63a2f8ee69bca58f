package middlebox_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
)

var public = netip.MustParseAddr("203.0.113.1")

func mustNAT(t *testing.T, cfg middlebox.NATConfig) *middlebox.NAT {
	t.Helper()
	n, err := middlebox.NewNAT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// endpoints returns the source and destination of a TCP or UDP packet.
func endpoints(t *testing.T, pkt []byte) (src, dst netip.AddrPort) {
	t.Helper()
	d := decode(t, pkt)
	var s, ds netip.Addr
	if d.IPv4 != nil {
		s, _ = netip.AddrFromSlice(d.IPv4.SrcIP)
		ds, _ = netip.AddrFromSlice(d.IPv4.DstIP)
	} else {
		s, _ = netip.AddrFromSlice(d.IPv6.SrcIP)
		ds, _ = netip.AddrFromSlice(d.IPv6.DstIP)
	}
	switch {
	case d.TCP != nil:
		return netip.AddrPortFrom(s, uint16(d.TCP.SrcPort)), netip.AddrPortFrom(ds, uint16(d.TCP.DstPort))
	case d.UDP != nil:
		return netip.AddrPortFrom(s, uint16(d.UDP.SrcPort)), netip.AddrPortFrom(ds, uint16(d.UDP.DstPort))
	}
	t.Fatal("not TCP or UDP")
	return
}

func TestNAT(t *testing.T) {
	n := mustNAT(t, middlebox.NATConfig{Inside: netip.MustParsePrefix("10.0.0.0/24"), Public: public, PortMin: 5000, PortMax: 5002})
	cli2 := netip.MustParseAddrPort("10.0.0.6:40001")
	other := netip.MustParseAddrPort("192.0.2.9:53")
	pub := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(public, port) }
	tcp := func(src, dst netip.AddrPort, payload string) []byte {
		return pkttest.TCP(pkttest.TCPSpec{Src: src, Dst: dst, Seq: 1, Ack: 2, ACK: true, Payload: []byte(payload),
			Options: []layers.TCPOption{nop, nop, ts}})
	}
	steps := []struct {
		name             string
		in               []byte
		wantSrc, wantDst netip.AddrPort // zero: dropped
	}{
		{"first flow out", tcp(cli, srv, "a"), pub(5000), srv},
		{"reply in", tcp(srv, pub(5000), "b"), srv, cli},
		{"second inside host", tcp(cli2, srv, "c"), pub(5001), srv},
		{"same endpoint, other destination: same mapping", tcp(cli, other, "d"), pub(5000), other},
		{"any outside host may use a mapping", tcp(other, pub(5001), "e"), other, cli2},
		{"UDP is mapped separately", pkttest.UDP(cli, srv, []byte("f")), pub(5002), srv},
		{"UDP reply", pkttest.UDP(srv, pub(5002), []byte("g")), srv, cli},
		{"no mapping", tcp(srv, pub(5002), "h"), netip.AddrPort{}, netip.AddrPort{}},
		{"TCP and UDP ports are separate", tcp(netip.MustParseAddrPort("10.0.0.7:1"), srv, "i"), pub(5002), srv},
		{"ports exhausted", tcp(netip.MustParseAddrPort("10.0.0.8:1"), srv, "i"), netip.AddrPort{}, netip.AddrPort{}},
		{"inside to inside passes", tcp(cli, cli2, "j"), cli, cli2},
		{"outside to outside passes", tcp(srv, other, "k"), srv, other},
		{"IPv6 passes", tcp(cli6, srv6, "l"), cli6, srv6},
	}
	for _, s := range steps {
		out := run(n, s.in)
		if !s.wantSrc.IsValid() {
			if len(out) != 0 {
				t.Fatalf("%s: passed, want dropped", s.name)
			}
			continue
		}
		if len(out) != 1 {
			t.Fatalf("%s: dropped", s.name)
		}
		src, dst := endpoints(t, out[0])
		if src != s.wantSrc || dst != s.wantDst {
			t.Fatalf("%s: %v → %v, want %v → %v", s.name, src, dst, s.wantSrc, s.wantDst)
		}
		checksumsOK(t, out[0])
		// Only addresses, ports and checksums change.
		for _, i := range diffBytes(s.in, out[0]) {
			ok := i == 10 || i == 11 || (i >= 12 && i < 20) || (i >= 20 && i < 24) || i == 36 || i == 37 || i == 26 || i == 27
			if !ok {
				t.Fatalf("%s: byte %d changed", s.name, i)
			}
		}
	}
	if m, ok := n.Mapping(6, cli); !ok || m != pub(5000) {
		t.Fatalf("Mapping(cli) = %v, %v", m, ok)
	}
	if _, ok := n.Mapping(6, srv); ok {
		t.Fatal("mapping for an outside endpoint")
	}
	if st := n.Stats(); st.Outbound != 5 || st.Inbound != 3 || st.Mappings != 4 || st.Dropped != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNATChecksumEdgeCases(t *testing.T) {
	n := mustNAT(t, middlebox.NATConfig{Inside: netip.MustParsePrefix("10.0.0.0/8"), Public: public})
	// A UDP datagram without checksum keeps none.
	u := pkttest.UDP(cli, srv, []byte("x"))
	u[26], u[27] = 0, 0
	out := run(n, u)
	if len(out) != 1 || out[0][26] != 0 || out[0][27] != 0 {
		t.Fatalf("UDP without checksum: % x", out)
	}
	// A corrupted segment stays detectably corrupted.
	c := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, ACK: true, Payload: []byte("payload")})
	c[len(c)-1] ^= 0x40
	out = run(n, c)
	if len(out) != 1 {
		t.Fatal("corrupted segment dropped")
	}
	if ok, err := pkttest.ChecksumsOK(out[0]); err != nil || ok {
		t.Fatalf("corrupted segment has a valid checksum after NAT (%v)", err)
	}
	// Not TCP or UDP, or not parseable: dropped when it leaves the inside.
	icmp := append([]byte(nil), u...)
	icmp[9] = 1
	if out := run(n, icmp); len(out) != 0 {
		t.Fatal("ICMP from inside passed")
	}
	short := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv})[:30]
	short[3] = 30
	if out := run(n, short); len(out) != 0 {
		t.Fatal("truncated TCP from inside passed")
	}
	if out := run(n, []byte{0x45, 0, 0}); len(out) != 1 {
		t.Fatal("malformed packet not passed")
	}
}

func TestNAT66(t *testing.T) {
	pub6 := netip.MustParseAddr("2001:db8:ffff::1")
	n := mustNAT(t, middlebox.NATConfig{Inside: netip.MustParsePrefix("2001:db8:1::/48"), Public: pub6})
	out := run(n, pkttest.TCP(pkttest.TCPSpec{Src: cli6, Dst: srv6, SYN: true}))
	if len(out) != 1 {
		t.Fatal("dropped")
	}
	src, _ := endpoints(t, out[0])
	if src != netip.AddrPortFrom(pub6, 1024) {
		t.Fatalf("source %v", src)
	}
	checksumsOK(t, out[0])
	back := run(n, pkttest.TCP(pkttest.TCPSpec{Src: srv6, Dst: src, SYN: true, ACK: true}))
	if len(back) != 1 {
		t.Fatal("reply dropped")
	}
	if _, dst := endpoints(t, back[0]); dst != cli6 {
		t.Fatalf("reply to %v", dst)
	}
	checksumsOK(t, back[0])
	if out := run(n, pkttest.UDP(cli, srv, nil)); len(out) != 1 {
		t.Fatal("IPv4 through a NAT66 not passed")
	}
}

func TestNATConfig(t *testing.T) {
	bad := []middlebox.NATConfig{
		{},
		{Inside: netip.MustParsePrefix("10.0.0.0/8")},
		{Inside: netip.MustParsePrefix("10.0.0.0/8"), Public: netip.MustParseAddr("2001:db8::1")},
		{Inside: netip.MustParsePrefix("10.0.0.0/8"), Public: netip.MustParseAddr("10.1.1.1")},
		{Inside: netip.MustParsePrefix("10.0.0.0/8"), Public: public, PortMin: 2000, PortMax: 1000},
	}
	for _, c := range bad {
		if _, err := middlebox.NewNAT(c); !errors.Is(err, middlebox.ErrNATConfig) {
			t.Errorf("NewNAT(%+v) = %v", c, err)
		}
	}
}
