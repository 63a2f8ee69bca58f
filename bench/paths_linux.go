package bench

import (
	"fmt"
	"time"
)

// PathCase is a set of emulated paths a benchmark runs on.
type PathCase struct {
	Name  string
	Paths []PathSpec
}

// DefaultAggregationCases are the issue's: 50 + 30 Mbit/s with a 20 ms RTT
// each, and 10 ms + 100 ms RTT (at 50 and 30 Mbit/s); queues of one BDP
// (at least 20 ms).
func DefaultAggregationCases() []PathCase {
	return []PathCase{
		{"50+30Mbit/s 20ms", []PathSpec{{Rate: 50e6, RTT: 20 * time.Millisecond}, {Rate: 30e6, RTT: 20 * time.Millisecond}}},
		{"50Mbit/s 10ms + 30Mbit/s 100ms", []PathSpec{{Rate: 50e6, RTT: 10 * time.Millisecond}, {Rate: 30e6, RTT: 100 * time.Millisecond}}},
	}
}

// CeilingCases are paths without any impairment: what the emulation
// itself can carry.
func CeilingCases() []PathCase {
	return []PathCase{
		{"unlimited ×1", []PathSpec{{}}},
		{"unlimited ×2", []PathSpec{{}, {}}},
	}
}

// transferSample runs one transfer over a new topology and returns its
// sample.
func transferSample(bench, cas string, run int, cfg TopoConfig, tr Transfer) Sample {
	s := Sample{Bench: bench, Case: cas, Subject: cfg.Pairing.String(), Run: run, Metrics: map[string]float64{}}
	if cfg.TCP {
		s.Subject += " tcp"
	}
	topo, err := NewTopology(cfg)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	defer func() {
		if err := topo.Close(); err != nil && s.Err == "" {
			s.Err = "cleanup: " + err.Error()
		}
	}()
	if topo.emu != nil {
		tr.PartCPU = topo.EmulatorCPU
	}
	if tr.At == nil && tr.AtTime > 0 {
		tr.At = func() error { return topo.SetPathUp(0, false) }
	}
	res, err := tr.Run(topo)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	if res.Err != nil {
		s.Err = res.Err.Error()
	}
	m := s.Metrics
	m["goodput_mbps"] = res.Goodput / 1e6
	if r := TotalRate(cfg.Paths); r > 0 {
		m["of_link"] = res.Goodput / float64(r)
	}
	m["cpu_s_per_gb"] = res.CPUPerGB()
	if topo.emu != nil && res.WindowBytes > 0 {
		m["emu_cpu_s_per_gb"] = res.PartCPU.Seconds() / (float64(res.WindowBytes) / 1e9)
	}
	m["established_ms"] = ms(res.Established)
	s.Received = res.Timeline.Sampled(TimelineStep, tr.Duration)
	if tr.AtTime > 0 {
		m["fail_at_s"] = tr.AtTime.Seconds()
		m["stall_ms"] = ms(res.Timeline.StallAfter(tr.AtTime, tr.Duration))
		m["goodput_after_mbps"] = res.Timeline.Goodput(min(tr.AtTime+time.Second, tr.Duration-time.Second), tr.Duration) / 1e6
	}
	if d, err := topo.HostDrops(); err == nil {
		m["host_drops"] = float64(d)
	}
	if ps, err := topo.PathStats(); err == nil && len(ps) > 1 {
		dir := 0
		if tr.Reverse {
			dir = 1
		}
		var total float64
		for _, p := range ps {
			total += float64(p[dir].DeliveredBytes)
		}
		for k, p := range ps {
			if total > 0 {
				m[fmt.Sprintf("path%d_share", k)] = float64(p[dir].DeliveredBytes) / total
			}
		}
	}
	return s
}

// RunAggregation measures the goodput of each pairing on each case: one
// MPTCP connection, a subflow per path, the client sending for
// o.Duration.
func RunAggregation(o Options, cases []PathCase, pairings []Pairing) ([]Sample, error) {
	return runGoodput("aggregation", o, cases, pairings)
}

// RunCeiling is RunAggregation on unimpaired paths (CeilingCases): what the
// emulation carries at most, to show it is not the bottleneck of the
// aggregation benchmark.
func RunCeiling(o Options, pairings []Pairing) ([]Sample, error) {
	return runGoodput("ceiling", o, CeilingCases(), pairings)
}

func runGoodput(bench string, o Options, cases []PathCase, pairings []Pairing) ([]Sample, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var out []Sample
	for run := range o.Runs {
		for _, c := range cases {
			for _, p := range pairings {
				s := transferSample(bench, c.Name, run, TopoConfig{Pairing: p, Paths: c.Paths, Seed: o.seed(run)},
					Transfer{Duration: o.Duration, Warmup: o.Warmup})
				o.logf(bench+" run %d %s %s: %.1f Mbit/s %s", run, c.Name, p, s.Metrics["goodput_mbps"], s.Err)
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// FailoverCase is a failover scenario.
type FailoverCase struct {
	Name   string
	Paths  []PathSpec
	Backup bool
}

// DefaultFailoverCases: the 50 + 30 Mbit/s paths, the second one a regular
// subflow or a backup.
func DefaultFailoverCases() []FailoverCase {
	p := DefaultAggregationCases()[0].Paths
	return []FailoverCase{{"50+30Mbit/s 20ms", p, false}, {"50+30Mbit/s 20ms, second path backup", p, true}}
}

// RunFailover measures, for each pairing, the longest time without any
// progress at the receiver after the initial subflow's path goes down
// (both directions, every packet lost) in the middle of a transfer, at
// o.Warmup + (o.Duration − o.Warmup)/3.
func RunFailover(o Options, cases []FailoverCase, pairings []Pairing) ([]Sample, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	failAt := o.Warmup + (o.Duration-o.Warmup)/3
	var out []Sample
	for run := range o.Runs {
		for _, c := range cases {
			for _, p := range pairings {
				s := transferSample("failover", c.Name, run, TopoConfig{Pairing: p, Paths: c.Paths, Seed: o.seed(run), Backup: c.Backup},
					Transfer{Duration: o.Duration, Warmup: o.Warmup, AtTime: failAt})
				o.logf("failover run %d %s %s: stall %.0f ms %s", run, c.Name, p, s.Metrics["stall_ms"], s.Err)
				out = append(out, s)
			}
		}
	}
	return out, nil
}
