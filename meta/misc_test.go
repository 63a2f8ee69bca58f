package meta

import (
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

func TestLowestRTT(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		sfs  []SubflowStatus
		want int
	}{
		{"lowest RTT", []SubflowStatus{{RTT: 30 * ms, Cwnd: 10000}, {RTT: 10 * ms, Cwnd: 10000}, {RTT: 20 * ms, Cwnd: 10000}}, 1},
		{"no window on the fastest", []SubflowStatus{{RTT: 30 * ms, Cwnd: 10000}, {RTT: 10 * ms, Cwnd: 10000, InFlight: 6000, Queued: 4000}}, 0},
		{"none with window", []SubflowStatus{{RTT: 30 * ms, Cwnd: 100, InFlight: 100}, {RTT: 10 * ms, Cwnd: 100, Queued: 100}}, -1},
		{"backup only when alone", []SubflowStatus{{RTT: 5 * ms, Cwnd: 10000, Backup: true}, {RTT: 50 * ms, Cwnd: 10000}}, 1},
		{"regular one full: wait, no backup", []SubflowStatus{{RTT: 5 * ms, Cwnd: 10000, Backup: true}, {RTT: 50 * ms, Cwnd: 100, InFlight: 100}}, -1},
		{"all backup", []SubflowStatus{{RTT: 50 * ms, Cwnd: 10000, Backup: true}, {RTT: 5 * ms, Cwnd: 10000, Backup: true}}, 1},
		{"unmeasured first", []SubflowStatus{{RTT: 5 * ms, Cwnd: 10000}, {Cwnd: 10000}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LowestRTT().Pick(tt.sfs); got != tt.want {
				t.Fatalf("Pick = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTokenTable(t *testing.T) {
	tt := NewTokenTable()
	a, b := &Conn{}, &Conn{}
	if !tt.Claim(7, a) || tt.Claim(7, b) || tt.Lookup(7) != a || tt.Len() != 1 {
		t.Fatal("claim")
	}
	tt.Release(7, b) // not the holder: no effect
	if tt.Lookup(7) != a {
		t.Fatal("release by another connection removed the token")
	}
	tt.Release(7, a)
	if tt.Lookup(7) != nil || tt.Len() != 0 || !tt.Claim(7, b) {
		t.Fatal("release")
	}
}

func TestCounterNames(t *testing.T) {
	var m MIB
	m.inc(MPJoinSynRx)
	m.add(MPCurrEstab, 2)
	snap := m.Snapshot()
	if len(snap) != int(numCounters) || snap["MPJoinSynRx"] != 1 || snap["MPCurrEstab"] != 2 {
		t.Fatalf("snapshot %v", snap)
	}
	seen := map[string]bool{}
	for c := range numCounters {
		n := c.String()
		if n == "" || seen[n] || strings.ContainsAny(n, " _") {
			t.Fatalf("counter %d name %q", c, n)
		}
		seen[n] = true
	}
	if Counter(200).String() != "Counter(200)" || m.Get(Counter(200)) != 0 {
		t.Fatal("unknown counter")
	}
}

func TestInfoAfterTransfer(t *testing.T) {
	up, down := pattern(100<<10, 30), pattern(50<<10, 31)
	h := newHarness(t, 4, pathCfg{delay: 2 * time.Millisecond})
	cc, sc := testConfig(4, h.cli), testConfig(5, h.srv)
	cc.Checksum = true
	h.listen(sc)
	x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:3], keepOpen: true}
	x.cli = h.dial(cc, clientAddr[0])
	h.run(time.Minute, x.app, func() bool {
		return len(x.gotUp) == len(up) && len(x.gotDown) == len(down) && x.srv != nil && len(x.srv.Subflows()) == 3 &&
			x.cli.Info().BytesAcked == uint64(len(up))
	})
	ci, si := x.cli.Info(), x.srv.Info()
	if ci.Token == 0 || ci.Token != x.cli.Token() || ci.Flags != InfoFlagRemoteKeyReceived || !ci.CsumEnabled || !si.CsumEnabled {
		t.Errorf("client info %+v", ci)
	}
	if ci.Subflows != 2 || ci.SubflowsTotal != 3 || ci.SubflowsMax != DefaultMaxSubflows-1 || ci.LocalAddrUsed != 2 {
		t.Errorf("client subflows %d total %d max %d addrs %d", ci.Subflows, ci.SubflowsTotal, ci.SubflowsMax, ci.LocalAddrUsed)
	}
	if ci.BytesReceived != uint64(len(down)) || si.BytesReceived != uint64(len(up)) || si.BytesAcked != uint64(len(down)) {
		t.Errorf("bytes received %d/%d acked %d", ci.BytesReceived, si.BytesReceived, si.BytesAcked)
	}
	if ci.BytesSent < uint64(len(up)) || ci.SndUna != ci.WriteSeq || ci.WriteSeq-uint64(len(up)) != x.cli.localIDSN+1 {
		t.Errorf("sent %d, snd_una %d write_seq %d", ci.BytesSent, ci.SndUna, ci.WriteSeq)
	}
	if ci.ServerSide || !si.ServerSide {
		t.Error("ServerSide wrong")
	}
	if si.RcvNxt != ci.SndUna || ci.RcvNxt != si.SndUna || ci.LocalKey != si.RemoteKey || ci.RemoteKey != si.LocalKey {
		t.Error("the two sides disagree on sequence numbers or keys")
	}
	if ci.LastDataSent.IsZero() || ci.LastAckRecv.IsZero() || si.LastDataRecv.IsZero() {
		t.Error("last_* times not set")
	}
	var ids []uint8
	for _, s := range ci.Subflow {
		ids = append(ids, s.LocalID)
		if !s.FullyEstablished || s.TCP.State != tcp.StateEstablished || s.Initial == s.Join || !s.Active {
			t.Errorf("subflow %+v", s)
		}
	}
	if len(ids) != 3 || ids[0] != 0 || ids[1] == ids[2] || ids[1] == 0 {
		t.Errorf("local address IDs %v", ids)
	}
}

// TestListenerBacklogFull refuses SYNs beyond the backlog without keeping
// their tokens.
func TestListenerBacklogFull(t *testing.T) {
	l, err := NewListener(segConfig(1), serverAP.Port(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := tcp.ConnID{Local: cliID.Local, Remote: serverAP}
		id.Local = netipAddrPort(clientAddr[0], uint16(50000+i))
		c, err := Dial(t0, segConfig(uint64(10+i)), id)
		if err != nil {
			t.Fatal(err)
		}
		syn := one(t, c, t0)
		got, _, _ := l.Input(t0, swap(id), &syn)
		if (got != nil) != (i == 0) {
			t.Fatalf("SYN %d accepted=%v", i, got != nil)
		}
	}
	if n := l.Tokens().(*TokenTable).Len(); n != 1 {
		t.Fatalf("%d tokens held, want 1", n)
	}
}

func TestDSNArithmetic(t *testing.T) {
	tests := []struct {
		ref  uint64
		low  uint32
		want uint64
	}{
		{100, 150, 150},
		{0x1_0000_0010, 0x20, 0x1_0000_0020},
		{0x1_0000_0010, 0xffff_fff0, 0x0_ffff_fff0}, // just before: the lower 2^32 block
		{0x1_ffff_fff0, 0x10, 0x2_0000_0010},        // just after: the next block
		{^uint64(0) - 5, 3, 3},                      // across the 64-bit wrap
	}
	for _, tt := range tests {
		if got := expand32(tt.ref, tt.low); got != tt.want {
			t.Errorf("expand32(%#x, %#x) = %#x, want %#x", tt.ref, tt.low, got, tt.want)
		}
	}
	if !dsnLT(^uint64(0), 0) || dsnLT(0, ^uint64(0)) || dsnMax(^uint64(0), 1) != 1 || dsnMin(^uint64(0), 1) != ^uint64(0) {
		t.Error("DSN comparisons do not wrap")
	}
}
