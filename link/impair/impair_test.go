package impair

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
)

var t0 = clock.Epoch

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// pkt returns an n-byte packet whose first four bytes hold id.
func pkt(id, n int) []byte {
	b := make([]byte, max(n, 4))
	binary.BigEndian.PutUint32(b, uint32(id))
	for i := 4; i < len(b); i++ {
		b[i] = byte(id + i)
	}
	return b[:n]
}

func pktID(b []byte) int { return int(binary.BigEndian.Uint32(b)) }

type arrival struct {
	ID int
	At time.Duration // since t0
}

// recorder records what an Impairer emits, with the time of the Poll.
type recorder struct {
	now  time.Time
	got  []arrival
	pkts [][]byte
}

func (r *recorder) Emit(p []byte) {
	r.got = append(r.got, arrival{pktID(p), r.now.Sub(t0)})
	r.pkts = append(r.pkts, append([]byte(nil), p...))
}

// drain polls m at each of its deadlines up to until.
func (r *recorder) drain(m link.Middleware, until time.Time) { r.drainTo(m, until, r) }

// drainTo is drain with out as the Emitter, r keeping the time.
func (r *recorder) drainTo(m link.Middleware, until time.Time, out link.Emitter) {
	for {
		d := m.Deadline()
		if d.IsZero() || d.After(until) {
			return
		}
		r.now = d
		m.Poll(d, out)
	}
}

func mustNew(t testing.TB, c Config) *Impairer {
	t.Helper()
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSerializationAndPropagation(t *testing.T) {
	m := mustNew(t, Config{Rate: 10_000_000, Delay: 20 * time.Millisecond})
	var r recorder
	for i := range 3 {
		m.Process(t0, pkt(i, 1500), nil)
	}
	if got := m.Deadline().Sub(t0); got != ms(1.2) {
		t.Fatalf("first deadline %v after start, want 1.2ms (end of first transmission)", got)
	}
	r.drain(m, t0.Add(time.Second))
	want := []arrival{{0, ms(21.2)}, {1, ms(22.4)}, {2, ms(23.6)}}
	if diff := cmp.Diff(want, r.got); diff != "" {
		t.Fatalf("arrivals (-want +got):\n%s", diff)
	}
	if !m.Deadline().IsZero() {
		t.Fatalf("Deadline() = %v with nothing in flight", m.Deadline())
	}
	st := m.Stats()
	if st.DeliveredPackets != 3 || st.DeliveredBytes != 4500 || st.MaxQueuePackets != 3 || st.QueuePackets != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestLatePollKeepsTiming(t *testing.T) {
	// Poll once, long after everything arrived: same packets, same order;
	// and interleaved arrivals after the late poll still follow the
	// schedule computed from the original times.
	cfg := Config{Rate: 1_000_000, Delay: 5 * time.Millisecond}
	a, b := mustNew(t, cfg), mustNew(t, cfg)
	var ra, rb recorder
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		a.Process(at, pkt(i, 500), nil) // 4ms each at 1 Mbit/s: queue builds up
		b.Process(at, pkt(i, 500), nil)
	}
	ra.drain(a, t0.Add(time.Second))
	rb.now = t0.Add(15 * time.Millisecond)
	b.Poll(rb.now, &rb) // late for packets 0 and 1, which arrived at 9 and 13 ms
	rb.drain(b, t0.Add(time.Second))
	wantA := []arrival{{0, ms(9)}, {1, ms(13)}, {2, ms(17)}, {3, ms(21)}, {4, ms(25)}}
	if diff := cmp.Diff(wantA, ra.got); diff != "" {
		t.Fatalf("prompt polling (-want +got):\n%s", diff)
	}
	wantB := []arrival{{0, ms(15)}, {1, ms(15)}, {2, ms(17)}, {3, ms(21)}, {4, ms(25)}}
	if diff := cmp.Diff(wantB, rb.got); diff != "" {
		t.Fatalf("late polling (-want +got):\n%s", diff)
	}
}

func TestQueueLimits(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		sizes       []int
		wantIDs     []int
		wantDropped uint64
		wantMaxPkts int
		wantMaxB    int
	}{
		{
			name:    "packets",
			cfg:     Config{Rate: 1_000_000, QueuePackets: 4},
			sizes:   []int{100, 100, 100, 100, 100, 100, 100},
			wantIDs: []int{0, 1, 2, 3}, wantDropped: 3, wantMaxPkts: 4, wantMaxB: 400,
		},
		{
			name:    "bytes",
			cfg:     Config{Rate: 1_000_000, QueueBytes: 1000},
			sizes:   []int{400, 400, 300, 200, 100},
			wantIDs: []int{0, 1, 3}, wantDropped: 2, wantMaxPkts: 3, wantMaxB: 1000,
		},
		{
			name:    "both",
			cfg:     Config{Rate: 1_000_000, QueueBytes: 1000, QueuePackets: 2},
			sizes:   []int{100, 100, 100},
			wantIDs: []int{0, 1}, wantDropped: 1, wantMaxPkts: 2, wantMaxB: 200,
		},
		{
			name:    "no rate means no queue",
			cfg:     Config{QueuePackets: 1},
			sizes:   []int{100, 100, 100},
			wantIDs: []int{0, 1, 2}, wantDropped: 0, wantMaxPkts: 0, wantMaxB: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, tc.cfg)
			for i, n := range tc.sizes {
				m.Process(t0, pkt(i, n), nil)
			}
			var r recorder
			r.drain(m, t0.Add(time.Hour))
			var ids []int
			for _, a := range r.got {
				ids = append(ids, a.ID)
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
			st := m.Stats()
			if st.DroppedQueue != tc.wantDropped || st.MaxQueuePackets != tc.wantMaxPkts || st.MaxQueueBytes != tc.wantMaxB {
				t.Errorf("stats: dropped %d max %d pkts %d bytes; want %d, %d, %d",
					st.DroppedQueue, st.MaxQueuePackets, st.MaxQueueBytes, tc.wantDropped, tc.wantMaxPkts, tc.wantMaxB)
			}
		})
	}
}

