package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// fakePair is a client and a server stack joined by hand through their
// fake NICs.
type fakePair struct {
	cli, srv       *stack.Stack
	cliNIC, srvNIC *fakeNIC
	now            time.Time
	conn           *stack.Conn // the client's connection
	accepted       *stack.Conn
}

func newFakePair(tb testing.TB, v6 bool) *fakePair {
	cp, sp, dst := pfx("10.0.0.1/24"), pfx("10.0.0.2/24"), ap("10.0.0.2:80")
	if v6 {
		cp, sp, dst = pfx("2001:db8::1/64"), pfx("2001:db8::2/64"), ap("[2001:db8::2]:80")
	}
	f := &fakePair{now: t0}
	f.cli, f.cliNIC = fakeHost(tb, 1, cp)
	f.srv, f.srvNIC = fakeHost(tb, 2, sp)
	if _, err := f.srv.Listen(netip.AddrPortFrom(netip.Addr{}, 80), &stack.ListenOptions{
		OnAccept: func(now time.Time, l *stack.Listener) { f.accepted, _ = l.Accept() },
	}); err != nil {
		tb.Fatal(err)
	}
	c, err := f.cli.Dial(f.now, dst, nil)
	if err != nil {
		tb.Fatal(err)
	}
	f.conn = c
	f.shuttle()
	return f
}

// shuttle delivers queued packets both ways until both sides are quiet.
func (f *fakePair) shuttle() {
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

// FuzzReceive feeds a server stack, which has a listener and an
// established connection, arbitrary packets from the client's address.
// Nothing may panic, every counted packet lands in exactly one counter,
// and everything the stack sends is a well-formed packet that fits the MTU.
func FuzzReceive(f *testing.F) {
	for _, v6 := range []bool{false, true} {
		fp := newFakePair(f, v6)
		// A data segment of the established connection.
		fp.conn.Write(fp.now, []byte("hello"))
		for _, p := range fp.cliNIC.take() {
			f.Add(p)
		}
		// A SYN for a new connection and one for a closed port.
		dst := netip.AddrPortFrom(fp.accepted.LocalAddr().Addr(), 80)
		src := pfx("10.0.0.1/24")
		if v6 {
			src = pfx("2001:db8::1/64")
		}
		f.Add(synFrom(f, src, dst))
		f.Add(synFrom(f, src, netip.AddrPortFrom(dst.Addr(), 81)))
	}
	f.Add([]byte{0x45})
	f.Add([]byte{0x60, 0, 0, 0, 0, 0, 6, 64})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		v6 := len(pkt) > 0 && pkt[0]>>4 == 6
		fp := newFakePair(t, v6)
		if fp.accepted == nil {
			t.Fatal("no connection")
		}
		before := fp.srv.Stats()
		fp.srv.Receive(fp.now, fp.srvNIC, pkt)
		fp.now = fp.now.Add(time.Second)
		fp.srv.Timer(fp.now)
		after := fp.srv.Stats()
		drops := func(s stack.Stats) uint64 {
			return s.Malformed + s.BadIPChecksum + s.BadChecksum + s.BadOptions + s.Fragments + s.NotTCP + s.NotLocal + s.BadAddress
		}
		if after.PacketsIn-before.PacketsIn != 1 || (after.SegmentsIn-before.SegmentsIn)+(drops(after)-drops(before)) != 1 {
			t.Errorf("one packet moved the counters from %+v to %+v", before, after)
		}
		for _, out := range fp.srvNIC.take() {
			if err := wire.VerifyChecksums(out); err != nil {
				t.Errorf("sent a packet with bad checksums: %v", err)
			}
			if len(out) > fp.srvNIC.mtu {
				t.Errorf("sent %d bytes over a %d-byte MTU", len(out), fp.srvNIC.mtu)
			}
		}
		if fp.accepted.State() != tcp.StateEstablished && fp.accepted.Err() == nil && fp.accepted.State() != tcp.StateCloseWait {
			t.Errorf("connection in %v without an error", fp.accepted.State())
		}
	})
}
