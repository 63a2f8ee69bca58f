//go:build linux

package interop

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/stack"
)

// ourMPStats reads our stack's port counters.
func ourMPStats(t *testing.T, tp *Topology) stack.MPStats {
	t.Helper()
	var s stack.MPStats
	if err := tp.Stack.Host().Do(func(_ time.Time, st *stack.Stack) { s = st.MPStats() }); err != nil {
		t.Fatalf("reading our MPTCP stats: %v", err)
	}
	return s
}

// TestPortWeAnnounce: our "signal" endpoint has a port, so we announce
// our address on the second path with that port (ADD_ADDR with a port,
// RFC 8684 §3.4.1), and, as Linux does for such an endpoint, our stack
// accepts the kernel's MP_JOIN there with no listener of the application
// on that port. The kernel counts the join's SYN/ACK from a port other
// than the connection's (MPJoinPortSynAckRx), our stack the join SYN
// (MPJoinPortSynRx), and the subflow carries data.
func TestPortWeAnnounce(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		s := spec{linuxDials: linuxDials, paths: 2, up: scaled(2 << 20), down: scaled(2 << 20),
			subflows: 2, impair: paced(2), peerHold: 200 * time.Millisecond}
		_, a := PathAddrs(1, false)
		s.ours.Endpoints = []mptcp.Endpoint{{Addr: a, Port: joinPort, Flags: mptcp.FlagSignal}}
		o := run(t, s)
		o.checkMPTCP(t, 2, false)
		o.checkJoins(1, false)
		o.wantCounters(map[string]int64{"AddAddrTx": 1, "EchoAdd": 1, "PortAdd": 1},
			map[string]uint64{"AddAddr": 1, "EchoAddTx": 1, "PortAdd": 1, "MPJoinPortSynAckRx": 1, "MismatchPortSynRx": 0})
		if st := ourMPStats(t, o.tp); st != (stack.MPStats{JoinPortSynRx: 1}) {
			t.Errorf("our port counters %+v, want one join SYN on the port", st)
		}
		sf, ok := o.subflowOn(o.settled, 1) // every subflow seen: the peer may have closed it by the end
		if !ok || !sf.Join || sf.ID.Local != netip.AddrPortFrom(o.tp.Ours[1], joinPort) {
			t.Errorf("no join to our announced %v port %d: %s", o.tp.Ours[1], joinPort, infoSummary(o.settled))
		}
		o.checkAllSubflowsCarried(32 << 10)
		o.wantOptions(map[string]int{"ADD_ADDR": 2, "MP_JOIN": 3})
	})
}

// TestPortLinuxAnnounces: the kernel's "signal" endpoint has a port: it
// announces its address on the second path with that port and listens
// there; our KernelPM joins that address and port, whichever side
// dialled, and the subflow carries data. The kernel counts the join SYN
// and third ACK on its port (MPJoinPortSynRx, MPJoinPortAckRx), our
// stack the join's completion (JoinPortSynAckRx).
func TestPortLinuxAnnounces(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		s := spec{linuxDials: linuxDials, paths: 2, up: scaled(2 << 20), down: scaled(2 << 20),
			subflows: 2, impair: paced(2), peerHold: 200 * time.Millisecond}
		s.endpoints = []KernelEndpoint{{Path: 1, Flags: []string{"port", fmt.Sprint(joinPort), "signal"}}}
		s.ours.Limits = &mptcp.Limits{Subflows: 2, AddAddrAccepted: 1}
		o := run(t, s)
		o.checkMPTCP(t, 2, false)
		o.checkJoins(1, true)
		o.wantCounters(map[string]int64{"AddAddr": 1, "EchoAddTx": 1, "PortAdd": 1},
			map[string]uint64{"AddAddrTx": 1, "EchoAdd": 1, "MPJoinPortSynRx": 1, "MPJoinPortAckRx": 1, "MismatchPortSynRx": 0})
		if st := ourMPStats(t, o.tp); st != (stack.MPStats{JoinPortSynAckRx: 1}) {
			t.Errorf("our port counters %+v, want one join completed to the kernel's port", st)
		}
		sf, ok := o.subflowOn(o.settled, 1) // every subflow seen: the peer may have closed it by the end
		if !ok || !sf.Join || sf.ID.Remote != netip.AddrPortFrom(o.tp.Kernel[1], joinPort) {
			t.Errorf("no join to the kernel's announced %v port %d: %s", o.tp.Kernel[1], joinPort, infoSummary(o.settled))
		}
		o.checkAllSubflowsCarried(32 << 10)
		o.wantOptions(map[string]int{"ADD_ADDR": 2, "MP_JOIN": 3})
	})
}

