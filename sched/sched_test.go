package sched_test

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/sched"
	"github.com/gomptcp/mptcp/tcp"
)

const ms = time.Millisecond

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// id is a distinct 4-tuple for subflow n.
func id(n int) tcp.ConnID {
	return tcp.ConnID{
		Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n), 0, 1}), 40000),
		Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n), 0, 2}), 5001),
	}
}

// sf is a subflow status with MSS 1000 and a slow-start threshold below
// its window (congestion avoidance), numbered n.
func sf(n int, rtt time.Duration, cwnd, inflight int) sched.SubflowStatus {
	return sched.SubflowStatus{ID: id(n), RTT: rtt, Cwnd: cwnd, Ssthresh: 8000, InFlight: inflight, MSS: 1000}
}

// pickResult is what a PickView decided: the index, the limit and the
// subflows marked for a copy.
type pickResult struct {
	Pick   int
	Limit  int
	Copies []int
}

func decide(s sched.Scheduler, v *sched.View) pickResult {
	var k int
	if cs, ok := s.(sched.ConnScheduler); ok {
		k = cs.PickView(v)
	} else {
		k = s.Pick(v.Subflows)
	}
	r := pickResult{Pick: k, Limit: v.Limit}
	for i := range v.Subflows {
		if v.Subflows[i].Copy {
			r.Copies = append(r.Copies, i)
		}
	}
	return r
}

// step is one call of a stateful scheduler: the view it gets and what it
// must decide.
type step struct {
	name string
	view sched.View
	want pickResult
}

// run feeds the steps to one instance (a fresh one, as the engine makes
// per connection) and checks every decision.
func run(t *testing.T, s sched.Scheduler, steps []step) {
	t.Helper()
	if cs, ok := s.(sched.ConnScheduler); ok {
		s = cs.NewConn()
	}
	for i, st := range steps {
		v := st.view
		v.Subflows = append([]sched.SubflowStatus(nil), st.view.Subflows...)
		for k := range v.Subflows {
			v.Subflows[k].Copy = false
		}
		v.Limit = 0
		if v.ChunkSize == 0 {
			v.ChunkSize = 16384
		}
		got := decide(s, &v)
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Fatalf("step %d (%s): decision differs (-want +got):\n%s", i, st.name, diff)
		}
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		subs []sched.SubflowStatus
		want int
	}{
		{"lowest RTT", []sched.SubflowStatus{sf(1, 30*ms, 10000, 0), sf(2, 10*ms, 10000, 0), sf(3, 20*ms, 10000, 0)}, 1},
		{"fastest full", []sched.SubflowStatus{sf(1, 30*ms, 10000, 0), sf(2, 10*ms, 10000, 10000)}, 0},
		{"all full", []sched.SubflowStatus{sf(1, 30*ms, 10000, 10000), sf(2, 10*ms, 10000, 12000)}, -1},
		{"queued counts", []sched.SubflowStatus{func() sched.SubflowStatus { s := sf(1, 5*ms, 10000, 4000); s.Queued = 6000; return s }(), sf(2, 50*ms, 10000, 0)}, 1},
		{"backup left alone while a regular one exists", []sched.SubflowStatus{backup(sf(1, 5*ms, 10000, 0)), sf(2, 50*ms, 10000, 10000)}, -1},
		{"backups among themselves", []sched.SubflowStatus{backup(sf(1, 50*ms, 10000, 0)), backup(sf(2, 5*ms, 10000, 0))}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sched.Default().Pick(tt.subs); got != tt.want {
				t.Errorf("Pick = %d, want %d", got, tt.want)
			}
		})
	}
}

func backup(s sched.SubflowStatus) sched.SubflowStatus { s.Backup = true; return s }

func queued(s sched.SubflowStatus, n int) sched.SubflowStatus { s.Queued = n; return s }

