package scenario_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/scenario"
)

// checkSeries checks what holds for every series: samples in increasing
// time, at multiples of the sample interval but for a last one at the
// end of the run, counters that never decrease, a congestion window.
func checkSeries(t *testing.T, res *scenario.Result, f *scenario.FlowResult) {
	t.Helper()
	for _, s := range f.Series {
		if len(s.Samples) == 0 {
			t.Errorf("%v: no samples", s.ID)
			continue
		}
		for k, x := range s.Samples {
			if x.At%f.SampleInterval != 0 && x.At != res.End {
				t.Errorf("%v: sample %d at %v, not a multiple of %v nor the end %v", s.ID, k, x.At, f.SampleInterval, res.End)
			}
			if x.Cwnd <= 0 {
				t.Errorf("%v: sample %d: cwnd %d", s.ID, k, x.Cwnd)
			}
			if k == 0 {
				continue
			}
			if p := s.Samples[k-1]; x.At <= p.At || x.Acked < p.Acked {
				t.Errorf("%v: sample %d %+v after %+v", s.ID, k, x, p)
			}
		}
	}
}

// finish runs r to its end and a second more, for the last
// acknowledgments to reach the senders, and returns the result.
func finish(t *testing.T, r *scenario.Runner) *scenario.Result {
	t.Helper()
	r.Finish()
	r.RunFor(time.Second)
	return r.Result()
}

// checkSum checks that the subflows of f together acknowledged what the
// receiver read, plus the bytes reinjected at most, plus one sequence
// number per subflow for its FIN (which tcp.Info.BytesAcked counts, as
// Linux's tcpi_bytes_acked does).
func checkSum(t *testing.T, f *scenario.FlowResult, reinjected uint64) {
	t.Helper()
	var sum uint64
	for _, s := range f.Series {
		sum += s.Last().Acked
	}
	if rd := uint64(f.Received); sum < rd || sum > rd+reinjected+uint64(len(f.Series)) {
		t.Errorf("subflows acknowledged %d bytes in all; the receiver read %d, %d were reinjected, %d subflows",
			sum, rd, reinjected, len(f.Series))
	}
}

// TestSeriesMPTCP: an MPTCP flow over two paths has one series per
// subflow, on its link, and without reinjection the subflows together
// acknowledged exactly the bytes the receiver read.
func TestSeriesMPTCP(t *testing.T) {
	p1 := impair.Config{Rate: 20_000_000, Delay: 5 * time.Millisecond, QueuePackets: 64}
	p2 := impair.Config{Rate: 10_000_000, Delay: 15 * time.Millisecond, QueuePackets: 64}
	s := scenario.Parallel([2]impair.Config{p1, p1}, [2]impair.Config{p2, p2})
	s.Name, s.Seed = "series", 3
	s.Flows = []scenario.Flow{scenario.MPTCPFlow("f", 2, 2_000_000)}
	r, err := scenario.Start(&s)
	if err != nil {
		t.Fatal(err)
	}
	res := finish(t, r)
	f := res.Flow("f")
	if !f.Exact() {
		t.Fatalf("flow not exact: %s", res)
	}
	if len(f.Series) != 2 || f.Series[0].Link != "p1" || f.Series[1].Link != "p2" {
		t.Fatalf("series %+v, want one on p1 then one on p2", f.Series)
	}
	checkSeries(t, res, f)
	for _, sr := range f.Series {
		if sr.Last().Acked == 0 || sr.Last().SRTT <= 0 {
			t.Errorf("%s: last sample %+v: want data and an RTT", sr.Link, sr.Last())
		}
	}
	// The initial subflow exists from the first sample on; the join
	// does not come before it.
	if f.Series[0].Samples[0].At != f.SampleInterval || f.Series[1].Samples[0].At < f.Series[0].Samples[0].At {
		t.Errorf("first samples at %v and %v", f.Series[0].Samples[0].At, f.Series[1].Samples[0].At)
	}
	if f.SenderMPTCP.BytesRetrans != 0 {
		t.Fatalf("%d bytes reinjected: the sum would count them twice", f.SenderMPTCP.BytesRetrans)
	}
	checkSum(t, f, 0)
	// The series agree with the connection's own per-subflow counters.
	for i, sf := range f.SenderMPTCP.Subflow {
		if f.Series[i].ID != sf.ID || f.Series[i].Last().Acked != sf.TCP.BytesAcked {
			t.Errorf("series %d: %v acked %d; the connection says %v acked %d", i, f.Series[i].ID, f.Series[i].Last().Acked,
				sf.ID, sf.TCP.BytesAcked)
		}
	}
	// Both carried data by half-way.
	mid := f.CompletionTime() / 2
	if f.Series[0].AckedAt(mid) == 0 || f.Series[1].AckedAt(mid) == 0 {
		t.Errorf("at %v the subflows had acknowledged %d and %d bytes", mid, f.Series[0].AckedAt(mid), f.Series[1].AckedAt(mid))
	}
	if len(res.Marks) != 0 {
		t.Errorf("marks %+v without events", res.Marks)
	}
}

