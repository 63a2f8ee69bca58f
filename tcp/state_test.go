package tcp

import (
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/wire"
)

func TestRSTInSynSent(t *testing.T) {
	tests := []struct {
		name      string
		seg       func(iss uint32) *Segment
		wantState State
		wantReply bool
	}{
		{"RST with acceptable ACK", func(iss uint32) *Segment { return &Segment{Flags: FlagRST | FlagACK, Ack: iss + 1} }, StateClosed, false},
		{"RST without ACK ignored", func(iss uint32) *Segment { return &Segment{Flags: FlagRST, Seq: 9} }, StateSynSent, false},
		{"RST with bad ACK ignored", func(iss uint32) *Segment { return &Segment{Flags: FlagRST | FlagACK, Ack: iss + 7} }, StateSynSent, false},
		{"SYN-ACK with bad ACK answered by RST", func(iss uint32) *Segment {
			return &Segment{Flags: FlagSYN | FlagACK, Seq: 50, Ack: iss + 7}
		}, StateSynSent, true},
		{"ACK equal to ISS is bad", func(iss uint32) *Segment { return &Segment{Flags: FlagACK, Seq: 50, Ack: iss} }, StateSynSent, true},
		{"plain data dropped", func(iss uint32) *Segment { return &Segment{Seq: 50, Payload: []byte("x")} }, StateSynSent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := Dial(t0, testConfig(), clientID, nil)
			one(t, c, t0)
			s := tt.seg(c.ISS())
			c.Input(t0, s)
			if c.State() != tt.wantState {
				t.Fatalf("state %v, want %v", c.State(), tt.wantState)
			}
			segs := drain(c, t0)
			if tt.wantReply {
				if len(segs) != 1 {
					t.Fatalf("got %d replies, want a RST", len(segs))
				}
				expect(t, &segs[0], flags(FlagRST), seqIs(s.Ack))
			} else if len(segs) != 0 {
				t.Fatalf("unexpected reply %s", fmtSeg(&segs[0]))
			}
			if tt.wantState == StateClosed {
				if !errors.Is(c.Err(), ErrConnectionRefused) {
					t.Fatalf("err %v, want refused", c.Err())
				}
				if evs := events(c); !hasEvent(evs, EventResetReceived) || !hasEvent(evs, EventClosed) {
					t.Fatalf("events %v", evs)
				}
			}
		})
	}
}

