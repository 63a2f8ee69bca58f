package bench

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// requireHarness skips t unless the harness can run here.
func requireHarness(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("skipping the end-to-end harness: %v", err)
	}
}

// tiny are the options of the harness's own tests: one short run.
func tiny(t *testing.T) Options {
	return Options{Runs: 1, Duration: 1500 * time.Millisecond, Warmup: 500 * time.Millisecond, Logf: t.Logf}
}

// checkSamples fails t for every failed sample and returns the samples by
// subject.
func checkSamples(t *testing.T, samples []Sample, err error, want int) map[string]Sample {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != want {
		t.Fatalf("%d samples, want %d", len(samples), want)
	}
	by := map[string]Sample{}
	for _, s := range samples {
		if s.Err != "" {
			t.Errorf("%s %s %s: %s", s.Bench, s.Case, s.Subject, s.Err)
		}
		by[s.Case+"/"+s.Subject] = s
	}
	return by
}

// TestHarness runs a tiny version of every end-to-end benchmark, to keep
// the harness working; the figures are checked only for sanity (the
// machine may be busy).
func TestHarness(t *testing.T) {
	requireHarness(t)
	pairings := []Pairing{LinuxLinux, GomptcpLinux, LinuxGomptcp, GomptcpGomptcp}
	twoPaths := []PathSpec{{Rate: 20e6, RTT: 10 * time.Millisecond}, {Rate: 10e6, RTT: 10 * time.Millisecond}}

	t.Run("aggregation", func(t *testing.T) {
		s, err := RunAggregation(tiny(t), []PathCase{{"20+10", twoPaths}}, pairings)
		for name, x := range checkSamples(t, s, err, len(pairings)) {
			m := x.Metrics
			// Both paths carry data; goodput cannot exceed the links
			// (but for reads a busy machine delays across the window's
			// edges).
			if m["of_link"] <= 0.2 || m["of_link"] > 1.1 {
				t.Errorf("%s: goodput %.3f of the link rate", name, m["of_link"])
			}
			if m["path0_share"] < 0.05 || m["path1_share"] < 0.05 {
				t.Errorf("%s: path shares %.2f, %.2f: a path unused", name, m["path0_share"], m["path1_share"])
			}
			if m["cpu_s_per_gb"] <= 0 {
				t.Errorf("%s: no CPU time measured", name)
			}
		}
	})
	t.Run("failover", func(t *testing.T) {
		o := tiny(t)
		o.Duration = 2500 * time.Millisecond
		s, err := RunFailover(o, []FailoverCase{{"20+10", twoPaths, false}}, []Pairing{LinuxLinux, GomptcpGomptcp})
		for name, x := range checkSamples(t, s, err, 2) {
			st := x.Metrics["stall_ms"]
			// A failure stops delivery for at least a round trip, and
			// the second path takes over before the end.
			if st < 10 || st > 1500 {
				t.Errorf("%s: zero-progress time %.0f ms", name, st)
			}
			if x.Metrics["path1_share"] < 0.2 {
				t.Errorf("%s: the second path carried %.2f of the data", name, x.Metrics["path1_share"])
			}
		}
	})
	t.Run("tun", func(t *testing.T) {
		o := tiny(t)
		o.Duration = time.Second
		s, err := RunTUN(o, []TUNSubject{TUNGomptcpMPTCP, TUNGVisorTCP})
		for name, x := range checkSamples(t, s, err, 4) {
			// Nothing limits these but CPU (and the race detector, if on).
			if g := x.Metrics["goodput_mbps"]; g < 5 {
				t.Errorf("%s: %.0f Mbit/s", name, g)
			}
		}
	})
	t.Run("setup", func(t *testing.T) {
		s, err := RunSetup(tiny(t), pairings, 5)
		for name, x := range checkSamples(t, s, err, len(pairings)) {
			if d := x.Metrics["dial_ms"]; d <= 0 || d > 1000 || x.Metrics["dial_p90_ms"] < d {
				t.Errorf("%s: dial %.3f ms, p90 %.3f ms", name, d, x.Metrics["dial_p90_ms"])
			}
		}
	})
	t.Run("memory", func(t *testing.T) {
		s, err := RunMemory(tiny(t), []MemoryCase{{"gg", GomptcpGomptcp, 2}, {"gl", GomptcpLinux, 1}}, 20)
		for name, x := range checkSamples(t, s, err, 2) {
			// A connection end holds at least its engine's state, and
			// far less than its buffers' capacity.
			if b := x.Metrics["bytes_per_end"]; b < 500 || b > 256<<10 {
				t.Errorf("%s: %.0f bytes per connection end", name, b)
			}
		}
	})
	t.Run("ceiling", func(t *testing.T) {
		o := tiny(t)
		o.Duration = time.Second
		s, err := runGoodput("ceiling", o, CeilingCases()[:1], []Pairing{LinuxLinux})
		for name, x := range checkSamples(t, s, err, 1) {
			// More than the aggregation's paths, even under the race
			// detector: the emulator is not their bottleneck.
			if g, need := x.Metrics["goodput_mbps"], float64(TotalRate(twoPaths))/1e6; g < need {
				t.Errorf("%s: the emulator carries only %.0f Mbit/s, less than the %.0f Mbit/s of the paths", name, g, need)
			}
		}
	})
	// Nothing is left behind.
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), Prefix()+"n") {
		t.Errorf("namespaces left behind:\n%s", out)
	}
}

func TestTopologyErrors(t *testing.T) {
	requireHarness(t)
	for _, cfg := range []TopoConfig{
		{Pairing: LinuxLinux},
		{Pairing: LinuxLinux, Paths: make([]PathSpec, MaxPaths+1)},
		{Pairing: LinuxLinux, Paths: []PathSpec{{}}, Bare: true},
		{Pairing: GomptcpLinux, Paths: []PathSpec{{Rate: 1e6}}, Bare: true},
		{Pairing: Pairing{"bsd", "linux"}, Paths: []PathSpec{{}}},
	} {
		if topo, err := NewTopology(cfg); err == nil {
			topo.Close()
			t.Errorf("NewTopology(%+v) succeeded", cfg)
		}
	}
}
