package tcp

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// BenchmarkBulkTransfer moves 1 MiB per iteration through the two-engine
// harness (clean 1 ms path) and reports segments per second and
// allocations per segment, engines and harness together.
func BenchmarkBulkTransfer(b *testing.B) {
	h := newHarness(b, testConfig(), testConfig(), netCfg{delay: time.Millisecond, seed: 1, maxTime: time.Hour})
	h.noCheck = true
	chunk := pattern(1 << 20)
	h.run(func() bool { return h.b != nil && h.b.State() == StateEstablished })
	h.sink = make([]byte, 0, 1<<20)
	// Warm up buffers and pools.
	h.src, h.srcOff = chunk, 0
	h.run(func() bool { return len(h.sink) == len(chunk) })
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	sent0 := h.sent
	start := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		h.sink = h.sink[:0]
		h.src, h.srcOff = chunk, 0
		h.run(func() bool { return len(h.sink) == len(chunk) })
	}
	el := time.Since(start)
	runtime.ReadMemStats(&ms1)
	segs := float64(h.sent - sent0)
	b.ReportMetric(segs/el.Seconds(), "segs/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/segs, "allocs/seg")
}

// establishedIdle creates a server connection through a Listener and
// completes the handshake, leaving it idle.
func establishedIdle(l *Listener, i int, buf []byte) *Conn {
	id := serverID
	id.Remote = netipPort(id.Remote, uint16(i))
	syn := &Segment{Flags: FlagSYN, Seq: 1000, Window: 65535, Options: wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 7, HasTimestamps: true, TSVal: 1}}
	c, _, _ := l.Input(t0, id, syn)
	sa, _ := c.Poll(t0, buf)
	c.Input(t0, &Segment{Flags: FlagACK, Seq: 1001, Ack: sa.Seq + 1, Window: 1000, Options: wire.TCPOptions{HasTimestamps: true, TSVal: 2, TSEcr: sa.Options.TSVal}})
	for {
		if _, ok := c.Poll(t0, buf); !ok {
			break
		}
	}
	l.Accept()
	for {
		if _, ok := c.NextEvent(); !ok {
			break
		}
	}
	return c
}

// used moves data both ways over an idle connection and acknowledges it,
// leaving it idle again with nothing buffered.
func used(c *Conn, buf []byte) {
	c.SetNoDelay(true)
	c.Write(pattern(10000)) // fits the initial window
	var last Segment
	for {
		s, ok := c.Poll(t0, buf)
		if !ok {
			break
		}
		last = s
	}
	opts := wire.TCPOptions{HasTimestamps: true, TSVal: 3, TSEcr: last.Options.TSVal}
	c.Input(t0, &Segment{Flags: FlagACK | FlagPSH, Seq: c.rcvNxt, Ack: c.sndNxt, Window: 1000, Options: opts, Payload: pattern(3000)})
	c.Read(make([]byte, 4000))
	for {
		if _, ok := c.Poll(t0, buf); !ok {
			break
		}
	}
	for {
		if _, ok := c.NextEvent(); !ok {
			break
		}
	}
}

// idleConnBytes measures heap bytes per idle established connection.
func idleConnBytes(n int) float64 { return idleBytes(n, false) }

