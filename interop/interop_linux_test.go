package interop

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/trace"
)

// scaled returns n bytes, a quarter of it under the race detector (which
// slows our stack about tenfold).
func scaled(n int64) int64 {
	if raceDetector {
		return n / 4
	}
	return n
}

// pathRate is the rate of a paced path, each way: slower than either
// stack, so that each side's scheduler finds every subflow busy and uses
// them all, and a transfer lasts long enough to act in its middle.
const pathRate = 100_000_000

// pacedQueue is the queue of a paced path, in packets: deep enough (about
// 240 ms at pathRate) that it drops nothing, since the options a test
// looks for may ride on any packet and some are sent once only
// (REMOVE_ADDR has no echo, RFC 8684 §3.4.2; nor has MP_PRIO, §3.3.8).
const pacedQueue = 2000

// paced returns one impairment per path: pathRate behind pacedQueue.
func paced(paths int) []impair.Config {
	cfgs := make([]impair.Config, paths)
	for k := range cfgs {
		cfgs[k] = impair.Config{Rate: pathRate, QueuePackets: pacedQueue, Seed: uint64(10 * (k + 1))}
	}
	return cfgs
}

// subflowEndpoints returns our "subflow" endpoints on paths 1 to n-1, or
// the kernel's when kernel is set.
func subflowEndpoints(n int, ipv6, kernel bool) ([]mptcp.Endpoint, []KernelEndpoint) {
	var ours []mptcp.Endpoint
	var kern []KernelEndpoint
	for k := 1; k < n; k++ {
		if kernel {
			kern = append(kern, KernelEndpoint{Path: k, Flags: []string{"subflow"}})
			continue
		}
		_, a := PathAddrs(k, ipv6)
		ours = append(ours, mptcp.Endpoint{Addr: a, Flags: mptcp.FlagSubflow})
	}
	return ours, kern
}

// TestHandshake: an MPTCP connection in each direction, one subflow,
// 256 KiB each way.
func TestHandshake(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		o := run(t, spec{linuxDials: linuxDials, paths: 1, up: 256 << 10, down: 256 << 10})
		o.checkMPTCP(t, 1, false)
		o.checkHandshakeMIBs(linuxDials)
		o.checkJoins(0, true)
		o.wantOptions(map[string]int{"MP_CAPABLE": 3, "DSS": 10})
	})
}

// TestSubflows: 2 and 4 subflows, the extra ones opened with MP_JOIN
// (RFC 8684 §3.2) from "subflow" endpoints by the side that dialled (ours
// towards the kernel's listener, the kernel's towards ours), each over its
// own path; every subflow carries data.
func TestSubflows(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			bothWays(t, func(t *testing.T, linuxDials bool) {
				s := spec{linuxDials: linuxDials, paths: n, up: scaled(4 << 20), down: scaled(4 << 20),
					subflows: n, impair: paced(n), peerHold: 200 * time.Millisecond}
				s.ours.Endpoints, s.endpoints = subflowEndpoints(n, false, linuxDials)
				s.ours.Limits = &mptcp.Limits{Subflows: 8}
				o := run(t, s)
				o.checkMPTCP(t, n, false)
				o.checkHandshakeMIBs(linuxDials)
				o.checkJoins(n-1, !linuxDials)
				o.checkAllSubflowsCarried(32 << 10)
				o.wantOptions(map[string]int{"MP_JOIN": 3 * (n - 1)})
			})
		})
	}
}