func TestQueueDrainsWhileFilling(t *testing.T) {
	// 1000-byte packets every 1ms into an 8 Mbit/s link (1ms each) with a
	// 2-packet queue: the queue never overflows. At twice that rate it does.
	m := mustNew(t, Config{Rate: 8_000_000, QueuePackets: 2})
	for i := range 100 {
		m.Process(t0.Add(time.Duration(i)*time.Millisecond), pkt(i, 1000), nil)
	}
	if st := m.Stats(); st.DroppedQueue != 0 || st.MaxQueuePackets != 1 {
		t.Fatalf("paced: %+v", st)
	}
	m = mustNew(t, Config{Rate: 8_000_000, QueuePackets: 2})
	for i := range 100 {
		m.Process(t0.Add(time.Duration(i)*time.Millisecond/2), pkt(i, 1000), nil)
	}
	// Arrivals at 0, .5, 1, 1.5 … ms; service 1ms: the excess is dropped.
	st := m.Stats()
	if st.MaxQueuePackets != 2 || st.DroppedQueue < 45 || st.DroppedQueue > 50 {
		t.Fatalf("overloaded: %+v", st)
	}
}

func TestMTU(t *testing.T) {
	m := mustNew(t, Config{MTU: 1280})
	m.Process(t0, pkt(1, 1280), nil)
	m.Process(t0, pkt(2, 1281), nil)
	m.Process(t0, pkt(3, 9000), nil)
	var r recorder
	r.drain(m, t0)
	if diff := cmp.Diff([]arrival{{1, 0}}, r.got); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	if st := m.Stats(); st.DroppedMTU != 2 || st.Packets != 3 || st.Bytes != 1280+1281+9000 {
		t.Fatalf("stats = %+v", st)
	}
}

