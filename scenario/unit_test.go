package scenario

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
)

// idle is a Node that does nothing.
type idle struct{}

func (idle) Receive(time.Time, link.NIC, []byte)       {}
func (idle) Timer(time.Time)                           {}
func (idle) LinkEvent(time.Time, link.NIC, link.Event) {}
func (idle) Deadline() time.Time                       { return time.Time{} }

// chain is c — r1 — r2 — r3 — s, plus a side link r1 — x and a direct
// link c — s.
func chain() *Scenario {
	return &Scenario{
		Hosts:   []string{"c", "s", "x"},
		Routers: []string{"r1", "r2", "r3"},
		Links: []Link{
			{Name: "c-r1", A: "c", B: "r1"},
			{Name: "r1-r2", A: "r1", B: "r2"},
			{Name: "r2-r3", A: "r2", B: "r3"},
			{Name: "r3-s", A: "r3", B: "s"},
			{Name: "r1-x", A: "x", B: "r1"},
			{Name: "c-s", A: "c", B: "s"},
		},
	}
}

func TestRoutes(t *testing.T) {
	s := chain()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	top, err := build(s, func(string) link.Node { return idle{} })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		router string
		dst    string
		via    string // interface name, "" for no route
	}{
		{"r1", "10.4.0.2", "r1-r2"}, // s, two routers away
		{"r1", "10.1.0.1", "c-r1"},  // connected
		{"r1", "10.5.0.1", "r1-x"},  // connected, A end is the host
		{"r2", "10.1.0.1", "r1-r2"},
		{"r2", "10.4.0.2", "r2-r3"},
		{"r2", "10.5.0.1", "r1-r2"},
		{"r3", "10.1.0.1", "r2-r3"},
		{"r3", "10.5.0.1", "r2-r3"},
		{"r3", "10.6.0.1", ""}, // host-to-host link: no router reaches it
		{"r1", "10.99.0.1", ""},
	}
	for _, tt := range tests {
		got := top.routers[tt.router].Lookup(netip.MustParseAddr(tt.dst))
		name := ""
		if got != nil {
			name = got.Name()
		}
		if name != tt.via {
			t.Errorf("%s: route to %s via %q, want %q", tt.router, tt.dst, name, tt.via)
		}
	}
	if got, want := top.hostIface(s, "x", 4).Addrs()[0], netip.MustParsePrefix("10.5.0.1/24"); got != want {
		t.Errorf("x on r1-x: %v, want %v", got, want)
	}
	if got, want := top.peerAddr(s, "x", 4), netip.MustParseAddr("10.5.0.2"); got != want {
		t.Errorf("x's peer on r1-x: %v, want %v", got, want)
	}
}

func TestEndpoint(t *testing.T) {
	s := chain()
	tests := []struct {
		ref  string
		host string
		link int
		err  string
	}{
		{ref: "c", host: "c", link: 0},
		{ref: "c/c-s", host: "c", link: 5},
		{ref: "s", host: "s", link: 3},
		{ref: "s/c-r1", err: "no link"},
		{ref: "r1", err: "unknown host"},
		{ref: "nobody", err: "unknown host"},
	}
	for _, tt := range tests {
		got, err := s.endpoint(tt.ref)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("endpoint(%q) = %v, %v; want error containing %q", tt.ref, got, err, tt.err)
			}
			continue
		}
		if err != nil || got.host != tt.host || got.link != tt.link {
			t.Errorf("endpoint(%q) = %+v, %v; want %s on link %d", tt.ref, got, err, tt.host, tt.link)
		}
	}
	lonely := &Scenario{Hosts: []string{"a"}}
	if _, err := lonely.endpoint("a"); err == nil {
		t.Error("endpoint of a host without links: no error")
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Scenario {
		s := chain()
		s.Flows = []Flow{{Name: "f", From: "c", To: "s", Bytes: 1000}}
		s.Events = []Event{{At: time.Second, Link: "r1-r2", Kind: SetRate, Rate: 1e6}}
		return s
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid scenario: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Scenario)
	}{
		{"empty host name", func(s *Scenario) { s.Hosts[0] = "" }},
		{"slash in host name", func(s *Scenario) { s.Hosts[0] = "a/b" }},
		{"host and router share a name", func(s *Scenario) { s.Routers[0] = "c" }},
		{"duplicate host", func(s *Scenario) { s.Hosts = append(s.Hosts, "c") }},
		{"link to unknown node", func(s *Scenario) { s.Links[0].B = "nowhere" }},
		{"link to itself", func(s *Scenario) { s.Links[0].B = "c" }},
		{"duplicate link", func(s *Scenario) { s.Links[1].Name = "c-r1" }},
		{"unnamed link", func(s *Scenario) { s.Links[1].Name = "" }},
		{"bad impairment", func(s *Scenario) { s.Links[1].AB.Loss = 2 }},
		{"negative rate", func(s *Scenario) { s.Links[1].BA.Rate = -1 }},
		{"unnamed flow", func(s *Scenario) { s.Flows[0].Name = "" }},
		{"duplicate flow", func(s *Scenario) { s.Flows = append(s.Flows, Flow{Name: "f", From: "s", To: "c"}) }},
		{"flow to itself", func(s *Scenario) { s.Flows[0].To = "c/c-s" }},
		{"flow from a router", func(s *Scenario) { s.Flows[0].From = "r1" }},
		{"flow to an unknown link", func(s *Scenario) { s.Flows[0].To = "s/zz" }},
		{"negative bytes", func(s *Scenario) { s.Flows[0].Bytes = -1 }},
		{"negative start", func(s *Scenario) { s.Flows[0].Start = -1 }},
		{"port clash", func(s *Scenario) {
			s.Flows = append(s.Flows, Flow{Name: "g", From: "x", To: "s", Port: FirstPort})
		}},
		{"event on unknown link", func(s *Scenario) { s.Events[0].Link = "zz" }},
		{"event kind", func(s *Scenario) { s.Events[0].Kind = 0 }},
		{"event direction", func(s *Scenario) { s.Events[0].Dir = 7 }},
		{"event negative rate", func(s *Scenario) { s.Events[0].Rate = -5 }},
		{"event bad loss", func(s *Scenario) { s.Events[0] = Event{Link: "c-r1", Kind: SetLoss, Loss: -0.5} }},
		{"event bad config", func(s *Scenario) {
			s.Events[0] = Event{Link: "c-r1", Kind: Configure, Config: impair.Config{Jitter: -1}}
		}},
		{"event negative time", func(s *Scenario) { s.Events[0].At = -time.Second }},
		{"negative limit", func(s *Scenario) { s.Limit = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.mutate(s)
			if err := s.Validate(); !errors.Is(err, ErrScenario) {
				t.Errorf("Validate() = %v, want an ErrScenario", err)
			}
		})
	}
}

