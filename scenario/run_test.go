package scenario_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/scenario"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// TestFailures checks that flows that cannot complete end the run with an
// error instead of running to the limit, and that bad scenarios are
// refused.
func TestFailures(t *testing.T) {
	t.Run("invalid", func(t *testing.T) {
		s := scenario.Direct(impair.Config{}, impair.Config{})
		s.Flows = []scenario.Flow{{Name: "f", From: "client", To: "nowhere", Bytes: 1}}
		if _, err := scenario.Run(&s); !errors.Is(err, scenario.ErrScenario) {
			t.Errorf("Run = %v, want ErrScenario", err)
		}
	})
	t.Run("bad tcp config", func(t *testing.T) {
		for _, cfg := range []tcp.Config{{CongestionControl: "no-such-cc"}, {MSS: 10}, {DelayedAckTimeout: time.Second}} {
			s := scenario.Direct(impair.Config{}, impair.Config{})
			s.Flows = []scenario.Flow{{Name: "f", From: "client", To: "server", Bytes: 1, Config: cfg}}
			if _, err := scenario.Run(&s); !errors.Is(err, tcp.ErrInvalidConfig) {
				t.Errorf("config %+v: Run = %v, want tcp.ErrInvalidConfig", cfg, err)
			}
		}
	})
	t.Run("no route", func(t *testing.T) {
		// x and server share a link; client reaches only the router.
		s := scenario.Scenario{
			Hosts:   []string{"client", "server", "x"},
			Routers: []string{"r"},
			Links: []scenario.Link{
				{Name: "a", A: "client", B: "r"},
				{Name: "b", A: "x", B: "server"},
			},
			Flows: []scenario.Flow{{Name: "f", From: "client", To: "server", Bytes: 1000}},
		}
		r, err := scenario.Run(&s)
		if err != nil {
			t.Fatal(err)
		}
		f := r.Flows[0]
		// The router drops the SYN (no route), so the handshake times out.
		if f.Err == nil || f.Done || r.End >= scenario.DefaultLimit {
			t.Errorf("flow: error %v, done %v, run ended at %v", f.Err, f.Done, r.End)
		}
		if got := r.Link("a", "client").Stats.Packets; got != tcp.DefaultSynRetries+1 {
			t.Errorf("client sent %d packets, want %d SYNs", got, tcp.DefaultSynRetries+1)
		}
	})
	t.Run("no local route", func(t *testing.T) {
		// A host with no link to a router and no link to the server.
		s := scenario.Scenario{
			Hosts: []string{"client", "server", "x"},
			Links: []scenario.Link{
				{Name: "a", A: "client", B: "x"},
				{Name: "b", A: "x", B: "server"},
			},
			Flows: []scenario.Flow{{Name: "f", From: "client", To: "server", Bytes: 1000}},
		}
		r, err := scenario.Run(&s)
		if err != nil {
			t.Fatal(err)
		}
		if f := r.Flows[0]; !errors.Is(f.Err, stack.ErrNoRoute) || r.End > time.Second {
			t.Errorf("flow error %v at %v, want ErrNoRoute at once", f.Err, r.End)
		}
	})
	t.Run("limit", func(t *testing.T) {
		// An open-ended flow runs until the limit and is not done.
		link := impair.Config{Rate: 1_000_000, Delay: 5 * time.Millisecond, QueuePackets: 20}
		s := scenario.Direct(link, link)
		s.Limit = 2 * time.Second
		s.Flows = []scenario.Flow{{Name: "f", From: "client", To: "server"}}
		r, err := scenario.Run(&s)
		if err != nil {
			t.Fatal(err)
		}
		f := r.Flows[0]
		if f.Done || f.Err != nil || r.End != s.Limit || f.Received == 0 || f.Mismatch >= 0 {
			t.Errorf("open-ended flow: done %v, error %v, end %v, received %d, mismatch %d", f.Done, f.Err, r.End, f.Received, f.Mismatch)
		}
		if got := len(f.Samples); got != 20 {
			t.Errorf("%d samples in 2 s, want 20", got)
		}
	})
}

// TestTopologies runs flows across the Dumbbell and a multi-homed host,
// checking that traffic takes the links it should.
func TestTopologies(t *testing.T) {
	link := impair.Config{Rate: 50_000_000, Delay: 2 * time.Millisecond, QueuePackets: 50}
	s := scenario.Dumbbell(3, link, link, link)
	// A second path for c1: c1 — r3 — s, via its own link addresses.
	s.Routers = append(s.Routers, "r3")
	s.Links = append(s.Links,
		scenario.Link{Name: "alt1", A: "c1", B: "r3", AB: link, BA: link},
		scenario.Link{Name: "alt2", A: "r3", B: "s", AB: link, BA: link})
	s.Flows = []scenario.Flow{
		{Name: "c1", From: "c1", To: "s", Bytes: 300_000},
		{Name: "c2", From: "c2", To: "s", Bytes: 300_000, CC: "reno"},
		{Name: "c3", From: "c3", To: "s", Bytes: 300_000},
		{Name: "alt", From: "c1/alt1", To: "s/alt2", Bytes: 200_000},
	}
	r, err := scenario.Run(&s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Flows {
		if !f.Exact() || f.Err != nil {
			t.Errorf("flow %s not exact: %+v", f.Name, f)
		}
	}
	// The three dumbbell flows cross the bottleneck; the alternative path
	// does not, and the bottleneck does not carry it.
	bn := r.Link("bn", "r1").Stats.DeliveredBytes
	if bn < 900_000 || bn > 1_100_000 {
		t.Errorf("bottleneck carried %d bytes, want the three dumbbell flows (~900 kB)", bn)
	}
	if alt := r.Link("alt1", "c1").Stats.DeliveredBytes; alt < 200_000 || alt > 300_000 {
		t.Errorf("alternative path carried %d bytes, want ~200 kB", alt)
	}
}

// TestDeterminism runs random scenarios twice and compares the results.
func TestDeterminism(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		mk := func() scenario.Scenario {
			r := rand.New(rand.NewPCG(seed, 99))
			s := scenario.Direct(randomImpairment(r), randomImpairment(r))
			s.Seed = seed
			s.Flows = []scenario.Flow{{Name: "f", From: "client", To: "server", Bytes: 200_000, Config: randomTCP(r)}}
			return s
		}
		a, b := mk(), mk()
		ra, rb := run(t, &a), run(t, &b)
		if ra.String() != rb.String() || ra.Events != rb.Events || ra.Flows[0].Sender != rb.Flows[0].Sender {
			t.Errorf("seed %d: two runs differ:\n%s\n%s", seed, ra, rb)
		}
	}
	// A different seed changes the run.
	s1 := eventScenario()
	s2 := eventScenario()
	s2.Seed++
	if run(t, &s1).String() == run(t, &s2).String() {
		t.Error("changing the seed did not change the result")
	}
}
