package stack_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

func pfx(s string) netip.Prefix  { return netip.MustParsePrefix(s) }
func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func addr(s string) netip.Addr   { return netip.MustParseAddr(s) }
func seeded(seed uint64) io.Reader {
	return rand.NewChaCha8([32]byte{0: byte(seed), 1: byte(seed >> 8), 31: 7})
}

// newStack returns a Stack with deterministic randomness.
func newStack(tb testing.TB, seed uint64, tcfg tcp.Config) *stack.Stack {
	tb.Helper()
	s, err := stack.New(stack.Config{TCP: tcfg, Rand: seeded(seed)})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// node is a host of a test network.
type node struct {
	st   *stack.Stack
	host *sim.Host
}

// addNIC adds an interface to the host and to its stack.
func (nd *node) addNIC(tb testing.TB, name string, addrs ...netip.Prefix) *sim.Interface {
	tb.Helper()
	i := nd.host.AddInterface(name, addrs...)
	if err := nd.st.AddNIC(i); err != nil {
		tb.Fatal(err)
	}
	return i
}

func addNode(tb testing.TB, n *sim.Network, name string, seed uint64, tcfg tcp.Config) *node {
	st := newStack(tb, seed, tcfg)
	return &node{st: st, host: n.AddHost(name, st)}
}

func connect(tb testing.TB, n *sim.Network, a, b *sim.Interface, cfg sim.LinkConfig) *sim.Link {
	tb.Helper()
	l, err := n.Connect(a, b, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// pair is two hosts joined by one link.
type pair struct {
	net          *sim.Network
	a, b         *node
	aAddr, bAddr netip.Addr
	link         *sim.Link
}

func newPair(tb testing.TB, v6 bool, lc impair.Config, tcfg tcp.Config) *pair {
	tb.Helper()
	n := sim.New(sim.Config{Seed: 1})
	p := &pair{net: n, a: addNode(tb, n, "a", 1, tcfg), b: addNode(tb, n, "b", 2, tcfg)}
	ap, bp := pfx("10.0.0.1/24"), pfx("10.0.0.2/24")
	if v6 {
		ap, bp = pfx("2001:db8::1/64"), pfx("2001:db8::2/64")
	}
	p.aAddr, p.bAddr = ap.Addr(), bp.Addr()
	ia := p.a.addNIC(tb, "eth0", ap)
	ib := p.b.addNIC(tb, "eth0", bp)
	p.link = connect(tb, n, ia, ib, sim.Symmetric(lc))
	return p
}

// at runs f in the simulation at the current time and returns at once.
func at(n *sim.Network, f func(now time.Time)) { n.At(n.Now(), f) }

// peer is an application on one end of a connection: it writes src,
// reads everything into got, and closes its side once src is written.
type peer struct {
	c          *stack.Conn
	src        []byte
	off        int
	got        bytes.Buffer
	eof        bool
	closeAfter bool // Close (rather than CloseWrite) after src is written
	closed     bool
	events     []tcp.EventKind
	err        error
	buf        [4096]byte
}

// pump moves data for p at now: reads what is there, writes what fits,
// and half-closes once everything is written.
func (p *peer) pump(now time.Time) {
	c := p.c
	if c == nil {
		return
	}
	for {
		n, err := c.Read(now, p.buf[:])
		p.got.Write(p.buf[:n])
		if err == io.EOF {
			p.eof = true
		}
		if n == 0 || err != nil {
			break
		}
	}
	for p.off < len(p.src) {
		n, err := c.Write(now, p.src[p.off:])
		p.off += n
		if n == 0 || err != nil {
			break
		}
	}
	if p.off == len(p.src) && !p.closed && (p.eof || !p.closeAfter) {
		p.closed = true
		if p.closeAfter {
			c.Close(now)
		} else {
			c.CloseWrite(now)
		}
	}
}

// handler returns an OnEvent callback that pumps p on every event.
func (p *peer) handler() func(time.Time, *stack.Conn, tcp.Event) {
	return func(now time.Time, c *stack.Conn, ev tcp.Event) {
		p.c = c
		p.events = append(p.events, ev.Kind)
		if ev.Kind == tcp.EventClosed {
			p.err = ev.Err
			return
		}
		p.pump(now)
	}
}

func randBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{0: byte(seed), 9: 1}).Read(b)
	return b
}

// nicOf returns the stack's NIC as a sim interface.
func nicOf(c *stack.Conn) *sim.Interface { return c.NIC().(*sim.Interface) }
