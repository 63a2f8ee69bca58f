package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Sample is one measurement: the metrics of one case of one benchmark for
// one subject (a pairing, a stack) in one run.
type Sample struct {
	Bench   string             `json:"bench"`
	Case    string             `json:"case"`
	Subject string             `json:"subject"`
	Run     int                `json:"run"`
	Metrics map[string]float64 `json:"metrics"`
	Err     string             `json:"error,omitempty"`
	// Received is what the receiving application had read, every
	// TimelineStep from the start of the transfer (aggregation, ceiling
	// and failover): what the plots are drawn from.
	Received []TimePoint `json:"received,omitempty"`
}

// Median returns the median of xs (the mean of the middle two for an even
// count), NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile returns the p-th percentile (0–100) of xs by the nearest-rank
// method, NaN for none.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	r := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(r, 1), len(s))-1]
}

// Values returns the metric's values in the samples matching bench, case
// and subject, by run, skipping failed samples and samples without it.
func Values(samples []Sample, bench, cas, subject, metric string) []float64 {
	var v []float64
	for _, s := range samples {
		if s.Bench != bench || s.Case != cas || s.Subject != subject || s.Err != "" {
			continue
		}
		if x, ok := s.Metrics[metric]; ok {
			v = append(v, x)
		}
	}
	return v
}

// Ratios returns, for every run in which both subjects have the metric,
// the ratio of num's value to den's: ratios are taken within a run, between
// measurements made back to back.
func Ratios(samples []Sample, bench, cas, num, den, metric string) []float64 {
	byRun := map[int][2]float64{}
	have := map[int]int{}
	for _, s := range samples {
		if s.Bench != bench || s.Case != cas || s.Err != "" {
			continue
		}
		x, ok := s.Metrics[metric]
		if !ok {
			continue
		}
		v := byRun[s.Run]
		if s.Subject == num {
			v[0] = x
			have[s.Run] |= 1
		}
		if s.Subject == den {
			v[1] = x
			have[s.Run] |= 2
		}
		byRun[s.Run] = v
	}
	var runs []int
	for r, h := range have {
		if h == 3 && byRun[r][1] != 0 {
			runs = append(runs, r)
		}
	}
	slices.Sort(runs)
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = byRun[r][0] / byRun[r][1]
	}
	return out
}

// Failures counts the failed samples of a subject.
func Failures(samples []Sample, bench, cas, subject string) int {
	n := 0
	for _, s := range samples {
		if s.Bench == bench && s.Case == cas && s.Subject == subject && s.Err != "" {
			n++
		}
	}
	return n
}

// Table is a table of a report, rendered as Markdown.
type Table struct {
	Title   string     `json:"title"`
	Note    string     `json:"note,omitempty"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Markdown renders the table.
func (t *Table) Markdown() string {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "#### %s\n\n", t.Title)
	}
	if t.Note != "" {
		fmt.Fprintf(&b, "%s\n\n", t.Note)
	}
	b.WriteString("| " + strings.Join(t.Columns, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(t.Columns)) + "\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// fmtRange renders the median of xs and its range.
func fmtRange(format string, xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	return fmt.Sprintf(format+" ["+format+"–"+format+"]", Median(xs), slices.Min(xs), slices.Max(xs))
}