func TestRoundRobin(t *testing.T) {
	two := []sched.SubflowStatus{sf(1, 10*ms, 10000, 0), sf(2, 80*ms, 10000, 0)}
	firstFull := []sched.SubflowStatus{sf(1, 10*ms, 10000, 10000), sf(2, 80*ms, 10000, 0)}
	view := func(subs []sched.SubflowStatus, pending int) sched.View {
		return sched.View{Now: t0, Subflows: subs, Pending: pending, Unsent: pending, Window: 1 << 20}
	}
	t.Run("turns of two segments", func(t *testing.T) {
		run(t, sched.RoundRobin(2, true), []step{
			{"first turn", view(two, 100000), pickResult{Pick: 0, Limit: 2000}},
			{"second", view(two, 100000), pickResult{Pick: 1, Limit: 2000}},
			{"new round", view(two, 100000), pickResult{Pick: 0, Limit: 2000}},
			// A short chunk (500 bytes, 1 segment) leaves one
			// segment of the turn.
			{"short chunk", view(two, 500), pickResult{Pick: 1, Limit: 2000}},
			{"rest of the turn", view(two, 100000), pickResult{Pick: 1, Limit: 1000}},
			{"next", view(two, 100000), pickResult{Pick: 0, Limit: 2000}},
		})
	})
	t.Run("cwnd-limited skips a full window", func(t *testing.T) {
		run(t, sched.RoundRobin(1, true), []step{
			{"first full", view(firstFull, 100000), pickResult{Pick: 1, Limit: 1000}},
			{"still full: second again", view(firstFull, 100000), pickResult{Pick: 1, Limit: 1000}},
			{"first has room", view(two, 100000), pickResult{Pick: 0, Limit: 1000}},
		})
	})
	t.Run("strict turns wait", func(t *testing.T) {
		run(t, sched.RoundRobin(1, false), []step{
			{"first's turn, full", view(firstFull, 100000), pickResult{Pick: -1}},
			{"first has room", view(two, 100000), pickResult{Pick: 0, Limit: 1000}},
			{"second", view(two, 100000), pickResult{Pick: 1, Limit: 1000}},
		})
	})
	t.Run("backups only alone", func(t *testing.T) {
		mixed := []sched.SubflowStatus{backup(sf(1, 10*ms, 10000, 0)), sf(2, 80*ms, 10000, 0)}
		both := []sched.SubflowStatus{backup(sf(1, 10*ms, 10000, 0)), backup(sf(2, 80*ms, 10000, 0))}
		run(t, sched.RoundRobin(1, true), []step{
			{"regular", view(mixed, 100000), pickResult{Pick: 1, Limit: 1000}},
			{"regular again", view(mixed, 100000), pickResult{Pick: 1, Limit: 1000}},
			// The second backup had its turn as a regular
			// subflow: the first one's turn, then a new round.
			{"backups take turns", view(both, 100000), pickResult{Pick: 0, Limit: 1000}},
			{"new round", view(both, 100000), pickResult{Pick: 0, Limit: 1000}},
			{"the other backup", view(both, 100000), pickResult{Pick: 1, Limit: 1000}},
		})
	})
	t.Run("segments clamped to [1, 255]", func(t *testing.T) {
		run(t, sched.RoundRobin(0, true), []step{{"0 is 1", view(two, 100000), pickResult{Pick: 0, Limit: 1000}}})
		run(t, sched.RoundRobin(1000, true), []step{{"1000 is 255", view(two, 1<<20), pickResult{Pick: 0, Limit: 255000}}})
	})
	t.Run("nothing to consider", func(t *testing.T) {
		full := []sched.SubflowStatus{sf(1, 10*ms, 10000, 10000), sf(2, 80*ms, 10000, 10000)}
		run(t, sched.RoundRobin(1, true), []step{{"all full", view(full, 100000), pickResult{Pick: -1}}})
	})
}

