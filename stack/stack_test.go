package stack_test

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// runUntil runs the network in steps of 100 ms until done reports true or
// limit of virtual time has passed.
func runUntil(tb testing.TB, n *sim.Network, limit time.Duration, done func() bool) {
	tb.Helper()
	end := n.Now().Add(limit)
	for !done() {
		if !n.Now().Before(end) {
			tb.Fatalf("not done after %v of virtual time", limit)
		}
		n.RunFor(100 * time.Millisecond)
	}
}

// TestTransfer opens a connection between two stacks, moves data both
// ways at once, closes and waits until both stacks have freed it.
func TestTransfer(t *testing.T) {
	fast := tcp.Config{TimeWait: 2 * time.Second}
	tests := []struct {
		name     string
		v6       bool
		link     impair.Config
		up, down int
	}{
		{"ipv4/ideal", false, impair.Config{}, 200_000, 150_000},
		{"ipv6/ideal", true, impair.Config{}, 200_000, 150_000},
		{"ipv4/100M-10ms", false, impair.Config{Rate: 100_000_000, Delay: 5 * time.Millisecond, QueuePackets: 100}, 1_000_000, 300_000},
		{"ipv6/100M-10ms", true, impair.Config{Rate: 100_000_000, Delay: 5 * time.Millisecond, QueuePackets: 100}, 300_000, 1_000_000},
		{"ipv4/loss3%", false, impair.Config{Rate: 20_000_000, Delay: 10 * time.Millisecond, Loss: 0.03, QueuePackets: 200}, 400_000, 200_000},
		{"ipv6/loss3%", true, impair.Config{Rate: 20_000_000, Delay: 10 * time.Millisecond, Loss: 0.03, QueuePackets: 200}, 200_000, 400_000},
		{"ipv4/reorder+dup", false, impair.Config{Delay: 3 * time.Millisecond, Reorder: 0.05, ReorderDelay: 2 * time.Millisecond, Duplicate: 0.02}, 300_000, 100_000},
		{"ipv4/tiny", false, impair.Config{Delay: time.Millisecond}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t, tt.v6, tt.link, fast)
			cli := &peer{src: randBytes(tt.up, 1)}
			srv := &peer{src: randBytes(tt.down, 2), closeAfter: true}
			var accepted *stack.Conn
			l, err := p.b.st.Listen(netip.AddrPortFrom(netip.Addr{}, 80), &stack.ListenOptions{
				OnEvent: srv.handler(),
				OnAccept: func(now time.Time, l *stack.Listener) {
					c, ok := l.Accept()
					if !ok {
						t.Error("OnAccept without a connection to accept")
					}
					accepted = c
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			at(p.net, func(now time.Time) {
				c, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 80), &stack.DialOptions{OnEvent: cli.handler()})
				if err != nil {
					t.Fatal(err)
				}
				cli.c = c
				cli.pump(now)
			})
			runUntil(t, p.net, 300*time.Second, func() bool {
				return p.a.st.NumConns() == 0 && p.b.st.NumConns() == 0 && cli.c != nil
			})
			if !bytes.Equal(srv.got.Bytes(), cli.src) {
				t.Errorf("server got %d bytes, want the client's %d", srv.got.Len(), len(cli.src))
			}
			if !bytes.Equal(cli.got.Bytes(), srv.src) {
				t.Errorf("client got %d bytes, want the server's %d", cli.got.Len(), len(srv.src))
			}
			if cli.err != nil || srv.err != nil {
				t.Errorf("errors: client %v, server %v", cli.err, srv.err)
			}
			if accepted == nil || accepted != srv.c {
				t.Errorf("accepted %p, server's connection %p", accepted, srv.c)
			}
			if !cli.c.Released() || !srv.c.Released() {
				t.Errorf("released: client %v, server %v", cli.c.Released(), srv.c.Released())
			}
			if !slices.Contains(cli.events, tcp.EventTimeWait) {
				t.Errorf("client events %v: no TIME-WAIT (it closed second)", cli.events)
			}
			for _, ev := range []tcp.EventKind{tcp.EventEstablished, tcp.EventEOF, tcp.EventClosed} {
				if !slices.Contains(cli.events, ev) || !slices.Contains(srv.events, ev) {
					t.Errorf("missing %v: client %v, server %v", ev, cli.events, srv.events)
				}
			}
			// Every segment one stack sent and the link delivered was
			// received by the other.
			as, bs := p.a.st.Stats(), p.b.st.Stats()
			ab, ba := p.link.AB().Stats(), p.link.BA().Stats()
			if as.SegmentsOut != ab.Packets || bs.PacketsIn != ab.DeliveredPackets || bs.SegmentsIn != bs.PacketsIn {
				t.Errorf("a→b: a sent %d, link took %d and delivered %d, b got %d packets, %d segments", as.SegmentsOut, ab.Packets, ab.DeliveredPackets, bs.PacketsIn, bs.SegmentsIn)
			}
			if bs.SegmentsOut != ba.Packets || as.SegmentsIn != ba.DeliveredPackets {
				t.Errorf("b→a: b sent %d, link took %d and delivered %d, a got %d", bs.SegmentsOut, ba.Packets, ba.DeliveredPackets, as.SegmentsIn)
			}
			for _, st := range []stack.Stats{as, bs} {
				if st.BadChecksum+st.Malformed+st.NoPort+st.ResetsSent+st.SendErrors+st.DroppedTooBig != 0 {
					t.Errorf("unexpected drops: %+v", st)
				}
			}
			if as.ActiveOpens != 1 || bs.PassiveOpens != 1 || as.ConnectionsFreed != 1 || bs.ConnectionsFreed != 1 {
				t.Errorf("opens/frees: a %+v, b %+v", as, bs)
			}
			if tt.link.Loss > 0 && cli.c.Info().TotalRetrans+srv.c.Info().TotalRetrans == 0 {
				t.Error("a lossy link caused no retransmission")
			}
			if err := l.Close(p.net.Now()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestMSS checks that the MSS fits the MTU of each family and NIC, on
// both the active and the passive side.
func TestMSS(t *testing.T) {
	tests := []struct {
		v6       bool
		mtu      int
		wantSend int // the payload of a full segment, 12 bytes of timestamps less than the MSS
	}{
		{false, 1500, 1460 - 12},
		{true, 1500, 1440 - 12},
		{false, 1280, 1240 - 12},
		{true, 1280, 1220 - 12},
	}
	for _, tt := range tests {
		p := newPair(t, tt.v6, impair.Config{MTU: tt.mtu, Delay: time.Millisecond}, tcp.Config{})
		cli, srv := &peer{src: randBytes(100_000, 3)}, &peer{src: randBytes(100_000, 4)}
		if _, err := p.b.st.Listen(netip.AddrPortFrom(p.bAddr, 443), &stack.ListenOptions{OnEvent: srv.handler()}); err != nil {
			t.Fatal(err)
		}
		at(p.net, func(now time.Time) {
			c, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 443), &stack.DialOptions{OnEvent: cli.handler()})
			if err != nil {
				t.Fatal(err)
			}
			cli.c = c
		})
		runUntil(t, p.net, 30*time.Second, func() bool { return cli.eof && srv.eof })
		if got := []int{cli.c.Info().SendMSS, srv.c.Info().SendMSS}; !slices.Equal(got, []int{tt.wantSend, tt.wantSend}) {
			t.Errorf("v6=%v mtu %d: send MSS %v, want %d", tt.v6, tt.mtu, got, tt.wantSend)
		}
		if d := p.link.AB().Stats().DroppedMTU + p.link.BA().Stats().DroppedMTU; d != 0 {
			t.Errorf("v6=%v mtu %d: %d packets too big for the link", tt.v6, tt.mtu, d)
		}
		if !bytes.Equal(srv.got.Bytes(), cli.src) || !bytes.Equal(cli.got.Bytes(), srv.src) {
			t.Errorf("v6=%v mtu %d: data differs", tt.v6, tt.mtu)
		}
	}
}

// TestClosedPort dials a port nobody listens on: the RST of RFC 9293
// §3.10.7.1 refuses the connection.
func TestClosedPort(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		p := newPair(t, v6, impair.Config{Delay: time.Millisecond}, tcp.Config{})
		cli := &peer{}
		at(p.net, func(now time.Time) {
			c, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 9), &stack.DialOptions{OnEvent: cli.handler()})
			if err != nil {
				t.Fatal(err)
			}
			cli.c = c
		})
		p.net.RunFor(time.Second)
		if !errors.Is(cli.err, tcp.ErrConnectionRefused) || !errors.Is(cli.c.Err(), tcp.ErrConnectionRefused) {
			t.Errorf("v6=%v: error %v, want connection refused", v6, cli.err)
		}
		bs := p.b.st.Stats()
		if bs.NoPort != 1 || bs.ResetsSent != 1 {
			t.Errorf("v6=%v: NoPort %d ResetsSent %d, want 1 and 1", v6, bs.NoPort, bs.ResetsSent)
		}
		if p.a.st.NumConns() != 0 || !cli.c.Released() {
			t.Errorf("v6=%v: refused connection still in the table", v6)
		}
	}
}

