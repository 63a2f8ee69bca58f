package pathmgr_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/pathmgr"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// attempt is one AddSubflow of a path manager.
type attempt struct {
	at            time.Time
	local, remote netip.AddrPort
	err           error
}

// recorder runs a path manager with a Controller that records its
// AddSubflow calls.
type recorder struct {
	pm       stack.PathManager
	attempts []attempt
}

func (r *recorder) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	r.pm.HandleEvent(now, recCtl{c.(stack.TimerController), r}, ev)
}

type recCtl struct {
	stack.TimerController
	r *recorder
}

func (c recCtl) AddSubflow(now time.Time, local, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	id, err := c.TimerController.AddSubflow(now, local, remote, backup)
	c.r.attempts = append(c.r.attempts, attempt{at: now, local: local, remote: remote, err: err})
	return id, err
}

// TestFullmeshLinkDown: the server announces its second address; the
// client's Fullmesh meshes both of its addresses with both of the
// server's. The second link goes down in the middle of a transfer: the
// two subflows to the server's second address die, each pair is tried
// again 1, 2, 4 s after each failure (no route while the link is down),
// and both are opened again the moment the link is up, and carry data.
func TestFullmeshLinkDown(t *testing.T) {
	rec := &recorder{pm: &pathmgr.Fullmesh{}}
	signal := stack.NewKernelPM([]stack.PMEndpoint{{ID: 1, Addr: netip.MustParseAddr("10.0.2.2"), Flags: stack.EndpointSignal}}, stack.PMLimits{})
	var evs []stack.PMEvent
	w := newNet2With(t, net2Config{clientPM: rec, serverPM: signal,
		link:          &impair.Config{Rate: 1e6, Delay: 5 * time.Millisecond, QueuePackets: 20},
		subflow:       tcp.Config{Retries: 3},
		onClientEvent: func(_ time.Time, ev stack.PMEvent) { evs = append(evs, ev) }})
	n, sts, links := w.n, [2]*stack.Stack{w.client, w.server}, w.links
	buf := make([]byte, 32<<10)
	var cli *stack.MPConn
	n.At(n.Now(), func(now time.Time) {
		if _, err := sts[1].ListenMPTCP(now, netip.MustParseAddrPort("0.0.0.0:80"), &stack.MPListenOptions{
			OnAccept: func(time.Time, *stack.MPListener) {},
			OnEvent: func(now time.Time, c *stack.MPConn, _ meta.Event) {
				for k, _ := c.Read(now, buf); k > 0; k, _ = c.Read(now, buf) {
				}
			},
		}); err != nil {
			t.Fatal(err)
		}
		var err error
		cli, err = sts[0].DialMPTCP(now, netip.MustParseAddrPort("10.0.1.2:80"), &stack.MPDialOptions{
			OnEvent: func(now time.Time, c *stack.MPConn, _ meta.Event) {
				for c.WriteSpace() > 0 {
					if k, _ := c.Write(now, buf); k == 0 {
						return
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	n.RunFor(2 * time.Second)
	down := n.Now()
	n.At(down, func(time.Time) { links[1].SetUp(false) })
	up := down.Add(20 * time.Second)
	n.RunUntil(up)
	n.At(up, func(time.Time) { links[1].SetUp(true) })
	n.RunFor(3 * time.Second)

	srv2 := netip.MustParseAddr("10.0.2.2")
	for _, local := range []string{"10.0.1.1", "10.0.2.1"} {
		l := netip.MustParseAddr(local)
		var failed time.Time
		est := 0
		for _, ev := range evs {
			if ev.Local.Addr() != l || ev.Remote.Addr() != srv2 {
				continue
			}
			switch ev.Type {
			case stack.PMEventSubflowEstablished:
				est++
			case stack.PMEventSubflowClosed:
				if !stack.SubflowFailed(ev) || !failed.IsZero() {
					t.Fatalf("%s: close %v", local, ev)
				}
				failed = ev.Time
			}
		}
		if failed.IsZero() || est != 2 {
			t.Fatalf("%s to %v: failed at %v, %d subflows established, want a failure and 2", local, srv2, failed, est)
		}
		var got []time.Time
		for _, a := range rec.attempts {
			if a.local.Addr() == l && a.remote.Addr() == srv2 && a.at.After(failed) {
				if a.at.Before(up) && !errors.Is(a.err, stack.ErrNoRoute) || a.at.Equal(up) && a.err != nil {
					t.Errorf("%s: attempt at %v: %v", local, a.at.Sub(failed), a.err)
				}
				got = append(got, a.at)
			}
		}
		var want []time.Time
		at := failed
		for k := 1; ; k++ {
			d, _ := stack.DefaultPMBackoff.Delay(k)
			if at = at.Add(d); !at.Before(up) {
				break
			}
			want = append(want, at)
		}
		want = append(want, up)
		if len(want) < 4 || len(got) != len(want) {
			t.Fatalf("%s: attempts at %v after the failure at %v, want %v", local, got, failed, want)
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Errorf("%s: attempt %d at +%v, want +%v", local, i+1, got[i].Sub(failed), want[i].Sub(failed))
			}
		}
	}
	for _, sf := range cli.Info().Subflow {
		if sf.ID.Remote.Addr() == srv2 && sf.TCP.BytesAcked < 50<<10 {
			t.Errorf("subflow %v opened again carried %d bytes", sf.ID, sf.TCP.BytesAcked)
		}
	}
}
