package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestStaleSubflow cuts the path of the second of two subflows in the
// middle of a transfer. At its StaleLossCount-th retransmission timeout in
// a row (Linux's stale_loss_cnt) the subflow is stale: its unacknowledged
// data goes out on the first subflow at once and it gets no new data, so
// the transfer completes while it is still retrying; when the path comes
// back and it is acknowledged again, it recovers.
func TestStaleSubflow(t *testing.T) {
	tests := []struct {
		count int
		want  int // the timeout count at which it turns stale; 0: never
	}{
		{count: 0, want: DefaultStaleLossCount},
		{count: 1, want: 1},
		{count: 2, want: 2},
		{count: -1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d", tt.count), func(t *testing.T) {
			up := pattern(2<<20, 71)
			h := newHarness(t, 9, pathCfg{delay: 5 * time.Millisecond})
			cc, sc := testConfig(72, h.cli), testConfig(73, h.srv)
			for _, c := range []*Config{cc, sc} {
				c.Subflow.Retries = 12
				c.StaleLossCount = tt.count
			}
			h.listen(sc)
			x := &transfer{h: h, up: up, down: nil, joins: clientAddr[1:2], keepOpen: true}
			x.cli = h.dial(cc, clientAddr[0])
			cut, staleAt := false, 0
			var retransAtCut int64
			var cutAt time.Time
			app := func() {
				x.app()
				if !cut && len(x.gotUp) > 300<<10 && len(x.cli.Subflows()) == 2 && x.cli.Info().Subflow[1].FullyEstablished {
					cut = true
					h.path(clientAddr[1]).down = true
					retransAtCut, cutAt = x.cli.MIB().Get(MPTCPRetrans), h.now
				}
				if staleAt == 0 && x.cli.MIB().Get(SubflowStale) > 0 {
					sf := x.cli.subflows[1]
					staleAt = sf.tc.ConsecutiveRTOs()
					if !x.cli.Info().Subflow[1].Stale {
						t.Fatal("Info does not show the stale subflow")
					}
					if staleAt == 1 && h.now.Sub(cutAt) < minDataRTO && x.cli.MIB().Get(MPTCPRetrans) == retransAtCut && len(x.cli.reinj) == 0 {
						// Before any data-level timeout, only the
						// stale marking can have reinjected.
						t.Fatal("the stale subflow's data was not reinjected at once")
					}
				}
			}
			// Run until the cut subflow turned stale, or is deep
			// enough in its timeouts to have done so.
			h.run(10*time.Minute, app, func() bool {
				return len(x.gotUp) == len(up) && (staleAt != 0 || cut && x.cli.subflows[1].tc.ConsecutiveRTOs() >= 6)
			})
			if string(x.gotUp) != string(up) {
				t.Fatal("transfer corrupted")
			}
			if staleAt != tt.want {
				t.Fatalf("stale at timeout %d, want %d (0: never)", staleAt, tt.want)
			}
			if len(x.cli.Subflows()) != 2 {
				t.Fatal("the cut subflow died")
			}
			if tt.want == 0 {
				return
			}
			// The path comes back: the subflow is acknowledged again.
			h.path(clientAddr[1]).down = false
			h.run(10*time.Minute, app, func() bool { return x.cli.MIB().Get(SubflowRecover) > 0 })
			if x.cli.Info().Subflow[1].Stale {
				t.Fatal("still stale after its recovery")
			}
		})
	}
}

// TestStaleNeedsAnAlternative never marks the only working subflow stale:
// with both paths down, neither subflow is stale (Linux's rule: another
// subflow must be in good shape).
func TestStaleNeedsAnAlternative(t *testing.T) {
	h := newHarness(t, 9, pathCfg{delay: 5 * time.Millisecond})
	cc, sc := testConfig(74, h.cli), testConfig(75, h.srv)
	for _, c := range []*Config{cc, sc} {
		c.Subflow.Retries = 8
	}
	h.listen(sc)
	x := &transfer{h: h, up: pattern(1<<20, 76), joins: clientAddr[1:2], keepOpen: true}
	x.cli = h.dial(cc, clientAddr[0])
	cut := false
	app := func() {
		x.app()
		if !cut && len(x.gotUp) > 200<<10 && len(x.cli.Subflows()) == 2 && x.cli.Info().Subflow[1].FullyEstablished {
			cut = true
			h.path(clientAddr[0]).down = true
			h.path(clientAddr[1]).down = true
		}
	}
	h.run(10*time.Minute, app, func() bool {
		return cut && x.cli.subflows[0].tc.ConsecutiveRTOs() >= 6 && x.cli.subflows[1].tc.ConsecutiveRTOs() >= 6
	})
	if n := x.cli.MIB().Get(SubflowStale); n > 1 {
		t.Fatalf("%d subflows marked stale with no alternative", n)
	}
	stale := 0
	for _, s := range x.cli.Info().Subflow {
		if s.Stale {
			stale++
		}
	}
	if stale == 2 {
		t.Fatal("every subflow is stale")
	}
}

