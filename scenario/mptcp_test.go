package scenario_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/middlebox"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/scenario"
	"github.com/gomptcp/mptcp/sched"
)

// randomPathImpairment draws a path direction for multipath runs: the
// impairments of randomImpairment, always rate-limited (paths differ).
func randomPathImpairment(rng *rand.Rand) impair.Config {
	c := randomImpairment(rng)
	if c.Rate == 0 {
		c.Rate = 1_000_000 + rng.Int64N(50_000_000)
		c.QueuePackets = 8 + rng.IntN(100)
	}
	return c
}

// TestMPTCPTransfersExact runs an MPTCP transfer (64 KiB to 1 MiB,
// log-uniform; up to 4 MiB with -scenario.long) for each of 200 seeds (2000 with -scenario.long),
// alternately over 2 and 4 paths whose directions have random
// impairments (loss, bursts, reordering, duplication, jitter, corruption,
// small queues), with DSS checksums on every other seed and a path that
// flaps (down then up) during the transfer on every third. Every transfer
// must deliver exactly the bytes sent, in order, without error.
func TestMPTCPTransfersExact(t *testing.T) {
	skipUnderRace(t)
	t.Parallel()
	seeds, maxLog := 200, 20.0
	if *long {
		seeds, maxLog = 2000, 22
	}
	var total struct {
		loss, dup, reorder, corrupt, flaps uint64
		joined, reinjected, bytes          uint64
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x3a7c0ffe))
		n := 2 + 2*int(seed%2)
		paths := make([][2]impair.Config, n)
		for i := range paths {
			paths[i] = [2]impair.Config{randomPathImpairment(rng), randomPathImpairment(rng)}
		}
		s := scenario.Parallel(paths...)
		s.Name = fmt.Sprintf("mptcp-%d", seed)
		s.Seed = seed
		s.Limit = 30 * time.Minute
		s.MPTCP.Checksum = seed%2 == 0
		bytes := int64(math.Exp2(16 + rng.Float64()*(maxLog-16)))
		f := scenario.MPTCPFlow("f", n, bytes)
		f.Config = randomTCP(rng)
		s.Flows = []scenario.Flow{f}
		if seed%3 == 0 {
			p := fmt.Sprintf("p%d", 1+rng.IntN(n))
			down := time.Duration(rng.Int64N(int64(2 * time.Second)))
			s.Events = append(s.Events,
				scenario.Event{At: down, Link: p, Kind: scenario.LinkDown},
				scenario.Event{At: down + time.Duration(rng.Int64N(int64(3*time.Second))), Link: p, Kind: scenario.LinkUp})
			total.flaps++
		}
		r := run(t, &s)
		fr := r.Flows[0]
		if !fr.Exact() || fr.Err != nil {
			t.Errorf("seed %d: %d paths, checksum %v, %d bytes, received %d, done %v, mismatch at %d, error %v\ntcp %+v\nevents %v\n%s",
				seed, n, s.MPTCP.Checksum, bytes, fr.Received, fr.Done, fr.Mismatch, fr.Err, f.Config, s.Events, r)
			continue
		}
		for _, l := range r.Links {
			total.loss += l.Stats.DroppedLoss
			total.dup += l.Stats.Duplicated
			total.reorder += l.Stats.Reordered
			total.corrupt += l.Stats.Corrupted
		}
		if in := fr.SenderMPTCP; in != nil {
			total.joined += uint64(in.SubflowsTotal - 1)
			total.reinjected += in.Retransmits
		}
		total.bytes += uint64(bytes)
	}
	t.Logf("%d seeds: %+v", seeds, total)
	if total.loss == 0 || total.dup == 0 || total.reorder == 0 || total.corrupt == 0 || total.joined == 0 || total.reinjected == 0 {
		t.Errorf("some impairment never happened, no subflow joined or nothing was reinjected: %+v", total)
	}
}