func TestPattern(t *testing.T) {
	p, q := newPattern(1), newPattern(2)
	if p.phase == q.phase {
		t.Fatal("two flows share a phase")
	}
	// The stream continues across the period and across chunks.
	var stream []byte
	for off := int64(0); off < 3*patternPeriod; {
		b := p.at(off, int(min(50000, 3*patternPeriod-off)))
		stream = append(stream, b...)
		off += int64(len(b))
	}
	if len(stream) != 3*patternPeriod {
		t.Fatalf("stream of %d bytes", len(stream))
	}
	for _, off := range []int64{0, 1, patternPeriod - 1, patternPeriod, 2*patternPeriod + 12345} {
		if got := p.at(off, 1)[0]; got != stream[off] {
			t.Fatalf("at(%d) = %#x, stream has %#x", off, got, stream[off])
		}
		if got := stream[off%patternPeriod]; got != stream[off] {
			t.Fatalf("stream is not periodic at %d", off)
		}
	}
	if n := len(p.at(5, 1<<20)); n != patternChunk {
		t.Errorf("at returned %d bytes, want at most %d", n, patternChunk)
	}
	// check finds the first wrong byte, in any chunk.
	buf := append([]byte(nil), stream[1000:1000+200000]...)
	if got := p.check(1000, buf); got != -1 {
		t.Errorf("check of the stream = %d, want -1", got)
	}
	buf[150000] ^= 1
	if got := p.check(1000, buf); got != 150000 {
		t.Errorf("check with a flipped bit = %d, want 150000", got)
	}
	if got := p.check(1001, stream[1000:3000]); got < 0 {
		t.Error("check of a stream shifted by one byte passed")
	}
	if got := p.check(1448*7, stream[1448*8:1448*9]); got < 0 {
		t.Error("check of a segment at the wrong offset passed")
	}
	if got := q.check(0, p.at(0, 1448)); got < 0 {
		t.Error("check of another flow's bytes passed")
	}
}

func TestTable(t *testing.T) {
	tab := &Table{Header: []string{"name", "n", "rate"}}
	tab.Add("a", "1", formatRate(94_210_000))
	tab.Add("longer", "12345", formatRate(0))
	tab.Add("µ", "", formatRate(1500))
	want := "" +
		"name        n         rate\n" +
		"a           1  94.21Mbit/s\n" +
		"longer  12345            0\n" +
		"µ               1.50kbit/s\n"
	if got := tab.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	for _, tt := range []struct {
		bps  float64
		want string
	}{{12, "12bit/s"}, {2.5e9, "2.50Gbit/s"}, {999_999, "1000.00kbit/s"}} {
		if got := formatRate(tt.bps); got != tt.want {
			t.Errorf("formatRate(%v) = %q, want %q", tt.bps, got, tt.want)
		}
	}
	if got := formatSeconds(1234567 * time.Microsecond); got != "1.235s" {
		t.Errorf("formatSeconds = %q", got)
	}
}