// binomialOK reports whether k successes in n trials are within 5 standard
// deviations of n*p.
func binomialOK(k, n int, p float64) bool {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(k)-mean) <= 5*sd+1
}

func TestBernoulliLoss(t *testing.T) {
	const n = 5000
	for _, p := range []float64{0.01, 0.1, 0.5} {
		for seed := range uint64(5) {
			m := mustNew(t, Config{Loss: p, Seed: seed})
			var r recorder
			for i := range n {
				m.Process(t0, pkt(i, 64), nil)
			}
			r.drain(m, t0)
			lost := int(m.Stats().DroppedLoss)
			if lost+len(r.got) != n {
				t.Fatalf("lost %d + delivered %d != %d", lost, len(r.got), n)
			}
			if !binomialOK(lost, n, p) {
				t.Errorf("p=%v seed=%d: lost %d of %d, expected about %.0f", p, seed, lost, n, p*n)
			}
		}
	}
}

func TestGilbertElliott(t *testing.T) {
	const n = 100_000
	ge := GilbertElliott{P: 0.01, R: 0.25, LossGood: 0, LossBad: 1}
	m := mustNew(t, Config{Burst: ge, Seed: 7})
	lost := make([]bool, n)
	p := pkt(0, 40)
	for i := range n {
		before := m.stats.DroppedLoss
		m.Process(t0, p, nil)
		lost[i] = m.stats.DroppedLoss != before
	}
	var losses, bursts int
	for i, l := range lost {
		if l {
			losses++
			if i == 0 || !lost[i-1] {
				bursts++
			}
		}
	}
	rate := float64(losses) / n
	wantRate := ge.P / (ge.P + ge.R) // with LossBad = 1, LossGood = 0
	if math.Abs(rate-wantRate) > 0.15*wantRate {
		t.Errorf("loss rate %.4f, want about %.4f", rate, wantRate)
	}
	meanBurst := float64(losses) / float64(bursts)
	if want := 1 / ge.R; math.Abs(meanBurst-want) > 0.1*want {
		t.Errorf("mean burst length %.2f, want about %.2f", meanBurst, want)
	}
	// Bernoulli loss at the same rate has much shorter bursts.
	m = mustNew(t, Config{Loss: wantRate, Seed: 7})
	losses, bursts = 0, 0
	prev := false
	for range n {
		before := m.stats.DroppedLoss
		m.Process(t0, p, nil)
		l := m.stats.DroppedLoss != before
		if l {
			losses++
			if !prev {
				bursts++
			}
		}
		prev = l
	}
	if mb := float64(losses) / float64(bursts); mb > 1.2 {
		t.Errorf("Bernoulli mean burst length %.2f, want about 1", mb)
	}
}

