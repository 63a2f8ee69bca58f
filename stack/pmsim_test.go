package stack_test

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// twoPaths is a client (a) and a server (b) with two addresses each,
// 10.0.1.x on eth0 and 10.0.2.x on eth1, one link per subnet; the
// client writes without end to the server's 10.0.1.2:80, which reads and
// drops what comes.
type twoPaths struct {
	n        *sim.Network
	a, b     *node
	links    [2]*sim.Link
	ia, ib   [2]*sim.Interface
	cli      *stack.MPConn
	srv      *stack.MPConn
	cliEvs   []stack.PMEvent
	srvEvs   []stack.PMEvent
	attempts []attempt // AddSubflow calls of the client's path manager
	received int
	stop     bool // the client stops writing
}

// attempt is one AddSubflow of a path manager.
type attempt struct {
	at            time.Time
	local, remote netip.AddrPort
	id            tcp.ConnID
	err           error
}

// recPM runs a path manager with a Controller that records its
// AddSubflow calls.
type recPM struct {
	pm       stack.PathManager
	attempts *[]attempt
}

func (r recPM) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	r.pm.HandleEvent(now, recCtl{TimerController: c.(stack.TimerController), attempts: r.attempts}, ev)
}

type recCtl struct {
	stack.TimerController
	attempts *[]attempt
}

func (c recCtl) AddSubflow(now time.Time, local, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	id, err := c.TimerController.AddSubflow(now, local, remote, backup)
	*c.attempts = append(*c.attempts, attempt{at: now, local: local, remote: remote, id: id, err: err})
	return id, err
}