func TestJainIndex(t *testing.T) {
	tests := []struct {
		x    []float64
		want float64
	}{
		{[]float64{5, 5}, 1},
		{[]float64{1, 0}, 0.5},
		{[]float64{1, 0, 0, 0}, 0.25},
		{[]float64{1, 3}, 16.0 / 20},
		{nil, 0},
		{[]float64{0, 0}, 0},
	}
	for _, tt := range tests {
		if got := JainIndex(tt.x...); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("JainIndex(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

// TestCubicModel checks the formulas against the CUBIC (C=0.4) columns of
// RFC 9438 §5.1, Tables 1 and 2 (RTT 0.1 s and 0.01 s), whose entries are
// the larger of the cubic and Reno-friendly averages, rounded.
func TestCubicModel(t *testing.T) {
	tests := []struct {
		rtt  time.Duration
		p    float64
		want float64
		reno bool
	}{
		{100 * time.Millisecond, 1e-2, 12, true},
		{100 * time.Millisecond, 1e-3, 38, true},
		{100 * time.Millisecond, 1e-4, 187, false},
		{100 * time.Millisecond, 1e-5, 1054, false},
		{100 * time.Millisecond, 1e-6, 5926, false},
		{100 * time.Millisecond, 1e-8, 187400, false},
		{10 * time.Millisecond, 1e-2, 12, true},
		{10 * time.Millisecond, 1e-5, 379, true},
		{10 * time.Millisecond, 1e-6, 1200, true},
		{10 * time.Millisecond, 1e-7, 5926, false},
		{10 * time.Millisecond, 1e-8, 33325, false},
	}
	for _, tt := range tests {
		got, reno := CubicPrediction(tt.rtt, tt.p)
		// The tables are rounded, and take Reno's average from RFC 3649
		// as 1.2/√p where Figure 3 gives √1.5/√p ≈ 1.225/√p: 2.1% more.
		if math.Abs(got-tt.want) > 0.025*tt.want+0.5 || reno != tt.reno {
			t.Errorf("CubicPrediction(%v, %g) = %.1f (reno %v), want %.0f (reno %v)", tt.rtt, tt.p, got, reno, tt.want, tt.reno)
		}
	}
	// Reno is AIMD(1, 0.5), whose average CUBIC's Reno-friendly region
	// matches by construction.
	if r, c := AIMDAvgWindow(1, 0.5, 0.01), AIMDAvgWindow(CubicAlpha, CubicBeta, 0.01); math.Abs(r-c) > 1e-9 {
		t.Errorf("Reno average %v != Reno-friendly CUBIC average %v", r, c)
	}
	if got, want := WindowRate(10, 1000, 100*time.Millisecond), 800e3; got != want {
		t.Errorf("WindowRate = %v, want %v", got, want)
	}
}

func TestFlowResultMeasures(t *testing.T) {
	f := FlowResult{
		Start: time.Second, FirstByte: 2 * time.Second, LastByte: 4 * time.Second,
		Received: 1_000_000, Sent: 1_000_000, Want: 1_000_000, Done: true, Completed: 5 * time.Second, Mismatch: -1,
		Samples: []int64{0, 0, 100, 500, 1000}, SampleInterval: time.Second,
	}
	if got := f.Goodput(); got != 4e6 {
		t.Errorf("Goodput = %v, want 4e6", got)
	}
	if got := f.CompletionTime(); got != 4*time.Second {
		t.Errorf("CompletionTime = %v", got)
	}
	if !f.Exact() {
		t.Error("Exact = false")
	}
	for _, tt := range []struct {
		at   time.Duration
		want int64
	}{{0, 0}, {999 * time.Millisecond, 0}, {3 * time.Second, 100}, {3500 * time.Millisecond, 100}, {5 * time.Second, 1000}, {9 * time.Second, 1000}} {
		if got := f.ReceivedAt(tt.at); got != tt.want {
			t.Errorf("ReceivedAt(%v) = %d, want %d", tt.at, got, tt.want)
		}
	}
	if got := f.Throughput(3*time.Second, 5*time.Second); got != 900*8/2.0 {
		t.Errorf("Throughput = %v", got)
	}
	// Samples at 1..5 s: 0, 0, 100, 500, 1000 — one interval without
	// progress (1 s to 2 s), none after 2 s.
	for _, tt := range []struct{ from, to, want time.Duration }{
		{0, 10 * time.Second, time.Second}, {2 * time.Second, 10 * time.Second, 0}, {0, time.Second, 0},
	} {
		if got := f.LongestStall(tt.from, tt.to); got != tt.want {
			t.Errorf("LongestStall(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	g := f
	g.Received--
	if g.Exact() {
		t.Error("a flow that lost a byte is exact")
	}
	g = f
	g.Mismatch = 7
	if g.Exact() || g.verdict() != "corrupt@7" {
		t.Errorf("corrupt flow: exact %v verdict %q", g.Exact(), g.verdict())
	}
	g = f
	g.Done = false
	if g.CompletionTime() != -1 || g.verdict() != "incomplete" {
		t.Errorf("incomplete flow: %v %q", g.CompletionTime(), g.verdict())
	}
}