// TestLinuxAnnounces: the kernel announces its address on the second path
// with ADD_ADDR (a "signal" endpoint, RFC 8684 §3.4.1), we echo it and
// join it. As the side that dialled, the kernel announces it with a port
// ("signal" endpoint with a port, for which it opens a listener): a join
// cannot reach its ephemeral port.
func TestLinuxAnnounces(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		s := spec{linuxDials: linuxDials, paths: 2, up: scaled(2 << 20), down: scaled(2 << 20),
			subflows: 2, impair: paced(2), peerHold: 200 * time.Millisecond}
		s.endpoints = []KernelEndpoint{{Path: 1, Flags: []string{"signal"}}}
		if linuxDials {
			s.endpoints[0].Flags = []string{"port", fmt.Sprint(joinPort), "signal"}
		}
		s.ours.Limits = &mptcp.Limits{Subflows: 2, AddAddrAccepted: 1}
		o := run(t, s)
		o.checkMPTCP(t, 2, false)
		o.checkJoins(1, true)
		o.wantCounters(map[string]int64{"AddAddr": 1, "EchoAddTx": 1}, map[string]uint64{"AddAddrTx": 1, "EchoAdd": 1})
		if linuxDials {
			o.wantCounters(map[string]int64{"PortAdd": 1}, map[string]uint64{"MPJoinPortSynRx": 1, "MPJoinPortAckRx": 1})
		}
		sf, ok := o.subflowOn(o.settled, 1) // every subflow seen: the peer may have closed it by the end
		wantPort := uint16(port)
		if linuxDials {
			wantPort = joinPort
		}
		if !ok || !sf.Join || sf.ID.Remote != netip.AddrPortFrom(o.tp.Kernel[1], wantPort) {
			t.Errorf("no join to the announced %v port %d: %s", o.tp.Kernel[1], wantPort, infoSummary(o.settled))
		}
		o.checkAllSubflowsCarried(32 << 10)
		o.wantOptions(map[string]int{"ADD_ADDR": 2})
	})
}

// TestWeAnnounce: we announce our address on the second path with
// ADD_ADDR, the kernel echoes it and joins it. As the side that dialled,
// we announce it with a port and listen there.
func TestWeAnnounce(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		s := spec{linuxDials: linuxDials, paths: 2, up: scaled(6 << 20), down: scaled(6 << 20),
			subflows: 2, impair: paced(2), peerHold: 200 * time.Millisecond}
		_, a := PathAddrs(1, false)
		s.ours.Endpoints = []mptcp.Endpoint{{Addr: a, Flags: mptcp.FlagSignal}}
		if !linuxDials {
			// The stack listens there for joins itself, as Linux
			// does for a "signal" endpoint with a port.
			s.ours.Endpoints[0].Port = joinPort
		}
		o := run(t, s)
		o.checkMPTCP(t, 2, false)
		o.checkJoins(1, false)
		o.wantCounters(map[string]int64{"AddAddrTx": 1, "EchoAdd": 1}, map[string]uint64{"AddAddr": 1, "EchoAddTx": 1})
		wantPort := uint16(port)
		if !linuxDials {
			o.wantKernel(map[string]uint64{"PortAdd": 1, "MPJoinPortSynAckRx": 1})
			wantPort = joinPort
		}
		sf, ok := o.subflowOn(o.settled, 1) // every subflow seen: the peer may have closed it by the end
		if !ok || !sf.Join || sf.ID.Local != netip.AddrPortFrom(o.tp.Ours[1], wantPort) {
			t.Errorf("no join to our announced %v port %d: %s", o.tp.Ours[1], wantPort, infoSummary(o.settled))
		}
		o.checkAllSubflowsCarried(32 << 10)
		o.wantOptions(map[string]int{"ADD_ADDR": 2})
	})
}

