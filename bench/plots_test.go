package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSampled(t *testing.T) {
	tl := timeline([2]int64{10, 100}, [2]int64{120, 300})
	got := tl.Sampled(50*time.Millisecond, 150*time.Millisecond)
	want := []TimePoint{{0, 0}, {0.05, 100}, {0.1, 100}, {0.15, 300}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Sampled (-want +got):\n%s", diff)
	}
	if tl.Sampled(0, time.Second) != nil {
		t.Fatal("a step of 0 gave points")
	}
}

// steady returns a timeline of rate bits per second for 2 s.
func steady(rate float64) []TimePoint {
	tl := &Timeline{}
	for t := time.Duration(0); t <= 2*time.Second; t += 10 * time.Millisecond {
		tl.Add(t, int64(rate/8*t.Seconds()))
	}
	return tl.Sampled(TimelineStep, 2*time.Second)
}

// TestPlots: a figure per aggregation and failover case, a line per
// pairing drawn from its median run, the paths' rate dashed for
// aggregation (not for failover, where one path is left), the failure
// marked for failover; other benchmarks and
// failed runs give none.
func TestPlots(t *testing.T) {
	agg := func(subject string, run int, mbps float64) Sample {
		return Sample{Bench: "aggregation", Case: "50+30Mbit/s 20ms", Subject: subject, Run: run,
			Metrics: map[string]float64{"goodput_mbps": mbps, "of_link": mbps / 80}, Received: steady(mbps * 1e6)}
	}
	samples := []Sample{
		agg("gomptcp-gomptcp", 0, 70), agg("gomptcp-gomptcp", 1, 77), agg("gomptcp-gomptcp", 2, 76),
		agg("linux-linux", 0, 75),
		{Bench: "failover", Case: "50+30Mbit/s 20ms", Subject: "linux-linux", Metrics: map[string]float64{"stall_ms": 300, "fail_at_s": 1, "of_link": 0.4, "goodput_mbps": 32},
			Received: steady(30e6)},
		{Bench: "failover", Case: "broken", Subject: "linux-linux", Metrics: map[string]float64{"stall_ms": 1}, Err: "failed",
			Received: steady(30e6)},
		{Bench: "tun", Case: "up", Subject: "gvisor tcp", Metrics: map[string]float64{"goodput_mbps": 1}},
	}
	figs := Plots(samples)
	var names []string
	for n := range figs {
		names = append(names, n)
	}
	if len(figs) != 2 || figs["aggregation-50-30Mbit-s-20ms"].Title == "" || figs["failover-50-30Mbit-s-20ms"].Title == "" {
		t.Fatalf("figures %q, want aggregation-50-30Mbit-s-20ms and failover-50-30Mbit-s-20ms", names)
	}
	a := figs["aggregation-50-30Mbit-s-20ms"].Panels[0]
	var lines []string
	for _, s := range a.Series {
		lines = append(lines, s.Name)
	}
	if diff := cmp.Diff([]string{"linux-linux", "gomptcp-gomptcp", "paths' rate"}, lines); diff != "" {
		t.Fatalf("aggregation lines (-want +got):\n%s", diff)
	}
	// gomptcp-gomptcp's median run is the 76 Mbit/s one.
	if pts := a.Series[1].Points; len(pts) == 0 || pts[len(pts)-1].V < 75 || pts[len(pts)-1].V > 77 {
		t.Fatalf("gomptcp-gomptcp ends at %v Mbit/s, want its median run's 76", pts)
	}
	if r := a.Series[2]; !r.Dashed || r.Points[0].V != 80 {
		t.Fatalf("paths' rate %+v, want 80 Mbit/s dashed", r)
	}
	f := figs["failover-50-30Mbit-s-20ms"]
	if len(f.Events) != 1 || f.Events[0].T != time.Second {
		t.Fatalf("failover events %+v, want the failure at 1 s", f.Events)
	}
	if n := len(f.Panels[0].Series); n != 1 {
		t.Fatalf("failover figure has %d lines, want linux-linux's alone", n)
	}
	dir := t.TempDir()
	files, err := WritePlots(samples, dir)
	if err != nil || len(files) != 4 {
		t.Fatalf("WritePlots: %q, %v; want 4 files", files, err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "failover-50-30Mbit-s-20ms.svg"))
	if err != nil || !strings.Contains(string(svg), "path 1 down") {
		t.Fatalf("the failover SVG does not mark the failure (%v)", err)
	}
}
