package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestPathDies cuts one path for good in the middle of a transfer over two
// subflows: the data it held is reinjected on the other, and the transfer
// and the close complete.
func TestPathDies(t *testing.T) {
	up, down := pattern(1<<20, 8), pattern(256<<10, 9)
	for _, dead := range []int{0, 1} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("path%d/%d", dead, seed), func(t *testing.T) {
				h := newHarness(t, seed, pathCfg{delay: 10 * time.Millisecond, jitter: 2 * time.Millisecond, loss: 0.005})
				cc, sc := testConfig(seed, h.cli), testConfig(seed+100, h.srv)
				for _, c := range []*Config{cc, sc} {
					c.Subflow.Retries = 6
				}
				h.listen(sc)
				x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:2], closeOnEOF: true}
				x.cli = h.dial(cc, clientAddr[0])
				cut := false
				app := func() {
					x.app()
					if !cut && x.srv != nil && len(x.gotUp) > 200<<10 {
						cut = true
						h.path(clientAddr[dead]).down = true
					}
				}
				h.run(10*time.Minute, app, func() bool { return x.cliEOF && x.srvEOF })
				if !cut {
					t.Fatal("the transfer ended before the path was cut")
				}
				if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
					t.Fatalf("transfer corrupted: %d/%d up, %d/%d down", len(x.gotUp), len(up), len(x.gotDown), len(down))
				}
				if x.cli.MIB().Get(MPTCPRetrans) == 0 && h.srv.lst.MIB().Get(MPTCPRetrans) == 0 {
					t.Error("no data-level retransmission")
				}
				h.run(30*time.Minute, app, func() bool { return x.cli.Closed() && x.srv.Closed() })
				if x.cli.Err() != nil || x.srv.Err() != nil {
					t.Fatalf("errors after the orderly close: %v / %v", x.cli.Err(), x.srv.Err())
				}
				if h.unbound != 4 {
					t.Errorf("%d subflows unbound, want 4", h.unbound)
				}
			})
		}
	}
}

// TestChecksumFailure corrupts one payload byte on the second path of a
// transfer with DSS checksums: the receiver detects it, resets that
// subflow with MP_FAIL and MP_TCPRST, and the data arrives intact through
// the other subflow (RFC 8684 §3.7).
func TestChecksumFailure(t *testing.T) {
	up := pattern(400<<10, 10)
	h := newHarness(t, 3, pathCfg{delay: 5 * time.Millisecond})
	corrupted := false
	var failSeen, rstSeen bool
	h.mutate = func(f *flight) bool {
		if f.toSrv && !corrupted && f.from.Local.Addr() == clientAddr[1] && len(f.seg.Payload) > 100 {
			corrupted = true
			f.seg.Payload[50] ^= 0x10
		}
		return true
	}
	h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
		if !toSrv && seg.Flags&tcp.FlagRST != 0 {
			m := opts(seg)
			failSeen = failSeen || m.Has(wire.SubtypeMPFail)
			rstSeen = rstSeen || m.Has(wire.SubtypeMPTCPRST) && m.MPTCPRST.Reason == wire.TCPRSTMiddleboxInterference
		}
	}
	cc, sc := testConfig(3, h.cli), testConfig(4, h.srv)
	sc.Checksum = true
	h.listen(sc)
	x := &transfer{h: h, up: up, down: nil, joins: clientAddr[1:2], closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	h.run(10*time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
	if !corrupted {
		t.Fatal("nothing was corrupted")
	}
	if string(x.gotUp) != string(up) {
		t.Fatal("corrupted data delivered")
	}
	if n := h.srv.lst.MIB().Get(DataCsumErr); n != 1 {
		t.Errorf("DataCsumErr = %d, want 1", n)
	}
	if h.srv.lst.MIB().Get(MPFailTx) != 1 || x.cli.MIB().Get(MPFailRx) != 1 || !failSeen || !rstSeen {
		t.Errorf("MP_FAIL tx %d rx %d seen %v, MP_TCPRST seen %v (client %v)", h.srv.lst.MIB().Get(MPFailTx), x.cli.MIB().Get(MPFailRx), failSeen, rstSeen, x.cli.MIB().Snapshot())
	}
}

// TestShortDSSForms rewrites every DSS in flight to 32-bit DATA_ACKs and
// DSNs (RFC 8684 §3.3: both sizes are valid): the receivers expand them.
func TestShortDSSForms(t *testing.T) {
	up, down := pattern(300<<10, 11), pattern(100<<10, 12)
	h := newHarness(t, 5, pathCfg{delay: 4 * time.Millisecond, jitter: 3 * time.Millisecond, loss: 0.01})
	rewritten := 0
	h.mutate = func(f *flight) bool {
		for i := range f.seg.Options.NumMPTCP {
			d, _, err := wire.ParseDSS(f.seg.Options.MPTCP[i])
			if err != nil {
				continue
			}
			d.Flags &^= wire.DSSDataACK64 | wire.DSSDSN64
			d.DataACK &= 0xffffffff
			d.DSN &= 0xffffffff
			f.seg.Options.MPTCP[i] = d.Append(nil)
			rewritten++
		}
		return true
	}
	cc, sc := testConfig(5, h.cli), testConfig(6, h.srv)
	h.listen(sc)
	x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:3], closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	h.run(10*time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
	if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
		t.Fatal("transfer corrupted")
	}
	if rewritten < 100 {
		t.Fatalf("only %d DSS options rewritten", rewritten)
	}
}