// TestRemoveAddr: in the middle of a transfer over two subflows, one side
// withdraws the address of the second path with REMOVE_ADDR (RFC 8684
// §3.4.2; the kernel when its endpoint is deleted): its subflow closes on
// both sides and the transfer completes over the first.
func TestRemoveAddr(t *testing.T) {
	t.Parallel()
	for _, who := range []string{"WeRemove", "LinuxRemoves"} {
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			bothWays(t, func(t *testing.T, linuxDials bool) {
				// Enough data that some still moves once the removal
				// took effect, however long the kernel's "ip mptcp
				// endpoint delete" takes on a loaded machine.
				s := spec{linuxDials: linuxDials, paths: 2, up: scaled(6 << 20), down: scaled(12 << 20),
					subflows: 2, impair: paced(2), peerHold: 500 * time.Millisecond}
				_, a := PathAddrs(1, false)
				switch {
				case who == "WeRemove" && !linuxDials:
					s.ours.Endpoints = []mptcp.Endpoint{{ID: 1, Addr: a, Flags: mptcp.FlagSubflow}}
				case who == "WeRemove":
					s.ours.Endpoints = []mptcp.Endpoint{{ID: 1, Addr: a, Flags: mptcp.FlagSignal}}
				case !linuxDials:
					s.endpoints = []KernelEndpoint{{Path: 1, Flags: []string{"id", "1", "signal"}}}
					s.ours.Limits = &mptcp.Limits{Subflows: 2, AddAddrAccepted: 1}
				default:
					s.endpoints = []KernelEndpoint{{Path: 1, Flags: []string{"id", "1", "subflow"}}}
				}
				s.mid = &midAction{frac: 0.3, do: func(o *outcome, c *mptcp.Conn) error {
					if who == "WeRemove" {
						return c.RemoveAddr(1)
					}
					return o.tp.KernelIP("mptcp", "endpoint", "delete", "id", "1")
				}, until: func(o *outcome, in mptcp.Info) bool {
					// The removed subflow is gone, or closing.
					sf, ok := o.subflowOn(in, 1)
					return !ok || closing(sf.TCP.State)
				}}
				o := run(t, s)
				// As in Linux, RmSubflow counts the subflows a side
				// closes for its own removed address, RmAddr those it
				// closes for the peer's.
				if who == "WeRemove" {
					o.wantCounters(map[string]int64{"RmAddrTx": 1, "RmSubflow": 1, "RmAddr": 0},
						map[string]uint64{"RmAddr": 1, "RmSubflow": 0, "RmAddrTx": 0})
				} else {
					o.wantCounters(map[string]int64{"RmAddr": 1, "RmSubflow": 0, "RmAddrTx": 0},
						map[string]uint64{"RmAddrTx": 1, "RmSubflow": 1, "RmAddr": 0})
				}
				if sf, ok := o.subflowOn(o.atMid, 1); !ok || subflowBytes(sf) == 0 {
					t.Errorf("before the removal, the second path's subflow carried nothing: %s", infoSummary(o.atMid))
				}
				// Once the removed subflow is gone (or closing), only the
				// first one is open (and no new one is opened): the data
				// that moves afterwards moves on it.
				o.checkJoins(1, !linuxDials)
				if n := openSubflows(o.postMid); n != 1 {
					t.Errorf("%d open subflows after the removal, want 1: %s", n, infoSummary(o.postMid))
				}
				if o.settled.BytesAcked+o.settled.BytesReceived <= o.postMid.BytesAcked+o.postMid.BytesReceived {
					t.Errorf("after the removal, no more data moved (%d bytes of ours acknowledged and %d received before, %d and %d at the end)",
						o.postMid.BytesAcked, o.postMid.BytesReceived, o.settled.BytesAcked, o.settled.BytesReceived)
				}
				o.wantOptions(map[string]int{"REMOVE_ADDR": 1})
			})
		})
	}
}

