package impair

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// trace is what an Impairer did over a run: each packet emitted (its
// bytes and the time of the Poll), each deadline, and the final counters.
type trace struct {
	Out       [][]byte
	At        []time.Duration
	Deadlines []time.Duration
	Stats     Stats
}

// timeDriver and atDriver drive an Impairer through its two sets of
// methods, with times as offsets from origin.
type driver interface {
	process(d time.Duration, p []byte)
	poll(d time.Duration, tr *trace)
	deadline() (time.Duration, bool)
}

type timeDriver struct {
	m      *Impairer
	origin time.Time
}

func (t timeDriver) process(d time.Duration, p []byte) { t.m.Process(t.origin.Add(d), p, nil) }
func (t timeDriver) poll(d time.Duration, tr *trace)   { t.m.Poll(t.origin.Add(d), tr.emitter(d)) }
func (t timeDriver) deadline() (time.Duration, bool) {
	dl := t.m.Deadline()
	return dl.Sub(t.origin), !dl.IsZero()
}

type atDriver struct{ m *Impairer }

func (a atDriver) process(d time.Duration, p []byte) { a.m.ProcessAt(d, p) }
func (a atDriver) poll(d time.Duration, tr *trace)   { a.m.PollAt(d, tr.emitter(d)) }
func (a atDriver) deadline() (time.Duration, bool)   { return a.m.NextAt() }

type traceEmitter struct {
	tr *trace
	at time.Duration
}

func (e traceEmitter) Emit(p []byte) {
	e.tr.Out = append(e.tr.Out, slices.Clone(p))
	e.tr.At = append(e.tr.At, e.at)
}

// diff describes the first difference between tr and o, or returns "".
func (tr *trace) diff(o *trace) string {
	if i := firstDiff(tr.Out, o.Out, bytes.Equal); i >= 0 {
		return fmt.Sprintf("packet %d emitted differs (of %d and %d)", i, len(tr.Out), len(o.Out))
	}
	if i := firstDiff(tr.At, o.At, func(a, b time.Duration) bool { return a == b }); i >= 0 {
		return fmt.Sprintf("packet %d emitted at a different time", i)
	}
	if i := firstDiff(tr.Deadlines, o.Deadlines, func(a, b time.Duration) bool { return a == b }); i >= 0 {
		return fmt.Sprintf("deadline %d differs (of %d and %d)", i, len(tr.Deadlines), len(o.Deadlines))
	}
	return cmp.Diff(tr.Stats, o.Stats)
}