func TestGilbertElliottPartialLoss(t *testing.T) {
	const n = 100_000
	ge := GilbertElliott{P: 0.05, R: 0.2, LossGood: 0.01, LossBad: 0.5}
	m := mustNew(t, Config{Burst: ge, Seed: 3})
	p := pkt(0, 40)
	for range n {
		m.Process(t0, p, nil)
	}
	bad := ge.P / (ge.P + ge.R)
	want := bad*ge.LossBad + (1-bad)*ge.LossGood
	got := float64(m.Stats().DroppedLoss) / n
	if math.Abs(got-want) > 0.1*want {
		t.Fatalf("loss rate %.4f, want about %.4f", got, want)
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	const n = 2000
	m := mustNew(t, Config{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 1})
	var r recorder
	for i := range n {
		at := t0.Add(time.Duration(i) * 100 * time.Microsecond)
		r.drain(m, at)
		m.Process(at, pkt(i, 100), nil)
	}
	r.drain(m, t0.Add(time.Hour))
	if len(r.got) != n {
		t.Fatalf("delivered %d of %d", len(r.got), n)
	}
	var distinctDelays = map[time.Duration]bool{}
	for i, a := range r.got {
		if a.ID != i {
			t.Fatalf("arrival %d is packet %d: jitter reordered packets", i, a.ID)
		}
		delay := a.At - time.Duration(i)*100*time.Microsecond
		if delay < 5*time.Millisecond || delay > 15*time.Millisecond+100*time.Microsecond*50 {
			t.Fatalf("packet %d delayed %v", i, delay)
		}
		distinctDelays[delay] = true
	}
	if len(distinctDelays) < n/2 {
		t.Fatalf("only %d distinct delays: jitter not applied", len(distinctDelays))
	}
}

func TestJitterBounds(t *testing.T) {
	// Packets far apart never wait for each other: each delay is in
	// [Delay-Jitter, Delay+Jitter], and both halves of the range occur.
	m := mustNew(t, Config{Delay: 10 * time.Millisecond, Jitter: 4 * time.Millisecond, Seed: 2})
	var r recorder
	var lo, hi int
	for i := range 1000 {
		at := t0.Add(time.Duration(i) * time.Second)
		m.Process(at, pkt(i, 100), nil)
		r.drain(m, at.Add(time.Second/2))
		d := r.got[i].At - time.Duration(i)*time.Second
		if d < 6*time.Millisecond || d > 14*time.Millisecond {
			t.Fatalf("packet %d delayed %v, outside 10ms±4ms", i, d)
		}
		if d < 10*time.Millisecond {
			lo++
		} else if d > 10*time.Millisecond {
			hi++
		}
	}
	if lo < 400 || hi < 400 {
		t.Fatalf("delays below/above 10ms: %d/%d", lo, hi)
	}
}

func TestReorder(t *testing.T) {
	const n = 5000
	const p = 0.05
	m := mustNew(t, Config{Delay: 10 * time.Millisecond, Reorder: p, ReorderDelay: 3 * time.Millisecond, Seed: 11})
	var r recorder
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r.drain(m, at)
		m.Process(at, pkt(i, 100), nil)
	}
	r.drain(m, t0.Add(time.Hour))
	if len(r.got) != n {
		t.Fatalf("delivered %d of %d", len(r.got), n)
	}
	// A held-back packet arrives 13ms after it was sent, after the two or
	// three packets sent behind it.
	late := 0
	for _, a := range r.got {
		switch d := a.At - time.Duration(a.ID)*time.Millisecond; d {
		case 10 * time.Millisecond:
		case 13 * time.Millisecond:
			late++
		default:
			t.Fatalf("packet %d delayed %v", a.ID, d)
		}
	}
	inversions := 0
	for i := 1; i < len(r.got); i++ {
		if r.got[i].ID < r.got[i-1].ID {
			inversions++
		}
	}
	st := m.Stats()
	if int(st.Reordered) != late {
		t.Fatalf("Reordered = %d, but %d packets were held back", st.Reordered, late)
	}
	if !binomialOK(late, n, p) {
		t.Fatalf("%d packets held back, want about %v", late, p*n)
	}
	if inversions < late/2 {
		t.Fatalf("only %d inversions for %d held-back packets", inversions, late)
	}
}

func TestDuplicate(t *testing.T) {
	const n = 5000
	const p = 0.1
	m := mustNew(t, Config{Delay: time.Millisecond, Duplicate: p, Seed: 5})
	var r recorder
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r.drain(m, at)
		m.Process(at, pkt(i, 100), nil)
	}
	r.drain(m, t0.Add(time.Hour))
	dups := len(r.got) - n
	if st := m.Stats(); int(st.Duplicated) != dups || st.DeliveredPackets != uint64(len(r.got)) {
		t.Fatalf("stats %+v, %d delivered", st, len(r.got))
	}
	if !binomialOK(dups, n, p) {
		t.Fatalf("%d duplicates, want about %v", dups, p*n)
	}
	next := 0
	for i := 0; i < len(r.got); i++ {
		a := r.got[i]
		if a.ID != next {
			t.Fatalf("arrival %d is packet %d, want %d", i, a.ID, next)
		}
		if i+1 < len(r.got) && r.got[i+1].ID == a.ID {
			if r.got[i+1].At != a.At || !bytes.Equal(r.pkts[i], r.pkts[i+1]) {
				t.Fatalf("duplicate of %d differs from its original", a.ID)
			}
			i++
		}
		next++
	}
}