func TestRedundant(t *testing.T) {
	tests := []struct {
		name string
		subs []sched.SubflowStatus
		want pickResult
	}{
		{"all get it", []sched.SubflowStatus{sf(1, 30*ms, 10000, 0), sf(2, 10*ms, 10000, 0), sf(3, 20*ms, 10000, 0)},
			pickResult{Pick: 1, Copies: []int{0, 2}}},
		{"copies beyond a full window", []sched.SubflowStatus{sf(1, 30*ms, 10000, 10000), sf(2, 10*ms, 10000, 0)},
			pickResult{Pick: 1, Copies: []int{0}}},
		{"not on a backlog of a window", []sched.SubflowStatus{queued(sf(1, 30*ms, 10000, 0), 10000), sf(2, 10*ms, 10000, 0), queued(sf(3, 40*ms, 10000, 0), 9999)},
			pickResult{Pick: 1, Copies: []int{2}}},
		{"no copy on a backup", []sched.SubflowStatus{backup(sf(1, 5*ms, 10000, 0)), sf(2, 10*ms, 10000, 0)},
			pickResult{Pick: 1}},
		{"none between backups", []sched.SubflowStatus{backup(sf(1, 5*ms, 10000, 0)), backup(sf(2, 10*ms, 10000, 0))},
			pickResult{Pick: 0}},
		{"nothing with room", []sched.SubflowStatus{sf(1, 5*ms, 10000, 10000), sf(2, 10*ms, 10000, 10000)},
			pickResult{Pick: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, sched.Redundant(), []step{{tt.name, sched.View{Subflows: tt.subs, Pending: 100000}, tt.want}})
		})
	}
}

