package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gomptcp/mptcp/internal/plot"
	"github.com/gomptcp/mptcp/interop"
)

func demoJSON(t *testing.T, args ...string) []demoRun {
	t.Helper()
	var out, errb bytes.Buffer
	if err := runDemo(append(args, "--json"), &out, &errb); err != nil {
		t.Fatal(err)
	}
	var runs []demoRun
	if err := json.Unmarshal(out.Bytes(), &runs); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs", len(runs))
	}
	return runs
}

func TestDemo(t *testing.T) {
	if raceEnabled {
		t.Skip("long single-goroutine simulations: run without -race")
	}
	runs := demoJSON(t, "--seconds", "4", "--outage", "1,1.5")
	for _, r := range runs {
		if !r.Exact || r.Bytes == 0 || len(r.PerSecond) != 4 || r.HandoverStall == nil {
			t.Errorf("%s: exact %v, %d bytes, %d seconds, handover stall %v", r.Mode, r.Exact, r.Bytes, len(r.PerSecond), r.HandoverStall)
		}
	}
	// The Wi-Fi outage stalls TCP over Wi-Fi for longer than it stalls
	// MPTCP, which goes on over LTE; MPTCP opened both subflows.
	wifi, mp := runs[0], runs[2]
	if wifi.Stall < 1.5 || mp.Stall >= wifi.Stall || mp.Subflows != 2 {
		t.Errorf("stalls: TCP over Wi-Fi %.1f s, MPTCP %.1f s (%d subflows)", wifi.Stall, mp.Stall, mp.Subflows)
	}
	if *wifi.HandoverStall < 1.4 || *mp.HandoverStall >= *wifi.HandoverStall {
		t.Errorf("handover stalls: TCP over Wi-Fi %.2f s, MPTCP %.2f s", *wifi.HandoverStall, *mp.HandoverStall)
	}
	if r := demoJSON(t, "--seconds", "2", "--outage", "none"); r[2].HandoverStall != nil {
		t.Errorf("a handover stall without an outage: %v", *r[2].HandoverStall)
	}
}

