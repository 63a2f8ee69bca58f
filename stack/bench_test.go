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
	"github.com/gomptcp/mptcp/wire"
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
// state. It reports how fast virtual time runs (sim-s/wall-s, and per
// second of the process's CPU time, sim-s/cpu-s), the goodput
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
	cpu0, cpuOK := cpuTime()
	start := time.Now()
	for b.Loop() {
		p.net.RunFor(10 * time.Millisecond)
	}
	wall := time.Since(start).Seconds()
	cpu1, _ := cpuTime()
	runtime.ReadMemStats(&ms1)
	virt := p.net.Now().Sub(virt0).Seconds()
	segs := p.a.st.Stats().SegmentsOut + p.b.st.Stats().SegmentsOut - segs0
	if segs == 0 {
		b.Fatal("no segments in the measured interval")
	}
	b.ReportMetric(virt/wall, "sim-s/wall-s")
	if cpuOK && cpu1 > cpu0 {
		// On a busy machine the process's CPU time is the steadier
		// measure: it leaves out the time other processes ran.
		b.ReportMetric(virt/(cpu1-cpu0).Seconds(), "sim-s/cpu-s")
	}
	b.ReportMetric(float64(k.received-rx0)*8/virt/1e6, "Mbit/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(segs), "allocs/seg")
	b.ReportMetric(float64(segs)/wall, "segs/s")
}

// BenchmarkIdleConnMemory opens 1000 connections between two stacks and
// reports the heap they hold once idle, per connection end (each
// connection is two ends, one per stack): B/conn-end counts all the heap
// that grew, and so also the simulated links' packet buffers, which grow
// to hold the 1000 SYNs (then SYN-ACKs, then ACKs) in flight at once;
// B/conn-end-conns counts the connections alone, the links' buffers having
// grown beforehand to the same size by carrying a burst of as many other
// packets (UDP, which the stacks drop).
func BenchmarkIdleConnMemory(b *testing.B) {
	const conns = 1000
	var perEnd, perEndConns float64
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
		var ms0, msWarm, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		at(n, func(time.Time) {
			for range conns {
				for _, p := range []struct {
					nic      *sim.Interface
					src, dst netip.Addr
				}{{ia, addr("10.0.0.1"), addr("10.0.0.2")}, {ic, addr("10.0.0.2"), addr("10.0.0.1")}} {
					if err := p.nic.Send(udpPacket(p.src, p.dst)); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		n.RunFor(time.Second)
		if got := a.st.Stats().NotTCP + c.st.Stats().NotTCP; got != 2*conns {
			b.Fatalf("the stacks saw %d of the %d UDP packets", got, 2*conns)
		}
		runtime.GC()
		runtime.ReadMemStats(&msWarm)
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
		perEndConns = float64(ms1.HeapAlloc-msWarm.HeapAlloc) / (2 * conns)
		runtime.KeepAlive(n)
	}
	b.ReportMetric(perEnd, "B/conn-end")
	b.ReportMetric(perEndConns, "B/conn-end-conns")
}

// udpPacket is an IPv4 packet with an empty UDP datagram (checksum zero:
// none, RFC 768) from src to dst.
func udpPacket(src, dst netip.Addr) []byte {
	h := wire.IPv4Header{TTL: 64, Protocol: wire.IPProtocolUDP, Src: src, Dst: dst, PayloadLen: 8}
	return append(h.Append(nil), 0, 9, 0, 9, 0, 8, 0, 0)
}