// TestSeriesLinkDown: a path goes down and comes back. The events are
// marked at their times, the subflow on that path acknowledges nothing
// while it is down while the other goes on, and the subflows together
// acknowledged at least what was read (reinjected bytes twice).
func TestSeriesLinkDown(t *testing.T) {
	p := impair.Config{Rate: 10_000_000, Delay: 10 * time.Millisecond, QueuePackets: 64}
	s := scenario.Parallel([2]impair.Config{p, p}, [2]impair.Config{p, p})
	s.Name, s.Seed = "series-down", 5
	f := scenario.MPTCPFlow("f", 2, 0)
	f.Duration = 4 * time.Second
	s.Flows = []scenario.Flow{f}
	down, up := 1000*time.Millisecond, 2200*time.Millisecond
	s.Events = []scenario.Event{{At: down, Link: "p1", Kind: scenario.LinkDown}, {At: up, Link: "p1", Kind: scenario.LinkUp}}
	r, err := scenario.Start(&s)
	if err != nil {
		t.Fatal(err)
	}
	res := finish(t, r)
	fr := res.Flow("f")
	if !fr.Exact() {
		t.Fatalf("flow not exact: %s", res)
	}
	if len(res.Marks) != 2 || res.Marks[0].At != down || res.Marks[0].Label() != "p1 down" ||
		res.Marks[1].At != up || res.Marks[1].Label() != "p1 up" {
		t.Errorf("marks %+v, want p1 down at %v and up at %v", res.Marks, down, up)
	}
	checkSeries(t, res, fr)
	var p1, p2 *scenario.SubflowSeries
	for i := range fr.Series {
		switch fr.Series[i].Link {
		case "p1":
			p1 = &fr.Series[i]
		case "p2":
			p2 = &fr.Series[i]
		}
	}
	if p1 == nil || p2 == nil {
		t.Fatalf("series %+v, want one per path", fr.Series)
	}
	// Down: acknowledgments in flight are lost with the link, so from
	// the event on the counter stands still.
	from, to := down, up-fr.SampleInterval
	if d := p1.AckedAt(to) - p1.AckedAt(from); d != 0 {
		t.Errorf("p1 acknowledged %d bytes while down (%v to %v)", d, from, to)
	}
	rate := func(s *scenario.SubflowSeries, a, b time.Duration) float64 {
		return float64(s.AckedAt(b)-s.AckedAt(a)) * 8 / (b - a).Seconds()
	}
	if r := rate(p2, from, to); r < 0.8*float64(p.Rate) {
		t.Errorf("p2 carried %.1f Mbit/s while p1 was down, want most of its %d Mbit/s", r/1e6, p.Rate/1e6)
	}
	// Back up, the subflow resumes once its retransmission timer, backed
	// off during the outage, fires.
	if r := rate(p1, 3500*time.Millisecond, 4500*time.Millisecond); r < 0.3*float64(p.Rate) {
		t.Errorf("p1 carried %.1f Mbit/s from 3.5 s to 4.5 s, long after it came back", r/1e6)
	}
	checkSum(t, fr, fr.SenderMPTCP.BytesRetrans)
}

