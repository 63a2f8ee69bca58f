package scenario_test

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/scenario"
	"github.com/gomptcp/mptcp/sched"
	"github.com/gomptcp/mptcp/stack"
)

// The packet schedulers of package sched compared in the simulator, in
// the three situations their sources are about: paths of very different
// RTTs behind a small receive window (BLEST, ECF), a path that dies
// (redundant), small messages over lossy paths (redundant). Each section
// renders a table for testdata/sched.golden and asserts the properties
// its schedulers are known for, in the direction their sources report.

// schedFactory returns the named scheduler's constructor as the scenario
// takes it.
func schedFactory(t *testing.T, name string) func() meta.Scheduler {
	t.Helper()
	mk, err := sched.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return func() meta.Scheduler { return mk() }
}

// bdpPath is one direction of a path with a drop-tail queue of about one
// bandwidth-delay product (at least 10 packets).
func bdpPath(rate int64, delay time.Duration) [2]impair.Config {
	q := int(rate / 8 * int64(2*delay) / int64(time.Second) / 1500)
	c := impair.Config{Rate: rate, Delay: delay, QueuePackets: max(q, 10)}
	return [2]impair.Config{c, c}
}

// ofoStats describes the receiver's data-level out-of-order queue over a
// run, sampled at a fixed interval: its mean and largest size, and the
// mean time a byte spent in it (Little's law: the time integral of the
// queue divided by the bytes delivered).
type ofoStats struct {
	mean  float64
	max   int
	delay time.Duration
}

// runOFO runs s (one MPTCP flow) to its end, sampling the receiver's
// meta.Info.OutOfOrderBytes every interval.
func runOFO(t *testing.T, s *scenario.Scenario, interval time.Duration) (*scenario.Result, ofoStats) {
	t.Helper()
	r, err := scenario.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	var st ofoStats
	var sum float64
	n := 0
	for !r.Finished() && r.Elapsed() < time.Minute {
		r.RunFor(interval)
		r.Stack("server").MPConns(func(c *stack.MPConn) bool {
			o := c.Info().OutOfOrderBytes
			sum += float64(o)
			st.max = max(st.max, o)
			return true
		})
		n++
	}
	res := r.Result()
	st.mean = sum / float64(max(n, 1))
	if got := res.Flows[0].Received; got > 0 {
		st.delay = time.Duration(sum * float64(interval) / float64(got))
	}
	return res, st
}

// asymRow is one scheduler's run of an RTT-asymmetry section.
type asymRow struct {
	name    string
	goodput float64
	ofo     ofoStats
	ofoQ    int64 // receiver's OFOQueue + OFOQueueTail: insertions into the out-of-order queue
}

// rttAsymmetry runs a 4 MiB transfer over a 20 Mbit/s path of one-way
// delay fast and a 20 Mbit/s path of one-way delay slow (queues of a
// bandwidth-delay product), with connection-level buffers of 256 KiB at
// both ends, once per scheduler. It returns the rendered table and the
// rows by scheduler name.
func rttAsymmetry(t *testing.T, fast, slow time.Duration) (string, map[string]asymRow) {
	var b strings.Builder
	fmt.Fprintf(&b, "rtt asymmetry: 20 Mbit/s %v + 20 Mbit/s %v one way, 256 KiB connection buffers, 4 MiB\n\n", fast, slow)
	tab := &scenario.Table{Header: []string{"sched", "goodput", "time", "ofo-mean", "ofo-max", "ofo-delay", "ofo-inserts", "dup", "acked-per-subflow", "exact"}}
	rows := map[string]asymRow{}
	for _, name := range sched.Names() {
		s := scenario.Parallel(bdpPath(20_000_000, fast), bdpPath(20_000_000, slow))
		s.Name, s.Seed = "rtt-asymmetry-"+name, 11
		f := scenario.MPTCPFlow("f", 2, 4<<20)
		f.MPTCPBuffer = 256 << 10
		f.Scheduler = schedFactory(t, name)
		s.Flows = []scenario.Flow{f}
		res, ofo := runOFO(t, &s, 10*time.Millisecond)
		fr := &res.Flows[0]
		if !fr.Exact() || fr.Err != nil {
			t.Fatalf("%s: not exact: %v\n%s", name, fr.Err, res)
		}
		mib := res.Hosts[1].MIB
		row := asymRow{name: name, goodput: fr.Goodput(), ofo: ofo, ofoQ: mib["OFOQueue"] + mib["OFOQueueTail"]}
		rows[name] = row
		var per []string
		for _, sf := range fr.SenderMPTCP.Subflow {
			per = append(per, strconv.FormatUint(sf.TCP.BytesAcked, 10))
		}
		tab.Add(name, fmt.Sprintf("%.2fMbit/s", row.goodput/1e6), fmt.Sprintf("%.3fs", fr.CompletionTime().Seconds()),
			strconv.Itoa(int(math.Round(ofo.mean))), strconv.Itoa(ofo.max), fmt.Sprintf("%.1fms", float64(ofo.delay)/1e6),
			strconv.FormatInt(row.ofoQ, 10), strconv.FormatInt(mib["DuplicateData"], 10), strings.Join(per, "/"), "ok")
	}
	b.WriteString(tab.String())
	return b.String(), rows
}

