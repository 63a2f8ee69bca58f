package tcp

import (
	"testing"
	"time"

	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/wire"
)

// TestSendAck checks that SendAck makes Poll emit one pure ACK carrying
// the hooks' options, that data going out first takes its place, and
// that it does nothing before the handshake or after the close.
func TestSendAck(t *testing.T) {
	h := &fakeHooks{}
	c, err := Dial(t0, testConfig(), clientID, h)
	if err != nil {
		t.Fatal(err)
	}
	c.SendAck() // SYN-SENT: nothing to acknowledge yet
	syn := one(t, c, t0)
	expect(t, &syn, flags(FlagSYN))
	p := &peer{iss: 5000, nxt: 5000}
	now := t0.Add(10 * time.Millisecond)
	c.Input(now, &Segment{SrcPort: 80, DstPort: 40000, Seq: p.iss, Ack: syn.Seq + 1, Flags: FlagSYN | FlagACK, Window: 65535, Options: plainOpts(1460)})
	p.nxt = p.iss + 1
	one(t, c, now) // the handshake's ACK
	none(t, c, now)

	tests := []struct {
		name      string
		write     []byte
		wantFlags Flags
		wantKind  SegmentKind
		wantLen   int
	}{
		{name: "idle", wantFlags: FlagACK, wantKind: KindACK},
		{name: "data first", write: []byte("hello"), wantFlags: FlagACK | FlagPSH, wantKind: KindData, wantLen: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.write) > 0 {
				if _, err := c.Write(tt.write); err != nil {
					t.Fatal(err)
				}
			}
			c.SendAck()
			seg := one(t, c, now)
			expect(t, &seg, flags(tt.wantFlags), seqIs(syn.Seq+1), ackIs(p.nxt), payloadLen(tt.wantLen))
			if h.lastOut.Kind != tt.wantKind || seg.Options.NumMPTCP != 1 {
				t.Fatalf("hooks saw %v, segment has %d hook options", h.lastOut.Kind, seg.Options.NumMPTCP)
			}
		})
	}
	c.Abort()
	drain(c, now)
	c.SendAck()
	none(t, c, now)
}

// TestConsecutiveRTOs follows the timeout count through two RTOs and the
// acknowledgment that resets it.
func TestConsecutiveRTOs(t *testing.T) {
	c, p := dialed(t, testConfig(), plainOpts(1000), 65535)
	if c.ConsecutiveRTOs() != 0 {
		t.Fatal("RTOs before any data")
	}
	c.Write(make([]byte, 100))
	now := t0.Add(20 * time.Millisecond)
	d := one(t, c, now)
	for want := 1; want <= 2; want++ {
		now = c.NextDeadline()
		segs := drain(c, now)
		if len(segs) == 0 || c.ConsecutiveRTOs() != want {
			t.Fatalf("after timeout %d: %d segments, count %d", want, len(segs), c.ConsecutiveRTOs())
		}
	}
	c.Input(now, p.seg(FlagACK, d.Seq+100, 65535, nil))
	if c.ConsecutiveRTOs() != 0 {
		t.Fatalf("count %d after the ACK", c.ConsecutiveRTOs())
	}
}

// TestListenerSYNConfigHook gives each accepted SYN its own configuration:
// the connection joins that configuration's congestion-control group and
// uses its MSS; an invalid one drops the SYN; SetSYNHook replaces the
// hook.
func TestListenerSYNConfigHook(t *testing.T) {
	l, err := NewListener(testConfig(), 80, 8)
	if err != nil {
		t.Fatal(err)
	}
	g := cc.NewGroup()
	h := &fakeHooks{}
	l.SetSYNConfigHook(func(id ConnID, seg *Segment) (Verdict, Hooks, *Config) {
		switch seg.Seq {
		case 1:
			cfg := testConfig()
			cfg.CCGroup = g
			cfg.MSS = 1000
			return Accept, h, cfg
		case 2:
			return Accept, nil, &Config{MSS: 10} // invalid
		case 3:
			return Reset, nil, nil
		}
		return Accept, nil, nil
	})
	tests := []struct {
		seq       uint32
		wantConn  bool
		wantReply bool
		wantMSS   uint16
		wantGroup int
		wantDrops int
	}{
		{seq: 1, wantConn: true, wantMSS: 1000, wantGroup: 1},
		{seq: 2, wantGroup: 1, wantDrops: 1},
		{seq: 3, wantReply: true, wantGroup: 1, wantDrops: 2},
		{seq: 4, wantConn: true, wantMSS: DefaultMSS, wantGroup: 1, wantDrops: 2},
	}
	var first *Conn
	for _, tt := range tests {
		syn := &Segment{SrcPort: 40000, DstPort: 80, Seq: tt.seq, Flags: FlagSYN, Window: 65535, Options: wire.TCPOptions{HasMSS: true, MSS: 1460}}
		id := serverID
		id.Remote = netipPort(id.Remote, uint16(40000+tt.seq))
		c, _, reply := l.Input(t0, id, syn)
		if (c != nil) != tt.wantConn || reply != tt.wantReply || g.Len() != tt.wantGroup || l.SYNsDropped() != tt.wantDrops {
			t.Fatalf("SYN %d: conn %v reply %v group %d drops %d", tt.seq, c != nil, reply, g.Len(), l.SYNsDropped())
		}
		if c != nil {
			sa := one(t, c, t0)
			expect(t, &sa, flags(FlagSYN|FlagACK), mssIs(tt.wantMSS))
			if first == nil {
				first = c
			}
		}
	}
	if len(h.out) == 0 || h.out[0].Kind != KindSYNACK {
		t.Fatal("the per-SYN hooks were not used")
	}
	first.Abort()
	if g.Len() != 0 {
		t.Fatal("aborted connection still in its group")
	}
	l.SetSYNHook(func(ConnID, *Segment) (Verdict, Hooks) { return Drop, nil })
	if c, _, _ := l.Input(t0, serverID, &Segment{Flags: FlagSYN, Seq: 1}); c != nil || l.SYNsDropped() != 3 {
		t.Fatal("SetSYNHook did not replace the configuration hook")
	}
}