// TestBackup: the second subflow starts as a backup one (flag B of
// MP_JOIN, RFC 8684 §3.2, from a "backup" endpoint), which neither
// scheduler uses while the first works; in the middle of the transfer
// MP_PRIO (§3.3.8) swaps the roles: the side that opened the backup
// subflow makes it a regular one (we with Conn.SetBackup, the kernel when
// its endpoint changes to "nobackup") and we make the first subflow a
// backup one. The data then moves to the second subflow.
func TestBackup(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		// The kernel sends more, so that it is still sending after the
		// switch, whenever our side starts.
		// Enough data that ours is still being sent once both MP_PRIOs
		// were taken, however long the kernel's "ip mptcp endpoint
		// change" takes on a loaded machine.
		s := spec{linuxDials: linuxDials, paths: 2, up: 8 << 20, down: 12 << 20,
			subflows: 2, impair: paced(2), peerHold: 200 * time.Millisecond}
		if linuxDials {
			s.endpoints = []KernelEndpoint{{Path: 1, Flags: []string{"id", "1", "subflow", "backup"}}}
		} else {
			_, a := PathAddrs(1, false)
			s.ours.Endpoints = []mptcp.Endpoint{{Addr: a, Flags: mptcp.FlagSubflow | mptcp.FlagBackup}}
		}
		s.mid = &midAction{frac: 0.25, do: func(o *outcome, c *mptcp.Conn) error {
			first, ok0 := initialSubflow(o.atMid)
			second, ok1 := o.subflowOn(o.atMid, 1)
			if !ok0 || !ok1 {
				return fmt.Errorf("subflows missing: %s", infoSummary(o.atMid))
			}
			if linuxDials {
				if err := o.tp.KernelIP("mptcp", "endpoint", "change", "id", "1", "nobackup"); err != nil {
					return err
				}
			} else if err := c.SetBackup(second.ID, false); err != nil {
				return err
			}
			return c.SetBackup(first.ID, true)
		}, until: func(o *outcome, in mptcp.Info) bool {
			// Both sides' MP_PRIO have been taken.
			first, ok0 := initialSubflow(in)
			second, ok1 := o.subflowOn(in, 1)
			return ok0 && ok1 && first.Backup && !second.Backup && !second.RemoteBackup
		}}
		o := run(t, s)
		if linuxDials {
			o.wantCounters(map[string]int64{"MPJoinSynBackupRx": 1, "MPPrioRx": 1, "MPPrioTx": 1},
				map[string]uint64{"MPPrioTx": 1, "MPPrioRx": 1})
		} else {
			o.wantCounters(map[string]int64{"MPPrioTx": 2}, map[string]uint64{"MPJoinSynBackupRx": 1, "MPPrioRx": 2})
		}
		o.wantOptions(map[string]int{"MP_PRIO": 2})
		first0, _ := initialSubflow(o.atMid)
		second0, ok0 := o.subflowOn(o.atMid, 1)
		first1, _ := initialSubflow(o.postMid)
		second1, ok1 := o.subflowOn(o.postMid, 1)
		first2, _ := initialSubflow(o.settled)
		second2, ok2 := o.subflowOn(o.settled, 1)
		if !ok0 || !ok1 || !ok2 {
			t.Fatalf("the second subflow is missing: before the switch %s\nafter it %s\nat the end %s",
				infoSummary(o.atMid), infoSummary(o.postMid), infoSummary(o.final))
		}
		if !second0.Backup && !second0.RemoteBackup {
			t.Errorf("before the switch, the second subflow is not a backup one")
		}
		if !first1.Backup || second1.Backup || second1.RemoteBackup {
			t.Errorf("after the switch, backup flags: first %v/%v, second %v/%v; want the first only",
				first1.Backup, first1.RemoteBackup, second1.Backup, second1.RemoteBackup)
		}
		// Before the switch the backup subflow carries (almost) nothing
		// either way.
		before := subflowBytes(first0) + subflowBytes(second0)
		if b := subflowBytes(second0); b > before/20 {
			t.Errorf("before the switch the backup subflow carried %d of %d bytes", b, before)
		}
		// After it, our scheduler sends on the second subflow: the first
		// only sends what it held within its congestion window at the
		// switch. The kernel's sends there too (what it had queued on
		// the first still goes there).
		sent0, sent1 := first2.TCP.BytesSent-first1.TCP.BytesSent, second2.TCP.BytesSent-second1.TCP.BytesSent
		if sent1 <= sent0 {
			t.Errorf("after the switch we sent %d bytes on the second subflow, %d on the first (now a backup)", sent1, sent0)
		}
		got := second2.TCP.BytesReceived - second1.TCP.BytesReceived
		if got == 0 {
			t.Errorf("after the switch the kernel sent nothing on the second subflow")
		}
		t.Logf("before the switch the backup subflow carried %d of %d bytes; after it we sent %d bytes on the second subflow, %d on the first, and the kernel %d on the second",
			subflowBytes(second0), before, sent1, sent0, got)
	})
}