// testRTTAsymmetry: with paths of 20 and 200 ms RTT behind a 256 KiB
// receive window, the default scheduler's data on the slow path holds the
// window while the fast path waits (head-of-line blocking); BLEST and ECF
// see it coming and keep the slow path idle. Both deliver more, with less
// data waiting out of order at the receiver, as their papers report
// against the default (minimum-RTT) scheduler. With paths of 20 and 80 ms
// the window is less of a limit: BLEST still cuts the out-of-order data
// of the default; the goodput it gives up there is in the table.
func testRTTAsymmetry(t *testing.T) string {
	text, rows := rttAsymmetry(t, 10*time.Millisecond, 100*time.Millisecond)
	def := rows["default"]
	for _, name := range []string{"blest", "ecf"} {
		r := rows[name]
		if r.goodput < 1.3*def.goodput {
			t.Errorf("20/200 ms: %s goodput %.2f Mbit/s, not 30%% above the default's %.2f Mbit/s", name, r.goodput/1e6, def.goodput/1e6)
		}
		if r.ofo.mean > def.ofo.mean/4 || r.ofo.delay > def.ofo.delay/4 || r.ofoQ > def.ofoQ/4 {
			t.Errorf("20/200 ms: %s out-of-order queue (mean %.0f bytes, %v per byte, %d insertions) not a quarter of the default's (%.0f, %v, %d)",
				name, r.ofo.mean, r.ofo.delay, r.ofoQ, def.ofo.mean, def.ofo.delay, def.ofoQ)
		}
	}
	text2, rows2 := rttAsymmetry(t, 10*time.Millisecond, 40*time.Millisecond)
	if b, d := rows2["blest"], rows2["default"]; b.ofo.mean > d.ofo.mean/2 || b.ofo.delay > d.ofo.delay/2 {
		t.Errorf("20/80 ms: blest out-of-order queue (mean %.0f bytes, %v per byte) not half the default's (%.0f, %v)",
			b.ofo.mean, b.ofo.delay, d.ofo.mean, d.ofo.delay)
	}
	return text + "\n" + text2
}

// longestStall is the longest time without a byte delivered, among the
// stalls that start in [from, from+within], from the flow's samples.
func longestStall(f *scenario.FlowResult, from, within time.Duration) time.Duration {
	var longest, run time.Duration
	for k := 1; k < len(f.Samples); k++ {
		at := time.Duration(k+1) * f.SampleInterval
		if at <= from {
			continue
		}
		if f.Samples[k] != f.Samples[k-1] {
			run = 0
			continue
		}
		if run == 0 && at-f.SampleInterval > from+within {
			break
		}
		run += f.SampleInterval
		longest = max(longest, run)
	}
	return longest
}

