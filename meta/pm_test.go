package meta

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
	"github.com/google/go-cmp/cmp"
)

// relay drains from at now and gives every segment to to.
func relay(t testing.TB, from, to *Conn, now time.Time) []out {
	t.Helper()
	segs := drain(t, from, now)
	for i := range segs {
		to.Input(now, swap(segs[i].id), &segs[i].seg)
	}
	return segs
}

// addAddrs returns the ADD_ADDR options of segs.
func addAddrs(segs []out) []wire.AddAddr {
	var r []wire.AddAddr
	for i := range segs {
		if m := opts(&segs[i].seg); m.Has(wire.SubtypeAddAddr) {
			r = append(r, m.AddAddr)
		}
	}
	return r
}

func eventsOf(c *Conn, k EventKind) []Event {
	var r []Event
	for ev, ok := c.NextEvent(); ok; ev, ok = c.NextEvent() {
		if ev.Kind == k {
			r = append(r, ev)
		}
	}
	return r
}

var announcedAddr = netip.MustParseAddr("203.0.113.9")

// TestAnnounce follows an ADD_ADDR (RFC 8684 §3.4.1) in each form: on a
// pure ACK with its HMAC, recorded and echoed by the receiver, and not
// repeated once echoed.
func TestAnnounce(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::9")
	tests := []struct {
		name    string
		addr    netip.AddrPort
		wantErr error
		wantLen int  // of the ADD_ADDR
		withDSS bool // room for the DSS beside it, with timestamps
	}{
		{name: "IPv4", addr: netip.AddrPortFrom(announcedAddr, 0), wantLen: 16, withDSS: true},
		{name: "IPv4 and port", addr: netip.AddrPortFrom(announcedAddr, 8080), wantLen: 18},
		{name: "IPv6", addr: netip.AddrPortFrom(v6, 0), wantLen: 28},
		{name: "IPv6 and port beside timestamps", addr: netip.AddrPortFrom(v6, 8080), wantErr: ErrOptionSpace},
		{name: "unspecified address", addr: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), wantErr: ErrInvalidAddr},
		{name: "invalid address", wantErr: ErrInvalidAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv, _, _, now := establishedPair(t)
			id, err := srv.Announce(now, tt.addr)
			if err != tt.wantErr {
				t.Fatalf("Announce = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if segs := drain(t, srv, now); len(addAddrs(segs)) != 0 || srv.Info().AddAddrSignal != 0 {
					t.Fatal("a refused announcement was sent")
				}
				return
			}
			if id != 1 {
				t.Fatalf("address ID %d, want 1", id)
			}
			segs := relay(t, srv, cli, now)
			adds := addAddrs(segs)
			if len(adds) != 1 {
				t.Fatalf("%d ADD_ADDRs in %v", len(adds), describe(segs))
			}
			a := adds[0]
			want := wire.AddAddr{AddrID: 1, Addr: tt.addr.Addr(), HasPort: tt.addr.Port() != 0, Port: tt.addr.Port(), HMAC: a.HMAC}
			if a != want || a.Len() != tt.wantLen || !a.HMACValid(srv.localKey, cli.localKey) {
				t.Fatalf("ADD_ADDR %v (len %d), want %v (len %d) with a valid HMAC", a, a.Len(), want, tt.wantLen)
			}
			first := &segs[0].seg
			if len(first.Payload) != 0 || first.Flags != tcp.FlagACK || opts(first).Has(wire.SubtypeDSS) != tt.withDSS {
				t.Fatalf("ADD_ADDR segment %v, DSS beside it %v, want %v", describe(segs), opts(first).Has(wire.SubtypeDSS), tt.withDSS)
			}
			if !tt.withDSS && (len(segs) != 2 || !opts(&segs[1].seg).Has(wire.SubtypeDSS)) {
				t.Fatalf("no ACK with the DSS after the ADD_ADDR: %v", describe(segs))
			}
			evs := eventsOf(cli, EventAnnounced)
			if len(evs) != 1 || evs[0].RemoteID != 1 || evs[0].Addr != tt.addr {
				t.Fatalf("announced events %+v", evs)
			}
			ci := cli.Info()
			if !slices.Equal(ci.RemoteAddrs, []RemoteAddr{{ID: 1, Addr: tt.addr}}) || ci.AddAddrAccepted != 1 || srv.Info().AddAddrSignal != 1 {
				t.Fatalf("client remote addresses %v accepted %d, server signalled %d", ci.RemoteAddrs, ci.AddAddrAccepted, srv.Info().AddAddrSignal)
			}
			// The echo: the same address, port and ID, without HMAC.
			back := relay(t, cli, srv, now)
			echoes := addAddrs(back)
			wantEcho := wire.AddAddr{Echo: true, AddrID: 1, Addr: tt.addr.Addr(), HasPort: tt.addr.Port() != 0, Port: tt.addr.Port()}
			if len(echoes) != 1 || echoes[0] != wantEcho {
				t.Fatalf("echo %v, want %v", echoes, wantEcho)
			}
			port := int64(0)
			if tt.addr.Port() != 0 {
				port = 1
			}
			cm, sm := cli.MIB(), srv.MIB()
			if sm.Get(AddAddrTx) != 1 || cm.Get(AddAddr) != 1 || cm.Get(EchoAddTx) != 1 || sm.Get(EchoAdd) != 1 ||
				cm.Get(PortAdd) != port || sm.Get(PortAdd) != port {
				t.Fatalf("counters: client %v server %v", cm.Snapshot(), sm.Snapshot())
			}
			// Echoed: never sent again.
			if later := drain(t, srv, now.Add(time.Hour)); len(addAddrs(later)) != 0 {
				t.Fatalf("echoed ADD_ADDR sent again: %v", describe(later))
			}
			// Announcing it again keeps its ID.
			if id, err := srv.Announce(now, tt.addr); id != 1 || err != nil {
				t.Fatalf("second Announce = %d, %v", id, err)
			}
		})
	}
}