func idleBytes(n int, afterUse bool) float64 {
	cfg := testConfig()
	l, _ := NewListener(cfg, 80, n+1)
	buf := make([]byte, 2048)
	conns := make([]*Conn, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range conns {
		conns[i] = establishedIdle(l, i, buf)
		if afterUse {
			used(conns[i], buf)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(conns)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

func BenchmarkIdleConnMemory(b *testing.B) {
	b.ReportAllocs()
	var per float64
	for b.Loop() {
		per = idleConnBytes(1000)
	}
	b.ReportMetric(per, "B/conn")
}

// TestIdleConnMemory keeps an idle established connection within 2 kB,
// fresh and after it moved data.
func TestIdleConnMemory(t *testing.T) {
	for _, afterUse := range []bool{false, true} {
		c := establishedIdle(mustListener(t), 1, make([]byte, 2048))
		if afterUse {
			used(c, make([]byte, 2048))
			if c.Info().BytesAcked == 0 || c.Info().BytesReceived != 3000 || c.Buffered() != 0 || c.Readable() != 0 {
				t.Fatalf("use did not move data: %+v", c.Info())
			}
		}
		if per := idleBytes(2000, afterUse); per > 2048 {
			t.Fatalf("idle connection (used %v) costs %.0f bytes, want <= 2048", afterUse, per)
		} else {
			t.Logf("idle connection (used %v): %.0f bytes", afterUse, per)
		}
	}
}

func mustListener(t *testing.T) *Listener {
	l, err := NewListener(testConfig(), 80, 10)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// BenchmarkDirect moves 64 KiB per iteration between two engines wired
// back to back (no channel, no delay): the engines' own cost per segment.
func BenchmarkDirect(b *testing.B) { benchDirect(b, false) }

// BenchmarkReassembly is BenchmarkDirect with every flight of segments
// delivered in reverse order: all but one arrive out of order, so each
// goes through the receiver's out-of-order queue and SACK blocks (RFC 9293
// §3.10.7.4, RFC 2018) before the missing head releases them in order.
func BenchmarkReassembly(b *testing.B) { benchDirect(b, true) }

// benchDirect is BenchmarkDirect, or with reverse BenchmarkReassembly:
// each flight is then kept (its payloads copied) and delivered last
// segment first, and the bytes read are checked.
func benchDirect(b *testing.B, reverse bool) {
	h := newHarness(b, testConfig(), testConfig(), netCfg{delay: time.Millisecond, seed: 1, maxTime: time.Hour})
	h.run(func() bool { return h.b != nil && h.b.State() == StateEstablished && h.a.State() == StateEstablished })
	a, s := h.a, h.b
	now := h.now
	data := pattern(64 << 10)
	rbuf := make([]byte, 64<<10)
	buf := make([]byte, 65536)
	var seg Segment // one variable: a new one per segment would escape, as Input takes its address
	var flight []Segment
	var store [][]byte
	segs := 0
	run := func() {
		off, got := 0, 0
		for got < len(data) {
			if off < len(data) {
				n, _ := a.Write(data[off:])
				off += n
			}
			flight = flight[:0]
			for {
				var ok bool
				if seg, ok = a.Poll(now, buf); !ok {
					break
				}
				segs++
				if !reverse {
					s.Input(now, &seg)
					continue
				}
				k := len(flight)
				if k == len(store) {
					store = append(store, make([]byte, 0, 2048))
				}
				store[k] = append(store[k][:0], seg.Payload...)
				seg.Payload = store[k]
				flight = append(flight, seg)
			}
			for i := len(flight) - 1; i >= 0; i-- {
				s.Input(now, &flight[i])
			}
			for {
				n, _ := s.Read(rbuf)
				if n == 0 {
					break
				}
				if reverse && !bytes.Equal(rbuf[:n], data[got:got+n]) {
					b.Fatalf("bytes %d..%d differ", got, got+n)
				}
				got += n
			}
			for {
				var ok bool
				if seg, ok = s.Poll(now, buf); !ok {
					break
				}
				segs++
				a.Input(now, &seg)
			}
			now = now.Add(100 * time.Microsecond)
		}
	}
	run() // warm up
	segs = 0
	ooo0 := s.Info().OutOfOrderSegs
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	start := time.Now()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(segs)/time.Since(start).Seconds(), "segs/s")
	if !reverse {
		b.ReportMetric(float64(segs)/float64(b.N), "segs/op")
		return
	}
	ooo := s.Info().OutOfOrderSegs - ooo0
	if ooo == 0 {
		b.Fatal("no segment arrived out of order")
	}
	b.ReportMetric(float64(ooo)/float64(b.N), "ooo-segs/op")
}