// TestDemoLive: the text output has a live line every 0.5 s of the MPTCP
// run with both subflows, the outage marked on the lines where it
// happens, no terminal escapes when the output is not a terminal, then
// the comparison, and a hint at --plot and --pcap.
func TestDemoLive(t *testing.T) {
	if raceEnabled {
		t.Skip("long single-goroutine simulations: run without -race")
	}
	var out, errb bytes.Buffer
	if err := runDemo([]string{"--seconds", "3", "--outage", "1,1", "--fast"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	var live []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "t=") {
			live = append(live, l)
		}
	}
	if len(live) < 6 {
		t.Fatalf("%d live lines, want one per 0.5 s of at least 3 s:\n%s", len(live), text)
	}
	for i, l := range live {
		if want := fmt.Sprintf("t=%5.1fs ", (time.Duration(i+1) * demoTick).Seconds()); !strings.HasPrefix(l, want) {
			t.Errorf("line %d %q: want %q", i, l, want)
		}
		if !strings.Contains(l, " wifi ") || !strings.Contains(l, " lte ") || strings.Count(l, "Mbit/s") != 3 {
			t.Errorf("line %q: want wifi, lte and the total", l)
		}
		wantEvent := map[int]string{1: "<- wifi down", 3: "<- wifi up"}[i]
		if got := strings.Contains(l, "<- wifi"); got != (wantEvent != "") || wantEvent != "" && !strings.HasSuffix(l, wantEvent) {
			t.Errorf("line %d %q: want event %q", i, l, wantEvent)
		}
	}
	// While Wi-Fi is down its subflow delivers nothing; LTE does.
	if !strings.Contains(live[2], "wifi              0.0 Mbit/s") || strings.Contains(live[2], "lte               0.0") {
		t.Errorf("line during the outage: %q", live[2])
	}
	if strings.Contains(text, "\x1b[") {
		t.Error("terminal escapes in output that is not a terminal")
	}
	for _, want := range []string{"TCP over Wi-Fi", "TCP over LTE", "MPTCP over both", "goodput second by second",
		"During the outage", "--plot demo.png", "--pcap demo.pcap"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

// TestDemoPace: the live run sleeps, in all, the simulated time divided
// by --speed.
func TestDemoPace(t *testing.T) {
	if raceEnabled {
		t.Skip("long single-goroutine simulations: run without -race")
	}
	var slept time.Duration
	base := time.Unix(1e9, 0)
	demoNow = func() time.Time { return base.Add(slept) }
	demoSleep = func(d time.Duration) { slept += d }
	t.Cleanup(func() { demoNow, demoSleep = time.Now, time.Sleep })
	var out, errb bytes.Buffer
	if err := runDemo([]string{"--seconds", "2", "--outage", "none", "--speed", "4"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	// The run ends at a multiple of 100 ms after the 2 s of sending.
	if slept < 2*time.Second/4 || slept > 4*time.Second/4 || slept%(100*time.Millisecond/4) != 0 {
		t.Errorf("slept %v in all at 4× for a run of about 2 s", slept)
	}
	if !strings.Contains(out.String(), "at 4× real time") {
		t.Errorf("output does not give the pace:\n%s", out.String())
	}
	slept = 0
	if err := runDemo([]string{"--seconds", "2", "--outage", "none", "--speed", "4", "--fast"}, &out, &errb); err != nil || slept != 0 {
		t.Errorf("--fast: slept %v (%v)", slept, err)
	}
}

// TestDemoFiles: --plot writes a PNG and an SVG of the MPTCP run with the
// outage marked, --pcap a capture of its packets, headers only, that
// tshark reads without a problem; capturing does not change the run.
func TestDemoFiles(t *testing.T) {
	if raceEnabled {
		t.Skip("long single-goroutine simulations: run without -race")
	}
	dir := t.TempDir()
	pngPath, svgPath, pcapPath := filepath.Join(dir, "d.png"), filepath.Join(dir, "d.svg"), filepath.Join(dir, "d.pcap")
	args := []string{"--seconds", "3", "--outage", "1,1"}
	var out, errb bytes.Buffer
	if err := runDemo(append(args, "--fast", "--plot", pngPath, "--plot", svgPath, "--pcap", pcapPath), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Plot of the MPTCP run: "+pngPath+", "+svgPath) ||
		!strings.Contains(out.String(), "Capture of the MPTCP run: "+pcapPath) || strings.Contains(out.String(), "Draw it:") {
		t.Errorf("output does not name the files:\n%s", out.String())
	}

	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("--plot PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("PNG of %v", b)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := xmlWellFormed(svg); err != nil {
		t.Errorf("--plot SVG: %v", err)
	}
	for _, want := range []string{"wifi", "lte", "wifi down", "wifi up", "MPTCP goodput", plot.TitleSent, plot.TitleCwnd, plot.TitleRTT} {
		if !bytes.Contains(svg, []byte(">"+want+"<")) {
			t.Errorf("the SVG has no text %q", want)
		}
	}

	checkDemoCapture(t, pcapPath)
	// The capture does not change the run.
	if a, b := demoJSON(t, args...), demoJSON(t, append(args, "--pcap", filepath.Join(dir, "again.pcap"))...); !jsonEqual(a, b) {
		t.Errorf("results differ with a capture:\n%+v\n%+v", a, b)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// checkDemoCapture checks the demo's capture: pcap with the demo's
// snapshot length, the phone's packets both ways on both links, and a
// clean bill from tshark when it is installed.
func checkDemoCapture(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("--pcap: %v", err)
	}
	if r.Snaplen() != uint32(demoSnapLen) {
		t.Errorf("snaplen %d, want %d", r.Snaplen(), demoSnapLen)
	}
	srcs := map[string]int{}
	var truncated int
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("--pcap: %v", err)
		}
		if len(data) > demoSnapLen || ci.Length < ci.CaptureLength || len(data) < 40 {
			t.Fatalf("record of %d bytes (captured %d of %d)", len(data), ci.CaptureLength, ci.Length)
		}
		if ci.Length > ci.CaptureLength {
			truncated++
		}
		srcs[string(data[12:16])]++ // IPv4 source
	}
	// 10.1.0.1 and 10.2.0.1 are the phone's, .2 the server's.
	for _, a := range [][]byte{{10, 1, 0, 1}, {10, 1, 0, 2}, {10, 2, 0, 1}, {10, 2, 0, 2}} {
		if srcs[string(a)] == 0 {
			t.Errorf("no packet from %v in the capture (%d sources)", a, len(srcs))
		}
	}
	if truncated == 0 {
		t.Error("no data packet was cut to the snapshot length")
	}
	ts, err := interop.TShark(context.Background(), path)
	switch {
	case errors.Is(err, interop.ErrNoTShark):
		t.Log("tshark is not installed: the capture is not checked with it")
	case err != nil:
		t.Errorf("tshark: %v", err)
	case len(ts.Problems) > 0 || ts.Options["MP_CAPABLE"] == 0 || ts.Options["MP_JOIN"] < 3 || ts.Options["DSS"] == 0:
		t.Errorf("tshark: options %v, problems %q", ts.Options, ts.Problems)
	}
}

// xmlWellFormed reads every token of an XML document.
func xmlWellFormed(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func TestDemoBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"--seconds", "1"}, {"--seconds", "1000"}, {"--outage", "3"}, {"--outage", "-1,2"},
		{"--outage", "10,5", "--seconds", "12"}, {"extra"}, {"--nope"},
		{"--speed", "-1"}, {"--speed", "NaN"}, {"--speed", "Inf"}, {"--plot", "demo.jpg"}, {"--plot", "demo"},
		{"--snaplen", "-1"}, {"--snaplen", "1000000"},
	} {
		var out, errb bytes.Buffer
		if err := runDemo(args, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
		if out.Len() != 0 {
			t.Errorf("%q: printed %q before refusing", args, out.String())
		}
	}
	// A capture that cannot be created is an error before the run.
	var out, errb bytes.Buffer
	if err := runDemo([]string{"--pcap", filepath.Join(t.TempDir(), "no", "dir.pcap"), "--fast"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--pcap") {
		t.Errorf("--pcap into a missing directory: %v", err)
	}
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		v, full float64
		cells   int
		want    string
	}{
		{0, 30, 4, "    "},
		{30, 30, 4, "████"},
		{45, 30, 4, "████"},
		{15, 30, 4, "██  "},
		{1, 30, 4, "▏   "},
		{0.01, 30, 4, "    "},
		{10, 30, 3, "█  "},
		{-5, 30, 2, "  "},
		{5, 0, 2, "  "},
	} {
		if got := bar(tc.v, tc.full, tc.cells); got != tc.want {
			t.Errorf("bar(%g, %g, %d) = %q, want %q", tc.v, tc.full, tc.cells, got, tc.want)
		}
		if n := len([]rune(bar(tc.v, tc.full, tc.cells))); n != tc.cells {
			t.Errorf("bar(%g, %g, %d) is %d cells wide", tc.v, tc.full, tc.cells, n)
		}
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is taken for a terminal")
	}
}
