package meta

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
	"github.com/google/go-cmp/cmp"
)

// establishedPair runs the handshake and one server→client data segment,
// so that the client has seen a DATA_ACK and may join.
func establishedPair(t *testing.T) (cli, srv *Conn, l *Listener, host *endpoint, now time.Time) {
	t.Helper()
	return establishedPairCfg(t, nil)
}

// establishedPairCfg is establishedPair with configurations that mod
// changes first.
func establishedPairCfg(t *testing.T, mod func(cc, sc *Config)) (cli, srv *Conn, l *Listener, host *endpoint, now time.Time) {
	t.Helper()
	cc, sc := segConfig(11), segConfig(12)
	if mod != nil {
		mod(cc, sc)
	}
	h := newHarness(t, 1, pathCfg{})
	host = h.cli
	cc.Host = host
	cli, srv, l, now = handshake(t, cc, sc)
	srv.Write([]byte("x"))
	d := one(t, srv, now)
	cli.Input(now, cliID, &d)
	drain(t, cli, now)
	if cli.mpcPhase {
		t.Fatal("client still waits for a DATA_ACK")
	}
	return cli, srv, l, host, now
}

func TestMPJoinHandshakeOptions(t *testing.T) {
	cli, srv, l, _, now := establishedPair(t)
	id, err := cli.AddSubflow(now, netip.AddrPortFrom(clientAddr[1], 0), serverAP, true)
	if err != nil {
		t.Fatal(err)
	}
	sid := swap(id)
	// SYN: the server's token, our nonce, address ID 1, flag B (§3.2).
	segs := drain(t, cli, now)
	if len(segs) != 1 || segs[0].id != id {
		t.Fatalf("join SYN: %v", describe(segs))
	}
	syn := segs[0].seg
	m := opts(&syn)
	sf := cli.lookup(id)
	want := wire.MPJoin{Form: wire.MPJoinSYN, Token: srv.localToken, Random: sf.localNonce, AddrID: 1, Flags: wire.MPJoinBackup}
	if !m.Has(wire.SubtypeMPJoin) || !cmp.Equal(m.MPJoin, want) || syn.Options.NumMPTCP != 1 {
		t.Fatalf("join SYN %+v, want %+v", m.MPJoin, want)
	}
	c, _, _ := l.Input(now, sid, &syn)
	if c != srv {
		t.Fatal("join SYN not given to the connection of its token")
	}
	ssf := srv.lookup(sid)
	if ssf == nil || !ssf.remoteBackup || ssf.remoteID != 1 || ssf.remoteNonce != sf.localNonce {
		t.Fatalf("server subflow %+v", ssf)
	}
	// SYN/ACK: the truncated HMAC of (Key-B, Key-A; R-B, R-A).
	segs = drain(t, srv, now)
	if len(segs) != 1 || segs[0].id != sid {
		t.Fatalf("join SYN/ACK: %v", describe(segs))
	}
	synack := segs[0].seg
	m = opts(&synack)
	mac := wire.MPJoinSYNACKHMAC(cli.localKey, srv.localKey, sf.localNonce, ssf.localNonce)
	want = wire.MPJoin{Form: wire.MPJoinSYNACK, TruncatedHMAC: binary.BigEndian.Uint64(mac[:]), Random: ssf.localNonce, AddrID: 0}
	if !cmp.Equal(m.MPJoin, want) {
		t.Fatalf("join SYN/ACK %+v, want %+v", m.MPJoin, want)
	}
	now = now.Add(time.Millisecond)
	cli.Input(now, id, &synack)
	if sf.fully || sf.remoteNonce != ssf.localNonce {
		t.Fatal("client subflow fully established before the fourth ACK")
	}
	// Third ACK: the full HMAC of (Key-A, Key-B; R-A, R-B).
	ack := one(t, cli, now)
	m = opts(&ack)
	if !m.Has(wire.SubtypeMPJoin) || m.MPJoin.Form != wire.MPJoinACK ||
		!wire.VerifyMPJoinACKHMAC(cli.localKey, srv.localKey, sf.localNonce, ssf.localNonce, m.MPJoin.HMAC[:]) {
		t.Fatalf("third ACK %+v", m.MPJoin)
	}
	// Data written now waits for the fourth ACK.
	cli.Write(make([]byte, 100))
	now = now.Add(time.Millisecond)
	srv.Input(now, sid, &ack)
	if !ssf.fully || l.MIB().Get(MPJoinAckRx) != 1 {
		t.Fatal("server subflow not established by a valid third ACK")
	}
	// Fourth ACK: a pure ACK with a DSS right away.
	segs = drain(t, srv, now)
	if len(segs) != 1 || segs[0].id != sid || len(segs[0].seg.Payload) != 0 || !opts(&segs[0].seg).Has(wire.SubtypeDSS) {
		t.Fatalf("fourth ACK: %v", describe(segs))
	}
	cli.Input(now, id, &segs[0].seg)
	if !sf.fully {
		t.Fatal("fourth ACK did not establish the client subflow")
	}
	info := cli.Info()
	if info.Subflows != 1 || len(info.Subflow) != 2 || !info.Subflow[1].Backup || info.SubflowsTotal != 2 {
		t.Fatalf("info %+v", info)
	}
	var gotEv bool
	for ev, ok := cli.NextEvent(); ok; ev, ok = cli.NextEvent() {
		if ev.Kind == EventSubflowEstablished && ev.ID == id {
			gotEv = true
		}
	}
	if !gotEv {
		t.Fatal("no subflow-established event")
	}
}