// TestChecksumFailureSingleSubflow corrupts one payload byte on the only
// subflow: the receiver sends MP_FAIL, the sender answers with an infinite
// mapping, both fall back to TCP, and the data arrives intact both ways
// (RFC 8684 §3.7).
func TestChecksumFailureSingleSubflow(t *testing.T) {
	for _, dir := range []string{"up", "down"} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/%d", dir, seed), func(t *testing.T) {
				up, down := pattern(300<<10, 17), pattern(200<<10, 18)
				h := newHarness(t, seed, pathCfg{delay: 5 * time.Millisecond, jitter: time.Millisecond, loss: 0.005})
				corrupted := false
				var infSeen int
				var maxEnd uint32
				seen := false
				h.mutate = func(f *flight) bool {
					if f.toSrv != (dir == "up") || len(f.seg.Payload) == 0 {
						return true
					}
					// Corrupt new data only: a retransmission might
					// be dropped as a duplicate.
					fresh := !seen || int32(f.seg.Seq-maxEnd) >= 0
					if end := f.seg.Seq + uint32(len(f.seg.Payload)); !seen || int32(end-maxEnd) > 0 {
						maxEnd, seen = end, true
					}
					if fresh && !corrupted && len(f.seg.Payload) > 100 && h.now.Sub(t0) > 50*time.Millisecond {
						corrupted = true
						f.seg.Payload[77] ^= 0x04
					}
					return true
				}
				h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
					if m := opts(seg); m.Has(wire.SubtypeDSS) && m.DSS.IsInfiniteMapping() {
						infSeen++
					}
				}
				cc, sc := testConfig(seed, h.cli), testConfig(seed+7, h.srv)
				cc.Checksum = true
				h.listen(sc)
				x := &transfer{h: h, up: up, down: down, closeOnEOF: true}
				x.cli = h.dial(cc, clientAddr[0])
				h.run(10*time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
				if !corrupted {
					t.Fatal("nothing was corrupted")
				}
				if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
					t.Fatalf("transfer corrupted: %d/%d up, %d/%d down", len(x.gotUp), len(up), len(x.gotDown), len(down))
				}
				rx, tx := x.srv.MIB(), x.cli.MIB()
				if dir == "down" {
					rx, tx = tx, rx
				}
				if rx.Get(DataCsumErr) != 1 || rx.Get(MPFailTx) < 1 || tx.Get(MPFailRx) != 1 || rx.Get(InfiniteMapRx) != 1 || infSeen == 0 ||
					tx.Get(InfiniteMapTx) != 1 {
					t.Errorf("csum errors %d, MP_FAIL tx %d rx %d, infinite mappings rx %d seen %d",
						rx.Get(DataCsumErr), rx.Get(MPFailTx), tx.Get(MPFailRx), rx.Get(InfiniteMapRx), infSeen)
				}
				if !x.cli.Fallback() || !x.srv.Fallback() {
					t.Errorf("fallback: client %v server %v", x.cli.Fallback(), x.srv.Fallback())
				}
				h.run(10*time.Minute, x.app, func() bool { return x.cli.Closed() && x.srv.Closed() })
				if x.cli.Err() != nil || x.srv.Err() != nil {
					t.Fatalf("errors after the orderly close: %v / %v", x.cli.Err(), x.srv.Err())
				}
			})
		}
	}
}