// TestFastclose: an abortive close by either side, with either side
// dialling, resets the connection with MP_FASTCLOSE (RFC 8684 §3.5),
// which the other side takes.
func TestFastclose(t *testing.T) {
	t.Parallel()
	t.Run("WeAbort", func(t *testing.T) {
		t.Parallel()
		bothWays(t, func(t *testing.T, linuxDials bool) {
			o := run(t, spec{linuxDials: linuxDials, paths: 1, up: 64 << 10, down: 0, close: CloseAbort})
			o.checkHandshakeMIBs(linuxDials)
			if !o.peer.Reset {
				t.Errorf("the kernel did not see a reset")
			}
			o.wantCounters(map[string]int64{"MPFastcloseTx": 1}, map[string]uint64{"MPFastcloseRx": 1})
			o.wantOptions(map[string]int{"MP_FASTCLOSE": 1})
		})
	})
	t.Run("LinuxAborts", func(t *testing.T) {
		t.Parallel()
		bothWays(t, func(t *testing.T, linuxDials bool) {
			o := run(t, spec{linuxDials: linuxDials, paths: 1, up: 0, down: 64 << 10, peerFastclose: true})
			o.checkHandshakeMIBs(linuxDials)
			if !o.ours.Reset {
				t.Errorf("we did not see a reset")
			}
			o.wantCounters(map[string]int64{"MPFastcloseRx": 1}, map[string]uint64{"MPFastcloseTx": 1})
			o.wantOptions(map[string]int{"MP_FASTCLOSE": 1})
		})
	})
}

// TestChecksum: DSS checksums requested by one side (RFC 8684 §3.1, flag
// A: either side's request turns them on for both; the kernel with
// net.mptcp.checksum_enabled=1) are used by both, and every checksum on
// the wire verifies.
func TestChecksum(t *testing.T) {
	t.Parallel()
	for _, who := range []string{"LinuxRequests", "WeRequest"} {
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			bothWays(t, func(t *testing.T, linuxDials bool) {
				s := spec{linuxDials: linuxDials, paths: 1, up: 256 << 10, down: 256 << 10, snaplen: -1}
				if who == "LinuxRequests" {
					s.sysctls = map[string]string{"net/mptcp/checksum_enabled": "1"}
				} else {
					s.ours.Checksum = true
				}
				o := run(t, s)
				o.checkMPTCP(t, 1, true)
				o.checkHandshakeMIBs(linuxDials)
				if o.capture != nil {
					ok, bad := o.capture.DSSChecksums[trace.Valid], o.capture.DSSChecksums[trace.Invalid]
					if ok == 0 || bad != 0 {
						t.Errorf("capture: %d DSS checksums verified, %d failed; want some and none", ok, bad)
					}
				}
			})
		})
	}
}

// TestFallback: a kernel with MPTCP disabled (net.mptcp.enabled=0) is a
// plain TCP peer: our connection falls back (RFC 8684 §3.7) and stays
// byte-exact.
func TestFallback(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		o := run(t, spec{linuxDials: linuxDials, paths: 1, up: 256 << 10, down: 256 << 10, fallback: true,
			sysctls: map[string]string{"net/mptcp/enabled": "0"}})
		if !o.fallback || o.info.Flags&meta.InfoFlagFallback == 0 {
			t.Errorf("our connection did not fall back (Fallback %v, Info flags %#x)", o.fallback, o.info.Flags)
		}
		if o.peer.MPTCPAtStart || o.peer.MPTCP {
			t.Errorf("the kernel's connection is MPTCP")
		}
		if len(o.kernel) != 0 {
			t.Errorf("the kernel lists %d MPTCP connections", len(o.kernel))
		}
		if linuxDials {
			o.wantOurs(map[string]int64{"MPCapableSYNRX": 0, "MPCapableFallbackSYNACK": 0})
		} else {
			o.wantOurs(map[string]int64{"MPCapableSYNTX": 1, "MPCapableFallbackSYNACK": 1})
		}
		o.wantKernel(map[string]uint64{"MPCapableSYNRX": 0, "MPCapableSYNTX": 0})
		if o.capture != nil {
			if n := o.capture.Options["MP_CAPABLE"]; linuxDials && n != 0 || !linuxDials && n != 1 {
				t.Errorf("capture: %d MP_CAPABLE options, want %d", n, map[bool]int{false: 1, true: 0}[linuxDials])
			}
			if o.capture.Options["DSS"] != 0 {
				t.Errorf("capture: %d DSS options on a plain TCP connection", o.capture.Options["DSS"])
			}
			if !linuxDials && (len(o.capture.Conns) != 1 || !o.capture.Conns[0].Fallback) {
				t.Errorf("capture: the connection is not seen falling back")
			}
		}
	})
}

