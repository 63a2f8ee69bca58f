package stack_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// TestSegmentOffloaderMPTCP: an MPTCP connection's segments go out as
// super-packets while it has one subflow; once a second subflow is
// bound, none do, on either subflow (stack/gso.go says why). The client's
// one interface is a segNIC; its subflow endpoint 10.0.2.1 opens the
// second subflow to the server's initial address, through that
// interface.
func TestSegmentOffloaderMPTCP(t *testing.T) {
	for _, join := range []bool{false, true} {
		name := "OneSubflow"
		if join {
			name = "Join"
		}
		t.Run(name, func(t *testing.T) {
			n := sim.New(sim.Config{Seed: 5})
			t0 := n.Now()
			a, b := addNode(t, n, "a", 1, tcp.Config{}), addNode(t, n, "b", 2, tcp.Config{})
			nic := &segNIC{Interface: a.host.AddInterface("eth0", pfx("10.0.1.1/24"), pfx("10.0.2.1/24")), tb: t, net: n, max: 65535}
			if err := a.st.AddNIC(nic); err != nil {
				t.Fatal(err)
			}
			ib := b.addNIC(t, "eth0", pfx("10.0.1.2/24"))
			connect(t, n, nic.Interface, ib, sim.Symmetric(impair.Config{Rate: 200e6, Delay: time.Millisecond, QueuePackets: 200}))
			var pm stack.PathManager
			if join {
				pm = stack.NewKernelPM([]stack.PMEndpoint{{ID: 1, Addr: addr("10.0.2.1"), Flags: stack.EndpointSubflow}}, stack.PMLimits{Subflows: 2})
			}
			enableMPTCP(t, a.st, 1, pm, nil)
			enableMPTCP(t, b.st, 2, nil, nil)

			want := make([]byte, 3<<20)
			rand.NewChaCha8([32]byte{7}).Read(want)
			bt := startBulk(t, n, a, b, ap("10.0.1.2:80"), want)
			n.RunFor(5 * time.Second)
			if !bytes.Equal(bt.got, want) {
				t.Fatalf("server read %d bytes, want the %d sent", len(bt.got), len(want))
			}
			subflows := 1
			if join {
				subflows = 2
			}
			if k := bt.cli.Info().SubflowsTotal; k != subflows {
				t.Fatalf("%d subflows, want %d", k, subflows)
			}
			if !join {
				if nic.packets == 0 || nic.mostSeg < 8 {
					t.Fatalf("%d super-packets, the largest of %d segments; want some of 8 or more", nic.packets, nic.mostSeg)
				}
				return
			}
			joinAt, ok := nic.first[addr("10.0.2.1")]
			if !ok {
				t.Fatal("no packet from the subflow endpoint")
			}
			for _, g := range nic.gso {
				if g.src == addr("10.0.2.1") || !g.at.Before(joinAt) {
					t.Fatalf("a super-packet from %v at %v; the join's SYN left at %v", g.src, g.at.Sub(t0), joinAt.Sub(t0))
				}
			}
			t.Logf("%d super-packets before the join's SYN at %v, none after", nic.packets, joinAt.Sub(t0))
		})
	}
}
