package stack_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/pmtest"
	"github.com/gomptcp/mptcp/tcp"
)

// pmBase is the time of PMEventEstablished in the path manager tables.
var pmBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var errTimeout = errors.New("subflow timed out")

// pmStep is one event of a path manager table test: at is its time after
// pmBase, ev makes it (and may change the fake connection first), want is
// what the path manager did about it (pmtest.Controller.Log).
type pmStep struct {
	at   time.Duration
	ev   func(c *pmtest.Controller, now time.Time) stack.PMEvent
	want []string
}

// Event makers for pmStep.ev.

func evEstablished(c *pmtest.Controller, now time.Time) stack.PMEvent {
	return stack.PMEvent{Type: stack.PMEventEstablished, Time: now, Token: c.Tok, Local: c.Initial.Local, Remote: c.Initial.Remote}
}

func evTimer(c *pmtest.Controller, now time.Time) stack.PMEvent {
	return stack.PMEvent{Type: stack.PMEventTimer, Time: now, Token: c.Tok}
}

func evAnnounced(id uint8, a string) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		return stack.PMEvent{Type: stack.PMEventAnnounced, Time: now, Token: c.Tok, RemoteID: id, Remote: ap(a)}
	}
}

func evRemoved(id uint8) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		return stack.PMEvent{Type: stack.PMEventRemoved, Time: now, Token: c.Tok, RemoteID: id}
	}
}

// liveSub finds the live subflow between two addresses; without one it
// returns the zero ConnID, which no path manager opened, so that the
// step's expectations fail.
func liveSub(c *pmtest.Controller, l, r string) tcp.ConnID {
	id, _ := c.Sub(addr(l), addr(r))
	return id
}

func evUp(l, r string) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent { return c.Established(now, liveSub(c, l, r)) }
}

// evDown closes the subflow between l and r with err, changed by edit.
func evDown(l, r string, err error, edit func(*stack.PMEvent)) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		ev := c.Closed(now, liveSub(c, l, r), err)
		if edit != nil {
			edit(&ev)
		}
		return ev
	}
}

// evGone reports the close of a subflow the fake already took out of its
// live ones (after RemoveAddr or CloseSubflow), on request.
func evGone(local, remote string) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		return stack.PMEvent{Type: stack.PMEventSubflowClosed, Time: now, Token: c.Tok, Local: ap(local), Remote: ap(remote),
			Err: errTimeout, Requested: true}
	}
}

func evAddrAdded(a string) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		if !c.IsLocal(addr(a)) {
			c.AddAddrs(netip.PrefixFrom(addr(a), 24))
		}
		return stack.PMEvent{Type: stack.PMEventLocalAddrAdded, Time: now, Token: c.Tok, Local: netip.AddrPortFrom(addr(a), 0)}
	}
}

func evAddrRemoved(a string) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		c.RemoveAddrs(addr(a))
		return stack.PMEvent{Type: stack.PMEventLocalAddrRemoved, Time: now, Token: c.Tok, Local: netip.AddrPortFrom(addr(a), 0)}
	}
}

// then runs f on the fake before making the event with ev.
func then(f func(c *pmtest.Controller), ev func(*pmtest.Controller, time.Time) stack.PMEvent) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		f(c)
		return ev(c, now)
	}
}

func requested(ev *stack.PMEvent) { ev.Requested = true }

// newFake returns the fake connection of the tables: 10.0.1.1 to
// 10.0.1.2:80, with 10.0.2.1 and 10.0.3.1 besides.
func newFake() *pmtest.Controller {
	return pmtest.New(pmBase, tcp.ConnID{Local: ap("10.0.1.1:50000"), Remote: ap("10.0.1.2:80")},
		pfx("10.0.1.1/24"), pfx("10.0.2.1/24"), pfx("10.0.3.1/24"))
}

// runPMSteps feeds pm the steps and compares what it did after each.
func runPMSteps(t *testing.T, pm stack.PathManager, c stack.Controller, fake *pmtest.Controller, steps []pmStep) {
	t.Helper()
	for i, s := range steps {
		now := pmBase.Add(s.at)
		ev := s.ev(fake, now)
		pm.HandleEvent(now, c, ev)
		if diff := cmp.Diff(s.want, fake.Take()); diff != "" {
			t.Fatalf("step %d (%v at +%v): actions (-want +got):\n%s", i, ev.Type, s.at, diff)
		}
	}
}

// plainController hides the fake's SetTimer: a Controller that cannot
// time anything.
type plainController struct{ stack.Controller }

