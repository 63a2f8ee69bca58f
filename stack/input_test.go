package stack_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// fakeNIC records what a Stack sends.
type fakeNIC struct {
	index int
	addrs []netip.Prefix
	mtu   int
	down  bool
	sent  [][]byte
}

func (f *fakeNIC) Send(pkt []byte) error {
	if f.down {
		return link.ErrDown
	}
	f.sent = append(f.sent, append([]byte(nil), pkt...))
	return nil
}
func (f *fakeNIC) MTU() int                 { return f.mtu }
func (f *fakeNIC) Addrs() []netip.Prefix    { return f.addrs }
func (f *fakeNIC) Up() bool                 { return !f.down }
func (f *fakeNIC) Name() string             { return "fake" }
func (f *fakeNIC) Index() int               { return f.index }
func (f *fakeNIC) take() (out [][]byte)     { out, f.sent = f.sent, nil; return out }
func newFakeNIC(p ...netip.Prefix) *fakeNIC { return &fakeNIC{index: 1, addrs: p, mtu: 1500} }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeHost is a Stack on a fakeNIC.
func fakeHost(tb testing.TB, seed uint64, p ...netip.Prefix) (*stack.Stack, *fakeNIC) {
	tb.Helper()
	st := newStack(tb, seed, tcp.Config{})
	nic := newFakeNIC(p...)
	if err := st.AddNIC(nic); err != nil {
		tb.Fatal(err)
	}
	return st, nic
}

// synFrom returns the SYN a fresh client stack at src sends to dst.
func synFrom(tb testing.TB, src netip.Prefix, dst netip.AddrPort) []byte {
	tb.Helper()
	st, nic := fakeHost(tb, 9, src)
	if _, err := st.Dial(t0, dst, nil); err != nil {
		tb.Fatal(err)
	}
	out := nic.take()
	if len(out) != 1 {
		tb.Fatalf("client sent %d packets, want a SYN", len(out))
	}
	return out[0]
}

// tcpOf returns the TCP segment of an IPv4 or IPv6 packet without
// extension headers.
func tcpOf(pkt []byte) wire.TCP {
	if pkt[0]>>4 == 4 {
		return wire.TCP(wire.IPv4(pkt).Payload())
	}
	return wire.TCP(wire.IPv6(pkt).Payload())
}

func ipAddrs(pkt []byte) (src, dst netip.Addr) {
	if pkt[0]>>4 == 4 {
		return wire.IPv4(pkt).Src(), wire.IPv4(pkt).Dst()
	}
	return wire.IPv6(pkt).Src(), wire.IPv6(pkt).Dst()
}

// fixTCP recomputes the TCP checksum of pkt.
func fixTCP(pkt []byte) {
	src, dst := ipAddrs(pkt)
	t := tcpOf(pkt)
	t[16], t[17] = 0, 0
	t.SetChecksum(src, dst)
}

