package meta

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestRemoveAddr withdraws an address in the middle of a two-subflow
// transfer (RFC 8684 §3.4.2), once on each side: the client removes its
// second address, or the server removes an address it announced and the
// client joined. REMOVE_ADDR reaches the peer, the subflows of that address
// close on both sides, the peer reports EventRemoved, and the transfer
// completes byte for byte on the remaining subflow.
func TestRemoveAddr(t *testing.T) {
	up, down := pattern(700<<10, 31), pattern(300<<10, 32)
	for _, serverSide := range []bool{false, true} {
		name := "client"
		if serverSide {
			name = "server"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, 4, pathCfg{delay: 5 * time.Millisecond, jitter: time.Millisecond})
			cc, sc := testConfig(41, h.cli), testConfig(42, h.srv)
			h.listen(sc)
			x := &transfer{h: h, up: up, down: down, closeOnEOF: true}
			if !serverSide {
				x.joins = clientAddr[1:2]
			}
			x.cli = h.dial(cc, clientAddr[0])
			var announced, joined, removed bool
			seen, carried, resets := 0, 0, 0
			h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
				onRemoved := from.Local.Addr() == clientAddr[1] || from.Remote.Addr() == clientAddr[1] ||
					from.Local.Addr() == announcedAddr || from.Remote.Addr() == announcedAddr
				// Data on the subflow that will be removed.
				if !removed && len(seg.Payload) > 0 && onRemoved {
					carried += len(seg.Payload)
				}
				// Its reset by the remover.
				if m := opts(seg); onRemoved && toSrv == !serverSide && seg.Flags&tcp.FlagRST != 0 &&
					m.Has(wire.SubtypeMPTCPRST) && m.MPTCPRST.Reason == wire.TCPRSTUnspecified {
					resets++
				}
			}
			app := func() {
				x.app()
				if serverSide && !announced && x.srv != nil && x.srv.Established() {
					id, err := x.srv.Announce(h.now, netip.AddrPortFrom(announcedAddr, 0))
					if err != nil && err != ErrNotEstablished {
						t.Fatalf("Announce: %v", err)
					}
					announced = err == nil && id == 1
				}
				for ; seen < len(h.cliEvents); seen++ {
					if ev := h.cliEvents[seen]; ev.Kind == EventAnnounced && !joined {
						// The path manager joins the announced address.
						if _, err := x.cli.AddSubflow(h.now, netip.AddrPortFrom(clientAddr[0], 0), ev.Addr, false); err != nil {
							t.Fatalf("AddSubflow: %v", err)
						}
						joined = true
					}
				}
				if !removed && len(x.gotUp) > 250<<10 && len(x.cli.Subflows()) == 2 && x.cli.Info().Subflow[1].FullyEstablished {
					remover := x.cli
					if serverSide {
						remover = x.srv
					}
					if err := remover.RemoveAddr(h.now, 1); err != nil {
						t.Fatalf("RemoveAddr: %v", err)
					}
					removed = true
				}
			}
			h.run(10*time.Minute, app, func() bool { return x.cliEOF && x.srvEOF })
			if !removed || carried == 0 || resets != 1 {
				t.Fatalf("removed %v after %d bytes on the subflow, %d resets by the remover", removed, carried, resets)
			}
			if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
				t.Fatalf("transfer corrupted: %d/%d up, %d/%d down", len(x.gotUp), len(up), len(x.gotDown), len(down))
			}
			remover, peer := x.cli, x.srv
			removerEvents, peerEvents := h.cliEvents, h.srvEvents
			if serverSide {
				remover, peer = x.srv, x.cli
				removerEvents, peerEvents = h.srvEvents, h.cliEvents
			}
			if remover.MIB().Get(RmAddrTx) != 1 || remover.MIB().Get(RmSubflow) != 1 || peer.MIB().Get(RmAddr) != 1 {
				t.Fatalf("RmAddrTx %d RmSubflow %d RmAddr %d", remover.MIB().Get(RmAddrTx), remover.MIB().Get(RmSubflow), peer.MIB().Get(RmAddr))
			}
			var removedEv, closedEv int
			for _, ev := range peerEvents {
				if ev.Kind == EventRemoved && ev.RemoteID == 1 {
					removedEv++
				}
			}
			for _, ev := range removerEvents {
				if ev.Kind == EventSubflowClosed && ev.LocalID == 1 {
					closedEv++
				}
			}
			if removedEv != 1 || closedEv != 1 {
				t.Fatalf("%d removed events at the peer, %d closed events for local ID 1", removedEv, closedEv)
			}
			if len(x.cli.Subflows()) != 1 || len(x.srv.Subflows()) != 1 {
				t.Fatalf("subflows left: client %v server %v", x.cli.Subflows(), x.srv.Subflows())
			}
			h.run(10*time.Minute, app, func() bool { return x.cli.Closed() && x.srv.Closed() })
			if x.cli.Err() != nil || x.srv.Err() != nil {
				t.Fatalf("errors after the orderly close: %v / %v", x.cli.Err(), x.srv.Err())
			}
		})
	}
}