// TestAnnounceRetransmission drops every ADD_ADDR: it goes out again
// after the largest subflow RTO (at most AddAddrTimeout), then after twice
// and four times that, and no more, as Linux does.
func TestAnnounceRetransmission(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		wantAll int // transmissions
	}{
		{name: "default: the RTO", wantAll: 4},
		{name: "shorter timeout", timeout: 50 * time.Millisecond, wantAll: 4},
		{name: "off", timeout: -1, wantAll: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv, _, _, now := establishedPairCfg(t, func(cc, sc *Config) { sc.AddAddrTimeout = tt.timeout })
			// Acknowledge the server's data, so that its RTO stays.
			cli.subflows[0].tc.SendAck()
			relay(t, cli, srv, now)
			rto := srv.subflows[0].tc.Info().RTO
			interval := rto
			if tt.timeout > 0 && tt.timeout < rto {
				interval = tt.timeout
			}
			if _, err := srv.Announce(now, netip.AddrPortFrom(announcedAddr, 0)); err != nil {
				t.Fatal(err)
			}
			start := now
			var at []time.Duration
			for range 10 {
				if len(addAddrs(drain(t, srv, now))) == 1 {
					at = append(at, now.Sub(start))
				}
				next := srv.NextDeadline()
				if next.IsZero() {
					break
				}
				now = next
			}
			want := []time.Duration{0, interval, 3 * interval, 7 * interval}[:tt.wantAll]
			if !cmp.Equal(at, want) {
				t.Fatalf("ADD_ADDR sent at %v, want %v", at, want)
			}
			if srv.MIB().Get(AddAddrTx) != int64(tt.wantAll) {
				t.Fatalf("AddAddrTx = %d", srv.MIB().Get(AddAddrTx))
			}
		})
	}
}

// TestAddAddrBadHMAC damages the HMAC of an ADD_ADDR: the receiver drops
// it, counts it, and neither echoes nor reports it.
func TestAddAddrBadHMAC(t *testing.T) {
	cli, srv, _, _, now := establishedPair(t)
	if _, err := srv.Announce(now, netip.AddrPortFrom(announcedAddr, 0)); err != nil {
		t.Fatal(err)
	}
	segs := drain(t, srv, now)
	for i := range segs {
		s := &segs[i].seg
		for k := range s.Options.NumMPTCP {
			if st, _ := wire.PeekMPTCPSubtype(s.Options.MPTCP[k]); st == wire.SubtypeAddAddr {
				s.Options.MPTCP[k][len(s.Options.MPTCP[k])-1] ^= 1
			}
		}
		cli.Input(now, cliID, s)
	}
	if cli.MIB().Get(AddAddrDrop) != 1 || cli.MIB().Get(AddAddr) != 0 {
		t.Fatalf("AddAddrDrop %d AddAddr %d", cli.MIB().Get(AddAddrDrop), cli.MIB().Get(AddAddr))
	}
	if evs := eventsOf(cli, EventAnnounced); len(evs) != 0 {
		t.Fatalf("events %v", evs)
	}
	if back := drain(t, cli, now); len(addAddrs(back)) != 0 {
		t.Fatalf("bad ADD_ADDR echoed: %v", describe(back))
	}
}

