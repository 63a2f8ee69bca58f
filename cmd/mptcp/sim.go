package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/internal/plot"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/scenario"
	"github.com/gomptcp/mptcp/sched"
)

func init() {
	register(&command{
		name: "sim",
		usage: "--path RATE,DELAY[,loss=P][,queue=N][,jitter=D] [--path …] [--bytes N | --duration D] [--cc NAME] [--scheduler NAME] " +
			"[--pm paths|single|ndiffports=N] [--checksum] [--event \"5s p1 down\"] [--tcp-flows N] [--seed S] [--plot FILE.png|FILE.svg] [--json]",
		short: "run an MPTCP transfer over simulated paths and report goodput, subflows, reinjections, stalls and fairness",
		run:   runSim,
	})
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parsePath parses "RATE,DELAY[,loss=P][,queue=N][,jitter=D]": RATE in
// bit/s with an optional k, M or G suffix (0: unlimited), DELAY one way.
func parsePath(spec string) (impair.Config, error) {
	parts := strings.Split(spec, ",")
	if len(parts) < 2 {
		return impair.Config{}, fmt.Errorf("path %q: want RATE,DELAY[,loss=P][,queue=N][,jitter=D]", spec)
	}
	var c impair.Config
	rate, err := parseRate(parts[0])
	if err != nil {
		return c, fmt.Errorf("path %q: %v", spec, err)
	}
	c.Rate = rate
	if c.Delay, err = time.ParseDuration(parts[1]); err != nil || c.Delay < 0 {
		return c, fmt.Errorf("path %q: bad delay %q", spec, parts[1])
	}
	for _, kv := range parts[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return c, fmt.Errorf("path %q: %q is not KEY=VALUE", spec, kv)
		}
		switch k {
		case "loss":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p >= 1 {
				return c, fmt.Errorf("path %q: loss %q is not in [0, 1)", spec, v)
			}
			c.Loss = p
		case "queue":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return c, fmt.Errorf("path %q: queue %q is not a positive number of packets", spec, v)
			}
			c.QueuePackets = n
		case "jitter":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return c, fmt.Errorf("path %q: bad jitter %q", spec, v)
			}
			c.Jitter = d
		default:
			return c, fmt.Errorf("path %q: unknown key %q", spec, k)
		}
	}
	if c.Rate > 0 && c.QueuePackets == 0 {
		// One bandwidth-delay product of 1500-byte packets, at least 16.
		c.QueuePackets = max(16, int(float64(c.Rate)*2*c.Delay.Seconds()/8/1500))
	}
	return c, nil
}

// parseRate parses a rate in bit/s: a number with k, M or G, or with tc's
// units as --impair takes them (20mbit, 2.5mbps).
func parseRate(s string) (int64, error) {
	if v, err := parseTransferRate(s); err == nil {
		return v, nil
	}
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1e9, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v*mult > 1e12 {
		return 0, fmt.Errorf("bad rate %q (bit/s, with k, M or G, or tc's units: 20mbit)", s)
	}
	return int64(v * mult), nil
}

// parseEvent parses "AT LINK down|up|rate=R|delay=D|loss=P".
func parseEvent(spec string, paths int) (scenario.Event, error) {
	f := strings.Fields(spec)
	if len(f) != 3 {
		return scenario.Event{}, fmt.Errorf("event %q: want \"AT pN down|up|rate=R|delay=D|loss=P\"", spec)
	}
	at, err := time.ParseDuration(f[0])
	if err != nil || at < 0 {
		return scenario.Event{}, fmt.Errorf("event %q: bad time %q", spec, f[0])
	}
	n, err := strconv.Atoi(strings.TrimPrefix(f[1], "p"))
	if !strings.HasPrefix(f[1], "p") || err != nil || n < 1 || n > paths {
		return scenario.Event{}, fmt.Errorf("event %q: no path %q (p1…p%d)", spec, f[1], paths)
	}
	e := scenario.Event{At: at, Link: f[1]}
	k, v, _ := strings.Cut(f[2], "=")
	switch k {
	case "down":
		e.Kind = scenario.LinkDown
	case "up":
		e.Kind = scenario.LinkUp
	case "rate":
		e.Kind = scenario.SetRate
		e.Rate, err = parseRate(v)
	case "delay":
		e.Kind = scenario.SetDelay
		e.Delay, err = time.ParseDuration(v)
	case "loss":
		e.Kind = scenario.SetLoss
		e.Loss, err = strconv.ParseFloat(v, 64)
		if err == nil && (e.Loss < 0 || e.Loss >= 1) {
			err = fmt.Errorf("loss out of range")
		}
	default:
		return e, fmt.Errorf("event %q: unknown change %q", spec, f[2])
	}
	if err != nil {
		return e, fmt.Errorf("event %q: %v", spec, err)
	}
	return e, nil
}

