package tcp

import (
	"testing"
	"time"

	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/wire"
)

// fakeHooks records what the engine shows the MPTCP layer and adds an
// option to every segment.
type fakeHooks struct {
	verdict   Verdict
	dropSeq   uint32
	optBuf    [8]byte
	out       []OutInfo
	outFlags  []Flags
	spaces    []int
	checked   []State
	processed []State
	lastOut   OutInfo
}

func (h *fakeHooks) WriteOptions(seg *Segment, info OutInfo, space int) {
	h.out = append(h.out, info)
	h.outFlags = append(h.outFlags, seg.Flags)
	h.spaces = append(h.spaces, space)
	h.lastOut = info
	if space >= 8 {
		h.optBuf = [8]byte{wire.OptionKindMPTCP, 8, 0x20}
		seg.Options.MPTCP[seg.Options.NumMPTCP] = h.optBuf[:]
		seg.Options.NumMPTCP++
	}
}

func (h *fakeHooks) CheckSegment(seg *Segment, st State) Verdict {
	h.checked = append(h.checked, st)
	if h.dropSeq != 0 && seg.Seq == h.dropSeq {
		return Drop
	}
	return h.verdict
}

func (h *fakeHooks) SegmentProcessed(seg *Segment, st State) {
	h.processed = append(h.processed, st)
}

func TestHooksSeeEverySegment(t *testing.T) {
	h := &fakeHooks{}
	c, err := Dial(t0, testConfig(), clientID, h)
	if err != nil {
		t.Fatal(err)
	}
	syn := one(t, c, t0)
	if syn.Options.NumMPTCP != 1 || h.out[0].Kind != KindSYN {
		t.Fatalf("SYN: mptcp %d, info %+v", syn.Options.NumMPTCP, h.out)
	}
	// SYN: MSS 4 + WS 3 + SACKP 2 + TS 10 = 19 → 20 bytes used.
	if h.spaces[0] != 20 {
		t.Fatalf("space on SYN %d, want 20", h.spaces[0])
	}
	// A retransmitted SYN is flagged.
	one(t, c, t0.Add(time.Second))
	if !h.out[1].Retransmission || h.out[1].Kind != KindSYN {
		t.Fatalf("retransmitted SYN info %+v", h.out[1])
	}
	opts := fullOpts(1460, 7)
	opts.TSVal = 1
	sa := &Segment{Seq: 100, Ack: syn.Seq + 1, Flags: FlagSYN | FlagACK, Window: 1000, Options: opts}
	now := t0.Add(1100 * time.Millisecond)
	c.Input(now, sa)
	if len(h.checked) != 1 || h.checked[0] != StateSynSent || h.processed[0] != StateEstablished {
		t.Fatalf("check/processed %v %v", h.checked, h.processed)
	}
	ack := one(t, c, now)
	if h.lastOut.Kind != KindACK || ack.Options.NumMPTCP != 1 {
		t.Fatalf("pure ACK info %+v", h.lastOut)
	}
	// Dropped by the hook: no processing, no reply.
	h.dropSeq = 101
	c.Input(now, &Segment{Seq: 101, Ack: syn.Seq + 1, Flags: FlagACK | FlagPSH, Window: 1000, Payload: []byte("x"), Options: wire.TCPOptions{HasTimestamps: true, TSVal: 2}})
	if c.Readable() != 0 || len(h.processed) != 1 {
		t.Fatal("dropped segment was processed")
	}
	none(t, c, now)
	// Data and its retransmission.
	c.Write([]byte("hello"))
	one(t, c, now)
	if h.lastOut.Kind != KindData || h.lastOut.Retransmission {
		t.Fatalf("data info %+v", h.lastOut)
	}
	one(t, c, c.NextDeadline())
	if h.lastOut.Kind != KindData || !h.lastOut.Retransmission {
		t.Fatalf("retransmission info %+v", h.lastOut)
	}
}

func TestOptionReserveShortensPayload(t *testing.T) {
	cfg := testConfig()
	cfg.OptionReserve = 20
	h := &fakeHooks{}
	c, err := Dial(t0, cfg, clientID, h)
	if err != nil {
		t.Fatal(err)
	}
	syn := one(t, c, t0)
	opts := fullOpts(1460, 7)
	c.Input(t0.Add(time.Millisecond), &Segment{Seq: 100, Ack: syn.Seq + 1, Flags: FlagSYN | FlagACK, Window: 60000, Options: opts})
	drain(c, t0.Add(time.Millisecond))
	c.Write(pattern(5000))
	segs := drain(c, t0.Add(time.Millisecond))
	if len(segs[0].Payload) != 1460-12-20 {
		t.Fatalf("payload %d, want 1428 (MSS less timestamps less reserve)", len(segs[0].Payload))
	}
	// TS takes 12 of 40 (10 rounded): at least the 20 reserved remain.
	if sp := h.spaces[len(h.spaces)-1]; sp < 20 {
		t.Fatalf("space %d < reserve", sp)
	}
}

