// Command mptcpbench runs gomptcp's end-to-end benchmarks on emulated
// paths in network namespaces, against the Linux kernel's MPTCP and
// gVisor's netstack, and prints their tables (docs/BENCHMARKS.md).
//
//	mptcpbench [flags]
//
// It needs root, the ip tool, /dev/net/tun and the kernel's MPTCP. Every
// namespace and device it creates is named "gmb" and its process id and is
// removed before it exits, also on SIGINT and SIGTERM.
//
// Exit status: 0 when every measurement succeeded, 1 when one failed (its
// error is in the table's "runs" column and in the JSON), 2 for bad flags.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gomptcp/mptcp/bench"
)

// benches are the benchmarks, in the order they run.
var benches = []string{"aggregation", "ceiling", "failover", "tun", "setup", "memory", "sim"}

type config struct {
	benches  []string
	opts     bench.Options
	pairings []bench.Pairing
	paths    []bench.PathSpec // overrides the aggregation cases
	conns    int
	dials    int
	simTime  time.Duration
	jsonOut  bool
	outDir   string
	verbose  bool
	from     string
	tunSubj  []bench.TUNSubject
	cpuProf  string
	plotDir  string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parse(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("mptcpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mptcpbench [flags]\n\nBenchmarks: %s (default all).\n\nFlags:\n", strings.Join(benches, ", "))
		fs.PrintDefaults()
	}
	c := &config{}
	which := fs.String("bench", "all", "comma-separated benchmarks to run, or all")
	fs.IntVar(&c.opts.Runs, "runs", 5, "repetitions; tables show medians")
	fs.DurationVar(&c.opts.Duration, "duration", 10*time.Second, "how long each transfer sends")
	fs.DurationVar(&c.opts.Warmup, "warmup", 2*time.Second, "start of each transfer left out of goodput and CPU time")
	fs.Uint64Var(&c.opts.Seed, "seed", 1, "seed of the path emulation")
	pairings := fs.String("pairings", "linux-linux,gomptcp-linux,gomptcp-gomptcp", "client-server pairings of aggregation, ceiling, failover and setup (linux or gomptcp each)")
	paths := fs.String("paths", "", "aggregation paths instead of the default cases, comma-separated RATE[/RTT[/LOSS%[/qBDP]]] (50mbit/20ms,30mbit/20ms)")
	fs.IntVar(&c.conns, "conns", 1000, "idle connections of the memory benchmark")
	fs.IntVar(&c.dials, "dials", 100, "dials per run of the setup benchmark")
	fs.DurationVar(&c.simTime, "sim-time", 20*time.Second, "virtual time of each simulator run")
	fs.BoolVar(&c.jsonOut, "json", false, "print the samples and tables as JSON instead of Markdown")
	fs.StringVar(&c.outDir, "out", "", "directory to write tables.md and samples.json to")
	fs.BoolVar(&c.verbose, "v", false, "log every measurement to standard error")
	fs.StringVar(&c.from, "from", "", "render the tables of a samples.json written by -out instead of running anything")
	tunSubj := fs.String("tun-subjects", "", "subjects of the tun benchmark, comma-separated (default all: "+tunSubjects()+")")
	fs.StringVar(&c.plotDir, "plots", "", "write a PNG and an SVG per aggregation and failover case (goodput over time, each pairing's median run) to `DIR`")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write a CPU profile of the whole run (every benchmark, this process only) to FILE")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *which == "all" {
		c.benches = benches
	} else {
		for b := range strings.SplitSeq(*which, ",") {
			if !slices.Contains(benches, b) {
				return nil, fmt.Errorf("unknown benchmark %q (have %s)", b, strings.Join(benches, ", "))
			}
			c.benches = append(c.benches, b)
		}
	}
	c.tunSubj = bench.DefaultTUNSubjects()
	if *tunSubj != "" {
		c.tunSubj = nil
		for t := range strings.SplitSeq(*tunSubj, ",") {
			if !slices.Contains(bench.DefaultTUNSubjects(), bench.TUNSubject(t)) {
				return nil, fmt.Errorf("unknown TUN subject %q (have %s)", t, tunSubjects())
			}
			c.tunSubj = append(c.tunSubj, bench.TUNSubject(t))
		}
	}
	var err error
	if c.pairings, err = bench.ParsePairings(*pairings); err != nil {
		return nil, err
	}
	if *paths != "" {
		if c.paths, err = bench.ParsePaths(*paths); err != nil {
			return nil, err
		}
	}
	switch {
	case c.opts.Runs < 1:
		return nil, errors.New("-runs must be at least 1")
	case c.opts.Duration <= 0 || c.opts.Warmup < 0 || c.opts.Warmup >= c.opts.Duration:
		return nil, errors.New("-warmup must be shorter than -duration, both positive")
	case c.conns < 1 || c.dials < 1:
		return nil, errors.New("-conns and -dials must be at least 1")
	case c.simTime <= 0:
		return nil, errors.New("-sim-time must be positive")
	}
	return c, nil
}

