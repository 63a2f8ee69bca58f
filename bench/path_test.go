package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/google/go-cmp/cmp"
)

func TestParsePathSpec(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want PathSpec
		err  string
	}{
		{"50mbit/20ms", PathSpec{Rate: 50e6, RTT: 20 * time.Millisecond}, ""},
		{"unlimited", PathSpec{}, ""},
		{"1.5gbit", PathSpec{Rate: 1.5e9}, ""},
		{"30mbit/100ms/0.5%", PathSpec{Rate: 30e6, RTT: 100 * time.Millisecond, Loss: 0.005}, ""},
		{"10kbit/1s/0%/q2", PathSpec{Rate: 10e3, RTT: time.Second, QueueBDP: 2}, ""},
		{"100bit", PathSpec{Rate: 100}, ""},
		{"", PathSpec{}, "want RATE"},
		{"50", PathSpec{}, "want a number"},
		{"mbit", PathSpec{}, "bad rate"},
		{"-5mbit", PathSpec{}, "bad rate"},
		{"50mbit/x", PathSpec{}, "bad RTT"},
		{"50mbit/-1ms", PathSpec{}, "bad RTT"},
		{"50mbit/1ms/2", PathSpec{}, "bad loss"},
		{"50mbit/1ms/101%", PathSpec{}, "bad loss"},
		{"50mbit/1ms/1%/3", PathSpec{}, "bad queue"},
		{"50mbit/1ms/1%/q0", PathSpec{}, "bad queue"},
		{"50mbit/1ms/1%/q1/x", PathSpec{}, "want RATE"},
		{"2000gbit", PathSpec{}, "bad rate"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePathSpec(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParsePathSpec(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePathSpec(%q) (-want +got):\n%s", tt.in, diff)
			}
			back, err := ParsePathSpec(got.String())
			if err != nil || back != got {
				t.Errorf("String %q parses to %v, %v; want %v", got.String(), back, err, got)
			}
		})
	}
}

func TestParsePaths(t *testing.T) {
	ps, err := ParsePaths("50mbit/20ms, 30mbit/20ms")
	if err != nil {
		t.Fatal(err)
	}
	want := []PathSpec{{Rate: 50e6, RTT: 20 * time.Millisecond}, {Rate: 30e6, RTT: 20 * time.Millisecond}}
	if diff := cmp.Diff(want, ps); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := PathsString(ps); got != "50mbit/20ms,30mbit/20ms" {
		t.Errorf("PathsString = %q", got)
	}
	if r := TotalRate(ps); r != 80e6 {
		t.Errorf("TotalRate = %d, want 80e6", r)
	}
	if r := TotalRate([]PathSpec{{Rate: 1}, {}}); r != 0 {
		t.Errorf("TotalRate with an unlimited path = %d, want 0", r)
	}
	if _, err := ParsePaths(strings.Repeat("1mbit,", MaxPaths) + "1mbit"); err == nil {
		t.Error("more than MaxPaths paths accepted")
	}
	if _, err := ParsePaths("1mbit,,2mbit"); err == nil {
		t.Error("an empty path accepted")
	}
}

func TestPathSpecImpair(t *testing.T) {
	for _, tt := range []struct {
		p    PathSpec
		want impair.Config
	}{
		// 50 Mbit/s × 20 ms = 125000 bytes = 83 packets of 1500.
		{PathSpec{Rate: 50e6, RTT: 20 * time.Millisecond}, impair.Config{Rate: 50e6, Delay: 10 * time.Millisecond, QueuePackets: 83, Seed: 7}},
		// Queues are sized for at least 20 ms.
		{PathSpec{Rate: 50e6, RTT: 2 * time.Millisecond}, impair.Config{Rate: 50e6, Delay: time.Millisecond, QueuePackets: 83, Seed: 7}},
		{PathSpec{Rate: 30e6, RTT: 100 * time.Millisecond, QueueBDP: 2}, impair.Config{Rate: 30e6, Delay: 50 * time.Millisecond, QueuePackets: 500, Seed: 7}},
		{PathSpec{Rate: 1e6, RTT: 20 * time.Millisecond}, impair.Config{Rate: 1e6, Delay: 10 * time.Millisecond, QueuePackets: minQueuePackets, Seed: 7}},
		{PathSpec{RTT: 10 * time.Millisecond, Loss: 0.01}, impair.Config{Delay: 5 * time.Millisecond, Loss: 0.01, Seed: 7}},
	} {
		got := tt.p.Impair(7)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.p, diff)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%v: %v", tt.p, err)
		}
	}
}

func TestParsePairing(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Pairing
		ok   bool
	}{
		{"linux-linux", LinuxLinux, true},
		{"gomptcp-linux", GomptcpLinux, true},
		{"linux-gomptcp", LinuxGomptcp, true},
		{"gomptcp-gomptcp", GomptcpGomptcp, true},
		{"linux", Pairing{}, false},
		{"linux-", Pairing{}, false},
		{"bsd-linux", Pairing{}, false},
		{"linux-linux-linux", Pairing{}, false},
	} {
		got, err := ParsePairing(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePairing(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
	ps, err := ParsePairings("linux-linux, gomptcp-gomptcp")
	if err != nil || len(ps) != 2 || ps[1] != GomptcpGomptcp {
		t.Errorf("ParsePairings = %v, %v", ps, err)
	}
	if _, err := ParsePairings("linux-linux,x"); err == nil {
		t.Error("ParsePairings accepted a bad pairing")
	}
}

func FuzzParsePathSpec(f *testing.F) {
	for _, s := range []string{"50mbit/20ms", "unlimited", "30mbit/100ms/0.5%/q2", "1.5gbit/1h", "", "/", "1e3kbit/0s/100%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePathSpec(s)
		if err != nil {
			return
		}
		if p.Rate < 0 || p.RTT < 0 || p.Loss < 0 || p.Loss > 1 || p.QueueBDP < 0 {
			t.Fatalf("ParsePathSpec(%q) = %+v: out of range", s, p)
		}
		if c := p.Impair(1); c.Validate() != nil {
			err := c.Validate()
			t.Fatalf("ParsePathSpec(%q) = %+v: Impair: %v", s, p, err)
		}
		back, err := ParsePathSpec(p.String())
		if err != nil {
			t.Fatalf("%+v renders as %q, which does not parse: %v", p, p.String(), err)
		}
		if back.String() != p.String() {
			t.Fatalf("%q → %+v → %q → %+v", s, p, p.String(), back)
		}
	})
}

func FuzzParsePairing(f *testing.F) {
	for _, s := range []string{"linux-linux", "gomptcp-linux", "-", "linux-", "a-b-c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePairing(s)
		if err != nil {
			return
		}
		if back, err := ParsePairing(p.String()); err != nil || back != p {
			t.Fatalf("%q → %v → %q → %v, %v", s, p, p.String(), back, err)
		}
	})
}