func TestChunks(t *testing.T) {
	c, p := sender(t, nil, plainOpts(1000), 65535)
	h := &fakeHooks{}
	c.hooks = h
	una := c.Info().SndUna
	now := t0.Add(20 * time.Millisecond)
	c.Write([]byte("stream"))
	if err := c.WriteChunk(pattern(1500), 7); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteChunk(pattern(300), 8); err != nil {
		t.Fatal(err)
	}
	segs := drain(c, now)
	// Segments never cross a chunk boundary: 6 | 1000 | 500 | 300.
	var lens []int
	for _, s := range segs {
		lens = append(lens, len(s.Payload))
	}
	if len(lens) != 4 || lens[0] != 6 || lens[1] != 1000 || lens[2] != 500 || lens[3] != 300 {
		t.Fatalf("segment sizes %v, want [6 1000 500 300]", lens)
	}
	infos := h.out[len(h.out)-4:]
	if infos[0].HasChunk || !infos[1].HasChunk || infos[1].ChunkID != 7 || infos[1].ChunkOffset != 0 ||
		infos[2].ChunkID != 7 || infos[2].ChunkOffset != 1000 || infos[2].ChunkLen != 1500 || infos[3].ChunkID != 8 {
		t.Fatalf("chunk infos %+v", infos)
	}
	events(c)
	// Acknowledge the first chunk: one event for it.
	c.Input(now, p.seg(FlagACK, una+6+1500, 65535, nil))
	var acked []uint64
	for _, e := range events(c) {
		if e.Kind == EventChunkAcked {
			acked = append(acked, e.ChunkID)
		}
	}
	if len(acked) != 1 || acked[0] != 7 {
		t.Fatalf("chunks acked %v, want [7]", acked)
	}
	// A retransmission keeps the chunk boundaries and says so.
	one(t, c, c.NextDeadline())
	if !h.lastOut.Retransmission || h.lastOut.ChunkID != 8 || h.lastOut.ChunkOffset != 0 {
		t.Fatalf("retransmission info %+v", h.lastOut)
	}
	// All or nothing.
	if err := c.WriteChunk(make([]byte, DefaultSendBufferSize), 9); err != ErrBufferFull {
		t.Fatalf("oversized chunk: %v", err)
	}
}

func TestInfoCounters(t *testing.T) {
	h := newHarness(t, testConfig(), testConfig(), netCfg{delay: 10 * time.Millisecond, loss: 0.05, seed: 3, maxTime: time.Minute})
	h.src = pattern(200000)
	h.run(func() bool { return len(h.sink) == len(h.src) && h.a.Info().BytesAcked == 200000 })
	a, b := h.a.Info(), h.b.Info()
	if a.BytesAcked != 200000 || b.BytesReceived < 200000 || a.BytesSent < 200000 {
		t.Fatalf("bytes: acked %d received %d sent %d", a.BytesAcked, b.BytesReceived, a.BytesSent)
	}
	if a.TotalRetrans == 0 || a.BytesRetrans == 0 || a.BytesSent != 200000+a.BytesRetrans {
		t.Fatalf("retransmissions %d bytes %d sent %d", a.TotalRetrans, a.BytesRetrans, a.BytesSent)
	}
	if a.RTT < 20*time.Millisecond || a.MinRTT < 20*time.Millisecond || a.MinRTT > a.RTT+a.RTTVar*4 {
		t.Fatalf("RTT %v min %v", a.RTT, a.MinRTT)
	}
	if a.SegsOut < a.DataSegsOut || a.DataSegsOut == 0 || b.SegsIn == 0 || a.DeliveryRate == 0 || a.PacingRate == 0 {
		t.Fatalf("segment counters %+v", a)
	}
	if a.LastDataSent.IsZero() || b.LastDataRecv.IsZero() || a.LastAckRecv.IsZero() {
		t.Fatal("last-activity times not set")
	}
	if a.CongestionControl != "reno" || a.Cwnd <= 0 || a.State != StateEstablished {
		t.Fatalf("cc %q cwnd %d state %v", a.CongestionControl, a.Cwnd, a.State)
	}
}

func TestCCGroupPublishes(t *testing.T) {
	g := cc.NewGroup()
	cfg := testConfig()
	cfg.CCGroup = g
	h := newHarness(t, cfg, testConfig(), netCfg{delay: 5 * time.Millisecond, seed: 1, maxTime: time.Minute})
	h.src = pattern(50000)
	h.run(func() bool { return len(h.sink) == len(h.src) })
	st := g.Snapshot(nil)
	if len(st) != 1 || !st[0].Established || st[0].SRTT == 0 || st[0].Cwnd != h.a.Info().Cwnd || st[0].MSS != h.a.Info().SendMSS {
		t.Fatalf("group state %+v", st)
	}
	h.a.Abort()
	if g.Len() != 0 {
		t.Fatal("closed connection still in its group")
	}
}