func TestRSTInEstablished(t *testing.T) {
	// RFC 5961 §3.2: exact RST resets; in-window RST gets a challenge
	// ACK; out-of-window RST is dropped.
	c, p := dialed(t, testConfig(), plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	c.Input(now, &Segment{Flags: FlagRST, Seq: p.nxt + 100})
	ch := one(t, c, now)
	expect(t, &ch, flags(FlagACK), ackIs(p.nxt), seqIs(c.Info().SndNxt))
	if c.State() != StateEstablished || c.Info().ChallengeACKs != 1 {
		t.Fatalf("state %v challenge acks %d", c.State(), c.Info().ChallengeACKs)
	}
	c.Input(now, &Segment{Flags: FlagRST, Seq: p.nxt + 1<<30})
	none(t, c, now)
	c.Input(now, &Segment{Flags: FlagRST, Seq: p.nxt})
	if c.State() != StateClosed {
		t.Fatalf("state %v after exact RST", c.State())
	}
	var re *ResetError
	if !errors.As(c.Err(), &re) || re.Sent || re.State != StateEstablished || !errors.Is(c.Err(), ErrConnectionReset) {
		t.Fatalf("err %v", c.Err())
	}
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, ErrConnectionReset) {
		t.Fatalf("Read after reset: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, ErrConnectionReset) {
		t.Fatalf("Write after reset: %v", err)
	}
	none(t, c, now)
}

func TestChallengeAckThrottle(t *testing.T) {
	cfg := testConfig()
	cfg.ChallengeAckLimit = 2
	c, p := dialed(t, cfg, plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	for i := range 3 {
		c.Input(now, &Segment{Flags: FlagRST, Seq: p.nxt + 5})
		segs := drain(c, now)
		if want := i < 2; (len(segs) == 1) != want {
			t.Fatalf("challenge %d sent=%v, want %v", i, len(segs) == 1, want)
		}
	}
	if i := c.Info(); i.ChallengeACKs != 2 || i.ChallengeACKsLimited != 1 {
		t.Fatalf("counters %d/%d", i.ChallengeACKs, i.ChallengeACKsLimited)
	}
	now = now.Add(time.Second)
	c.Input(now, &Segment{Flags: FlagRST, Seq: p.nxt + 5})
	one(t, c, now)
}

func TestSYNAndBadACKInEstablished(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	// RFC 5961 §4: a SYN in a synchronized state draws a challenge ACK.
	c.Input(now, &Segment{Flags: FlagSYN, Seq: p.nxt + 10})
	ch := one(t, c, now)
	expect(t, &ch, flags(FlagACK), ackIs(p.nxt))
	if c.State() != StateEstablished {
		t.Fatal("SYN changed the state")
	}
	// RFC 5961 §5.2: an ACK of data never sent, or too old, draws a
	// challenge ACK and is discarded.
	c.Input(now, p.seg(FlagACK, nxt+100, 1000, []byte("data")))
	ch = one(t, c, now)
	expect(t, &ch, ackIs(p.nxt))
	if c.Readable() != 0 {
		t.Fatal("data of a segment with a bad ACK was accepted")
	}
	c.Input(now, p.seg(FlagACK, nxt-1<<20, 1000, nil))
	one(t, c, now)
	if c.Info().ChallengeACKs != 3 {
		t.Fatalf("challenge ACKs %d", c.Info().ChallengeACKs)
	}
	// An unacceptable sequence number draws a duplicate ACK.
	c.Input(now, &Segment{Flags: FlagACK, Seq: p.nxt + 1<<20, Ack: nxt, Payload: []byte("x")})
	d := one(t, c, now)
	expect(t, &d, ackIs(p.nxt))
}

func TestSynReceivedResets(t *testing.T) {
	l, _ := NewListener(testConfig(), 80, 4)
	c, _, _ := l.Input(t0, serverID, &Segment{Flags: FlagSYN, Seq: 100, Window: 1000})
	sa := one(t, c, t0)
	// Unacceptable ACK in SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
	c.Input(t0, &Segment{Flags: FlagACK, Seq: 101, Ack: sa.Seq + 50})
	r := one(t, c, t0)
	expect(t, &r, flags(FlagRST), seqIs(sa.Seq+50))
	if c.State() != StateSynReceived {
		t.Fatalf("state %v", c.State())
	}
	// A RST returns a passive open to LISTEN: the child is gone.
	c.Input(t0, &Segment{Flags: FlagRST, Seq: 101})
	if c.State() != StateClosed || l.Pending() != 0 {
		t.Fatalf("state %v pending %d", c.State(), l.Pending())
	}
}

func TestResetFor(t *testing.T) {
	tests := []struct {
		in   Segment
		ok   bool
		want Segment
	}{
		{Segment{SrcPort: 1, DstPort: 2, Seq: 10, Flags: FlagSYN}, true, Segment{SrcPort: 2, DstPort: 1, Seq: 0, Ack: 11, Flags: FlagRST | FlagACK}},
		{Segment{SrcPort: 1, DstPort: 2, Seq: 10, Flags: FlagFIN, Payload: []byte("abc")}, true, Segment{SrcPort: 2, DstPort: 1, Ack: 14, Flags: FlagRST | FlagACK}},
		{Segment{SrcPort: 1, DstPort: 2, Seq: 10, Ack: 99, Flags: FlagACK}, true, Segment{SrcPort: 2, DstPort: 1, Seq: 99, Flags: FlagRST}},
		{Segment{Flags: FlagRST | FlagACK}, false, Segment{}},
	}
	for i, tt := range tests {
		got, ok := ResetFor(&tt.in)
		if ok != tt.ok || got.SrcPort != tt.want.SrcPort || got.DstPort != tt.want.DstPort || got.Seq != tt.want.Seq || got.Ack != tt.want.Ack || got.Flags != tt.want.Flags {
			t.Errorf("case %d: got %+v %v, want %+v", i, fmtSeg(&got), ok, fmtSeg(&tt.want))
		}
	}
}

func TestAbortAndCloseWithUnreadData(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	c.Abort()
	r := one(t, c, now)
	expect(t, &r, flags(FlagRST|FlagACK), seqIs(nxt), ackIs(p.nxt))
	if c.State() != StateClosed || !errors.Is(c.Err(), ErrAborted) {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
	evs := events(c)
	if !hasEvent(evs, EventResetSent) {
		t.Fatalf("events %v", evs)
	}

	c, p = dialed(t, testConfig(), plainOpts(1000), 1000)
	c.Input(now, p.seg(FlagACK, c.Info().SndNxt, 1000, []byte("unread")))
	drain(c, now)
	c.Close()
	r = one(t, c, now)
	expect(t, &r, flags(FlagRST|FlagACK))
	var re *ResetError
	if !errors.As(c.Err(), &re) || re.Reason != ResetUnreadData || !re.Sent {
		t.Fatalf("err %v", c.Err())
	}
}

func TestHookResetVerdict(t *testing.T) {
	h := &fakeHooks{verdict: Reset}
	cfg := testConfig()
	c, err := Dial(t0, cfg, clientID, h)
	if err != nil {
		t.Fatal(err)
	}
	syn := one(t, c, t0)
	c.Input(t0, &Segment{Seq: 7, Ack: syn.Seq + 1, Flags: FlagSYN | FlagACK, Window: 100})
	r := one(t, c, t0)
	expect(t, &r, flags(FlagRST), seqIs(syn.Seq+1))
	var re *ResetError
	if c.State() != StateClosed || !errors.As(c.Err(), &re) || re.Reason != ResetHookRejected {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
	if h.lastOut.Kind != KindRST || h.lastOut.ResetReason != ResetHookRejected {
		t.Fatalf("hook saw %+v for the RST", h.lastOut)
	}
}

// activeClose runs ESTABLISHED → FIN-WAIT-1 and returns the FIN.
func activeClose(t *testing.T, c *Conn, now time.Time) Segment {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.State() != StateFinWait1 {
		t.Fatalf("state %v after Close, want FIN-WAIT-1", c.State())
	}
	fin := one(t, c, now)
	expect(t, &fin, flags(FlagFIN|FlagACK), payloadLen(0))
	return fin
}

func TestActiveCloseAndTimeWait(t *testing.T) {
	cfg := testConfig()
	cfg.TimeWait = 30 * time.Second
	c, p := dialed(t, cfg, plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	fin := activeClose(t, c, now)
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, nil))
	if c.State() != StateFinWait2 {
		t.Fatalf("state %v, want FIN-WAIT-2", c.State())
	}
	none(t, c, now)
	c.Input(now, p.seg(FlagACK|FlagFIN, fin.Seq+1, 1000, nil))
	p.nxt++
	if c.State() != StateTimeWait {
		t.Fatalf("state %v, want TIME-WAIT", c.State())
	}
	a := one(t, c, now)
	expect(t, &a, flags(FlagACK), ackIs(p.nxt), seqIs(fin.Seq+1))
	// A retransmitted FIN is acknowledged and restarts the 2 MSL timer.
	later := now.Add(10 * time.Second)
	p.nxt--
	c.Input(later, p.seg(FlagACK|FlagFIN, fin.Seq+1, 1000, nil))
	p.nxt++
	a = one(t, c, later)
	expect(t, &a, ackIs(p.nxt))
	if d := c.NextDeadline().Sub(later); d != 30*time.Second {
		t.Fatalf("TIME-WAIT left %v, want 30s after the retransmitted FIN", d)
	}
	none(t, c, c.NextDeadline().Add(-time.Nanosecond))
	drain(c, c.NextDeadline())
	if c.State() != StateClosed || c.Err() != nil {
		t.Fatalf("state %v err %v after TIME-WAIT", c.State(), c.Err())
	}
	if evs := events(c); !hasEvent(evs, EventTimeWait) || !hasEvent(evs, EventClosed) {
		t.Fatalf("events %v", evs)
	}
}

func TestFinAckedWithPeerFinInOneSegment(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	fin := activeClose(t, c, now)
	c.Input(now, p.seg(FlagACK|FlagFIN, fin.Seq+1, 1000, nil))
	if c.State() != StateTimeWait {
		t.Fatalf("state %v, want TIME-WAIT", c.State())
	}
}

func TestSimultaneousClose(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	fin := activeClose(t, c, now)
	// The peer's FIN crosses ours: it does not acknowledge our FIN.
	c.Input(now, p.seg(FlagACK|FlagFIN, fin.Seq, 1000, nil))
	p.nxt++
	if c.State() != StateClosing {
		t.Fatalf("state %v, want CLOSING", c.State())
	}
	a := one(t, c, now)
	expect(t, &a, ackIs(p.nxt))
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, nil))
	if c.State() != StateTimeWait {
		t.Fatalf("state %v, want TIME-WAIT", c.State())
	}
}

func TestPassiveCloseHalfClose(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	c.Input(now, p.seg(FlagACK|FlagFIN|FlagPSH, c.Info().SndNxt, 1000, []byte("bye")))
	p.nxt += 4
	if c.State() != StateCloseWait {
		t.Fatalf("state %v, want CLOSE-WAIT", c.State())
	}
	a := one(t, c, now)
	expect(t, &a, ackIs(p.nxt))
	buf := make([]byte, 10)
	if n, err := c.Read(buf); n != 3 || err != nil || string(buf[:3]) != "bye" {
		t.Fatalf("Read = %d %v", n, err)
	}
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read after FIN = %v, want EOF", err)
	}
	// Our direction still works in CLOSE-WAIT.
	if _, err := c.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	d := one(t, c, now)
	expect(t, &d, payloadLen(4))
	c.Input(now, p.seg(FlagACK, d.Seq+4, 1000, nil))
	c.CloseWrite()
	if c.State() != StateLastAck {
		t.Fatalf("state %v, want LAST-ACK", c.State())
	}
	fin := one(t, c, now)
	expect(t, &fin, flags(FlagFIN|FlagACK), seqIs(d.Seq+4))
	if _, err := c.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, nil))
	if c.State() != StateClosed || c.Err() != nil {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
}