// TestKernelPMEvents runs KernelPM over event sequences on a fake
// connection: the endpoints' subflows and announcements, the limits, the
// backoff of failed subflows (1 s doubling, reset after 30 s up), what is
// not retried (requests, orderly closes, permanent MP_TCPRST), and the
// addresses that leave and come back.
func TestKernelPMEvents(t *testing.T) {
	sub2 := stack.PMEndpoint{ID: 1, Addr: addr("10.0.2.1"), Flags: stack.EndpointSubflow}
	sub3 := stack.PMEndpoint{ID: 2, Addr: addr("10.0.3.1"), Flags: stack.EndpointSubflow}
	const (
		l1, l2, l3, peer = "10.0.1.1", "10.0.2.1", "10.0.3.1", "10.0.1.2"
	)
	noRoute := false
	tests := []struct {
		name      string
		endpoints []stack.PMEndpoint
		limits    stack.PMLimits
		backoff   *stack.PMBackoff
		plain     bool
		steps     []pmStep
	}{
		{
			name: "backoff doubles and resets", endpoints: []stack.PMEndpoint{sub2}, limits: stack.PMLimits{Subflows: 2},
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
				{100 * time.Millisecond, evUp(l2, peer), nil},
				{10 * time.Second, evDown(l2, peer, errTimeout, nil), []string{"timer +11s"}},
				{11 * time.Second, evTimer, []string{"add 10.0.2.1:40002 > 10.0.1.2:80"}},
				// Never established: the second failure in a row.
				{12 * time.Second, evDown(l2, peer, errTimeout, nil), []string{"timer +14s"}},
				{14 * time.Second, evTimer, []string{"add 10.0.2.1:40003 > 10.0.1.2:80"}},
				{14*time.Second + 500*time.Millisecond, evUp(l2, peer), nil},
				// Up for 5 s only: the third.
				{19*time.Second + 500*time.Millisecond, evDown(l2, peer, errTimeout, nil), []string{"timer +23.5s"}},
				{23*time.Second + 500*time.Millisecond, evTimer, []string{"add 10.0.2.1:40004 > 10.0.1.2:80"}},
				{24 * time.Second, evUp(l2, peer), nil},
				// Up for 30 s: the count starts again.
				{54 * time.Second, evDown(l2, peer, errTimeout, nil), []string{"timer +55s"}},
				{55 * time.Second, evTimer, []string{"add 10.0.2.1:40005 > 10.0.1.2:80"}},
			},
		},
		{
			name: "cap and give up", endpoints: []stack.PMEndpoint{sub2}, limits: stack.PMLimits{Subflows: 2},
			backoff: &stack.PMBackoff{Initial: time.Second, Max: 3 * time.Second, MaxAttempts: 3},
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
				{time.Second, evDown(l2, peer, errTimeout, nil), []string{"timer +2s"}},
				{2 * time.Second, evTimer, []string{"add 10.0.2.1:40002 > 10.0.1.2:80"}},
				{3 * time.Second, evDown(l2, peer, errTimeout, nil), []string{"timer +5s"}},
				{5 * time.Second, evTimer, []string{"add 10.0.2.1:40003 > 10.0.1.2:80"}},
				{6 * time.Second, evDown(l2, peer, errTimeout, nil), []string{"timer +9s"}}, // 4 s capped at 3 s
				{9 * time.Second, evTimer, []string{"add 10.0.2.1:40004 > 10.0.1.2:80"}},
				{10 * time.Second, evDown(l2, peer, errTimeout, nil), nil}, // a fourth: given up
				{20 * time.Second, evAddrAdded(l2), []string{"add 10.0.2.1:40005 > 10.0.1.2:80"}},
			},
		},
		{
			name: "not retried", endpoints: []stack.PMEndpoint{sub2}, limits: stack.PMLimits{Subflows: 2},
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
				{time.Second, evDown(l2, peer, errTimeout, requested), nil},
				{2 * time.Second, evAddrAdded(l2), []string{"add 10.0.2.1:40002 > 10.0.1.2:80"}},
				{3 * time.Second, evDown(l2, peer, nil, nil), nil}, // closed in order
				{4 * time.Second, evAddrAdded(l2), []string{"add 10.0.2.1:40003 > 10.0.1.2:80"}},
				{5 * time.Second, evDown(l2, peer, errTimeout, func(ev *stack.PMEvent) { ev.Reset, ev.ResetReason = true, 3 }), nil},
				{6 * time.Second, evAddrAdded(l2), []string{"add 10.0.2.1:40004 > 10.0.1.2:80"}},
				// A transient MP_TCPRST (flag T) is retried, even at
				// the SYN.
				{7 * time.Second, evDown(l2, peer, tcp.ErrConnectionRefused, func(ev *stack.PMEvent) { ev.Reset, ev.ResetTransient = true, true }),
					[]string{"timer +8s"}},
				{8 * time.Second, evTimer, []string{"add 10.0.2.1:40005 > 10.0.1.2:80"}},
				// A plain RST to the SYN: refused, not retried.
				{9 * time.Second, evDown(l2, peer, tcp.ErrConnectionRefused, nil), nil},
				{10 * time.Second, evAddrAdded(l2), []string{"add 10.0.2.1:40006 > 10.0.1.2:80"}},
				// A plain RST later: retried.
				{11 * time.Second, evDown(l2, peer, tcp.ErrConnectionReset, nil), []string{"timer +12s"}},
			},
		},
		{
			name: "no route", endpoints: []stack.PMEndpoint{sub2}, limits: stack.PMLimits{Subflows: 2},
			steps: []pmStep{
				{0, then(func(*pmtest.Controller) { noRoute = true }, evEstablished),
					[]string{"add 10.0.2.1 > 10.0.1.2:80: stack: no route to host", "timer +1s"}},
				{time.Second, evTimer, []string{"add 10.0.2.1 > 10.0.1.2:80: stack: no route to host", "timer +3s"}},
				// The link comes back: at once, whatever the backoff.
				{2 * time.Second, then(func(*pmtest.Controller) { noRoute = false }, evAddrAdded(l2)),
					[]string{"add 10.0.2.1:40001 > 10.0.1.2:80", "timer off"}},
			},
		},
		{
			name:      "addresses leave and come back",
			endpoints: []stack.PMEndpoint{{ID: 1, Addr: addr(l2), Port: 7100, Flags: stack.EndpointSignal}, sub3},
			limits:    stack.PMLimits{Subflows: 2},
			steps: []pmStep{
				{0, evEstablished, []string{"announce 10.0.2.1:7100 id 1", "add 10.0.3.1:40001 > 10.0.1.2:80"}},
				{time.Second, evAddrRemoved(l3), []string{"remove id 2"}},
				{time.Second, evGone("10.0.3.1:40001", "10.0.1.2:80"), nil},
				{2 * time.Second, evAddrRemoved(l2), []string{"remove id 1"}},
				// An address that is no endpoint's is not ours to withdraw.
				{2 * time.Second, evAddrRemoved("10.0.1.1"), nil},
				{3 * time.Second, evAddrAdded(l2), []string{"announce 10.0.2.1:7100 id 1"}},
				{4 * time.Second, evAddrAdded(l3), []string{"add 10.0.3.1:40002 > 10.0.1.2:80"}},
			},
		},
		{
			name: "an address back retries all waiting", endpoints: []stack.PMEndpoint{sub2, sub3}, limits: stack.PMLimits{Subflows: 2},
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80", "add 10.0.3.1:40002 > 10.0.1.2:80"}},
				{time.Second, evDown(l3, peer, errTimeout, nil), []string{"timer +2s"}},
				{1500 * time.Millisecond, evDown(l2, peer, errTimeout, requested), nil},
				{1800 * time.Millisecond, evAddrAdded(l2),
					[]string{"add 10.0.2.1:40003 > 10.0.1.2:80", "add 10.0.3.1:40004 > 10.0.1.2:80", "timer off"}},
			},
		},
		{
			name: "announced addresses", limits: stack.PMLimits{Subflows: 2, AddAddrAccepted: 1},
			steps: []pmStep{
				{0, evEstablished, nil},
				{time.Second, evAnnounced(5, "10.0.9.2:0"), []string{"add 10.0.1.1:40001 > 10.0.9.2:80"}},
				{2 * time.Second, evDown(l1, "10.0.9.2", errTimeout, nil), []string{"timer +3s"}},
				// Withdrawn by the peer: no retry.
				{2500 * time.Millisecond, evRemoved(5), []string{"timer off"}},
				{4 * time.Second, evAnnounced(6, "10.0.8.2:8080"), []string{"add 10.0.1.1:40002 > 10.0.8.2:8080"}},
				{5 * time.Second, evAnnounced(7, "10.0.7.2:0"), nil}, // over add_addr_accepted
			},
		},
		{
			name: "limit", endpoints: []stack.PMEndpoint{sub2, sub3}, limits: stack.PMLimits{Subflows: 1},
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
				// The room it leaves goes to the endpoint held back.
				{time.Second, evDown(l2, peer, errTimeout, nil), []string{"add 10.0.3.1:40002 > 10.0.1.2:80", "timer +2s"}},
				{2 * time.Second, evTimer, nil},
				{3 * time.Second, evDown(l3, peer, nil, requested), []string{"add 10.0.2.1:40003 > 10.0.1.2:80"}},
			},
		},
		{
			name: "fullmesh", endpoints: []stack.PMEndpoint{{ID: 1, Addr: addr(l2), Flags: stack.EndpointFullmesh | stack.EndpointBackup}},
			limits: stack.PMLimits{Subflows: 4, AddAddrAccepted: 2},
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80 backup"}},
				{time.Second, evAnnounced(3, "10.0.9.2:8080"), []string{"add 10.0.2.1:40002 > 10.0.9.2:8080 backup"}},
				{2 * time.Second, evDown(l2, "10.0.9.2", errTimeout, nil), []string{"timer +3s"}},
				{3 * time.Second, evTimer, []string{"add 10.0.2.1:40003 > 10.0.9.2:8080 backup"}},
			},
		},
		{
			name: "Linux: no retry", endpoints: []stack.PMEndpoint{sub2}, limits: stack.PMLimits{Subflows: 2},
			backoff: &stack.PMBackoff{Initial: -1},
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
				{time.Second, evDown(l2, peer, errTimeout, nil), nil},
				{2 * time.Second, evAddrAdded(l2), []string{"add 10.0.2.1:40002 > 10.0.1.2:80"}},
			},
		},
		{
			name: "no timer", endpoints: []stack.PMEndpoint{sub2}, limits: stack.PMLimits{Subflows: 2}, plain: true,
			steps: []pmStep{
				{0, evEstablished, []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
				{time.Second, evDown(l2, peer, errTimeout, nil), nil},
				{2 * time.Second, evAddrAdded(l2), []string{"add 10.0.2.1:40002 > 10.0.1.2:80"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noRoute = false
			pm := stack.NewKernelPM(tt.endpoints, tt.limits)
			if tt.backoff != nil {
				pm.SetBackoff(*tt.backoff)
			}
			fake := newFake()
			fake.AddErr = func(netip.Addr, netip.AddrPort) error {
				if noRoute {
					return stack.ErrNoRoute
				}
				return nil
			}
			var c stack.Controller = fake
			if tt.plain {
				c = plainController{fake}
			}
			runPMSteps(t, pm, c, fake, tt.steps)
		})
	}
}

// TestPMBackoff: the waits of the backoff rule and its defaults.
func TestPMBackoff(t *testing.T) {
	tests := []struct {
		b    stack.PMBackoff
		want []time.Duration // after failures 1, 2, …; -1: no attempt
	}{
		{stack.PMBackoff{}, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
			32 * time.Second, time.Minute, time.Minute}},
		{stack.PMBackoff{Initial: 300 * time.Millisecond, Max: time.Second, MaxAttempts: 4},
			[]time.Duration{300 * time.Millisecond, 600 * time.Millisecond, time.Second, time.Second, -1}},
		{stack.PMBackoff{Initial: -1}, []time.Duration{-1}},
		{stack.PMBackoff{Initial: 5 * time.Second, Max: time.Second}, []time.Duration{5 * time.Second, 5 * time.Second}},
	}
	for _, tt := range tests {
		var got []time.Duration
		for n := 1; n <= len(tt.want); n++ {
			d, ok := tt.b.Delay(n)
			if !ok {
				d = -1
			}
			got = append(got, d)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%+v: waits (-want +got):\n%s", tt.b, diff)
		}
	}
	if d, ok := (stack.PMBackoff{}).Delay(200); !ok || d != time.Minute {
		t.Errorf("failure 200: %v %v, want 1m", d, ok)
	}
	var r stack.PMRetry
	now := pmBase
	if !r.Fail(now, time.Time{}, stack.PMBackoff{}) || r.At != now.Add(time.Second) || r.Failures != 1 {
		t.Fatalf("first failure: %+v", r)
	}
	if r.Due(now.Add(999*time.Millisecond)) || !r.Waiting(now) {
		t.Errorf("due early: %+v", r)
	}
	if !r.Due(now.Add(time.Second)) || !r.At.IsZero() {
		t.Errorf("not due at its time: %+v", r)
	}
	// Up for 29 s: counts on; for 30 s: starts again.
	r.Fail(now.Add(40*time.Second), now.Add(11*time.Second), stack.PMBackoff{})
	if r.Failures != 2 {
		t.Errorf("after 29 s up: %d failures, want 2", r.Failures)
	}
	r.Fail(now.Add(80*time.Second), now.Add(50*time.Second), stack.PMBackoff{})
	if r.Failures != 1 || r.At != now.Add(81*time.Second) {
		t.Errorf("after 30 s up: %+v, want 1 failure and a retry 1 s later", r)
	}
}
