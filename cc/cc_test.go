package cc

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const mss = 1000

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestRegistry(t *testing.T) {
	if diff := cmp.Diff([]string{"balia", "cubic", "lia", "olia", "reno", "wvegas"}, Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	for _, name := range []string{"reno", "cubic"} {
		c, err := New(name, Config{MSS: mss})
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		if c.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, c.Name())
		}
		if got, want := c.Cwnd(), 10*mss; got != want {
			t.Errorf("%s initial cwnd = %d, want %d (RFC 6928)", name, got, want)
		}
	}
	if _, err := New("nope", Config{MSS: mss}); !errors.Is(err, ErrUnknown) {
		t.Errorf("New(nope) error = %v, want ErrUnknown", err)
	}
	if _, err := New("reno", Config{MSS: 0}); err == nil {
		t.Error("New with MSS 0 succeeded")
	}
	if _, err := New("reno", Config{MSS: mss, InitialWindow: -1}); err == nil {
		t.Error("New with negative initial window succeeded")
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("duplicate Register did not panic")
		}
	}()
	Register("reno", NewReno)
}

// step is one event fed to a controller in the table tests.
type step struct {
	at      time.Duration // since t0
	ack     int           // bytes acked (OnAck)
	loss    int           // OnCongestionEvent with this flight size
	rto     int           // OnRTO with this flight size
	repeat  bool          // RTO is a repeat
	exit    bool          // OnRecoveryExit
	limited bool          // ack while not cwnd-limited
}

func apply(c Controller, s step, srtt time.Duration) {
	now := t0.Add(s.at)
	switch {
	case s.loss > 0:
		c.OnCongestionEvent(Loss{Now: now, InFlight: s.loss})
	case s.rto > 0:
		c.OnRTO(Loss{Now: now, InFlight: s.rto, Repeat: s.repeat})
	case s.exit:
		c.OnRecoveryExit(now)
	default:
		c.OnAck(Ack{Now: now, BytesAcked: s.ack, RTT: srtt, SRTT: srtt, CwndLimited: !s.limited})
	}
}

// renoModel is RFC 5681 written out independently: it returns the expected
// (cwnd, ssthresh) after each step.
func renoModel(steps []step) [][2]int {
	cwnd, ssthresh, acc := 10*mss, math.MaxInt32, 0
	var out [][2]int
	for _, s := range steps {
		switch {
		case s.loss > 0:
			ssthresh = s.loss / 2
			if ssthresh < 2*mss {
				ssthresh = 2 * mss
			}
			cwnd, acc = ssthresh, 0
		case s.rto > 0:
			if !s.repeat {
				ssthresh = s.rto / 2
				if ssthresh < 2*mss {
					ssthresh = 2 * mss
				}
			}
			cwnd, acc = mss, 0
		case s.exit:
			cwnd = ssthresh
		case s.limited:
		case cwnd < ssthresh:
			inc := s.ack
			if inc > 2*mss {
				inc = 2 * mss
			}
			cwnd += inc
		default:
			acc += s.ack
			if acc >= cwnd {
				acc -= cwnd
				cwnd += mss
			}
		}
		out = append(out, [2]int{cwnd, ssthresh})
	}
	return out
}