// TestReceiveChecks feeds a server stack a valid SYN and damaged variants
// of it and checks which counter each one moves.
func TestReceiveChecks(t *testing.T) {
	type counters struct{ malformed, badIP, badTCP, badOpt, frag, notTCP, notLocal, badAddr uint64 }
	get := func(s stack.Stats) counters {
		return counters{s.Malformed, s.BadIPChecksum, s.BadChecksum, s.BadOptions, s.Fragments, s.NotTCP, s.NotLocal, s.BadAddress}
	}
	tests := []struct {
		name   string
		v6     bool
		mangle func(p []byte) []byte
		want   counters // what moves; all zero means the SYN is answered
	}{
		{"valid", false, func(p []byte) []byte { return p }, counters{}},
		{"valid v6", true, func(p []byte) []byte { return p }, counters{}},
		{"bad TCP checksum", false, func(p []byte) []byte { p[len(p)-1] ^= 0x10; return p }, counters{badTCP: 1}},
		{"bad TCP checksum v6", true, func(p []byte) []byte { p[45] ^= 1; return p }, counters{badTCP: 1}},
		{"bad IP checksum", false, func(p []byte) []byte { p[8]--; return p }, counters{badIP: 1}},
		{"empty", false, func(p []byte) []byte { return nil }, counters{malformed: 1}},
		{"version 5", false, func(p []byte) []byte { p[0] = 0x55; return p }, counters{malformed: 1}},
		{"truncated IP", false, func(p []byte) []byte { return p[:19] }, counters{malformed: 1}},
		{"truncated IPv6", true, func(p []byte) []byte { return p[:50] }, counters{malformed: 1}},
		{"truncated TCP", false, func(p []byte) []byte {
			wire.IPv4(p).SetTotalLen(30)
			wire.IPv4(p).SetChecksum()
			return p[:30]
		}, counters{malformed: 1}},
		{"fragment", false, func(p []byte) []byte {
			wire.IPv4(p).SetMoreFragments(true)
			wire.IPv4(p).SetChecksum()
			return p
		}, counters{frag: 1}},
		{"UDP", false, func(p []byte) []byte {
			wire.IPv4(p).SetProtocol(wire.IPProtocolUDP)
			wire.IPv4(p).SetChecksum()
			return p
		}, counters{notTCP: 1}},
		{"not local", false, func(p []byte) []byte {
			wire.IPv4(p).SetDst(addr("10.0.0.99"))
			wire.IPv4(p).SetChecksum()
			fixTCP(p)
			return p
		}, counters{notLocal: 1}},
		{"multicast source", false, func(p []byte) []byte {
			wire.IPv4(p).SetSrc(addr("224.0.0.1"))
			wire.IPv4(p).SetChecksum()
			fixTCP(p)
			return p
		}, counters{badAddr: 1}},
		{"source port 0", true, func(p []byte) []byte {
			tcpOf(p).SetSrcPort(0)
			fixTCP(p)
			return p
		}, counters{badAddr: 1}},
		{"option length 0", false, func(p []byte) []byte {
			o := tcpOf(p).Options()
			o[0], o[1] = 99, 0
			fixTCP(p)
			return p
		}, counters{badOpt: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv, dst := pfx("10.0.0.1/24"), pfx("10.0.0.2/24"), ap("10.0.0.2:80")
			if tt.v6 {
				cli, srv, dst = pfx("2001:db8::1/64"), pfx("2001:db8::2/64"), ap("[2001:db8::2]:80")
			}
			syn := synFrom(t, cli, dst)
			st, nic := fakeHost(t, 1, srv)
			if _, err := st.Listen(netip.AddrPortFrom(netip.Addr{}, 80), nil); err != nil {
				t.Fatal(err)
			}
			st.Receive(t0, nic, tt.mangle(syn))
			got := get(st.Stats())
			if got != tt.want {
				t.Errorf("counters %+v, want %+v", got, tt.want)
			}
			out := nic.take()
			if tt.want == (counters{}) {
				if len(out) != 1 || tcpOf(out[0]).Flags() != wire.FlagSYN|wire.FlagACK {
					t.Fatalf("sent %d packets, want one SYN-ACK", len(out))
				}
				src, d := ipAddrs(out[0])
				if !wire.TCPChecksumValid(src, d, tcpOf(out[0])) || wire.VerifyChecksums(out[0]) != nil {
					t.Error("SYN-ACK checksums do not verify")
				}
				if st.Stats().PassiveOpens != 1 || st.NumConns() != 1 {
					t.Errorf("passive opens %d, conns %d", st.Stats().PassiveOpens, st.NumConns())
				}
			} else if len(out) != 0 || st.NumConns() != 0 {
				t.Errorf("a dropped packet caused %d packets and %d connections", len(out), st.NumConns())
			}
		})
	}
}