// TestResetReasons resets a subflow with each MP_TCPRST reason
// (RFC 8684 §3.6): the peer's subflow-closed event carries it, and the
// data goes on over the other subflow.
func TestResetReasons(t *testing.T) {
	reasons := []wire.TCPRSTReason{
		wire.TCPRSTUnspecified, wire.TCPRSTMPTCPError, wire.TCPRSTLackOfResources, wire.TCPRSTAdminProhibited,
		wire.TCPRSTTooMuchOutstandingData, wire.TCPRSTUnacceptablePerformance, wire.TCPRSTMiddleboxInterference,
	}
	for _, r := range reasons {
		t.Run(r.String(), func(t *testing.T) {
			h := newHarness(t, 3, pathCfg{delay: 3 * time.Millisecond})
			cc, sc := testConfig(77, h.cli), testConfig(78, h.srv)
			h.listen(sc)
			up := pattern(400<<10, 79)
			x := &transfer{h: h, up: up, joins: clientAddr[1:2], closeOnEOF: true}
			x.cli = h.dial(cc, clientAddr[0])
			done := false
			app := func() {
				x.app()
				if !done && len(x.gotUp) > 100<<10 && len(x.cli.Subflows()) == 2 && x.cli.Info().Subflow[1].FullyEstablished {
					if err := x.cli.ResetSubflow(h.now, x.cli.Subflows()[1], r); err != nil {
						t.Fatal(err)
					}
					done = true
				}
			}
			h.run(10*time.Minute, app, func() bool { return x.cliEOF && x.srvEOF })
			if string(x.gotUp) != string(up) {
				t.Fatal("transfer corrupted")
			}
			var got []Event
			for _, ev := range h.srvEvents {
				if ev.Kind == EventSubflowClosed {
					got = append(got, ev)
				}
			}
			if len(got) != 1 || !got[0].ResetSeen || got[0].Reason != r || got[0].Transient || got[0].RemoteID != 1 {
				t.Fatalf("server subflow-closed events %+v", got)
			}
		})
	}
}

// TestPassiveCoupledGroup checks that every subflow of a connection, on
// both sides and the joins included, is in that connection's congestion
// control group.
func TestPassiveCoupledGroup(t *testing.T) {
	h := newHarness(t, 3, pathCfg{delay: 3 * time.Millisecond})
	cc, sc := testConfig(81, h.cli), testConfig(82, h.srv)
	h.listen(sc)
	x := &transfer{h: h, up: pattern(200<<10, 83), down: pattern(200<<10, 84), joins: clientAddr[1:3], keepOpen: true}
	x.cli = h.dial(cc, clientAddr[0])
	h.run(time.Minute, x.app, func() bool {
		return x.srv != nil && len(x.srv.Subflows()) == 3 && len(x.gotUp) == 200<<10 && len(x.gotDown) == 200<<10
	})
	if n := x.cli.ccGroup.Len(); n != 3 {
		t.Fatalf("client group has %d subflows, want 3", n)
	}
	if n := x.srv.ccGroup.Len(); n != 3 {
		t.Fatalf("server group has %d subflows, want 3", n)
	}
	st := x.srv.ccGroup.Snapshot(nil)
	for _, s := range st {
		if !s.Established || s.Cwnd == 0 {
			t.Fatalf("server group member %+v", s)
		}
	}
	// Each connection has its own group.
	if x.srv.ccGroup == x.cli.ccGroup {
		t.Fatal("the two ends share a group")
	}
	_ = tcp.ConnID{}
}
