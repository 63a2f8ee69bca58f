package scenario_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/scenario"
)

// BenchmarkBulk100M20ms runs an open-ended bulk transfer, with the
// scenario's checking receiver, over a 100 Mbit/s path with a 20 ms RTT
// and a 200-packet queue (above the 167-packet BDP). One iteration is
// 10 ms of virtual time in steady state (after 3 s of warm-up). It reports
// how much faster than real time the simulation runs (sim-s/wall-s; the
// goal is 50 or more), the same per second of the process's CPU time
// (sim-s/cpu-s, which other load on the machine does not distort), the
// goodput in virtual time, the wall time per TCP segment sent by either
// host (ns/seg), the segments per simulated second, and heap allocations
// per segment (allocs/seg).
func BenchmarkBulk100M20ms(b *testing.B) {
	link := impair.Config{Rate: 100_000_000, Delay: 10 * time.Millisecond, QueuePackets: 200}
	s := scenario.Direct(link, link)
	s.Flows = []scenario.Flow{{Name: "bulk", From: "client", To: "server"}}
	benchFlow(b, s, 3*time.Second)
}

// BenchmarkMPTCP2x100M20ms is BenchmarkBulk100M20ms for one MPTCP
// connection over two disjoint 100 Mbit/s paths with a 20 ms RTT and
// queues of one BDP (the bench harness's simulator-speed case), after 2 s
// of warm-up.
func BenchmarkMPTCP2x100M20ms(b *testing.B) { benchFlow(b, mptcp2x100M(false), 2*time.Second) }

// BenchmarkMPTCP2x100M20msOffload is BenchmarkMPTCP2x100M20ms with
// segmentation offload modelled (Scenario.Offload).
func BenchmarkMPTCP2x100M20msOffload(b *testing.B) {
	benchFlow(b, mptcp2x100M(true), 2*time.Second)
}

// mptcp2x100M is the scenario of BenchmarkMPTCP2x100M20ms.
func mptcp2x100M(offload bool) scenario.Scenario {
	const rate = 100_000_000
	rtt := 20 * time.Millisecond
	c := impair.Config{Rate: rate, Delay: rtt / 2, QueuePackets: int(rate / 8 * rtt.Seconds() / 1500)}
	s := scenario.Parallel([2]impair.Config{c, c}, [2]impair.Config{c, c})
	s.Flows = []scenario.Flow{scenario.MPTCPFlow("bulk", 2, 0)}
	s.Offload = offload
	return s
}

// benchFlow runs s, whose one flow goes between hosts "client" and
// "server", for warmup, then 10 ms of virtual time per iteration, and
// reports the metrics of BenchmarkBulk100M20ms.
func benchFlow(b *testing.B, s scenario.Scenario, warmup time.Duration) {
	s.Name = "bench"
	r, err := scenario.Start(&s)
	if err != nil {
		b.Fatal(err)
	}
	r.RunFor(warmup)
	rx0 := r.Result().Flows[0].Received
	if rx0 == 0 {
		b.Fatal("no data moved during warm-up")
	}
	segs := func() uint64 {
		return r.Stack("client").Stats().SegmentsOut + r.Stack("server").Stats().SegmentsOut
	}
	segs0, virt0 := segs(), r.Elapsed()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ReportAllocs()
	cpu0, cpuOK := processCPU()
	start := time.Now()
	for b.Loop() {
		r.RunFor(10 * time.Millisecond)
	}
	wall := time.Since(start).Seconds()
	cpu1, _ := processCPU()
	runtime.ReadMemStats(&ms1)
	virt := (r.Elapsed() - virt0).Seconds()
	f := r.Result().Flows[0]
	if f.Mismatch >= 0 || f.Err != nil {
		b.Fatalf("flow: mismatch at %d, error %v", f.Mismatch, f.Err)
	}
	n := segs() - segs0
	if n == 0 {
		b.Fatal("no segments sent")
	}
	b.ReportMetric(virt/wall, "sim-s/wall-s")
	b.ReportMetric(wall*1e9/float64(n), "ns/seg")
	b.ReportMetric(float64(n)/virt, "segs/sim-s")
	if cpuOK && cpu1 > cpu0 {
		b.ReportMetric(virt/(cpu1-cpu0).Seconds(), "sim-s/cpu-s")
	}
	b.ReportMetric(float64(f.Received-rx0)*8/virt/1e6, "Mbit/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(n), "allocs/seg")
}