// TestResetForClosedPort checks both forms of the RST of RFC 9293
// §3.10.7.1 and that a RST is never answered.
func TestResetForClosedPort(t *testing.T) {
	syn := synFrom(t, pfx("10.0.0.1/24"), ap("10.0.0.2:81"))
	st, nic := fakeHost(t, 1, pfx("10.0.0.2/24"))
	seq := tcpOf(syn).Seq()

	st.Receive(t0, nic, append([]byte(nil), syn...))
	out := nic.take()
	if len(out) != 1 {
		t.Fatalf("sent %d packets, want a RST", len(out))
	}
	r := tcpOf(out[0])
	if r.Flags() != wire.FlagRST|wire.FlagACK || r.Seq() != 0 || r.Ack() != seq+1 || r.SrcPort() != 81 {
		t.Errorf("RST %v seq %d ack %d, want R. seq 0 ack %d", r.Flags(), r.Seq(), r.Ack(), seq+1)
	}
	if err := wire.VerifyChecksums(out[0]); err != nil {
		t.Errorf("RST checksums: %v", err)
	}

	// An ACK: <SEQ=SEG.ACK><CTL=RST>.
	ack := append([]byte(nil), syn...)
	tcpOf(ack).SetFlags(wire.FlagACK)
	tcpOf(ack).SetAck(12345)
	fixTCP(ack)
	st.Receive(t0, nic, ack)
	out = nic.take()
	if len(out) != 1 || tcpOf(out[0]).Flags() != wire.FlagRST || tcpOf(out[0]).Seq() != 12345 {
		t.Fatalf("answer to an ACK: %d packets", len(out))
	}

	// A RST is not answered.
	rst := append([]byte(nil), syn...)
	tcpOf(rst).SetFlags(wire.FlagRST)
	fixTCP(rst)
	st.Receive(t0, nic, rst)
	if out := nic.take(); len(out) != 0 {
		t.Errorf("a RST was answered with %d packets", len(out))
	}
	if s := st.Stats(); s.NoPort != 3 || s.ResetsSent != 2 {
		t.Errorf("NoPort %d ResetsSent %d, want 3 and 2", s.NoPort, s.ResetsSent)
	}

	// Link down: the RST is not sent, and counted.
	nic.down = true
	st.Receive(t0, nic, append([]byte(nil), syn...))
	if s := st.Stats(); s.DroppedNoRoute != 1 {
		t.Errorf("DroppedNoRoute %d with the link down", s.DroppedNoRoute)
	}
}

// TestLinkEvents checks that address changes reach the Stack and its
// OnLinkEvent callback.
func TestLinkEvents(t *testing.T) {
	var events []link.Event
	st, err := stack.New(stack.Config{Rand: seeded(1), OnLinkEvent: func(now time.Time, nic link.NIC, ev link.Event) {
		events = append(events, ev)
	}})
	if err != nil {
		t.Fatal(err)
	}
	nic := newFakeNIC(pfx("10.0.0.1/24"))
	if err := st.AddNIC(nic); err != nil {
		t.Fatal(err)
	}
	if st.IsLocal(addr("10.0.0.7")) {
		t.Fatal("10.0.0.7 local before it was added")
	}
	nic.addrs = append(nic.addrs, pfx("10.0.0.7/24"))
	st.LinkEvent(t0, nic, link.Event{Kind: link.EventAddrAdded, Addr: pfx("10.0.0.7/24")})
	if !st.IsLocal(addr("10.0.0.7")) || !st.IsLocal(addr("::ffff:10.0.0.7")) || len(st.Addrs()) != 2 {
		t.Errorf("after EventAddrAdded: addrs %v", st.Addrs())
	}
	if len(events) != 1 || events[0].Kind != link.EventAddrAdded {
		t.Errorf("events %v", events)
	}
	if st.NIC(1) != nic || st.NIC(2) != nil {
		t.Error("NIC by index")
	}
}

// TestTimeWaitReuse reopens a connection whose server end is in
// TIME-WAIT with a new SYN from the same port (RFC 6191).
func TestTimeWaitReuse(t *testing.T) {
	p := newPair(t, false, impair.Config{Delay: time.Millisecond}, tcp.Config{})
	var srvs []*peer
	if _, err := p.b.st.Listen(netip.AddrPortFrom(netip.Addr{}, 80), &stack.ListenOptions{
		OnEvent: func(now time.Time, c *stack.Conn, ev tcp.Event) {
			if ev.Kind == tcp.EventEstablished || len(srvs) == 0 {
				srvs = append(srvs, &peer{src: []byte("bye")})
			}
			srvs[len(srvs)-1].handler()(now, c, ev)
		},
	}); err != nil {
		t.Fatal(err)
	}
	dial := func(local netip.AddrPort) *peer {
		cli := &peer{closeAfter: true}
		at(p.net, func(now time.Time) {
			c, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 80), &stack.DialOptions{Local: local, OnEvent: cli.handler()})
			if err != nil {
				t.Fatal(err)
			}
			cli.c = c
		})
		p.net.RunFor(time.Second)
		return cli
	}
	first := dial(netip.AddrPort{})
	if first.got.String() != "bye" || !first.c.Released() {
		t.Fatalf("first connection: got %q, released %v", first.got.String(), first.c.Released())
	}
	if n := p.b.st.NumConns(); n != 1 || srvs[0].c.State() != tcp.StateTimeWait {
		t.Fatalf("server: %d connections, state %v; want one in TIME-WAIT", n, srvs[0].c.State())
	}
	second := dial(first.c.LocalAddr())
	if second.got.String() != "bye" {
		t.Errorf("second connection got %q", second.got.String())
	}
	if s := p.b.st.Stats(); s.TimeWaitReuses != 1 || s.PassiveOpens != 2 || s.ResetsSent != 0 {
		t.Errorf("server stats %+v", s)
	}
}