// testFailover: a bulk transfer over two paths, one of which goes down
// for good at 1 s. With the default scheduler the data in flight on the
// dead path waits until the sender suspects that subflow (no ACK for a
// few round trips with data in flight) and reinjects it on the other: the
// receiver gets nothing for about that time, well under the subflow's
// retransmission timeout (at least 200 ms).
// With the redundant scheduler the other path carried a copy, and the
// transfer goes on without waiting at all (the stall in the
// table, the longest time without a byte delivered among those that start
// within 500 ms of the failure, is then a loss recovery of the surviving
// path, whose window grows into its queue, as at any other time). That
// needs the surviving path to have kept up: when the faster of two unequal
// paths dies, the slower one carried only part of the copies, and
// redundancy helps little (in the table, not asserted).
func testFailover(t *testing.T) string {
	const dieAt = time.Second
	type fcase struct {
		name       string
		paths      [][2]impair.Config
		dead       string
		scheds     []string
		redundancy bool // redundant must not stall, the default must
	}
	cases := []fcase{
		{"equal paths, p1 dies", [][2]impair.Config{bdpPath(10_000_000, 10*time.Millisecond), bdpPath(10_000_000, 10*time.Millisecond)}, "p1", sched.Names(), true},
		{"10+6 Mbit/s, p2 dies", [][2]impair.Config{bdpPath(10_000_000, 10*time.Millisecond), bdpPath(6_000_000, 10*time.Millisecond)}, "p2", []string{"default", "redundant"}, true},
		{"10+6 Mbit/s, p1 dies", [][2]impair.Config{bdpPath(10_000_000, 10*time.Millisecond), bdpPath(6_000_000, 10*time.Millisecond)}, "p1", []string{"default", "redundant"}, false},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "failover: 2.5 s bulk transfer, a path dies at %v (10 ms one way); goodput in the second before and the second from %v on\n\n", dieAt, dieAt+500*time.Millisecond)
	tab := &scenario.Table{Header: []string{"case", "sched", "before", "after", "stall", "reinj-bytes", "exact"}}
	for _, c := range cases {
		stalls := map[string]time.Duration{}
		for _, name := range c.scheds {
			s := scenario.Parallel(c.paths...)
			s.Name, s.Seed = "failover-"+name, 5
			s.SampleInterval = 10 * time.Millisecond
			f := scenario.MPTCPFlow("f", 2, 0)
			f.Duration = 2500 * time.Millisecond
			f.Scheduler = schedFactory(t, name)
			s.Flows = []scenario.Flow{f}
			s.Events = []scenario.Event{{At: dieAt, Link: c.dead, Kind: scenario.LinkDown}}
			res := run(t, &s)
			fr := &res.Flows[0]
			if !fr.Exact() || fr.Err != nil {
				t.Fatalf("%s, %s: not exact: %v\n%s", c.name, name, fr.Err, res)
			}
			st := longestStall(fr, dieAt, 500*time.Millisecond)
			stalls[name] = st
			tab.Add(c.name, name, fmt.Sprintf("%.2fMbit/s", fr.Throughput(dieAt-time.Second, dieAt)/1e6),
				fmt.Sprintf("%.2fMbit/s", fr.Throughput(dieAt+500*time.Millisecond, dieAt+1500*time.Millisecond)/1e6),
				st.String(), strconv.FormatUint(fr.SenderMPTCP.BytesRetrans, 10), "ok")
		}
		if c.redundancy {
			// Redundant may pause for a loss recovery of the
			// surviving path (its window grows into its queue), not
			// for the detection of the failure; the default waits
			// for the detection, not for a retransmission timeout.
			if r, d := stalls["redundant"], stalls["default"]; r > 50*time.Millisecond || d > 100*time.Millisecond || r >= d {
				t.Errorf("%s: redundant stalls %v after the failure, the default %v", c.name, r, d)
			}
		}
	}
	b.WriteString(tab.String())
	return b.String()
}

// msgPM opens the client's second subflow, over p2, once the connection
// is established.
type msgPM struct{ local, remote netip.AddrPort }

func (pm msgPM) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	if ev.Type == stack.PMEventEstablished && !c.ServerSide() {
		// An error leaves one subflow, which the delivery check
		// below would not notice; the latencies would.
		_, _ = c.AddSubflow(now, pm.local, pm.remote, false)
	}
}

// msgResult is what a message run measured: each message's latency, from
// its write to the receiver's read of its last byte.
type msgResult struct {
	lat      []time.Duration
	received int
	subflows int
	err      error
}

