package sim_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/sim"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// bottleneck builds a multi-homed client with two paths to a server that
// share the link r1→r2:
//
//	client eth0 10.1.0.1 ─┐
//	                      r1 ══(5 Mbit/s, 10ms)══ r2 ── server 10.3.0.1, 2001:db8:3::1
//	client eth1 10.2.0.1 ─┘
type bottleneck struct {
	net            *sim.Network
	client, server *testNode
	c0, c1, s0     *sim.Interface
	r1, r2         *sim.Router
	shared         *sim.Link
}

func newBottleneck(t testing.TB, seed uint64) *bottleneck {
	t.Helper()
	b := &bottleneck{net: sim.New(sim.Config{Seed: seed}), client: &testNode{}, server: &testNode{}}
	n := b.net
	ch := n.AddHost("client", b.client)
	sh := n.AddHost("server", b.server)
	b.c0 = ch.AddInterface("eth0", pfx("10.1.0.1/24"), pfx("2001:db8:1::1/64"))
	b.c1 = ch.AddInterface("eth1", pfx("10.2.0.1/24"))
	b.s0 = sh.AddInterface("eth0", pfx("10.3.0.1/24"), pfx("2001:db8:3::1/64"))
	b.r1, b.r2 = n.AddRouter("r1"), n.AddRouter("r2")
	r1a := b.r1.AddInterface("a", pfx("10.1.0.254/24"), pfx("2001:db8:1::fe/64"))
	r1b := b.r1.AddInterface("b", pfx("10.2.0.254/24"))
	r1c := b.r1.AddInterface("core")
	r2c := b.r2.AddInterface("core")
	r2s := b.r2.AddInterface("s", pfx("10.3.0.254/24"), pfx("2001:db8:3::fe/64"))
	fast := sim.Symmetric(impair.Config{Rate: 100_000_000, Delay: time.Millisecond})
	mustConnect(t, n, b.c0, r1a, fast)
	mustConnect(t, n, b.c1, r1b, fast)
	mustConnect(t, n, r2s, b.s0, fast)
	b.shared = mustConnect(t, n, r1c, r2c, sim.Symmetric(impair.Config{Rate: 5_000_000, Delay: 10 * time.Millisecond, QueuePackets: 100}))
	for _, r := range []struct {
		r   *sim.Router
		dst string
		via *sim.Interface
	}{
		{b.r1, "10.3.0.0/16", r1c}, {b.r1, "2001:db8:3::/48", r1c},
		{b.r2, "10.0.0.0/8", r2c}, {b.r2, "2001:db8::/32", r2c},
	} {
		if err := r.r.AddRoute(pfx(r.dst), r.via); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func mustConnect(t testing.TB, n *sim.Network, a, b *sim.Interface, cfg sim.LinkConfig) *sim.Link {
	t.Helper()
	l, err := n.Connect(a, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSharedBottleneck(t *testing.T) {
	b := newBottleneck(t, 1)
	srv := netip.MustParseAddrPort("10.3.0.1:443")
	srv6 := netip.MustParseAddrPort("[2001:db8:3::1]:443")
	// Both client interfaces send 1000-byte packets at once: 10 each.
	for i := range 10 {
		b.client.sendAt(t0, b.c0, netip.MustParseAddrPort("10.1.0.1:1"), srv, fmt.Sprintf("a%02d%0969d", i, 0))
		b.client.sendAt(t0, b.c1, netip.MustParseAddrPort("10.2.0.1:2"), srv, fmt.Sprintf("b%02d%0969d", i, 0))
	}
	b.client.sendAt(t0, b.c0, netip.MustParseAddrPort("[2001:db8:1::1]:3"), srv6, "v6")
	b.server.echo = true
	b.net.Run()

	if len(b.server.got) != 21 {
		t.Fatalf("server received %d packets, want 21", len(b.server.got))
	}
	// Each client link takes 80µs per packet; the bottleneck 1.6ms. The
	// bottleneck serializes the 20 IPv4 packets back to back, interleaved
	// in the order they reached r1; the IPv6 one (48 bytes) comes last.
	var prev time.Duration
	as, bs := 0, 0
	for i, r := range b.server.got[:20] {
		if r.TTL != 62 {
			t.Fatalf("packet %d TTL %d, want 62 after two routers", i, r.TTL)
		}
		if i > 0 && r.At-prev != 1600*time.Microsecond {
			t.Fatalf("packets %d and %d arrived %v apart, want 1.6ms (bottleneck serialization)", i-1, i, r.At-prev)
		}
		prev = r.At
		switch r.Payload[0] {
		case 'a':
			as++
		case 'b':
			bs++
		}
	}
	if as != 10 || bs != 10 {
		t.Fatalf("%d and %d packets per path", as, bs)
	}
	if first := b.server.got[0].At; first != 80*time.Microsecond+time.Millisecond+1600*time.Microsecond+10*time.Millisecond+80*time.Microsecond+time.Millisecond {
		t.Fatalf("first arrival at %v", first)
	}
	if last := b.server.got[20]; last.Payload != "v6" || last.TTL != 62 {
		t.Fatalf("last packet %+v", last)
	}
	st := b.shared.AB().Stats()
	if st.DeliveredPackets != 21 || st.MaxQueuePackets < 10 {
		t.Fatalf("bottleneck stats %+v", st)
	}
	// The echoes come back along the routes to each client address, and
	// the client (weak host) takes them whatever interface they arrive on.
	if len(b.client.got) != 21 {
		t.Fatalf("client received %d echoes", len(b.client.got))
	}
	perNIC := map[string]int{}
	for _, r := range b.client.got {
		perNIC[r.NIC]++
	}
	if diff := cmp.Diff(map[string]int{"eth0": 11, "eth1": 10}, perNIC); diff != "" {
		t.Fatalf("echoes per interface (-want +got):\n%s", diff)
	}
	for _, r := range []*sim.Router{b.r1, b.r2} {
		if rs := r.Stats(); rs.Forwarded != 42 { // 21 each way
			t.Fatalf("%s stats %+v", r.Name(), rs)
		}
	}
}

func TestRouterDrops(t *testing.T) {
	b := newBottleneck(t, 1)
	src := netip.MustParseAddrPort("10.1.0.1:1")
	b.client.sendAt(t0, b.c0, src, netip.MustParseAddrPort("192.0.2.1:9"), "no route")
	b.client.sendAt(t0, b.c0, src, netip.MustParseAddrPort("10.1.0.254:9"), "for r1")
	expiring := pkttest.UDP(src, netip.MustParseAddrPort("10.3.0.1:9"), []byte("ttl"))
	expiring[8] = 2 // expires at r2
	setIPv4Checksum(expiring)
	b.client.sendRawAt(t0, b.c0, expiring)
	b.client.sendRawAt(t0, b.c0, []byte{0x45, 0, 0}) // malformed
	badSum := pkttest.UDP(src, netip.MustParseAddrPort("10.3.0.1:9"), []byte("bad"))
	badSum[11] ^= 1
	b.client.sendRawAt(t0, b.c0, badSum)
	b.net.Run()
	if rs := b.r1.Stats(); rs.NoRoute != 1 || rs.Local != 1 || rs.Malformed != 1 || rs.BadChecksum != 1 || rs.Forwarded != 1 {
		t.Fatalf("r1 stats %+v", rs)
	}
	if rs := b.r2.Stats(); rs.TTLExceeded != 1 || rs.Forwarded != 0 {
		t.Fatalf("r2 stats %+v", rs)
	}
	if len(b.server.got) != 0 {
		t.Fatalf("server received %v", b.server.payloads())
	}
}

func TestLongestPrefixMatch(t *testing.T) {
	n := sim.New(sim.Config{})
	r := n.AddRouter("r")
	p := []*sim.Interface{r.AddInterface("p0", pfx("192.168.1.1/24")), r.AddInterface("p1"), r.AddInterface("p2"),
		r.AddInterface("p3"), r.AddInterface("p4")}
	routes := []struct {
		dst string
		via int
	}{
		{"0.0.0.0/0", 1},
		{"10.0.0.0/8", 2},
		{"10.1.0.0/16", 3},
		{"10.1.2.0/24", 4},
		{"10.1.2.0/24", 1}, // same prefix: the first one added wins
		{"10.1.2.3/32", 2},
		{"::/0", 3},
		{"2001:db8::/32", 4},
		{"10.200.0.0/9", 4}, // masked to 10.128.0.0/9
	}
	for _, rt := range routes {
		if err := r.AddRoute(pfx(rt.dst), p[rt.via]); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		dst  string
		want int
	}{
		{"10.1.2.3", 2},
		{"10.1.2.4", 4},
		{"10.1.3.1", 3},
		{"10.2.0.1", 2},
		{"10.128.0.1", 4},
		{"11.0.0.1", 1},
		{"192.168.1.77", 0}, // connected
		{"2001:db8::1", 4},
		{"2001:db9::1", 3},
	}
	for _, tc := range tests {
		if got := r.Lookup(netip.MustParseAddr(tc.dst)); got != p[tc.want] {
			t.Errorf("Lookup(%s) = %v, want %v", tc.dst, got, p[tc.want])
		}
	}
	// Removing the connected address removes its route: the default wins.
	p[0].RemoveAddr(pfx("192.168.1.1/24"))
	if got := r.Lookup(netip.MustParseAddr("192.168.1.77")); got != p[1] {
		t.Errorf("after RemoveAddr: Lookup = %v, want p1", got)
	}
	p[0].AddAddr(pfx("192.168.1.1/24"))
	if got := r.Lookup(netip.MustParseAddr("192.168.1.77")); got != p[0] {
		t.Errorf("after AddAddr: Lookup = %v, want p0", got)
	}

	other := n.AddRouter("other").AddInterface("x")
	if err := r.AddRoute(pfx("10.0.0.0/8"), other); !errors.Is(err, sim.ErrRoute) {
		t.Errorf("route via another router's interface: %v", err)
	}
	if err := r.AddRoute(netip.Prefix{}, p[1]); !errors.Is(err, sim.ErrRoute) {
		t.Errorf("invalid prefix: %v", err)
	}
	if err := r.AddRoute(pfx("10.0.0.0/8"), nil); !errors.Is(err, sim.ErrRoute) {
		t.Errorf("nil interface: %v", err)
	}
	if r.Name() != "r" || len(r.Interfaces()) != 5 || len(n.Routers()) != 2 {
		t.Error("router accessors")
	}
}