// TestListenerClose resets connections that were never accepted.
func TestListenerClose(t *testing.T) {
	p := newPair(t, true, impair.Config{Delay: time.Millisecond}, tcp.Config{})
	l, err := p.b.st.Listen(netip.AddrPortFrom(p.bAddr, 80), &stack.ListenOptions{Backlog: 2})
	if err != nil {
		t.Fatal(err)
	}
	clis := make([]*peer, 3)
	for i := range clis {
		clis[i] = &peer{}
		at(p.net, func(now time.Time) {
			c, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 80), &stack.DialOptions{OnEvent: clis[i].handler()})
			if err != nil {
				t.Fatal(err)
			}
			clis[i].c = c
		})
	}
	p.net.RunFor(100 * time.Millisecond)
	if l.Ready() != 2 || l.TCP().SYNsDropped() == 0 {
		t.Fatalf("ready %d, SYNs dropped %d; want a full backlog of 2", l.Ready(), l.TCP().SYNsDropped())
	}
	at(p.net, func(now time.Time) {
		if err := l.Close(now); err != nil {
			t.Error(err)
		}
	})
	p.net.RunFor(100 * time.Millisecond)
	reset := 0
	for _, c := range clis {
		if errors.Is(c.err, tcp.ErrConnectionReset) {
			reset++
		}
	}
	if reset != 2 || p.b.st.NumConns() != 0 {
		t.Errorf("%d clients reset, server has %d connections; want 2 and 0", reset, p.b.st.NumConns())
	}
	// The third client's SYN retransmission now finds no listener.
	p.net.RunFor(5 * time.Second)
	if !errors.Is(clis[2].err, tcp.ErrConnectionRefused) {
		t.Errorf("third client: %v, want refused", clis[2].err)
	}
}

// TestLinkDown keeps a connection over a link outage: segments refused by
// the NIC are counted and retransmitted once it is back.
func TestLinkDown(t *testing.T) {
	p := newPair(t, false, impair.Config{Delay: time.Millisecond, Rate: 10_000_000}, tcp.Config{})
	srv, cli := &peer{}, &peer{src: randBytes(100_000, 9)}
	if _, err := p.b.st.Listen(netip.AddrPortFrom(p.bAddr, 80), &stack.ListenOptions{OnEvent: srv.handler()}); err != nil {
		t.Fatal(err)
	}
	at(p.net, func(now time.Time) {
		c, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 80), &stack.DialOptions{OnEvent: cli.handler()})
		if err != nil {
			t.Fatal(err)
		}
		cli.c = c
	})
	p.net.RunFor(30 * time.Millisecond)
	at(p.net, func(time.Time) { p.link.SetUp(false) })
	p.net.RunFor(2 * time.Second)
	if srv.got.Len() == 0 || srv.got.Len() == 100_000 {
		t.Fatalf("server got %d bytes before the outage ended: the outage missed the transfer", srv.got.Len())
	}
	at(p.net, func(time.Time) { p.link.SetUp(true) })
	runUntil(t, p.net, 120*time.Second, func() bool { return srv.eof })
	if !bytes.Equal(srv.got.Bytes(), cli.src) || p.a.st.Stats().SendErrors == 0 {
		t.Errorf("server got %d bytes, client send errors %d", srv.got.Len(), p.a.st.Stats().SendErrors)
	}
}