// TestSeriesTCP: a TCP flow has one series, its connection, with the
// path's RTT; its bytes acknowledged are the bytes read; the series of a
// run in progress ends at the current time.
func TestSeriesTCP(t *testing.T) {
	p := impair.Config{Rate: 20_000_000, Delay: 10 * time.Millisecond, QueuePackets: 64}
	s := scenario.Direct(p, p)
	s.Name = "series-tcp"
	s.SampleInterval = 50 * time.Millisecond
	s.Flows = []scenario.Flow{{Name: "f", From: "client", To: "server", Bytes: 1_000_000}}
	r, err := scenario.Start(&s)
	if err != nil {
		t.Fatal(err)
	}
	r.RunFor(225 * time.Millisecond)
	live := r.Result().Flow("f")
	if len(live.Series) != 1 || live.Series[0].Last().At != 225*time.Millisecond || len(live.Series[0].Samples) != 5 {
		t.Fatalf("series during the run: %+v, want samples at 50…200 ms and 225 ms", live.Series)
	}
	res := finish(t, r)
	f := res.Flow("f")
	if !f.Exact() || len(f.Series) != 1 {
		t.Fatalf("flow %+v", f)
	}
	checkSeries(t, res, f)
	sr := f.Series[0]
	if want := netip.MustParseAddr("10.1.0.1"); sr.ID.Local.Addr() != want || sr.Link != "path" || sr.Backup {
		t.Errorf("series %v on %q (backup %v), want from %v on path", sr.ID, sr.Link, sr.Backup, want)
	}
	checkSum(t, f, 0)
	if rtt := sr.Last().SRTT; rtt < 20*time.Millisecond || rtt > 80*time.Millisecond {
		t.Errorf("SRTT %v, want the path's 20 ms plus queueing", rtt)
	}
}

func TestSubflowSeriesAckedAt(t *testing.T) {
	s := scenario.SubflowSeries{Samples: []scenario.SubflowSample{
		{At: 100 * time.Millisecond, Acked: 10}, {At: 200 * time.Millisecond, Acked: 30}, {At: 250 * time.Millisecond, Acked: 45},
	}}
	for _, tc := range []struct {
		at   time.Duration
		want uint64
	}{{0, 0}, {99 * time.Millisecond, 0}, {100 * time.Millisecond, 10}, {199 * time.Millisecond, 10},
		{200 * time.Millisecond, 30}, {time.Second, 45}} {
		if got := s.AckedAt(tc.at); got != tc.want {
			t.Errorf("AckedAt(%v) = %d, want %d", tc.at, got, tc.want)
		}
	}
	if (&scenario.SubflowSeries{}).Last() != (scenario.SubflowSample{}) || s.Last().Acked != 45 {
		t.Errorf("Last: %+v", s.Last())
	}
}

func TestEventMarkLabel(t *testing.T) {
	for _, tc := range []struct {
		e    scenario.Event
		want string
	}{
		{scenario.Event{At: 4 * time.Second, Link: "p1", Kind: scenario.LinkDown}, "p1 down"},
		{scenario.Event{At: 1500 * time.Millisecond, Link: "wifi", Kind: scenario.LinkUp}, "wifi up"},
		{scenario.Event{At: 2 * time.Second, Link: "bn", Kind: scenario.SetRate, Rate: 10_000_000}, "bn rate=10.00Mbit/s"},
		{scenario.Event{Link: "p2", Kind: scenario.SetDelay, Delay: 50 * time.Millisecond, Dir: scenario.AB}, "p2 delay=50ms (ab)"},
	} {
		if got := (scenario.EventMark{At: tc.e.At, Event: tc.e}).Label(); got != tc.want {
			t.Errorf("%v: Label() = %q, want %q", tc.e, got, tc.want)
		}
	}
}
