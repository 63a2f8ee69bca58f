package stack_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// bulk is a sender that keeps its send buffer full and a receiver that
// reads everything, without allocating.
type bulk struct {
	src      []byte
	buf      []byte
	received int
}

func (k *bulk) sender(now time.Time, c *stack.Conn, ev tcp.Event) {
	if ev.Kind == tcp.EventEstablished || ev.Kind == tcp.EventWritable {
		for {
			n, err := c.Write(now, k.src)
			if n == 0 || err != nil {
				return
			}
		}
	}
}

func (k *bulk) receiver(now time.Time, c *stack.Conn, ev tcp.Event) {
	if ev.Kind != tcp.EventReadable {
		return
	}
	for {
		n, err := c.Read(now, k.buf)
		k.received += n
		if n == 0 || err != nil {
			return
		}
	}
}

// BenchmarkBulk100M20ms runs a bulk transfer between two stacks over a
// 100 Mbit/s link with a 20 ms RTT and a 200-packet queue, driven by the
// simulator alone. One iteration is 10 ms of virtual time in steady
// state. It reports how fast virtual time runs (sim-s/wall-s), the goodput
// in virtual time, and heap allocations per segment sent by either stack.
func BenchmarkBulk100M20ms(b *testing.B) {
	lc := impair.Config{Rate: 100_000_000, Delay: 10 * time.Millisecond, QueuePackets: 200}
	p := newPair(b, false, lc, tcp.Config{})
	k := &bulk{src: make([]byte, 64<<10), buf: make([]byte, 64<<10)}
	if _, err := p.b.st.Listen(netip.AddrPortFrom(p.bAddr, 80), &stack.ListenOptions{OnEvent: k.receiver}); err != nil {
		b.Fatal(err)
	}
	at(p.net, func(now time.Time) {
		if _, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 80), &stack.DialOptions{OnEvent: k.sender}); err != nil {
			b.Fatal(err)
		}
	})
	p.net.RunFor(3 * time.Second) // past slow start: steady state from here
	if k.received == 0 {
		b.Fatal("no data moved during warm-up")
	}
	segs0 := p.a.st.Stats().SegmentsOut + p.b.st.Stats().SegmentsOut
	rx0, virt0 := k.received, p.net.Now()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		p.net.RunFor(10 * time.Millisecond)
	}
	wall := time.Since(start).Seconds()
	runtime.ReadMemStats(&ms1)
	virt := p.net.Now().Sub(virt0).Seconds()
	segs := p.a.st.Stats().SegmentsOut + p.b.st.Stats().SegmentsOut - segs0
	if segs == 0 {
		b.Fatal("no segments in the measured interval")
	}
	b.ReportMetric(virt/wall, "sim-s/wall-s")
	b.ReportMetric(float64(k.received-rx0)*8/virt/1e6, "Mbit/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(segs), "allocs/seg")
	b.ReportMetric(float64(segs)/wall, "segs/s")
}

// BenchmarkIdleConnMemory opens 1000 connections between two stacks and
// reports the heap they hold once idle, per connection end (each
// connection is two ends, one per stack).
func BenchmarkIdleConnMemory(b *testing.B) {
	const conns = 1000
	var perEnd float64
	for b.Loop() {
		n := sim.New(sim.Config{Seed: 1})
		a, c := addNode(b, n, "a", 1, tcp.Config{}), addNode(b, n, "c", 2, tcp.Config{})
		ia := a.addNIC(b, "eth0", pfx("10.0.0.1/24"))
		ic := c.addNIC(b, "eth0", pfx("10.0.0.2/24"))
		connect(b, n, ia, ic, sim.Symmetric(impair.Config{Delay: time.Millisecond}))
		if _, err := c.st.Listen(ap("10.0.0.2:80"), &stack.ListenOptions{Backlog: conns,
			OnAccept: func(now time.Time, l *stack.Listener) { l.Accept() }}); err != nil {
			b.Fatal(err)
		}
		n.RunFor(time.Millisecond)
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		at(n, func(now time.Time) {
			for range conns {
				if _, err := a.st.Dial(now, ap("10.0.0.2:80"), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		n.RunFor(time.Second)
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		if a.st.NumConns() != conns || c.st.NumConns() != conns {
			b.Fatalf("%d and %d connections, want %d", a.st.NumConns(), c.st.NumConns(), conns)
		}
		perEnd = float64(ms1.HeapAlloc-ms0.HeapAlloc) / (2 * conns)
		runtime.KeepAlive(n)
	}
	b.ReportMetric(perEnd, "B/conn-end")
}