func TestReceiveAutoTuning(t *testing.T) {
	cfg := testConfig()
	cfg.RecvBufferSize = 16 << 10
	h := newHarness(t, testConfig(), cfg, netCfg{delay: 20 * time.Millisecond, rate: 8 << 20, seed: 1, maxTime: time.Minute})
	h.src = pattern(4 << 20)
	h.run(func() bool { return len(h.sink) == len(h.src) })
	i := h.b.Info()
	if i.RecvBuffer <= 16<<10 || i.RecvBufferGrowths == 0 || i.RecvBuffer > DefaultMaxRecvBufferSize {
		t.Fatalf("receive buffer %d after %d growths", i.RecvBuffer, i.RecvBufferGrowths)
	}
	// The bandwidth-delay product is 8 MiB/s × 40 ms ≈ 335 KB; the
	// buffer should have grown toward it.
	if i.RecvBuffer < 200<<10 {
		t.Fatalf("receive buffer only %d", i.RecvBuffer)
	}
}

func TestHyStartExitsSlowStartOnDelay(t *testing.T) {
	cfg := testConfig()
	cfg.CongestionControl = "cubic"
	// A 2 MB/s bottleneck with a 40 ms RTT: the BDP is about 80 KB; past
	// it the queue (unbounded here) grows the RTT, which HyStart++ sees.
	big := testConfig()
	big.RecvBufferSize = 4 << 20 // the receiver's window must not be the limit
	h := newHarness(t, cfg, big, netCfg{delay: 20 * time.Millisecond, rate: 2 << 20, seed: 1, maxTime: time.Minute})
	h.src = pattern(3 << 20)
	h.run(func() bool { return len(h.sink) == len(h.src) })
	i := h.a.Info()
	if i.Ssthresh >= 1<<30 || i.Recoveries != 0 || i.RTOs != 0 {
		t.Fatalf("ssthresh %d recoveries %d RTOs %d: slow start did not end on delay", i.Ssthresh, i.Recoveries, i.RTOs)
	}
	if i.Ssthresh > 1<<20 {
		t.Fatalf("slow start ended late: ssthresh %d", i.Ssthresh)
	}
}

func TestOptionsLen(t *testing.T) {
	mp := make([]byte, 20)
	tests := []struct {
		name string
		o    wire.TCPOptions
		want int
	}{
		{"none", wire.TCPOptions{}, 0},
		{"linux SYN", fullOpts(1460, 7), 20},
		{"mss+sackp", wire.TCPOptions{HasMSS: true, SACKPermitted: true}, 8},
		{"ts", wire.TCPOptions{HasTimestamps: true}, 12},
		{"ts+3 sack", wire.TCPOptions{HasTimestamps: true, NumSACKBlocks: 3}, 40},
		{"4 sack", wire.TCPOptions{NumSACKBlocks: 4}, 36},
		{"ts+dss", wire.TCPOptions{HasTimestamps: true, NumMPTCP: 1, MPTCP: [wire.MaxMPTCPOptions][]byte{mp[:18]}}, 32},
	}
	for _, tt := range tests {
		if got := OptionsLen(&tt.o); got != tt.want {
			t.Errorf("%s: OptionsLen = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestAckOptionReserveLimitsSACK(t *testing.T) {
	for _, tt := range []struct {
		reserve, blocks int
	}{{0, 3}, {8, 2}, {12, 1}, {20, 0}} {
		cfg := testConfig()
		cfg.AckOptionReserve = tt.reserve
		opts := sackOpts()
		opts.HasTimestamps = true
		c, p := dialed(t, cfg, opts, 1000)
		now := t0.Add(20 * time.Millisecond)
		for i := range 4 {
			s := p.seg(FlagACK, c.Info().SndNxt, 1000, pattern(100))
			s.Seq = p.nxt + uint32(1000*(i+1))
			c.Input(now, s)
		}
		segs := drain(c, now)
		last := segs[len(segs)-1]
		if last.Options.NumSACKBlocks != tt.blocks {
			t.Errorf("reserve %d: %d SACK blocks, want %d", tt.reserve, last.Options.NumSACKBlocks, tt.blocks)
		}
		if OptionsLen(&last.Options)+tt.reserve > MaxOptionSpace {
			t.Errorf("reserve %d: options %d leave no room", tt.reserve, OptionsLen(&last.Options))
		}
	}
}