// TestBLEST checks BLEST's decisions against its estimate computed by
// hand. Fast subflow: RTT 10 ms, window 10 segments of 1000 bytes, full.
// Slow subflow: RTT 100 ms, window 10 segments, empty. The chunk lingers
// 100 ms on the slow subflow (its smallest RTT plus 1/10 of the range
// between its smallest and largest RTT, which are equal); the fast
// subflow sends in 100/10 + 1 = 11 rounds (congestion avoidance, window
// max(10, 8+1) = 10) (10 + 10/2)·11 = 165 segments, 165 000 bytes, times
// λ = 1.2: 198 000. The slow subflow's bytes are the chunk, 16 000 (16 KiB
// in whole segments).
func TestBLEST(t *testing.T) {
	fastFull, slow := sf(1, 10*ms, 10000, 10000), sf(2, 100*ms, 10000, 0)
	view := func(at time.Duration, window, unsent, pending int, subs ...sched.SubflowStatus) sched.View {
		return sched.View{Now: t0.Add(at), Subflows: subs, Pending: pending, Unsent: unsent, Window: window}
	}
	t.Run("window decides", func(t *testing.T) {
		run(t, sched.BLEST(), []step{
			{"fast has room", view(0, 200000, 50000, 50000, sf(1, 10*ms, 10000, 0), slow), pickResult{Pick: 0}},
			// 262 144 − 16 000 = 246 144 ≥ 198 000.
			{"room for both", view(0, 262144, 50000, 50000, fastFull, slow), pickResult{Pick: 1}},
			// 200 000 − 16 000 = 184 000 < 198 000.
			{"slow would block", view(0, 200000, 50000, 50000, fastFull, slow), pickResult{Pick: -1}},
			// The slow subflow's bytes in flight count: 262 144 −
			// 16 000 − 50 000 = 196 144 < 198 000.
			{"slow in flight", view(0, 262144, 50000, 50000, fastFull, sf(2, 100*ms, 100000, 50000)), pickResult{Pick: -1}},
			// A small chunk: 200 000 − 1 000 = 199 000 ≥ 198 000.
			{"small chunk", view(0, 200000, 1000, 1000, fastFull, slow), pickResult{Pick: 1}},
		})
	})
	t.Run("lambda grows after blocking", func(t *testing.T) {
		// Window 216 000: 200 000 left after the chunk, above 198 000
		// (λ 1.2) and below 204 600 (λ 1.24).
		run(t, sched.BLEST(), []step{
			{"λ 1.2", view(0, 216000, 50000, 50000, fastFull, slow), pickResult{Pick: 1}},
			{"window-limited, within the period", view(50*ms, 216000, 80000, 50000, fastFull, slow), pickResult{Pick: 1}},
			{"λ 1.24 after a slow RTT", view(100*ms, 216000, 50000, 50000, fastFull, slow), pickResult{Pick: -1}},
			// λ goes back down 0.01 per period without blocking;
			// at 1.21 the estimate, 199 650, fits again.
			{"λ 1.23", view(200*ms, 216000, 50000, 50000, fastFull, slow), pickResult{Pick: -1}},
			{"λ 1.22", view(300*ms, 216000, 50000, 50000, fastFull, slow), pickResult{Pick: -1}},
			{"λ 1.21", view(400*ms, 216000, 50000, 50000, fastFull, slow), pickResult{Pick: 1}},
		})
	})
	t.Run("lambda bounds", func(t *testing.T) {
		// Blocked for ten periods, λ stops at 1.3: 214 500 fits in
		// 231 000 − 16 000 = 215 000 (1.4 would not). Then 45
		// periods without blocking stop it at 1.0: 165 000 does not fit
		// in 176 000 − 16 000 = 160 000 (0.9 would).
		steps := []step{{"start", view(0, 1<<20, 50000, 50000, fastFull, slow), pickResult{Pick: 1}}}
		at := time.Duration(0)
		for range 10 {
			at += 100 * ms
			steps = append(steps, step{"blocked", view(at, 1<<20, 80000, 50000, fastFull, slow), pickResult{Pick: 1}})
		}
		steps = append(steps, step{"λ at most 1.3", view(at+100*ms, 231000, 50000, 50000, fastFull, slow), pickResult{Pick: 1}})
		at += 100 * ms
		for range 45 {
			at += 100 * ms
			steps = append(steps, step{"not blocked", view(at, 1<<20, 50000, 50000, fastFull, slow), pickResult{Pick: 1}})
		}
		steps = append(steps, step{"λ at least 1.0", view(at+100*ms, 176000, 50000, 50000, fastFull, slow), pickResult{Pick: -1}})
		run(t, sched.BLEST(), steps)
	})
	t.Run("initial slow start", func(t *testing.T) {
		// The fast subflow in its initial slow start: 10·(2^11 − 1)
		// segments in 11 rounds, far beyond any window here.
		ss := fastFull
		ss.Ssthresh = math.MaxInt32
		run(t, sched.BLEST(), []step{{"exponential estimate", view(0, 4<<20, 50000, 50000, ss, slow), pickResult{Pick: -1}}})
	})
	t.Run("unmeasured fast subflow", func(t *testing.T) {
		run(t, sched.BLEST(), []step{{"no estimate", view(0, 1000, 50000, 50000, sf(1, 0, 10000, 10000), slow), pickResult{Pick: 1}}})
	})
	t.Run("Pick without a view is the default", func(t *testing.T) {
		if got := sched.BLEST().Pick([]sched.SubflowStatus{fastFull, slow}); got != 1 {
			t.Errorf("Pick = %d, want 1", got)
		}
	})
}