// TestPathDown: in the middle of a transfer over two subflows, the second
// path stops carrying packets both ways (as when a link further away
// fails: neither side is told); each side's data in flight there is sent
// again on the first path, and the transfer completes.
func TestPathDown(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		s := spec{linuxDials: linuxDials, paths: 2, up: scaled(3 << 20), down: scaled(6 << 20),
			subflows: 2, impair: paced(2), peerHold: 500 * time.Millisecond}
		s.ours.Endpoints, s.endpoints = subflowEndpoints(2, false, linuxDials)
		s.mid = &midAction{frac: 0.3, do: func(o *outcome, _ *mptcp.Conn) error { return o.tp.SetPathUp(1, false) }}
		o := run(t, s)
		o.checkHandshakeMIBs(linuxDials)
		o.checkJoins(1, !linuxDials)
		if sf, ok := o.subflowOn(o.atMid, 1); !ok || subflowBytes(sf) == 0 {
			t.Errorf("before the failure, the second path's subflow carried nothing: %s", infoSummary(o.atMid))
		}
		st, err := o.tp.ImpairStats(1)
		if err != nil {
			t.Fatal(err)
		}
		if st[0].DroppedDown == 0 && st[1].DroppedDown == 0 {
			t.Errorf("no packet met the failed path: %+v", st)
		}
		t.Logf("the failed path dropped %d packets towards the kernel and %d from it; the transfer took %v",
			st[0].DroppedDown, st[1].DroppedDown, o.ours.ReceiveDuration)
	})
}

// TestIPv6: two subflows over IPv6 paths, with either side dialling.
func TestIPv6(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		s := spec{linuxDials: linuxDials, paths: 2, ipv6: true, up: scaled(2 << 20), down: scaled(2 << 20),
			subflows: 2, impair: paced(2), peerHold: 200 * time.Millisecond}
		s.ours.Endpoints, s.endpoints = subflowEndpoints(2, true, linuxDials)
		o := run(t, s)
		o.checkMPTCP(t, 2, false)
		o.checkHandshakeMIBs(linuxDials)
		o.checkJoins(1, !linuxDials)
		o.checkAllSubflowsCarried(32 << 10)
		for _, sf := range o.settled.Subflow {
			if !sf.ID.Local.Addr().Is6() || !sf.ID.Remote.Addr().Is6() {
				t.Errorf("subflow %v→%v is not IPv6", sf.ID.Local, sf.ID.Remote)
			}
		}
	})
}

// TestPlainTCPLoss: plain TCP on both sides (our stack with MPTCP
// disabled, linuxpeer --mptcp=false) over a path that loses 3% of the
// packets each way: byte-exact, with retransmissions, and not an MPTCP
// option on the wire nor an MPTCP counter moved. At 3% the chance that
// none of our ~360 data segments (512 KiB under the race detector) is
// lost is below 1e-4; at 1% it was 3%, and then the losses fell on
// acknowledgments only and nothing needed retransmitting.
func TestPlainTCPLoss(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		o := run(t, spec{linuxDials: linuxDials, paths: 1, plainTCP: true, up: scaled(2 << 20), down: scaled(2 << 20),
			impair: []impair.Config{{Loss: 0.03, Seed: 7}}})
		if o.peer.MPTCPAtStart || o.peer.MPTCP {
			t.Errorf("the kernel's connection is MPTCP")
		}
		if n := nonzeroU(o.kernelMIB); len(n) != 0 {
			t.Errorf("kernel MPTcpExt counters moved: %v", n)
		}
		if n := nonzero(o.ourMIB); len(n) != 0 {
			t.Errorf("our MPTCP counters moved: %v", n)
		}
		if o.capture != nil && len(o.capture.Options) != 0 {
			t.Errorf("capture: MPTCP options %v", o.capture.Options)
		}
		if o.tshark != nil && len(o.tshark.Options) != 0 {
			t.Errorf("tshark: MPTCP options %v", o.tshark.Options)
		}
		st, err := o.tp.ImpairStats(0)
		if err != nil {
			t.Fatal(err)
		}
		if st[0].DroppedLoss == 0 || st[1].DroppedLoss == 0 {
			t.Errorf("lost packets: %d towards the kernel, %d from it; want some each way", st[0].DroppedLoss, st[1].DroppedLoss)
		}
		if o.tcpRetrans == 0 {
			t.Errorf("our side retransmitted nothing")
		}
		t.Logf("lost %d of %d packets towards the kernel, %d of %d from it; we retransmitted %d segments",
			st[0].DroppedLoss, st[0].Packets, st[1].DroppedLoss, st[1].Packets, o.tcpRetrans)
	})
}

