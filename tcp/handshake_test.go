package tcp

import (
	"errors"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

func fullOpts(mss uint16, ws uint8) wire.TCPOptions {
	return wire.TCPOptions{HasMSS: true, MSS: mss, HasWindowScale: true, WindowScale: ws, SACKPermitted: true, HasTimestamps: true}
}

func TestActiveOpen(t *testing.T) {
	c, err := Dial(t0, testConfig(), clientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != StateSynSent {
		t.Fatalf("state %v, want SYN-SENT", c.State())
	}
	syn := one(t, c, t0)
	// 6 MiB maximum buffer: shift 7 (6 MiB >> 7 = 49152 <= 65535).
	expect(t, &syn, flags(FlagSYN), seqIs(c.ISS()), windowIs(65535), mssIs(1460), wscaleIs(7), sackPerm(true), hasTS(true), tsEcr(0))
	if syn.SrcPort != 40000 || syn.DstPort != 80 {
		t.Fatalf("ports %d->%d", syn.SrcPort, syn.DstPort)
	}
	if want := ISN(&testConfig().ISNKey, clientID, t0); syn.Seq != want {
		t.Fatalf("ISS %d, want RFC 6528 ISN %d", syn.Seq, want)
	}
	if !c.NextDeadline().Equal(t0.Add(time.Second)) {
		t.Fatalf("SYN retransmission deadline %v, want t0+1s (RFC 6298 §2.1)", c.NextDeadline().Sub(t0))
	}
	sa := &Segment{SrcPort: 80, DstPort: 40000, Seq: 7000, Ack: syn.Seq + 1, Flags: FlagSYN | FlagACK, Window: 30000, Options: fullOpts(1400, 9)}
	sa.Options.TSVal, sa.Options.TSEcr = 555, syn.Options.TSVal
	now := t0.Add(30 * time.Millisecond)
	c.Input(now, sa)
	if c.State() != StateEstablished {
		t.Fatalf("state %v, want ESTABLISHED", c.State())
	}
	ack := one(t, c, now)
	expect(t, &ack, flags(FlagACK), seqIs(syn.Seq+1), ackIs(7001), hasTS(true), tsEcr(555), payloadLen(0))
	// Window of the ACK is scaled by our shift 7.
	if got := int(ack.Window) << 7; got < 128<<10-128 || got > 128<<10 {
		t.Fatalf("ACK window %d<<7 = %d, want ≈ 128 KiB", ack.Window, got)
	}
	i := c.Info()
	if !i.WindowScaling || !i.SACK || !i.Timestamps || i.SendWScale != 9 || i.RecvWScale != 7 {
		t.Fatalf("negotiated %+v", i)
	}
	if i.SendMSS != 1400-12 {
		t.Fatalf("SendMSS %d, want 1388 (1400 less 12 bytes of timestamps)", i.SendMSS)
	}
	if i.SendWindow != 30000 {
		t.Fatalf("send window %d, want 30000 (SYN-ACK windows are unscaled)", i.SendWindow)
	}
	if i.RTT != 30*time.Millisecond {
		t.Fatalf("RTT %v, want 30ms from the SYN", i.RTT)
	}
	evs := events(c)
	if !hasEvent(evs, EventEstablished) {
		t.Fatalf("events %v lack established", evs)
	}
}

func TestPassiveOpen(t *testing.T) {
	l, err := NewListener(testConfig(), 80, 4)
	if err != nil {
		t.Fatal(err)
	}
	syn := &Segment{SrcPort: 40000, DstPort: 80, Seq: 1000, Flags: FlagSYN, Window: 65535, Options: wire.TCPOptions{HasMSS: true, MSS: 1200, SACKPermitted: true}}
	c, _, reply := l.Input(t0, serverID, syn)
	if c == nil || reply {
		t.Fatalf("listener did not accept the SYN")
	}
	if c.State() != StateSynReceived || l.Pending() != 1 {
		t.Fatalf("state %v pending %d", c.State(), l.Pending())
	}
	sa := one(t, c, t0)
	// The SYN-ACK echoes only what the SYN offered: no WS, no TS.
	expect(t, &sa, flags(FlagSYN|FlagACK), seqIs(c.ISS()), ackIs(1001), mssIs(1460), noWScale, sackPerm(true), hasTS(false), windowIs(65535))
	if _, ok := l.Accept(); ok {
		t.Fatal("Accept returned a connection before the handshake completed")
	}
	// A retransmitted SYN (our SYN-ACK was lost) gets the SYN-ACK again.
	c.Input(t0.Add(time.Millisecond), syn)
	again := one(t, c, t0.Add(time.Millisecond))
	expect(t, &again, flags(FlagSYN|FlagACK), seqIs(sa.Seq), ackIs(1001))
	now := t0.Add(5 * time.Millisecond)
	c.Input(now, &Segment{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: sa.Seq + 1, Flags: FlagACK, Window: 1000})
	if c.State() != StateEstablished {
		t.Fatalf("state %v", c.State())
	}
	got, ok := l.Accept()
	if !ok || got != c || l.Pending() != 0 {
		t.Fatalf("Accept = %v, %v; pending %d", got, ok, l.Pending())
	}
	i := c.Info()
	if i.RTT != 0 {
		t.Fatalf("RTT %v sampled from a retransmitted SYN-ACK (Karn)", i.RTT)
	}
	if i.SendMSS != 1200 || i.SendWindow != 1000 || i.WindowScaling || i.Timestamps || !i.SACK {
		t.Fatalf("info %+v", i)
	}
	none(t, c, now)
}

func TestListenerRules(t *testing.T) {
	l, _ := NewListener(testConfig(), 80, 2)
	// RST: ignored.
	if c, _, r := l.Input(t0, serverID, &Segment{Flags: FlagRST, Seq: 5}); c != nil || r {
		t.Fatal("RST to a listener was answered")
	}
	// ACK: <SEQ=SEG.ACK><CTL=RST>.
	_, rst, ok := l.Input(t0, serverID, &Segment{SrcPort: 1, DstPort: 80, Flags: FlagACK, Seq: 5, Ack: 777})
	if !ok {
		t.Fatal("ACK to a listener not answered")
	}
	expect(t, &rst, flags(FlagRST), seqIs(777))
	if rst.SrcPort != 80 || rst.DstPort != 1 {
		t.Fatalf("RST ports %d->%d", rst.SrcPort, rst.DstPort)
	}
	// Neither: dropped.
	if c, _, r := l.Input(t0, serverID, &Segment{Seq: 5, Payload: []byte("x")}); c != nil || r {
		t.Fatal("segment without SYN/ACK/RST was not dropped")
	}
	// Backlog 2.
	for i := range 3 {
		c, _, _ := l.Input(t0, serverID, &Segment{Flags: FlagSYN, Seq: uint32(100 * i)})
		if (c != nil) != (i < 2) {
			t.Fatalf("SYN %d accepted=%v with backlog 2", i, c != nil)
		}
	}
	if l.SYNsDropped() != 1 || l.Pending() != 2 {
		t.Fatalf("dropped %d pending %d", l.SYNsDropped(), l.Pending())
	}
	if _, err := NewListener(testConfig(), 80, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("backlog 0: %v", err)
	}
}

func TestListenerSYNHook(t *testing.T) {
	l, _ := NewListener(testConfig(), 80, 8)
	l.SetSYNHook(func(id ConnID, seg *Segment) (Verdict, Hooks) {
		switch seg.Seq {
		case 1:
			return Drop, nil
		case 2:
			return Reset, nil
		}
		return Accept, nil
	})
	if c, _, r := l.Input(t0, serverID, &Segment{Flags: FlagSYN, Seq: 1}); c != nil || r {
		t.Fatal("hook Drop not honoured")
	}
	c, rst, r := l.Input(t0, serverID, &Segment{Flags: FlagSYN, Seq: 2})
	if c != nil || !r {
		t.Fatal("hook Reset not honoured")
	}
	// RST for a segment without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
	expect(t, &rst, flags(FlagRST|FlagACK), seqIs(0), ackIs(3))
	if c, _, _ := l.Input(t0, serverID, &Segment{Flags: FlagSYN, Seq: 3}); c == nil {
		t.Fatal("hook Accept not honoured")
	}
}

func TestSimultaneousOpen(t *testing.T) {
	a, _ := Dial(t0, testConfig(), clientID, nil)
	b, _ := Dial(t0, testConfig(), serverID, nil)
	synA, synB := one(t, a, t0), one(t, b, t0)
	now := t0.Add(time.Millisecond)
	a.Input(now, &synB)
	b.Input(now, &synA)
	if a.State() != StateSynReceived || b.State() != StateSynReceived {
		t.Fatalf("states %v %v, want SYN-RECEIVED", a.State(), b.State())
	}
	// Each answers with SYN-ACK carrying its own ISS (RFC 9293 Figure 7).
	saA, saB := one(t, a, now), one(t, b, now)
	expect(t, &saA, flags(FlagSYN|FlagACK), seqIs(synA.Seq), ackIs(synB.Seq+1), wscaleIs(7))
	expect(t, &saB, flags(FlagSYN|FlagACK), seqIs(synB.Seq), ackIs(synA.Seq+1))
	now = now.Add(time.Millisecond)
	a.Input(now, &saB)
	b.Input(now, &saA)
	if a.State() != StateEstablished || b.State() != StateEstablished {
		t.Fatalf("states %v %v, want ESTABLISHED", a.State(), b.State())
	}
	// Data flows.
	a.Write([]byte("hello"))
	d := one(t, a, now)
	expect(t, &d, flags(FlagACK|FlagPSH), seqIs(synA.Seq+1), ackIs(synB.Seq+1), payloadLen(5))
	b.Input(now, &d)
	buf := make([]byte, 10)
	if n, _ := b.Read(buf); string(buf[:n]) != "hello" {
		t.Fatalf("read %q", buf[:n])
	}
}

func TestNegotiation(t *testing.T) {
	tests := []struct {
		name   string
		local  func(*Config)
		peer   wire.TCPOptions
		wantWS bool
		sndWS  uint8
		rcvWS  uint8
		wantTS bool
		wantSK bool
		mss    int
	}{
		{"none", func(*Config) {}, wire.TCPOptions{}, false, 0, 0, false, false, 536},
		{"mss only", func(*Config) {}, plainOpts(9000), false, 0, 0, false, false, 1460},
		{"small mss", func(*Config) {}, plainOpts(500), false, 0, 0, false, false, 500},
		{"all", func(*Config) {}, fullOpts(1460, 3), true, 3, 7, true, true, 1448},
		{"shift above 14", func(*Config) {}, fullOpts(1460, 15), true, 14, 7, true, true, 1448},
		{"local no ws", func(c *Config) { c.DisableWindowScale = true }, fullOpts(1460, 3), false, 0, 0, true, true, 1448},
		{"local no ts", func(c *Config) { c.DisableTimestamps = true }, fullOpts(1460, 3), true, 3, 7, false, true, 1460},
		{"local no sack", func(c *Config) { c.DisableSACK = true }, fullOpts(1460, 3), true, 3, 7, true, false, 1448},
		{"small buffer shift", func(c *Config) { c.MaxRecvBufferSize = 65535; c.RecvBufferSize = 65535 }, fullOpts(1460, 0), true, 0, 0, true, true, 1448},
		{"ts only", func(*Config) {}, wire.TCPOptions{HasTimestamps: true}, false, 0, 0, true, false, 536 - 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.local(cfg)
			c, _ := dialed(t, cfg, tt.peer, 1000)
			i := c.Info()
			if i.WindowScaling != tt.wantWS || i.SendWScale != tt.sndWS || i.RecvWScale != tt.rcvWS ||
				i.Timestamps != tt.wantTS || i.SACK != tt.wantSK || i.SendMSS != tt.mss {
				t.Fatalf("got ws=%v %d/%d ts=%v sack=%v mss=%d", i.WindowScaling, i.SendWScale, i.RecvWScale, i.Timestamps, i.SACK, i.SendMSS)
			}
		})
	}
}

func TestSynRetransmitBackoffAndGiveUp(t *testing.T) {
	cfg := testConfig()
	cfg.SynRetries = 3
	c, _ := Dial(t0, cfg, clientID, nil)
	syn := one(t, c, t0)
	at := t0
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if d := c.NextDeadline().Sub(at); d != wait {
			t.Fatalf("retry %d after %v, want %v", i, d, wait)
		}
		at = c.NextDeadline()
		none(t, c, at.Add(-time.Nanosecond))
		s := one(t, c, at)
		expect(t, &s, flags(FlagSYN), seqIs(syn.Seq), mssIs(1460))
	}
	at = c.NextDeadline()
	if d := at.Sub(t0); d != 15*time.Second {
		t.Fatalf("give-up deadline %v, want 15s", d)
	}
	none(t, c, at)
	if c.State() != StateClosed || !errors.Is(c.Err(), ErrTimeout) {
		t.Fatalf("state %v err %v, want CLOSED with timeout", c.State(), c.Err())
	}
	var ne interface{ Timeout() bool }
	if !errors.As(c.Err(), &ne) || !ne.Timeout() {
		t.Fatalf("error %v is not a timeout net.Error", c.Err())
	}
	// A SYN-ACK answering a retransmitted SYN gives no RTT sample
	// (Karn); RFC 6298 §5.7 then sets RTO to 3 s.
	c2, _ := Dial(t0, testConfig(), clientID, nil)
	s1 := one(t, c2, t0)
	one(t, c2, t0.Add(time.Second))
	c2.Input(t0.Add(1100*time.Millisecond), &Segment{Seq: 9, Ack: s1.Seq + 1, Flags: FlagSYN | FlagACK, Window: 100, Options: plainOpts(1000)})
	if i := c2.Info(); i.RTT != 0 || i.RTO != 3*time.Second {
		t.Fatalf("after retransmitted SYN: RTT %v RTO %v, want 0 and 3s", i.RTT, i.RTO)
	}
}