func TestHalfCloseLoopback(t *testing.T) {
	// The client half-closes first; the server keeps sending, then closes.
	h := newHarness(t, testConfig(), testConfig(), netCfg{delay: 5 * time.Millisecond, maxTime: time.Minute, seed: 1})
	h.run(func() bool { return h.b != nil && h.b.State() == StateEstablished && h.a.State() == StateEstablished })
	h.a.CloseWrite()
	h.run(func() bool { return h.b.State() == StateCloseWait })
	data := pattern(300000)
	var got []byte
	buf := make([]byte, 8192)
	off := 0
	h.run(func() bool {
		if off < len(data) {
			n, _ := h.b.Write(data[off:])
			off += n
			if off == len(data) {
				h.b.Close()
			}
		}
		for {
			n, _ := h.a.Read(buf)
			if n == 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		return h.a.rcvFin
	})
	if string(got) != string(data) {
		t.Fatalf("client read %d bytes, want %d", len(got), len(data))
	}
	h.run(func() bool { return h.a.State() == StateTimeWait && h.b.State() == StateClosed })
}

func TestFinWait2Timeout(t *testing.T) {
	cfg := testConfig()
	cfg.FinWait2Timeout = 5 * time.Second
	c, p := dialed(t, cfg, plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	fin := activeClose(t, c, now)
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, nil))
	none(t, c, now)
	if d := c.NextDeadline().Sub(now); d != 5*time.Second {
		t.Fatalf("FIN-WAIT-2 deadline %v", d)
	}
	drain(c, c.NextDeadline())
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
	// After CloseWrite only, FIN-WAIT-2 waits for the peer indefinitely.
	c, p = dialed(t, cfg, plainOpts(1000), 1000)
	c.CloseWrite()
	fin = one(t, c, now)
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, nil))
	if !c.NextDeadline().IsZero() {
		t.Fatalf("half-closed FIN-WAIT-2 has deadline %v", c.NextDeadline())
	}
	// Data after a full Close resets.
	c, p = dialed(t, cfg, plainOpts(1000), 1000)
	fin = activeClose(t, c, now)
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, []byte("late")))
	r := one(t, c, now)
	expect(t, &r, flags(FlagRST|FlagACK))
}