// firstDiff returns the first index at which a and b differ, or -1.
func firstDiff[T any](a, b []T, eq func(T, T) bool) int {
	for i := range min(len(a), len(b)) {
		if !eq(a[i], b[i]) {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func (tr *trace) emitter(at time.Duration) traceEmitter { return traceEmitter{tr, at} }

// run offers packets at pseudo-random times and polls at pseudo-random
// times and at the deadlines; the script depends only on seed.
func run(dr driver, m *Impairer, seed uint64) trace {
	var tr trace
	r := rand.New(rand.NewPCG(seed, 1))
	now := time.Duration(0)
	for i := range 2000 {
		now += time.Duration(r.IntN(400)) * time.Microsecond
		switch r.IntN(3) {
		case 0, 1:
			dr.process(now, pkt(i, 40+r.IntN(1460)))
		case 2:
			dr.poll(now, &tr)
		}
		if d, ok := dr.deadline(); ok {
			tr.Deadlines = append(tr.Deadlines, d)
			if d <= now {
				dr.poll(now, &tr)
			}
		}
	}
	for {
		d, ok := dr.deadline()
		if !ok {
			break
		}
		tr.Deadlines = append(tr.Deadlines, d)
		dr.poll(d, &tr)
	}
	tr.Stats = m.Stats()
	return tr
}

func TestAtMethodsMatchTimeMethods(t *testing.T) {
	origin := t0.Add(1234567 * time.Nanosecond)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"perfect", Config{}},
		{"rate and queue", Config{Rate: 10_000_000, Delay: 5 * time.Millisecond, QueuePackets: 20}},
		{"no rate with delay", Config{Delay: 3 * time.Millisecond}},
		{"everything", Config{Rate: 20_000_000, Delay: 2 * time.Millisecond, Jitter: time.Millisecond,
			QueueBytes: 30000, MTU: 1400, Loss: 0.02, Burst: GilbertElliott{P: 0.05, R: 0.3, LossBad: 0.7},
			Reorder: 0.1, ReorderDelay: 3 * time.Millisecond, Duplicate: 0.05, Corrupt: 0.05, Seed: 9}},
		{"outages", Config{Rate: 5_000_000, Delay: time.Millisecond, Outages: []Outage{
			{origin.Add(50 * time.Millisecond), origin.Add(80 * time.Millisecond)},
			{origin.Add(200 * time.Millisecond), origin.Add(201 * time.Millisecond)},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(3) {
				a := mustNew(t, tt.cfg)
				// New's origin is the first time seen: make it origin.
				a.Up(origin)
				b, err := NewAt(tt.cfg, origin)
				if err != nil {
					t.Fatal(err)
				}
				want := run(timeDriver{a, origin}, a, seed)
				got := run(atDriver{b}, b, seed)
				if len(want.Out) == 0 && tt.name != "perfect" {
					t.Fatal("nothing delivered")
				}
				if d := want.diff(&got); d != "" {
					t.Fatalf("seed %d: At methods differ from Time methods: %s", seed, d)
				}
			}
		})
	}
}

func TestNewAtOrigin(t *testing.T) {
	origin := t0.Add(time.Hour)
	m, err := NewAt(Config{Delay: 10 * time.Millisecond}, origin)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.NextAt(); ok {
		t.Fatal("NextAt reports a deadline with nothing in flight")
	}
	// Before the origin counts as the origin.
	m.Process(t0, pkt(1, 100), nil)
	if d := m.Deadline(); !d.Equal(origin.Add(10 * time.Millisecond)) {
		t.Fatalf("Deadline() = %v, want %v", d, origin.Add(10*time.Millisecond))
	}
	if d, ok := m.NextAt(); !ok || d != 10*time.Millisecond {
		t.Fatalf("NextAt() = %v, %v, want 10ms, true", d, ok)
	}
	m.ProcessAt(-time.Second, pkt(2, 100))
	var r recorder
	r.drain(m, origin.Add(time.Second))
	want := []arrival{{1, time.Hour + 10*time.Millisecond}, {2, time.Hour + 10*time.Millisecond}}
	if diff := cmp.Diff(want, r.got); diff != "" {
		t.Fatalf("arrivals (-want +got):\n%s", diff)
	}
	if _, err := NewAt(Config{Loss: 2}, origin); err == nil {
		t.Fatal("NewAt accepted an invalid Config")
	}
}

func TestAtMethodsWithoutOrigin(t *testing.T) {
	// An Impairer made by New that is first given a duration counts it
	// from the zero Time.
	m := mustNew(t, Config{Delay: time.Millisecond})
	m.ProcessAt(time.Second, pkt(1, 10))
	if d, ok := m.NextAt(); !ok || d != time.Second+time.Millisecond {
		t.Fatalf("NextAt() = %v, %v, want 1.001s, true", d, ok)
	}
	if want := (time.Time{}).Add(time.Second + time.Millisecond); !m.Deadline().Equal(want) {
		t.Fatalf("Deadline() = %v, want %v", m.Deadline(), want)
	}
}

func TestClockConversion(t *testing.T) {
	// clock's quick conversion gives what Time.Sub gives, for times with
	// and without monotonic clock readings, and saturates like Sub.
	mono := time.Now()
	wall := mono.Round(0)
	bases := []time.Time{t0, t0.Add(-time.Nanosecond), wall, mono, time.Unix(0, 999_999_999)}
	offsets := []time.Duration{0, 1, 999_999_999, time.Second, -time.Second - 1, 1<<32*time.Second - 1,
		time.Duration(math.MaxInt64), time.Duration(math.MinInt64), 137 * 365 * 24 * time.Hour}
	for _, base := range bases {
		for _, off := range offsets {
			for _, now := range []time.Time{base.Add(off), base.Add(off).Round(0), base.Round(0).Add(off)} {
				m := mustNew(t, Config{})
				m.Up(base)
				want := max(int64(now.Sub(base)), 0)
				if got := m.clock(now); got != want {
					t.Errorf("base %v, now %v: clock = %d, want %d", base, now, got, want)
				}
			}
		}
	}
	// Far beyond the range of a Duration: Sub saturates.
	m := mustNew(t, Config{})
	m.Up(t0)
	if got := m.clock(t0.AddDate(400, 0, 0)); got != math.MaxInt64 {
		t.Errorf("400 years on: clock = %d, want MaxInt64", got)
	}
}

func TestRingsWrap(t *testing.T) {
	// The rings keep FIFO order across growth and wrap-around, against a
	// slice as the model.
	var q ring
	var f flightRing
	var model []int
	r := rand.New(rand.NewPCG(1, 2))
	next := 0
	for range 20000 {
		if len(model) == 0 || r.IntN(5) < 3 {
			n := r.IntN(4) + 1
			for range n {
				q.push(qpkt{pkt: pkt(next, 4), wire: 4, segs: 1})
				f.push(flight{arrival: int64(next), pkt: pkt(next, 4)})
				model = append(model, next)
				next++
			}
			continue
		}
		if got := pktID(q.peek().pkt); got != model[0] {
			t.Fatalf("ring peek = %d, want %d", got, model[0])
		}
		if got := f.last().arrival; got != int64(model[len(model)-1]) {
			t.Fatalf("flightRing last = %d, want %d", got, model[len(model)-1])
		}
		if r.IntN(10) == 0 {
			if got := f.popLast().arrival; got != int64(model[len(model)-1]) {
				t.Fatalf("flightRing popLast = %d, want %d", got, model[len(model)-1])
			}
			f.push(flight{arrival: int64(model[len(model)-1])})
		}
		if got := pktID(q.pop().pkt); got != model[0] {
			t.Fatalf("ring pop = %d, want %d", got, model[0])
		}
		if got := f.popFirst().arrival; got != int64(model[0]) {
			t.Fatalf("flightRing popFirst = %d, want %d", got, model[0])
		}
		model = model[1:]
		if q.len() != len(model) || f.len() != len(model) {
			t.Fatalf("lengths %d and %d, want %d", q.len(), f.len(), len(model))
		}
	}
	if n := len(q.buf); n&(n-1) != 0 {
		t.Fatalf("ring buffer of %d entries, want a power of two", n)
	}
	if n := len(f.buf); n&(n-1) != 0 {
		t.Fatalf("flightRing buffer of %d entries, want a power of two", n)
	}
}