// TestECF checks ECF's decisions against its inequalities computed by
// hand, in microseconds and bytes. Fast subflow: RTT 10 ms, window 10 000
// bytes, full; slow subflow: RTT 100 ms, window 10 000 bytes, empty;
// δ = 5 ms.
func TestECF(t *testing.T) {
	fast, slow := sf(1, 10*ms, 10000, 10000), sf(2, 100*ms, 10000, 0)
	fast.RTTVar, slow.RTTVar = 1*ms, 5*ms
	view := func(unsent int, subs ...sched.SubflowStatus) sched.View {
		return sched.View{Now: t0, Subflows: subs, Pending: min(unsent, 16384), Unsent: unsent, Window: 1 << 30}
	}
	run(t, sched.ECF(), []step{
		// k = 20 000: 4·10 000·(20 000 + 10 000) = 1.2e9 < 4·10 000·
		// (100 000 + 5 000) = 4.2e9, and 100 000·20 000 = 2e9 ≥
		// 10 000·(2·10 000 + 5 000) = 2.5e8: wait.
		{"wait for the fast one", view(20000, fast, slow), pickResult{Pick: -1}},
		// k = 110 000: 4·10 000·120 000 = 4.8e9 ≥ 4.2e9, but waiting
		// adds β: 4.8e9 < 5·1.05e9 = 5.25e9, and 1e5·1.1e5 ≥ 2.5e8: wait.
		{"hysteresis", view(110000, fast, slow), pickResult{Pick: -1}},
		// k = 1 000 000: 4·10 000·1 010 000 = 4.04e10 ≥ 5.25e9: use the
		// slow one, and stop waiting.
		{"long queue", view(1000000, fast, slow), pickResult{Pick: 1}},
		{"no hysteresis now", view(110000, fast, slow), pickResult{Pick: 1}},
		{"fast has room", view(20000, sf(1, 10*ms, 10000, 0), slow), pickResult{Pick: 0}},
	})
	// The slower subflow is fast enough to help: RTT_s = 20 ms, δ = 2 ms.
	// 4·10 000·20 000 = 8e8 < 4·10 000·22 000 = 8.8e8, but 20 000·10 000 =
	// 2e8 < 10 000·(20 000 + 2 000) = 2.2e8: use it.
	f2, s2 := fast, sf(2, 20*ms, 10000, 0)
	f2.RTTVar, s2.RTTVar = 2*ms, 1*ms
	run(t, sched.ECF(), []step{{"slow one helps", view(5000, f2, s2), pickResult{Pick: 1}}})
	// Backups stay out of it: the fastest is the regular one.
	run(t, sched.ECF(), []step{{"backup", view(20000, backup(sf(3, 1*ms, 10000, 10000)), fast, slow), pickResult{Pick: -1}}})
}

func TestNew(t *testing.T) {
	want := []string{"blest", "default", "ecf", "redundant", "roundrobin"}
	if diff := cmp.Diff(want, sched.Names()); diff != "" {
		t.Fatalf("Names (-want +got):\n%s", diff)
	}
	for _, name := range want {
		f, err := sched.New(name)
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		a, b := f(), f()
		if a == nil || b == nil {
			t.Fatalf("New(%q) made nil", name)
		}
		if _, ok := a.(sched.ConnScheduler); ok && a == b {
			t.Errorf("New(%q): stateful scheduler instances are shared", name)
		}
	}
	for _, bad := range []string{"", "Default", "blest ", "lia", "round-robin"} {
		if f, err := sched.New(bad); !errors.Is(err, sched.ErrUnknown) || f != nil {
			t.Errorf("New(%q) = %v, %v; want ErrUnknown", bad, f != nil, err)
		}
	}
}

// TestNewConnFresh checks that NewConn gives an instance that shares no
// state with the one it came from: a ConnScheduler configured once serves
// every connection of a stack.
func TestNewConnFresh(t *testing.T) {
	two := []sched.SubflowStatus{sf(1, 10*ms, 10000, 0), sf(2, 80*ms, 10000, 0)}
	rr := sched.RoundRobin(1, true).(sched.ConnScheduler)
	a := rr.NewConn()
	v := sched.View{Subflows: append([]sched.SubflowStatus(nil), two...), Pending: 1 << 20, ChunkSize: 16384}
	if got := a.PickView(&v); got != 0 {
		t.Fatalf("first pick %d", got)
	}
	b := rr.NewConn()
	v.Limit = 0
	if got := b.PickView(&v); got != 0 {
		t.Errorf("a new connection's instance starts mid-round: pick %d, want 0", got)
	}
	v.Limit = 0
	if got := a.PickView(&v); got != 1 {
		t.Errorf("the first instance lost its round: pick %d, want 1", got)
	}
}

// TestMetaDefault checks that the engine's default is the same rule.
func TestMetaDefault(t *testing.T) {
	subs := []sched.SubflowStatus{sf(1, 30*ms, 10000, 0), sf(2, 10*ms, 10000, 10000), sf(3, 20*ms, 10000, 0)}
	if a, b := meta.LowestRTT().Pick(subs), sched.Default().Pick(subs); a != b || a != 2 {
		t.Errorf("meta.LowestRTT %d, sched.Default %d, want 2", a, b)
	}
}