func TestCorrupt(t *testing.T) {
	const n = 2000
	m := mustNew(t, Config{Corrupt: 0.2, Seed: 9})
	for i := range n {
		m.Process(t0, pkt(i, 200), nil)
	}
	var r recorder
	r.drain(m, t0)
	corrupted := 0
	for i, got := range r.pkts {
		want := pkt(i, 200)
		flipped := 0
		for j := range got {
			flipped += bits.OnesCount8(got[j] ^ want[j])
		}
		switch flipped {
		case 0:
		case 1:
			corrupted++
		default:
			t.Fatalf("packet %d has %d flipped bits", i, flipped)
		}
	}
	if int(m.Stats().Corrupted) != corrupted {
		t.Fatalf("Corrupted = %d, found %d", m.Stats().Corrupted, corrupted)
	}
	if !binomialOK(corrupted, n, 0.2) {
		t.Fatalf("%d corrupted, want about %d", corrupted, n/5)
	}
}

func TestOutage(t *testing.T) {
	// 10ms delay, a packet every ms; down from 20ms to 30ms.
	cfg := Config{Delay: 10 * time.Millisecond, Outages: []Outage{{t0.Add(20 * time.Millisecond), t0.Add(30 * time.Millisecond)}}}
	m := mustNew(t, cfg)
	var r recorder
	for i := range 50 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r.drain(m, at)
		m.Process(at, pkt(i, 100), nil)
		if up := m.Up(at); up != (i < 20 || i >= 30) {
			t.Fatalf("Up at %dms = %v", i, up)
		}
	}
	r.drain(m, t0.Add(time.Hour))
	var ids []int
	for _, a := range r.got {
		ids = append(ids, a.ID)
	}
	// Packets 0..10 arrive by 20ms (packet 10 exactly at 20ms); 11..19 are
	// propagating when the link goes down; 20..29 are offered while down.
	var want []int
	for i := range 50 {
		if i <= 10 || i >= 30 {
			want = append(want, i)
		}
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	if st := m.Stats(); st.DroppedDown != 19 {
		t.Fatalf("DroppedDown = %d, want 19", st.DroppedDown)
	}
}

func TestOutageWhileQueued(t *testing.T) {
	// The queue is lost too, and the deadline wakes the driver at the start
	// of the outage even if nothing would be due before.
	cfg := Config{Rate: 8000, Outages: []Outage{{t0.Add(1500 * time.Millisecond), t0.Add(2 * time.Second)}}}
	m := mustNew(t, cfg)
	for i := range 4 {
		m.Process(t0, pkt(i, 1000), nil) // 1s each
	}
	if d := m.Deadline().Sub(t0); d != time.Second {
		t.Fatalf("deadline %v, want 1s", d)
	}
	var r recorder
	r.drain(m, t0.Add(time.Second))
	if d := m.Deadline().Sub(t0); d != 1500*time.Millisecond {
		t.Fatalf("deadline %v, want 1.5s (outage start)", d)
	}
	r.drain(m, t0.Add(time.Hour))
	if diff := cmp.Diff([]arrival{{0, time.Second}}, r.got); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	if st := m.Stats(); st.DroppedDown != 3 || st.QueuePackets != 0 || st.QueueBytes != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if !m.Deadline().IsZero() {
		t.Fatal("deadline pending after everything was dropped")
	}
}

