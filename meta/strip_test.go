package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// stripper is a middlebox that removes every MPTCP option from data
// segments in one direction, on the paths of the given client addresses,
// once active.
type stripper struct {
	up       bool // client to server
	onlyAddr int  // index into clientAddr, -1 for every path
	active   bool
	stripped int
}

func (s *stripper) mutate(f *flight) bool {
	if !s.active || f.toSrv != s.up || len(f.seg.Payload) == 0 || f.seg.Options.NumMPTCP == 0 {
		return true
	}
	a := f.from.Local.Addr()
	if !f.toSrv {
		a = f.from.Remote.Addr()
	}
	if s.onlyAddr >= 0 && a != clientAddr[s.onlyAddr] {
		return true
	}
	f.seg.Options.NumMPTCP = 0
	s.stripped++
	return true
}

// TestFallbackAfterHandshake has a middlebox strip the MPTCP options from
// the data segments of one direction in the middle of a single-subflow
// transfer (Linux's "MPTCP option dropped on data" case, RFC 8684 §3.7).
// The receiver finds data without a mapping and falls back; the sender
// sees its data acknowledged without options and falls back too; not a
// byte is lost or repeated, and the connection closes in order.
func TestFallbackAfterHandshake(t *testing.T) {
	up, down := pattern(500<<10, 61), pattern(400<<10, 62)
	for _, dir := range []string{"up", "down"} {
		for _, csum := range []bool{false, true} {
			for seed := uint64(1); seed <= 3; seed++ {
				t.Run(fmt.Sprintf("%s/csum=%v/%d", dir, csum, seed), func(t *testing.T) {
					h := newHarness(t, seed, pathCfg{delay: 5 * time.Millisecond, jitter: time.Millisecond, loss: 0.005})
					s := &stripper{up: dir == "up", onlyAddr: -1}
					h.mutate = s.mutate
					var rsts int
					h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
						if seg.Flags&tcp.FlagRST != 0 {
							rsts++
						}
					}
					cc, sc := testConfig(seed, h.cli), testConfig(seed+70, h.srv)
					cc.Checksum = csum
					h.listen(sc)
					x := &transfer{h: h, up: up, down: down, closeOnEOF: true}
					x.cli = h.dial(cc, clientAddr[0])
					app := func() {
						x.app()
						if !s.active && len(x.gotUp) > 150<<10 && len(x.gotDown) > 100<<10 {
							s.active = true
						}
					}
					h.run(10*time.Minute, app, func() bool { return x.cliEOF && x.srvEOF })
					if s.stripped == 0 {
						t.Fatal("nothing was stripped")
					}
					if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
						t.Fatalf("transfer corrupted: %d/%d up (first diff %d), %d/%d down (first diff %d)",
							len(x.gotUp), len(up), firstDiff(x.gotUp, up), len(x.gotDown), len(down), firstDiff(x.gotDown, down))
					}
					if !x.cli.Fallback() || !x.srv.Fallback() {
						t.Fatalf("fallback: client %v server %v", x.cli.Fallback(), x.srv.Fallback())
					}
					rx := x.srv
					if dir == "down" {
						rx = x.cli
					}
					if rx.MIB().Get(DssFallback) != 1 {
						t.Fatalf("receiver DssFallback = %d", rx.MIB().Get(DssFallback))
					}
					if rsts != 0 {
						t.Fatalf("%d RSTs", rsts)
					}
					h.run(10*time.Minute, app, func() bool { return x.cli.Closed() && x.srv.Closed() })
					if x.cli.Err() != nil || x.srv.Err() != nil {
						t.Fatalf("errors after the orderly close: %v / %v", x.cli.Err(), x.srv.Err())
					}
				})
			}
		}
	}
}