// twoPaths50x30 is the reference multipath setup: a 50 Mbit/s and a
// 30 Mbit/s path, 20 ms RTT each, drop-tail queues of about one BDP.
func twoPaths50x30() scenario.Scenario {
	p := func(rate int64) [2]impair.Config {
		c := impair.Config{Rate: rate, Delay: 10 * time.Millisecond, QueuePackets: int(rate / 8 * 20 / 1000 / 1500)}
		return [2]impair.Config{c, c}
	}
	return scenario.Parallel(p(50_000_000), p(30_000_000))
}

// mptcpCase is a scenario of TestMPTCPGolden: how to build it, a
// middlebox to put on a link (from a virtual time on), and the
// properties its result must have.
type mptcpCase struct {
	name  string
	build func() scenario.Scenario
	mb    func() link.Middleware
	mbAt  time.Duration
	mbOn  string
	check func(t *testing.T, r *scenario.Result, mb link.Middleware)
}

func mptcpCases() []mptcpCase {
	base := func(name string, bytes int64) scenario.Scenario {
		s := twoPaths50x30()
		s.Name, s.Seed = name, 7
		s.Flows = []scenario.Flow{scenario.MPTCPFlow("f", 2, bytes)}
		return s
	}
	pathDies := func(dead string) mptcpCase {
		return mptcpCase{
			name: "path-dies-" + dead,
			build: func() scenario.Scenario {
				s := base("path-dies-"+dead, 40<<20)
				s.SampleInterval = 10 * time.Millisecond
				s.Events = []scenario.Event{{At: 2 * time.Second, Link: dead, Kind: scenario.LinkDown}}
				return s
			},
			// The transfer completes over the other path; the stall (the
			// longest time without a byte delivered after the failure)
			// is a few round trips, well under a retransmission timeout
			// of the dead subflow: its data goes out on the other one
			// once it has been silent (no ACK) for twice its RTT.
			check: func(t *testing.T, r *scenario.Result, _ link.Middleware) {
				st := r.Flows[0].LongestStall(2*time.Second, r.End)
				t.Logf("%s dies at 2 s: stall %v", dead, st)
				if st > 150*time.Millisecond {
					t.Errorf("stall %v", st)
				}
			},
		}
	}
	return []mptcpCase{
		{
			// A backup subflow (flag B, RFC 8684 §3.2) carries nothing
			// while the initial path works, and takes over within a few
			// round trips when that path dies (once the initial subflow
			// has been silent for twice its RTT).
			name: "backup-takeover",
			build: func() scenario.Scenario {
				s := base("backup-takeover", 24<<20)
				s.SampleInterval = 10 * time.Millisecond
				s.Flows[0].Subflows[0].Backup = true
				s.Events = []scenario.Event{{At: 2 * time.Second, Link: "p1", Kind: scenario.LinkDown}}
				return s
			},
			check: func(t *testing.T, r *scenario.Result, _ link.Middleware) {
				f := &r.Flows[0]
				before := r.Link("p2", "client").Stats.DeliveredBytes
				st := f.LongestStall(2*time.Second, r.End)
				t.Logf("backup takes over after %v; p2 carried %d bytes in all", st, before)
				if st > 150*time.Millisecond {
					t.Errorf("stall %v", st)
				}
				if got := f.ReceivedAt(2 * time.Second); got < 8<<20 {
					t.Errorf("only %d bytes by 2 s: the backup path was used before the failure?", got)
				}
			},
		},
		{
			// Both paths are used to the full: the goodput is at least
			// 0.93 of both links' rate (the payload of a 1500-byte
			// packet with timestamps and a DSS mapping is 1420 bytes,
			// 0.947 of it).
			name: "aggregation",
			build: func() scenario.Scenario {
				s := base("aggregation", 0)
				s.Flows[0].Duration = 10 * time.Second
				return s
			},
			check: func(t *testing.T, r *scenario.Result, _ link.Middleware) {
				g := r.Flows[0].Throughput(2*time.Second, 10*time.Second)
				t.Logf("goodput %.1f Mbit/s = %.3f of the 80 Mbit/s of both links", g/1e6, g/80e6)
				if g < 0.93*80e6 {
					t.Errorf("goodput %.1f Mbit/s: under 0.93 of both links' rate", g/1e6)
				}
			},
		},
		pathDies("p1"),
		pathDies("p2"),
		{
			// MPTCP options stripped from SYNs on the initial path: the
			// connection falls back to TCP at the handshake (RFC 8684
			// §3.7) and opens no second subflow.
			name:  "strip-syn",
			build: func() scenario.Scenario { return base("strip-syn", 8<<20) },
			mb:    func() link.Middleware { return middlebox.NewStripper(middlebox.StripSYN) },
			mbOn:  "p1",
			check: func(t *testing.T, r *scenario.Result, mb link.Middleware) {
				in := r.Flows[0].SenderMPTCP
				if in.Flags&meta.InfoFlagFallback == 0 || in.SubflowsTotal != 1 || mb.(*middlebox.Stripper).Stats().Segments == 0 {
					t.Errorf("want a fallback on one subflow, options stripped: flags %#x, %d subflows", in.Flags, in.SubflowsTotal)
				}
			},
		},
		{
			// MPTCP options stripped from every segment of the only path
			// from 1 s on, in the middle of the transfer: the connection
			// falls back to TCP on its one subflow (RFC 8684 §3.7)
			// without losing or corrupting a byte.
			name: "strip-data-one-path",
			build: func() scenario.Scenario {
				s := base("strip-data-one-path", 8<<20)
				s.Flows = []scenario.Flow{scenario.MPTCPFlow("f", 1, 8<<20)}
				return s
			},
			mb:   func() link.Middleware { return middlebox.NewStripper(middlebox.StripAll) },
			mbAt: time.Second,
			mbOn: "p1",
			check: func(t *testing.T, r *scenario.Result, mb link.Middleware) {
				in := r.Flows[0].SenderMPTCP
				if in.Flags&meta.InfoFlagFallback == 0 || mb.(*middlebox.Stripper).Stats().Segments == 0 {
					t.Errorf("want a fallback after options were stripped: flags %#x, stripper %+v", in.Flags, mb.(*middlebox.Stripper).Stats())
				}
			},
		},
		{
			// The same on the initial path of two: that subflow is reset
			// (MP_TCPRST, middlebox interference) and its data goes out
			// on the other, which carries on as MPTCP.
			name:  "strip-data-two-paths",
			build: func() scenario.Scenario { return base("strip-data-two-paths", 8<<20) },
			mb:    func() link.Middleware { return middlebox.NewStripper(middlebox.StripAll) },
			mbAt:  time.Second,
			mbOn:  "p1",
			check: func(t *testing.T, r *scenario.Result, mb link.Middleware) {
				in := r.Flows[0].SenderMPTCP
				if in.Flags&meta.InfoFlagFallback != 0 || len(in.Subflow) != 1 || in.SubflowsTotal != 2 {
					t.Errorf("want the stripped subflow gone and MPTCP on the other: flags %#x, %d of %d subflows alive",
						in.Flags, len(in.Subflow), in.SubflowsTotal)
				}
			},
		},
		{
			// A payload rewriter (an ALG) on the initial path with DSS
			// checksums on: the mapping fails its checksum, the subflow
			// is reset with MP_FAIL and MP_TCPRST, its data reinjected on
			// the other path, which carries on as MPTCP (§3.7).
			name: "rewrite-checksum",
			build: func() scenario.Scenario {
				s := base("rewrite-checksum", 8<<20)
				s.MPTCP.Checksum = true
				return s
			},
			mb:   func() link.Middleware { return middlebox.NewRewriter(middlebox.RewriterConfig{Skip: 200, Count: 1}) },
			mbOn: "p1",
			check: func(t *testing.T, r *scenario.Result, mb link.Middleware) {
				f := &r.Flows[0]
				cm, sm := r.Hosts[0].MIB, r.Hosts[1].MIB
				if mb.(*middlebox.Rewriter).Stats().Rewritten != 1 {
					t.Fatalf("rewriter: %+v", mb.(*middlebox.Rewriter).Stats())
				}
				if sm["DataCsumErr"] != 1 || sm["MPFailTx"] < 1 || cm["MPFailRx"] < 1 || cm["MPRstRx"] != 1 || f.SenderMPTCP.Retransmits == 0 {
					t.Errorf("want one checksum failure, MP_FAIL and MP_TCPRST, data reinjected: client %v, server %v", cm, sm)
				}
				if len(f.SenderMPTCP.Subflow) != 1 || f.SenderMPTCP.Flags&meta.InfoFlagFallback != 0 {
					t.Errorf("want the other subflow to carry on as MPTCP")
				}
			},
		},
		{
			// The same with one path: MP_FAIL is answered with an
			// infinite mapping and the connection goes on as TCP.
			name: "rewrite-checksum-one-path",
			build: func() scenario.Scenario {
				s := base("rewrite-checksum-one-path", 8<<20)
				s.Flows = []scenario.Flow{scenario.MPTCPFlow("f", 1, 8<<20)}
				s.MPTCP.Checksum = true
				return s
			},
			mb:   func() link.Middleware { return middlebox.NewRewriter(middlebox.RewriterConfig{Skip: 200, Count: 1}) },
			mbOn: "p1",
			check: func(t *testing.T, r *scenario.Result, mb link.Middleware) {
				sm := r.Hosts[1].MIB
				if mb.(*middlebox.Rewriter).Stats().Rewritten != 1 || sm["DataCsumErr"] != 1 || sm["MPFailTx"] < 1 ||
					sm["InfiniteMapRx"] != 1 || r.Flows[0].SenderMPTCP.Flags&meta.InfoFlagFallback == 0 {
					t.Errorf("want a checksum failure, MP_FAIL, an infinite mapping and a fallback: server %v", sm)
				}
			},
		},
		{
			// Four impaired paths, one of which flaps.
			name: "four-paths-impaired",
			build: func() scenario.Scenario {
				rng := rand.New(rand.NewPCG(42, 42))
				paths := make([][2]impair.Config, 4)
				for i := range paths {
					paths[i] = [2]impair.Config{randomPathImpairment(rng), randomPathImpairment(rng)}
				}
				s := scenario.Parallel(paths...)
				s.Name, s.Seed = "four-paths-impaired", 42
				s.Flows = []scenario.Flow{scenario.MPTCPFlow("f", 4, 4<<20)}
				s.Events = []scenario.Event{{At: time.Second, Link: "p3", Kind: scenario.LinkDown}, {At: 2 * time.Second, Link: "p3", Kind: scenario.LinkUp}}
				return s
			},
			check: func(t *testing.T, r *scenario.Result, _ link.Middleware) {
				if r.Flows[0].SenderMPTCP.SubflowsTotal != 4 {
					t.Errorf("%d subflows, want 4", r.Flows[0].SenderMPTCP.SubflowsTotal)
				}
			},
		},
	}
}