func TestTimeWaitReuse(t *testing.T) {
	for _, ts := range []bool{true, false} {
		opts := plainOpts(1000)
		opts.HasTimestamps = ts
		c, p := dialed(t, testConfig(), opts, 1000)
		now := t0.Add(20 * time.Millisecond)
		fin := activeClose(t, c, now)
		c.Input(now, p.seg(FlagACK|FlagFIN, fin.Seq+1, 1000, nil))
		p.nxt++
		if c.State() != StateTimeWait {
			t.Fatalf("state %v", c.State())
		}
		old := &Segment{Flags: FlagSYN, Seq: p.nxt - 10}
		if ts {
			old.Seq = p.nxt + 1000
			old.Options.HasTimestamps, old.Options.TSVal = true, p.ts-5
		}
		if c.TimeWaitReuse(old) {
			t.Fatalf("ts=%v: an old SYN reopened TIME-WAIT", ts)
		}
		newer := &Segment{Flags: FlagSYN, Seq: p.nxt + 1000}
		if ts {
			newer.Options.HasTimestamps, newer.Options.TSVal = true, p.ts+5
		}
		if !c.TimeWaitReuse(newer) || c.State() != StateClosed {
			t.Fatalf("ts=%v: a newer SYN did not reopen TIME-WAIT", ts)
		}
		// The new incarnation of the same 4-tuple gets a later ISN.
		c2, _ := Dial(now.Add(time.Second), testConfig(), clientID, nil)
		if !seqGT(c2.ISS(), fin.Seq) {
			t.Fatalf("new ISS %d not after old sequence space %d", c2.ISS(), fin.Seq)
		}
	}
}