// TestAnnounceThenJoin has the server announce an address right after the
// handshake, as Linux servers do: the client, which has seen no DATA_ACK
// yet, takes the valid ADD_ADDR as the end of its MP_CAPABLE phase
// (RFC 8684 §3.1) and joins the address; the MP_JOIN carries the client's
// new address ID, the subflow records the server's ID, and a zero port is
// the connection's.
func TestAnnounceThenJoin(t *testing.T) {
	h := newHarness(t, 1, pathCfg{})
	cc, sc := segConfig(21), segConfig(22)
	cc.Host = h.cli
	cli, srv, l, now := handshake(t, cc, sc)
	if !cli.mpcPhase {
		t.Fatal("client already out of its MP_CAPABLE phase")
	}
	if _, err := cli.Announce(now, netip.AddrPortFrom(clientAddr[2], 0)); err != ErrNotEstablished {
		t.Fatalf("Announce before the peer's first DATA_ACK = %v", err)
	}
	if _, err := cli.AddSubflow(now, netip.AddrPortFrom(clientAddr[1], 0), netip.AddrPortFrom(announcedAddr, 0), false); err != ErrNotEstablished {
		t.Fatalf("AddSubflow before the peer's first DATA_ACK = %v", err)
	}
	if _, err := srv.Announce(now, netip.AddrPortFrom(announcedAddr, 0)); err != nil {
		t.Fatal(err)
	}
	relay(t, srv, cli, now)
	evs := eventsOf(cli, EventAnnounced)
	if len(evs) != 1 || cli.mpcPhase {
		t.Fatalf("events %v, MP_CAPABLE phase %v", evs, cli.mpcPhase)
	}
	id, err := cli.AddSubflow(now, netip.AddrPortFrom(clientAddr[1], 0), evs[0].Addr, true)
	if err != nil {
		t.Fatal(err)
	}
	if id.Remote != netip.AddrPortFrom(announcedAddr, serverAP.Port()) {
		t.Fatalf("join to %v", id.Remote)
	}
	var syn *tcp.Segment
	for _, o := range drain(t, cli, now) {
		if o.id == id {
			syn = &o.seg
		}
	}
	if syn == nil {
		t.Fatal("no join SYN")
	}
	if m := opts(syn); !m.Has(wire.SubtypeMPJoin) || m.MPJoin.AddrID != 1 || !m.MPJoin.Backup() {
		t.Fatalf("join SYN %v", m.MPJoin)
	}
	if sf := cli.lookup(id); sf.remoteID != 1 || sf.localID != 1 {
		t.Fatalf("subflow IDs local %d remote %d", sf.localID, sf.remoteID)
	}
	// The server answers with its ID for the address (1).
	c, _, _ := l.Input(now, swap(id), syn)
	if c != srv {
		t.Fatal("join not taken")
	}
	synack := one(t, srv, now)
	if m := opts(&synack); m.MPJoin.AddrID != 1 {
		t.Fatalf("join SYN/ACK address ID %d", m.MPJoin.AddrID)
	}
}

// TestPMErrors checks the errors of the path-management calls.
func TestPMErrors(t *testing.T) {
	cli, srv, _, _, now := establishedPair(t)
	other := tcp.ConnID{Local: netip.AddrPortFrom(clientAddr[3], 1), Remote: serverAP}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"RemoveAddr of an unknown ID", cli.RemoveAddr(now, 7), ErrUnknownAddrID},
		{"SetBackup of an unknown subflow", cli.SetBackup(now, other, true), ErrNoSubflow},
		{"ResetSubflow of an unknown subflow", cli.ResetSubflow(now, other, wire.TCPRSTUnacceptablePerformance), ErrNoSubflow},
	}
	for _, tt := range tests {
		if tt.err != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	srv.Abort()
	if _, err := srv.Announce(now, netip.AddrPortFrom(announcedAddr, 0)); err != ErrNotEstablished {
		t.Errorf("Announce after Abort: %v", err)
	}
}
