package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/scenario"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		want impair.Config
		ok   bool
	}{
		{"20M,10ms", impair.Config{Rate: 20e6, Delay: 10 * time.Millisecond, QueuePackets: 33}, true},
		{"1.5G,1ms,loss=0.01,queue=500,jitter=2ms", impair.Config{Rate: 1.5e9, Delay: time.Millisecond, Loss: 0.01, QueuePackets: 500, Jitter: 2 * time.Millisecond}, true},
		{"0,5ms", impair.Config{Delay: 5 * time.Millisecond}, true},
		{"800k,100ms", impair.Config{Rate: 800e3, Delay: 100 * time.Millisecond, QueuePackets: 16}, true},
		{"20M", impair.Config{}, false},
		{"fast,10ms", impair.Config{}, false},
		{"20M,-1ms", impair.Config{}, false},
		{"20M,10ms,loss=1", impair.Config{}, false},
		{"20M,10ms,queue=0", impair.Config{}, false},
		{"20M,10ms,color=red", impair.Config{}, false},
		{"20M,10ms,loss", impair.Config{}, false},
	}
	for _, tc := range tests {
		got, err := parsePath(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok {
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("%q (-want +got):\n%s", tc.in, d)
			}
		}
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		in   string
		want scenario.Event
		ok   bool
	}{
		{"5s p1 down", scenario.Event{At: 5 * time.Second, Link: "p1", Kind: scenario.LinkDown}, true},
		{"1.5s p2 up", scenario.Event{At: 1500 * time.Millisecond, Link: "p2", Kind: scenario.LinkUp}, true},
		{"2s p1 rate=5M", scenario.Event{At: 2 * time.Second, Link: "p1", Kind: scenario.SetRate, Rate: 5e6}, true},
		{"2s p1 delay=50ms", scenario.Event{At: 2 * time.Second, Link: "p1", Kind: scenario.SetDelay, Delay: 50 * time.Millisecond}, true},
		{"2s p1 loss=0.1", scenario.Event{At: 2 * time.Second, Link: "p1", Kind: scenario.SetLoss, Loss: 0.1}, true},
		{"2s p3 down", scenario.Event{}, false},
		{"2s x1 down", scenario.Event{}, false},
		{"soon p1 down", scenario.Event{}, false},
		{"2s p1 explode", scenario.Event{}, false},
		{"2s p1", scenario.Event{}, false},
		{"2s p1 loss=2", scenario.Event{}, false},
	}
	for _, tc := range tests {
		got, err := parseEvent(tc.in, 2)
		if (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok {
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("%q (-want +got):\n%s", tc.in, d)
			}
		}
	}
}

func simJSON(t *testing.T, args ...string) []simResult {
	t.Helper()
	var out, errb bytes.Buffer
	if err := runSim(append(args, "--json"), &out, &errb); err != nil {
		t.Fatal(err)
	}
	var res struct{ Flows []simResult }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	return res.Flows
}

func TestSim(t *testing.T) {
	if raceEnabled {
		t.Skip("long single-goroutine simulations: run without -race")
	}
	// Two paths: both subflows carry data; a competing TCP flow is
	// reported too; every byte is exact.
	r := simJSON(t, "--path", "20M,10ms", "--path", "10M,30ms", "--bytes", "4000000", "--tcp-flows", "1")
	if len(r) != 2 || !r[0].MPTCP || r[1].MPTCP {
		t.Fatalf("results %+v", r)
	}
	if !r[0].Exact || !r[1].Exact || r[0].Subflows != 2 || len(r[0].SubflowBytes) != 2 || r[0].SubflowBytes[1] == 0 {
		t.Errorf("results %+v", r)
	}
	// ndiffports: three subflows on one path; single: one.
	if r := simJSON(t, "--path", "20M,10ms", "--bytes", "1000000", "--pm", "ndiffports=3"); r[0].Subflows != 3 || !r[0].Exact {
		t.Errorf("ndiffports: %+v", r[0])
	}
	if r := simJSON(t, "--path", "20M,10ms", "--path", "10M,10ms", "--bytes", "1000000", "--pm", "single"); r[0].Subflows != 1 || !r[0].Exact {
		t.Errorf("single: %+v", r[0])
	}
	// A path that goes down and up: the transfer completes exactly.
	r = simJSON(t, "--path", "20M,10ms", "--path", "10M,20ms", "--bytes", "8000000", "--event", "1s p1 down", "--event", "3s p1 up", "--checksum")
	if !r[0].Exact || r[0].Reinjected == 0 {
		t.Errorf("with a link down: %+v", r[0])
	}
	for _, name := range []string{"roundrobin", "redundant", "blest", "ecf"} {
		if r := simJSON(t, "--path", "10M,5ms", "--path", "10M,30ms", "--bytes", "2000000", "--scheduler", name); !r[0].Exact || r[0].Subflows != 2 {
			t.Errorf("scheduler %s: %+v", name, r[0])
		}
	}
	// With offload: exact too, both subflows used, a link down and up.
	r = simJSON(t, "--path", "20M,10ms", "--path", "10M,20ms", "--bytes", "8000000", "--event", "1s p1 down", "--event", "3s p1 up", "--offload")
	if !r[0].Exact || r[0].Subflows != 2 || r[0].SubflowBytes[0] == 0 || r[0].SubflowBytes[1] == 0 || r[0].Reinjected == 0 {
		t.Errorf("with offload: %+v", r[0])
	}
	var out, errb bytes.Buffer
	if err := runSim([]string{"--path", "5M,5ms", "--duration", "2s"}, &out, &errb); err != nil || !bytes.Contains(out.Bytes(), []byte("mptcp")) {
		t.Errorf("text output: %v\n%s", err, out.String())
	}
}

func TestSimBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{}, {"--path", "bad"}, {"--path", "1M,1ms", "--cc", "nope"}, {"--path", "1M,1ms", "--pm", "mesh"},
		{"--path", "1M,1ms", "--pm", "ndiffports=0"}, {"--path", "1M,1ms", "--event", "1s p2 down"},
		{"--path", "1M,1ms", "--tcp-flows", "-1"}, {"--path", "1M,1ms", "--scheduler", "fastest"}, {"--path", "1M,1ms", "--bytes", "-5"}, {"--path", "1M,1ms", "extra"},
		{"--path", "1M,1ms", "--plot", "run.pdf"}, {"--path", "1M,1ms", "--plot", "run"},
	} {
		var out, errb bytes.Buffer
		if err := runSim(args, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

// TestSimPlot: --plot draws every subflow of the MPTCP flow and the
// competing TCP flow, the MPTCP goodput and the events, to PNG and SVG.
func TestSimPlot(t *testing.T) {
	if raceEnabled {
		t.Skip("long single-goroutine simulations: run without -race")
	}
	dir := t.TempDir()
	pngPath, svgPath := filepath.Join(dir, "sim.PNG"), filepath.Join(dir, "sim.svg")
	var out, errb bytes.Buffer
	args := []string{"--path", "20M,10ms", "--path", "10M,20ms", "--bytes", "3000000", "--tcp-flows", "1",
		"--event", "500ms p2 down", "--event", "1s p2 up", "--plot", pngPath, "--plot", svgPath}
	if err := runSim(args, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote "+pngPath+", "+svgPath) {
		t.Errorf("output does not name the plots:\n%s", out.String())
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("--plot PNG: %v", err)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := xmlWellFormed(svg); err != nil {
		t.Errorf("--plot SVG: %v", err)
	}
	for _, want := range []string{"mptcp p1", "mptcp p2", "tcp1", "mptcp goodput", "p2 down", "p2 up", "time (s)"} {
		if !bytes.Contains(svg, []byte(">"+want+"<")) {
			t.Errorf("the SVG has no text %q", want)
		}
	}
	// One flow: subflows named after their paths alone, numbered when
	// they share one.
	out.Reset()
	if err := runSim([]string{"--path", "20M,5ms", "--bytes", "500000", "--pm", "ndiffports=2", "--plot", svgPath}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if svg, err = os.ReadFile(svgPath); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p1", "p1 #2", "MPTCP goodput"} {
		if !bytes.Contains(svg, []byte(">"+want+"<")) {
			t.Errorf("ndiffports: the SVG has no text %q", want)
		}
	}
}

// TestParseRate: --path takes k/M/G suffixes and tc's units alike.
func TestParseRate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"50M", 50_000_000, true},
		{"1.5G", 1_500_000_000, true},
		{"800k", 800_000, true},
		{"20mbit", 20_000_000, true},
		{"2mbps", 16_000_000, true},
		{"9600", 9600, true},
		{"fast", 0, false},
		{"-5M", 0, false},
		{"20mbitx", 0, false},
	} {
		got, err := parseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
