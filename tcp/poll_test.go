package tcp

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestPollIntoMatchesPoll runs the same lossy, reordering transfers twice,
// polling with Poll and with PollInto into one Segment that is never
// cleared, and compares every segment sent.
func TestPollIntoMatchesPoll(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() *Config
		net  netCfg
	}{
		{"sack", testConfig, netCfg{delay: 5 * time.Millisecond, jitter: 3 * time.Millisecond, loss: 0.05, seed: 3, maxTime: time.Minute}},
		{"newreno", func() *Config { c := testConfig(); c.DisableSACK = true; c.DisableTimestamps = true; return c },
			netCfg{delay: 2 * time.Millisecond, loss: 0.03, rate: 1 << 20, seed: 4, maxTime: time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace := func(into bool) []string {
				h := newHarness(t, tc.cfg(), tc.cfg(), tc.net)
				h.pollInto = into
				var out []string
				h.onSegment = func(toB bool, s *Segment) {
					out = append(out, fmt.Sprintf("%v %s %x %v", toB, fmtSeg(s), s.Payload, s.Options))
				}
				h.src = pattern(300_000)
				h.closeAfter = true
				h.run(func() bool { return len(h.sink) == len(h.src) && h.b != nil && h.b.State() == StateCloseWait })
				return out
			}
			polled, into := trace(false), trace(true)
			if len(polled) < 200 {
				t.Fatalf("only %d segments", len(polled))
			}
			if diff := cmp.Diff(polled, into); diff != "" {
				t.Fatalf("Poll (-) and PollInto (+) differ:\n%s", diff)
			}
		})
	}
}

// TestPollIntoNothing checks that PollInto leaves the segment alone when
// there is nothing to send.
func TestPollIntoNothing(t *testing.T) {
	c, _ := dialed(t, testConfig(), plainOpts(1000), 10000)
	seg := Segment{Seq: 42, Payload: []byte("keep")}
	if c.PollInto(t0.Add(time.Second), make([]byte, 2000), &seg) {
		t.Fatal("PollInto found a segment on an idle connection")
	}
	if seg.Seq != 42 || string(seg.Payload) != "keep" {
		t.Fatalf("segment changed: %s", fmtSeg(&seg))
	}
}

// TestPendingEvents checks PendingEvents against what NextEvent returns.
func TestPendingEvents(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 10000)
	if n := c.PendingEvents(); n != 1 { // established
		t.Fatalf("PendingEvents %d after the handshake, want 1", n)
	}
	events(c)
	c.Input(t0.Add(20*time.Millisecond), p.seg(FlagACK|FlagPSH, c.sndNxt, 10000, []byte("hello")))
	p.nxt += 5
	c.Input(t0.Add(20*time.Millisecond), p.seg(FlagACK|FlagFIN, c.sndNxt, 10000, nil))
	want := c.PendingEvents()
	if got := len(events(c)); got != want || want != 2 { // readable, EOF
		t.Fatalf("PendingEvents said %d, NextEvent returned %d, want 2", want, got)
	}
	if n := c.PendingEvents(); n != 0 {
		t.Fatalf("PendingEvents %d after draining", n)
	}
}

// TestWindowUpdatePending checks that Read reports the window update it
// makes due, and that a Read that does not make one leaves nothing to
// send.
func TestWindowUpdatePending(t *testing.T) {
	cfg := testConfig()
	cfg.RecvBufferSize, cfg.MaxRecvBufferSize, cfg.DisableAutoTune = 8000, 8000, true
	c, p := dialed(t, cfg, plainOpts(1000), 10000)
	now := t0.Add(20 * time.Millisecond)
	for range 8 {
		c.Input(now, p.seg(FlagACK, c.sndNxt, 10000, make([]byte, 1000)))
		p.nxt += 1000
	}
	drain(c, now) // the ACKs
	if c.WindowUpdatePending() {
		t.Fatal("window update pending before any Read")
	}
	buf := make([]byte, 500)
	if n, _ := c.Read(buf); n != 500 || c.WindowUpdatePending() {
		t.Fatalf("read %d, window update pending %v after a small read", n, c.WindowUpdatePending())
	}
	none(t, c, now)
	big := make([]byte, 7000)
	if n, _ := c.Read(big); n != 7000 || !c.WindowUpdatePending() {
		t.Fatalf("read %d, window update pending %v after emptying the buffer", n, c.WindowUpdatePending())
	}
	u := one(t, c, now)
	expect(t, &u, flags(FlagACK), ackIs(p.nxt))
	if c.WindowUpdatePending() {
		t.Fatal("window update still pending after it was sent")
	}
}

