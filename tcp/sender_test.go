package tcp

import (
	"bytes"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// sender returns an established client that has no timestamps (so segment
// sizes are the MSS) and a peer window of win.
func sender(t *testing.T, mod func(*Config), opts wire.TCPOptions, win uint16) (*Conn, *peer) {
	t.Helper()
	cfg := testConfig()
	cfg.NoDelay = true
	if mod != nil {
		mod(cfg)
	}
	return dialed(t, cfg, opts, win)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func TestRTOBackoffAndKarn(t *testing.T) {
	c, p := sender(t, nil, plainOpts(1000), 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond) // SYN RTT was 10ms: SRTT 10ms, RTTVAR 5ms
	// RTO = SRTT + max(G, 4*RTTVAR, MinRTO) = 10ms + 200ms (the
	// variance term is floored at MinRTO, as in Linux).
	if i := c.Info(); i.RTO != 210*time.Millisecond {
		t.Fatalf("RTO %v, want SRTT+MinRTO = 210ms", i.RTO)
	}
	c.Write(pattern(1000))
	s := one(t, c, now)
	expect(t, &s, seqIs(una), payloadLen(1000))
	// RTO fires at 210ms, 420ms, 840ms... each a retransmission of the
	// same segment (RFC 6298 §5.4–5.6).
	at := now
	for i, wait := range []time.Duration{210 * time.Millisecond, 420 * time.Millisecond, 840 * time.Millisecond, 1680 * time.Millisecond} {
		if d := c.NextDeadline().Sub(at); d != wait {
			t.Fatalf("RTO %d after %v, want %v", i, d, wait)
		}
		at = c.NextDeadline()
		r := one(t, c, at)
		expect(t, &r, seqIs(una), payloadLen(1000))
		evs := events(c)
		if !hasEvent(evs, EventRTO) || !hasEvent(evs, EventRetransmit) {
			t.Fatalf("events %v", evs)
		}
	}
	if i := c.Info(); i.Cwnd != 1000 || i.RTOs != 4 || i.Backoff != 4 {
		t.Fatalf("after RTOs: cwnd %d rtos %d backoff %d", i.Cwnd, i.RTOs, i.Backoff)
	}
	// The ACK of the retransmitted segment gives no RTT sample (Karn):
	// RTT stays, and so does the backed-off RTO for the next segment.
	at = at.Add(5 * time.Millisecond)
	c.Input(at, p.seg(FlagACK, una+1000, 65535, nil))
	if i := c.Info(); i.RTT != 10*time.Millisecond || i.RTO != 3360*time.Millisecond {
		t.Fatalf("after ACK of retransmission: RTT %v RTO %v, want 10ms and 3.36s", i.RTT, i.RTO)
	}
	c.Write(pattern(1000))
	s = one(t, c, at)
	if d := c.NextDeadline().Sub(at); d != 3360*time.Millisecond {
		t.Fatalf("RTO %v, want the backed-off 3.36s", d)
	}
	// A fresh sample resets the RTO (RFC 6298 §2.3 and §5.7).
	at = at.Add(20 * time.Millisecond)
	c.Input(at, p.seg(FlagACK, s.Seq+1000, 65535, nil))
	i := c.Info()
	// SRTT = 7/8*10 + 1/8*20 = 11.25ms, RTTVAR = 3/4*5 + 1/4*10 = 6.25ms.
	if i.RTT != 11250*time.Microsecond || i.RTTVar != 6250*time.Microsecond || i.RTO != 211250*time.Microsecond || i.Backoff != 0 {
		t.Fatalf("after fresh sample: %v %v %v %d", i.RTT, i.RTTVar, i.RTO, i.Backoff)
	}
}

func TestRTOComputation(t *testing.T) {
	cfg := testConfig()
	cfg.MinRTO = time.Millisecond
	c, _ := Dial(t0, cfg, clientID, nil)
	for _, r := range []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond} {
		c.rttSample(r)
	}
	// Independent RFC 6298 computation.
	srtt, rttvar := 100.0, 50.0
	for _, r := range []float64{100, 300} {
		d := srtt - r
		if d < 0 {
			d = -d
		}
		rttvar = 0.75*rttvar + 0.25*d
		srtt = 0.875*srtt + 0.125*r
	}
	want := time.Duration((srtt + 4*rttvar) * float64(time.Millisecond))
	if got := c.Info().RTO; got != want {
		t.Fatalf("RTO %v, want %v", got, want)
	}
	c.backoff = 30
	if got := c.computeRTO(); got != DefaultMaxRTO {
		t.Fatalf("backed-off RTO %v, want MaxRTO", got)
	}
}

func TestRetriesExhausted(t *testing.T) {
	c, _ := sender(t, func(c *Config) { c.Retries = 2 }, plainOpts(1000), 65535)
	c.Write(pattern(10))
	now := t0.Add(10 * time.Millisecond)
	one(t, c, now)
	for range 2 {
		now = c.NextDeadline()
		one(t, c, now)
	}
	now = c.NextDeadline()
	drain(c, now)
	if c.State() != StateClosed || c.Err() == nil {
		t.Fatalf("state %v err %v after retries", c.State(), c.Err())
	}
	if evs := events(c); !hasEvent(evs, EventClosed) {
		t.Fatalf("no closed event: %v", evs)
	}
}

func TestNewRenoFastRetransmit(t *testing.T) {
	c, p := sender(t, func(c *Config) { c.DisableSACK = true }, plainOpts(1000), 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	c.Write(pattern(20000))
	segs := drain(c, now)
	if len(segs) != 10 {
		t.Fatalf("sent %d segments, want IW10", len(segs))
	}
	// Segments 0 and 3 are lost. Segments 1, 2 give dupacks; the third
	// dupack (segment 4) triggers fast retransmit of segment 0.
	now = now.Add(10 * time.Millisecond)
	for i := range 2 {
		c.Input(now, p.seg(FlagACK, una, 65535, nil))
		none(t, c, now)
		_ = i
	}
	c.Input(now, p.seg(FlagACK, una, 65535, nil))
	r := one(t, c, now)
	expect(t, &r, seqIs(una), payloadLen(1000))
	i := c.Info()
	// ssthresh = FlightSize/2 = 5000 (RFC 5681 (4)); cwnd = ssthresh+3 MSS.
	if !i.InRecovery || i.Ssthresh != 5000 || c.nrCwnd != 8000 {
		t.Fatalf("recovery %v ssthresh %d nrcwnd %d", i.InRecovery, i.Ssthresh, c.nrCwnd)
	}
	// More dupacks (segments 5..9) inflate cwnd; FlightSize is 10000, so
	// new data goes out once cwnd exceeds it: 8000+5*1000 = 13000.
	for range 5 {
		c.Input(now, p.seg(FlagACK, una, 65535, nil))
	}
	segs = drain(c, now)
	if len(segs) != 3 {
		t.Fatalf("sent %d new segments after inflation, want 3", len(segs))
	}
	expect(t, &segs[0], seqIs(una+10000))
	// Partial ACK up to the second hole (segment 3): retransmit it at
	// once (RFC 6582 step 5), deflate by 3000 and add one MSS back.
	now = now.Add(10 * time.Millisecond)
	c.Input(now, p.seg(FlagACK, una+3000, 65535, nil))
	segs = drain(c, now)
	if len(segs) < 1 {
		t.Fatal("no retransmission on a partial ACK")
	}
	expect(t, &segs[0], seqIs(una+3000), payloadLen(1000))
	if c.nrCwnd != 13000-3000+1000 {
		t.Fatalf("nrCwnd after partial ACK %d, want 11000", c.nrCwnd)
	}
	if !c.Info().InRecovery {
		t.Fatal("left recovery on a partial ACK")
	}
	// Full ACK: exit with cwnd = ssthresh.
	c.Input(now, p.seg(FlagACK, una+13000, 65535, nil))
	if i := c.Info(); i.InRecovery || i.Cwnd != 5000 {
		t.Fatalf("after full ACK: recovery %v cwnd %d", i.InRecovery, i.Cwnd)
	}
}

func TestSACKRecoveryMultipleLosses(t *testing.T) {
	c, p := sender(t, func(c *Config) { c.DisableRACK = true }, wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true}, 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	c.Write(pattern(20000))
	segs := drain(c, now)
	if len(segs) != 10 {
		t.Fatalf("sent %d, want 10", len(segs))
	}
	// Segments 1, 4 and 6 are lost; SACKs arrive for the others.
	now = now.Add(10 * time.Millisecond)
	sackAck := func(blocks ...wire.SACKBlock) *Segment {
		s := p.seg(FlagACK, una+1000, 65535, nil)
		s.Options.NumSACKBlocks = copy(s.Options.SACKBlocks[:], blocks)
		return s
	}
	c.Input(now, p.seg(FlagACK, una+1000, 65535, nil)) // segment 0 acked
	// Slow start: cwnd 11000, and 1000 bytes left the network: segments
	// 10 and 11 go out.
	if segs := drain(c, now); len(segs) != 2 || segs[0].Seq != una+10000 {
		t.Fatalf("after first ACK sent %d segments", len(segs))
	}
	b := func(from, to int) wire.SACKBlock {
		return wire.SACKBlock{Left: una + uint32(from*1000), Right: una + uint32(to*1000)}
	}
	c.Input(now, sackAck(b(2, 3)))
	c.Input(now, sackAck(b(2, 4)))
	if c.Info().InRecovery {
		t.Fatal("recovery after 2 SACKed segments")
	}
	c.Input(now, sackAck(b(5, 6), b(2, 4)))
	// 3000 SACKed bytes above segment 1, more than (DupThresh-1)*SMSS:
	// IsLost(1) (RFC 6675 §4).
	if !c.Info().InRecovery {
		t.Fatal("no recovery with 3 SACKed segments above a hole")
	}
	segs = drain(c, now)
	if len(segs) != 1 {
		t.Fatalf("sent %d segments on entering recovery, want the retransmission only", len(segs))
	}
	expect(t, &segs[0], seqIs(una+1000), payloadLen(1000))
	i := c.Info()
	if i.Ssthresh != 5500 || i.Cwnd != 5500 {
		t.Fatalf("ssthresh %d cwnd %d, want FlightSize/2 = 5500", i.Ssthresh, i.Cwnd)
	}
	// pipe (RFC 6675 §4): not SACKed {1,4,6,7,8,9,10,11}; 1 is lost and
	// retransmitted (counts once), the rest are not lost: 8 segments.
	if c.pipe != 8000 {
		t.Fatalf("pipe %d, want 8000", c.pipe)
	}
	// More SACKs: 7, 8, 9 arrive → segments 4 and 6 become lost too and
	// are retransmitted in this same recovery episode.
	c.Input(now, sackAck(b(7, 10), b(5, 6), b(2, 4)))
	segs = drain(c, now)
	var rex []uint32
	for _, s := range segs {
		if seqLT(s.Seq, una+10000) {
			rex = append(rex, s.Seq-una)
		}
	}
	if len(rex) != 2 || rex[0] != 4000 || rex[1] != 6000 {
		t.Fatalf("retransmitted offsets %v, want [4000 6000]", rex)
	}
	if c.Info().Recoveries != 1 {
		t.Fatalf("recoveries %d, want one episode", c.Info().Recoveries)
	}
	// Cumulative ACK beyond the recovery point ends recovery.
	c.Input(now, p.seg(FlagACK, c.Info().SndNxt, 65535, nil))
	if i := c.Info(); i.InRecovery || i.Cwnd != 5500 || i.InFlight != 0 {
		t.Fatalf("after recovery: %v cwnd %d pipe %d", i.InRecovery, i.Cwnd, i.InFlight)
	}
}

func TestRACKTailLossProbe(t *testing.T) {
	c, p := sender(t, nil, wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true}, 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	// SRTT is 10ms from the handshake.
	c.Write(pattern(3000))
	segs := drain(c, now)
	if len(segs) != 3 {
		t.Fatalf("sent %d", len(segs))
	}
	// PTO = 2*SRTT = 20ms (more than one segment in flight).
	if d := c.NextDeadline().Sub(now); d != 20*time.Millisecond {
		t.Fatalf("PTO in %v, want 20ms (RFC 8985 §7.2)", d)
	}
	// The first two are acknowledged, the last is lost.
	now = now.Add(10 * time.Millisecond)
	c.Input(now, p.seg(FlagACK, una+2000, 65535, nil))
	// One segment in flight: PTO = 2*SRTT + 200ms WCDelAckT, capped by the RTO.
	srtt := c.Info().RTT
	wantPTO := min(2*srtt+200*time.Millisecond, c.Info().RTO)
	if d := c.NextDeadline().Sub(now); d != wantPTO {
		t.Fatalf("PTO in %v, want %v", d, wantPTO)
	}
	now = c.NextDeadline()
	probe := one(t, c, now)
	// No new data: the probe retransmits the last segment.
	expect(t, &probe, seqIs(una+2000), payloadLen(1000))
	if c.Info().TLPs != 1 {
		t.Fatal("TLP not counted")
	}
	// The RTO is re-armed after the probe.
	if d := c.NextDeadline().Sub(now); d != c.Info().RTO {
		t.Fatalf("after probe deadline %v, want RTO %v", d, c.Info().RTO)
	}
	// The ACK for the probe without a D-SACK: the loss was repaired by
	// the probe; the window is reduced once (RFC 8985 §7.4).
	cwnd := c.Info().Cwnd
	c.Input(now.Add(10*time.Millisecond), p.seg(FlagACK, una+3000, 65535, nil))
	i := c.Info()
	if i.TLPRecoveries != 1 || i.Cwnd >= cwnd || i.InRecovery {
		t.Fatalf("after probe ACK: tlprec %d cwnd %d (was %d) recovery %v", i.TLPRecoveries, i.Cwnd, cwnd, i.InRecovery)
	}

	// A probe with new data when the window allows it.
	c2, p2 := sender(t, func(c *Config) { c.InitialWindow = 2 }, wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true}, 65535)
	una = c2.Info().SndUna
	c2.Write(pattern(5000))
	now = t0.Add(10 * time.Millisecond)
	if segs := drain(c2, now); len(segs) != 2 {
		t.Fatalf("IW2 sent %d", len(segs))
	}
	now = c2.NextDeadline()
	probe = one(t, c2, now)
	expect(t, &probe, seqIs(una+2000), payloadLen(1000))
	_ = p2
}

func TestRACKReorderingTimer(t *testing.T) {
	c, p := sender(t, nil, wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true}, 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	c.Write(pattern(3000))
	drain(c, now)
	// Segment 1 and 2 SACKed, segment 0 missing: 2 SACKed segments do
	// not meet DupThresh, but RACK marks segment 0 lost once it is older
	// than RACK.rtt + reo_wnd, with reo_wnd = min_RTT/4 = 2.5ms.
	now = now.Add(10 * time.Millisecond)
	s := p.seg(FlagACK, una, 65535, nil)
	s.Options.NumSACKBlocks = 1
	s.Options.SACKBlocks[0] = wire.SACKBlock{Left: una + 1000, Right: una + 3000}
	c.Input(now, s)
	if c.Info().InRecovery {
		t.Fatal("recovery before the reordering window passed")
	}
	if d := c.NextDeadline().Sub(now); d != 2500*time.Microsecond {
		t.Fatalf("reorder timer in %v, want 2.5ms", d)
	}
	now = c.NextDeadline()
	r := one(t, c, now)
	expect(t, &r, seqIs(una), payloadLen(1000))
	if i := c.Info(); !i.InRecovery || i.RACKLost != 1 {
		t.Fatalf("recovery %v racklost %d", i.InRecovery, i.RACKLost)
	}
}

func TestWindowScalingBothWays(t *testing.T) {
	// Peer's shift 4: a window field of 100 means 1600 bytes.
	c, p := sender(t, nil, wire.TCPOptions{HasMSS: true, MSS: 1000, HasWindowScale: true, WindowScale: 4}, 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	c.Input(now, p.seg(FlagACK, una, 200, nil))
	if w := c.Info().SendWindow; w != 3200 {
		t.Fatalf("send window %d, want 200<<4", w)
	}
	c.Write(pattern(5000))
	segs := drain(c, now)
	// Three full segments fit; the 200-byte rest waits (sender SWS
	// avoidance, RFC 9293 §3.8.6.2.1).
	if len(segs) != 3 || len(segs[2].Payload) != 1000 {
		t.Fatalf("segments under a 3200-byte window: %d", len(segs))
	}
	// Our side: 128 KiB buffer, shift 7: window field 1024.
	c.Input(now, p.seg(FlagACK|FlagPSH, una+3000, 200, []byte("abc")))
	a := drain(c, now)[0]
	if a.Window != uint16((128<<10-3)>>7) && a.Window != uint16((128<<10)>>7) {
		t.Fatalf("advertised window %d, want ≈ 128KiB>>7", a.Window)
	}
}

func TestZeroWindowProbe(t *testing.T) {
	c, p := sender(t, nil, plainOpts(1000), 2000)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	c.Write(pattern(5000))
	if segs := drain(c, now); len(segs) != 2 {
		t.Fatalf("sent %d under a 2000-byte window", len(segs))
	}
	now = now.Add(10 * time.Millisecond)
	c.Input(now, p.seg(FlagACK, una+2000, 0, nil)) // all acked, window closed
	none(t, c, now)
	// Persist timer: probes at RTO, then backed off.
	at := now
	rto := c.Info().RTO
	for i, wait := range []time.Duration{rto, 2 * rto, 4 * rto} {
		if d := c.NextDeadline().Sub(at); d != wait {
			t.Fatalf("probe %d after %v, want %v", i, d, wait)
		}
		at = c.NextDeadline()
		pr := one(t, c, at)
		// The probe carries an old sequence number and no data.
		expect(t, &pr, flags(FlagACK), seqIs(una+2000-1), payloadLen(0))
		c.Input(at, p.seg(FlagACK, una+2000, 0, nil))
		none(t, c, at)
	}
	if c.Info().WindowProbes != 3 {
		t.Fatalf("window probes %d", c.Info().WindowProbes)
	}
	// Window update: data flows again.
	c.Input(at, p.seg(FlagACK, una+2000, 3000, nil))
	segs := drain(c, at)
	if len(segs) != 3 || segs[0].Seq != una+2000 {
		t.Fatalf("after window update sent %d", len(segs))
	}
	if c.persistAt != 0 {
		t.Fatal("persist timer still armed")
	}
}

func TestReceiverZeroWindowAndUpdate(t *testing.T) {
	cfg := testConfig()
	cfg.RecvBufferSize = 4000
	cfg.MaxRecvBufferSize = 4000
	cfg.DisableAutoTune = true
	c, p := dialed(t, cfg, plainOpts(1000), 65535)
	now := t0.Add(20 * time.Millisecond)
	for i := range 4 {
		c.Input(now, p.seg(FlagACK|FlagPSH, c.Info().SndNxt, 65535, pattern(1000)))
		p.nxt += 1000
		_ = i
	}
	a := one(t, c, now) // every second segment ACKed at once
	_ = a
	segs := drain(c, now.Add(time.Second))
	last := a
	if len(segs) > 0 {
		last = segs[len(segs)-1]
	}
	if last.Ack != p.nxt || last.Window != 0 {
		t.Fatalf("ACK %d window %d, want %d and 0", last.Ack, last.Window, p.nxt)
	}
	// Data beyond a zero window is not acceptable: dropped and ACKed.
	// Its ACK field is still processed (RFC 9293 §3.10.7.4).
	c.Write([]byte("out"))
	o := one(t, c, now)
	c.Input(now, p.seg(FlagACK, o.Seq+3, 65535, []byte("x")))
	d := one(t, c, now)
	expect(t, &d, ackIs(p.nxt), windowIs(0))
	if c.Info().SndUna != o.Seq+3 || c.Readable() != 4000 {
		t.Fatalf("SND.UNA %d (want %d), readable %d", c.Info().SndUna, o.Seq+3, c.Readable())
	}
	// Reading opens the window: a window update goes out.
	buf := make([]byte, 4000)
	if n, _ := c.Read(buf); n != 4000 || !bytes.Equal(buf[:1000], pattern(1000)) {
		t.Fatalf("read %d", n)
	}
	u := one(t, c, now)
	expect(t, &u, flags(FlagACK), ackIs(p.nxt))
	if u.Window == 0 {
		t.Fatal("window update still shows 0")
	}
}

func TestTLPUnnecessaryProbeDSACK(t *testing.T) {
	c, p := sender(t, nil, wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true}, 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	c.Write(pattern(2000))
	drain(c, now)
	now = now.Add(10 * time.Millisecond)
	c.Input(now, p.seg(FlagACK, una+1000, 65535, nil))
	now = c.NextDeadline()
	probe := one(t, c, now)
	expect(t, &probe, seqIs(una+1000), payloadLen(1000))
	cwnd := c.Info().Cwnd
	// The original arrived after all: the ACK covers it and a D-SACK
	// reports the probe as a duplicate. No window reduction.
	s := p.seg(FlagACK, una+2000, 65535, nil)
	s.Options.NumSACKBlocks = 1
	s.Options.SACKBlocks[0] = wire.SACKBlock{Left: una + 1000, Right: una + 2000}
	c.Input(now.Add(10*time.Millisecond), s)
	i := c.Info()
	if i.TLPRecoveries != 0 || i.Cwnd < cwnd || i.DSACKs != 1 {
		t.Fatalf("after D-SACK: tlprec %d cwnd %d (was %d) dsacks %d", i.TLPRecoveries, i.Cwnd, cwnd, i.DSACKs)
	}
	// The D-SACK widens RACK's reordering window (RFC 8985 §6.2 step 4).
	if c.rack.reoWndMult != 2 {
		t.Fatalf("reo_wnd multiplier %d, want 2", c.rack.reoWndMult)
	}
}

func TestTinySegmentsBounded(t *testing.T) {
	c, _ := sender(t, nil, plainOpts(1000), 65535)
	now := t0.Add(10 * time.Millisecond)
	for range 500 {
		c.Write([]byte("x"))
		drain(c, now)
	}
	// cwnd is 10000 bytes: 20 segments at most, although 500 bytes
	// would fit the byte-counted window.
	if n := len(c.outstanding()); n != 20 {
		t.Fatalf("%d tiny segments in flight, want 20", n)
	}
}

func TestRenegingReceiver(t *testing.T) {
	// The peer SACKs segment 1, then discards it (reneging, RFC 2018
	// §8): a repeated timeout must retransmit it, or the connection
	// would stall forever.
	c, p := sender(t, nil, wire.TCPOptions{HasMSS: true, MSS: 1000, SACKPermitted: true}, 65535)
	una := c.Info().SndUna
	now := t0.Add(10 * time.Millisecond)
	c.Write(pattern(2000))
	drain(c, now)
	s := p.seg(FlagACK, una, 65535, nil)
	s.Options.NumSACKBlocks = 1
	s.Options.SACKBlocks[0] = wire.SACKBlock{Left: una + 1000, Right: una + 2000}
	c.Input(now, s)
	drain(c, now)
	// First RTO: only segment 0 is resent (segment 1 is SACKed).
	now = c.NextDeadline()
	segs := drain(c, now)
	if len(segs) != 1 || segs[0].Seq != una {
		t.Fatalf("first RTO sent %d segments", len(segs))
	}
	c.Input(now, p.seg(FlagACK, una+1000, 65535, nil)) // ACK of segment 0 only
	drain(c, now)
	// The peer reneged: the segment at SND.UNA is SACKed but never
	// acknowledged. The next RTO resends it.
	for range 3 {
		now = c.NextDeadline()
		segs = drain(c, now)
		if len(segs) > 0 {
			break
		}
	}
	if len(segs) != 1 || segs[0].Seq != una+1000 {
		t.Fatalf("reneged segment not retransmitted: %d segments", len(segs))
	}
}

// TestTLPAfterFIN: a tail loss probe that fires after the FIN went out
// retransmits the last segment (RFC 8985 §7.3): there is no new data left
// to probe with.
func TestTLPAfterFIN(t *testing.T) {
	c, _ := sender(t, nil, sackOpts(), 65535)
	now := t0.Add(20 * time.Millisecond)
	c.Write(pattern(3000))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	sent := drain(c, now)
	if len(sent) == 0 || sent[len(sent)-1].Flags&FlagFIN == 0 {
		t.Fatalf("sent %d segments, the last without FIN", len(sent))
	}
	pto := c.NextDeadline()
	if !pto.After(now) {
		t.Fatalf("no timer armed")
	}
	probe := drain(c, pto)
	if len(probe) != 1 {
		t.Fatalf("probe at %v: %d segments, want 1", pto.Sub(now), len(probe))
	}
	last := sent[len(sent)-1]
	if probe[0].Seq != last.Seq || len(probe[0].Payload) != len(last.Payload) || probe[0].Flags&FlagFIN == 0 {
		t.Errorf("probe %s, want a retransmission of %s", fmtSeg(&probe[0]), fmtSeg(&last))
	}
}
