package stack_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// enableMPTCP turns MPTCP on with keys from a seeded source.
func enableMPTCP(tb testing.TB, st *stack.Stack, seed uint64, pm stack.PathManager, onEvent func(time.Time, stack.PMEvent)) {
	tb.Helper()
	err := st.EnableMPTCP(stack.MPConfig{
		Meta:        meta.Config{Rand: rand.NewChaCha8([32]byte{byte(seed), 0x4d})},
		PathManager: pm,
		OnEvent:     onEvent,
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestMPTCPTwoPaths: a sans-IO MPTCP connection between two stacks with
// two paths: the kernel path manager's subflow endpoint opens the second
// subflow, the PMEvents come in Linux's order, data is exact both ways,
// and the close leaves nothing in the tables.
func TestMPTCPTwoPaths(t *testing.T) {
	n := sim.New(sim.Config{Seed: 3})
	a, b := addNode(t, n, "a", 1, tcp.Config{}), addNode(t, n, "b", 2, tcp.Config{})
	ia0, ib0 := a.addNIC(t, "eth0", pfx("10.0.1.1/24")), b.addNIC(t, "eth0", pfx("10.0.1.2/24"))
	ia1, ib1 := a.addNIC(t, "eth1", pfx("10.0.2.1/24")), b.addNIC(t, "eth1", pfx("10.0.2.2/24"))
	lc := sim.Symmetric(impair.Config{Rate: 20e6, Delay: 5 * time.Millisecond})
	connect(t, n, ia0, ib0, lc)
	connect(t, n, ia1, ib1, lc)
	var evs []stack.PMEvent
	// The client's subflow endpoint 10.0.2.1 makes the KernelPM open a
	// subflow from it to the server's initial address; eth1 has no route
	// to 10.0.1.0/24, so it leaves through eth0 with that source.
	enableMPTCP(t, a.st, 1, stack.NewKernelPM([]stack.PMEndpoint{{ID: 1, Addr: addr("10.0.2.1"), Flags: stack.EndpointSubflow}},
		stack.PMLimits{Subflows: 2}), func(_ time.Time, ev stack.PMEvent) { evs = append(evs, ev) })
	enableMPTCP(t, b.st, 2, nil, nil)

	want := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{9}).Read(want)
	bt := startBulk(t, n, a, b, ap("10.0.1.2:80"), want)
	n.RunFor(5 * time.Second)
	if !bytes.Equal(bt.got, want) {
		t.Fatalf("server read %d bytes, want the %d sent", len(bt.got), len(want))
	}
	srv, cli := bt.srv, bt.cli
	if srv == nil || cli.Info().SubflowsTotal != 2 {
		t.Fatalf("accepted %v, client subflows %d", srv != nil, cli.Info().SubflowsTotal)
	}
	at(n, func(now time.Time) { srv.Close(now) })
	n.RunFor(5 * time.Minute)
	var types []stack.PMEventType
	for _, e := range evs {
		types = append(types, e.Type)
	}
	wantTypes := []stack.PMEventType{stack.PMEventCreated, stack.PMEventEstablished, stack.PMEventSubflowEstablished, stack.PMEventSubflowClosed, stack.PMEventClosed}
	if !slicesEqual(types, wantTypes) {
		t.Errorf("events %v, want %v", types, wantTypes)
	}
	if !cli.Released() || a.st.NumConns() != 0 || b.st.NumConns() != 0 {
		t.Errorf("after close: released %v, %d and %d TCP connections left", cli.Released(), a.st.NumConns(), b.st.NumConns())
	}
	cnt := 0
	a.st.MPConns(func(*stack.MPConn) bool { cnt++; return true })
	b.st.MPConns(func(*stack.MPConn) bool { cnt++; return true })
	if cnt != 0 {
		t.Errorf("%d MPTCP connections left in the tables", cnt)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mpBulk is an MPTCP transfer of startBulk: the client writes want and
// closes; the server reads everything into got.
type mpBulk struct {
	cli, srv *stack.MPConn
	got      []byte
}

// startBulk has b listen for MPTCP on port 80 of every address and a
// dial dst and send want, from the simulation's next event on.
func startBulk(t *testing.T, n *sim.Network, a, b *node, dst netip.AddrPort, want []byte) *mpBulk {
	t.Helper()
	bt := &mpBulk{}
	buf := make([]byte, 64<<10)
	at(n, func(now time.Time) {
		_, err := b.st.ListenMPTCP(now, ap("0.0.0.0:80"), &stack.MPListenOptions{
			OnAccept: func(now time.Time, l *stack.MPListener) { bt.srv, _ = l.Accept() },
			OnEvent: func(now time.Time, c *stack.MPConn, ev meta.Event) {
				for {
					k, err := c.Read(now, buf)
					bt.got = append(bt.got, buf[:k]...)
					if k == 0 || err != nil {
						break
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	sent := 0
	at(n, func(now time.Time) {
		var err error
		bt.cli, err = a.st.DialMPTCP(now, dst, &stack.MPDialOptions{OnEvent: func(now time.Time, c *stack.MPConn, ev meta.Event) {
			for sent < len(want) {
				k, _ := c.Write(now, want[sent:])
				if k == 0 {
					return
				}
				sent += k
			}
			if ev.Kind != meta.EventClosed {
				c.Close(now)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
	})
	return bt
}

// BenchmarkIdleMPTCPConnMemory opens 1000 MPTCP connections between two
// stacks and reports the heap they hold once established and idle, per
// connection end (B/conn-end; the simulated links' packet buffers grow
// with the handshakes in flight and are counted too).
func BenchmarkIdleMPTCPConnMemory(b *testing.B) {
	const conns = 1000
	var perEnd float64
	for b.Loop() {
		n := sim.New(sim.Config{Seed: 1})
		a, c := addNode(b, n, "a", 1, tcp.Config{}), addNode(b, n, "c", 2, tcp.Config{})
		ia := a.addNIC(b, "eth0", pfx("10.0.0.1/24"))
		ic := c.addNIC(b, "eth0", pfx("10.0.0.2/24"))
		connect(b, n, ia, ic, sim.Symmetric(impair.Config{Delay: time.Millisecond}))
		enableMPTCP(b, a.st, 1, nil, nil)
		enableMPTCP(b, c.st, 2, nil, nil)
		var accepted []*stack.MPConn
		at(n, func(now time.Time) {
			if _, err := c.st.ListenMPTCP(now, ap("10.0.0.2:80"), &stack.MPListenOptions{Backlog: conns,
				OnAccept: func(now time.Time, l *stack.MPListener) {
					for {
						mc, ok := l.Accept()
						if !ok {
							return
						}
						accepted = append(accepted, mc)
					}
				}}); err != nil {
				b.Fatal(err)
			}
		})
		n.RunFor(time.Millisecond)
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		dialed := make([]*stack.MPConn, 0, conns)
		at(n, func(now time.Time) {
			for range conns {
				mc, err := a.st.DialMPTCP(now, ap("10.0.0.2:80"), nil)
				if err != nil {
					b.Fatal(err)
				}
				dialed = append(dialed, mc)
			}
		})
		n.RunFor(time.Second)
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		if len(accepted) != conns {
			b.Fatalf("%d accepted, want %d", len(accepted), conns)
		}
		perEnd = float64(ms1.HeapAlloc-ms0.HeapAlloc) / (2 * conns)
		runtime.KeepAlive(dialed)
		runtime.KeepAlive(n)
	}
	b.ReportMetric(perEnd, "B/conn-end")
}

// tosRecorder is a Middleware that records the IPv4 TOS / IPv6 Traffic
// Class byte of each TCP packet with payload, and whether its checksums
// verify.
type tosRecorder struct {
	tos []uint8
	bad int
}

func (r *tosRecorder) Process(_ time.Time, pkt []byte, out link.Emitter) {
	if pkt[0]>>4 == 4 {
		ip := wire.IPv4(pkt)
		if len(ip.Payload()) > 40 {
			r.tos = append(r.tos, pkt[1])
			if !ip.ChecksumValid() || !wire.TCPChecksumValid(ip.Src(), ip.Dst(), ip.Payload()) {
				r.bad++
			}
		}
	} else if len(pkt) > 40+40 {
		ip := wire.IPv6(pkt)
		r.tos = append(r.tos, uint8(binary.BigEndian.Uint16(pkt[0:2])>>4))
		if !wire.TCPChecksumValid(ip.Src(), ip.Dst(), pkt[40:]) {
			r.bad++
		}
	}
	out.Emit(pkt)
}
func (r *tosRecorder) Poll(time.Time, link.Emitter) {}
func (r *tosRecorder) Deadline() time.Time          { return time.Time{} }

// TestSetTOS: Conn.SetTOS marks the data packets of a connection with the
// DSCP given (the ECN bits are left zero), over IPv4 and IPv6, with
// checksums that verify.
func TestSetTOS(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		p := newPair(t, v6, impair.Config{Delay: time.Millisecond}, tcp.Config{})
		rec := &tosRecorder{}
		p.link.AB().AddIngress(rec)
		var c *stack.Conn
		at(p.net, func(now time.Time) {
			if _, err := p.b.st.Listen(netip.AddrPortFrom(p.bAddr, 80), nil); err != nil {
				t.Fatal(err)
			}
			var err error
			c, err = p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 80), nil)
			if err != nil {
				t.Fatal(err)
			}
			c.SetTOS(0xb8 | 3) // EF, with ECN bits that must not show
		})
		p.net.RunFor(100 * time.Millisecond)
		at(p.net, func(now time.Time) { c.Write(now, make([]byte, 3000)) })
		p.net.RunFor(100 * time.Millisecond)
		if len(rec.tos) < 2 || rec.bad != 0 {
			t.Fatalf("v6 %v: %d data packets seen, %d with bad checksums", v6, len(rec.tos), rec.bad)
		}
		for _, tos := range rec.tos {
			if tos != 0xb8 {
				t.Errorf("v6 %v: TOS %#x, want 0xb8", v6, tos)
			}
		}
	}
}
