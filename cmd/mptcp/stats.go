package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gomptcp/mptcp/kernel"
)

func init() {
	register(&command{
		name:  "stats",
		usage: "[--json] [--delta DURATION] [--all|--zero]",
		short: "print the kernel's MPTcpExt counters, or their change over an interval",
		run:   runStats,
	})
}

// readMIB and sleep are replaced by tests.
var (
	readMIB = kernel.ReadMIB
	sleep   = time.Sleep
)

// maxDelta bounds --delta.
const maxDelta = 24 * time.Hour

// statLine is one counter in the JSON output.
type statLine struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

func runStats(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("stats", stderr)
	asJSON := fs.Bool("json", false, "print a JSON object")
	delta := fs.Duration("delta", 0, "sample twice, DURATION apart, and print the differences")
	all := fs.Bool("all", false, "print every counter, zeros included")
	zero := fs.Bool("zero", false, "same as --all (print zero counters too)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if *delta < 0 || *delta > maxDelta {
		return usageError("--delta must be between 0 and %v, got %v", maxDelta, *delta)
	}
	showZero := *all || *zero

	first, err := readMIB()
	if err != nil {
		return err
	}
	var lines []statLine
	if *delta > 0 {
		sleep(*delta)
		second, err := readMIB()
		if err != nil {
			return err
		}
		for _, d := range kernel.Delta(first, second) {
			lines = append(lines, statLine{d.Name, d.Delta})
		}
	} else {
		for _, c := range first {
			// Counters are unsigned; clamp the (theoretical) top half
			// rather than print a negative number.
			v := int64(c.Value)
			if v < 0 {
				v = 1<<63 - 1
			}
			lines = append(lines, statLine{c.Name, v})
		}
	}
	shown := lines[:0:0]
	for _, l := range lines {
		if showZero || l.Value != 0 {
			shown = append(shown, l)
		}
	}
	if *asJSON {
		out := struct {
			Delta    time.Duration `json:"delta_ns,omitempty"`
			Counters []statLine    `json:"counters"`
		}{*delta, shown}
		if out.Counters == nil {
			out.Counters = []statLine{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(shown) == 0 {
		fmt.Fprintln(stderr, "all MPTcpExt counters are zero (use --all to print them)")
		return nil
	}
	width := 0
	for _, l := range shown {
		width = max(width, len(l.Name))
	}
	for _, l := range shown {
		if _, err := fmt.Fprintf(stdout, "%-*s %d\n", width, l.Name, l.Value); err != nil {
			return err
		}
	}
	return nil
}