// TestWriteNeedsPoll checks that, whenever WriteNeedsPoll reports false, a
// Write followed by Poll sends nothing, and that it reports true when a
// Write can make a segment ready.
func TestWriteNeedsPoll(t *testing.T) {
	cfg := testConfig()
	cfg.InitialWindow = 2
	c, p := dialed(t, cfg, plainOpts(1000), 65535)
	now := t0.Add(20 * time.Millisecond)
	if !c.WriteNeedsPoll() {
		t.Fatal("empty send buffer: WriteNeedsPoll false")
	}
	c.Write(make([]byte, 300))
	drain(c, now) // 300 bytes sent
	c.Write(make([]byte, 200))
	if len(drain(c, now)) != 0 {
		t.Fatal("Nagle did not hold the small segment")
	}
	if !c.WriteNeedsPoll() {
		t.Fatal("a small segment waits (Nagle): a write can complete it, WriteNeedsPoll false")
	}
	c.Write(make([]byte, 5000))
	sent := drain(c, now)
	if len(sent) == 0 {
		t.Fatal("nothing sent after filling a segment")
	}
	for range 3 {
		if c.WriteNeedsPoll() {
			t.Fatalf("%d bytes unsent (MSS %d): WriteNeedsPoll true", c.snd.end()-c.sndNxt, c.effMSS())
		}
		if n, _ := c.Write(make([]byte, 3000)); n != 3000 {
			t.Fatal("short write")
		}
		if segs := drain(c, now); len(segs) != 0 {
			t.Fatalf("WriteNeedsPoll was false, yet %d segments after the write", len(segs))
		}
	}
	// An ACK of everything opens the window: data goes out, and with the
	// queue still holding more than a segment, writes stay without effect.
	now = now.Add(10 * time.Millisecond)
	c.Input(now, p.seg(FlagACK, c.sndNxt, 65535, nil))
	if segs := drain(c, now); len(segs) == 0 {
		t.Fatal("nothing sent after the ACK")
	}
	if c.WriteNeedsPoll() != (int(c.snd.end()-c.sndNxt) < c.effMSS()) {
		t.Fatal("WriteNeedsPoll disagrees with the unsent bytes")
	}
}

// TestClockConversions checks the Conn's time representation: times go
// back unchanged, monotonic readings are honoured, timers saturate, and
// nextDeadline is the earliest armed timer.
func TestClockConversions(t *testing.T) {
	for _, start := range []time.Time{t0, time.Now()} {
		c, err := Dial(start, testConfig(), clientID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.clock(start); got != 1 {
			t.Fatalf("clock at creation %d, want 1", got)
		}
		for _, d := range []time.Duration{0, 1, time.Millisecond, 1500 * time.Millisecond, 36 * time.Hour, 100 * 365 * 24 * time.Hour} {
			tm := start.Add(d)
			n := c.clock(tm)
			if want := int64(d) + 1; n != want {
				t.Fatalf("clock(start+%v) = %d, want %d", d, n, want)
			}
			c.nowN = 0 // forget the cached time
			if back := c.timeAt(n); !back.Equal(tm) {
				t.Fatalf("timeAt(clock(%v)) = %v", tm, back)
			}
			if c.tsNow(n) != c.tsOffset+uint32(tm.UnixMilli()) {
				t.Fatalf("tsNow at start+%v", d)
			}
		}
		if got := c.clock(start.Add(-time.Hour)); got != 1 {
			t.Fatalf("clock before creation %d, want 1", got)
		}
		if !c.timeAt(0).IsZero() {
			t.Fatal("timeAt(0) is not the zero Time")
		}
	}
	if later(math.MaxInt64-5, time.Hour) != math.MaxInt64 || later(10, 5) != 15 || later(1, -time.Hour) != 1 {
		t.Fatal("later does not saturate")
	}
	c := &Conn{}
	if c.nextDeadline() != 0 {
		t.Fatal("no timer armed, nextDeadline not 0")
	}
	c.keepAt, c.rtoAt, c.twAt = 500, 300, math.MaxInt64
	if c.nextDeadline() != 300 {
		t.Fatalf("nextDeadline %d, want 300", c.nextDeadline())
	}
	c.rtoAt, c.keepAt = 0, 0
	if c.nextDeadline() != math.MaxInt64 {
		t.Fatalf("nextDeadline %d, want the saturated timer", c.nextDeadline())
	}
}

// TestConfigShared checks that connections with equal configurations
// share one copy, that per-connection settings stay per connection, and
// that a copy no one uses is forgotten.
func TestConfigShared(t *testing.T) {
	cfg := testConfig()
	cfg.MSS = 1234 // a configuration no other test uses
	a, err := Dial(t0, cfg, clientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dial(t0, cfg, serverID, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewListener(cfg, 80, 1)
	if err != nil {
		t.Fatal(err)
	}
	other := *cfg
	other.MSS = 1235
	d, err := Dial(t0, &other, clientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.cfg != b.cfg || a.cfg != l.cfg || a.cfg == d.cfg {
		t.Fatal("equal configurations not shared, or different ones shared")
	}
	a.SetNoDelay(true)
	a.SetKeepalive(true)
	if b.noDelay || b.keepalive || a.cfg.NoDelay || a.cfg.Keepalive {
		t.Fatal("SetNoDelay/SetKeepalive reached another connection or the shared configuration")
	}
	n, _ := cfg.normalized()
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(l)
	a, b, l = nil, nil, nil
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		configs.Lock()
		_, present := configs.m[n]
		configs.Unlock()
		if !present {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the configuration no connection uses is still interned")
		}
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(d)
	if d.cfg.MSS != 1235 {
		t.Fatal("the other configuration changed")
	}
}