func TestSetUp(t *testing.T) {
	m := mustNew(t, Config{Delay: 10 * time.Millisecond})
	var r recorder
	m.Process(t0, pkt(1, 100), nil)
	m.SetUp(t0.Add(5*time.Millisecond), false)
	m.Process(t0.Add(6*time.Millisecond), pkt(2, 100), nil)
	m.SetUp(t0.Add(7*time.Millisecond), true)
	m.Process(t0.Add(8*time.Millisecond), pkt(3, 100), nil)
	r.drain(m, t0.Add(time.Hour))
	if diff := cmp.Diff([]arrival{{3, 18 * time.Millisecond}}, r.got); diff != "" {
		t.Fatalf("delivered (-want +got):\n%s", diff)
	}
	if st := m.Stats(); st.DroppedDown != 2 {
		t.Fatalf("DroppedDown = %d, want 2", st.DroppedDown)
	}
}

func TestSetConfig(t *testing.T) {
	m := mustNew(t, Config{Rate: 8_000_000, Delay: time.Millisecond})
	for i := range 3 {
		m.Process(t0, pkt(i, 1000), nil) // 1ms each
	}
	// At 0.5ms: halve the rate and add delay. Packet 0 keeps its
	// transmission end (1ms) but propagates with the new delay; packets 1
	// and 2 take 2ms each.
	if err := m.SetConfig(t0.Add(ms(0.5)), Config{Rate: 4_000_000, Delay: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var r recorder
	r.drain(m, t0.Add(time.Hour))
	want := []arrival{{0, ms(6)}, {1, ms(8)}, {2, ms(10)}}
	if diff := cmp.Diff(want, r.got); diff != "" {
		t.Fatalf("arrivals (-want +got):\n%s", diff)
	}
	if got := m.Config(); got.Rate != 4_000_000 || got.Delay != 5*time.Millisecond {
		t.Fatalf("Config() = %+v", got)
	}
	err := m.SetConfig(t0, Config{Loss: 2})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("SetConfig with Loss 2: %v", err)
	}
	// An outage covering now takes the link down at once.
	m.Process(t0.Add(20*time.Millisecond), pkt(9, 100), nil)
	if err := m.SetConfig(t0.Add(21*time.Millisecond), Config{Delay: 5 * time.Millisecond,
		Outages: []Outage{{t0, t0.Add(30 * time.Millisecond)}}}); err != nil {
		t.Fatal(err)
	}
	if m.Up(t0.Add(21 * time.Millisecond)) {
		t.Fatal("up during an outage")
	}
	r.drain(m, t0.Add(time.Hour))
	if len(r.got) != 3 || m.Stats().DroppedDown != 1 {
		t.Fatalf("packet in flight at the outage: got %v, stats %+v", r.got, m.Stats())
	}
	// Rate removed while packets wait: they still leave in order.
	m = mustNew(t, Config{Rate: 8_000_000})
	for i := range 3 {
		m.Process(t0, pkt(i, 1000), nil)
	}
	if err := m.SetConfig(t0, Config{}); err != nil {
		t.Fatal(err)
	}
	m.Process(t0, pkt(3, 1000), nil)
	r = recorder{}
	r.drain(m, t0.Add(time.Hour))
	want = []arrival{{0, ms(1)}, {1, ms(1)}, {2, ms(1)}, {3, ms(1)}}
	if diff := cmp.Diff(want, r.got); diff != "" {
		t.Fatalf("arrivals after rate removal (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	bad := []Config{
		{Rate: -1},
		{Delay: -1},
		{Jitter: -1},
		{QueuePackets: -1},
		{QueueBytes: -1},
		{MTU: -1},
		{ReorderDelay: -1},
		{Loss: -0.1},
		{Loss: 1.5},
		{Loss: math.NaN()},
		{Reorder: 2},
		{Duplicate: -1},
		{Corrupt: math.Inf(1)},
		{Burst: GilbertElliott{P: 0.1, R: 1.1}},
		{Burst: GilbertElliott{P: 0.1, R: 0.5, LossBad: -1}},
		{Outages: []Outage{{t0, t0}}},
		{Outages: []Outage{{t0.Add(time.Second), t0}}},
		{Jitter: time.Duration(math.MaxInt64)},
	}
	for _, c := range bad {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", c, err)
		}
	}
	good := Config{Rate: 1, Delay: 1, Jitter: 1, QueuePackets: 1, QueueBytes: 1, MTU: 1, Loss: 1, Reorder: 1, Duplicate: 1,
		Corrupt: 1, Burst: GilbertElliott{P: 1, R: 1, LossGood: 1, LossBad: 1}, Outages: []Outage{{t0, t0.Add(1)}}}
	if _, err := New(good); err != nil {
		t.Errorf("New(%+v) = %v", good, err)
	}
}

func TestDeterminism(t *testing.T) {
	cfg := Config{Rate: 50_000_000, Delay: 3 * time.Millisecond, Jitter: time.Millisecond, QueuePackets: 20,
		Loss: 0.02, Burst: GilbertElliott{P: 0.01, R: 0.3, LossBad: 1}, Reorder: 0.02, ReorderDelay: time.Millisecond,
		Duplicate: 0.01, Corrupt: 0.01}
	run := func(seed uint64) ([]arrival, Stats) {
		cfg.Seed = seed
		m := mustNew(t, cfg)
		var r recorder
		for i := range 3000 {
			at := t0.Add(time.Duration(i) * 150 * time.Microsecond)
			r.drain(m, at)
			m.Process(at, pkt(i, 1000), nil)
		}
		r.drain(m, t0.Add(time.Hour))
		return r.got, m.Stats()
	}
	a1, s1 := run(42)
	a2, s2 := run(42)
	if diff := cmp.Diff(a1, a2); diff != "" {
		t.Fatalf("same seed, different arrivals:\n%s", diff)
	}
	if s1 != s2 {
		t.Fatalf("same seed, different stats: %+v vs %+v", s1, s2)
	}
	a3, _ := run(43)
	if cmp.Equal(a1, a3) {
		t.Fatal("different seeds gave identical arrivals")
	}
}

func TestStreamsIndependent(t *testing.T) {
	// Turning on duplication does not change which packets are lost.
	lostSet := func(cfg Config) []int {
		m := mustNew(t, cfg)
		var lost []int
		for i := range 2000 {
			before := m.Stats().DroppedLoss
			m.Process(t0, pkt(i, 100), nil)
			if m.Stats().DroppedLoss != before {
				lost = append(lost, i)
			}
		}
		return lost
	}
	a := lostSet(Config{Loss: 0.1, Seed: 1})
	b := lostSet(Config{Loss: 0.1, Seed: 1, Duplicate: 0.5, Corrupt: 0.5, Jitter: time.Millisecond})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("loss pattern changed by other impairments:\n%s", diff)
	}
}