// TestLarge: 20 MiB each way at once (6 MiB under the race detector)
// over two subflows, with either side dialling.
func TestLarge(t *testing.T) {
	t.Parallel()
	size := int64(20 << 20)
	if raceDetector {
		size = 6 << 20
	}
	bothWays(t, func(t *testing.T, linuxDials bool) {
		s := spec{linuxDials: linuxDials, paths: 2, up: size, down: size, subflows: 2, peerHold: 200 * time.Millisecond}
		s.ours.Endpoints, s.endpoints = subflowEndpoints(2, false, linuxDials)
		o := run(t, s)
		o.checkMPTCP(t, 2, false)
		o.checkHandshakeMIBs(linuxDials)
		o.checkJoins(1, !linuxDials)
		o.checkAllSubflowsCarried(32 << 10)
	})
}

// TestShort: one byte each way, with each side's DATA_FIN first.
func TestShort(t *testing.T) {
	t.Parallel()
	for _, order := range []CloseOrder{ClosePeerFirst, CloseOursFirst} {
		name := map[CloseOrder]string{ClosePeerFirst: "LinuxClosesFirst", CloseOursFirst: "WeCloseFirst"}[order]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bothWays(t, func(t *testing.T, linuxDials bool) {
				s := spec{linuxDials: linuxDials, paths: 1, up: 1, down: 1, close: order}
				if order == CloseOursFirst {
					s.peerDelay = 300 * time.Millisecond
				}
				o := run(t, s)
				o.checkMPTCP(t, 1, false)
				o.checkHandshakeMIBs(linuxDials)
				if want := order == ClosePeerFirst; o.ours.EOFFirst != want {
					t.Errorf("the kernel's end of stream came first: %v, want %v", o.ours.EOFFirst, want)
				}
				if o.capture != nil {
					fins := dataFINs(o)
					if len(fins) < 2 {
						t.Fatalf("capture: DATA_FINs from %v, want one from each side", fins)
					}
					first := fins[0] == o.tp.Kernel[0]
					if first != (order == ClosePeerFirst) {
						t.Errorf("capture: the first DATA_FIN came from %v", fins[0])
					}
				}
			})
		})
	}
}

// TestDataFINBeforeFirstDataACK: we dial, send nothing and half-close at
// once, while the kernel waits 300 ms before sending its byte. Our
// DATA_FIN goes out at once, before the kernel's first DATA_ACK (on a DSS
// with the third ACK's MP_CAPABLE, RFC 8684 §3.1, as Linux does).
func TestDataFINBeforeFirstDataACK(t *testing.T) {
	t.Parallel()
	o := run(t, spec{paths: 1, up: 0, down: 1, close: CloseOursFirst, peerDelay: 300 * time.Millisecond})
	o.checkMPTCP(t, 1, false)
	o.checkHandshakeMIBs(false)
	if o.ours.EOFFirst {
		t.Errorf("the kernel's end of stream came before our half-close")
	}
	if fins := dataFINs(o); len(fins) == 0 || fins[0] != o.tp.Ours[0] {
		t.Errorf("capture: DATA_FINs from %v, want ours first", fins)
	}
	// The kernel's delay runs from its accept, a little before our
	// session starts.
	if o.ours.ReceiveDuration < 250*time.Millisecond {
		t.Errorf("the kernel's data came after %v, before its 300ms delay", o.ours.ReceiveDuration)
	}
}