// TestMultiHomed gives host a two NICs, each on its own link to one of
// b's two NICs, and checks NIC and source address selection.
func TestMultiHomed(t *testing.T) {
	n := sim.New(sim.Config{Seed: 3})
	a, b := addNode(t, n, "a", 1, tcp.Config{}), addNode(t, n, "b", 2, tcp.Config{})
	a1 := a.addNIC(t, "eth0", pfx("10.0.1.1/24"), pfx("2001:db8:1::1/64"))
	a2 := a.addNIC(t, "eth1", pfx("10.0.2.1/24"), pfx("10.0.2.11/24"))
	b1 := b.addNIC(t, "eth0", pfx("10.0.1.2/24"), pfx("2001:db8:1::2/64"))
	b2 := b.addNIC(t, "eth1", pfx("10.0.2.2/24"))
	l1 := connect(t, n, a1, b1, sim.Symmetric(impair.Config{Delay: time.Millisecond}))
	l2 := connect(t, n, a2, b2, sim.Symmetric(impair.Config{Delay: 2 * time.Millisecond}))
	srv := map[netip.AddrPort]*peer{}
	if _, err := b.st.Listen(netip.AddrPortFrom(netip.Addr{}, 5000), &stack.ListenOptions{
		OnEvent: func(now time.Time, c *stack.Conn, ev tcp.Event) {
			pr := srv[c.RemoteAddr()]
			if pr == nil {
				pr = &peer{src: []byte("reply from " + c.LocalAddr().String()), closeAfter: true}
				srv[c.RemoteAddr()] = pr
			}
			pr.handler()(now, c, ev)
		},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		local    netip.AddrPort
		remote   netip.AddrPort
		wantNIC  *sim.Interface
		wantFrom netip.Addr
	}{
		{"route to b1", netip.AddrPort{}, ap("10.0.1.2:5000"), a1, addr("10.0.1.1")},
		{"route to b2", netip.AddrPort{}, ap("10.0.2.2:5000"), a2, addr("10.0.2.1")},
		{"bound second address", ap("10.0.2.11:0"), ap("10.0.2.2:5000"), a2, addr("10.0.2.11")},
		{"bound port", ap("10.0.1.1:4444"), ap("10.0.1.2:5000"), a1, addr("10.0.1.1")},
		// a2 has no route to 10.0.1.0/24: the weak host sends from
		// 10.0.2.1 through a1, and b answers through b2.
		{"weak host", ap("10.0.2.1:0"), ap("10.0.1.2:5000"), a1, addr("10.0.2.1")},
		{"ipv6", netip.AddrPort{}, ap("[2001:db8:1::2]:5000"), a1, addr("2001:db8:1::1")},
	}
	clis := make([]*peer, len(tests))
	for i, tt := range tests {
		clis[i] = &peer{src: []byte(tt.name)}
		at(n, func(now time.Time) {
			c, err := a.st.Dial(now, tt.remote, &stack.DialOptions{Local: tt.local, OnEvent: clis[i].handler()})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			clis[i].c = c
			clis[i].pump(now)
		})
	}
	n.RunFor(5 * time.Second)
	for i, tt := range tests {
		c := clis[i].c
		if nicOf(c) != tt.wantNIC || c.LocalAddr().Addr() != tt.wantFrom {
			t.Errorf("%s: NIC %v from %v, want %v from %v", tt.name, nicOf(c), c.LocalAddr(), tt.wantNIC, tt.wantFrom)
		}
		if tt.local.Port() != 0 && c.LocalAddr().Port() != tt.local.Port() {
			t.Errorf("%s: local port %d, want %d", tt.name, c.LocalAddr().Port(), tt.local.Port())
		}
		want := "reply from " + netip.AddrPortFrom(tt.remote.Addr(), 5000).String()
		if got := clis[i].got.String(); got != want || !clis[i].eof {
			t.Errorf("%s: got %q (EOF %v), want %q", tt.name, got, clis[i].eof, want)
		}
		if pr := srv[c.LocalAddr()]; pr == nil || pr.got.String() != tt.name {
			t.Errorf("%s: the server did not get the request", tt.name)
		}
	}
	// The weak-host connection crossed l1 from a to b and l2 back.
	if l2.BA().Stats().Packets == 0 || l1.AB().Stats().Packets == 0 {
		t.Error("links unused")
	}
	// A bound address that is not local, an unreachable destination.
	at(n, func(now time.Time) {
		if _, err := a.st.Dial(now, ap("10.0.1.2:5000"), &stack.DialOptions{Local: ap("10.9.9.9:0")}); !errors.Is(err, stack.ErrAddrNotLocal) {
			t.Errorf("non-local bind: %v", err)
		}
		if _, err := a.st.Dial(now, ap("192.0.2.1:80"), nil); !errors.Is(err, stack.ErrNoRoute) {
			t.Errorf("no route: %v", err)
		}
		if _, err := a.st.Dial(now, ap("10.0.1.2:5000"), &stack.DialOptions{Local: ap("[2001:db8:1::1]:0")}); !errors.Is(err, stack.ErrInvalid) {
			t.Errorf("mixed families: %v", err)
		}
		if _, err := a.st.Dial(now, ap("[2001:db8:2::9]:80"), nil); !errors.Is(err, stack.ErrNoRoute) {
			t.Errorf("no IPv6 route: %v", err)
		}
	})
	n.RunFor(time.Millisecond)
}

// TestRouter reaches a host behind a router through default routes, and
// fails without them.
func TestRouter(t *testing.T) {
	n := sim.New(sim.Config{Seed: 4})
	a, b := addNode(t, n, "a", 1, tcp.Config{}), addNode(t, n, "b", 2, tcp.Config{})
	ia := a.addNIC(t, "eth0", pfx("10.1.0.1/24"))
	ib := b.addNIC(t, "eth0", pfx("10.2.0.1/24"))
	r := n.AddRouter("r")
	lc := sim.Symmetric(impair.Config{Delay: time.Millisecond})
	connect(t, n, ia, r.AddInterface("a", pfx("10.1.0.254/24")), lc)
	connect(t, n, r.AddInterface("b", pfx("10.2.0.254/24")), ib, lc)
	at(n, func(now time.Time) {
		if _, err := a.st.Dial(now, ap("10.2.0.1:80"), nil); !errors.Is(err, stack.ErrNoRoute) {
			t.Errorf("without a default route: %v", err)
		}
	})
	n.RunFor(time.Millisecond)
	if err := a.st.AddRoute(pfx("0.0.0.0/0"), ia); err != nil {
		t.Fatal(err)
	}
	if err := b.st.AddRoute(pfx("10.1.0.0/16"), ib); err != nil {
		t.Fatal(err)
	}
	if err := b.st.AddRoute(pfx("10.1.0.0/16"), a.st.NICs()[0]); !errors.Is(err, stack.ErrInvalid) {
		t.Errorf("route through a foreign NIC: %v", err)
	}
	srv := &peer{src: []byte("pong"), closeAfter: true}
	cli := &peer{src: []byte("ping")}
	if _, err := b.st.Listen(ap("10.2.0.1:80"), &stack.ListenOptions{OnEvent: srv.handler()}); err != nil {
		t.Fatal(err)
	}
	at(n, func(now time.Time) {
		c, err := a.st.Dial(now, ap("10.2.0.1:80"), &stack.DialOptions{OnEvent: cli.handler()})
		if err != nil {
			t.Fatal(err)
		}
		cli.c = c
		cli.pump(now)
	})
	n.RunFor(time.Second)
	if cli.got.String() != "pong" || srv.got.String() != "ping" {
		t.Errorf("client got %q, server got %q", cli.got.String(), srv.got.String())
	}
	if !b.st.RemoveRoute(pfx("10.1.0.0/16"), ib) || b.st.RemoveRoute(pfx("10.1.0.0/16"), ib) {
		t.Error("RemoveRoute")
	}
}

// TestListenErrors covers Listen's argument checks and port choice.
func TestListenErrors(t *testing.T) {
	p := newPair(t, false, impair.Config{}, tcp.Config{})
	s := p.b.st
	if _, err := s.Listen(ap("10.0.0.2:80"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(ap("10.0.0.2:80"), nil); !errors.Is(err, stack.ErrAddrInUse) {
		t.Errorf("second listener: %v", err)
	}
	if _, err := s.Listen(ap("0.0.0.0:80"), nil); err != nil {
		t.Errorf("wildcard next to a specific address: %v", err)
	}
	if _, err := s.Listen(ap("10.0.0.9:80"), nil); !errors.Is(err, stack.ErrAddrNotLocal) {
		t.Errorf("non-local address: %v", err)
	}
	l, err := s.Listen(netip.AddrPort{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if port := l.Port(); port < stack.DefaultEphemeralFirst || port > stack.DefaultEphemeralLast {
		t.Errorf("ephemeral listening port %d", port)
	}
	if err := l.Close(p.net.Now()); err != nil {
		t.Error(err)
	}
	if err := l.Close(p.net.Now()); !errors.Is(err, stack.ErrListenerClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := stack.New(stack.Config{EphemeralFirst: 2000, EphemeralLast: 1000}); !errors.Is(err, stack.ErrInvalid) {
		t.Errorf("bad port range: %v", err)
	}
	for _, bad := range []tcp.Config{{CongestionControl: "no-such"}, {MSS: 10}} {
		if _, err := stack.New(stack.Config{TCP: bad}); err == nil {
			t.Errorf("bad TCP config %+v accepted", bad)
		}
		if _, err := s.Listen(netip.AddrPortFrom(netip.Addr{}, 81), &stack.ListenOptions{Config: &bad}); err == nil {
			t.Errorf("Listen: bad TCP config %+v accepted", bad)
		}
	}
}

// TestEphemeralPorts checks the range, uniqueness and that ports run out.
func TestEphemeralPorts(t *testing.T) {
	n := sim.New(sim.Config{})
	st, err := stack.New(stack.Config{Rand: seeded(5), EphemeralFirst: 40000, EphemeralLast: 40009})
	if err != nil {
		t.Fatal(err)
	}
	h := n.AddHost("a", st)
	i := h.AddInterface("eth0", pfx("10.0.0.1/24"))
	if err := st.AddNIC(i); err != nil {
		t.Fatal(err)
	}
	if err := st.AddNIC(i); !errors.Is(err, stack.ErrInvalid) {
		t.Errorf("NIC added twice: %v", err)
	}
	peerHost := n.AddHost("b", nil)
	connect(t, n, i, peerHost.AddInterface("eth0", pfx("10.0.0.2/24")), sim.LinkConfig{})
	var ports []uint16
	at(n, func(now time.Time) {
		for range 10 {
			c, err := st.Dial(now, ap("10.0.0.2:80"), nil)
			if err != nil {
				t.Fatal(err)
			}
			ports = append(ports, c.LocalAddr().Port())
		}
		if _, err := st.Dial(now, ap("10.0.0.2:80"), nil); !errors.Is(err, stack.ErrNoPorts) {
			t.Errorf("11th connection: %v", err)
		}
		// Another remote port is another 4-tuple.
		if _, err := st.Dial(now, ap("10.0.0.2:81"), nil); err != nil {
			t.Errorf("other remote: %v", err)
		}
		if _, err := st.Dial(now, ap("10.0.0.2:81"), &stack.DialOptions{Local: netip.AddrPortFrom(addr("10.0.0.1"), ports[0])}); err != nil {
			t.Errorf("explicit port, other 4-tuple: %v", err)
		}
		if _, err := st.Dial(now, ap("10.0.0.2:80"), &stack.DialOptions{Local: netip.AddrPortFrom(addr("10.0.0.1"), ports[0])}); !errors.Is(err, stack.ErrAddrInUse) {
			t.Errorf("explicit port, same 4-tuple: %v", err)
		}
	})
	n.RunFor(time.Millisecond)
	sorted := slices.Sorted(slices.Values(ports))
	want := []uint16{40000, 40001, 40002, 40003, 40004, 40005, 40006, 40007, 40008, 40009}
	if diff := cmp.Diff(want, sorted); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if slices.Equal(ports, want) {
		t.Error("ports were not randomised")
	}
}