func TestRenoTable(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"slow start", []step{{ack: mss}, {ack: 2 * mss}, {ack: 5 * mss}, {ack: 1}}},
		{"app limited", []step{{ack: mss, limited: true}, {ack: mss}}},
		{"loss then avoidance", []step{
			{ack: 10 * mss}, {loss: 20 * mss}, {exit: true},
			{ack: 4 * mss}, {ack: 4 * mss}, {ack: 4 * mss}, {ack: 10 * mss}, {ack: 11 * mss},
		}},
		{"small flight floors at 2 MSS", []step{{loss: mss}, {exit: true}, {ack: mss}}},
		{"rto and repeat", []step{
			{ack: 10 * mss}, {rto: 16 * mss}, {rto: 3 * mss, repeat: true}, {ack: mss}, {ack: mss},
			{ack: 2 * mss}, {ack: 2 * mss}, {ack: 5 * mss}, {ack: 5 * mss},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New("reno", Config{MSS: mss})
			if err != nil {
				t.Fatal(err)
			}
			want := renoModel(tt.steps)
			var got [][2]int
			for _, s := range tt.steps {
				apply(c, s, 100*time.Millisecond)
				got = append(got, [2]int{c.Cwnd(), c.Ssthresh()})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(cwnd, ssthresh) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// cubicModel is RFC 9438 written out independently, in segments.
type cubicModel struct {
	cwnd, ssthresh, wMax, prior, k, wEst float64
	epoch                                time.Time
	epochSet, afterRTO                   bool
}

func (m *cubicModel) step(s step, rtt time.Duration) {
	const beta, C = 0.7, 0.4
	now := t0.Add(s.at)
	reduce := func() float64 {
		m.prior = m.cwnd
		if m.cwnd < m.wMax { // fast convergence, §4.7
			m.wMax = m.cwnd * (1 + beta) / 2
		} else {
			m.wMax = m.cwnd
		}
		return math.Max(m.cwnd*beta, 2)
	}
	switch {
	case s.loss > 0:
		m.ssthresh = reduce()
		m.cwnd = m.ssthresh
		m.epochSet = false
	case s.rto > 0:
		if !s.repeat {
			m.ssthresh = reduce()
		}
		m.cwnd = 1
		m.epochSet = false
		m.afterRTO = true
	case s.exit:
		m.cwnd = m.ssthresh
	case s.limited:
	case m.cwnd < m.ssthresh:
		m.cwnd += math.Min(float64(s.ack), 2*mss) / mss
	default:
		if !m.epochSet {
			m.epochSet, m.epoch, m.wEst = true, now, m.cwnd
			if m.afterRTO || m.wMax <= m.cwnd {
				m.k, m.wMax, m.afterRTO = 0, m.cwnd, false
				if m.prior == 0 {
					m.prior = m.cwnd
				}
			} else {
				m.k = math.Cbrt((m.wMax - m.cwnd) / C)
			}
		}
		t := now.Sub(m.epoch).Seconds()
		w := func(t float64) float64 { return C*math.Pow(t-m.k, 3) + m.wMax }
		a := 3 * (1 - beta) / (1 + beta)
		if m.wEst >= m.prior {
			a = 1
		}
		acked := float64(s.ack) / mss
		m.wEst += a * acked / m.cwnd
		if w(t) < m.wEst {
			m.cwnd = m.wEst
			return
		}
		target := math.Min(math.Max(w(t+rtt.Seconds()), m.cwnd), 1.5*m.cwnd)
		m.cwnd += (target - m.cwnd) / m.cwnd * acked
	}
}

func TestCubicTable(t *testing.T) {
	const rtt = 100 * time.Millisecond
	// acks returns n ACKs of size bytes, one per RTT/per, from start.
	acks := func(start time.Duration, n, size int, every time.Duration) []step {
		var s []step
		for i := range n {
			s = append(s, step{at: start + time.Duration(i)*every, ack: size})
		}
		return s
	}
	cat := func(parts ...[]step) []step {
		var s []step
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"slow start", acks(0, 20, mss, 10*time.Millisecond)},
		{"loss then concave and convex", cat(
			acks(0, 90, mss, time.Millisecond), // cwnd 10 -> 100 segments
			[]step{{at: 100 * time.Millisecond, loss: 100 * mss}, {at: 150 * time.Millisecond, exit: true}},
			acks(200*time.Millisecond, 400, 2*mss, 20*time.Millisecond), // 8 s of avoidance
		)},
		{"fast convergence", cat(
			acks(0, 90, mss, time.Millisecond),
			[]step{{at: 100 * time.Millisecond, loss: 100 * mss}, {at: 110 * time.Millisecond, exit: true}},
			acks(120*time.Millisecond, 20, mss, 10*time.Millisecond),
			[]step{{at: 400 * time.Millisecond, loss: 50 * mss}, {at: 410 * time.Millisecond, exit: true}},
			acks(420*time.Millisecond, 200, mss, 10*time.Millisecond),
		)},
		{"reno-friendly region at small window", cat(
			[]step{{loss: 10 * mss}, {exit: true}},
			acks(time.Millisecond, 300, mss, 5*time.Millisecond),
		)},
		{"rto", cat(
			acks(0, 40, mss, time.Millisecond),
			[]step{{at: 50 * time.Millisecond, rto: 50 * mss}, {at: 60 * time.Millisecond, rto: 50 * mss, repeat: true}},
			acks(100*time.Millisecond, 300, mss, 10*time.Millisecond),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New("cubic", Config{MSS: mss})
			if err != nil {
				t.Fatal(err)
			}
			m := &cubicModel{cwnd: 10, ssthresh: math.MaxInt32}
			for i, s := range tt.steps {
				apply(c, s, rtt)
				m.step(s, rtt)
				if got, want := c.Cwnd(), int(m.cwnd*mss); got != want {
					t.Fatalf("step %d (%+v): cwnd = %d, want %d", i, s, got, want)
				}
				if m.ssthresh < math.MaxInt32 {
					if got, want := c.Ssthresh(), int(m.ssthresh*mss); got != want {
						t.Fatalf("step %d: ssthresh = %d, want %d", i, got, want)
					}
				}
			}
		})
	}
}

// TestCubicShape checks CUBIC's defining properties rather than formulas:
// the window returns to W_max about K seconds after a loss, and grows beyond
// it afterwards.
func TestCubicShape(t *testing.T) {
	c := NewCubic(Config{MSS: mss, InitialWindow: 100})
	c.OnCongestionEvent(Loss{Now: t0, InFlight: 100 * mss})
	if got, want := c.Cwnd(), 70*mss; got != want {
		t.Fatalf("cwnd after loss = %d, want %d (β = 0.7)", got, want)
	}
	c.OnRecoveryExit(t0)
	k := math.Cbrt((100 - 70) / 0.4) // seconds
	now := t0
	const rtt = 100 * time.Millisecond // long enough that CUBIC, not the Reno-friendly region, rules
	for now.Sub(t0).Seconds() < k-0.01 {
		now = now.Add(rtt)
		// One ACK per RTT covering the whole window.
		c.OnAck(Ack{Now: now, BytesAcked: c.Cwnd(), SRTT: rtt, RTT: rtt, CwndLimited: true})
	}
	if got := float64(c.Cwnd()) / mss; math.Abs(got-100) > 2 {
		t.Errorf("cwnd at t≈K = %.1f segments, want ≈ W_max = 100", got)
	}
	for range 20 {
		now = now.Add(rtt)
		c.OnAck(Ack{Now: now, BytesAcked: c.Cwnd(), SRTT: rtt, RTT: rtt, CwndLimited: true})
	}
	if got := float64(c.Cwnd()) / mss; got <= 101 {
		t.Errorf("cwnd 2 s after K = %.1f segments, want > W_max (convex region)", got)
	}
}

func TestSetMSSKeepsBytes(t *testing.T) {
	for _, name := range []string{"reno", "cubic"} {
		c, _ := New(name, Config{MSS: 1000})
		before := c.Cwnd()
		c.SetMSS(500)
		if got := c.Cwnd(); got != before {
			t.Errorf("%s: cwnd after SetMSS = %d, want %d", name, got, before)
		}
		c.OnRTO(Loss{Now: t0, InFlight: 10000})
		if got := c.Cwnd(); got != 500 {
			t.Errorf("%s: cwnd after RTO = %d, want 1 new MSS = 500", name, got)
		}
	}
}

func TestGroup(t *testing.T) {
	g := NewGroup()
	a, b := g.Join(), g.Join()
	a.Update(SubflowState{Cwnd: 10, SRTT: time.Millisecond})
	b.Update(SubflowState{Cwnd: 20, SRTT: 2 * time.Millisecond})
	want := []SubflowState{{Cwnd: 10, SRTT: time.Millisecond}, {Cwnd: 20, SRTT: 2 * time.Millisecond}}
	if diff := cmp.Diff(want, g.Snapshot(nil)); diff != "" {
		t.Errorf("Snapshot mismatch (-want +got):\n%s", diff)
	}
	a.Leave()
	a.Leave()
	if g.Len() != 1 || a.Group() != nil || b.Group() != g {
		t.Errorf("after Leave: Len = %d, a.Group = %v", g.Len(), a.Group())
	}
	if got := g.Snapshot(nil); len(got) != 1 || got[0].Cwnd != 20 {
		t.Errorf("Snapshot after Leave = %+v", got)
	}
}

func TestHyStartPP(t *testing.T) {
	// Rounds of 10 ACKs of one segment each; the RTT of each round is
	// given. Expected cwnd is computed from RFC 9406 independently.
	type round struct {
		rtt time.Duration
	}
	run := func(rtts []time.Duration) (cwnds []int, ssthresh int) {
		c := NewCubic(Config{MSS: mss, InitialWindow: 10})
		now := t0
		for r, rtt := range rtts {
			for range 10 {
				now = now.Add(time.Millisecond)
				c.OnAck(Ack{Now: now, BytesAcked: mss, RTT: rtt, SRTT: rtt, CwndLimited: true, Round: uint64(r)})
			}
			cwnds = append(cwnds, c.Cwnd())
		}
		return cwnds, c.Ssthresh()
	}
	// Flat RTT: plain slow start, 10 segments per round of 10 ACKs.
	cw, ss := run([]time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond})
	if diff := cmp.Diff([]int{20 * mss, 30 * mss, 40 * mss}, cw); diff != "" || ss != math.MaxInt32 {
		t.Fatalf("flat RTT (-want +got):\n%s ssthresh %d", diff, ss)
	}
	// RTT rises by more than max(4ms, 50ms/8 = 6.25ms) in round 1:
	// the first 7 ACKs of round 1 grow normally (fewer than
	// N_RTT_SAMPLE = 8 samples), then CSS grows by 1/4 per ACK. Five
	// more rounds in CSS end slow start with ssthresh = cwnd.
	rtts := []time.Duration{50 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond}
	cw, ss = run(rtts)
	want := []int{20 * mss, 20*mss + 7*mss + 3*mss/4}
	for range 4 {
		want = append(want, want[len(want)-1]+10*mss/4)
	}
	// Round 6 is the fifth CSS round: its first ACK ends slow start; the
	// remaining ACKs are congestion avoidance (cwnd grows by < 1 segment).
	if diff := cmp.Diff(want, cw[:6]); diff != "" {
		t.Fatalf("CSS growth (-want +got):\n%s", diff)
	}
	if ss != want[5] {
		t.Fatalf("ssthresh %d, want cwnd at CSS exit %d", ss, want[5])
	}
	if cw[7]-cw[5] > 2*mss {
		t.Fatalf("cwnd still in slow start after CSS: %v", cw)
	}
	// A spurious increase: the RTT drops back below the CSS baseline and
	// slow start resumes.
	cw, ss = run([]time.Duration{50 * time.Millisecond, 60 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond})
	if ss != math.MaxInt32 || cw[3]-cw[2] != 10*mss {
		t.Fatalf("after spurious CSS: cwnd %v ssthresh %d", cw, ss)
	}
}

// TestHyStartACKTrain checks the ACK-train detection: in a round whose ACKs
// arrive back to back (1 ms apart) for longer than (MinRTT + 1 ms)/2, slow
// start ends with ssthresh = cwnd, but not below 16 segments, not when a
// gap of more than 2 ms broke the train, and not without a minimum RTT.
func TestHyStartACKTrain(t *testing.T) {
	// run feeds rounds of n ACKs of one segment each, 1 ms apart, a gap
	// of gap after the first ACK of each round, and reports the round and
	// ACK at which slow start ended (-1, -1 if it did not).
	run := func(iw, n int, gap, minRTT time.Duration) (round, ack int, ssthresh int) {
		c := NewCubic(Config{MSS: mss, InitialWindow: iw})
		now := t0
		for r := range 6 {
			for k := range n {
				now = now.Add(time.Millisecond)
				if k == 1 {
					now = now.Add(gap)
				}
				c.OnAck(Ack{Now: now, BytesAcked: mss, RTT: minRTT, SRTT: minRTT, MinRTT: minRTT, CwndLimited: true, Round: uint64(r)})
				if c.Ssthresh() != math.MaxInt32 {
					return r, k, c.Ssthresh()
				}
			}
		}
		return -1, -1, 0
	}
	// MinRTT 20 ms: the train must last more than 10.5 ms, so the 12th
	// ACK of a round (11 ms after its first) ends slow start; cwnd is
	// then 20 + 11 segments in the first round.
	if r, k, ss := run(20, 30, 0, 20*time.Millisecond); r != 0 || k != 11 || ss != 31*mss {
		t.Errorf("train: ended in round %d at ACK %d with ssthresh %d; want round 0, ACK 11, %d", r, k, ss, 31*mss)
	}
	// MinRTT 4 ms: a train of 2.5 ms is enough, but below 16 segments
	// nothing ends slow start: the 7th ACK (10 + 6 segments) does.
	if r, k, ss := run(10, 30, 0, 4*time.Millisecond); r != 0 || k != 6 || ss != 16*mss {
		t.Errorf("small window: ended in round %d at ACK %d with ssthresh %d; want round 0, ACK 6, %d", r, k, ss, 16*mss)
	}
	// Trains of 8 ACKs (7 ms) are too short for MinRTT 20 ms.
	if r, k, _ := run(20, 8, 0, 20*time.Millisecond); r != -1 {
		t.Errorf("short trains: ended in round %d at ACK %d", r, k)
	}
	// A 3 ms gap after each round's first ACK breaks its train.
	if r, k, _ := run(20, 30, 3*time.Millisecond, 20*time.Millisecond); r != -1 {
		t.Errorf("broken trains: ended in round %d at ACK %d", r, k)
	}
	// Without a minimum RTT there is no threshold.
	if r, k, _ := run(20, 30, 0, 0); r != -1 {
		t.Errorf("no minimum RTT: ended in round %d at ACK %d", r, k)
	}
}