// joinFailure runs a two-subflow transfer in which mutate damages the
// join; the join must fail with the counters named, the transfer still
// complete over the initial subflow.
func joinFailure(t *testing.T, mutate func(f *flight) bool, cliCounter, srvCounter Counter) {
	t.Helper()
	up, down := pattern(100<<10, 5), pattern(50<<10, 6)
	h := newHarness(t, 7, pathCfg{delay: 3 * time.Millisecond})
	h.mutate = mutate
	var rstWithReason, rstPlain int
	h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
		if seg.Flags&tcp.FlagRST != 0 && from.Local.Addr() != clientAddr[0] && from.Remote.Addr() != clientAddr[0] {
			if m := opts(seg); m.Has(wire.SubtypeMPTCPRST) && m.MPTCPRST.Reason == wire.TCPRSTMPTCPError {
				rstWithReason++
			} else {
				rstPlain++
			}
		}
	}
	cc, sc := testConfig(7, h.cli), testConfig(8, h.srv)
	h.listen(sc)
	x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:2], closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	h.run(5*time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
	if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
		t.Fatal("transfer corrupted")
	}
	if cliCounter != numCounters && x.cli.MIB().Get(cliCounter) == 0 {
		t.Errorf("client %v = 0", cliCounter)
	}
	if srvCounter != numCounters && h.srv.lst.MIB().Get(srvCounter) == 0 {
		t.Errorf("server %v = 0", srvCounter)
	}
	if h.srv.lst.MIB().Get(MPJoinAckRx) != 0 {
		t.Error("the damaged join was accepted")
	}
	if rstWithReason == 0 {
		t.Errorf("no RST with MP_TCPRST (MPTCP error); %d plain RSTs", rstPlain)
	}
	for _, ev := range h.cliEvents {
		if ev.Kind == EventSubflowEstablished {
			t.Error("the damaged join became established")
		}
	}
}

func joinOption(f *flight, form wire.MPJoinForm) []byte {
	for i := range f.seg.Options.NumMPTCP {
		o := f.seg.Options.MPTCP[i]
		if st, _ := wire.PeekMPTCPSubtype(o); st == wire.SubtypeMPJoin && len(o) == form.Len() {
			return o
		}
	}
	return nil
}