// TestMPTCPGolden runs the MPTCP scenarios of mptcpCases, checks that each
// transfer is byte-exact and has its case's properties, and compares the
// results and the hosts' MIB counters with testdata/mptcp.golden.
func TestMPTCPGolden(t *testing.T) {
	skipUnderRace(t)
	t.Parallel()
	var b strings.Builder
	for _, c := range mptcpCases() {
		s := c.build()
		r, err := scenario.Start(&s)
		if err != nil {
			t.Fatal(err)
		}
		var mb link.Middleware
		if c.mb != nil {
			mb = c.mb()
			r.RunFor(c.mbAt)
			l := r.Link(c.mbOn)
			l.AB().AddIngress(mb)
			l.BA().AddIngress(mb)
		}
		res := r.Finish()
		f := &res.Flows[0]
		if !f.Exact() || f.Err != nil {
			t.Errorf("%s: not exact: %v\n%s", c.name, f.Err, res)
			continue
		}
		t.Run(c.name, func(t *testing.T) { c.check(t, res, mb) })
		b.WriteString(res.String())
		for _, h := range res.Hosts {
			keys := make([]string, 0, len(h.MIB))
			for k := range h.MIB {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintf(&b, "mib %s:", h.Name)
			for _, k := range keys {
				fmt.Fprintf(&b, " %s=%d", k, h.MIB[k])
			}
			b.WriteByte('\n')
		}
		b.WriteString("\n")
	}
	golden(t, "mptcp.golden", b.String())
}

// TestMPTCPSlowCloseCompletes: the sender closes once its last byte is in
// the 4 MiB connection send buffer, which a 400 kbit/s path takes about
// 85 s to drain, longer than the 60 s close timeout (Linux's
// close_timeout); the timeout bounds a close without progress, so every
// data-level acknowledgement restarts it and the transfer completes.
func TestMPTCPSlowCloseCompletes(t *testing.T) {
	t.Parallel()
	skipUnderRace(t)
	s := scenario.Parallel(path(400e3, 10*time.Millisecond))
	s.Name, s.Seed = "slow-close", 1
	s.Flows = []scenario.Flow{scenario.MPTCPFlow("f", 1, 4_500_000)}
	r := run(t, &s)
	f := r.Flows[0]
	if !f.Exact() || f.Err != nil || f.CompletionTime() < 85*time.Second {
		t.Fatalf("exact %v, error %v, completed in %v (want over 85 s)\n%s", f.Exact(), f.Err, f.CompletionTime(), r)
	}
}

// TestMPTCPManyMappings: the round-robin scheduler maps every segment on
// its own, and over paths of 20 and 80 ms RTT a subflow holds more than a
// thousand of them at a time, out of order at the subflow level after a
// loss. The receiver keeps every mapping (a fixed bound of 256 once reset
// the subflow for data without a mapping), both subflows live to the end,
// and the connection gets most of what the two paths carry.
func TestMPTCPManyMappings(t *testing.T) {
	t.Parallel()
	skipUnderRace(t)
	p := func(rate int64, oneWay time.Duration, queue int) [2]impair.Config {
		c := impair.Config{Rate: rate, Delay: oneWay, QueuePackets: queue}
		return [2]impair.Config{c, c}
	}
	s := scenario.Parallel(p(20e6, 10*time.Millisecond, 50), p(10e6, 40*time.Millisecond, 67))
	s.Name, s.Seed = "many-mappings", 1
	f := scenario.MPTCPFlow("f", 2, 0)
	f.Duration = 6 * time.Second
	rr, err := sched.New("roundrobin")
	if err != nil {
		t.Fatal(err)
	}
	f.Scheduler = func() meta.Scheduler { return rr() }
	s.Flows = []scenario.Flow{f}
	r := run(t, &s)
	fr := &r.Flows[0]
	g := fr.Throughput(2*time.Second, 6*time.Second)
	in := fr.SenderMPTCP
	if !fr.Exact() || fr.Err != nil || len(in.Subflow) != 2 || g < 25e6 {
		t.Fatalf("exact %v, error %v, %d subflows alive, goodput %.1f Mbit/s (want 2 and 25)\n%s",
			fr.Exact(), fr.Err, len(in.Subflow), g/1e6, r)
	}
	for _, h := range r.Hosts {
		if n := h.MIB["MPRstTx"] + h.MIB["DSSNoMatchTCP"]; n != 0 {
			t.Errorf("%s: %d subflow resets or unplaced data: %v", h.Name, n, h.MIB)
		}
	}
}

// TestDownload: with Flow.Download the connecting side receives: over two
// paths the accepting side's engine sends on both subflows the connecting
// side opened, and plain TCP works the same way round; every byte is
// checked at the receiver.
func TestDownload(t *testing.T) {
	t.Parallel()
	s := twoPaths50x30()
	s.Name, s.Seed = "download", 3
	mp := scenario.MPTCPFlow("mp", 2, 8<<20)
	mp.Download = true
	tc := scenario.Flow{Name: "tcp", From: "client/p2", To: "server/p2", Bytes: 2 << 20, Download: true}
	s.Flows = []scenario.Flow{mp, tc}
	r := run(t, &s)
	for _, f := range r.Flows {
		if !f.Exact() || f.Err != nil {
			t.Fatalf("%s: exact %v, error %v\n%s", f.Name, f.Exact(), f.Err, r)
		}
	}
	in, rin := r.Flows[0].SenderMPTCP, r.Flows[0].ReceiverMPTCP
	if in == nil || rin == nil || len(in.Subflow) != 2 {
		t.Fatalf("want two subflows on the sending side: %+v", in)
	}
	for _, sf := range in.Subflow {
		if sf.Active || sf.TCP.BytesAcked < 512<<10 {
			t.Errorf("sender's subflow %v: active %v, %d bytes acknowledged; want passive ones that carried data", sf.ID, sf.Active, sf.TCP.BytesAcked)
		}
	}
	for _, sf := range rin.Subflow {
		if !sf.Active {
			t.Errorf("receiver's subflow %v is not the one it opened", sf.ID)
		}
	}
	if r.Flows[1].Sender.BytesAcked < 2<<20 {
		t.Errorf("tcp download: the accepting side had %d bytes acknowledged", r.Flows[1].Sender.BytesAcked)
	}
}

// TestLinkUpRetransmits: a link down for 2 s, from 1 s to 3 s, while a
// TCP flow and an MPTCP flow use it. Its return is a link event on the
// hosts' NICs: the TCP connection and the MPTCP subflow over it
// retransmit at once instead of at the end of a retransmission timeout
// backed off meanwhile (which would fire at about 4.2 s): TCP stalls for
// not much more than the outage, and the subflow carries data again
// within 100 ms of the link's return.
func TestLinkUpRetransmits(t *testing.T) {
	t.Parallel()
	s := twoPaths50x30()
	s.Name, s.Seed = "link-up", 1
	s.SampleInterval = 10 * time.Millisecond
	tcpFlow := scenario.Flow{Name: "tcp", From: "client/p1", To: "server/p1", Duration: 5 * time.Second}
	mp := scenario.MPTCPFlow("mp", 2, 0)
	mp.Duration = 5 * time.Second
	s.Flows = []scenario.Flow{tcpFlow, mp}
	s.Events = []scenario.Event{{At: time.Second, Link: "p1", Kind: scenario.LinkDown}, {At: 3 * time.Second, Link: "p1", Kind: scenario.LinkUp}}
	r := run(t, &s)
	for _, f := range r.Flows {
		if !f.Exact() || f.Err != nil {
			t.Fatalf("%s: exact %v, error %v", f.Name, f.Exact(), f.Err)
		}
	}
	if st := r.Flows[0].LongestStall(900*time.Millisecond, 4*time.Second); st > 2200*time.Millisecond {
		t.Errorf("tcp stalled %v for a 2 s outage", st)
	}
	var p1 *scenario.SubflowSeries
	for i := range r.Flows[1].Series {
		if sr := &r.Flows[1].Series[i]; sr.Link == "p1" {
			p1 = sr
		}
	}
	if p1 == nil {
		t.Fatal("no series of the subflow on p1")
	}
	if a, b := p1.AckedAt(3*time.Second), p1.AckedAt(3100*time.Millisecond); b <= a {
		t.Errorf("the subflow on p1 had %d bytes acknowledged at 3 s and %d at 3.1 s: not resumed", a, b)
	}
}
