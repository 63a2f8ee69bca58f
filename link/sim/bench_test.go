package sim_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/sim"
)

// pacer sends a fixed packet every interval and counts what it receives.
// It does not allocate.
type pacer struct {
	nic      link.NIC
	pkt      []byte
	next     time.Time
	interval time.Duration
	received int
}

func (p *pacer) Receive(time.Time, link.NIC, []byte)       { p.received++ }
func (p *pacer) LinkEvent(time.Time, link.NIC, link.Event) {}
func (p *pacer) Deadline() time.Time {
	if p.pkt == nil {
		return time.Time{}
	}
	return p.next
}
func (p *pacer) Timer(now time.Time) {
	for !p.next.After(now) {
		_ = p.nic.Send(p.pkt)
		p.next = p.next.Add(p.interval)
	}
}

// BenchmarkTwoHop sends 1500-byte packets from h1 through router r to h2
// over two 10 Gbit/s links with 1ms delay; one packet per iteration.
func BenchmarkTwoHop(b *testing.B) {
	n := sim.New(sim.Config{Seed: 1})
	const interval = 2 * time.Microsecond
	src, dst := &pacer{interval: interval, next: n.Now()}, &pacer{}
	h1, h2 := n.AddHost("h1", src), n.AddHost("h2", dst)
	i1 := h1.AddInterface("eth0", pfx("10.1.0.1/24"))
	i2 := h2.AddInterface("eth0", pfx("10.2.0.1/24"))
	r := n.AddRouter("r")
	cfg := sim.Symmetric(impair.Config{Rate: 10_000_000_000, Delay: time.Millisecond, QueuePackets: 1000})
	mustConnect(b, n, i1, r.AddInterface("a", pfx("10.1.0.254/24")), cfg)
	mustConnect(b, n, r.AddInterface("b", pfx("10.2.0.254/24")), i2, cfg)
	src.nic = i1
	src.pkt = pkttest.UDP(netip.MustParseAddrPort("10.1.0.1:1"), netip.MustParseAddrPort("10.2.0.1:2"), make([]byte, 1472))
	n.RunFor(10 * time.Millisecond) // fill the pipe: steady state from here
	startEvents, startRx := n.Events(), dst.received
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		n.RunFor(interval)
	}
	elapsed := time.Since(start).Seconds()
	pkts := dst.received - startRx
	if pkts < b.N-1 {
		b.Fatalf("delivered %d packets in %d iterations", pkts, b.N)
	}
	b.ReportMetric(float64(pkts)/elapsed, "pkts/s")
	b.ReportMetric(float64(n.Events()-startEvents)/elapsed, "events/s")
	b.ReportMetric(float64(n.Events()-startEvents)/float64(b.N), "events/pkt")
}

// ticker is a Node with a periodic timer.
type ticker struct {
	next   time.Time
	period time.Duration
}

func (t *ticker) Receive(time.Time, link.NIC, []byte)       {}
func (t *ticker) LinkEvent(time.Time, link.NIC, link.Event) {}
func (t *ticker) Deadline() time.Time                       { return t.next }
func (t *ticker) Timer(now time.Time)                       { t.next = now.Add(t.period) }

// BenchmarkEvents runs the event loop over 1000 hosts whose timers have
// periods between 1ms and 2ms; each iteration runs 1ms of virtual time,
// about 670 events.
func BenchmarkEvents(b *testing.B) {
	n := sim.New(sim.Config{})
	for i := range 1000 {
		n.AddHost("h", &ticker{next: n.Now(), period: time.Duration(1000+i) * time.Microsecond})
	}
	n.RunFor(time.Second)
	start, events := time.Now(), n.Events()
	b.ReportAllocs()
	for b.Loop() {
		n.RunFor(time.Millisecond)
	}
	ran := float64(n.Events() - events)
	b.ReportMetric(ran/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/ran, "ns/event")
}

// bulkSender sends a 1500-byte TCP segment every interval with transmit
// checksum offload and counts the acknowledgements it receives.
type bulkSender struct {
	nic      *sim.Interface
	pkt      []byte
	next     time.Time
	interval time.Duration
	acks     int
}

func (s *bulkSender) Receive(time.Time, link.NIC, []byte)       { s.acks++ }
func (s *bulkSender) LinkEvent(time.Time, link.NIC, link.Event) {}
func (s *bulkSender) Deadline() time.Time                       { return s.next }
func (s *bulkSender) Timer(now time.Time) {
	for !s.next.After(now) {
		_ = s.nic.SendOffload(s.pkt)
		s.next = s.next.Add(s.interval)
	}
}

// bulkReceiver answers every second segment with a 40-byte TCP
// acknowledgement, sent with checksum offload.
type bulkReceiver struct {
	nic      *sim.Interface
	ack      []byte
	received int
}

func (r *bulkReceiver) Receive(_ time.Time, _ link.NIC, _ []byte) {
	r.received++
	if r.received%2 == 0 {
		_ = r.nic.SendOffload(r.ack)
	}
}
func (r *bulkReceiver) LinkEvent(time.Time, link.NIC, link.Event) {}
func (r *bulkReceiver) Deadline() time.Time                       { return time.Time{} }
func (r *bulkReceiver) Timer(time.Time)                           {}

// BenchmarkBulkLink is the simulator's share of a bulk TCP transfer over
// a 100 Mbit/s link with a 20 ms RTT: 1500-byte TCP segments at the
// link's rate one way, an acknowledgement for every second one back, all
// with checksum offload. One iteration is one segment's transmission time
// (120 µs of virtual time): a segment and half an acknowledgement each
// entering the link, crossing it and being delivered.
func BenchmarkBulkLink(b *testing.B) {
	n := sim.New(sim.Config{Seed: 1})
	const interval = 120 * time.Microsecond
	src, dst := &bulkSender{interval: interval, next: n.Now()}, &bulkReceiver{}
	h1, h2 := n.AddHost("h1", src), n.AddHost("h2", dst)
	src.nic = h1.AddInterface("eth0", pfx("10.0.0.1/24"))
	dst.nic = h2.AddInterface("eth0", pfx("10.0.0.2/24"))
	cfg := sim.Symmetric(impair.Config{Rate: 100_000_000, Delay: 10 * time.Millisecond, QueuePackets: 200})
	mustConnect(b, n, src.nic, dst.nic, cfg)
	a, c := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
	src.pkt = pkttest.TCP(pkttest.TCPSpec{Src: a, Dst: c, Seq: 1, Ack: 1, ACK: true, Payload: make([]byte, 1460)})
	dst.ack = pkttest.TCP(pkttest.TCPSpec{Src: c, Dst: a, Seq: 1, Ack: 1, ACK: true})
	n.RunFor(100 * time.Millisecond) // fill the pipe: steady state from here
	startEvents, startRx, startAcks := n.Events(), dst.received, src.acks
	b.ReportAllocs()
	for b.Loop() {
		n.RunFor(interval)
	}
	if got := dst.received - startRx; got < b.N-1 {
		b.Fatalf("delivered %d segments in %d iterations", got, b.N)
	}
	if src.acks == startAcks {
		b.Fatal("no acknowledgements delivered")
	}
	if st := h2.Stats(); st.DroppedChecksum != 0 || st.DroppedMalformed != 0 {
		b.Fatalf("receiver dropped packets: %+v", st)
	}
	b.ReportMetric(float64(n.Events()-startEvents)/float64(b.N), "events/seg")
}