func TestMPJoinFailures(t *testing.T) {
	t.Run("bad SYN/ACK HMAC", func(t *testing.T) {
		joinFailure(t, func(f *flight) bool {
			if o := joinOption(f, wire.MPJoinSYNACK); o != nil && !f.toSrv {
				o[5] ^= 0x40
			}
			return true
		}, MPJoinSynAckHMacFailure, numCounters)
	})
	t.Run("bad third ACK HMAC", func(t *testing.T) {
		joinFailure(t, func(f *flight) bool {
			if o := joinOption(f, wire.MPJoinACK); o != nil && f.toSrv {
				o[10] ^= 1
			}
			return true
		}, numCounters, MPJoinAckHMacFailure)
	})
	t.Run("third ACK without MP_JOIN", func(t *testing.T) {
		joinFailure(t, func(f *flight) bool {
			if joinOption(f, wire.MPJoinACK) != nil && f.toSrv {
				f.seg.Options.NumMPTCP = 0
			}
			return true
		}, numCounters, MPJoinAckNoMPJoin)
	})
	t.Run("SYN/ACK without MP_JOIN", func(t *testing.T) {
		joinFailure(t, func(f *flight) bool {
			if joinOption(f, wire.MPJoinSYNACK) != nil && !f.toSrv {
				f.seg.Options.NumMPTCP = 0
			}
			return true
		}, MPJoinSynAckNoMPJoin, numCounters)
	})
	t.Run("unknown token", func(t *testing.T) {
		joinFailure(t, func(f *flight) bool {
			if o := joinOption(f, wire.MPJoinSYN); o != nil && f.toSrv {
				o[4] ^= 0xff
			}
			return true
		}, numCounters, MPJoinNoTokenFound) // Linux's listener sends MP_TCPRST too
	})
}

func TestMPJoinRejected(t *testing.T) {
	cli, srv, l, _, now := establishedPair(t)
	srv.cfg.MaxSubflows = 1
	id, err := cli.AddSubflow(now, netip.AddrPortFrom(clientAddr[1], 0), serverAP, false)
	if err != nil {
		t.Fatal(err)
	}
	syn := one(t, cli, now)
	c, reply, ok := l.Input(now, swap(id), &syn)
	if c != nil || !ok || reply.Flags&tcp.FlagRST == 0 || l.MIB().Get(MPJoinRejected) != 1 {
		t.Fatalf("join beyond the limit: conn %v reply %v %v, rejected %d", c != nil, ok, reply.Flags, l.MIB().Get(MPJoinRejected))
	}
	// Linux's reason for a join beyond the limit (RFC 8684 §3.6).
	if m := opts(&reply); !m.Has(wire.SubtypeMPTCPRST) || m.MPTCPRST.Reason != wire.TCPRSTAdminProhibited {
		t.Fatalf("refusal without MP_TCPRST (administratively prohibited): %v", m.MPTCPRST)
	}
	cli.Input(now, id, &reply)
	drain(t, cli, now)
	if len(cli.Subflows()) != 1 {
		t.Fatalf("refused subflow kept: %v", cli.Subflows())
	}
	// The client's own limit.
	cli.cfg.MaxSubflows = 1
	if _, err := cli.AddSubflow(now, netip.AddrPortFrom(clientAddr[2], 0), serverAP, false); err != ErrTooManySubflows {
		t.Fatalf("AddSubflow beyond the limit: %v", err)
	}
}

// TestFourthAckLost drops the server's fourth ACK: the client repeats its
// third ACK until the server answers again (§3.2).
func TestFourthAckLost(t *testing.T) {
	cli, srv, l, _, now := establishedPair(t)
	id, err := cli.AddSubflow(now, netip.AddrPortFrom(clientAddr[1], 0), serverAP, false)
	if err != nil {
		t.Fatal(err)
	}
	sid := swap(id)
	syn := one(t, cli, now)
	l.Input(now, sid, &syn)
	synack := one(t, srv, now)
	cli.Input(now, id, &synack)
	ack := one(t, cli, now)
	srv.Input(now, sid, &ack)
	_ = one(t, srv, now) // the fourth ACK, lost
	sf := cli.lookup(id)
	if sf.fully || sf.ack3At.IsZero() {
		t.Fatal("no third-ACK repetition pending")
	}
	now = sf.ack3At
	var again *tcp.Segment
	segs := drain(t, cli, now)
	for i := range segs {
		if segs[i].id == id {
			again = &segs[i].seg
		}
	}
	if again == nil {
		t.Fatalf("no repetition on the join: %v", describe(segs))
	}
	if m := opts(again); !m.Has(wire.SubtypeMPJoin) || m.MPJoin.Form != wire.MPJoinACK {
		t.Fatalf("repetition %v", describe(segs))
	}
	srv.Input(now, sid, again)
	for _, o := range drain(t, srv, now) {
		if o.id == sid {
			cli.Input(now, id, &o.seg)
		}
	}
	if !sf.fully || !sf.ack3At.IsZero() {
		t.Fatal("client subflow not established by the repeated exchange")
	}
}