// newTwoPaths builds the network: links of rate bits/s and 5 ms each
// way, the second one with outages; the subflows' TCP configuration sub;
// the path managers of the client (recorded) and the server.
func newTwoPaths(t *testing.T, rate int64, cpm, spm stack.PathManager, sub tcp.Config, outages []impair.Outage) *twoPaths {
	t.Helper()
	n := sim.New(sim.Config{Seed: 11})
	w := &twoPaths{n: n, a: addNode(t, n, "a", 1, tcp.Config{}), b: addNode(t, n, "b", 2, tcp.Config{})}
	for k, sub := range []string{"10.0.1.", "10.0.2."} {
		w.ia[k] = w.a.addNIC(t, []string{"eth0", "eth1"}[k], pfx(sub+"1/24"))
		w.ib[k] = w.b.addNIC(t, []string{"eth0", "eth1"}[k], pfx(sub+"2/24"))
		lc := impair.Config{Rate: rate, Delay: 5 * time.Millisecond, QueuePackets: 20}
		if k == 1 {
			lc.Outages = outages
		}
		w.links[k] = connect(t, n, w.ia[k], w.ib[k], sim.Symmetric(lc))
	}
	if cpm != nil {
		cpm = recPM{pm: cpm, attempts: &w.attempts}
	}
	for i, st := range []*stack.Stack{w.a.st, w.b.st} {
		pm, evs := cpm, &w.cliEvs
		if i == 1 {
			pm, evs = spm, &w.srvEvs
		}
		err := st.EnableMPTCP(stack.MPConfig{
			Meta:        meta.Config{Rand: rand.NewChaCha8([32]byte{byte(i + 1), 0x4d}), Subflow: sub},
			PathManager: pm,
			OnEvent:     func(_ time.Time, ev stack.PMEvent) { *evs = append(*evs, ev) },
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// start opens the connection and keeps the client writing.
func (w *twoPaths) start(t *testing.T) {
	t.Helper()
	buf := make([]byte, 64<<10)
	chunk := make([]byte, 64<<10)
	at(w.n, func(now time.Time) {
		_, err := w.b.st.ListenMPTCP(now, ap("0.0.0.0:80"), &stack.MPListenOptions{
			OnAccept: func(_ time.Time, l *stack.MPListener) { w.srv, _ = l.Accept() },
			OnEvent: func(now time.Time, c *stack.MPConn, _ meta.Event) {
				for {
					k, _ := c.Read(now, buf)
					w.received += k
					if k == 0 {
						return
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		w.cli, err = w.a.st.DialMPTCP(now, ap("10.0.1.2:80"), &stack.MPDialOptions{
			OnEvent: func(now time.Time, c *stack.MPConn, _ meta.Event) {
				for !w.stop && c.WriteSpace() > 0 {
					if k, _ := c.Write(now, chunk); k == 0 {
						return
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// subflowEvents returns the client's events of type typ for subflows from
// local address l.
func (w *twoPaths) subflowEvents(typ stack.PMEventType, l string) []stack.PMEvent {
	var out []stack.PMEvent
	for _, ev := range w.cliEvs {
		if ev.Type == typ && ev.Local.Addr() == addr(l) {
			out = append(out, ev)
		}
	}
	return out
}

// carried returns the bytes the client's subflow id had acknowledged.
func (w *twoPaths) carried(id tcp.ConnID) uint64 {
	for _, sf := range w.cli.Info().Subflow {
		if sf.ID == id {
			return sf.TCP.BytesAcked
		}
	}
	return 0
}

// kernelPMs are the path managers of the failure tests: the server
// announces 10.0.2.2, the client joins it from the route's address
// (10.0.2.1, over eth1).
func kernelPMs() (client, server *stack.KernelPM) {
	return stack.NewKernelPM(nil, stack.PMLimits{Subflows: 2, AddAddrAccepted: 1}),
		stack.NewKernelPM([]stack.PMEndpoint{{ID: 1, Addr: addr("10.0.2.2"), Flags: stack.EndpointSignal}}, stack.PMLimits{})
}

// backoffTimes returns when the attempts that follow a failure at from
// are due, while before until: the default backoff, 1 s then doubling.
func backoffTimes(from, until time.Time, first int) []time.Time {
	var out []time.Time
	t := from
	for n := first; ; n++ {
		d, _ := stack.DefaultPMBackoff.Delay(n)
		t = t.Add(d)
		if !t.Before(until) {
			return out
		}
		out = append(out, t)
	}
}

// TestKernelPMLinkDown: the second path's link goes down in the middle of
// a transfer; its subflow dies of its retransmission timeouts, and the
// client's KernelPM tries it again 1, 2, 4 s after each failure (finding
// no route while the link is down); the moment the link is up again
// (PMEventLocalAddrAdded) it opens it again, and it carries data.
func TestKernelPMLinkDown(t *testing.T) {
	cpm, spm := kernelPMs()
	w := newTwoPaths(t, 1e6, cpm, spm, tcp.Config{Retries: 3}, nil)
	w.start(t)
	w.n.RunFor(2 * time.Second)
	first := w.subflowEvents(stack.PMEventSubflowEstablished, "10.0.2.1")
	if len(first) != 1 || w.carried(tcp.ConnID{Local: first[0].Local, Remote: first[0].Remote}) == 0 {
		t.Fatalf("before the failure: subflows from 10.0.2.1 established %v; %+v", first, w.cli.Info().Subflow)
	}
	down := w.n.Now()
	at(w.n, func(time.Time) { w.links[1].SetUp(false) })
	up := down.Add(16 * time.Second)
	w.n.RunUntil(up)
	at(w.n, func(time.Time) { w.links[1].SetUp(true) })
	w.n.RunFor(3 * time.Second)

	closed := w.subflowEvents(stack.PMEventSubflowClosed, "10.0.2.1")
	if len(closed) != 1 || closed[0].Err == nil || closed[0].Requested || !closed[0].Time.After(down) {
		t.Fatalf("closes of the subflow from 10.0.2.1: %v", closed)
	}
	failed := closed[0].Time
	want := backoffTimes(failed, up, 1)
	if len(want) < 3 {
		t.Fatalf("the subflow failed at +%v, too late for the test", failed.Sub(down))
	}
	var got []time.Time
	var last attempt
	for _, a := range w.attempts {
		if a.at.After(down) {
			got = append(got, a.at)
			last = a
		}
	}
	if len(got) != len(want)+1 {
		t.Fatalf("attempts at %v after the failure at %v, want %v then %v", got, failed, want, up)
	}
	for i, tm := range want {
		a := w.attempts[len(w.attempts)-len(got)+i]
		if !got[i].Equal(tm) || !errors.Is(a.err, stack.ErrNoRoute) {
			t.Errorf("attempt %d at +%v (%v), want at +%v with no route", i+1, got[i].Sub(failed), a.err, tm.Sub(failed))
		}
	}
	if !last.at.Equal(up) || last.err != nil || last.id.Local.Addr() != addr("10.0.2.1") {
		t.Fatalf("last attempt %+v, want one that opens a subflow from 10.0.2.1 at the link's return %v", last, up)
	}
	again := w.subflowEvents(stack.PMEventSubflowEstablished, "10.0.2.1")
	if len(again) != 2 || again[1].Local != last.id.Local {
		t.Fatalf("subflows from 10.0.2.1 established: %v", again)
	}
	if n := w.carried(last.id); n < 100<<10 {
		t.Errorf("the subflow opened again carried %d bytes", n)
	}
}

// TestKernelPMOutage: the second path silently drops everything for a
// while (no link event): the subflow dies, each new attempt's SYN times
// out, and the next attempt follows each failure (PMEventSubflowClosed,
// reported for joins that never completed too) after 1, 2, 4, … s, until
// one after the outage succeeds.
func TestKernelPMOutage(t *testing.T) {
	cpm, spm := kernelPMs()
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // sim.New's start
	outage := impair.Outage{From: start.Add(2 * time.Second), Until: start.Add(14 * time.Second)}
	w := newTwoPaths(t, 1e6, cpm, spm, tcp.Config{Retries: 3, SynRetries: 1, InitialRTO: 500 * time.Millisecond}, []impair.Outage{outage})
	if !w.n.Start().Equal(start) {
		t.Fatalf("the simulation starts at %v", w.n.Start())
	}
	w.start(t)
	w.n.RunUntil(outage.Until.Add(10 * time.Second))

	closed := w.subflowEvents(stack.PMEventSubflowClosed, "10.0.2.1")
	if len(closed) < 3 {
		t.Fatalf("closes of subflows from 10.0.2.1: %v", closed)
	}
	// Each failure is followed by an attempt after the backoff of its
	// rank: the first (the established subflow) by 1 s, then 2, 4, …
	var after []attempt
	for _, a := range w.attempts {
		if a.at.After(outage.From) {
			after = append(after, a)
		}
	}
	if len(after) != len(closed) {
		t.Fatalf("%d attempts after the outage began, %d failures: %v", len(after), len(closed), after)
	}
	for i, ev := range closed {
		d, _ := stack.DefaultPMBackoff.Delay(i + 1)
		if ev.Err == nil || ev.Requested || !after[i].at.Equal(ev.Time.Add(d)) || after[i].err != nil {
			t.Errorf("failure %d at %v (%v): attempt at %v (%v), want %v later", i+1, ev.Time.Sub(start), ev.Err,
				after[i].at.Sub(start), after[i].err, d)
		}
		if i > 0 && ev.Local != after[i-1].id.Local {
			t.Errorf("failure %d is of %v, not of the attempt before it (%v)", i+1, ev.Local, after[i-1].id.Local)
		}
	}
	last := after[len(after)-1]
	if !last.at.After(outage.Until) {
		t.Fatalf("the last attempt, at %v, is not after the outage", last.at.Sub(start))
	}
	est := w.subflowEvents(stack.PMEventSubflowEstablished, "10.0.2.1")
	if len(est) != 2 || est[1].Local != last.id.Local {
		t.Fatalf("subflows from 10.0.2.1 established: %v, want the first and the last attempt's", est)
	}
	if n := w.carried(last.id); n < 100<<10 {
		t.Errorf("the subflow opened after the outage carried %d bytes", n)
	}
}

// TestKernelPMAddrRemoved: the client's subflow endpoint's address leaves
// its NIC: the KernelPM withdraws it with REMOVE_ADDR (the subflow closes
// on request, and is not opened again); when the address is back, the
// subflow is opened again at once.
func TestKernelPMAddrRemoved(t *testing.T) {
	cpm := stack.NewKernelPM([]stack.PMEndpoint{{ID: 1, Addr: addr("10.0.2.1"), Flags: stack.EndpointSubflow}}, stack.PMLimits{Subflows: 2})
	w := newTwoPaths(t, 2e6, cpm, nil, tcp.Config{}, nil)
	w.start(t)
	w.n.RunFor(time.Second)
	if est := w.subflowEvents(stack.PMEventSubflowEstablished, "10.0.2.1"); len(est) != 1 {
		t.Fatalf("subflows from 10.0.2.1: %v", est)
	}
	at(w.n, func(time.Time) { w.ia[1].RemoveAddr(pfx("10.0.2.1/24")) })
	w.n.RunFor(10 * time.Second)
	closed := w.subflowEvents(stack.PMEventSubflowClosed, "10.0.2.1")
	if len(closed) != 1 || !closed[0].Requested {
		t.Fatalf("closes of the subflow from 10.0.2.1: %v, want one on request", closed)
	}
	removed := 0
	for _, ev := range w.srvEvs {
		if ev.Type == stack.PMEventRemoved && ev.RemoteID == closed[0].LocalID {
			removed++
		}
	}
	if removed != 1 || len(w.attempts) != 1 {
		t.Fatalf("server heard %d REMOVE_ADDR of ID %d; client attempts %v", removed, closed[0].LocalID, w.attempts)
	}
	back := w.n.Now()
	at(w.n, func(time.Time) { w.ia[1].AddAddr(pfx("10.0.2.1/24")) })
	w.n.RunFor(2 * time.Second)
	if len(w.attempts) != 2 || !w.attempts[1].at.Equal(back) || w.attempts[1].err != nil {
		t.Fatalf("attempts %v, want a second at %v", w.attempts, back)
	}
	if est := w.subflowEvents(stack.PMEventSubflowEstablished, "10.0.2.1"); len(est) != 2 || w.carried(w.attempts[1].id) == 0 {
		t.Fatalf("subflows from 10.0.2.1 established: %v", est)
	}
	added := 0
	for _, ev := range w.cliEvs {
		if ev.Type == stack.PMEventLocalAddrAdded && ev.Local.Addr() == addr("10.0.2.1") && ev.Token == 0 {
			added++
		}
	}
	if added != 1 {
		t.Errorf("%d PMEventLocalAddrAdded for 10.0.2.1 on OnEvent, want 1", added)
	}
}

// timerPM asks for a timer at each established event and records the
// timers it gets. It serves the listening side, fully established at the
// MP_CAPABLE third ACK (RFC 8684 §3.1).
type timerPM struct {
	set   func(now time.Time, c stack.TimerController)
	fired []time.Time
}

func (p *timerPM) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	switch ev.Type {
	case stack.PMEventEstablished:
		p.set(now, c.(stack.TimerController))
	case stack.PMEventTimer:
		p.fired = append(p.fired, now)
	}
}

// TestPMTimer: a path manager's timer fires at the exact time asked for,
// once; a later SetTimer moves it, a zero one cancels it; the Stack's
// Deadline shows it; it dies with the connection.
func TestPMTimer(t *testing.T) {
	tests := []struct {
		name  string
		set   func(now time.Time, c stack.TimerController)
		close time.Duration // close the connection then (0: not)
		want  []time.Duration
	}{
		{"once", func(now time.Time, c stack.TimerController) { c.SetTimer(now.Add(3 * time.Second)) }, 0, []time.Duration{3 * time.Second}},
		{"moved", func(now time.Time, c stack.TimerController) {
			c.SetTimer(now.Add(3 * time.Second))
			c.SetTimer(now.Add(1500 * time.Millisecond))
		}, 0, []time.Duration{1500 * time.Millisecond}},
		{"cancelled", func(now time.Time, c stack.TimerController) {
			c.SetTimer(now.Add(3 * time.Second))
			c.SetTimer(time.Time{})
		}, 0, nil},
		{"past", func(now time.Time, c stack.TimerController) { c.SetTimer(now.Add(-time.Second)) }, 0, []time.Duration{0}},
		{"closed first", func(now time.Time, c stack.TimerController) { c.SetTimer(now.Add(3 * time.Second)) }, time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t, false, impair.Config{Delay: time.Millisecond}, tcp.Config{})
			var established time.Time
			pm := &timerPM{set: func(now time.Time, c stack.TimerController) {
				established = now
				tt.set(now, c)
				if got := c.(*stack.MPConn).Timer(); got.IsZero() != (len(tt.want) == 0 && tt.close == 0) {
					t.Errorf("Timer() = %v after SetTimer", got)
				}
			}}
			enableMPTCP(t, p.a.st, 1, nil, nil)
			enableMPTCP(t, p.b.st, 2, pm, nil)
			var cli *stack.MPConn
			at(p.net, func(now time.Time) {
				if _, err := p.b.st.ListenMPTCP(now, netip.AddrPortFrom(p.bAddr, 80), nil); err != nil {
					t.Fatal(err)
				}
				var err error
				if cli, err = p.a.st.DialMPTCP(now, netip.AddrPortFrom(p.bAddr, 80), nil); err != nil {
					t.Fatal(err)
				}
			})
			if tt.close > 0 {
				p.net.RunFor(tt.close)
				at(p.net, func(now time.Time) { cli.Abort(now) })
			}
			p.net.RunFor(10 * time.Second)
			if established.IsZero() {
				t.Fatal("never established")
			}
			var got []time.Duration
			for _, f := range pm.fired {
				got = append(got, f.Sub(established))
			}
			if !slicesEqual(got, tt.want) {
				t.Errorf("timers fired after %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPMTimerDeadline: the timer is the Stack's deadline when it is the
// earliest one.
func TestPMTimerDeadline(t *testing.T) {
	p := newPair(t, false, impair.Config{Delay: time.Millisecond}, tcp.Config{})
	var want time.Time
	pm := &timerPM{set: func(now time.Time, c stack.TimerController) {
		want = now.Add(42 * time.Minute)
		c.SetTimer(want)
	}}
	enableMPTCP(t, p.a.st, 1, nil, nil)
	enableMPTCP(t, p.b.st, 2, pm, nil)
	at(p.net, func(now time.Time) {
		if _, err := p.b.st.ListenMPTCP(now, netip.AddrPortFrom(p.bAddr, 80), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := p.a.st.DialMPTCP(now, netip.AddrPortFrom(p.bAddr, 80), nil); err != nil {
			t.Fatal(err)
		}
	})
	p.net.RunFor(5 * time.Second)
	if got := p.b.st.Deadline(); !got.Equal(want) {
		t.Fatalf("Deadline %v, want the path manager's timer %v", got, want)
	}
	p.net.RunUntil(want)
	if len(pm.fired) != 1 || !pm.fired[0].Equal(want) {
		t.Fatalf("fired %v, want %v", pm.fired, want)
	}
}

// listenerEvents returns the server's listener events of type typ for
// local address a.
func (w *twoPaths) listenerEvents(typ stack.PMEventType, a string) int {
	n := 0
	for _, ev := range w.srvEvs {
		if ev.Type == typ && ev.Local == ap(a) {
			n++
		}
	}
	return n
}

// dialWriter opens another connection of the client to remote that
// writes size bytes, into *c when the simulation runs.
func (w *twoPaths) dialWriter(t *testing.T, c **stack.MPConn, remote string, size int) {
	t.Helper()
	sent := 0
	chunk := make([]byte, 16<<10)
	at(w.n, func(now time.Time) {
		var err error
		*c, err = w.a.st.DialMPTCP(now, ap(remote), &stack.MPDialOptions{
			OnEvent: func(now time.Time, c *stack.MPConn, _ meta.Event) {
				for sent < size {
					k, _ := c.Write(now, chunk[:min(len(chunk), size-sent)])
					if k == 0 {
						return
					}
					sent += k
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// serverConn returns the server's connection with the client's token
// (its remote key's), once accepted.
func (w *twoPaths) serverConn(t *testing.T, c *stack.MPConn) *stack.MPConn {
	t.Helper()
	var found *stack.MPConn
	w.b.st.MPConns(func(s *stack.MPConn) bool {
		if s.Info().RemoteKey == c.Info().LocalKey {
			found = s
		}
		return found == nil
	})
	if found == nil {
		t.Fatalf("no server connection for %v", c.LocalAddr())
	}
	return found
}

// TestAnnouncePort: the server announces 10.0.2.2:7100 (ADD_ADDR with a
// port, RFC 8684 §3.4.1) where nothing listens: the Stack accepts the
// client's join there, which carries data; the listener goes away with
// the announcement (RemoveAddr) and with the connection.
func TestAnnouncePort(t *testing.T) {
	cpm := stack.NewKernelPM(nil, stack.PMLimits{Subflows: 2, AddAddrAccepted: 1})
	w := newTwoPaths(t, 2e6, cpm, nil, tcp.Config{}, nil)
	w.start(t)
	w.n.RunFor(time.Second)
	srv := w.serverConn(t, w.cli)
	var id uint8
	at(w.n, func(now time.Time) {
		var err error
		if id, err = srv.Announce(now, ap("10.0.2.2:7100")); err != nil {
			t.Fatal(err)
		}
	})
	w.n.RunFor(2 * time.Second)
	if n := w.listenerEvents(stack.PMEventListenerCreated, "10.0.2.2:7100"); n != 1 {
		t.Fatalf("%d listeners created on 10.0.2.2:7100, want 1", n)
	}
	var join tcp.ConnID
	for _, sf := range w.cli.Info().Subflow {
		if sf.ID.Remote == ap("10.0.2.2:7100") && sf.FullyEstablished {
			join = sf.ID
		}
	}
	if !join.Local.IsValid() || w.carried(join) < 100<<10 {
		t.Fatalf("no join to 10.0.2.2:7100 that carried data: %+v", w.cli.Info().Subflow)
	}
	if s, c := w.b.st.MPStats(), w.a.st.MPStats(); s.JoinPortSynRx != 1 || c.JoinPortSynAckRx != 1 || s.MismatchPortSynRx != 0 || s.EndpAttempt != 0 {
		t.Errorf("stats: server %+v, client %+v", s, c)
	}
	// The ADD_ADDR may have been sent more than once before its echo
	// came back: each counts.
	if n := w.a.st.MIB().Get(meta.PortAdd); n < 1 {
		t.Errorf("client PortAdd %d, want the ADD_ADDR with a port counted", n)
	}

	// Withdrawn: the listener closes; the join is reset (on request) and
	// the client's KernelPM forgets the address.
	at(w.n, func(now time.Time) {
		if err := srv.RemoveAddr(now, id); err != nil {
			t.Fatal(err)
		}
	})
	w.n.RunFor(2 * time.Second)
	if n := w.listenerEvents(stack.PMEventListenerClosed, "10.0.2.2:7100"); n != 1 {
		t.Fatalf("%d listeners closed on 10.0.2.2:7100, want 1", n)
	}
	var plain *stack.Conn
	noPort := w.b.st.Stats().NoPort
	at(w.n, func(now time.Time) {
		var err error
		if plain, err = w.a.st.Dial(now, ap("10.0.2.2:7100"), nil); err != nil {
			t.Fatal(err)
		}
	})
	w.n.RunFor(time.Second)
	if !plain.Released() || w.b.st.Stats().NoPort != noPort+1 || w.b.st.MPStats().EndpAttempt != 0 {
		t.Errorf("after the removal, a SYN to 10.0.2.2:7100: released %v, NoPort +%d, EndpAttempt %d",
			plain.Released(), w.b.st.Stats().NoPort-noPort, w.b.st.MPStats().EndpAttempt)
	}

	// Announced again, then the connection ends: the listener goes too.
	at(w.n, func(now time.Time) {
		if _, err := srv.Announce(now, ap("10.0.2.2:7100")); err != nil {
			t.Fatal(err)
		}
	})
	w.n.RunFor(time.Second)
	at(w.n, func(now time.Time) { w.cli.Abort(now) })
	w.n.RunFor(time.Second)
	if c, d := w.listenerEvents(stack.PMEventListenerCreated, "10.0.2.2:7100"), w.listenerEvents(stack.PMEventListenerClosed, "10.0.2.2:7100"); c != 2 || d != 2 {
		t.Errorf("listeners on 10.0.2.2:7100: %d created, %d closed, want 2 and 2", c, d)
	}
	if !srv.Released() {
		t.Errorf("the server's connection is still there")
	}
}

// TestAnnouncePortRefusals: on an announced address and port the Stack
// takes nothing but the joins of the connections that announced it, as
// Linux: a join of another connection, an MP_CAPABLE SYN and a plain SYN
// get a RST with MP_TCPRST "administratively prohibited" (RFC 8684
// §3.6), which tells the client's path manager not to try again.
func TestAnnouncePortRefusals(t *testing.T) {
	w := newTwoPaths(t, 2e6, stack.NewKernelPM(nil, stack.PMLimits{}), nil, tcp.Config{}, nil)
	w.start(t)
	var other *stack.MPConn
	w.dialWriter(t, &other, "10.0.1.2:80", 200<<10)
	w.n.RunFor(time.Second)
	at(w.n, func(now time.Time) {
		if _, err := w.serverConn(t, w.cli).Announce(now, ap("10.0.2.2:7100")); err != nil {
			t.Fatal(err)
		}
	})
	w.n.RunFor(time.Second)
	var join tcp.ConnID
	var plain *stack.Conn
	var mpc *stack.MPConn
	at(w.n, func(now time.Time) {
		var err error
		if join, err = other.AddSubflow(now, netip.AddrPort{}, ap("10.0.2.2:7100"), false); err != nil {
			t.Fatal(err)
		}
		if plain, err = w.a.st.Dial(now, ap("10.0.2.2:7100"), nil); err != nil {
			t.Fatal(err)
		}
		if mpc, err = w.a.st.DialMPTCP(now, ap("10.0.2.2:7100"), nil); err != nil {
			t.Fatal(err)
		}
	})
	w.n.RunFor(2 * time.Second)
	if s := w.b.st.MPStats(); s != (stack.MPStats{MismatchPortSynRx: 1, EndpAttempt: 2}) {
		t.Errorf("server stats %+v, want 1 mismatched join and 2 other SYNs", s)
	}
	var closed []stack.PMEvent
	for _, ev := range w.cliEvs {
		if ev.Type == stack.PMEventSubflowClosed && ev.Local == join.Local {
			closed = append(closed, ev)
		}
	}
	if len(closed) != 1 || !closed[0].Reset || closed[0].ResetReason != 3 || closed[0].ResetTransient || stack.SubflowFailed(closed[0]) {
		t.Errorf("the refused join's close: %v", closed)
	}
	if !plain.Released() || plain.Err() == nil || !mpc.Released() || mpc.Err() == nil {
		t.Errorf("plain SYN: released %v (%v); MP_CAPABLE SYN: released %v (%v)", plain.Released(), plain.Err(), mpc.Released(), mpc.Err())
	}
	if got := w.b.st.Stats().ListenerResets; got != 3 {
		t.Errorf("%d resets from listeners, want 3", got)
	}
	if n := len(w.attempts); n != 0 {
		t.Errorf("the client's path manager (no addresses accepted) opened %d subflows", n)
	}
}

// TestAnnouncePortCovered: a port where an MPListener listens needs no
// listener of its own; one where a plain TCP listener does cannot be
// announced.
func TestAnnouncePortCovered(t *testing.T) {
	w := newTwoPaths(t, 2e6, nil, nil, tcp.Config{}, nil)
	w.start(t)
	w.n.RunFor(time.Second)
	srv := w.serverConn(t, w.cli)
	at(w.n, func(now time.Time) {
		if _, err := w.b.st.ListenMPTCP(now, ap("0.0.0.0:7200"), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := w.b.st.Listen(ap("10.0.2.2:7300"), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Announce(now, ap("10.0.2.2:7200")); err != nil {
			t.Errorf("announcing a port an MPListener has: %v", err)
		}
		if _, err := srv.Announce(now, ap("10.0.2.2:7300")); !errors.Is(err, stack.ErrAddrInUse) {
			t.Errorf("announcing a port a TCP listener has: %v, want ErrAddrInUse", err)
		}
	})
	w.n.RunFor(time.Second)
	if a, b := w.listenerEvents(stack.PMEventListenerCreated, "10.0.2.2:7200"), w.listenerEvents(stack.PMEventListenerCreated, "10.0.2.2:7300"); a != 0 || b != 0 {
		t.Errorf("join listeners made: %d on 7200, %d on 7300", a, b)
	}
	if in := srv.Info(); in.AddAddrSignal != 1 {
		t.Errorf("AddAddrSignal %d, want 1 (7300 refused)", in.AddAddrSignal)
	}
}
