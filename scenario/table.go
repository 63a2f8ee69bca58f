package scenario

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Table is a text table whose rendering is stable: the same cells always
// give the same bytes, which is what golden files compare.
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// String renders the table: columns separated by two spaces and padded to
// their widest cell, the first column left-aligned and the others
// right-aligned, no trailing spaces, a newline after each row.
func (t *Table) String() string {
	var widths []int
	measure := func(row []string) {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	measure(t.Header)
	for _, r := range t.Rows {
		measure(r)
	}
	var b strings.Builder
	line := func(row []string) {
		var l strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				l.WriteString("  ")
			}
			if i == 0 {
				l.WriteString(c + pad)
			} else {
				l.WriteString(pad + c)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	if len(t.Header) > 0 {
		line(t.Header)
	}
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// formatRate renders bits per second with a unit, e.g. "94.21Mbit/s".
func formatRate(bps float64) string {
	switch {
	case bps == 0:
		return "0"
	case bps >= 1e9:
		return fmt.Sprintf("%.2fGbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.2fMbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.2fkbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0fbit/s", bps)
}

// formatSeconds renders a duration in seconds with millisecond precision.
func formatSeconds(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}
