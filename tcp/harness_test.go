package tcp

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// netCfg describes the in-test channel between two engines.
type netCfg struct {
	delay   time.Duration // one-way delay
	jitter  time.Duration // extra random delay, reorders segments
	loss    float64       // probability a segment is dropped
	rate    int           // bytes per second serialisation, 0 for none
	seed    uint64
	maxTime time.Duration // give up after this much virtual time
}

type flight struct {
	at    time.Time
	id    uint64
	toB   bool
	seg   Segment
	bufIx int
}

// harness runs a client Conn (a) against a server accepted by a Listener
// (b) over a lossy, reordering channel, in virtual time.
type harness struct {
	t        testing.TB
	now      time.Time
	net      netCfg
	rng      *rand.Rand
	a, b     *Conn
	l        *Listener
	inflight []flight
	nextID   uint64
	cur      flight   // the segment being delivered (a field, so &cur.seg does not allocate)
	polled   Segment  // the segment just polled
	bufs     [][]byte // payload buffers, reused
	free     []int
	pollBuf  []byte
	linkFree [2]time.Time // when each direction's serialiser is free
	// Counters.
	sent, dropped int
	// Application data.
	src        []byte
	srcOff     int
	sink       []byte
	rbuf       []byte
	closeAfter bool // a closes once all src is written
	noCheck    bool // skip the invariant checks after each step (benchmarks)
	pollInto   bool // poll with PollInto into polled, never cleared, rather than Poll
	onSegment  func(toB bool, s *Segment)
}

