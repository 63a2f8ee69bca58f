package bench

import (
	"fmt"
	"slices"
	"strings"
)

// order returns the distinct values of key over the samples of bench, in
// order of first appearance.
func order(samples []Sample, bench string, key func(Sample) string) []string {
	var out []string
	for _, s := range samples {
		if s.Bench == bench && !slices.Contains(out, key(s)) {
			out = append(out, key(s))
		}
	}
	return out
}

func caseOf(s Sample) string    { return s.Case }
func subjectOf(s Sample) string { return s.Subject }

// runsNote renders how many runs a cell summarises and how many failed.
func runsNote(samples []Sample, bench, cas, subj string) string {
	n := len(Values(samples, bench, cas, subj, firstMetric(samples, bench, cas, subj)))
	f := Failures(samples, bench, cas, subj)
	if f > 0 {
		return fmt.Sprintf("%d (%d failed)", n, f)
	}
	return fmt.Sprint(n)
}

func firstMetric(samples []Sample, bench, cas, subj string) string {
	for _, s := range samples {
		if s.Bench == bench && s.Case == cas && s.Subject == subj && s.Err == "" {
			keys := make([]string, 0, len(s.Metrics))
			for k := range s.Metrics {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if len(keys) > 0 {
				return keys[0]
			}
		}
	}
	return ""
}

// pathShares renders the median share of each path.
func pathShares(samples []Sample, bench, cas, subj string) string {
	var parts []string
	for k := 0; ; k++ {
		v := Values(samples, bench, cas, subj, fmt.Sprintf("path%d_share", k))
		if len(v) == 0 {
			break
		}
		parts = append(parts, fmt.Sprintf("%.2f", Median(v)))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " / ")
}

func med(format string, xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	return fmt.Sprintf(format, Median(xs))
}

// Tables summarises samples: one table per benchmark present, each cell a
// median over runs; ratios are medians of per-run ratios against the
// reference subject (Linux ↔ Linux, or gVisor).
func Tables(samples []Sample) []Table {
	var ts []Table
	for _, bench := range []string{"aggregation", "ceiling"} {
		if t, ok := goodputTable(samples, bench); ok {
			ts = append(ts, t)
		}
	}
	if t, ok := failoverTable(samples); ok {
		ts = append(ts, t)
	}
	if t, ok := tunTable(samples); ok {
		ts = append(ts, t)
	}
	if t, ok := setupTable(samples); ok {
		ts = append(ts, t)
	}
	if t, ok := memoryTable(samples); ok {
		ts = append(ts, t)
	}
	if t, ok := simTable(samples); ok {
		ts = append(ts, t)
	}
	for i := range ts {
		ts[i].dropEmptyColumns()
	}
	return ts
}

// dropEmptyColumns removes the columns with no value in any row ("–"),
// such as a counter the samples predate.
func (t *Table) dropEmptyColumns() {
	if len(t.Rows) == 0 {
		return
	}
	for c := len(t.Columns) - 1; c >= 0; c-- {
		empty := true
		for _, r := range t.Rows {
			if r[c] != "–" {
				empty = false
				break
			}
		}
		if !empty {
			continue
		}
		t.Columns = slices.Delete(t.Columns, c, c+1)
		for i := range t.Rows {
			t.Rows[i] = slices.Delete(t.Rows[i], c, c+1)
		}
	}
}

// cell renders the cell of one column in the row of case c and subject p.
type cell func(c, p string) string

// cells makes the cells of one benchmark's table from its samples.
type cells struct {
	samples []Sample
	bench   string
}

func (x cells) caseName(c, _ string) string { return c }
func (x cells) subject(_, p string) string  { return p }
func (x cells) runs(c, p string) string     { return runsNote(x.samples, x.bench, c, p) }

// med is the median of metric, rng the median with the range over runs,
// ratio the median of the within-run ratios to subject ref.
func (x cells) med(format, metric string) cell {
	return func(c, p string) string { return med(format, Values(x.samples, x.bench, c, p, metric)) }
}
func (x cells) rng(format, metric string) cell {
	return func(c, p string) string { return fmtRange(format, Values(x.samples, x.bench, c, p, metric)) }
}
func (x cells) ratio(format, ref, metric string) cell {
	return func(c, p string) string { return med(format, Ratios(x.samples, x.bench, c, p, ref, metric)) }
}

// benchTable is the table of one benchmark: a row per case and subject
// with samples of metric, or failed runs (every pair when metric is ""),
// made of the columns' cells.
func benchTable(samples []Sample, bench string, columns []string, metric string, row ...cell) (Table, bool) {
	cases := order(samples, bench, caseOf)
	if len(cases) == 0 {
		return Table{}, false
	}
	t := Table{Title: bench, Columns: columns}
	for _, c := range cases {
		for _, p := range order(samples, bench, subjectOf) {
			if metric != "" && len(Values(samples, bench, c, p, metric)) == 0 && Failures(samples, bench, c, p) == 0 {
				continue
			}
			r := make([]string, len(row))
			for i, f := range row {
				r[i] = f(c, p)
			}
			t.Rows = append(t.Rows, r)
		}
	}
	return t, true
}

func goodputTable(samples []Sample, bench string) (Table, bool) {
	x := cells{samples, bench}
	ref := LinuxLinux.String()
	return benchTable(samples, bench,
		[]string{"paths", "pairing", "runs", "goodput Mbit/s [min–max]", "of link rate", "÷ linux-linux", "CPU s/GB", "emulator CPU s/GB", "share per path", "host drops"},
		"goodput_mbps",
		x.caseName, x.subject, x.runs, x.rng("%.1f", "goodput_mbps"), x.med("%.3f", "of_link"),
		x.ratio("%.3f", ref, "goodput_mbps"), x.med("%.1f", "cpu_s_per_gb"), x.med("%.1f", "emu_cpu_s_per_gb"),
		func(c, p string) string { return pathShares(samples, bench, c, p) }, x.med("%.0f", "host_drops"))
}

func failoverTable(samples []Sample) (Table, bool) {
	x := cells{samples, "failover"}
	return benchTable(samples, x.bench,
		[]string{"paths", "pairing", "runs", "zero-progress ms [min–max]", "÷ linux-linux", "goodput after, Mbit/s", "host drops"},
		"stall_ms",
		x.caseName, x.subject, x.runs, x.rng("%.0f", "stall_ms"), x.ratio("%.2f", LinuxLinux.String(), "stall_ms"),
		x.med("%.1f", "goodput_after_mbps"), x.med("%.0f", "host_drops"))
}

func tunTable(samples []Sample) (Table, bool) {
	x := cells{samples, "tun"}
	ref := string(TUNGVisorTCP)
	return benchTable(samples, x.bench,
		[]string{"direction", "stack", "runs", "goodput Mbit/s [min–max]", "÷ gVisor", "CPU s/GB", "CPU ÷ gVisor"},
		"goodput_mbps",
		x.caseName, x.subject, x.runs, x.rng("%.0f", "goodput_mbps"), x.ratio("%.2f", ref, "goodput_mbps"),
		x.med("%.2f", "cpu_s_per_gb"), x.ratio("%.2f", ref, "cpu_s_per_gb"))
}

func setupTable(samples []Sample) (Table, bool) {
	x := cells{samples, "setup"}
	return benchTable(samples, x.bench,
		[]string{"path", "pairing", "runs", "dial ms, median of medians [min–max]", "90th percentile ms"},
		"",
		x.caseName, x.subject, x.runs, x.rng("%.3f", "dial_ms"), x.med("%.3f", "dial_p90_ms"))
}

func memoryTable(samples []Sample) (Table, bool) {
	x := cells{samples, "memory"}
	return benchTable(samples, x.bench,
		[]string{"connections", "runs", "idle connections", "heap bytes per gomptcp end [min–max]"},
		"bytes_per_end",
		x.caseName, x.runs, x.med("%.0f", "conns"), x.rng("%.0f", "bytes_per_end"))
}

func simTable(samples []Sample) (Table, bool) {
	x := cells{samples, "sim"}
	return benchTable(samples, x.bench,
		[]string{"paths", "runs", "simulated s per wall s [min–max]", "per CPU s", "goodput Mbit/s (virtual)"},
		"",
		x.caseName, x.runs, x.rng("%.1f", "sim_per_wall"), x.med("%.1f", "sim_per_cpu"), x.med("%.1f", "goodput_mbps"))
}
