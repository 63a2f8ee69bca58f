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
// super-packets, with one subflow and with two, each subflow's first
// segment of a size alone (segNIC fails the test otherwise; stack/gso.go
// says why). The client's eth0 is a segNIC; its subflow endpoint 10.0.2.1
// (on eth1) opens the second subflow to the server's initial address,
// which is routed through eth0.
func TestSegmentOffloaderMPTCP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		join     bool
		link     impair.Config
		min, max int // segments in the largest super-packet
	}{
		// A fast short path: super-packets of 8 segments and more.
		{"OneSubflow", false, impair.Config{Rate: 200e6, Delay: 100 * time.Microsecond, QueuePackets: 200}, 8, 45},
		{"Join", true, impair.Config{Rate: 200e6, Delay: 100 * time.Microsecond, QueuePackets: 200}, 8, 45},
		// 20 Mbit/s and 10 ms: about 1 ms of data at the pacing rate
		// (tcp.Conn.TSOSegs), a few segments.
		{"Slow", true, impair.Config{Rate: 20e6, Delay: 5 * time.Millisecond, QueuePackets: 30}, 2, 6},
	} {
		join := tc.join
		t.Run(tc.name, func(t *testing.T) {
			n := sim.New(sim.Config{Seed: 5})
			a, b := addNode(t, n, "a", 1, tcp.Config{}), addNode(t, n, "b", 2, tcp.Config{})
			nic := &segNIC{Interface: a.host.AddInterface("eth0", pfx("10.0.1.1/24")), tb: t, net: n, max: 65535}
			if err := a.st.AddNIC(nic); err != nil {
				t.Fatal(err)
			}
			lc := sim.Symmetric(tc.link)
			connect(t, n, nic.Interface, b.addNIC(t, "eth0", pfx("10.0.1.2/24")), lc)
			// The second path only takes the server's packets to 10.0.2.1:
			// the client has no route to 10.0.1.0/24 through it.
			connect(t, n, a.addNIC(t, "eth1", pfx("10.0.2.1/24")), b.addNIC(t, "eth1", pfx("10.0.2.2/24")), lc)
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
			if nic.packets == 0 || nic.mostSeg < tc.min || nic.mostSeg > tc.max {
				t.Fatalf("%d super-packets, the largest of %d segments; want the largest of %d to %d", nic.packets, nic.mostSeg, tc.min, tc.max)
			}
			if join && nic.gsoFrom[addr("10.0.2.1")] == 0 {
				t.Fatalf("super-packets by source %v; want some on the joined subflow", nic.gsoFrom)
			}
			t.Logf("super-packets by source %v, %d segments in all; the largest sent alone by 4-tuple %v", nic.gsoFrom, nic.segs, nic.solo)
		})
	}
}