func TestTimeGoingBack(t *testing.T) {
	m := mustNew(t, Config{Delay: 10 * time.Millisecond})
	m.Process(t0.Add(10*time.Millisecond), pkt(1, 10), nil)
	m.Process(t0, pkt(2, 10), nil) // earlier than the last call: treated as 10ms
	var r recorder
	r.drain(m, t0.Add(time.Hour))
	want := []arrival{{1, 20 * time.Millisecond}, {2, 20 * time.Millisecond}}
	if diff := cmp.Diff(want, r.got); diff != "" {
		t.Fatalf("arrivals (-want +got):\n%s", diff)
	}
}

func TestPoolClasses(t *testing.T) {
	var p pool
	for _, n := range []int{0, 1, 1500, 2048, 2049, 65535, 1 << 17, 1<<17 + 1} {
		b := p.copy(pkt(n, n))
		if len(b) != n || !bytes.Equal(b, pkt(n, n)) {
			t.Fatalf("copy of %d bytes wrong", n)
		}
		p.put(b)
		c := p.copy(pkt(n, n))
		if n <= 1<<17 && &b[:1][0] != &c[:1][0] {
			t.Fatalf("buffer of %d bytes not reused", n)
		}
	}
}

func BenchmarkImpairer(b *testing.B) {
	m := mustNew(b, Config{Rate: 1_000_000_000, Delay: time.Millisecond, Jitter: 100 * time.Microsecond,
		QueuePackets: 100, Loss: 0.01, Seed: 1})
	p := pkt(1, 1500)
	var out link.EmitFunc = func([]byte) {}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(12 * time.Microsecond)
		m.Process(now, p, out)
		if d := m.Deadline(); !d.IsZero() && !d.After(now) {
			m.Poll(now, out)
		}
	}
}

