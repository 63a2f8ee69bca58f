package bench

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func timeline(points ...[2]int64) *Timeline {
	tl := &Timeline{}
	for _, p := range points {
		tl.Add(time.Duration(p[0])*time.Millisecond, p[1])
	}
	return tl
}

func TestTimeline(t *testing.T) {
	tl := timeline([2]int64{10, 100}, [2]int64{20, 300}, [2]int64{500, 400}, [2]int64{510, 500})
	for _, tt := range []struct {
		at   time.Duration
		want int64
	}{{0, 0}, {9 * time.Millisecond, 0}, {10 * time.Millisecond, 100}, {19 * time.Millisecond, 100}, {20 * time.Millisecond, 300}, {time.Second, 500}} {
		if got := tl.BytesAt(tt.at); got != tt.want {
			t.Errorf("BytesAt(%v) = %d, want %d", tt.at, got, tt.want)
		}
	}
	if got := tl.Total(); got != 500 {
		t.Errorf("Total = %d", got)
	}
	// 400 bytes between 10 ms (exclusive of the read at 10 ms) and 1 s.
	if got, want := tl.Goodput(10*time.Millisecond, time.Second), 400*8/0.99; math.Abs(got-want) > 1e-6 {
		t.Errorf("Goodput = %v, want %v", got, want)
	}
	if got := tl.Goodput(time.Second, time.Second); got != 0 {
		t.Errorf("empty window: %v", got)
	}
	if got := (&Timeline{}).Total(); got != 0 {
		t.Errorf("empty Total = %d", got)
	}
}

func TestStallAfter(t *testing.T) {
	tl := timeline([2]int64{10, 1}, [2]int64{20, 2}, [2]int64{30, 3}, [2]int64{300, 4}, [2]int64{310, 5}, [2]int64{320, 5}, [2]int64{400, 6})
	for _, tt := range []struct {
		name    string
		at, end int64
		want    int64
	}{
		{"failure before the gap counts from the failure", 25, 1000, 600}, // 400 → end
		{"gap after the failure", 25, 390, 270},                           // 30 → 300
		{"failure inside the gap", 100, 390, 200},                         // 100 → 300
		{"a read of nothing is no progress", 305, 399, 89},                // 310 → 399
		{"nothing read after the failure", 450, 500, 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tl.StallAfter(time.Duration(tt.at)*time.Millisecond, time.Duration(tt.end)*time.Millisecond)
			if want := time.Duration(tt.want) * time.Millisecond; got != want {
				t.Errorf("StallAfter(%d, %d) = %v, want %v", tt.at, tt.end, got, want)
			}
		})
	}
}

func TestStatistics(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("Median odd = %v", m)
	}
	if m := Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("Median even = %v", m)
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Percentile(nil, 50)) {
		t.Error("statistics of nothing are not NaN")
	}
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tt := range []struct{ p, want float64 }{{90, 9}, {100, 10}, {0, 1}, {50, 5}} {
		if got := Percentile(xs, tt.p); got != tt.want {
			t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	samples := []Sample{
		{Bench: "b", Case: "c", Subject: "x", Run: 0, Metrics: map[string]float64{"m": 10}},
		{Bench: "b", Case: "c", Subject: "ref", Run: 0, Metrics: map[string]float64{"m": 5}},
		{Bench: "b", Case: "c", Subject: "x", Run: 1, Metrics: map[string]float64{"m": 9}},
		{Bench: "b", Case: "c", Subject: "ref", Run: 1, Err: "failed"},
		{Bench: "b", Case: "c", Subject: "x", Run: 2, Metrics: map[string]float64{"m": 3}},
		{Bench: "b", Case: "c", Subject: "ref", Run: 2, Metrics: map[string]float64{"m": 4}},
		{Bench: "b", Case: "other", Subject: "x", Run: 0, Metrics: map[string]float64{"m": 1}},
	}
	if diff := cmp.Diff([]float64{10, 9, 3}, Values(samples, "b", "c", "x", "m")); diff != "" {
		t.Errorf("Values (-want +got):\n%s", diff)
	}
	// Run 1 has no reference: no ratio.
	if diff := cmp.Diff([]float64{2, 0.75}, Ratios(samples, "b", "c", "x", "ref", "m")); diff != "" {
		t.Errorf("Ratios (-want +got):\n%s", diff)
	}
	if n := Failures(samples, "b", "c", "ref"); n != 1 {
		t.Errorf("Failures = %d", n)
	}
}

func TestTables(t *testing.T) {
	var samples []Sample
	for run := range 3 {
		for i, p := range []string{"linux-linux", "gomptcp-linux"} {
			samples = append(samples, Sample{Bench: "aggregation", Case: "50+30", Subject: p, Run: run,
				Metrics: map[string]float64{"goodput_mbps": 70 + float64(10*i+run), "of_link": 0.9, "cpu_s_per_gb": 20,
					"path0_share": 0.6, "path1_share": 0.4}})
		}
	}
	samples = append(samples, Sample{Bench: "aggregation", Case: "50+30", Subject: "gomptcp-linux", Run: 3, Err: "boom"})
	ts := Tables(samples)
	if len(ts) != 1 {
		t.Fatalf("%d tables, want 1", len(ts))
	}
	want := [][]string{
		{"50+30", "linux-linux", "3", "71.0 [70.0–72.0]", "0.900", "1.000", "20.0", "0.60 / 0.40"},
		{"50+30", "gomptcp-linux", "3 (1 failed)", "81.0 [80.0–82.0]", "0.900", "1.141", "20.0", "0.60 / 0.40"},
	}
	// The emulator's CPU and the host drops have no value: no column.
	if n := len(ts[0].Columns); n != 8 {
		t.Errorf("%d columns %q, want 8", n, ts[0].Columns)
	}
	if diff := cmp.Diff(want, ts[0].Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	md := ts[0].Markdown()
	if want := "| 50+30 | gomptcp-linux | 3 (1 failed) |"; !contains(md, want) {
		t.Errorf("Markdown lacks %q:\n%s", want, md)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