// tunSubjects lists the subjects of the tun benchmark for the usage text.
func tunSubjects() string {
	var s []string
	for _, t := range bench.DefaultTUNSubjects() {
		s = append(s, string(t))
	}
	return strings.Join(s, ",")
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mptcpbench:", err)
		return 2
	}
	if c.verbose {
		c.opts.Logf = func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(stderr, "mptcpbench: %v: cleaning up\n", s)
		if err := bench.CloseAll(); err != nil {
			fmt.Fprintln(stderr, "mptcpbench:", err)
		}
		os.Exit(130)
	}()

	if c.cpuProf != "" {
		f, err := os.Create(c.cpuProf)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "mptcpbench:", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintln(stderr, "mptcpbench:", err)
			}
		}()
	}
	var samples []bench.Sample
	if c.from != "" {
		b, err := os.ReadFile(c.from)
		if err == nil {
			var o output
			if err = json.Unmarshal(b, &o); err == nil {
				samples = o.Samples
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "mptcpbench:", err)
			return 1
		}
		c.benches = nil
	}
	for _, b := range c.benches {
		s, err := runBench(c, b)
		if err != nil {
			fmt.Fprintf(stderr, "mptcpbench: %s: %v\n", b, err)
			return 1
		}
		samples = append(samples, s...)
	}
	tables := bench.Tables(samples)
	failed := 0
	for _, s := range samples {
		if s.Err != "" {
			failed++
			fmt.Fprintf(stderr, "mptcpbench: %s %s %s run %d: %s\n", s.Bench, s.Case, s.Subject, s.Run, s.Err)
		}
	}
	if err := write(c, stdout, samples, tables); err != nil {
		fmt.Fprintln(stderr, "mptcpbench:", err)
		return 1
	}
	if c.plotDir != "" {
		files, err := bench.WritePlots(samples, c.plotDir)
		for _, f := range files {
			fmt.Fprintln(stderr, "mptcpbench: wrote", f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "mptcpbench:", err)
			return 1
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func runBench(c *config, b string) ([]bench.Sample, error) {
	switch b {
	case "aggregation":
		cases := bench.DefaultAggregationCases()
		if c.paths != nil {
			cases = []bench.PathCase{{Name: bench.PathsString(c.paths), Paths: c.paths}}
		}
		return bench.RunAggregation(c.opts, cases, c.pairings)
	case "ceiling":
		return bench.RunCeiling(c.opts, c.pairings)
	case "failover":
		return bench.RunFailover(c.opts, bench.DefaultFailoverCases(), c.pairings)
	case "tun":
		return bench.RunTUN(c.opts, c.tunSubj)
	case "setup":
		return bench.RunSetup(c.opts, c.pairings, c.dials)
	case "memory":
		return bench.RunMemory(c.opts, bench.DefaultMemoryCases(), c.conns)
	case "sim":
		return bench.RunSimSpeed(c.opts, c.simTime)
	}
	return nil, fmt.Errorf("unknown benchmark %q", b)
}

type output struct {
	Samples []bench.Sample `json:"samples"`
	Tables  []bench.Table  `json:"tables"`
}

func markdown(tables []bench.Table) string {
	var b strings.Builder
	for i, t := range tables {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(t.Markdown())
	}
	return b.String()
}

func write(c *config, stdout io.Writer, samples []bench.Sample, tables []bench.Table) error {
	js, err := json.MarshalIndent(output{samples, tables}, "", "  ")
	if err != nil {
		return err
	}
	if c.jsonOut {
		_, err = fmt.Fprintf(stdout, "%s\n", js)
	} else {
		_, err = io.WriteString(stdout, markdown(tables))
	}
	if err != nil {
		return err
	}
	if c.outDir == "" {
		return nil
	}
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.outDir, "samples.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.outDir, "tables.md"), []byte(markdown(tables)), 0o644)
}