// BenchmarkImpairerBulk runs a 100 Mbit/s, 10 ms link direction with a
// 200-packet queue, offered one 1500-byte packet per 120 µs (its rate),
// through the methods that take a time.Time and those that take a
// duration since the origin. One iteration is one packet in and out.
func BenchmarkImpairerBulk(b *testing.B) {
	cfg := Config{Rate: 100_000_000, Delay: 10 * time.Millisecond, QueuePackets: 200}
	const interval = 120 * time.Microsecond
	p := pkt(1, 1500)
	var out link.EmitFunc = func([]byte) {}
	b.Run("Time", func(b *testing.B) {
		m := mustNew(b, cfg)
		now := t0
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(interval)
			m.Process(now, p, out)
			for d := m.Deadline(); !d.IsZero() && !d.After(now); d = m.Deadline() {
				m.Poll(d, out)
			}
		}
		if m.Stats().DeliveredPackets == 0 {
			b.Fatal("nothing delivered")
		}
	})
	b.Run("At", func(b *testing.B) {
		m, err := NewAt(cfg, t0)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Duration(0)
		b.ReportAllocs()
		for b.Loop() {
			now += interval
			m.ProcessAt(now, p)
			for d, ok := m.NextAt(); ok && d <= now; d, ok = m.NextAt() {
				m.PollAt(d, out)
			}
		}
		if m.Stats().DeliveredPackets == 0 {
			b.Fatal("nothing delivered")
		}
	})
}

// BenchmarkImpairerReorder is BenchmarkImpairerBulk's At case with jitter,
// reordering and duplication, so that packets also go through the heap of
// held-back packets.
func BenchmarkImpairerReorder(b *testing.B) {
	m, err := NewAt(Config{Rate: 100_000_000, Delay: 10 * time.Millisecond, Jitter: 200 * time.Microsecond,
		QueuePackets: 200, Reorder: 0.05, ReorderDelay: time.Millisecond, Duplicate: 0.01, Seed: 1}, t0)
	if err != nil {
		b.Fatal(err)
	}
	p := pkt(1, 1500)
	var out link.EmitFunc = func([]byte) {}
	now := time.Duration(0)
	b.ReportAllocs()
	for b.Loop() {
		now += 120 * time.Microsecond
		m.ProcessAt(now, p)
		for d, ok := m.NextAt(); ok && d <= now; d, ok = m.NextAt() {
			m.PollAt(d, out)
		}
	}
	if st := m.Stats(); st.Reordered == 0 || st.DeliveredPackets == 0 {
		b.Fatalf("stats %+v: nothing reordered or delivered", st)
	}
}

func TestSerializationExtremes(t *testing.T) {
	// Large products do not overflow; fast links round up to whole
	// nanoseconds.
	m := mustNew(t, Config{Rate: 1})
	m.Process(t0, make([]byte, 1<<20), nil)
	if d := m.Deadline().Sub(t0); d != 8<<20*time.Second {
		t.Fatalf("1 MiB at 1 bit/s: deadline %v, want %v", d, 8<<20*time.Second)
	}
	m = mustNew(t, Config{Rate: 400_000_000_000})
	m.Process(t0, make([]byte, 1500), nil)
	if d := m.Deadline().Sub(t0); d != 30*time.Nanosecond {
		t.Fatalf("1500 bytes at 400 Gbit/s: %v, want 30ns", d)
	}
	m = mustNew(t, Config{Rate: 3})
	m.Process(t0, make([]byte, 1), nil)
	if d := m.Deadline().Sub(t0); d != 2666666667 {
		t.Fatalf("8 bits at 3 bit/s: %v, want 2.666666667s (rounded up)", d)
	}
}