// simResult is the JSON form of a flow's outcome.
type simResult struct {
	Flow         string   `json:"flow"`
	MPTCP        bool     `json:"mptcp"`
	Bytes        int64    `json:"bytes"`
	Exact        bool     `json:"exact"`
	Error        string   `json:"error,omitempty"`
	Goodput      float64  `json:"goodput_bps"`
	Completion   float64  `json:"completion_s,omitempty"`
	Stall        float64  `json:"longest_stall_s"`
	Subflows     int      `json:"subflows,omitempty"`
	Fallback     bool     `json:"fallback,omitempty"`
	SubflowBytes []uint64 `json:"subflow_bytes_acked,omitempty"`
	Reinjected   uint64   `json:"reinjected_bytes,omitempty"`
	Retrans      uint64   `json:"retransmitted_segments"`
}

func runSim(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", stderr)
	var paths, events listFlag
	fs.Var(&paths, "path", "a path, both directions: RATE,DELAY[,loss=P][,queue=N][,jitter=D] (repeat for more paths)")
	fs.Var(&events, "event", "a change at a time: \"AT pN down|up|rate=R|delay=D|loss=P\" (repeatable)")
	bytes := fs.Int64("bytes", 0, "bytes to send (default: send for --duration)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send when --bytes is not given")
	ccName := fs.String("cc", "cubic", "congestion control of every subflow: "+strings.Join(cc.Names(), ", "))
	schedName := fs.String("scheduler", "default", "packet scheduler: "+strings.Join(sched.Names(), ", "))
	pm := fs.String("pm", "paths", "subflows: paths (one per path), single (the initial one), ndiffports=N (N on the first path)")
	checksum := fs.Bool("checksum", false, "request DSS checksums")
	tcpFlows := fs.Int("tcp-flows", 0, "competing TCP flows over the first path")
	seed := fs.Uint64("seed", 1, "seed of the simulation")
	offload := fs.Bool("offload", false, "model segmentation offload: bursts cross loss-free links as super-packets (faster; bursts stay together)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	var plots listFlag
	fs.Var(&plots, "plot", "draw each subflow's throughput, congestion window and RTT over time, the --event times marked, to `FILE` (.png or .svg; repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if err := checkPlotFiles(plots); err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError("at least one --path is needed")
	}
	if len(paths) > 8 {
		return usageError("at most 8 paths")
	}
	var pcs [][2]impair.Config
	for _, p := range paths {
		c, err := parsePath(p)
		if err != nil {
			return usageError("%v", err)
		}
		pcs = append(pcs, [2]impair.Config{c, c})
	}
	if *bytes < 0 || *duration <= 0 || *duration > time.Hour {
		return usageError("--bytes must be positive, --duration in (0, 1h]")
	}
	if *tcpFlows < 0 || *tcpFlows > 16 {
		return usageError("--tcp-flows must be between 0 and 16")
	}
	known := false
	for _, n := range cc.Names() {
		known = known || n == *ccName
	}
	if !known {
		return usageError("unknown congestion control %q (%s)", *ccName, strings.Join(cc.Names(), ", "))
	}
	newSched, err := sched.New(*schedName)
	if err != nil {
		return usageError("%v", err)
	}
	s := scenario.Parallel(pcs...)
	s.Name, s.Seed, s.Offload = "sim", *seed, *offload
	s.SampleInterval = 10 * time.Millisecond
	s.MPTCP.Checksum = *checksum
	for _, e := range events {
		ev, err := parseEvent(e, len(pcs))
		if err != nil {
			return usageError("%v", err)
		}
		s.Events = append(s.Events, ev)
	}
	f := scenario.MPTCPFlow("mptcp", len(pcs), *bytes)
	switch {
	case *pm == "paths":
	case *pm == "single":
		f.Subflows = nil
	case strings.HasPrefix(*pm, "ndiffports="):
		n, err := strconv.Atoi(strings.TrimPrefix(*pm, "ndiffports="))
		if err != nil || n < 1 || n > 8 {
			return usageError("--pm ndiffports=N wants N in 1…8")
		}
		f.Subflows = nil
		for range n - 1 {
			f.Subflows = append(f.Subflows, scenario.Subflow{From: "client/p1", To: "server/p1"})
		}
	default:
		return usageError("unknown --pm %q", *pm)
	}
	f.CC = *ccName
	f.Scheduler = func() meta.Scheduler { return newSched() }
	if *bytes == 0 {
		f.Duration = *duration
	}
	s.Flows = []scenario.Flow{f}
	for i := range *tcpFlows {
		tf := scenario.Flow{Name: fmt.Sprintf("tcp%d", i+1), From: "client/p1", To: "server/p1", Bytes: *bytes, CC: *ccName, Port: uint16(6001 + i)}
		if *bytes == 0 {
			tf.Duration = *duration
		}
		s.Flows = append(s.Flows, tf)
	}
	s.Limit = *duration + 10*time.Minute
	res, err := scenario.Run(&s)
	if err != nil {
		return err
	}
	if len(plots) > 0 {
		title := fmt.Sprintf("mptcp sim: paths %s; cc %s, scheduler %s, pm %s", strings.Join(paths, " | "), *ccName, *schedName, *pm)
		if err := writePlots(simFigure(title, res, nil, 100*time.Millisecond), plots); err != nil {
			return err
		}
	}
	var out []simResult
	var goodputs []float64
	for i := range res.Flows {
		fr := &res.Flows[i]
		r := simResult{Flow: fr.Name, MPTCP: fr.SenderMPTCP != nil, Bytes: fr.Received, Exact: fr.Exact() && fr.Err == nil,
			Retrans: fr.Sender.TotalRetrans}
		if fr.Err != nil {
			r.Error = fr.Err.Error()
		}
		end := res.End
		if *bytes == 0 {
			end = min(end, *duration)
			r.Goodput = fr.Throughput(0, end)
		} else {
			r.Goodput = fr.Goodput()
			r.Completion = fr.CompletionTime().Seconds()
		}
		r.Stall = fr.LongestStall(0, end).Seconds()
		if in := fr.SenderMPTCP; in != nil {
			r.Subflows = in.SubflowsTotal
			r.Fallback = in.Flags&meta.InfoFlagFallback != 0
			r.Reinjected = in.BytesRetrans
			for _, sf := range in.Subflow {
				r.SubflowBytes = append(r.SubflowBytes, sf.TCP.BytesAcked)
			}
		}
		goodputs = append(goodputs, r.Goodput)
		out = append(out, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Flows    []simResult `json:"flows"`
			Fairness float64     `json:"jain_fairness,omitempty"`
		}{out, fairness(goodputs)})
	}
	t := &scenario.Table{Header: []string{"flow", "bytes", "goodput", "longest stall", "subflows", "reinjected", "retrans", "exact"}}
	for _, r := range out {
		ok := "yes"
		if !r.Exact {
			ok = "NO"
		}
		sub := "-"
		if r.MPTCP {
			sub = strconv.Itoa(r.Subflows)
			if r.Fallback {
				sub += " (fallback)"
			}
		}
		t.Add(r.Flow, strconv.FormatInt(r.Bytes, 10), fmt.Sprintf("%.2f Mbit/s", r.Goodput/1e6), fmt.Sprintf("%.2f s", r.Stall),
			sub, strconv.FormatUint(r.Reinjected, 10), strconv.FormatUint(r.Retrans, 10), ok)
	}
	fmt.Fprint(stdout, t.String())
	if len(goodputs) > 1 {
		fmt.Fprintf(stdout, "\nJain's fairness index over the flows' goodputs: %.3f\n", fairness(goodputs))
	}
	fmt.Fprintf(stdout, "\n%s", res.LinkTable().String())
	if len(plots) > 0 {
		fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(plots, ", "))
	}
	return nil
}