func newHarness(tb testing.TB, ca, cb *Config, n netCfg) *harness {
	h := &harness{t: tb, now: t0, net: n, rng: rand.New(rand.NewPCG(n.seed, n.seed^0x9e3779b97f4a7c15)), pollBuf: make([]byte, 65536), rbuf: make([]byte, 64<<10)}
	var err error
	h.l, err = NewListener(cb, serverAP.Port(), 16)
	if err != nil {
		tb.Fatal(err)
	}
	h.a, err = Dial(h.now, ca, clientID, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func (h *harness) getBuf() int {
	if n := len(h.free); n > 0 {
		i := h.free[n-1]
		h.free = h.free[:n-1]
		return i
	}
	h.bufs = append(h.bufs, make([]byte, 0, 65536))
	return len(h.bufs) - 1
}

// pollSide drains one engine into the channel.
func (h *harness) pollSide(c *Conn, toB bool) {
	if c == nil {
		return
	}
	for n := 0; ; n++ {
		var ok bool
		if h.pollInto {
			ok = c.PollInto(h.now, h.pollBuf, &h.polled)
		} else {
			h.polled, ok = c.Poll(h.now, h.pollBuf)
		}
		if !ok {
			return
		}
		s := &h.polled
		if n > 100000 {
			h.t.Fatalf("endless output: %s from %v conn", fmtSeg(s), c.State())
		}
		h.sent++
		if h.onSegment != nil {
			h.onSegment(toB, s)
		}
		if h.net.loss > 0 && h.rng.Float64() < h.net.loss {
			h.dropped++
			continue
		}
		i := h.getBuf()
		h.bufs[i] = append(h.bufs[i][:0], s.Payload...)
		s.Payload = h.bufs[i]
		at := h.now.Add(h.net.delay)
		if h.net.rate > 0 {
			d := 0
			if toB {
				d = 1
			}
			start := h.linkFree[d]
			if start.Before(h.now) {
				start = h.now
			}
			tx := time.Duration(int64(len(s.Payload)+52) * int64(time.Second) / int64(h.net.rate))
			h.linkFree[d] = start.Add(tx)
			at = h.linkFree[d].Add(h.net.delay)
		}
		if h.net.jitter > 0 {
			at = at.Add(time.Duration(h.rng.Int64N(int64(h.net.jitter))))
		}
		h.nextID++
		h.inflight = append(h.inflight, flight{at: at, id: h.nextID, toB: toB, seg: *s, bufIx: i})
	}
}

// app moves application data: a writes src, b reads into sink.
func (h *harness) app() {
	if h.a != nil && h.srcOff < len(h.src) {
		n, _ := h.a.Write(h.src[h.srcOff:])
		h.srcOff += n
		if h.srcOff == len(h.src) && h.closeAfter {
			h.a.Close()
		}
	}
	if h.b != nil {
		for {
			n, _ := h.b.Read(h.rbuf)
			if n == 0 {
				break
			}
			h.sink = append(h.sink, h.rbuf[:n]...)
		}
	}
}

// step delivers everything due now, runs the applications, polls both
// sides, and advances virtual time to the next event. It reports false when
// nothing more can happen.
func (h *harness) step() bool {
	// Deliver due segments, in arrival order.
	for {
		best := -1
		for i := range h.inflight {
			f := &h.inflight[i]
			if !f.at.After(h.now) && (best < 0 || f.at.Before(h.inflight[best].at) || (f.at.Equal(h.inflight[best].at) && f.id < h.inflight[best].id)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		h.cur = h.inflight[best]
		copy(h.inflight[best:], h.inflight[best+1:])
		h.inflight = h.inflight[:len(h.inflight)-1]
		h.deliver(&h.cur)
		h.free = append(h.free, h.cur.bufIx)
	}
	h.app()
	h.pollSide(h.a, true)
	h.pollSide(h.b, false)
	if !h.noCheck {
		h.check(h.a)
		h.check(h.b)
	}
	// Next time.
	var next time.Time
	take := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for i := range h.inflight {
		take(h.inflight[i].at)
	}
	if h.a != nil {
		take(h.a.NextDeadline())
	}
	if h.b != nil {
		take(h.b.NextDeadline())
	}
	if next.IsZero() {
		return false
	}
	if next.After(h.now) {
		h.now = next
	}
	return true
}

func (h *harness) check(c *Conn) {
	if c == nil {
		return
	}
	if err := checkInvariants(c); err != nil {
		h.t.Fatalf("virtual %v: %v", h.now.Sub(t0), err)
	}
}

func (h *harness) deliver(f *flight) {
	if f.toB {
		if h.b == nil || h.b.State() == StateClosed {
			if c, _, _ := h.l.Input(h.now, serverID, &f.seg); c != nil {
				h.b = c
			}
			return
		}
		h.b.Input(h.now, &f.seg)
		if c, ok := h.l.Accept(); ok && c != h.b {
			h.t.Fatalf("accepted an unexpected connection")
		}
		return
	}
	if h.a != nil {
		h.a.Input(h.now, &f.seg)
	}
}

// run steps until done() or the time limit.
func (h *harness) run(done func() bool) {
	limit := h.now.Add(h.net.maxTime)
	for !done() {
		if (!h.step() && !done()) || h.now.After(limit) {
			h.t.Fatalf("stalled at virtual %v: a=%v b=%v; a: %s; b: %s", h.now.Sub(t0), h.stateOf(h.a), h.stateOf(h.b), brief(h.a), brief(h.b))
		}
	}
}

func (h *harness) stateOf(c *Conn) State {
	if c == nil {
		return StateClosed
	}
	return c.State()
}

func brief(c *Conn) string {
	if c == nil {
		return "nil"
	}
	i := c.Info()
	return fmt.Sprintf("una=%d nxt=%d rcvnxt=%d cwnd=%d ssthresh=%d pipe=%d unacked=%d lost=%d sacked=%d retr=%d rto=%v rtos=%d recov=%v sndwnd=%d rcvwnd=%d buffered=%d err=%v",
		i.SndUna, i.SndNxt, i.RcvNxt, i.Cwnd, i.Ssthresh, i.InFlight, i.Unacked, i.Lost, i.Sacked, i.Retrans, i.RTO, i.RTOs, i.InRecovery, i.SendWindow, i.RecvWindow, i.SendBuffered, c.Err())
}

var soakSeeds = flag.Int("tcp.soak", 0, "extra seeds per TestLoopbackTransfer variant")

func TestLoopbackTransfer(t *testing.T) {
	data := make([]byte, 1<<20+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	type variant struct {
		name  string
		mod   func(*Config)
		net   netCfg
		seeds int
		size  int
	}
	variants := []variant{
		{"clean", func(*Config) {}, netCfg{delay: 10 * time.Millisecond}, 1, len(data)},
		{"sack-loss", func(*Config) {}, netCfg{delay: 10 * time.Millisecond, loss: 0.02}, 8, len(data) / 2},
		{"sack-loss-reorder", func(*Config) {}, netCfg{delay: 5 * time.Millisecond, jitter: 4 * time.Millisecond, loss: 0.01}, 8, len(data) / 2},
		{"newreno-loss", func(c *Config) { c.DisableSACK = true }, netCfg{delay: 10 * time.Millisecond, loss: 0.02}, 8, len(data) / 2},
		{"newreno-reorder", func(c *Config) { c.DisableSACK = true; c.DisableTimestamps = true }, netCfg{delay: 5 * time.Millisecond, jitter: 3 * time.Millisecond, loss: 0.01}, 6, len(data) / 2},
		{"cubic-heavy-loss", func(c *Config) { c.CongestionControl = "cubic" }, netCfg{delay: 20 * time.Millisecond, loss: 0.08}, 6, len(data) / 4},
		{"norack-noscale", func(c *Config) { c.DisableRACK = true; c.DisableWindowScale = true }, netCfg{delay: 10 * time.Millisecond, loss: 0.03, jitter: time.Millisecond}, 6, len(data) / 4},
		{"small-buffers", func(c *Config) {
			c.RecvBufferSize = 8 << 10
			c.MaxRecvBufferSize = 16 << 10
			c.SendBufferSize = 8 << 10
		}, netCfg{delay: 2 * time.Millisecond, loss: 0.02, jitter: time.Millisecond}, 6, len(data) / 4},
		{"rate-limited", func(*Config) {}, netCfg{delay: 15 * time.Millisecond, rate: 2 << 20}, 1, len(data)},
		{"loss-15", func(*Config) {}, netCfg{delay: 5 * time.Millisecond, loss: 0.15}, 4, len(data) / 8},
		{"newreno-loss-15", func(c *Config) { c.DisableSACK = true }, netCfg{delay: 5 * time.Millisecond, loss: 0.15}, 4, len(data) / 8},
		{"reorder-heavy", func(*Config) {}, netCfg{delay: 2 * time.Millisecond, jitter: 20 * time.Millisecond, loss: 0.01}, 4, len(data) / 4},
		{"chunky-nodelay", func(c *Config) { c.NoDelay = true; c.MSS = 536 }, netCfg{delay: 3 * time.Millisecond, loss: 0.03, jitter: 2 * time.Millisecond}, 4, len(data) / 4},
	}
	for _, v := range variants {
		v.seeds += *soakSeeds
		for seed := range v.seeds {
			v.net.seed = uint64(seed + 1)
			v.net.maxTime = 10 * time.Minute
			t.Run(fmt.Sprintf("%s/%d", v.name, seed), func(t *testing.T) {
				ca, cb := testConfig(), testConfig()
				v.mod(ca)
				v.mod(cb)
				h := newHarness(t, ca, cb, v.net)
				h.src = data[:v.size]
				h.closeAfter = true
				h.run(func() bool { return h.b != nil && h.b.rcvFin && h.b.Readable() == 0 && len(h.sink) == v.size })
				if testing.Verbose() {
					t.Logf("virtual %v, %d segments, %d dropped; a: %s", h.now.Sub(t0), h.sent, h.dropped, brief(h.a))
				}
				if !bytes.Equal(h.sink, h.src) {
					t.Fatalf("received %d bytes that differ from the %d sent", len(h.sink), len(h.src))
				}
				if n, err := h.b.Read(h.rbuf); n != 0 || err == nil {
					t.Fatalf("Read after FIN = %d, %v; want 0, io.EOF", n, err)
				}
				// Both close; the client ends in TIME-WAIT, then CLOSED.
				h.b.Close()
				h.run(func() bool {
					return h.a.State() == StateClosed && h.b.State() == StateClosed
				})
				if h.a.Err() != nil || h.b.Err() != nil {
					t.Fatalf("errors after orderly close: a=%v b=%v", h.a.Err(), h.b.Err())
				}
				checkDrained(t, h.a)
				checkDrained(t, h.b)
			})
		}
	}
}

// checkDrained asserts a closed connection holds no buffers.
func checkDrained(t *testing.T, c *Conn) {
	t.Helper()
	if c.snd.p != nil || c.rcv.p != nil || len(c.recs) != 0 || c.pipe != 0 || c.lostCount != 0 || c.sackedSize != 0 {
		t.Errorf("closed connection keeps state: snd=%v rcv=%v recs=%d pipe=%d lost=%d sacked=%d",
			c.snd.p != nil, c.rcv.p != nil, len(c.recs), c.pipe, c.lostCount, c.sackedSize)
	}
}
