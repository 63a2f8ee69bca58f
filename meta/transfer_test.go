package meta

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// runTransfer moves up and down over a client with extra subflows from
// joins, then checks the bytes, the orderly close and the counters.
func runTransfer(t *testing.T, seed uint64, p pathCfg, up, down []byte, joins int, mod func(*Config)) *transfer {
	t.Helper()
	return runTransferObserved(t, seed, p, up, down, joins, mod, nil)
}

// runTransferObserved also records in used the client addresses of the
// paths that carried data to the server.
func runTransferObserved(t *testing.T, seed uint64, p pathCfg, up, down []byte, joins int, mod func(*Config), used map[string]bool, paths ...pathCfg) *transfer {
	t.Helper()
	h := newHarness(t, seed, p)
	for i, pc := range paths {
		*h.path(clientAddr[i]) = pc
	}
	if used != nil {
		h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
			if toSrv && len(seg.Payload) > 0 {
				used[from.Local.Addr().String()] = true
			}
		}
	}
	cc, sc := testConfig(seed, h.cli), testConfig(seed+1000, h.srv)
	if mod != nil {
		mod(cc)
		mod(sc)
	}
	h.listen(sc)
	x := &transfer{h: h, up: up, down: down, joins: clientAddr[1 : 1+joins], closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	h.run(10*time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
	if testing.Verbose() {
		t.Logf("virtual %v, %d segments, %d dropped; client fallback=%v %v; server %v", h.now.Sub(t0), h.sent, h.dropped, x.cli.Fallback(), x.cli.MIB().Snapshot(), h.srv.lst.MIB().Snapshot())
	}
	if !bytes.Equal(x.gotUp, up) {
		t.Fatalf("server read %d bytes that differ from the %d sent (first diff at %d)", len(x.gotUp), len(up), firstDiff(x.gotUp, up))
	}
	if !bytes.Equal(x.gotDown, down) {
		t.Fatalf("client read %d bytes that differ from the %d sent (first diff at %d)", len(x.gotDown), len(down), firstDiff(x.gotDown, down))
	}
	h.run(10*time.Minute, x.app, func() bool { return x.cli.Closed() && x.srv.Closed() })
	if x.cli.Err() != nil || x.srv.Err() != nil {
		t.Fatalf("errors after orderly close: client %v, server %v", x.cli.Err(), x.srv.Err())
	}
	return x
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

var soakSeeds = flag.Int("meta.soak", 0, "extra seeds per TestTransfer variant")

func TestTransfer(t *testing.T) {
	up := pattern(600<<10, 1)
	down := pattern(300<<10, 2)
	ms := time.Millisecond
	variants := []struct {
		name  string
		p     pathCfg
		joins int
		seeds int
		mod   func(*Config)
		paths []pathCfg // per client address, overriding p
	}{
		{"1-clean", pathCfg{delay: 10 * time.Millisecond}, 0, 1, nil, nil},
		{"1-loss-reorder", pathCfg{delay: 5 * time.Millisecond, jitter: 4 * time.Millisecond, loss: 0.02}, 0, 4, nil, nil},
		{"2-clean", pathCfg{delay: 10 * time.Millisecond}, 1, 1, nil, nil},
		{"2-loss-reorder", pathCfg{delay: 5 * time.Millisecond, jitter: 6 * time.Millisecond, loss: 0.02}, 1, 6, nil, nil},
		{"4-loss-reorder", pathCfg{delay: 5 * time.Millisecond, jitter: 8 * time.Millisecond, loss: 0.03}, 3, 6, nil, nil},
		{"4-checksum", pathCfg{delay: 3 * time.Millisecond, jitter: 3 * time.Millisecond, loss: 0.01}, 3, 3, func(c *Config) { c.Checksum = true }, nil},
		{"2-small-chunks", pathCfg{delay: 2 * time.Millisecond, jitter: 2 * time.Millisecond, loss: 0.02}, 1, 3, func(c *Config) { c.ChunkSize = 1000 }, nil},
		{"2-small-buffers", pathCfg{delay: 2 * time.Millisecond, jitter: 2 * time.Millisecond, loss: 0.01}, 1, 3, func(c *Config) {
			c.RecvBufferSize = 32 << 10
			c.SendBufferSize = 16 << 10
		}, nil},
		{"2-asymmetric", pathCfg{}, 1, 6, nil, []pathCfg{{delay: 10 * ms, loss: 0.01}, {delay: 25 * ms, jitter: 10 * ms, loss: 0.03}}},
		{"4-asymmetric", pathCfg{}, 3, 6, nil, []pathCfg{
			{delay: 30 * ms, loss: 0.02}, {delay: 3 * ms, jitter: 3 * ms}, {delay: 10 * ms, jitter: 20 * ms, loss: 0.05}, {delay: 60 * ms, loss: 0.01}}},
		{"4-heavy-loss", pathCfg{delay: 5 * ms, jitter: 5 * ms, loss: 0.08}, 3, 4, nil, nil},
	}
	for _, v := range variants {
		for seed := range v.seeds + *soakSeeds {
			t.Run(fmt.Sprintf("%s/%d", v.name, seed), func(t *testing.T) {
				used := map[string]bool{}
				x := runTransferObserved(t, uint64(seed+1), v.p, up, down, v.joins, v.mod, used, v.paths...)
				joined := int(x.h.srv.lst.MIB().Get(MPJoinAckRx))
				if joined > v.joins || v.joins > 0 && joined == 0 {
					t.Errorf("MPJoinAckRx = %d, want 1..%d", joined, v.joins)
				}
				if len(used) < 1+min(joined, 1) {
					t.Errorf("data went over %d paths (%v) with %d joins", len(used), used, joined)
				}
			})
		}
	}
}

// TestSlowReader stops the server application from reading for a while:
// the data level must hold at most RecvBufferSize unread bytes plus one
// mapping, the client must stall rather than overrun it, and all data must
// arrive once reading resumes (flow control through the subflows' windows,
// RFC 8684 §3.3.4).
func TestSlowReader(t *testing.T) {
	up := pattern(1<<20, 15)
	h := newHarness(t, 9, pathCfg{delay: 5 * time.Millisecond, jitter: 2 * time.Millisecond, loss: 0.01})
	cc, sc := testConfig(9, h.cli), testConfig(10, h.srv)
	const rcvBuf = 64 << 10
	sc.RecvBufferSize = rcvBuf
	h.listen(sc)
	x := &transfer{h: h, up: up, joins: clientAddr[1:3], closeOnEOF: true}
	x.cli = h.dial(cc, clientAddr[0])
	paused := true
	var peak, peakOOO int
	app := func() {
		if x.srv == nil {
			if c, ok := h.srv.lst.Accept(); ok {
				x.srv = c
			}
		}
		if x.srv != nil {
			peak = max(peak, x.srv.Readable())
			peakOOO = max(peakOOO, x.srv.oooBytes)
		}
		if paused && x.srv != nil && h.now.Sub(t0) > 3*time.Second {
			paused = false
		}
		if paused {
			// Everything but the server's reads.
			if !x.joined && x.cli.Established() && len(x.joins) > 0 {
				if _, err := x.cli.AddSubflow(h.now, netip.AddrPortFrom(x.joins[0], 0), serverAP, false); err == nil {
					x.joins = x.joins[1:]
				}
				x.joined = len(x.joins) == 0
			}
			if x.upOff < len(x.up) {
				n, _ := x.cli.Write(x.up[x.upOff:])
				x.upOff += n
			}
			return
		}
		x.app()
	}
	h.run(10*time.Minute, app, func() bool { return x.srvEOF && x.cliEOF })
	if string(x.gotUp) != string(up) {
		t.Fatal("transfer corrupted")
	}
	if testing.Verbose() {
		t.Logf("virtual %v, peak unread %d, peak out of order %d", h.now.Sub(t0), peak, peakOOO)
	}
	if peak == 0 || peak > rcvBuf+maxChunkSize {
		t.Errorf("peak unread bytes %d, want (0, %d]", peak, rcvBuf+maxChunkSize)
	}
	if w := x.srv.rcvWindow(); peakOOO > w {
		t.Errorf("peak out-of-order bytes %d > %d", peakOOO, w)
	}
	if d := h.srv.lst.MIB().Get(NoDSSInWindow); d != 0 {
		t.Errorf("%d mappings beyond the window: the sender overran it", d)
	}
}

// greedy is a scheduler that ignores congestion windows.
type greedy struct{}

func (greedy) Pick(s []SubflowStatus) int { return len(s) - 1 }

// TestSchedulerIgnoringSpace runs a scheduler that always picks a subflow,
// with small subflow send buffers: full buffers must stop the scheduling
// loop, and the transfer still completes.
func TestSchedulerIgnoringSpace(t *testing.T) {
	up := pattern(300<<10, 16)
	x := runTransfer(t, 3, pathCfg{delay: 3 * time.Millisecond, loss: 0.01}, up, up[:1000], 1, func(c *Config) {
		c.Scheduler = greedy{}
		c.Subflow.SendBufferSize = 20 << 10
	})
	if x.cli.Info().BytesSent < uint64(len(up)) {
		t.Fatal("not all data sent")
	}
}
