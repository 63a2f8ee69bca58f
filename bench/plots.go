package bench

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/internal/plot"
)

// plotCase is the samples of one case of a benchmark, by subject.
type plotCase struct {
	bench, name string
	runs        map[string][]Sample
}

// medianRun returns the sample of a subject's runs whose metric key is
// the median (the lower middle one for an even count), among the runs that
// have a timeline.
func medianRun(runs []Sample, key string) (Sample, bool) {
	var ok []Sample
	for _, s := range runs {
		if _, has := s.Metrics[key]; has && s.Err == "" && len(s.Received) > 1 {
			ok = append(ok, s)
		}
	}
	if len(ok) == 0 {
		return Sample{}, false
	}
	slices.SortStableFunc(ok, func(a, b Sample) int { return cmp.Compare(a.Metrics[key], b.Metrics[key]) })
	return ok[(len(ok)-1)/2], true
}

// Plots returns a figure for each case of the aggregation and failover
// benchmarks in samples: the goodput the receiving application saw over
// time, a line per pairing, each from its median run (by goodput, or by
// zero-progress time for failover); aggregation figures draw the paths'
// total rate dashed, failover ones mark the failure. The names are the
// files' names without extension ("failover-50-30Mbit-s-20ms").
func Plots(samples []Sample) map[string]plot.Figure {
	var cases []*plotCase
	find := func(bench, name string) *plotCase {
		for _, c := range cases {
			if c.bench == bench && c.name == name {
				return c
			}
		}
		c := &plotCase{bench: bench, name: name, runs: map[string][]Sample{}}
		cases = append(cases, c)
		return c
	}
	for _, s := range samples {
		if s.Bench == "aggregation" || s.Bench == "failover" {
			c := find(s.Bench, s.Case)
			c.runs[s.Subject] = append(c.runs[s.Subject], s)
		}
	}
	out := map[string]plot.Figure{}
	for _, c := range cases {
		key, window := "goodput_mbps", 200*time.Millisecond
		if c.bench == "failover" {
			key, window = "stall_ms", 100*time.Millisecond
		}
		fig := plot.Figure{Title: fmt.Sprintf("%s: %s (each pairing's median run)", c.bench, c.name)}
		panel := plot.Panel{Title: "goodput at the receiving application", YLabel: "Mbit/s"}
		var end time.Duration
		var linkRate float64
		for _, subj := range sortedSubjects(c.runs) {
			s, ok := medianRun(c.runs[subj], key)
			if !ok {
				continue
			}
			pts := make([]plot.Point, len(s.Received))
			for i, p := range s.Received {
				pts[i] = plot.Point{T: time.Duration(p.T * float64(time.Second)), V: float64(p.Bytes)}
			}
			end = max(end, pts[len(pts)-1].T)
			panel.Series = append(panel.Series, plot.Rate(subj, pts, window))
			if of := s.Metrics["of_link"]; of > 0 && linkRate == 0 && c.bench == "aggregation" {
				linkRate = s.Metrics["goodput_mbps"] / of
			}
			if at := s.Metrics["fail_at_s"]; at > 0 && len(fig.Events) == 0 {
				fig.Events = append(fig.Events, plot.Event{T: time.Duration(at * float64(time.Second)), Label: "path 1 down"})
			}
		}
		if len(panel.Series) == 0 {
			continue
		}
		if linkRate > 0 {
			panel.Series = append(panel.Series, plot.Series{Name: "paths' rate", Dashed: true,
				Points: []plot.Point{{T: 0, V: linkRate}, {T: end, V: linkRate}}})
		}
		fig.Panels = []plot.Panel{panel}
		out[c.bench+"-"+slug(c.name)] = fig
	}
	return out
}

// WritePlots writes the figures of Plots to dir, each as PNG and SVG, and
// returns the files written.
func WritePlots(samples []Sample, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	figs := Plots(samples)
	names := make([]string, 0, len(figs))
	for n := range figs {
		names = append(names, n)
	}
	slices.Sort(names)
	var files []string
	for _, n := range names {
		fig := figs[n]
		for _, ext := range []string{".png", ".svg"} {
			f := filepath.Join(dir, n+ext)
			if err := fig.WriteFile(f); err != nil {
				return files, fmt.Errorf("bench: plot %s: %w", f, err)
			}
			files = append(files, f)
		}
	}
	return files, nil
}

// sortedSubjects lists the subjects in the order of the pairings'
// tables: Linux ↔ Linux first.
func sortedSubjects(runs map[string][]Sample) []string {
	var subs []string
	for s := range runs {
		subs = append(subs, s)
	}
	order := func(s string) int {
		for i, p := range []Pairing{LinuxLinux, GomptcpLinux, LinuxGomptcp, GomptcpGomptcp} {
			if s == p.String() {
				return i
			}
		}
		return 99
	}
	slices.SortFunc(subs, func(a, b string) int { return cmp.Or(cmp.Compare(order(a), order(b)), strings.Compare(a, b)) })
	return subs
}

// slug makes a case name a file name: letters, digits and dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		b.WriteRune(r)
		dash = false
	}
	return strings.TrimSuffix(b.String(), "-")
}
