package cc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Tests of the coupled controllers (lia.go, olia.go, balia.go, wvegas.go).
// Expected values are computed here from the published formulas, written
// out in segments and seconds as the papers state them, independently of
// the byte-based, RTT-ratio forms the controllers use.

const cmss = 1460 // MSS of the coupled tests

var (
	coupledNames = []string{"lia", "olia", "balia", "wvegas"}
	lossBased    = []string{"lia", "olia", "balia"}
	ct0          = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// windowOf exposes a coupled controller's window state to the tests.
func windowOf(t testing.TB, c Controller) *window {
	t.Helper()
	switch c := c.(type) {
	case *lia:
		return &c.w
	case *olia:
		return &c.w
	case *balia:
		return &c.w
	case *wvegas:
		return &c.w
	}
	t.Fatalf("%T is not a coupled controller", c)
	return nil
}

// mustNew creates a controller of the given name.
func mustNew(t testing.TB, name string, m *Member) Controller {
	t.Helper()
	c, err := New(name, Config{MSS: cmss, Member: m})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// publish plays the engine's part: it copies a subflow's state into its
// group member.
func publish(m *Member, c Controller, srtt time.Duration) {
	m.Update(SubflowState{
		Cwnd: c.Cwnd(), Ssthresh: c.Ssthresh(), MSS: cmss, SRTT: srtt, MinRTT: srtt,
		InFlight: c.Cwnd(), Established: true,
	})
}

// pathSpec is a subflow of a table test: window in segments, RTT.
type pathSpec struct {
	segs float64
	rtt  time.Duration
	loss float64 // OLIA's l_r in bytes
}

// coupledGroup creates a group of controllers of one name, puts every one
// in congestion avoidance with the given window, and publishes it.
func coupledGroup(t testing.TB, name string, specs []pathSpec) ([]*Member, []Controller) {
	t.Helper()
	g := NewGroup()
	mems := make([]*Member, len(specs))
	cs := make([]Controller, len(specs))
	for i, s := range specs {
		mems[i] = g.Join()
		cs[i] = mustNew(t, name, mems[i])
		w := windowOf(t, cs[i])
		w.cwnd = int(s.segs * cmss)
		w.ssthresh = w.cwnd // congestion avoidance
		if o, ok := cs[i].(*olia); ok {
			// l_r = max(l_1r, l_2r) with l_1r = loss and l_2r = 0.
			o.loss.loss1, o.loss.loss2, o.loss.loss3 = 0, uint64(s.loss), uint64(s.loss)
		}
		publish(mems[i], cs[i], s.rtt)
	}
	return mems, cs
}

// quantize applies a window change the way the controllers do: in whole
// segments once the owed change reaches one (up to float rounding).
func quantize(cwnd, frac *float64, inc float64) {
	*frac += inc
	for *frac >= cmss*(1-1e-9) {
		*cwnd += cmss
		*frac -= cmss
	}
	for *frac <= -cmss*(1-1e-9) {
		*cwnd -= cmss
		*frac += cmss
	}
}

func ack(c Controller, bytes int, rtt time.Duration, round uint64) {
	c.OnAck(Ack{Now: ct0, BytesAcked: bytes, RTT: rtt, SRTT: rtt, MinRTT: rtt, CwndLimited: true, Round: round})
}

func TestCoupledRegistry(t *testing.T) {
	names := Names()
	for _, name := range coupledNames {
		if !slices.Contains(names, name) {
			t.Errorf("Names() = %v lacks %q", names, name)
		}
		for _, m := range []*Member{nil, NewGroup().Join()} {
			c := mustNew(t, name, m)
			if c.Name() != name {
				t.Errorf("New(%q).Name() = %q", name, c.Name())
			}
			if c.Cwnd() != 10*cmss || c.Ssthresh() != math.MaxInt32 || c.PacingRate() != 0 {
				t.Errorf("%s: cwnd %d ssthresh %d pacing %d, want %d, MaxInt32, 0",
					name, c.Cwnd(), c.Ssthresh(), c.PacingRate(), 10*cmss)
			}
		}
	}
}

// event is one input of the equivalence tests.
type event struct {
	ack     int
	limited bool
	loss    int
	exit    bool
	rto     int
	repeat  bool
	mss     int
}

func feed(c Controller, e event, rtt time.Duration, round uint64) {
	switch {
	case e.loss > 0:
		c.OnCongestionEvent(Loss{Now: ct0, InFlight: e.loss})
	case e.exit:
		c.OnRecoveryExit(ct0)
	case e.rto > 0:
		c.OnRTO(Loss{Now: ct0, InFlight: e.rto, Repeat: e.repeat})
	case e.mss > 0:
		c.SetMSS(e.mss)
	default:
		c.OnAck(Ack{Now: ct0, BytesAcked: e.ack, RTT: rtt, SRTT: rtt, MinRTT: rtt, CwndLimited: !e.limited, Round: round})
	}
}

// randomEvents is a long mixed sequence: ACKs of various sizes (some while
// not cwnd-limited), losses with recovery, timeouts and repeats.
func randomEvents(seed uint64, n int) []event {
	r := rand.New(rand.NewPCG(seed, 7))
	var evs []event
	for len(evs) < n {
		switch x := r.IntN(100); {
		case x < 2:
			evs = append(evs, event{rto: r.IntN(80*cmss) + 1}, event{rto: r.IntN(4 * cmss), repeat: r.IntN(2) == 0})
		case x < 6:
			evs = append(evs, event{loss: r.IntN(100*cmss) + 1}, event{exit: true})
		case x < 10:
			evs = append(evs, event{ack: r.IntN(3*cmss) + 1, limited: true})
		default:
			evs = append(evs, event{ack: r.IntN(4*cmss) + 1})
		}
	}
	return evs
}

// TestUncoupledIsReno: LIA, OLIA and BALIA without coupling partners follow
// the Reno controller step by step.
func TestUncoupledIsReno(t *testing.T) {
	setups := map[string]func() *Member{
		"no group": func() *Member { return nil },
		"alone in group": func() *Member {
			return NewGroup().Join()
		},
		"partner not established": func() *Member {
			g := NewGroup()
			m := g.Join()
			g.Join().Update(SubflowState{Cwnd: 50 * cmss, MSS: cmss, SRTT: ms(5)})
			return m
		},
		"partner without RTT": func() *Member {
			g := NewGroup()
			m := g.Join()
			g.Join().Update(SubflowState{Cwnd: 50 * cmss, MSS: cmss, Established: true})
			return m
		},
		"partner left": func() *Member {
			g := NewGroup()
			m := g.Join()
			p := g.Join()
			p.Update(SubflowState{Cwnd: 50 * cmss, MSS: cmss, SRTT: ms(5), Established: true})
			p.Leave()
			return m
		},
		"own subflow left": func() *Member {
			g := NewGroup()
			m := g.Join()
			g.Join().Update(SubflowState{Cwnd: 50 * cmss, MSS: cmss, SRTT: ms(5), Established: true})
			m.Leave()
			return m
		},
	}
	evs := append([]event{
		{ack: cmss}, {ack: 2 * cmss}, {ack: 5 * cmss}, {ack: 1}, {ack: cmss, limited: true},
		{loss: 40 * cmss}, {exit: true}, {loss: cmss}, {exit: true}, {ack: 3 * cmss},
		{rto: 16 * cmss}, {rto: 3 * cmss, repeat: true}, {mss: 1000}, {ack: 1000}, {mss: cmss},
	}, randomEvents(1, 3000)...)
	for _, name := range lossBased {
		for setup, member := range setups {
			t.Run(name+"/"+setup, func(t *testing.T) {
				c := mustNew(t, name, member())
				ref := NewReno(Config{MSS: cmss})
				for i, e := range evs {
					feed(c, e, ms(40), uint64(i))
					feed(ref, e, ms(40), uint64(i))
					if c.Cwnd() != ref.Cwnd() || c.Ssthresh() != ref.Ssthresh() {
						t.Fatalf("event %d %+v: (cwnd, ssthresh) = (%d, %d), reno (%d, %d)",
							i, e, c.Cwnd(), c.Ssthresh(), ref.Cwnd(), ref.Ssthresh())
					}
				}
			})
		}
	}
}

// liaModelInc is RFC 6356 §3 equation (2) as written: the increase in
// bytes of subflow self for an ACK of b bytes, with
// alpha = cwnd_total * max_i(cwnd_i/rtt_i^2) / (sum_i cwnd_i/rtt_i)^2.
func liaModelInc(cwnd []float64, rtt []time.Duration, self int, b float64) float64 {
	var total, best, den float64
	for i := range cwnd {
		r := rtt[i].Seconds()
		total += cwnd[i]
		best = max(best, cwnd[i]/(r*r))
		den += cwnd[i] / r
	}
	alpha := total * best / (den * den)
	return min(alpha*b*cmss/total, b*cmss/cwnd[self])
}

// runIncrease acknowledges n segments on subflow 0 of a coupled group, one
// ACK each, and returns its window after every ACK.
func runIncrease(t *testing.T, name string, specs []pathSpec, n int) []int {
	t.Helper()
	_, cs := coupledGroup(t, name, specs)
	var got []int
	for range n {
		ack(cs[0], cmss, specs[0].rtt, 0)
		got = append(got, cs[0].Cwnd())
	}
	return got
}

func TestLIAIncrease(t *testing.T) {
	tests := []struct {
		name   string
		paths  []pathSpec
		capped bool // the TCP term of equation (2) is the smaller one
	}{
		{"two paths, coupled term", []pathSpec{{segs: 20, rtt: ms(50)}, {segs: 30, rtt: ms(20)}}, false},
		{"two paths, self best", []pathSpec{{segs: 20, rtt: ms(10)}, {segs: 10, rtt: ms(100)}}, false},
		{"two paths, TCP cap", []pathSpec{{segs: 20, rtt: ms(100)}, {segs: 10, rtt: ms(10)}}, true},
		{"two equal paths", []pathSpec{{segs: 10, rtt: ms(40)}, {segs: 10, rtt: ms(40)}}, false},
		{"three paths", []pathSpec{{segs: 15, rtt: ms(30)}, {segs: 40, rtt: ms(80)}, {segs: 8, rtt: ms(10)}}, false},
		{"three paths, TCP cap", []pathSpec{{segs: 40, rtt: ms(90)}, {segs: 5, rtt: ms(70)}, {segs: 10, rtt: ms(8)}}, true},
		{"self at minimum", []pathSpec{{segs: 2, rtt: ms(200)}, {segs: 90, rtt: ms(15)}, {segs: 30, rtt: ms(25)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 400
			cwnd := make([]float64, len(tt.paths))
			rtt := make([]time.Duration, len(tt.paths))
			for i, p := range tt.paths {
				cwnd[i], rtt[i] = p.segs*cmss, p.rtt
			}
			if capped := liaModelInc(cwnd, rtt, 0, cmss) == cmss*cmss/cwnd[0]; capped != tt.capped {
				t.Fatalf("table error: TCP term binds = %v", capped)
			}
			var want []int
			var frac float64
			for range n {
				quantize(&cwnd[0], &frac, liaModelInc(cwnd, rtt, 0, cmss))
				want = append(want, int(cwnd[0]))
			}
			got := runIncrease(t, "lia", tt.paths, n)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cwnd after each ACK (-want +got):\n%s", diff)
			}
			if got[n-1] <= int(tt.paths[0].segs*cmss) {
				t.Errorf("window did not grow in %d ACKs", n)
			}
		})
	}
}

// oliaModelInc is the OLIA increase as the paper states it, in segments
// and seconds: for an ACK of one segment on path r,
// (w_r/rtt_r^2)/(sum_p w_p/rtt_p)^2 + alpha_r/w_r, with alpha_r from the
// sets M (largest window in whole segments) and B (largest l_p/rtt_p^2).
// It returns the increase in bytes.
func oliaModelInc(w []float64, rtt []time.Duration, l []float64, r int) float64 {
	n := len(w)
	var sum, maxW, bestV float64
	for p := range n {
		s := rtt[p].Seconds()
		sum += w[p] / s
		maxW = max(maxW, math.Floor(w[p]))
		bestV = max(bestV, l[p]/(s*s))
	}
	inM := func(p int) bool { return math.Floor(w[p]) == maxW }
	inB := func(p int) bool { s := rtt[p].Seconds(); return l[p]/(s*s) == bestV }
	var m, collected int
	for p := range n {
		if inM(p) {
			m++
		} else if inB(p) {
			collected++
		}
	}
	var alpha float64
	switch {
	case collected > 0 && !inM(r) && inB(r):
		alpha = 1 / float64(n*collected)
	case collected > 0 && inM(r):
		alpha = -1 / float64(n*m)
	}
	s := rtt[r].Seconds()
	return cmss * ((w[r]/(s*s))/(sum*sum) + alpha/w[r])
}

func TestOLIAIncrease(t *testing.T) {
	tests := []struct {
		name   string
		paths  []pathSpec
		shrink bool // subflow 0 loses window to the collected paths
	}{
		{"self max and best: no collected path", []pathSpec{{segs: 30, rtt: ms(20), loss: 9e6}, {segs: 10, rtt: ms(20), loss: 1e6}}, false},
		{"self collected", []pathSpec{{segs: 10, rtt: ms(20), loss: 9e6}, {segs: 30, rtt: ms(20), loss: 1e6}}, false},
		{"self max, other collected", []pathSpec{{segs: 30, rtt: ms(20), loss: 1e6}, {segs: 20, rtt: ms(20), loss: 9e6}}, true},
		{"best by RTT", []pathSpec{{segs: 12, rtt: ms(10), loss: 2e6}, {segs: 25, rtt: ms(40), loss: 8e6}}, false},
		{"three paths, two collected", []pathSpec{
			{segs: 10, rtt: ms(30), loss: 4e6}, {segs: 14, rtt: ms(30), loss: 4e6}, {segs: 40, rtt: ms(30), loss: 1e6},
		}, false},
		{"three paths, self max", []pathSpec{
			{segs: 40, rtt: ms(25), loss: 1e6}, {segs: 35, rtt: ms(25), loss: 5e6}, {segs: 30, rtt: ms(25), loss: 3e6},
		}, true},
		{"three paths, self max, collected path far", []pathSpec{
			{segs: 40, rtt: ms(25), loss: 1e6}, {segs: 14, rtt: ms(30), loss: 5e6}, {segs: 9, rtt: ms(60), loss: 3e6},
		}, false},
		{"three paths, self neither", []pathSpec{
			{segs: 12, rtt: ms(50), loss: 1e6}, {segs: 14, rtt: ms(30), loss: 5e6}, {segs: 40, rtt: ms(60), loss: 3e6},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 400
			k := len(tt.paths)
			w := make([]float64, k)
			rtt := make([]time.Duration, k)
			l := make([]float64, k)
			for i, p := range tt.paths {
				w[i], rtt[i], l[i] = p.segs, p.rtt, p.loss
			}
			cwnd, frac := w[0]*cmss, 0.0
			bytesSinceLoss := 0.0
			var want []int
			for range n {
				// l_2r of the own path grows with each acknowledged byte.
				bytesSinceLoss += cmss
				l[0] = max(tt.paths[0].loss, bytesSinceLoss)
				w[0] = cwnd / cmss
				quantize(&cwnd, &frac, oliaModelInc(w, rtt, l, 0))
				want = append(want, int(cwnd))
			}
			got := runIncrease(t, "olia", tt.paths, n)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cwnd after each ACK (-want +got):\n%s", diff)
			}
			start := int(tt.paths[0].segs * cmss)
			if shrank := got[n-1] < start; shrank != tt.shrink {
				t.Errorf("window went from %d to %d; want shrink = %v", start, got[n-1], tt.shrink)
			}
		})
	}
}

// baliaModel returns, in segments and seconds as the paper states them,
// the BALIA increase for one acknowledged segment on path r,
// x_r/(tau_r*(sum x)^2) * ((1+a)/2) * ((4+a)/5), and alpha_r = max x / x_r.
func baliaModel(w []float64, rtt []time.Duration, r int) (inc, alpha float64) {
	var sum, maxX float64
	for k := range w {
		x := w[k] / rtt[k].Seconds()
		sum += x
		maxX = max(maxX, x)
	}
	xr := w[r] / rtt[r].Seconds()
	alpha = maxX / xr
	return xr / (rtt[r].Seconds() * sum * sum) * ((1 + alpha) / 2) * ((4 + alpha) / 5), alpha
}

func TestBALIAIncrease(t *testing.T) {
	tests := []struct {
		name  string
		paths []pathSpec
	}{
		{"two paths, self fastest", []pathSpec{{segs: 30, rtt: ms(20)}, {segs: 20, rtt: ms(40)}}},
		{"two paths, self slowest", []pathSpec{{segs: 10, rtt: ms(80)}, {segs: 40, rtt: ms(20)}}},
		{"two equal paths", []pathSpec{{segs: 16, rtt: ms(30)}, {segs: 16, rtt: ms(30)}}},
		{"three paths", []pathSpec{{segs: 15, rtt: ms(30)}, {segs: 40, rtt: ms(80)}, {segs: 8, rtt: ms(10)}}},
		{"self at minimum", []pathSpec{{segs: 2, rtt: ms(150)}, {segs: 70, rtt: ms(12)}, {segs: 30, rtt: ms(25)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 400
			w := make([]float64, len(tt.paths))
			rtt := make([]time.Duration, len(tt.paths))
			for i, p := range tt.paths {
				w[i], rtt[i] = p.segs, p.rtt
			}
			cwnd, frac := w[0]*cmss, 0.0
			var want []int
			for range n {
				w[0] = cwnd / cmss
				inc, _ := baliaModel(w, rtt, 0)
				quantize(&cwnd, &frac, inc*cmss)
				want = append(want, int(cwnd))
			}
			got := runIncrease(t, "balia", tt.paths, n)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cwnd after each ACK (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCoupledDecrease: LIA and OLIA halve FlightSize as Reno; BALIA removes
// FlightSize/2 * min(alpha_r, 1.5).
func TestCoupledDecrease(t *testing.T) {
	specs := [][]pathSpec{
		{{segs: 30, rtt: ms(20)}, {segs: 20, rtt: ms(40)}},
		{{segs: 10, rtt: ms(80)}, {segs: 40, rtt: ms(20)}},
		{{segs: 20, rtt: ms(30)}, {segs: 18, rtt: ms(30)}},
		{{segs: 15, rtt: ms(30)}, {segs: 40, rtt: ms(80)}, {segs: 8, rtt: ms(10)}},
		{{segs: 3, rtt: ms(30)}, {segs: 40, rtt: ms(30)}, {segs: 8, rtt: ms(10)}},
	}
	for _, name := range lossBased {
		for i, paths := range specs {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				_, cs := coupledGroup(t, name, paths)
				ack(cs[0], cmss, paths[0].rtt, 0)
				flight := int(paths[0].segs*cmss) - 7
				want := flight / 2
				if name == "balia" {
					w := make([]float64, len(paths))
					rtt := make([]time.Duration, len(paths))
					for k, p := range paths {
						w[k], rtt[k] = p.segs, p.rtt
					}
					w[0] = float64(cs[0].Cwnd()) / cmss
					_, alpha := baliaModel(w, rtt, 0)
					want = int(math.Floor(float64(flight) - float64(flight)/2*min(alpha, 1.5)))
				}
				want = max(want, 2*cmss)
				cs[0].OnCongestionEvent(Loss{Now: ct0, InFlight: flight})
				if cs[0].Ssthresh() != want || cs[0].Cwnd() != want {
					t.Errorf("after loss with FlightSize %d: (cwnd, ssthresh) = (%d, %d), want %d",
						flight, cs[0].Cwnd(), cs[0].Ssthresh(), want)
				}
				cs[0].OnRecoveryExit(ct0)
				if cs[0].Cwnd() != want {
					t.Errorf("after recovery: cwnd = %d, want ssthresh %d", cs[0].Cwnd(), want)
				}
				cs[0].OnRTO(Loss{Now: ct0, InFlight: flight})
				if cs[0].Cwnd() != cmss {
					t.Errorf("after RTO: cwnd = %d, want 1 MSS", cs[0].Cwnd())
				}
			})
		}
	}
}

// randomGroup returns 2..5 paths with windows of 2..200 segments and RTTs
// of 1..300 ms.
func randomGroup(r *rand.Rand) []pathSpec {
	specs := make([]pathSpec, 2+r.IntN(4))
	for i := range specs {
		specs[i] = pathSpec{segs: float64(2 + r.IntN(199)), rtt: ms(1 + 299*r.Float64())}
	}
	return specs
}

// increasePerSegment measures the window increase, in bytes including the
// part not yet applied, that one acknowledged segment gives subflow i.
func increasePerSegment(t *testing.T, c Controller, rtt time.Duration) float64 {
	w := windowOf(t, c)
	before := float64(w.cwnd) + w.frac
	ack(c, cmss, rtt, 0)
	return float64(w.cwnd) + w.frac - before
}

// TestLIAGoals checks RFC 6356 §2's goals on random groups: no subflow
// increases faster than a TCP flow on its path (goal 2), and the total
// increase, in rate per round trip, is no more than that of one TCP flow on
// the best path (goals 1 and 2: w_i/rtt_i grows by MSS/rtt per RTT for
// TCP).
func TestLIAGoals(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 500 {
		specs := randomGroup(r)
		_, cs := coupledGroup(t, "lia", specs)
		var total, best float64
		for i, c := range cs {
			inc := increasePerSegment(t, c, specs[i].rtt)
			cwnd := specs[i].segs * cmss
			if tcp := cmss * cmss / cwnd; inc > tcp*(1+1e-9) || inc <= 0 {
				t.Fatalf("trial %d %+v: subflow %d grows %.3f bytes per segment; TCP %.3f", trial, specs, i, inc, tcp)
			}
			perRTT := inc * cwnd / cmss
			total += perRTT / specs[i].rtt.Seconds()
			best = max(best, cmss/specs[i].rtt.Seconds())
		}
		if total > best*(1+1e-9) {
			t.Fatalf("trial %d %+v: rate increase per RTT %.1f B/s, one TCP on the best path %.1f", trial, specs, total, best)
		}
	}
}

// TestBALIABounds checks, on random groups, that BALIA's increase never
// exceeds Reno's on the same path and that its decrease removes between
// half and three quarters of the window (paper: min(alpha_r, 1.5)/2), all
// of it only for the fastest path.
func TestBALIABounds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 500 {
		specs := randomGroup(r)
		_, cs := coupledGroup(t, "balia", specs)
		maxX := 0.0
		for _, s := range specs {
			maxX = max(maxX, s.segs/s.rtt.Seconds())
		}
		for i, c := range cs {
			cwnd := specs[i].segs * cmss
			inc := increasePerSegment(t, c, specs[i].rtt)
			if tcp := cmss * cmss / cwnd; inc > tcp*(1+1e-9) || inc <= 0 {
				t.Fatalf("trial %d: subflow %d grows %.3f bytes per segment; Reno %.3f", trial, i, inc, tcp)
			}
			flight := 100 * cmss
			c.OnCongestionEvent(Loss{Now: ct0, InFlight: flight})
			got := c.Ssthresh()
			if got < flight/4 || got > flight/2 {
				t.Fatalf("trial %d: subflow %d ssthresh %d outside [%d, %d]", trial, i, got, flight/4, flight/2)
			}
			x := specs[i].segs / specs[i].rtt.Seconds()
			switch alpha := maxX / x; {
			case alpha == 1 && got != flight/2:
				t.Fatalf("trial %d: fastest subflow %d ssthresh %d, want %d", trial, i, got, flight/2)
			case alpha >= 1.5 && got != flight/4:
				t.Fatalf("trial %d: subflow %d with alpha %.2f ssthresh %d, want %d", trial, i, alpha, got, flight/4)
			}
		}
	}
}

// fluid runs two subflows with the same RTT in lockstep rounds: each round
// path k gets one ACK per segment of its window, and every lossEvery[k]
// segments path k has a loss (fast recovery, then back to congestion
// avoidance). It returns the share of the total window path 1 held,
// averaged over the second half of the run. name "reno" runs two
// independent Reno flows.
func fluid(t *testing.T, name string, lossEvery [2]int, rounds int) float64 {
	t.Helper()
	const rtt = 50 * time.Millisecond
	g := NewGroup()
	var mems [2]*Member
	var cs [2]Controller
	for k := range 2 {
		if name == "reno" {
			cs[k] = NewReno(Config{MSS: cmss})
			continue
		}
		mems[k] = g.Join()
		cs[k] = mustNew(t, name, mems[k])
		publish(mems[k], cs[k], rtt)
	}
	var count [2]int
	var share float64
	for round := range rounds {
		for k := range 2 {
			for range max(cs[k].Cwnd()/cmss, 1) {
				ack(cs[k], cmss, rtt, uint64(round))
				if count[k]++; count[k] == lossEvery[k] {
					count[k] = 0
					cs[k].OnCongestionEvent(Loss{Now: ct0, InFlight: cs[k].Cwnd()})
					cs[k].OnRecoveryExit(ct0)
				}
				if mems[k] != nil {
					publish(mems[k], cs[k], rtt)
				}
			}
		}
		if round >= rounds/2 {
			share += float64(cs[1].Cwnd()) / float64(cs[0].Cwnd()+cs[1].Cwnd())
		}
	}
	return share / float64(rounds-rounds/2)
}

// TestOLIAShiftsFromCongestedPath: path 1 loses a packet eight times as
// often as path 0. Uncoupled Reno keeps a window ~ 1/sqrt(p) on each
// (share ~ 1/(1+sqrt 8) = 0.26); LIA's windows go as 1/p for equal RTTs
// (share ~ 1/9 = 0.11); OLIA, Pareto-optimal, moves still more traffic to
// the better path.
func TestOLIAShiftsFromCongestedPath(t *testing.T) {
	every := [2]int{4000, 500}
	reno := fluid(t, "reno", every, 4000)
	lia := fluid(t, "lia", every, 4000)
	olia := fluid(t, "olia", every, 4000)
	t.Logf("share of the congested path: reno %.3f, lia %.3f, olia %.3f", reno, lia, olia)
	if !(olia < lia && lia < reno) {
		t.Errorf("share of the congested path: reno %.3f, lia %.3f, olia %.3f; want olia < lia < reno", reno, lia, olia)
	}
	if olia > 0.1 {
		t.Errorf("OLIA keeps %.3f of its window on the congested path, want < 0.1", olia)
	}
	// With equally congested paths OLIA has no reason to prefer either.
	even := fluid(t, "olia", [2]int{1000, 1000}, 4000)
	if even < 0.35 || even > 0.65 {
		t.Errorf("OLIA share with equal paths = %.3f, want about 0.5", even)
	}
}

// vegasModel is single-path wVegas written out from its description: Vegas
// once per round on the round's average RTT (the ACK that ends a round
// still counts in it), Reno for rounds with fewer than three samples,
// gamma = 1 segment ends slow start, alpha starts at 2 and becomes
// total_alpha = 10 (weight 1) once the backlog reaches it, a standing queue
// twice the smallest queueing delay is drained and the drained window stays
// in congestion avoidance.
type vegasModel struct {
	cwnd, ssthresh, acc int
	base, sum           time.Duration
	n                   int
	started             bool
	round               uint64
	alpha               float64
	qmin                time.Duration
}

func (m *vegasModel) ack(bytes int, rtt time.Duration, round uint64) {
	if rtt > 0 {
		if m.base == 0 || rtt < m.base {
			m.base = rtt
		}
		m.sum += rtt
		m.n++
	}
	if !m.started || round == m.round {
		m.started, m.round = true, round
		if m.cwnd < m.ssthresh {
			m.cwnd += min(bytes, 2*cmss)
		}
		return
	}
	m.round = round
	n, avg := m.n, time.Duration(0)
	if n > 0 {
		avg = m.sum / time.Duration(n)
	}
	m.sum, m.n = 0, 0
	if n < 3 {
		if m.cwnd < m.ssthresh {
			m.cwnd += min(bytes, 2*cmss)
		} else if m.acc += bytes; m.acc >= m.cwnd {
			m.acc -= m.cwnd
			m.cwnd += cmss
		}
		return
	}
	queued := float64(m.cwnd) / cmss * (avg - m.base).Seconds() / avg.Seconds()
	if m.cwnd < m.ssthresh {
		if queued <= 1 {
			m.cwnd += min(bytes, 2*cmss)
			return
		}
		m.cwnd = min(m.cwnd, int(float64(m.cwnd)*m.base.Seconds()/avg.Seconds())+cmss)
		m.ssthresh = min(m.ssthresh, m.cwnd-cmss)
	} else {
		if queued >= m.alpha {
			m.alpha = 10
		}
		if queued > m.alpha {
			m.cwnd -= cmss
			m.ssthresh = min(m.ssthresh, m.cwnd-cmss)
		} else if queued < m.alpha {
			m.cwnd += cmss
		}
		if q := avg - m.base; q > 0 {
			if m.qmin == 0 || q < m.qmin {
				m.qmin = q
			}
			if q >= 2*m.qmin {
				m.cwnd = int(float64(m.cwnd) * m.base.Seconds() / (2 * avg.Seconds()))
				m.ssthresh = min(m.ssthresh, max(m.cwnd, 2*cmss))
				m.qmin = 0
			}
		}
	}
	m.cwnd = max(m.cwnd, 2*cmss)
	m.ssthresh = max(m.ssthresh, 2*cmss, m.cwnd*3/4)
	m.acc = 0
}

func (m *vegasModel) loss(flight int) {
	m.ssthresh = max(flight/2, 2*cmss)
	m.cwnd, m.acc = m.ssthresh, 0
	m.restart()
}

func (m *vegasModel) restart() { m.started, m.sum, m.n, m.alpha, m.qmin = false, 0, 0, 2, 0 }

func TestWVegasSinglePathIsVegas(t *testing.T) {
	type phase struct {
		rounds int
		rtt    time.Duration // every ACK carries this sample; 0: none
		loss   bool          // a loss and recovery before the phase
	}
	phases := []phase{
		{rounds: 3, rtt: ms(40)},   // slow start, no queue
		{rounds: 1, rtt: ms(48)},   // backlog > gamma: slow start ends
		{rounds: 400, rtt: ms(42)}, // congestion avoidance to the alpha target
		{rounds: 1, rtt: ms(46)},   // queueing delay doubled: drain
		{rounds: 20, rtt: ms(42)},
		{rounds: 3, rtt: 0},                   // no samples: Reno rounds
		{rounds: 30, rtt: ms(41), loss: true}, // after a loss, Vegas afresh
	}
	for _, m := range []*Member{nil, NewGroup().Join()} {
		c := mustNew(t, "wvegas", m)
		model := &vegasModel{cwnd: 10 * cmss, ssthresh: math.MaxInt32, alpha: 2}
		var round uint64
		var atTarget int
		low := math.MaxInt
		for pi, p := range phases {
			if p.loss {
				c.OnCongestionEvent(Loss{Now: ct0, InFlight: c.Cwnd()})
				c.OnRecoveryExit(ct0)
				model.loss(model.cwnd)
			}
			for range p.rounds {
				round++
				for range max(model.cwnd/cmss, 1) {
					ack(c, cmss, p.rtt, round)
					model.ack(cmss, p.rtt, round)
					if c.Cwnd() != model.cwnd || c.Ssthresh() != model.ssthresh {
						t.Fatalf("phase %d round %d: (cwnd, ssthresh) = (%d, %d), want (%d, %d)",
							pi, round, c.Cwnd(), c.Ssthresh(), model.cwnd, model.ssthresh)
					}
				}
			}
			switch pi {
			case 2:
				// No loss so far: only the backlog of phase 1 (more
				// than gamma) can have ended slow start.
				if c.Ssthresh() == math.MaxInt32 {
					t.Errorf("a backlog of more than gamma did not end slow start")
				}
				atTarget = c.Cwnd()
			case 4:
				low = c.Cwnd()
			}
		}
		// The doubled queueing delay drained the window to about
		// w*40/(2*46), then it grew one segment per round again.
		if low > atTarget/2+20*cmss {
			t.Errorf("cwnd %d after the drain, want about half of %d", low, atTarget)
		}
		// At 42 ms over a 40 ms base, w*(2/42) segments queue: the
		// target of 10 segments is reached at w = 210.
		if atTarget < 208*cmss || atTarget > 212*cmss {
			t.Errorf("cwnd after congestion avoidance = %.1f segments, want about 210", float64(atTarget)/cmss)
		}
	}
}

// TestWVegasWeights: each subflow's backlog target is its share of
// total_alpha in proportion to its rate, at least 2 segments.
func TestWVegasWeights(t *testing.T) {
	tests := []struct {
		name  string
		paths []pathSpec
	}{
		{"two paths", []pathSpec{{segs: 60, rtt: ms(40)}, {segs: 20, rtt: ms(40)}}},
		{"two paths, RTTs differ", []pathSpec{{segs: 60, rtt: ms(40)}, {segs: 40, rtt: ms(10)}}},
		{"three paths", []pathSpec{{segs: 80, rtt: ms(40)}, {segs: 30, rtt: ms(60)}, {segs: 10, rtt: ms(20)}}},
		{"small share floors at 2", []pathSpec{{segs: 80, rtt: ms(40)}, {segs: 400, rtt: ms(20)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cs := coupledGroup(t, "wvegas", tt.paths)
			v := cs[0].(*wvegas)
			// One round whose samples show a queue of a third of the
			// window, enough to reach any alpha, over a known base RTT.
			base := tt.paths[0].rtt
			busy := base * 3 / 2
			v.baseRTT = float64(base)
			for range 4 {
				ack(v, cmss, busy, 1)
			}
			ack(v, cmss, busy, 2)
			// The rate of subflow 0 uses its round's average RTT.
			var sum float64
			for i, p := range tt.paths {
				rtt := p.rtt.Seconds()
				if i == 0 {
					rtt = busy.Seconds()
				}
				sum += p.segs / rtt
			}
			want := max(2, 10*(tt.paths[0].segs/busy.Seconds())/sum)
			if math.Abs(v.alpha-want) > 1e-9 {
				t.Errorf("alpha_0 = %.6f segments, want %.6f", v.alpha, want)
			}
		})
	}
}

// TestCoupledRobustness: unknown RTTs, departing subflows, windows at the
// bounds and hostile published states never yield NaN or a window out of
// bounds.
func TestCoupledRobustness(t *testing.T) {
	for _, name := range lossBased {
		t.Run(name+"/unknown own RTT holds", func(t *testing.T) {
			mems, cs := coupledGroup(t, name, []pathSpec{{segs: 20, rtt: ms(30)}, {segs: 20, rtt: ms(30)}})
			mems[0].Update(SubflowState{Cwnd: 20 * cmss, MSS: cmss, Established: true})
			for range 100 {
				cs[0].OnAck(Ack{Now: ct0, BytesAcked: cmss, CwndLimited: true})
			}
			if got := cs[0].Cwnd(); got != 20*cmss {
				t.Errorf("cwnd = %d after ACKs without any RTT, want it held at %d", got, 20*cmss)
			}
			for range 100 {
				ack(cs[0], cmss, ms(30), 0)
			}
			if got := cs[0].Cwnd(); got <= 20*cmss {
				t.Errorf("cwnd = %d once the RTT is known, want growth", got)
			}
		})
		t.Run(name+"/subflow leaves", func(t *testing.T) {
			mems, cs := coupledGroup(t, name, []pathSpec{{segs: 20, rtt: ms(30)}, {segs: 20, rtt: ms(30)}, {segs: 20, rtt: ms(30)}})
			mems[2].Leave()
			// The departed subflow runs Reno: one MSS per window acknowledged.
			for range 20 {
				ack(cs[2], cmss, ms(30), 0)
			}
			if got := cs[2].Cwnd(); got != 21*cmss {
				t.Errorf("departed subflow cwnd = %d, want Reno's %d", got, 21*cmss)
			}
			// The others no longer count it: two equal paths.
			w0 := windowOf(t, cs[0])
			var paths []pathState
			paths = gather(paths, mems[0], w0.cwnd, w0.mss, float64(ms(30)))
			if len(paths) != 2 {
				t.Errorf("gather after Leave: %d paths, want 2", len(paths))
			}
		})
	}
	t.Run("olia at minimum window keeps it", func(t *testing.T) {
		// Subflow 0 holds the largest window (2 segments) but the other
		// path is the best: alpha_0 < 0 pulls at a window already at the
		// minimum.
		_, cs := coupledGroup(t, "olia", []pathSpec{{segs: 2, rtt: ms(20), loss: 1e3}, {segs: 1, rtt: ms(20), loss: 9e9}})
		for range 1000 {
			ack(cs[0], cmss, ms(20), 0)
		}
		w := windowOf(t, cs[0])
		if w.cwnd != 2*cmss || w.ssthresh > w.cwnd || math.Abs(w.frac) >= cmss {
			t.Errorf("cwnd = %d (ssthresh %d, frac %.1f), want the 2-segment minimum in congestion avoidance", w.cwnd, w.ssthresh, w.frac)
		}
	})
	hostile := []SubflowState{
		{Cwnd: math.MaxInt, MSS: 1, SRTT: 1, Established: true},
		{Cwnd: 1, MSS: maxMSS, SRTT: math.MaxInt64, Established: true},
		{Cwnd: -5, MSS: -1, SRTT: -time.Second, Established: true},
		{Cwnd: math.MaxInt32, MSS: 0, SRTT: time.Nanosecond, Established: true},
	}
	for _, name := range coupledNames {
		t.Run(name+"/hostile states", func(t *testing.T) {
			g := NewGroup()
			self := g.Join()
			c := mustNew(t, name, self)
			for _, s := range hostile {
				g.Join().Update(s)
			}
			w := windowOf(t, c)
			for i := range 5000 {
				rtt := []time.Duration{time.Nanosecond, ms(30), 0, math.MaxInt64 / 4}[i%4]
				c.OnAck(Ack{Now: ct0, BytesAcked: []int{cmss, math.MaxInt, 1}[i%3], RTT: rtt, SRTT: rtt, CwndLimited: true, Round: uint64(i / 3)})
				if i%700 == 0 {
					c.OnCongestionEvent(Loss{Now: ct0, InFlight: []int{math.MaxInt, -1, 0}[i%3]})
					c.OnRecoveryExit(ct0)
				}
				publish(self, c, rtt)
				checkWindow(t, name, w)
			}
		})
	}
}

// checkWindow checks the invariants every coupled controller keeps.
func checkWindow(t testing.TB, name string, w *window) {
	t.Helper()
	if w.cwnd < w.mss || w.cwnd > maxCwnd || w.ssthresh <= 0 || w.mss < 1 || w.mss > maxMSS ||
		math.IsNaN(w.frac) || math.Abs(w.frac) >= float64(w.mss)*(1+1e-6) || w.acc < 0 {
		t.Fatalf("%s: window state out of bounds: %+v", name, *w)
	}
}

// TestOLIAShared: the loss intervals of an OLIA subflow are visible to its
// group through its member; a controller created anew for the same member
// takes the slot over.
func TestOLIAShared(t *testing.T) {
	m := NewGroup().Join()
	first := NewOLIA(Config{MSS: cmss, Member: m}).(*olia)
	if m.Shared() != first.loss {
		t.Fatal("controller's loss intervals not shared")
	}
	second := NewOLIA(Config{MSS: cmss, Member: m}).(*olia)
	if m.Shared() != second.loss || first.loss == second.loss {
		t.Fatal("replacement controller did not take the slot over")
	}
}

// BenchmarkCoupledOnAck measures one congestion-avoidance ACK with 2 and 8
// subflows in the group.
func BenchmarkCoupledOnAck(b *testing.B) {
	for _, name := range coupledNames {
		for _, n := range []int{2, 8} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				specs := make([]pathSpec, n)
				for i := range specs {
					specs[i] = pathSpec{segs: float64(20 + 10*i), rtt: ms(float64(10 + 7*i)), loss: float64(1e6 * (i + 1))}
				}
				_, cs := coupledGroup(b, name, specs)
				c := cs[0]
				w := windowOf(b, c)
				b.ReportAllocs()
				var i uint64
				for b.Loop() {
					i++
					rtt := specs[0].rtt + time.Duration(i%3)*time.Millisecond
					c.OnAck(Ack{Now: ct0, BytesAcked: cmss, RTT: rtt, SRTT: specs[0].rtt, CwndLimited: true, Round: i / 4})
					if w.cwnd > 1000*cmss || w.cwnd < 10*cmss {
						w.cwnd = 20 * cmss
					}
				}
			})
		}
	}
}

// fuzzReader hands out fuzz bytes, zeros once they run out.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	x := r.b[0]
	r.b = r.b[1:]
	return x
}

func (r *fuzzReader) uint(n int) uint64 {
	var x uint64
	for range n {
		x = x<<8 | uint64(r.byte())
	}
	return x
}

// FuzzCoupled drives groups of coupled controllers with random events and
// random (also nonsensical) published subflow states, and checks that no
// window leaves its bounds and that the coupling formulas stay finite.
func FuzzCoupled(f *testing.F) {
	f.Add([]byte{0, 2, 0, 0, 5, 0, 0, 0, 40, 1, 0, 1, 0, 0, 200})
	f.Add([]byte{1, 3, 6, 1, 0, 0, 0, 255, 0, 0, 0, 9, 0, 2, 0, 5, 0, 0, 0, 0, 20, 3})
	f.Add([]byte{2, 8, 5, 3, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0})
	f.Add([]byte{3, 4, 0, 1, 5, 220, 0, 0, 156, 64, 0, 0, 156, 64, 3, 7, 2, 8, 4, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		name := coupledNames[int(r.byte())%len(coupledNames)]
		g := NewGroup()
		type sub struct {
			m *Member
			c Controller
		}
		var subs []sub
		join := func() {
			m := g.Join()
			subs = append(subs, sub{m, mustNew(t, name, m)})
		}
		for range 1 + int(r.byte())%8 {
			join()
		}
		var round uint64
		var paths []pathState
		for steps := 0; len(r.b) > 0 && steps < 2000; steps++ {
			op := r.byte()
			s := subs[int(r.byte())%len(subs)]
			switch op % 9 {
			case 0: // ACK
				bytes := int(r.uint(3)) - 1000
				rtt := time.Duration(r.uint(3)) * time.Microsecond
				srtt := time.Duration(r.uint(3)) * time.Microsecond
				flags := r.byte()
				if flags&2 != 0 {
					round++
				}
				s.c.OnAck(Ack{Now: ct0, BytesAcked: bytes, RTT: rtt, SRTT: srtt, MinRTT: rtt, CwndLimited: flags&1 != 0, Round: round})
			case 1:
				s.c.OnCongestionEvent(Loss{Now: ct0, InFlight: int(int32(r.uint(4)))})
			case 2:
				s.c.OnRecoveryExit(ct0)
			case 3:
				s.c.OnRTO(Loss{Now: ct0, InFlight: int(int32(r.uint(4))), Repeat: r.byte()&1 != 0})
			case 4:
				s.c.SetMSS(int(int32(r.uint(4))))
			case 5: // anything at all in the published state
				s.m.Update(SubflowState{
					Cwnd: int(int64(r.uint(8))), MSS: int(int16(r.uint(2))),
					SRTT: time.Duration(int64(r.uint(8))), Established: r.byte()&1 != 0,
				})
			case 6: // what the engine publishes
				s.m.Update(SubflowState{
					Cwnd: s.c.Cwnd(), Ssthresh: s.c.Ssthresh(), MSS: windowOf(t, s.c).mss,
					SRTT: time.Duration(r.uint(3)) * time.Microsecond, Established: true,
				})
			case 7:
				s.m.Leave()
			case 8:
				if len(subs) < 8 {
					join()
				}
			}
			for _, x := range subs {
				w := windowOf(t, x.c)
				checkWindow(t, name, w)
				if v, ok := x.c.(*wvegas); ok && (math.IsNaN(v.alpha) || v.alpha < wvInitialAlpha || v.alpha > wvTotalAlpha) {
					t.Fatalf("wvegas alpha %v", v.alpha)
				}
				// The coupling formulas over what this subflow sees.
				paths = gather(paths, x.m, w.cwnd, w.mss, float64(time.Duration(r.uint(2))*time.Microsecond+1))
				if o, ok := x.c.(*olia); ok {
					fillOLIALoss(paths, o.loss)
				}
				self := paths[0].cwnd
				lf, of, bf := liaFactor(paths), oliaFactor(paths), baliaFactor(paths)
				if !(lf > 0 && lf <= 1/self*(1+1e-12)) || !(bf > 0 && bf <= 1/self*(1+1e-9)) ||
					math.IsNaN(of) || math.Abs(of) > 1.5/self*(1+1e-12) {
					t.Fatalf("factors over %+v: lia %v olia %v balia %v (1/cwnd %v)", paths, lf, of, bf, 1/self)
				}
				if a := baliaAlpha(paths); math.IsNaN(a) || math.IsInf(a, 0) || a < 1 {
					t.Fatalf("balia alpha %v over %+v", a, paths)
				}
			}
		}
	})
}
