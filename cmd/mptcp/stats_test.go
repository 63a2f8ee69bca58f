package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/google/go-cmp/cmp"
)

// fakeMIB makes readMIB return the given samples in turn and records the
// sleeps.
func fakeMIB(t *testing.T, samples ...kernel.MIB) *[]time.Duration {
	t.Helper()
	var slept []time.Duration
	oldRead, oldSleep := readMIB, sleep
	readMIB = func() (kernel.MIB, error) {
		if len(samples) == 0 {
			return nil, fmt.Errorf("no more samples")
		}
		m := samples[0]
		samples = samples[1:]
		return m, nil
	}
	sleep = func(d time.Duration) { slept = append(slept, d) }
	t.Cleanup(func() { readMIB, sleep = oldRead, oldSleep })
	return &slept
}

var (
	mibA = kernel.MIB{{Name: "MPCapableSYNRX", Value: 3}, {Name: "MPJoinAckRx", Value: 0}, {Name: "MPCurrEstab", Value: 5}, {Name: "FutureCounter", Value: 1}}
	mibB = kernel.MIB{{Name: "MPCapableSYNRX", Value: 3}, {Name: "MPJoinAckRx", Value: 2}, {Name: "MPCurrEstab", Value: 4}, {Name: "FutureCounter", Value: 1}}
)

func TestStats(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		samples []kernel.MIB
		want    string
		slept   []time.Duration
	}{
		{name: "non-zero", samples: []kernel.MIB{mibA},
			want: "MPCapableSYNRX 3\nMPCurrEstab    5\nFutureCounter  1\n"},
		{name: "all", args: []string{"--all"}, samples: []kernel.MIB{mibA},
			want: "MPCapableSYNRX 3\nMPJoinAckRx    0\nMPCurrEstab    5\nFutureCounter  1\n"},
		{name: "zero", args: []string{"--zero"}, samples: []kernel.MIB{mibA},
			want: "MPCapableSYNRX 3\nMPJoinAckRx    0\nMPCurrEstab    5\nFutureCounter  1\n"},
		{name: "delta", args: []string{"--delta", "250ms"}, samples: []kernel.MIB{mibA, mibB},
			want: "MPJoinAckRx 2\nMPCurrEstab -1\n", slept: []time.Duration{250 * time.Millisecond}},
		{name: "delta all", args: []string{"--delta=1s", "--all"}, samples: []kernel.MIB{mibA, mibB},
			want:  "MPCapableSYNRX 0\nMPJoinAckRx    2\nMPCurrEstab    -1\nFutureCounter  0\n",
			slept: []time.Duration{time.Second}},
		{name: "huge counter", samples: []kernel.MIB{{{Name: "X", Value: 1 << 63}}}, want: "X 9223372036854775807\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slept := fakeMIB(t, tt.samples...)
			var out, errOut bytes.Buffer
			if code := run(append([]string{"stats"}, tt.args...), &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.slept, *slept); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatsAllZero(t *testing.T) {
	fakeMIB(t, kernel.MIB{{Name: "A", Value: 0}})
	var out, errOut bytes.Buffer
	if code := run([]string{"stats"}, &out, &errOut); code != 0 || out.Len() != 0 || !strings.Contains(errOut.String(), "--all") {
		t.Errorf("exit %d stdout %q stderr %q", code, out.String(), errOut.String())
	}
}

func TestStatsJSON(t *testing.T) {
	fakeMIB(t, mibA, mibB)
	var out, errOut bytes.Buffer
	if code := run([]string{"stats", "--json", "--delta", "2s"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got struct {
		Delta    time.Duration `json:"delta_ns"`
		Counters []statLine    `json:"counters"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out.String())
	}
	want := []statLine{{"MPJoinAckRx", 2}, {"MPCurrEstab", -1}}
	if got.Delta != 2*time.Second || !cmp.Equal(want, got.Counters) {
		t.Errorf("got %+v", got)
	}

	fakeMIB(t, kernel.MIB{{Name: "A", Value: 0}})
	out.Reset()
	if code := run([]string{"stats", "--json"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), `"counters": []`) {
		t.Errorf("all zero: exit %d %s", code, out.String())
	}
}

func TestStatsErrors(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		samples  []kernel.MIB
		code     int
		contains string
	}{
		{[]string{"stats"}, nil, 1, "no more samples"},
		{[]string{"stats", "--delta", "1s"}, []kernel.MIB{mibA}, 1, "no more samples"},
		{[]string{"stats", "--delta", "-1s"}, []kernel.MIB{mibA}, 2, "--delta must be"},
		{[]string{"stats", "--delta", "48h"}, []kernel.MIB{mibA}, 2, "--delta must be"},
		{[]string{"stats", "--delta", "soon"}, []kernel.MIB{mibA}, 2, "invalid value"},
		{[]string{"stats", "x"}, []kernel.MIB{mibA}, 2, "unexpected argument"},
	} {
		fakeMIB(t, tt.samples...)
		var out, errOut bytes.Buffer
		code := run(tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(errOut.String(), tt.contains) {
			t.Errorf("%v: exit %d stderr %q, want %d with %q", tt.args, code, errOut.String(), tt.code, tt.contains)
		}
	}
	// Without MPTCP, the error is one line.
	oldRead := readMIB
	readMIB = func() (kernel.MIB, error) { return nil, fmt.Errorf("MPTcpExt counters: %w", kernel.ErrNoMPTCP) }
	defer func() { readMIB = oldRead }()
	var out, errOut bytes.Buffer
	if code := run([]string{"stats"}, &out, &errOut); code != 1 || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("no MPTCP: exit %d stderr %q", code, errOut.String())
	}
}