func TestPAWS(t *testing.T) {
	opts := plainOpts(1000)
	opts.HasTimestamps = true
	c, p := dialed(t, testConfig(), opts, 1000)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	s := p.seg(FlagACK|FlagPSH, nxt, 1000, []byte("ok"))
	c.Input(now, s)
	p.nxt += 2
	drain(c, now.Add(time.Second))
	// A segment whose TSval is older than TS.Recent is a wrapped
	// duplicate: dropped and ACKed (RFC 7323 §5.3).
	old := p.seg(FlagACK|FlagPSH, nxt, 1000, []byte("no"))
	old.Options.TSVal = s.Options.TSVal - 1
	c.Input(now, old)
	a := one(t, c, now)
	expect(t, &a, ackIs(p.nxt), tsEcr(s.Options.TSVal))
	if c.Readable() != 2 || c.Info().PAWSDropped != 1 {
		t.Fatalf("readable %d paws %d", c.Readable(), c.Info().PAWSDropped)
	}
	// A RST is exempt from PAWS.
	rst := &Segment{Flags: FlagRST, Seq: p.nxt, Options: wire.TCPOptions{HasTimestamps: true, TSVal: 1}}
	// Without timestamps a non-RST segment is dropped (RFC 7323 §3.2).
	c.Input(now, &Segment{Flags: FlagACK, Seq: p.nxt, Ack: nxt, Window: 1000, Payload: []byte("z")})
	if c.Readable() != 2 {
		t.Fatal("segment without timestamps accepted")
	}
	c.Input(now, rst)
	if c.State() != StateClosed {
		t.Fatalf("RST with an old timestamp ignored: %v", c.State())
	}
	// TS.Recent older than 24 days is no longer trusted (RFC 7323 §5.5).
	c, p = dialed(t, testConfig(), opts, 1000)
	later := t0.Add(25 * 24 * time.Hour)
	s = p.seg(FlagACK, c.Info().SndNxt, 1000, []byte("late"))
	s.Options.TSVal = 1
	c.Input(later, s)
	if c.Readable() != 4 {
		t.Fatal("segment rejected against a stale TS.Recent")
	}
}

func sackOpts() wire.TCPOptions {
	return wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true}
}

func TestDelayedAck(t *testing.T) {
	c, p := dialed(t, testConfig(), sackOpts(), 1000)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	c.Input(now, p.seg(FlagACK, nxt, 1000, pattern(1000)))
	p.nxt += 1000
	none(t, c, now)
	if d := c.NextDeadline().Sub(now); d != 40*time.Millisecond {
		t.Fatalf("delayed ACK due in %v, want 40ms", d)
	}
	a := one(t, c, c.NextDeadline())
	expect(t, &a, ackIs(p.nxt))
	// Every second full-sized segment is ACKed at once.
	now = now.Add(100 * time.Millisecond)
	ackedOnSecond(t, c, p, now, nxt)
	// Out-of-order data is ACKed at once, with a SACK block.
	c.Input(now, &Segment{Flags: FlagACK, Seq: p.nxt + 1000, Ack: nxt, Window: 1000, Payload: pattern(500)})
	a = one(t, c, now)
	expect(t, &a, ackIs(p.nxt), sacks(wire.SACKBlock{Left: p.nxt + 1000, Right: p.nxt + 1500}))
	// Filling the hole is ACKed at once, with the whole range.
	c.Input(now, p.seg(FlagACK, nxt, 1000, pattern(1000)))
	p.nxt += 1500
	a = one(t, c, now)
	expect(t, &a, ackIs(p.nxt), sacks())
	// A duplicate segment is ACKed at once with a D-SACK (RFC 2883).
	c.Input(now, &Segment{Flags: FlagACK, Seq: p.nxt - 500, Ack: nxt, Window: 1000, Payload: pattern(500)})
	a = one(t, c, now)
	expect(t, &a, ackIs(p.nxt), sacks(wire.SACKBlock{Left: p.nxt - 500, Right: p.nxt}))
}

