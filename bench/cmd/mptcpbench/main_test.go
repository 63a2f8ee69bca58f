package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/bench"
	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	c, err := parse(nil, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(benches, c.benches); diff != "" {
		t.Errorf("default benchmarks (-want +got):\n%s", diff)
	}
	if c.opts.Runs != 5 || c.opts.Duration != 10*time.Second || c.opts.Warmup != 2*time.Second || len(c.pairings) != 3 {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parse([]string{"-bench", "aggregation,sim", "-paths", "50mbit/20ms,30mbit/20ms", "-pairings", "gomptcp-gomptcp", "-runs", "3"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"aggregation", "sim"}, c.benches); diff != "" {
		t.Errorf("benchmarks (-want +got):\n%s", diff)
	}
	if len(c.paths) != 2 || c.paths[1].Rate != 30e6 || c.pairings[0] != bench.GomptcpGomptcp || c.opts.Runs != 3 {
		t.Errorf("parsed %+v", c)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-bench", "nope"}, "unknown benchmark"},
		{[]string{"-runs", "0"}, "-runs"},
		{[]string{"-duration", "1s", "-warmup", "1s"}, "-warmup"},
		{[]string{"-warmup", "-1s"}, "-warmup"},
		{[]string{"-pairings", "linux"}, "pairing"},
		{[]string{"-paths", "fast"}, "path"},
		{[]string{"-conns", "0"}, "-conns"},
		{[]string{"-sim-time", "0s"}, "-sim-time"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-nosuchflag"}, "not defined"},
	} {
		if _, err := parse(tt.args, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parse(%q) = %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}

func TestRunUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-runs", "x"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad flag: exit %d, want 2 (stderr %q)", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage: mptcpbench") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr.String())
	}
}

// TestRunSim runs the one benchmark that needs no privileges end to end:
// the simulator's speed, with JSON output and files written.
func TestRunSim(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs the simulator for seconds of virtual time (skipped with -short and under the race detector)")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-bench", "sim", "-runs", "2", "-sim-time", "500ms", "-json", "-out", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out output
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	if len(out.Samples) != 4 || len(out.Tables) != 1 || out.Tables[0].Title != "sim" {
		t.Fatalf("output %+v", out)
	}
	for _, s := range out.Samples {
		if s.Err != "" || s.Metrics["sim_per_wall"] <= 0 || s.Metrics["goodput_mbps"] < 100 {
			t.Errorf("sample %+v", s)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "tables.md"))
	if err != nil || !strings.Contains(string(md), "#### sim") {
		t.Errorf("tables.md: %v\n%s", err, md)
	}
	// The saved samples render the same tables again.
	stdout.Reset()
	if code := run([]string{"-from", filepath.Join(dir, "samples.json")}, &stdout, &stderr); code != 0 {
		t.Fatalf("-from: exit %d: %s", code, stderr.String())
	}
	if stdout.String() != string(md) {
		t.Errorf("-from rendered\n%s\nwant\n%s", stdout.String(), md)
	}
}

func TestRunFromErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{bad, filepath.Join(dir, "missing.json")} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"-from", f}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "mptcpbench:") {
			t.Errorf("-from %s: exit %d, stderr %q", f, code, stderr.String())
		}
	}
}