func fairness(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	return scenario.JainIndex(x...)
}

// checkPlotFiles checks the --plot files' extensions before a run.
func checkPlotFiles(files []string) error {
	for _, f := range files {
		if _, err := plot.FormatOf(f); err != nil {
			return usageError("--plot: %v", err)
		}
	}
	return nil
}

// writePlots renders fig to each file.
func writePlots(fig *plot.Figure, files []string) error {
	for _, f := range files {
		if err := fig.WriteFile(f); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	return nil
}

// simFigure draws a scenario's result: the panels of plot.SubflowPanels
// with a series per subflow (per TCP connection), named after its link
// (renamed by rename, when it has the link) and its flow when there are
// several, and each MPTCP flow's goodput at the receiver, dashed, in the
// throughput panel; the link events are marked. Throughput is averaged
// over window.
func simFigure(title string, res *scenario.Result, rename map[string]string, window time.Duration) *plot.Figure {
	linkName := func(l string) string {
		if n, ok := rename[l]; ok {
			return n
		}
		return l
	}
	var subs []plot.Subflow
	var totals []plot.Series
	for i := range res.Flows {
		f := &res.Flows[i]
		if f.SenderMPTCP == nil {
			// A TCP flow: its connection, named after the flow.
			for _, sr := range f.Series {
				subs = append(subs, plotSubflow(f.Name, f, &sr))
			}
			continue
		}
		prefix, total := "", "MPTCP goodput"
		if len(res.Flows) > 1 {
			prefix, total = f.Name+" ", f.Name+" goodput"
		}
		seen := map[string]int{}
		for _, sr := range f.Series {
			name := linkName(sr.Link)
			if seen[sr.Link]++; seen[sr.Link] > 1 {
				name = fmt.Sprintf("%s #%d", name, seen[sr.Link])
			}
			subs = append(subs, plotSubflow(prefix+name, f, &sr))
		}
		totals = append(totals, goodputSeries(total, f, window))
	}
	fig := &plot.Figure{Title: title, Panels: plot.SubflowPanels(subs, window)}
	fig.Panels[0].Series = append(fig.Panels[0].Series, totals...)
	for _, m := range res.Marks {
		label := m.Label()
		if l, rest, ok := strings.Cut(label, " "); ok {
			label = linkName(l) + " " + rest
		}
		fig.Events = append(fig.Events, plot.Event{T: m.At, Label: label})
	}
	return fig
}

// plotSubflow converts a subflow's series. A subflow first seen after the
// start of the run had acknowledged nothing at the sample before (it did
// not exist yet): its counter starts there, so that its first bytes
// count in its throughput.
func plotSubflow(name string, f *scenario.FlowResult, sr *scenario.SubflowSeries) plot.Subflow {
	sf := plot.Subflow{Name: name}
	if len(sr.Samples) > 0 && f.SampleInterval > 0 {
		first := sr.Samples[0].At
		sf.Samples = append(sf.Samples, plot.Sample{T: (first - 1) / f.SampleInterval * f.SampleInterval})
	}
	for _, x := range sr.Samples {
		sf.Samples = append(sf.Samples, plot.Sample{T: x.At, Sent: x.Acked, Cwnd: x.Cwnd, RTT: x.SRTT})
	}
	return sf
}

// goodputSeries is the rate at which f's receiver read, dashed.
func goodputSeries(name string, f *scenario.FlowResult, window time.Duration) plot.Series {
	pts := []plot.Point{{}}
	for k, v := range f.Samples {
		pts = append(pts, plot.Point{T: time.Duration(k+1) * f.SampleInterval, V: float64(v)})
	}
	s := plot.Rate(name, pts, window)
	s.Dashed = true
	return s
}