func TestSACKBlockOrder(t *testing.T) {
	c, p := dialed(t, testConfig(), sackOpts(), 1000)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	base := p.nxt
	for _, off := range []uint32{1000, 3000, 5000, 7000, 9000} {
		c.Input(now, &Segment{Flags: FlagACK, Seq: base + off, Ack: nxt, Window: 1000, Payload: pattern(500)})
	}
	segs := drain(c, now)
	last := segs[len(segs)-1]
	// Most recent first (RFC 2018 §4), at most 4 blocks without
	// timestamps.
	b := func(off uint32) wire.SACKBlock { return wire.SACKBlock{Left: base + off, Right: base + off + 500} }
	expect(t, &last, sacks(b(9000), b(7000), b(5000), b(3000)))
	// Touching an old range moves it first.
	c.Input(now, &Segment{Flags: FlagACK, Seq: base + 1500, Ack: nxt, Window: 1000, Payload: pattern(100)})
	a := one(t, c, now)
	expect(t, &a, sacks(wire.SACKBlock{Left: base + 1000, Right: base + 1600}, b(9000), b(7000), b(5000)))
}

func TestNagle(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 65535)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	c.Write([]byte("a"))
	one(t, c, now)
	// Unacknowledged data: small writes wait (RFC 9293 §3.7.4).
	c.Write([]byte("b"))
	c.Write([]byte("c"))
	none(t, c, now)
	// A full segment is not held back.
	c.Write(pattern(1000))
	s := one(t, c, now)
	expect(t, &s, seqIs(nxt+1), payloadLen(1000))
	c.Input(now, p.seg(FlagACK, nxt+1001, 65535, nil))
	s = one(t, c, now)
	expect(t, &s, seqIs(nxt+1001), payloadLen(2))
	// NoDelay: small segments go at once.
	c.SetNoDelay(true)
	c.Write([]byte("d"))
	one(t, c, now)
	c.Write([]byte("e"))
	one(t, c, now)
}