// TestPortRefusesNonJoin: on the address and port we announced, our stack
// takes MP_JOIN only, as Linux takes only joins on the listener of an
// endpoint with a port: while the kernel's join there from the live
// connection succeeds, a kernel connection that dials it, with MPTCP or
// plain TCP, is refused (RST with MP_TCPRST "administratively
// prohibited", counted as MPCapableEndpAttempt). Once we withdraw the
// address (REMOVE_ADDR), nothing listens there any more, and the
// transfer completes over the first path.
func TestPortRefusesNonJoin(t *testing.T) {
	t.Parallel()
	tp := New(t, Options{Paths: 2})
	linuxpeer(t)
	const size = 256 << 10
	po := PeerOptions{Listen: true, Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), port).String(),
		SendBytes: size, Seed: 1, ExpectBytes: size, PeerSeed: 2, Hold: 200 * time.Millisecond}
	peer := tp.StartPeer(t, po)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tp.Stack.DialContext(ctx, "tcp", tp.ListenAddr(0, port).String())
	if err != nil {
		t.Fatalf("dial: %v\nlinuxpeer: %s", err, peer.Stderr())
	}
	mc := c.(*mptcp.Conn)
	ann := netip.AddrPortFrom(tp.Ours[1], joinPort)
	// refused dials ann from the kernel and checks that the dial fails
	// and that our refusals of SYNs without MP_JOIN rose by want.
	refused := func(plain bool, want uint64) {
		before := ourMPStats(t, tp).EndpAttempt
		p := tp.StartPeer(t, PeerOptions{Addr: ann.String(), SendBytes: 10, ExpectBytes: -1, PlainTCP: plain, Timeout: 5 * time.Second})
		if _, err := p.Wait(t, 10*time.Second); err == nil || !strings.Contains(p.Stderr(), "refused") {
			t.Errorf("a kernel connection (plain TCP %v) to our announced %v: %v, want it refused", plain, ann, err)
		}
		if got := ourMPStats(t, tp).EndpAttempt - before; got != want {
			t.Errorf("a kernel connection (plain TCP %v) to our announced %v: %d SYNs refused as no join, want %d", plain, ann, got, want)
		}
	}
	so := SessionOptions{SendBytes: size, Seed: 2, ExpectBytes: size, PeerSeed: 1}
	so.BeforeSend = func() {
		// Announce needs the connection fully established (RFC 8684
		// §3.1): the kernel's first DATA_ACK, which its data brings.
		deadline := time.Now().Add(5 * time.Second)
		var id uint8
		for {
			var err error
			if id, err = mc.Announce(ann); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("announcing %v: %v", ann, err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		for ourMPStats(t, tp).JoinPortSynRx == 0 {
			if time.Now().After(deadline) {
				t.Errorf("the kernel did not join %v: %+v", ann, ourMPStats(t, tp))
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Go's dialer (linuxpeer's) retries as plain TCP after any
		// failure of an MPTCP dial: the MP_CAPABLE SYN, then a plain
		// one.
		refused(false, 2)
		refused(true, 1)
		if st := ourMPStats(t, tp); st != (stack.MPStats{JoinPortSynRx: 1, EndpAttempt: 3}) {
			t.Errorf("our port counters %+v, want the kernel's join and 3 SYNs without MP_JOIN refused", st)
		}
		if err := mc.RemoveAddr(id); err != nil {
			t.Errorf("RemoveAddr(%d): %v", id, err)
			return
		}
		// Answered as for a closed port: no refusal of ours.
		refused(true, 0)
	}
	r := RunSession(c, so)
	if err := r.Verify(&so); err != nil {
		t.Errorf("our session: %v", err)
	}
	sum, err := peer.Wait(t, 15*time.Second)
	if err != nil {
		t.Errorf("kernel side: %v", err)
	}
	if sum == nil || sum.BytesReceived != size || sum.SHA256Received != r.SHA256Sent {
		t.Errorf("kernel side summary %+v, want our %d bytes (%s)", sum, size, r.SHA256Sent)
	}
}