// TestStrippedSubflowReset strips the MPTCP options from the data of the
// second of two subflows: the connection cannot fall back, so the receiver
// resets that subflow with MP_TCPRST "middlebox interference", as Linux
// does, the sender sees the reason in its subflow-closed event and sends
// the data again on the first subflow.
func TestStrippedSubflowReset(t *testing.T) {
	up, down := pattern(600<<10, 63), pattern(100<<10, 64)
	h := newHarness(t, 2, pathCfg{delay: 4 * time.Millisecond})
	s := &stripper{up: true, onlyAddr: 1}
	h.mutate = s.mutate
	cc, sc := testConfig(65, h.cli), testConfig(66, h.srv)
	h.listen(sc)
	x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:2], closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	app := func() {
		x.app()
		if !s.active && len(x.gotUp) > 100<<10 && len(x.cli.Subflows()) == 2 {
			s.active = true
		}
	}
	h.run(10*time.Minute, app, func() bool { return x.cliEOF && x.srvEOF })
	if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
		t.Fatal("transfer corrupted")
	}
	if s.stripped == 0 || x.cli.Fallback() || x.srv.Fallback() {
		t.Fatalf("%d stripped, fallback %v/%v", s.stripped, x.cli.Fallback(), x.srv.Fallback())
	}
	var closed []Event
	for _, ev := range h.cliEvents {
		if ev.Kind == EventSubflowClosed {
			closed = append(closed, ev)
		}
	}
	if len(closed) != 1 || closed[0].ID.Local.Addr() != clientAddr[1] || !closed[0].ResetSeen ||
		closed[0].Reason != wire.TCPRSTMiddleboxInterference || closed[0].LocalID != 1 {
		t.Fatalf("subflow-closed events %+v", closed)
	}
	if x.srv.MIB().Get(MPRstTx) != 1 || x.cli.MIB().Get(MPRstRx) != 1 || x.cli.MIB().Get(MPTCPRetrans) == 0 {
		t.Fatalf("MPRstTx %d MPRstRx %d MPTCPRetrans %d", x.srv.MIB().Get(MPRstTx), x.cli.MIB().Get(MPRstRx), x.cli.MIB().Get(MPTCPRetrans))
	}
}

// TestSYNBlackhole drops every SYN that carries an MPTCP option, as some
// firewalls do: after Config.SYNRetransBeforeFallback retransmissions
// (Linux's syn_retrans_before_tcp_fallback, 2) the SYN goes out without
// MP_CAPABLE and the connection runs as plain TCP.
func TestSYNBlackhole(t *testing.T) {
	up, down := pattern(100<<10, 67), pattern(50<<10, 68)
	tests := []struct {
		name    string
		retrans int
		wantMPC int           // SYNs with MP_CAPABLE
		wantAt  time.Duration // when the plain SYN goes out; 0: never
	}{
		{name: "default", wantMPC: 3, wantAt: 7 * time.Second},
		{name: "one", retrans: 1, wantMPC: 2, wantAt: 3 * time.Second},
		{name: "never", retrans: -1, wantMPC: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 1, pathCfg{delay: 5 * time.Millisecond})
			var mpcSYNs int
			var plainAt time.Duration
			h.mutate = func(f *flight) bool {
				if !f.toSrv || f.seg.Flags&tcp.FlagSYN == 0 {
					return true
				}
				if f.seg.Options.NumMPTCP > 0 {
					mpcSYNs++
					return false // the blackhole
				}
				if plainAt == 0 {
					plainAt = h.now.Sub(t0)
				}
				return true
			}
			cc, sc := testConfig(69, h.cli), testConfig(70, h.srv)
			cc.SYNRetransBeforeFallback = tt.retrans
			cc.Subflow.SynRetries = 3
			h.listen(sc)
			x := &transfer{h: h, up: up, down: down, closeOnEOF: true}
			x.cli = h.dial(cc, clientAddr[0])
			if tt.wantAt == 0 {
				h.run(time.Minute, x.app, func() bool { return x.cli.Closed() })
				if mpcSYNs != tt.wantMPC || plainAt != 0 || x.cli.Err() == nil || x.cli.MIB().Get(MPCapableSYNTXDrop) != 0 {
					t.Fatalf("%d MP_CAPABLE SYNs, plain SYN at %v, error %v", mpcSYNs, plainAt, x.cli.Err())
				}
				return
			}
			h.run(5*time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
			if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
				t.Fatal("transfer corrupted")
			}
			if mpcSYNs != tt.wantMPC || plainAt != tt.wantAt {
				t.Fatalf("%d MP_CAPABLE SYNs, plain SYN at %v; want %d, %v", mpcSYNs, plainAt, tt.wantMPC, tt.wantAt)
			}
			m := x.cli.MIB()
			if !x.cli.Fallback() || m.Get(MPCapableSYNTXDrop) != 1 || m.Get(Blackhole) != 1 || x.cli.Token() != 0 {
				t.Fatalf("fallback %v, MPCapableSYNTXDrop %d, Blackhole %d, token %d", x.cli.Fallback(), m.Get(MPCapableSYNTXDrop), m.Get(Blackhole), x.cli.Token())
			}
			if x.srv.Fallback() != true || x.srv.MIB().Get(MPCapableSYNRX) != 0 {
				t.Fatal("the server saw MPTCP")
			}
			fb := 0
			for _, ev := range h.cliEvents {
				if ev.Kind == EventFallback {
					fb++
				}
			}
			if fb != 1 {
				t.Fatalf("%d fallback events", fb)
			}
		})
	}
}