// TestSetBackup marks the initial subflow backup with MP_PRIO in the
// middle of a two-subflow transfer (RFC 8684 §3.3.8): from then on neither
// side maps new data to it, the peer reports EventSubflowPriority, and
// clearing the flag is signalled as well.
func TestSetBackup(t *testing.T) {
	up, down := pattern(900<<10, 33), pattern(900<<10, 34)
	h := newHarness(t, 6, pathCfg{delay: 4 * time.Millisecond})
	cc, sc := testConfig(43, h.cli), testConfig(44, h.srv)
	h.listen(sc)
	x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:2], closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	// The first new data-level sequence number of each side once it knows
	// the initial subflow is backup; 0 while it does not.
	var cliFrom, srvFrom uint64
	var lateUp, lateDown, prios, early int
	h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
		m := opts(seg)
		if m.Has(wire.SubtypeMPPrio) {
			prios++
		}
		onInitial := from.Local.Addr() == clientAddr[0] || from.Remote.Addr() == clientAddr[0]
		if !onInitial || !m.Has(wire.SubtypeDSS) || !m.DSS.HasMapping() || len(seg.Payload) == 0 {
			return
		}
		if cliFrom == 0 {
			early += len(seg.Payload)
		}
		if toSrv && cliFrom != 0 && !dsnLT(m.DSS.DSN, cliFrom) {
			lateUp++
		}
		if !toSrv && srvFrom != 0 && !dsnLT(m.DSS.DSN, srvFrom) {
			lateDown++
		}
	}
	initial := tcp.ConnID{}
	app := func() {
		x.app()
		if cliFrom == 0 && len(x.gotUp) > 200<<10 && len(x.cli.Subflows()) == 2 && x.cli.Info().Subflow[1].FullyEstablished {
			initial = x.cli.Subflows()[0]
			if err := x.cli.SetBackup(h.now, initial, true); err != nil {
				t.Fatal(err)
			}
			cliFrom = x.cli.sndNxt
		}
		if srvFrom == 0 && x.srv != nil {
			if sf := x.srv.lookup(swap(initial)); sf != nil && sf.remoteBackup {
				srvFrom = x.srv.sndNxt
			}
		}
	}
	h.run(10*time.Minute, app, func() bool { return x.cliEOF && x.srvEOF })
	if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
		t.Fatal("transfer corrupted")
	}
	if cliFrom == 0 || srvFrom == 0 {
		t.Fatalf("backup not in effect: client from %d, server from %d", cliFrom, srvFrom)
	}
	if early == 0 {
		t.Fatal("the initial subflow carried no data before it became backup")
	}
	if lateUp != 0 || lateDown != 0 {
		t.Fatalf("new data mapped to the backup subflow: %d segments up, %d down", lateUp, lateDown)
	}
	var evs []Event
	for _, ev := range h.srvEvents {
		if ev.Kind == EventSubflowPriority {
			evs = append(evs, ev)
		}
	}
	if len(evs) != 1 || evs[0].ID != swap(initial) || !evs[0].Backup || evs[0].LocalID != 0 || evs[0].RemoteID != 0 {
		t.Fatalf("priority events %+v", evs)
	}
	if x.cli.MIB().Get(MPPrioTx) != 1 || x.srv.MIB().Get(MPPrioRx) != 1 || prios != 1 {
		t.Fatalf("MPPrioTx %d MPPrioRx %d, %d seen", x.cli.MIB().Get(MPPrioTx), x.srv.MIB().Get(MPPrioRx), prios)
	}
	si := x.srv.Info().Subflow[0]
	if !si.RemoteBackup || si.Backup {
		t.Fatalf("server view of the initial subflow: %+v", si)
	}
	// Back to regular.
	if err := x.cli.SetBackup(h.now, initial, false); err != nil {
		t.Fatal(err)
	}
	h.run(time.Minute, x.app, func() bool { return x.srv.MIB().Get(MPPrioRx) == 2 })
	if x.srv.lookup(swap(initial)).remoteBackup || x.cli.Info().Subflow[0].Backup {
		t.Fatal("backup flag not cleared")
	}
}