// TestBackupSubflow opens three subflows, the last with flag B: it carries
// no data in either direction while the others work, and all of it once
// their paths die (RFC 8684 §3.3.8).
func TestBackupSubflow(t *testing.T) {
	up, down := pattern(800<<10, 19), pattern(400<<10, 20)
	h := newHarness(t, 2, pathCfg{delay: 4 * time.Millisecond, jitter: time.Millisecond})
	var onBackup, beforeCut int
	cut := false
	h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
		a := from.Local.Addr()
		if !toSrv {
			a = from.Remote.Addr()
		}
		if a == clientAddr[2] && len(seg.Payload) > 0 {
			onBackup += len(seg.Payload)
			if !cut {
				beforeCut += len(seg.Payload)
			}
		}
	}
	cc, sc := testConfig(2, h.cli), testConfig(3, h.srv)
	for _, c := range []*Config{cc, sc} {
		c.Subflow.Retries = 5
	}
	h.listen(sc)
	x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:3], backupLast: true, closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	app := func() {
		x.app()
		if !cut && len(x.gotUp) > 300<<10 {
			cut = true
			h.path(clientAddr[0]).down = true
			h.path(clientAddr[1]).down = true
		}
	}
	h.run(20*time.Minute, app, func() bool { return x.cliEOF && x.srvEOF })
	if string(x.gotUp) != string(up) || string(x.gotDown) != string(down) {
		t.Fatal("transfer corrupted")
	}
	if beforeCut != 0 {
		t.Errorf("%d bytes went over the backup subflow while the others worked", beforeCut)
	}
	if onBackup == 0 {
		t.Error("the backup subflow carried nothing after the others died")
	}
	if h.srv.lst.MIB().Get(MPJoinSynBackupRx) != 1 {
		t.Errorf("MPJoinSynBackupRx = %d", h.srv.lst.MIB().Get(MPJoinSynBackupRx))
	}
}

// TestConsumeReinject checks the removal of a sent chunk from a
// reinjection range, at its start, at its end and inside it (the hinted
// chunk of checkSilence), which keeps the ranges sorted and disjoint, and
// the hint's lookup: only a hint strictly inside a range is taken, once.
func TestConsumeReinject(t *testing.T) {
	r := func(a, b uint64) dsnRange { return dsnRange{a, b} }
	for _, tc := range []struct {
		name  string
		j     int
		start uint64
		n     int
		want  []dsnRange
	}{
		{"start", 0, 100, 50, []dsnRange{r(150, 200), r(300, 400)}},
		{"whole", 0, 100, 100, []dsnRange{r(300, 400)}},
		{"end", 1, 350, 50, []dsnRange{r(100, 200), r(300, 350)}},
		{"inside", 1, 320, 30, []dsnRange{r(100, 200), r(300, 320), r(350, 400)}},
		{"inside first", 0, 120, 30, []dsnRange{r(100, 120), r(150, 200), r(300, 400)}},
	} {
		c := &Conn{reinj: []dsnRange{r(100, 200), r(300, 400)}}
		c.consumeReinject(tc.j, tc.start, tc.n)
		if diff := cmp.Diff(tc.want, c.reinj, cmp.AllowUnexported(dsnRange{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	c := &Conn{reinj: []dsnRange{r(100, 200), r(300, 400)}}
	for _, h := range []struct {
		hint uint64
		want int
	}{{150, 0}, {350, 1}, {100, -1}, {300, -1}, {250, -1}, {400, -1}} {
		c.reinjHint, c.reinjHinted = h.hint, true
		if got := c.hintedReinject(); got != h.want || c.reinjHinted {
			t.Errorf("hint %d: range %d (hint kept %v), want %d", h.hint, got, c.reinjHinted, h.want)
		}
	}
	if got := c.hintedReinject(); got != -1 {
		t.Errorf("no hint: range %d, want -1", got)
	}
}
