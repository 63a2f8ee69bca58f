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

func goodputTable(samples []Sample, bench string) (Table, bool) {
	cases := order(samples, bench, caseOf)
	if len(cases) == 0 {
		return Table{}, false
	}
	ref := LinuxLinux.String()
	t := Table{Title: bench,
		Columns: []string{"paths", "pairing", "runs", "goodput Mbit/s [min–max]", "of link rate", "÷ linux-linux", "CPU s/GB", "emulator CPU s/GB", "share per path", "host drops"}}
	for _, c := range cases {
		for _, p := range order(samples, bench, subjectOf) {
			g := Values(samples, bench, c, p, "goodput_mbps")
			if len(g) == 0 && Failures(samples, bench, c, p) == 0 {
				continue
			}
			t.Rows = append(t.Rows, []string{c, p, runsNote(samples, bench, c, p),
				fmtRange("%.1f", g),
				med("%.3f", Values(samples, bench, c, p, "of_link")),
				med("%.3f", Ratios(samples, bench, c, p, ref, "goodput_mbps")),
				med("%.1f", Values(samples, bench, c, p, "cpu_s_per_gb")),
				med("%.1f", Values(samples, bench, c, p, "emu_cpu_s_per_gb")),
				pathShares(samples, bench, c, p),
				med("%.0f", Values(samples, bench, c, p, "host_drops"))})
		}
	}
	return t, true
}

func failoverTable(samples []Sample) (Table, bool) {
	const bench = "failover"
	cases := order(samples, bench, caseOf)
	if len(cases) == 0 {
		return Table{}, false
	}
	ref := LinuxLinux.String()
	t := Table{Title: bench,
		Columns: []string{"paths", "pairing", "runs", "zero-progress ms [min–max]", "÷ linux-linux", "goodput after, Mbit/s", "host drops"}}
	for _, c := range cases {
		for _, p := range order(samples, bench, subjectOf) {
			st := Values(samples, bench, c, p, "stall_ms")
			if len(st) == 0 && Failures(samples, bench, c, p) == 0 {
				continue
			}
			t.Rows = append(t.Rows, []string{c, p, runsNote(samples, bench, c, p),
				fmtRange("%.0f", st),
				med("%.2f", Ratios(samples, bench, c, p, ref, "stall_ms")),
				med("%.1f", Values(samples, bench, c, p, "goodput_after_mbps")),
				med("%.0f", Values(samples, bench, c, p, "host_drops"))})
		}
	}
	return t, true
}

func tunTable(samples []Sample) (Table, bool) {
	const bench = "tun"
	cases := order(samples, bench, caseOf)
	if len(cases) == 0 {
		return Table{}, false
	}
	ref := string(TUNGVisorTCP)
	t := Table{Title: bench,
		Columns: []string{"direction", "stack", "runs", "goodput Mbit/s [min–max]", "÷ gVisor", "CPU s/GB", "CPU ÷ gVisor"}}
	for _, c := range cases {
		for _, p := range order(samples, bench, subjectOf) {
			g := Values(samples, bench, c, p, "goodput_mbps")
			if len(g) == 0 && Failures(samples, bench, c, p) == 0 {
				continue
			}
			t.Rows = append(t.Rows, []string{c, p, runsNote(samples, bench, c, p),
				fmtRange("%.0f", g),
				med("%.2f", Ratios(samples, bench, c, p, ref, "goodput_mbps")),
				med("%.2f", Values(samples, bench, c, p, "cpu_s_per_gb")),
				med("%.2f", Ratios(samples, bench, c, p, ref, "cpu_s_per_gb"))})
		}
	}
	return t, true
}

func setupTable(samples []Sample) (Table, bool) {
	const bench = "setup"
	cases := order(samples, bench, caseOf)
	if len(cases) == 0 {
		return Table{}, false
	}
	t := Table{Title: bench, Columns: []string{"path", "pairing", "runs", "dial ms, median of medians [min–max]", "90th percentile ms"}}
	for _, c := range cases {
		for _, p := range order(samples, bench, subjectOf) {
			d := Values(samples, bench, c, p, "dial_ms")
			t.Rows = append(t.Rows, []string{c, p, runsNote(samples, bench, c, p),
				fmtRange("%.3f", d), med("%.3f", Values(samples, bench, c, p, "dial_p90_ms"))})
		}
	}
	return t, true
}

func memoryTable(samples []Sample) (Table, bool) {
	const bench = "memory"
	cases := order(samples, bench, caseOf)
	if len(cases) == 0 {
		return Table{}, false
	}
	t := Table{Title: bench, Columns: []string{"connections", "runs", "idle connections", "heap bytes per gomptcp end [min–max]"}}
	for _, c := range cases {
		for _, p := range order(samples, bench, subjectOf) {
			b := Values(samples, bench, c, p, "bytes_per_end")
			if len(b) == 0 && Failures(samples, bench, c, p) == 0 {
				continue
			}
			t.Rows = append(t.Rows, []string{c, runsNote(samples, bench, c, p),
				med("%.0f", Values(samples, bench, c, p, "conns")), fmtRange("%.0f", b)})
		}
	}
	return t, true
}

func simTable(samples []Sample) (Table, bool) {
	const bench = "sim"
	cases := order(samples, bench, caseOf)
	if len(cases) == 0 {
		return Table{}, false
	}
	t := Table{Title: bench, Columns: []string{"paths", "runs", "simulated s per wall s [min–max]", "per CPU s", "goodput Mbit/s (virtual)"}}
	for _, c := range cases {
		for _, p := range order(samples, bench, subjectOf) {
			t.Rows = append(t.Rows, []string{c, runsNote(samples, bench, c, p),
				fmtRange("%.1f", Values(samples, bench, c, p, "sim_per_wall")),
				med("%.1f", Values(samples, bench, c, p, "sim_per_cpu")),
				med("%.1f", Values(samples, bench, c, p, "goodput_mbps"))})
		}
	}
	return t, true
}