// runMessages sends n messages of size bytes, one every interval from 1 s
// on (the second subflow is up by then), over an MPTCP connection from
// the client to the server of s (a Parallel scenario of two paths and no
// flows), with the scheduler mk makes at the sender. The scenario package
// runs bulk flows; this application uses the stacks of its hosts
// directly.
func runMessages(t *testing.T, s *scenario.Scenario, mk func() meta.Scheduler, n, size int, interval time.Duration) msgResult {
	t.Helper()
	r, err := scenario.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(link, end int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(link), 0, byte(end)}) }
	const port = 5001
	for i, h := range []string{"client", "server"} {
		st := r.Stack(h)
		sub := st.TCPConfig()
		sub.NoDelay = true // each message goes out at once
		err := st.EnableMPTCP(stack.MPConfig{
			Meta:        meta.Config{Subflow: sub, Rand: rand.NewChaCha8([32]byte{byte(i + 1), byte(s.Seed)})},
			PathManager: msgPM{local: netip.AddrPortFrom(addr(2, 1), 0), remote: netip.AddrPortFrom(addr(2, 2), port)},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	net := r.Network()
	var res msgResult
	sentAt := make([]time.Time, 0, n)
	buf := make([]byte, 64<<10)
	read := func(now time.Time, c *stack.MPConn) {
		for {
			k, err := c.Read(now, buf)
			for m := res.received / size; m < (res.received+k)/size; m++ {
				res.lat = append(res.lat, now.Sub(sentAt[m]))
			}
			res.received += k
			if k == 0 || err != nil {
				if err != nil && !errors.Is(err, io.EOF) && res.err == nil {
					res.err = err
				}
				return
			}
		}
	}
	_, err = r.Stack("server").ListenMPTCP(net.Now(), netip.AddrPortFrom(netip.Addr{}, port), &stack.MPListenOptions{
		OnEvent: func(now time.Time, c *stack.MPConn, ev meta.Event) {
			if ev.Kind == meta.EventReadable || ev.Kind == meta.EventEOF {
				read(now, c)
			}
		},
		OnAccept: func(now time.Time, l *stack.MPListener) {
			for {
				if _, ok := l.Accept(); !ok {
					return
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Stack("client").DialMPTCP(net.Now(), netip.AddrPortFrom(addr(1, 2), port), &stack.MPDialOptions{
		Local: netip.AddrPortFrom(addr(1, 1), 0),
		Meta:  func(c *meta.Config) { c.Scheduler = mk() },
		OnEvent: func(now time.Time, c *stack.MPConn, ev meta.Event) {
			if ev.Kind == meta.EventClosed && ev.Err != nil && res.err == nil {
				res.err = ev.Err
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, size)
	for i := range n {
		net.At(net.Start().Add(time.Second+time.Duration(i)*interval), func(now time.Time) {
			sentAt = append(sentAt, now)
			if k, err := c.Write(now, msg); (k != size || err != nil) && res.err == nil {
				res.err = fmt.Errorf("message %d: wrote %d of %d bytes: %v", i, k, size, err)
			}
		})
	}
	r.RunFor(time.Second + time.Duration(n)*interval + 5*time.Second)
	res.subflows = c.Info().SubflowsTotal
	return res
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// messageTable runs the messages of testMessages over the paths c1 and c2
// (and the events) once per scheduler, renders their latencies, and
// returns them by scheduler name.
func messageTable(t *testing.T, title string, c1, c2 impair.Config, events []scenario.Event) (string, map[string][]time.Duration) {
	const n, size = 1000, 200
	var b strings.Builder
	b.WriteString(title + "\n\n")
	tab := &scenario.Table{Header: []string{"sched", "delivered", "p50", "p90", "p99", "max"}}
	lat := map[string][]time.Duration{}
	for _, name := range sched.Names() {
		s := scenario.Parallel([2]impair.Config{c1, c1}, [2]impair.Config{c2, c2})
		s.Name, s.Seed, s.Events = "messages-"+name, 3, events
		res := runMessages(t, &s, schedFactory(t, name), n, size, 20*time.Millisecond)
		if res.err != nil || len(res.lat) != n || res.received != n*size || res.subflows != 2 {
			t.Fatalf("%s: %d of %d messages, %d bytes, %d subflows, error %v", name, len(res.lat), n, res.received, res.subflows, res.err)
		}
		lat[name] = res.lat
		tab.Add(name, strconv.Itoa(len(res.lat)), percentile(res.lat, 50).String(), percentile(res.lat, 90).String(),
			percentile(res.lat, 99).String(), percentile(res.lat, 100).String())
	}
	b.WriteString(tab.String())
	return b.String(), lat
}

// testMessages: 1000 messages of 200 bytes, one every 20 ms, over two
// 10 Mbit/s paths of 10 and 15 ms one way.
//
// When the paths lose 2% of the packets in each direction, a lost message
// waits for loss recovery on its subflow unless the redundant scheduler
// sent a copy on the other path, which arrives 5 ms later: redundant has
// the lowest 99th-percentile latency.
//
// When the faster path dies (at 6 s, without losses before), the messages
// in flight on it wait until the sender suspects the dead subflow (no
// ACK for a few round trips with two segments in flight) and sends them
// again on the other path, except with the redundant scheduler, whose
// copies on the other path arrive 5 ms later than the lost originals
// would have: no message is late.
func testMessages(t *testing.T) string {
	c1 := impair.Config{Rate: 10_000_000, Delay: 10 * time.Millisecond, QueuePackets: 50}
	c2 := impair.Config{Rate: 10_000_000, Delay: 15 * time.Millisecond, QueuePackets: 50}
	lossy1, lossy2 := c1, c2
	lossy1.Loss, lossy2.Loss = 0.02, 0.02
	text, lat := messageTable(t, "messages: 1000 × 200 bytes every 20 ms, 10 Mbit/s paths of 10 and 15 ms one way, 2% loss", lossy1, lossy2, nil)
	red := percentile(lat["redundant"], 99)
	for name, l := range lat {
		if p := percentile(l, 99); name != "redundant" && p <= red {
			t.Errorf("lossy paths: %s has a 99th-percentile latency of %v, not above redundant's %v", name, p, red)
		}
	}
	down := []scenario.Event{{At: 6 * time.Second, Link: "p1", Kind: scenario.LinkDown}}
	text2, lat2 := messageTable(t, "messages: the same without losses, p1 dies at 6 s", c1, c2, down)
	if r, d := percentile(lat2["redundant"], 100), percentile(lat2["default"], 100); r > 20*time.Millisecond || d <= 2*r || d > 100*time.Millisecond {
		t.Errorf("p1 dies: the latest message took %v with redundant, %v with the default", r, d)
	}
	return text + "\n" + text2
}

// TestSchedGolden runs the scheduler comparisons, checks their
// properties and compares their tables with testdata/sched.golden.
func TestSchedGolden(t *testing.T) {
	skipUnderRace(t)
	t.Parallel()
	sections := []struct {
		name string
		run  func(*testing.T) string
	}{
		{"rtt-asymmetry", testRTTAsymmetry},
		{"failover", testFailover},
		{"messages", testMessages},
	}
	texts := make([]string, len(sections))
	t.Run("sections", func(t *testing.T) {
		for i, s := range sections {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				texts[i] = s.run(t)
			})
		}
	})
	if t.Failed() {
		t.Log(strings.Join(texts, "\n"))
		return
	}
	golden(t, "sched.golden", strings.Join(texts, "\n"))
}

// TestSchedTransfersExact runs MPTCP transfers (32 KiB to 1 MiB,
// log-uniform) over 2 to 4 paths with random impairments (loss, bursts,
// reordering, duplication, jitter, corruption, small queues), DSS
// checksums on every other seed and a path that flaps on every third,
// with every scheduler of package sched for 20 seeds each (400 with
// -scenario.long): copies
// (redundant), short chunks (round robin) and waiting (BLEST, ECF) must
// all deliver exactly the bytes sent, in order.
func TestSchedTransfersExact(t *testing.T) {
	skipUnderRace(t)
	t.Parallel()
	seeds := uint64(20)
	if *long {
		seeds = 400
	}
	for _, name := range sched.Names() {
		var copies, reinjected uint64
		for seed := uint64(1); seed <= seeds; seed++ {
			rng := rand.New(rand.NewPCG(seed, 0x5c4ed))
			n := 2 + int(seed%3)
			paths := make([][2]impair.Config, n)
			for i := range paths {
				paths[i] = [2]impair.Config{randomPathImpairment(rng), randomPathImpairment(rng)}
			}
			s := scenario.Parallel(paths...)
			s.Name, s.Seed = fmt.Sprintf("sched-%s-%d", name, seed), seed
			s.Limit = 10 * time.Minute
			s.MPTCP.Checksum = seed%2 == 0
			bytes := int64(math.Exp2(15 + rng.Float64()*5))
			f := scenario.MPTCPFlow("f", n, bytes)
			f.Config = randomTCP(rng)
			f.Scheduler = schedFactory(t, name)
			s.Flows = []scenario.Flow{f}
			if seed%3 == 0 {
				p := fmt.Sprintf("p%d", 1+rng.IntN(n))
				down := time.Duration(rng.Int64N(int64(time.Second)))
				s.Events = []scenario.Event{
					{At: down, Link: p, Kind: scenario.LinkDown},
					{At: down + time.Duration(rng.Int64N(int64(2*time.Second))), Link: p, Kind: scenario.LinkUp},
				}
			}
			r := run(t, &s)
			fr := &r.Flows[0]
			if !fr.Exact() || fr.Err != nil {
				t.Errorf("%s seed %d: %d paths, checksum %v, %d bytes, received %d, done %v, mismatch at %d, error %v\n%s",
					name, seed, n, s.MPTCP.Checksum, bytes, fr.Received, fr.Done, fr.Mismatch, fr.Err, r)
				continue
			}
			if in := fr.SenderMPTCP; in != nil {
				copies += in.BytesSent - in.BytesRetrans - uint64(bytes)
				reinjected += in.Retransmits
			}
		}
		t.Logf("%s: %d bytes of copies, %d chunks reinjected", name, copies, reinjected)
		if name == "redundant" && copies == 0 {
			t.Errorf("redundant made no copies")
		}
	}
}
