package sim_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/sim"
)

// logNode sends a numbered packet every interval until stop, and logs the
// virtual time and bytes of every packet it receives.
type logNode struct {
	n        *sim.Network
	nic      *sim.Interface
	pkt      []byte
	next     time.Time
	stop     time.Time
	interval time.Duration
	sent     int
	log      []received
}

type received struct {
	At  time.Duration
	Pkt []byte
}

func (l *logNode) Receive(now time.Time, _ link.NIC, pkt []byte) {
	l.log = append(l.log, received{now.Sub(l.n.Start()), slices.Clone(pkt)})
}
func (l *logNode) LinkEvent(time.Time, link.NIC, link.Event) {}
func (l *logNode) Deadline() time.Time {
	if l.pkt == nil || !l.next.Before(l.stop) {
		return time.Time{}
	}
	return l.next
}
func (l *logNode) Timer(now time.Time) {
	for l.pkt != nil && !l.next.After(now) && l.next.Before(l.stop) {
		l.pkt[len(l.pkt)-1] = byte(l.sent) // a different payload each time
		l.pkt[len(l.pkt)-2] = byte(l.sent >> 8)
		_ = l.nic.Send(l.pkt)
		l.sent++
		l.next = l.next.Add(l.interval)
	}
}

// runPaths runs two hosts exchanging packets over a link made 7ms into the
// run and reconfigured at 300ms; with wrap, every direction also has a
// middleware that lets packets through, so that the link runs its
// impairers as a middleware chain on time.Time rather than directly on
// virtual nanoseconds.
func runPaths(t *testing.T, wrap bool) (a, b []received) {
	t.Helper()
	n := sim.New(sim.Config{Seed: 5})
	na, nb := &logNode{n: n, interval: 97 * time.Microsecond}, &logNode{n: n, interval: 263 * time.Microsecond}
	ha, hb := n.AddHost("a", na), n.AddHost("b", nb)
	na.nic, nb.nic = ha.AddInterface("eth0", addr1), hb.AddInterface("eth0", addr2)
	n.RunFor(7 * time.Millisecond)
	cfg := impair.Config{Rate: 50_000_000, Delay: 3 * time.Millisecond, Jitter: 400 * time.Microsecond,
		QueuePackets: 40, Loss: 0.01, Reorder: 0.05, ReorderDelay: time.Millisecond, Duplicate: 0.02}
	l := mustConnect(t, n, na.nic, nb.nic, sim.LinkConfig{AB: cfg, BA: impair.Config{Rate: 10_000_000, Delay: 5 * time.Millisecond}})
	if wrap {
		pass := link.Func(func(_ time.Time, pkt []byte, out link.Emitter) { out.Emit(pkt) })
		for _, d := range []*sim.Dir{l.AB(), l.BA()} {
			d.AddIngress(pass)
			d.AddEgress(pass)
		}
	}
	src := netip.MustParseAddrPort("10.0.0.1:1")
	dst := netip.MustParseAddrPort("10.0.0.2:2")
	na.pkt = pkttest.UDP(src, dst, make([]byte, 1200))
	nb.pkt = pkttest.UDP(dst, src, make([]byte, 100))
	now := n.Now()
	na.next, nb.next = now, now
	na.stop, nb.stop = now.Add(600*time.Millisecond), now.Add(600*time.Millisecond)
	n.At(now.Add(300*time.Millisecond), func(time.Time) {
		c := cfg
		c.Rate, c.Delay = 20_000_000, 8*time.Millisecond
		if err := l.AB().Configure(c); err != nil {
			t.Error(err)
		}
	})
	n.Run()
	if st := l.AB().Stats(); st.Reordered == 0 || st.DroppedQueue == 0 || st.Duplicated == 0 {
		t.Fatalf("AB stats %+v: the run does not exercise reordering, queue drops and duplicates", st)
	}
	return na.log, nb.log
}

func TestDirectAndChainPathsAgree(t *testing.T) {
	a1, b1 := runPaths(t, false)
	a2, b2 := runPaths(t, true)
	if len(b1) == 0 || len(a1) == 0 {
		t.Fatal("nothing delivered")
	}
	if diff := cmp.Diff(a1, a2); diff != "" {
		t.Errorf("packets received by a differ (-direct +chain):\n%s", diff)
	}
	if diff := cmp.Diff(b1, b2); diff != "" {
		t.Errorf("packets received by b differ (-direct +chain):\n%s", diff)
	}
}
