package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	if raceEnabled {
		t.Skip("long single-goroutine simulations: run without -race")
	}
	var out, errb bytes.Buffer
	if err := runDemo([]string{"--seconds", "4", "--outage", "1,1.5", "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var runs []demoRun
	if err := json.Unmarshal(out.Bytes(), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs", len(runs))
	}
	for _, r := range runs {
		if !r.Exact || r.Bytes == 0 || len(r.PerSecond) != 4 {
			t.Errorf("%s: exact %v, %d bytes, %d seconds", r.Mode, r.Exact, r.Bytes, len(r.PerSecond))
		}
	}
	// The Wi-Fi outage stalls TCP over Wi-Fi for longer than it stalls
	// MPTCP, which goes on over LTE; MPTCP opened both subflows.
	wifi, mp := runs[0], runs[2]
	if wifi.Stall < 1.5 || mp.Stall >= wifi.Stall || mp.Subflows != 2 {
		t.Errorf("stalls: TCP over Wi-Fi %.1f s, MPTCP %.1f s (%d subflows)", wifi.Stall, mp.Stall, mp.Subflows)
	}

	out.Reset()
	if err := runDemo([]string{"--seconds", "3", "--outage", "none"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TCP over Wi-Fi", "TCP over LTE", "MPTCP over both", "goodput second by second"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDemoBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"--seconds", "1"}, {"--seconds", "1000"}, {"--outage", "3"}, {"--outage", "-1,2"},
		{"--outage", "10,5", "--seconds", "12"}, {"extra"}, {"--nope"},
	} {
		var out, errb bytes.Buffer
		if err := runDemo(args, &out, &errb); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
