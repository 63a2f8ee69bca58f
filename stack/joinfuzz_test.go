package stack_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/wire"
)

// mpFake is an MPTCP client and server on fake NICs, joined by hand,
// with an established connection whose server side announced
// 10.0.0.3:7100 (so the server listens there for joins).
type mpFake struct {
	cli, srv       *stack.Stack
	cliNIC, srvNIC *fakeNIC
	conn           *stack.MPConn // the client's
	now            time.Time
}

func newMPFake(tb testing.TB) *mpFake {
	tb.Helper()
	f := &mpFake{now: t0}
	f.cli, f.cliNIC = fakeHost(tb, 1, pfx("10.0.0.1/24"))
	f.srv, f.srvNIC = fakeHost(tb, 2, pfx("10.0.0.2/24"), pfx("10.0.0.3/24"))
	enableMPTCP(tb, f.cli, 1, nil, nil)
	var srv *stack.MPConn
	enableMPTCP(tb, f.srv, 2, nil, nil)
	if _, err := f.srv.ListenMPTCP(f.now, ap("10.0.0.2:80"), &stack.MPListenOptions{
		OnAccept: func(_ time.Time, l *stack.MPListener) { srv, _ = l.Accept() },
	}); err != nil {
		tb.Fatal(err)
	}
	c, err := f.cli.DialMPTCP(f.now, ap("10.0.0.2:80"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	f.conn = c
	f.shuttle()
	if _, err := c.Write(f.now, []byte("hello")); err != nil {
		tb.Fatal(err)
	}
	f.shuttle()
	if srv == nil {
		tb.Fatal("no connection")
	}
	if _, err := srv.Announce(f.now, ap("10.0.0.3:7100")); err != nil {
		tb.Fatal(err)
	}
	f.shuttle()
	return f
}

func (f *mpFake) shuttle() {
	for range 100 {
		a, b := f.cliNIC.take(), f.srvNIC.take()
		if len(a) == 0 && len(b) == 0 {
			return
		}
		for _, p := range a {
			f.srv.Receive(f.now, f.srvNIC, p)
		}
		for _, p := range b {
			f.cli.Receive(f.now, f.cliNIC, p)
		}
	}
}

// toJoinPort wraps TCP segment seg in an IPv4 packet from 10.0.0.1 to
// 10.0.0.3, sets its destination port to 7100 and its checksums.
func toJoinPort(seg []byte) []byte {
	pkt := make([]byte, 20+len(seg))
	ip := wire.IPv4(pkt)
	pkt[0] = 0x45
	ip.SetTotalLen(uint16(len(pkt)))
	ip.SetDontFragment(true)
	ip.SetTTL(64)
	ip.SetProtocol(wire.IPProtocolTCP)
	ip.SetSrc(addr("10.0.0.1"))
	ip.SetDst(addr("10.0.0.3"))
	ip.SetChecksum()
	copy(pkt[20:], seg)
	if len(seg) >= 20 {
		binary.BigEndian.PutUint16(pkt[22:], 7100)
		fixTCP(pkt)
	}
	return pkt
}

// FuzzJoinPort feeds the listener of an announced port arbitrary TCP
// segments: nothing panics, the established connection lives on, a SYN
// moves one of the port's counters at most, and what the server sends
// back is well formed.
func FuzzJoinPort(f *testing.F) {
	fp := newMPFake(f)
	// The client's MP_JOIN SYN to the port, an MP_CAPABLE SYN, a plain
	// SYN.
	if _, err := fp.conn.AddSubflow(fp.now, netip.AddrPort{}, ap("10.0.0.3:7100"), false); err != nil {
		f.Fatal(err)
	}
	if _, err := fp.cli.DialMPTCP(fp.now, ap("10.0.0.3:7100"), nil); err != nil {
		f.Fatal(err)
	}
	for _, p := range fp.cliNIC.take() {
		f.Add([]byte(tcpOf(p)))
	}
	f.Add([]byte(tcpOf(synFrom(f, pfx("10.0.0.1/24"), ap("10.0.0.3:7100")))))
	f.Add(make([]byte, 20))
	f.Fuzz(func(t *testing.T, seg []byte) {
		fp := newMPFake(t)
		before := fp.srv.MPStats()
		fp.srv.Receive(fp.now, fp.srvNIC, toJoinPort(seg))
		fp.now = fp.now.Add(time.Second)
		fp.srv.Timer(fp.now)
		after := fp.srv.MPStats()
		moved := (after.JoinPortSynRx - before.JoinPortSynRx) + (after.MismatchPortSynRx - before.MismatchPortSynRx) +
			(after.EndpAttempt - before.EndpAttempt)
		if moved > 1 {
			t.Errorf("one segment moved the port counters from %+v to %+v", before, after)
		}
		for _, out := range fp.srvNIC.take() {
			if err := wire.VerifyChecksums(out); err != nil {
				t.Errorf("sent a packet with bad checksums: %v", err)
			}
		}
		if fp.conn.Released() {
			t.Errorf("the established connection ended")
		}
	})
}