func TestKeepalive(t *testing.T) {
	cfg := testConfig()
	cfg.Keepalive = true
	cfg.KeepaliveIdle = time.Hour
	cfg.KeepaliveInterval = time.Minute
	cfg.KeepaliveCount = 3
	c, p := dialed(t, cfg, plainOpts(1000), 1000)
	start := t0.Add(10 * time.Millisecond) // last segment received
	none(t, c, start)
	if d := c.NextDeadline().Sub(start); d != time.Hour {
		t.Fatalf("keepalive after %v, want 1h", d)
	}
	una := c.Info().SndUna
	at := c.NextDeadline()
	k := one(t, c, at)
	expect(t, &k, flags(FlagACK), seqIs(una-1), payloadLen(0))
	// An answer resets the probe count and the idle timer.
	c.Input(at.Add(time.Second), p.seg(FlagACK, una, 1000, nil))
	none(t, c, at.Add(time.Second))
	if d := c.NextDeadline().Sub(at.Add(time.Second)); d != time.Hour {
		t.Fatalf("after answer next keepalive in %v", d)
	}
	// Unanswered: probes every minute, then give up.
	at = c.NextDeadline()
	one(t, c, at)
	for range 2 {
		at = c.NextDeadline()
		one(t, c, at)
	}
	at = c.NextDeadline()
	drain(c, at)
	if c.State() != StateClosed || !errors.Is(c.Err(), ErrTimeout) {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
	if got := c.Info().KeepaliveProbes; got != 4 {
		t.Fatalf("probes %d, want 4", got)
	}
}

func TestRSTInClosingStates(t *testing.T) {
	for _, st := range []State{StateClosing, StateLastAck, StateTimeWait} {
		c, p := dialed(t, testConfig(), plainOpts(1000), 1000)
		now := t0.Add(20 * time.Millisecond)
		switch st {
		case StateClosing:
			fin := activeClose(t, c, now)
			c.Input(now, p.seg(FlagACK|FlagFIN, fin.Seq, 1000, nil))
		case StateLastAck:
			c.Input(now, p.seg(FlagACK|FlagFIN, c.Info().SndNxt, 1000, nil))
			c.Close()
		case StateTimeWait:
			fin := activeClose(t, c, now)
			c.Input(now, p.seg(FlagACK|FlagFIN, fin.Seq+1, 1000, nil))
		}
		p.nxt++
		drain(c, now)
		if c.State() != st {
			t.Fatalf("state %v, want %v", c.State(), st)
		}
		c.Input(now, &Segment{Flags: FlagRST, Seq: p.nxt})
		if c.State() != StateClosed || c.Err() != nil {
			t.Fatalf("%v: after RST state %v err %v, want CLOSED without error", st, c.State(), c.Err())
		}
	}
}

func TestInputOnClosedIsIgnored(t *testing.T) {
	c, _ := dialed(t, testConfig(), plainOpts(1000), 1000)
	c.Abort()
	drain(c, t0)
	c.Input(t0, &Segment{Flags: FlagACK, Payload: []byte("x")})
	none(t, c, t0)
	if n, err := c.Read(make([]byte, 4)); n != 0 || err == nil {
		t.Fatalf("Read on aborted = %d, %v", n, err)
	}
}

// TestSACKFitsMSS: SACK blocks never push a data segment's options and
// payload past the send MSS (RFC 9293 §3.7.1, RFC 6691): a full-sized
// segment goes without them, and pure ACKs still carry them.
func TestSACKFitsMSS(t *testing.T) {
	c, p := dialed(t, testConfig(), sackOpts(), 65535)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	base := p.nxt
	// Out-of-order data: from now on our segments want SACK blocks.
	for _, off := range []uint32{1000, 3000} {
		c.Input(now, &Segment{Flags: FlagACK, Seq: base + off, Ack: nxt, Window: 65535, Payload: pattern(500)})
	}
	acks := drain(c, now)
	if last := acks[len(acks)-1]; last.Options.NumSACKBlocks != 2 {
		t.Fatalf("pure ACK carries %d SACK blocks, want 2", last.Options.NumSACKBlocks)
	}
	c.SetNoDelay(true)
	c.Write(pattern(3000))
	c.Write([]byte("x"))
	mss := int(sackOpts().MSS)
	full, short := 0, 0
	for _, s := range drain(c, now) {
		if n := OptionsLen(&s.Options) + len(s.Payload); n > mss {
			t.Errorf("segment %s: options + payload = %d bytes, over the MSS %d", fmtSeg(&s), n, mss)
		}
		switch {
		case len(s.Payload) == c.effMSS():
			full++
		case len(s.Payload) > 0 && s.Options.NumSACKBlocks > 0:
			short++
		}
	}
	if full == 0 || short == 0 {
		t.Errorf("%d full-sized segments and %d short ones with SACK blocks; want some of each", full, short)
	}
}

// TestCloseQuiet: CloseQuiet sends a FIN despite unread data, takes data
// that arrives afterwards (acknowledged, readable) instead of resetting,
// and gives up on the peer's FIN after the FIN-WAIT-2 timeout as Close
// does.
func TestCloseQuiet(t *testing.T) {
	cfg := testConfig()
	cfg.FinWait2Timeout = 5 * time.Second
	c, p := dialed(t, cfg, plainOpts(1000), 1000)
	now := t0.Add(20 * time.Millisecond)
	c.Input(now, p.seg(FlagACK, c.Info().SndNxt, 1000, []byte("unread")))
	drain(c, now)
	if err := c.CloseQuiet(); err != nil {
		t.Fatal(err)
	}
	fin := one(t, c, now)
	expect(t, &fin, flags(FlagFIN|FlagACK))
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, nil))
	p.nxt += uint32(len("unread"))
	c.Input(now, p.seg(FlagACK, fin.Seq+1, 1000, []byte("late")))
	r := one(t, c, now)
	expect(t, &r, flags(FlagACK), ackIs(p.nxt+uint32(len("late"))))
	if c.State() != StateFinWait2 || c.Err() != nil {
		t.Fatalf("state %v, err %v after late data", c.State(), c.Err())
	}
	buf := make([]byte, 64)
	if n, _ := c.Read(buf); string(buf[:n]) != "unreadlate" {
		t.Fatalf("read %q", buf[:n])
	}
	if d := c.NextDeadline().Sub(now); d != 5*time.Second {
		t.Fatalf("FIN-WAIT-2 deadline %v", d)
	}
	drain(c, c.NextDeadline())
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
}

// TestCoalescedSegment checks a segment that stands for several coalesced
// ones (Segment.GSO, a receiver's GRO): it is acknowledged at once, as two
// full-sized segments would be, and the estimate of the peer's MSS comes
// from GSO, so that the next two full-sized segments are acknowledged at
// once too (an estimate from the whole payload would hold their ACK back).
func TestCoalescedSegment(t *testing.T) {
	c, p := dialed(t, testConfig(), sackOpts(), 1000)
	now := t0.Add(20 * time.Millisecond)
	nxt := c.Info().SndNxt
	s := p.seg(FlagACK, nxt, 1000, pattern(3000))
	s.GSO = 1000
	c.Input(now, s)
	p.nxt += 3000
	a := one(t, c, now)
	expect(t, &a, ackIs(p.nxt))
	if got := c.Info().RecvMSS; got != 1000 {
		t.Fatalf("RecvMSS = %d after a coalesced segment of 3 × 1000 bytes, want 1000", got)
	}
	ackedOnSecond(t, c, p, now, nxt)
}

