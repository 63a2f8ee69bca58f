package sim_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/sim"
)

func TestTimerResetInsideCallback(t *testing.T) {
	n := sim.New(sim.Config{})
	var ticks []time.Duration
	var tm interface{ Reset(time.Duration) bool }
	tm = n.AfterFunc(time.Millisecond, func() {
		ticks = append(ticks, n.Since())
		if len(ticks) < 3 {
			if tm.Reset(time.Millisecond) {
				t.Error("Reset inside the callback reported a pending timer")
			}
		}
	})
	var self interface{ Stop() bool }
	self = n.AfterFunc(time.Millisecond, func() {
		if self.Stop() {
			t.Error("Stop inside the callback reported a pending timer")
		}
	})
	n.Run()
	if diff := cmp.Diff([]time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}, ticks); diff != "" {
		t.Fatalf("ticks (-want +got):\n%s", diff)
	}
}

// delayer holds each packet for d, through Poll: a user middleware with
// deadlines of its own.
type delayer struct {
	d    time.Duration
	held []struct {
		at  time.Time
		pkt []byte
	}
}

func (m *delayer) Process(now time.Time, pkt []byte, _ link.Emitter) {
	m.held = append(m.held, struct {
		at  time.Time
		pkt []byte
	}{now.Add(m.d), append([]byte(nil), pkt...)})
}

func (m *delayer) Poll(now time.Time, out link.Emitter) {
	for len(m.held) > 0 && !m.held[0].at.After(now) {
		out.Emit(m.held[0].pkt)
		m.held = m.held[1:]
	}
}

func (m *delayer) Deadline() time.Time {
	if len(m.held) == 0 {
		return time.Time{}
	}
	return m.held[0].at
}

func TestMiddlewareDeadlines(t *testing.T) {
	p := newPair(t, 1, sim.Symmetric(impair.Config{Delay: 10 * time.Millisecond}))
	p.link.AB().AddIngress(&delayer{d: 3 * time.Millisecond})
	p.link.AB().AddEgress(&delayer{d: 5 * time.Millisecond})
	drop := link.Func(func(now time.Time, pkt []byte, out link.Emitter) {
		if d, err := pkttest.Decode(pkt); err == nil && d.UDP != nil && string(d.UDP.Payload) == "drop" {
			return
		}
		out.Emit(pkt)
	})
	p.link.AB().AddEgress(drop)
	p.n1.sendAt(t0, p.i1, ap1, ap2, "a")
	p.n1.sendAt(t0.Add(time.Millisecond), p.i1, ap1, ap2, "drop")
	p.n1.sendAt(t0.Add(2*time.Millisecond), p.i1, ap1, ap2, "b")
	p.net.Run()
	var got []string
	for _, r := range p.n2.got {
		got = append(got, r.Payload+"@"+r.At.String())
	}
	if diff := cmp.Diff([]string{"a@18ms", "b@20ms"}, got); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
}

func TestRoutingLoopEnds(t *testing.T) {
	// Two routers whose default routes point at each other over a link
	// with no delay: the packet bounces until its TTL runs out, within one
	// instant of virtual time.
	n := sim.New(sim.Config{})
	node := &testNode{}
	h := n.AddHost("h", node)
	hi := h.AddInterface("eth0", pfx("10.0.0.1/24"))
	r1, r2 := n.AddRouter("r1"), n.AddRouter("r2")
	mustConnect(t, n, hi, r1.AddInterface("h", pfx("10.0.0.254/24")), sim.LinkConfig{})
	a, b := r1.AddInterface("x"), r2.AddInterface("x")
	mustConnect(t, n, a, b, sim.LinkConfig{})
	if err := r1.AddRoute(pfx("0.0.0.0/0"), a); err != nil {
		t.Fatal(err)
	}
	if err := r2.AddRoute(pfx("0.0.0.0/0"), b); err != nil {
		t.Fatal(err)
	}
	node.sendAt(t0, hi, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("192.0.2.1:1"), "loop")
	n.Run()
	s1, s2 := r1.Stats(), r2.Stats()
	if s1.Forwarded+s2.Forwarded != 63 || s1.TTLExceeded+s2.TTLExceeded != 1 || n.Since() != 0 {
		t.Fatalf("r1 %+v, r2 %+v, ended at %v", s1, s2, n.Since())
	}
}

func TestSelfLoopLink(t *testing.T) {
	// A link between two interfaces of one router: a packet forwarded onto
	// the link re-enters the same direction while it is delivering. The
	// direction takes it in after the delivery, at the same time.
	n := sim.New(sim.Config{})
	node := &testNode{}
	h := n.AddHost("h", node)
	hi := h.AddInterface("eth0", pfx("10.0.0.1/24"))
	r := n.AddRouter("r")
	mustConnect(t, n, hi, r.AddInterface("h", pfx("10.0.0.254/24")), sim.LinkConfig{})
	x, y := r.AddInterface("x"), r.AddInterface("y")
	l := mustConnect(t, n, x, y, sim.LinkConfig{})
	if err := r.AddRoute(pfx("0.0.0.0/0"), x); err != nil {
		t.Fatal(err)
	}
	node.sendAt(t0, hi, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("192.0.2.1:1"), "self")
	n.Run()
	if st := r.Stats(); st.Forwarded != 63 || st.TTLExceeded != 1 {
		t.Fatalf("router stats %+v", st)
	}
	if st := l.AB().Stats(); st.DeliveredPackets != 63 {
		t.Fatalf("x→y delivered %d packets, want 63", st.DeliveredPackets)
	}
}

func TestHostWithoutNode(t *testing.T) {
	n := sim.New(sim.Config{})
	node := &testNode{}
	h1 := n.AddHost("h1", node)
	h2 := n.AddHost("h2", nil)
	i1 := h1.AddInterface("eth0", addr1)
	l := mustConnect(t, n, i1, h2.AddInterface("eth0", addr2), sim.LinkConfig{})
	node.sendAt(t0, i1, ap1, ap2, "x")
	n.At(t0.Add(time.Millisecond), func(time.Time) { l.SetUp(false) })
	n.Run()
	if st := h2.Stats(); st.Received != 1 {
		t.Fatalf("h2 stats %+v", st)
	}
	if h2.Node() != nil || h1.Node() != node || h1.Name() != "h1" || len(n.Hosts()) != 2 || len(n.Links()) != 1 {
		t.Fatal("accessors")
	}
}
