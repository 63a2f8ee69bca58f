package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/scenario"
)

func init() {
	register(&command{
		name:  "demo",
		usage: "[--seconds N] [--seed S] [--outage AT,FOR] [--json]",
		short: "simulate a phone sending over Wi-Fi and LTE: TCP on each versus MPTCP on both (no privileges needed)",
		run:   runDemo,
	})
}

// The demo's paths: a Wi-Fi link and an LTE link, as a phone sees them.
var (
	demoWiFi = impair.Config{Rate: 30_000_000, Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond,
		Loss: 0.002, QueuePackets: 64}
	demoLTE = impair.Config{Rate: 10_000_000, Delay: 30 * time.Millisecond, Jitter: 4 * time.Millisecond,
		Loss: 0.001, QueuePackets: 128}
)

// demoRun is the outcome of one mode of the demo.
type demoRun struct {
	Mode      string    `json:"mode"`
	Bytes     int64     `json:"bytes"`
	Goodput   float64   `json:"goodput_bps"`
	Stall     float64   `json:"longest_stall_s"`
	Exact     bool      `json:"exact"`
	Subflows  int       `json:"subflows,omitempty"`
	Reinject  uint64    `json:"reinjected_bytes,omitempty"`
	PerSecond []float64 `json:"per_second_bps"`
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	seconds := fs.Int("seconds", 12, "length of each run, in simulated seconds")
	seed := fs.Uint64("seed", 1, "seed of the simulation (link jitter and loss, keys, ports)")
	outage := fs.String("outage", "4,3", "Wi-Fi outage: start and length in seconds (\"none\" for none)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if *seconds < 2 || *seconds > 600 {
		return usageError("--seconds must be between 2 and 600")
	}
	var outAt, outFor time.Duration
	if *outage != "none" {
		var a, f float64
		if n, err := fmt.Sscanf(*outage, "%g,%g", &a, &f); err != nil || n != 2 || a < 0 || f <= 0 || a+f > float64(*seconds) {
			return usageError("--outage wants AT,FOR in seconds within the run, or none: %q", *outage)
		}
		outAt, outFor = time.Duration(a*float64(time.Second)), time.Duration(f*float64(time.Second))
	}
	modes := []struct {
		name  string
		mptcp bool
		link  string
	}{{"TCP over Wi-Fi", false, "p1"}, {"TCP over LTE", false, "p2"}, {"MPTCP over both", true, "p1"}}
	var runs []demoRun
	for _, m := range modes {
		s := scenario.Parallel([2]impair.Config{demoWiFi, demoWiFi}, [2]impair.Config{demoLTE, demoLTE})
		s.Name, s.Seed = m.name, *seed
		s.SampleInterval = 100 * time.Millisecond
		s.Limit = time.Duration(*seconds)*time.Second + time.Minute
		f := scenario.Flow{Name: "upload", From: "client/" + m.link, To: "server/" + m.link, Duration: time.Duration(*seconds) * time.Second}
		if m.mptcp {
			f = scenario.MPTCPFlow("upload", 2, 0)
			f.Duration = time.Duration(*seconds) * time.Second
		}
		s.Flows = []scenario.Flow{f}
		if outFor > 0 {
			s.Events = []scenario.Event{{At: outAt, Link: "p1", Kind: scenario.LinkDown}, {At: outAt + outFor, Link: "p1", Kind: scenario.LinkUp}}
		}
		res, err := scenario.Run(&s)
		if err != nil {
			return err
		}
		fr := res.Flows[0]
		r := demoRun{Mode: m.name, Bytes: fr.Received, Exact: fr.Exact() && fr.Err == nil}
		end := min(time.Duration(*seconds)*time.Second, res.End)
		r.Goodput = fr.Throughput(0, end)
		r.Stall = fr.LongestStall(0, end).Seconds()
		for sec := time.Duration(0); sec < end; sec += time.Second {
			r.PerSecond = append(r.PerSecond, fr.Throughput(sec, min(sec+time.Second, end)))
		}
		if fr.SenderMPTCP != nil {
			r.Subflows = fr.SenderMPTCP.SubflowsTotal
			r.Reinject = fr.SenderMPTCP.BytesRetrans
		}
		runs = append(runs, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(runs)
	}
	fmt.Fprintf(stdout, "A phone sends for %d s over Wi-Fi (%s) and LTE (%s)", *seconds, describePath(demoWiFi), describePath(demoLTE))
	if outFor > 0 {
		fmt.Fprintf(stdout, "; Wi-Fi is down from %gs to %gs", outAt.Seconds(), (outAt + outFor).Seconds())
	}
	fmt.Fprintf(stdout, ".\nSimulated (seed %d): every byte is checked at the receiver.\n\n", *seed)
	t := &scenario.Table{Header: []string{"mode", "received", "goodput", "longest stall", "reinjected", "exact"}}
	for _, r := range runs {
		ok := "yes"
		if !r.Exact {
			ok = "NO"
		}
		reinj := "-"
		if r.Subflows > 0 {
			reinj = fmt.Sprintf("%.1f kB", float64(r.Reinject)/1e3)
		}
		t.Add(r.Mode, fmt.Sprintf("%.1f MB", float64(r.Bytes)/1e6), fmt.Sprintf("%.1f Mbit/s", r.Goodput/1e6),
			fmt.Sprintf("%.2f s", r.Stall), reinj, ok)
	}
	fmt.Fprint(stdout, t.String())
	full := 0.0
	for _, r := range runs {
		for _, x := range r.PerSecond {
			full = max(full, x)
		}
	}
	fmt.Fprintf(stdout, "\ngoodput second by second (full block: %.0f Mbit/s):\n", full/1e6)
	for _, r := range runs {
		fmt.Fprintf(stdout, "%-16s %s\n", r.Mode, sparkline(r.PerSecond, full))
	}
	return nil
}

func describePath(c impair.Config) string {
	return fmt.Sprintf("%g Mbit/s, %v RTT", float64(c.Rate)/1e6, 2*c.Delay)
}

// sparkline draws values (0..full) as a row of block characters.
func sparkline(v []float64, full float64) string {
	const blocks = " ▁▂▃▄▅▆▇█"
	r := []rune(blocks)
	var b strings.Builder
	for _, x := range v {
		i := 0
		if full > 0 {
			i = int(x/full*float64(len(r)-1) + 0.5)
		}
		i = max(0, min(i, len(r)-1))
		b.WriteRune(r[i])
	}
	return b.String()
}
