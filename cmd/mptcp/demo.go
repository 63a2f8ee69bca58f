package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/pcap"
	"github.com/gomptcp/mptcp/scenario"
)

func init() {
	register(&command{
		name: "demo",
		usage: "[--seconds N] [--seed S] [--outage AT,FOR] [--speed X | --fast] [--plot FILE.png|FILE.svg] " +
			"[--pcap FILE [--snaplen N]] [--json]",
		short: "simulate a phone downloading over Wi-Fi and LTE: TCP on each versus MPTCP on both (no privileges needed)",
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

// demoNames are the names the demo shows for the scenario's links.
var demoNames = map[string]string{"p1": "wifi", "p2": "lte"}

const (
	// demoSample is the scenarios' sample interval, the step in which
	// the live run advances.
	demoSample = 100 * time.Millisecond
	// demoTick is the simulated time between two live lines.
	demoTick = 500 * time.Millisecond
	// demoSnapLen keeps of each captured packet its IPv4 header and a
	// TCP header with the largest options (20 + 60 bytes), and more: all
	// Wireshark's MPTCP analysis reads.
	demoSnapLen = 128
	// demoBarCells is the width of a live line's bars.
	demoBarCells = 10
	// demoSpeed plays the default run (12 s of sending, then the
	// queues drain) in about 11 s.
	demoSpeed = 1.25
)

// The wall clock that paces the live run (replaced by tests).
var (
	demoNow   = time.Now
	demoSleep = time.Sleep
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
	// HandoverStall is the longest stall from the start of the outage
	// to its end (absent without an outage).
	HandoverStall *float64 `json:"handover_stall_s,omitempty"`
}

// demoMode is one of the demo's three runs.
type demoMode struct {
	name  string
	mptcp bool
	link  string
}

var demoModes = []demoMode{{"TCP over Wi-Fi", false, "p1"}, {"TCP over LTE", false, "p2"}, {"MPTCP over both", true, "p1"}}

// demoArgs is a parsed demo command line.
type demoArgs struct {
	seconds       int
	seed          uint64
	outAt, outFor time.Duration
	speed         float64 // simulated seconds per wall second; 0: as fast as possible
	json          bool
	plots         []string
	pcap          string
	snaplen       int
}

func (d *demoArgs) length() time.Duration { return time.Duration(d.seconds) * time.Second }

// scenario returns the scenario of mode m.
func (d *demoArgs) scenario(m demoMode) *scenario.Scenario {
	s := scenario.Parallel([2]impair.Config{demoWiFi, demoWiFi}, [2]impair.Config{demoLTE, demoLTE})
	s.Name, s.Seed = m.name, d.seed
	s.SampleInterval = demoSample
	s.Limit = d.length() + time.Minute
	// The phone (the client) connects and downloads: the server sends.
	f := scenario.Flow{Name: "download", From: "client/" + m.link, To: "server/" + m.link, Duration: d.length()}
	if m.mptcp {
		f = scenario.MPTCPFlow("download", 2, 0)
		f.Duration = d.length()
	}
	f.Download = true
	s.Flows = []scenario.Flow{f}
	if d.outFor > 0 {
		s.Events = []scenario.Event{{At: d.outAt, Link: "p1", Kind: scenario.LinkDown}, {At: d.outAt + d.outFor, Link: "p1", Kind: scenario.LinkUp}}
	}
	return &s
}

func parseDemoArgs(args []string, stderr io.Writer) (*demoArgs, error) {
	fs := newFlagSet("demo", stderr)
	seconds := fs.Int("seconds", 12, "length of each run, in simulated seconds")
	seed := fs.Uint64("seed", 1, "seed of the simulation (link jitter and loss, keys, ports)")
	outage := fs.String("outage", "4,3", "Wi-Fi outage: start and length in seconds (\"none\" for none)")
	speed := fs.Float64("speed", demoSpeed, "how fast the MPTCP run plays live, in simulated seconds per second (1: real time; 0: as fast as possible)")
	fast := fs.Bool("fast", false, "play as fast as possible (--speed 0)")
	asJSON := fs.Bool("json", false, "print only the results, as JSON (no live lines, as fast as possible)")
	var plots listFlag
	fs.Var(&plots, "plot", "draw the MPTCP run's subflows over time (throughput, congestion window, RTT; the outage marked) to `FILE`: .png or .svg (repeatable; nothing is drawn unless asked)")
	pcapFile := fs.String("pcap", "", "record the phone's packets on both links during the MPTCP run to `FILE` (pcap, raw IP; Wireshark and tshark read it)")
	snaplen := fs.Int("snaplen", demoSnapLen, "bytes kept of each packet in the --pcap capture: the headers with their MPTCP options by default (0: whole packets)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, usageError("unexpected argument %q", fs.Arg(0))
	}
	d := &demoArgs{seconds: *seconds, seed: *seed, speed: *speed, json: *asJSON, plots: plots, pcap: *pcapFile, snaplen: *snaplen}
	if d.seconds < 2 || d.seconds > 600 {
		return nil, usageError("--seconds must be between 2 and 600")
	}
	if *outage != "none" {
		var a, f float64
		if n, err := fmt.Sscanf(*outage, "%g,%g", &a, &f); err != nil || n != 2 || a < 0 || f <= 0 || a+f > float64(d.seconds) {
			return nil, usageError("--outage wants AT,FOR in seconds within the run, or none: %q", *outage)
		}
		d.outAt, d.outFor = time.Duration(a*float64(time.Second)), time.Duration(f*float64(time.Second))
	}
	if math.IsNaN(d.speed) || math.IsInf(d.speed, 0) || d.speed < 0 || d.speed > 1e6 {
		return nil, usageError("--speed must be between 0 (as fast as possible) and 1e6")
	}
	if *fast || d.json {
		d.speed = 0
	}
	if err := checkPlotFiles(plots); err != nil {
		return nil, err
	}
	if d.snaplen < 0 || d.snaplen > 1<<18 {
		return nil, usageError("--snaplen must be between 0 (whole packets) and %d", 1<<18)
	}
	return d, nil
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	d, err := parseDemoArgs(args, stderr)
	if err != nil {
		return err
	}
	var capFile *os.File
	if d.pcap != "" {
		if capFile, err = os.Create(d.pcap); err != nil {
			return fmt.Errorf("--pcap: %w", err)
		}
	}
	// The single-path runs go on in the background while the MPTCP run
	// plays.
	type baseline struct {
		res *scenario.Result
		err error
	}
	baselines := make([]chan baseline, 2)
	for i, m := range demoModes[:2] {
		baselines[i] = make(chan baseline, 1)
		go func() {
			res, err := scenario.Run(d.scenario(m))
			baselines[i] <- baseline{res, err}
		}()
	}
	live := newDemoLive(stdout, d)
	if !d.json {
		fmt.Fprintf(stdout, "A phone downloads for %d s over Wi-Fi (%s) and LTE (%s)", d.seconds, describePath(demoWiFi), describePath(demoLTE))
		if d.outFor > 0 {
			fmt.Fprintf(stdout, "; Wi-Fi is down from %gs to %gs", d.outAt.Seconds(), (d.outAt + d.outFor).Seconds())
		}
		fmt.Fprintf(stdout, ".\nSimulated (seed %d): every byte is checked at the receiver.\n\n", d.seed)
		pace := "as fast as possible"
		if d.speed > 0 {
			pace = fmt.Sprintf("at %g× real time; --fast skips the wait", d.speed)
		}
		fmt.Fprintf(stdout, "MPTCP over both, live (%s): what each subflow delivered, every %v\n", pace, demoTick)
	}
	mp, capture, err := d.playMPTCP(live, capFile)
	var results []*scenario.Result
	for _, b := range baselines {
		r := <-b
		if err == nil {
			err = r.err
		}
		results = append(results, r.res)
	}
	if err != nil {
		return err
	}
	results = append(results, mp)
	var runs []demoRun
	for i, m := range demoModes {
		runs = append(runs, d.summarize(m, results[i]))
	}
	if len(d.plots) > 0 {
		title := fmt.Sprintf("MPTCP over Wi-Fi (%s) and LTE (%s), simulated, seed %d", describePath(demoWiFi), describePath(demoLTE), d.seed)
		if err := writePlots(simFigure(title, mp, demoNames, 2*demoSample), d.plots); err != nil {
			return err
		}
	}
	if d.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(runs)
	}
	d.report(stdout, runs, capture)
	return nil
}

// summarize measures one mode's run.
func (d *demoArgs) summarize(m demoMode, res *scenario.Result) demoRun {
	fr := res.Flows[0]
	r := demoRun{Mode: m.name, Bytes: fr.Received, Exact: fr.Exact() && fr.Err == nil}
	end := min(d.length(), res.End)
	r.Goodput = fr.Throughput(0, end)
	r.Stall = fr.LongestStall(0, end).Seconds()
	for sec := time.Duration(0); sec < end; sec += time.Second {
		r.PerSecond = append(r.PerSecond, fr.Throughput(sec, min(sec+time.Second, end)))
	}
	if fr.SenderMPTCP != nil {
		r.Subflows = fr.SenderMPTCP.SubflowsTotal
		r.Reinject = fr.SenderMPTCP.BytesRetrans
	}
	if d.outFor > 0 {
		s := fr.LongestStall(d.outAt, d.outAt+d.outFor).Seconds()
		r.HandoverStall = &s
	}
	return r
}

// stallText says a stall measured in samples of demoSample: "under 0.1 s"
// when no whole sample went without data.
func stallText(s float64) string {
	if s < demoSample.Seconds() {
		return fmt.Sprintf("under %g s", demoSample.Seconds())
	}
	return fmt.Sprintf("%.2f s", s)
}

// report prints the comparison after the live run.
func (d *demoArgs) report(w io.Writer, runs []demoRun, capture string) {
	fmt.Fprintf(w, "\nCompared with single-path TCP on each network (same paths, same outage):\n\n")
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
	fmt.Fprint(w, t.String())
	full := 0.0
	for _, r := range runs {
		for _, x := range r.PerSecond {
			full = max(full, x)
		}
	}
	fmt.Fprintf(w, "\ngoodput second by second (full block: %.0f Mbit/s):\n", full/1e6)
	for _, r := range runs {
		fmt.Fprintf(w, "%-16s %s\n", r.Mode, sparkline(r.PerSecond, full))
	}
	wifi, mp := runs[0], runs[2]
	if mp.HandoverStall != nil {
		fmt.Fprintf(w, "\nDuring the outage (Wi-Fi down from %gs) MPTCP's longest stall was %s and it reinjected %.1f kB sent over "+
			"Wi-Fi; TCP over Wi-Fi alone stalled %s.\n", d.outAt.Seconds(), stallText(*mp.HandoverStall),
			float64(mp.Reinject)/1e3, stallText(*wifi.HandoverStall))
	}
	fmt.Fprintln(w)
	if len(d.plots) > 0 {
		fmt.Fprintf(w, "Plot of the MPTCP run: %s\n", strings.Join(d.plots, ", "))
	}
	if capture != "" {
		fmt.Fprintf(w, "Capture of the MPTCP run: %s\n", capture)
	}
	if len(d.plots) == 0 || d.pcap == "" {
		fmt.Fprintln(w, "Draw it: mptcp demo --plot demo.png (or .svg); capture it for Wireshark: mptcp demo --pcap demo.pcap")
	}
}

// playMPTCP runs the MPTCP mode, paced at d.speed, printing a live line
// every demoTick, and capturing to f (d.pcap), which it closes, when not
// nil. It returns the result and a description of the capture written.
func (d *demoArgs) playMPTCP(live *demoLive, f *os.File) (res *scenario.Result, capture string, err error) {
	var tap *pcap.Tap
	if f != nil {
		bw := bufio.NewWriterSize(f, 1<<20)
		defer func() {
			errs := []error{err}
			if tap != nil && tap.Err() != nil {
				errs = append(errs, fmt.Errorf("--pcap: %w", tap.Err()))
			}
			if ferr := bw.Flush(); ferr != nil {
				errs = append(errs, fmt.Errorf("--pcap: %w", ferr))
			}
			if cerr := f.Close(); cerr != nil {
				errs = append(errs, fmt.Errorf("--pcap: %w", cerr))
			}
			if err = errors.Join(errs...); err != nil {
				os.Remove(d.pcap)
				return
			}
			what := fmt.Sprintf("first %d bytes of each", d.snaplen)
			if d.snaplen == 0 {
				what = "whole"
			}
			capture = fmt.Sprintf("%s (%d packets, %s)", d.pcap, tap.Packets(), what)
		}()
		if tap, err = pcap.NewTap(bw, pcap.Options{SnapLen: d.snaplen}); err != nil {
			return nil, "", fmt.Errorf("--pcap: %w", err)
		}
	}
	s := d.scenario(demoModes[2])
	r, err := scenario.Start(s)
	if err != nil {
		return nil, "", err
	}
	if tap != nil {
		// The phone's view: what it sends as it leaves, what it receives
		// as it arrives. Link A ends are the client's (scenario.Parallel).
		for _, name := range []string{"p1", "p2"} {
			l := r.Link(name)
			l.AB().AddIngress(tap)
			l.BA().AddEgress(tap)
		}
	}
	limit := s.Limit
	start := demoNow()
	next := demoTick
	// The same steps as scenario.Runner.Finish: the result does not
	// depend on the pace.
	for !r.Finished() && r.Elapsed() < limit {
		r.RunFor(min(demoSample, limit-r.Elapsed()))
		if d.speed > 0 {
			if wait := time.Duration(float64(r.Elapsed())/d.speed) - demoNow().Sub(start); wait > 0 {
				demoSleep(wait)
			}
		}
		if r.Elapsed() >= next {
			live.line(r.Result())
			next += demoTick
		}
	}
	return r.Result(), "", nil
}

// demoLive prints the live lines.
type demoLive struct {
	w      io.Writer
	off    bool // --json
	colour bool
	last   time.Duration
}

func newDemoLive(w io.Writer, d *demoArgs) *demoLive {
	return &demoLive{w: w, off: d.json, colour: isTerminal(w)}
}

// isTerminal reports whether w is a terminal that takes colours.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// demoColours are the ANSI colours of the subflows' bars on a terminal.
var demoColours = map[string]string{"wifi": "\x1b[34m", "lte": "\x1b[33m"}

// line prints what each subflow and the connection delivered since the
// last line, and the events in between.
func (l *demoLive) line(res *scenario.Result) {
	if l.off {
		return
	}
	now, from := res.End, l.last
	l.last = now
	f := &res.Flows[0]
	var b strings.Builder
	fmt.Fprintf(&b, "t=%5.1fs ", now.Seconds())
	full := float64(max(demoWiFi.Rate, demoLTE.Rate))
	for _, link := range []string{"p1", "p2"} {
		var acked uint64
		for i := range f.Series {
			if sr := &f.Series[i]; sr.Link == link {
				acked += sr.AckedAt(now) - sr.AckedAt(from)
			}
		}
		rate := float64(acked) * 8 / (now - from).Seconds()
		name := demoNames[link]
		bar := bar(rate, full, demoBarCells)
		if l.colour {
			bar = demoColours[name] + bar + "\x1b[0m"
		}
		fmt.Fprintf(&b, " %-4s %s %5.1f Mbit/s ", name, bar, rate/1e6)
	}
	fmt.Fprintf(&b, " total %5.1f Mbit/s", f.Throughput(from, now)/1e6)
	for _, m := range res.Marks {
		if m.At > from && m.At <= now {
			ev := "  <- " + demoNames[m.Event.Link] + " " + m.Event.Kind.String()
			if l.colour {
				ev = "\x1b[1m" + ev + "\x1b[0m"
			}
			b.WriteString(ev)
		}
	}
	fmt.Fprintln(l.w, strings.TrimRight(b.String(), " "))
}

// bar draws v (0..full) as a bar of block characters, cells wide, in
// eighths of a cell.
func bar(v, full float64, cells int) string {
	const eighths = " ▏▎▍▌▋▊▉"
	n := 0
	if full > 0 && v > 0 {
		n = int(math.Round(v / full * float64(cells*8)))
	}
	n = max(0, min(n, cells*8))
	var b strings.Builder
	b.WriteString(strings.Repeat("█", n/8))
	if n%8 != 0 {
		b.WriteRune([]rune(eighths)[n%8])
	}
	if pad := cells - (n+7)/8; pad > 0 {
		b.WriteString(strings.Repeat(" ", pad))
	}
	return b.String()
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