// TestDataFINAfterQueuedData: we write 4 MiB and half-close at once, with
// most of the data still queued; the kernel sends its byte only after 1.5
// s. Our DATA_FIN should follow our last data segment closely.
func TestDataFINAfterQueuedData(t *testing.T) {
	t.Parallel()
	o := run(t, spec{paths: 1, up: 4 << 20, down: 1, close: CloseOursFirst, peerDelay: 1500 * time.Millisecond})
	o.checkMPTCP(t, 1, false)
	o.checkHandshakeMIBs(false)
	if o.capture == nil {
		t.Skip("no capture")
	}
	lastData, fin := o.capture.lastDataFrom[o.tp.Ours[0]], o.capture.firstDataFINFrom[o.tp.Ours[0]]
	if fin.IsZero() || lastData.IsZero() {
		t.Fatalf("capture: last data at %v, first DATA_FIN at %v", lastData, fin)
	}
	if gap := fin.Sub(lastData); gap > 200*time.Millisecond {
		t.Errorf("our DATA_FIN came %v after our last data segment", gap)
	}
}

// TestChecksumTwoSubflows: DSS checksums on two subflows, 12 MiB each way,
// the kernel closing as soon as its data is written: then Linux sends the
// rest of its last mapping with the DATA_FIN folded in (the same DSN and
// subflow sequence number, the Data-Level Length one more and the checksum
// recomputed), which is the same mapping (RFC 8684 §3.3.1, §3.3.3), not a
// conflicting one.
func TestChecksumTwoSubflows(t *testing.T) {
	t.Parallel()
	bothWays(t, func(t *testing.T, linuxDials bool) {
		// Paced paths and enough data give the join time to complete
		// before the kernel has sent everything, however loaded the
		// machine: Linux refuses to complete a join once it has sent
		// its DATA_FIN (MPJoinRejected).
		s := spec{linuxDials: linuxDials, paths: 2, up: scaled(12 << 20), down: scaled(12 << 20), snaplen: -1, subflows: 2, impair: paced(2)}
		s.ours.Checksum = true
		s.ours.Endpoints, s.endpoints = subflowEndpoints(2, false, linuxDials)
		o := run(t, s)
		o.checkMPTCP(t, 2, true)
		o.checkHandshakeMIBs(linuxDials)
		o.checkJoins(1, !linuxDials)
		o.checkAllSubflowsCarried(32 << 10)
		if o.capture != nil {
			ok, bad := o.capture.DSSChecksums[trace.Valid], o.capture.DSSChecksums[trace.Invalid]
			if ok == 0 || bad != 0 {
				t.Errorf("capture: %d DSS checksums verified, %d failed; want some and none", ok, bad)
			}
		}
	})
}

// TestSegmentationOffload: with nothing on our side of a path, our
// stack hands the kernel the segments of a burst as super-packets
// (stack.SegmentOffloader over link/tun), which the kernel takes, either
// side dialing: plain TCP's, and an MPTCP connection's on each of its
// subflows, the first segment of each size alone (see stack/gso.go). The
// data is checked by the harness.
func TestSegmentationOffload(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		plain    bool
		subflows int
	}{{"TCP", true, 1}, {"MPTCP", false, 1}, {"MPTCP2", false, 2}} {
		t.Run(c.name, func(t *testing.T) {
			bothWays(t, func(t *testing.T, linuxDials bool) {
				s := spec{linuxDials: linuxDials, paths: c.subflows, plainTCP: c.plain, up: scaled(8 << 20), down: scaled(1 << 20)}
				if c.subflows > 1 {
					// Linux joins no subflow once it has sent its DATA_FIN:
					// it holds it back, and sends as much as it receives.
					s.subflows, s.peerHold, s.down = c.subflows, 200*time.Millisecond, s.up
					s.ours.Endpoints, s.endpoints = subflowEndpoints(c.subflows, false, linuxDials)
				}
				o := run(t, s)
				if !c.plain {
					o.checkMPTCP(t, c.subflows, false)
				}
				if c.subflows > 1 {
					o.checkAllSubflowsCarried(32 << 10)
				}
				for i, st := range o.tp.NICStats() {
					pkts, segs := st.TxGSOPackets, st.TxGSOSegments
					if pkts == 0 || segs < 2*pkts {
						t.Errorf("path %d: %d super-packets of %d segments; want some, of 2 or more each", i, pkts, segs)
					}
					t.Logf("path %d: %d super-packets carried %d segments", i, pkts, segs)
				}
			})
		})
	}
}