// ackedOnSecond feeds c two in-order 1000-byte segments from p at now and
// checks that the first is not acknowledged at once and the second is.
func ackedOnSecond(t *testing.T, c *Conn, p *peer, now time.Time, ack uint32) {
	t.Helper()
	c.Input(now, p.seg(FlagACK, ack, 1000, pattern(1000)))
	p.nxt += 1000
	none(t, c, now)
	c.Input(now, p.seg(FlagACK, ack, 1000, pattern(1000)))
	p.nxt += 1000
	a := one(t, c, now)
	expect(t, &a, ackIs(p.nxt))
}

// fixedCC is a controller whose window and threshold the test sets.
type fixedCC struct {
	cc.Controller
	cwnd, ssthresh int
}

func (f *fixedCC) Cwnd() int     { return f.cwnd }
func (f *fixedCC) Ssthresh() int { return f.ssthresh }

// TestTSOSegs checks the super-packet sizes of tcp_tso_autosize: 1 ms at
// the pacing rate (2× cwnd/SRTT in slow start, 1.2× after), plus 64 KiB
// halved per 512 µs of minimum RTT, within [2, 64 KiB / MSS].
func TestTSOSegs(t *testing.T) {
	c, _ := dialed(t, testConfig(), sackOpts(), 1000) // MSS 1000
	f := &fixedCC{Controller: c.cc}
	c.cc = f
	for _, tc := range []struct {
		name           string
		cwnd, ssthresh int
		srtt, minRTT   time.Duration
		want           int
	}{
		{"no RTT yet", 10000, math.MaxInt32, 0, 0, 2},
		// 1.2 × 250,000 B / 40 ms = 7.5 MB/s: 7,324 bytes in 1/1024 s.
		{"congestion avoidance, 20 ms path", 250000, 200000, 40 * time.Millisecond, 20 * time.Millisecond, 7},
		// 2 × 100,000 B / 10 ms = 20 MB/s: 19,531 bytes.
		{"slow start, 10 ms path", 100000, math.MaxInt32, 10 * time.Millisecond, 10 * time.Millisecond, 19},
		// Under 512 µs of minimum RTT the whole 64 KiB is added.
		{"short path", 20000, 10000, 300 * time.Microsecond, 300 * time.Microsecond, 65},
		// 1 ms: half of it, 32,768, beside 2,343 from the rate.
		{"1 ms path", 2000, 1000, time.Millisecond, time.Millisecond, 35},
		{"slow path", 2000, 1000, 100 * time.Millisecond, 100 * time.Millisecond, 2},
	} {
		f.cwnd, f.ssthresh = tc.cwnd, tc.ssthresh
		c.srtt, c.minRTT = tc.srtt, tc.minRTT
		if got := c.TSOSegs(); got != tc.want {
			t.Errorf("%s: TSOSegs = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestLikelyHole checks the guess of the first byte the peer lacks once the
// path is silent: the first outstanding segment, not SACKed, sent at or
// after (last ACK − SRTT + 2/5 of the minimum RTT), unless that is the
// oldest one.
func TestLikelyHole(t *testing.T) {
	c, _ := dialed(t, testConfig(), sackOpts(), 1000)
	ms := int64(time.Millisecond)
	for _, tc := range []struct {
		name   string
		xmit   []int64 // ms
		sacked int     // index of a SACKed record, or -1
		srtt   time.Duration
		want   uint32
		ok     bool
	}{
		// Last ACK at 100 ms, SRTT 40 ms, minimum RTT 20 ms: cutoff 68 ms.
		{"guess", []int64{60, 64, 66, 68, 70}, -1, 40 * time.Millisecond, 3000, true},
		{"sacked", []int64{60, 64, 66, 68, 70}, 3, 40 * time.Millisecond, 4000, true},
		{"all before", []int64{60, 62, 64}, -1, 40 * time.Millisecond, 0, false},
		{"oldest", []int64{70, 72}, -1, 40 * time.Millisecond, 0, false},
		{"no RTT", []int64{60, 70}, -1, 0, 0, false},
	} {
		c.recs, c.recHead = c.recs[:0], 0
		for i, x := range tc.xmit {
			r := txRec{seq: uint32(i * 1000), n: 1000, xmit: x * ms}
			if i == tc.sacked {
				r.flags = recSacked
			}
			c.recs = append(c.recs, r)
		}
		c.st.lastAckRecv, c.srtt, c.minRTT = 100*ms, tc.srtt, 20*time.Millisecond
		if got, ok := c.LikelyHole(); got != tc.want || ok != tc.ok {
			t.Errorf("%s: LikelyHole = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