func TestISN(t *testing.T) {
	key := [16]byte{9}
	a := ISN(&key, clientID, t0)
	// The ISN clock ticks every 4 µs (RFC 6528 §3).
	if b := ISN(&key, clientID, t0.Add(4*time.Millisecond)); b-a != 1000 {
		t.Fatalf("ISN advanced by %d in 4ms, want 1000", b-a)
	}
	if ISN(&key, serverID, t0) == a {
		t.Fatal("different 4-tuples got the same ISN")
	}
	key2 := [16]byte{10}
	if ISN(&key2, clientID, t0) == a {
		t.Fatal("different keys gave the same ISN")
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.MSS = 10 },
		func(c *Config) { c.MSS = 70000 },
		func(c *Config) { c.RecvBufferSize = 1 << 20; c.MaxRecvBufferSize = 1 << 10 },
		func(c *Config) { c.MaxRecvBufferSize = 1 << 31 },
		func(c *Config) { c.MinRTO = time.Second; c.MaxRTO = time.Millisecond },
		func(c *Config) { c.DelayedAckTimeout = time.Second },
		func(c *Config) { c.OptionReserve = 40 },
		func(c *Config) { c.CongestionControl = "nope" },
		func(c *Config) { c.Retries = -1 },
	}
	for i, mod := range bad {
		cfg := testConfig()
		mod(cfg)
		if _, err := Dial(t0, cfg, clientID, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("case %d: Dial error %v, want ErrInvalidConfig", i, err)
		}
	}
}
