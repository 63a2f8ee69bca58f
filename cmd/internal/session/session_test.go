package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/gomptcp/mptcp/interop/payload"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// payloadBytes returns the first n bytes of the payload of seed.
func payloadBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	payload.New(seed).Read(b)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// recordWriter records the size of each write.
type recordWriter struct {
	sizes []int
	buf   bytes.Buffer
}

func (w *recordWriter) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.buf.Write(p)
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// eofAfter returns r's data, then an error that wraps io.EOF.
type eofAfter struct{ r io.Reader }

func (e eofAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = fmt.Errorf("end of the data: %w", io.EOF)
	}
	return n, err
}

// TestSend: the writes that send makes, with and without FillChunks, and
// how it ends.
func TestSend(t *testing.T) {
	boom := errors.New("disk on fire")
	payloadOf := func(n int64) func() io.Reader {
		return func() io.Reader { return io.LimitReader(payload.New(1), n) }
	}
	for _, tc := range []struct {
		name      string
		src       func() io.Reader
		chunk     int64
		fill      bool
		w         io.Writer // nil: a recordWriter
		want      []int     // sizes of the writes
		wantN     int64
		wantErr   error // errors.Is
		notErr    error // !errors.Is
		wantInErr string
	}{
		{name: "exact chunks", src: payloadOf(9), chunk: 3, fill: true, want: []int{3, 3, 3}, wantN: 9},
		{name: "short last", src: payloadOf(10), chunk: 3, fill: true, want: []int{3, 3, 3, 1}, wantN: 10},
		{name: "one write", src: payloadOf(10), chunk: 32, fill: true, want: []int{10}, wantN: 10},
		{name: "nothing", src: payloadOf(0), chunk: 8, fill: true, wantN: 0},
		{name: "default chunk", src: payloadOf(DefaultChunk + 1), fill: true, want: []int{DefaultChunk, 1}, wantN: DefaultChunk + 1},
		{name: "negative chunk", src: payloadOf(DefaultChunk + 1), chunk: -1, want: []int{DefaultChunk, 1}, wantN: DefaultChunk + 1},
		{name: "reads as they come", src: func() io.Reader { return iotest.HalfReader(io.LimitReader(payload.New(1), 10)) },
			chunk: 4, want: []int{2, 2, 2, 2, 2}, wantN: 10},
		{name: "fills from short reads", src: func() io.Reader { return iotest.HalfReader(io.LimitReader(payload.New(1), 10)) },
			chunk: 4, fill: true, want: []int{4, 4, 2}, wantN: 10},
		{name: "wrapped EOF ends", src: func() io.Reader { return eofAfter{io.LimitReader(payload.New(1), 5)} }, chunk: 2,
			want: []int{2, 2, 1}, wantN: 5},
		{name: "source fails", src: func() io.Reader { return io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)) },
			chunk: 2, want: []int{2, 1}, wantN: 3, wantErr: ErrReadSource, wantInErr: "reading the data to send: disk on fire"},
		{name: "source fails, filling", src: func() io.Reader { return io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)) },
			chunk: 2, fill: true, want: []int{2, 1}, wantN: 3, wantErr: boom},
		{name: "connection fails", src: payloadOf(10), chunk: 4, w: errWriter{boom}, wantErr: boom, notErr: ErrReadSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rw := &recordWriter{}
			w := tc.w
			if w == nil {
				w = rw
			}
			src := tc.src()
			cfg := &Config{Chunk: tc.chunk, FillChunks: tc.fill}
			n, err := cfg.send(t.Context(), w, src)
			if n != tc.wantN {
				t.Errorf("sent %d bytes, want %d", n, tc.wantN)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("error %v, want %v", err, tc.wantErr)
			case tc.notErr != nil && errors.Is(err, tc.notErr):
				t.Errorf("error %v is %v", err, tc.notErr)
			case tc.wantInErr != "" && (err == nil || err.Error() != tc.wantInErr):
				t.Errorf("error %v, want %q", err, tc.wantInErr)
			}
			if tc.w != nil {
				return
			}
			if diff := cmp.Diff(tc.want, rw.sizes); diff != "" {
				t.Errorf("write sizes (-want +got):\n%s", diff)
			}
			if tc.wantErr == nil && !bytes.Equal(rw.buf.Bytes(), payloadBytes(1, int(tc.wantN))) {
				t.Errorf("wrote other bytes than the source's")
			}
		})
	}
}

// BenchmarkSend measures sending 1 MiB of the payload in 32 KiB writes
// through the hashing writer of Run.
func BenchmarkSend(b *testing.B) {
	cfg := &Config{Chunk: DefaultChunk, FillChunks: true}
	const n = 1 << 20
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		w := hashWriter{w: io.Discard, h: sha256.New()}
		if _, err := cfg.send(context.Background(), w, io.LimitReader(payload.New(1), n)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSendInterrupted: an interrupt during the pause between writes ends
// the send with the context's error, after the writes made so far.
func TestSendInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(25*time.Millisecond, cancel)
		var w recordWriter
		cfg := &Config{Chunk: 4, Interval: 10 * time.Millisecond, FillChunks: true}
		start := time.Now()
		n, err := cfg.send(ctx, &w, io.LimitReader(payload.New(1), 100))
		if !errors.Is(err, context.Canceled) || n != 12 {
			t.Errorf("send = %d, %v; want 12 bytes (at 0, 10 and 20 ms), context.Canceled", n, err)
		}
		if d := time.Since(start); d != 25*time.Millisecond {
			t.Errorf("send returned after %v, want 25ms", d)
		}
	})
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(t.Context(), 0); err != nil || time.Since(start) != 0 {
			t.Errorf("Sleep(0) = %v after %v", err, time.Since(start))
		}
		if err := Sleep(t.Context(), -time.Second); err != nil || time.Since(start) != 0 {
			t.Errorf("Sleep(-1s) = %v after %v", err, time.Since(start))
		}
		if err := Sleep(t.Context(), 30*time.Millisecond); err != nil || time.Since(start) != 30*time.Millisecond {
			t.Errorf("Sleep(30ms) = %v after %v", err, time.Since(start))
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(5*time.Millisecond, cancel)
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) != 35*time.Millisecond {
			t.Errorf("interrupted Sleep = %v after %v", err, time.Since(start))
		}
	})
}

// arrival is one read of the peer: when, since the session started, and
// how many bytes.
type arrival struct {
	At time.Duration
	N  int
}

// peerPlan is what the far end of a pipe does: it reads everything, and
// at the same time writes send, then half-closes (unless noCloseWrite),
// and resets the connection at resetAt (if positive). Having read to the
// end it waits, if holdOpen, for the test's release, and closes.
type peerPlan struct {
	send         []byte
	noCloseWrite bool
	resetAt      time.Duration
	holdOpen     bool
}

// peerSaw is what the far end saw.
type peerSaw struct {
	got      []byte
	arrivals []arrival
	eofAt    time.Duration // when the read ended with io.EOF; -1 if it did not
	readErr  error
}

// runPeer runs plan on c, timing its reads from start. release lets a
// peer with holdOpen close.
func runPeer(c *pipeConn, start time.Time, plan peerPlan) (saw <-chan peerSaw, release func()) {
	done := make(chan peerSaw, 1)
	released := make(chan struct{})
	go func() {
		saw := peerSaw{eofAt: -1}
		rx := make(chan struct{})
		go func() {
			defer close(rx)
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					saw.got = append(saw.got, buf[:n]...)
					saw.arrivals = append(saw.arrivals, arrival{time.Since(start), n})
				}
				if err == io.EOF {
					saw.eofAt = time.Since(start)
				}
				if err != nil {
					if err != io.EOF {
						saw.readErr = err
					}
					return
				}
			}
		}()
		if len(plan.send) > 0 {
			c.Write(plan.send)
		}
		if !plan.noCloseWrite {
			c.CloseWrite()
		}
		if plan.resetAt > 0 {
			time.Sleep(time.Until(start.Add(plan.resetAt)))
			c.Reset()
		}
		<-rx
		if plan.holdOpen {
			<-released
		}
		c.Close()
		done <- saw
	}()
	return done, func() { close(released) }
}

// TestRunTiming runs sessions over an in-memory pipe on synctest's clock:
// --delay, --interval, --chunk, --hold (and its early end on a reset),
// --timeout and interrupts happen at the exact times.
func TestRunTiming(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name         string
		cfg          Config
		sendN        int // bytes of the payload of seed 1 we send
		halfReads    bool
		peer         peerPlan
		cancelAt     time.Duration
		wantArrivals []arrival
		wantEOFAt    time.Duration
		wantDone     time.Duration
		wantErr      string // "" for none; else a substring
		wantReset    bool
	}{
		{name: "delay", cfg: Config{Delay: 50 * ms, Chunk: 1000, FillChunks: true}, sendN: 2500,
			wantArrivals: []arrival{{50 * ms, 1000}, {50 * ms, 1000}, {50 * ms, 500}}, wantEOFAt: 50 * ms, wantDone: 50 * ms},
		{name: "interval", cfg: Config{Chunk: 1000, Interval: 10 * ms, FillChunks: true}, sendN: 3500,
			wantArrivals: []arrival{{0, 1000}, {10 * ms, 1000}, {20 * ms, 1000}, {30 * ms, 500}}, wantEOFAt: 30 * ms, wantDone: 30 * ms},
		{name: "writes what one read gives", cfg: Config{Chunk: 1000}, sendN: 2000, halfReads: true,
			wantArrivals: []arrival{{0, 500}, {0, 500}, {0, 500}, {0, 500}}},
		{name: "whole chunks from short reads", cfg: Config{Chunk: 1000, FillChunks: true}, sendN: 2000, halfReads: true,
			wantArrivals: []arrival{{0, 1000}, {0, 1000}}},
		{name: "hold and expected bytes", cfg: Config{Chunk: 64, Hold: 200 * ms, ExpectBytes: 300, PeerSeed: 2}, sendN: 100,
			peer: peerPlan{send: payloadBytes(2, 300)}, wantArrivals: []arrival{{0, 64}, {0, 36}}, wantEOFAt: 200 * ms, wantDone: 200 * ms},
		{name: "hold outlasts the peer's end of data", cfg: Config{Chunk: 64, Hold: 100 * ms}, sendN: 10,
			peer: peerPlan{send: payloadBytes(2, 10), resetAt: 50 * ms}, wantArrivals: []arrival{{0, 10}}, wantEOFAt: -1, wantDone: 100 * ms},
		{name: "hold ends on a reset", cfg: Config{Chunk: 64, Hold: time.Hour, ExpectReset: true}, sendN: 10,
			peer: peerPlan{noCloseWrite: true, resetAt: 30 * ms}, wantArrivals: []arrival{{0, 10}}, wantEOFAt: -1, wantDone: 30 * ms, wantReset: true},
		{name: "unexpected reset", cfg: Config{Chunk: 64, Hold: time.Hour}, sendN: 10,
			peer: peerPlan{noCloseWrite: true, resetAt: 30 * ms}, wantArrivals: []arrival{{0, 10}}, wantEOFAt: -1, wantDone: 30 * ms,
			wantReset: true, wantErr: "receive: connection reset (test pipe)"},
		{name: "timeout", cfg: Config{Chunk: 64, Timeout: 100 * ms}, sendN: 10,
			peer: peerPlan{noCloseWrite: true, holdOpen: true}, wantArrivals: []arrival{{0, 10}}, wantDone: 100 * ms,
			wantErr: "i/o timeout"},
		{name: "interrupted holding", cfg: Config{Chunk: 64, Hold: time.Hour}, sendN: 10, cancelAt: 40 * ms,
			wantArrivals: []arrival{{0, 10}}, wantEOFAt: 40 * ms, wantDone: 40 * ms, wantErr: "interrupted"},
		{name: "interrupted waiting to send", cfg: Config{Chunk: 64, Delay: time.Hour}, sendN: 10, cancelAt: 10 * ms,
			wantEOFAt: 10 * ms, wantDone: 10 * ms, wantErr: "interrupted"},
		{name: "interrupted between writes", cfg: Config{Chunk: 4, Interval: time.Hour, FillChunks: true}, sendN: 10, cancelAt: 10 * ms,
			wantArrivals: []arrival{{0, 4}}, wantEOFAt: 10 * ms, wantDone: 10 * ms, wantErr: "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ours, theirs := newPipe()
				start := time.Now()
				peer, release := runPeer(theirs, start, tc.peer)
				ctx := t.Context()
				if tc.cancelAt > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					time.AfterFunc(tc.cancelAt, cancel)
				}
				var src io.Reader = io.LimitReader(payload.New(1), int64(tc.sendN))
				if tc.halfReads {
					src = iotest.HalfReader(src)
				}
				cfg := tc.cfg
				if cfg.ExpectBytes == 0 {
					cfg.ExpectBytes = -1
				}
				cfg.IsReset = func(err error) bool { return errors.Is(err, errTestReset) }
				var out bytes.Buffer
				res := Run(ctx, ours, cfg, src, &out)
				done := time.Since(start)
				release()
				saw := <-peer

				if done != tc.wantDone {
					t.Errorf("Run returned after %v, want %v", done, tc.wantDone)
				}
				if diff := cmp.Diff(tc.wantArrivals, saw.arrivals); diff != "" {
					t.Errorf("the peer's reads (-want +got):\n%s", diff)
				}
				if saw.eofAt != tc.wantEOFAt {
					t.Errorf("the peer saw our end of stream at %v, want %v", saw.eofAt, tc.wantEOFAt)
				}
				if tc.wantErr == "" && res.Error != "" || !strings.Contains(res.Error, tc.wantErr) {
					t.Errorf("Error %q, want %q", res.Error, tc.wantErr)
				}
				if res.Reset != tc.wantReset {
					t.Errorf("Reset %v, want %v", res.Reset, tc.wantReset)
				}
				if res.BytesSent != int64(len(saw.got)) || res.SHA256Sent != sha(saw.got) {
					t.Errorf("sent %d bytes, SHA-256 %s; the peer got %d, %s", res.BytesSent, res.SHA256Sent, len(saw.got), sha(saw.got))
				}
				if !bytes.Equal(saw.got, payloadBytes(1, len(saw.got))) {
					t.Errorf("the peer got other bytes than the payload")
				}
				if res.BytesReceived != int64(len(tc.peer.send)) || res.SHA256Received != sha(tc.peer.send) || !bytes.Equal(out.Bytes(), tc.peer.send) {
					t.Errorf("received %d bytes, SHA-256 %s, %d written out; the peer sent %d, %s",
						res.BytesReceived, res.SHA256Received, out.Len(), len(tc.peer.send), sha(tc.peer.send))
				}
			})
		})
	}
}

// noHalfClose hides a connection's CloseWrite.
type noHalfClose struct{ net.Conn }

// TestRunClosing: which of the functions of Config run, in which order,
// for each way a session ends, and what each reports.
func TestRunClosing(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cfg          Config
		hook         bool  // Config.CloseWrite is set
		hideCW       bool  // the connection has no CloseWrite
		cwErr        error // CloseWrite fails with this
		abort        string
		peer         peerPlan
		wantCalls    []string
		wantErr      string
		wantReset    bool
		wantPeerRead error // the peer's read error (errors.Is); nil for io.EOF
	}{
		{name: "graceful", cfg: Config{ExpectBytes: -1}, hook: true, peer: peerPlan{send: []byte("hi")},
			wantCalls: []string{"close write", "drain 300", "before close"}},
		{name: "graceful, own CloseWrite", cfg: Config{ExpectBytes: -1}, cwErr: errors.New("no buffer space"),
			wantCalls: []string{"drain 300", "before close"}, wantErr: "close write: no buffer space"},
		{name: "no half-close", cfg: Config{ExpectBytes: -1}, hideCW: true, peer: peerPlan{noCloseWrite: true},
			wantCalls: []string{"before close"}, wantErr: "close write: the connection cannot half-close"},
		{name: "reset by the peer", cfg: Config{ExpectBytes: -1, Hold: time.Hour}, peer: peerPlan{noCloseWrite: true, resetAt: time.Millisecond},
			wantCalls: []string{"before close"}, wantErr: "receive: connection reset (test pipe)", wantReset: true},
		{name: "fastclose", cfg: Config{ExpectBytes: -1, Fastclose: true}, abort: "reset", peer: peerPlan{noCloseWrite: true},
			wantCalls: []string{"before close", "abort"}, wantPeerRead: errTestReset},
		{name: "fastclose without Abort", cfg: Config{ExpectBytes: -1, Fastclose: true}, peer: peerPlan{noCloseWrite: true},
			wantCalls: []string{"before close"}, wantErr: "fast close: the connection cannot close abortively"},
		{name: "abort that ends our reads", cfg: Config{ExpectBytes: -1, Fastclose: true, AbortEndsReceive: true}, abort: "abort reads",
			peer: peerPlan{noCloseWrite: true}, wantCalls: []string{"before close", "abort"}, wantPeerRead: errTestReset},
		{name: "abort that ends our reads, undeclared", cfg: Config{ExpectBytes: -1, Fastclose: true}, abort: "abort reads",
			peer: peerPlan{noCloseWrite: true}, wantCalls: []string{"before close", "abort"}, wantPeerRead: errTestReset,
			wantErr: "receive: connection reset (test pipe)", wantReset: true},
		{name: "abort reports", cfg: Config{ExpectBytes: -1, Fastclose: true}, abort: "fail", peer: peerPlan{noCloseWrite: true},
			wantCalls: []string{"before close", "abort"}, wantErr: "set SO_LINGER: bad option; close: already closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ours, theirs := newPipe()
				ours.closeWriteErr = tc.cwErr
				peer, release := runPeer(theirs, time.Now(), tc.peer)
				var calls []string
				cfg := tc.cfg
				cfg.Chunk = 100
				cfg.IsReset = func(err error) bool { return errors.Is(err, errTestReset) }
				if tc.hook {
					cfg.CloseWrite = func(report Report) {
						calls = append(calls, "close write")
						report("shutdown", ours.CloseWrite())
					}
				}
				switch tc.abort {
				case "reset":
					cfg.Abort = func(Report) { calls = append(calls, "abort"); ours.Reset() }
				case "abort reads":
					cfg.Abort = func(Report) { calls = append(calls, "abort"); ours.AbortReads() }
				case "fail":
					cfg.Abort = func(report Report) {
						calls = append(calls, "abort")
						report("set SO_LINGER", errors.New("bad option"))
						report("close", errors.New("already closed"))
						ours.Reset()
					}
				}
				cfg.Drain = func(sent int64) { calls = append(calls, fmt.Sprintf("drain %d", sent)) }
				cfg.BeforeClose = func() { calls = append(calls, "before close") }
				var conn net.Conn = ours
				if tc.hideCW {
					conn = noHalfClose{ours}
				}
				res := Run(t.Context(), conn, cfg, io.LimitReader(payload.New(1), 300), nil)
				release()
				saw := <-peer
				if diff := cmp.Diff(tc.wantCalls, calls); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
				if tc.wantErr == "" && res.Error != "" || !strings.Contains(res.Error, tc.wantErr) {
					t.Errorf("Error %q, want %q", res.Error, tc.wantErr)
				}
				if res.Reset != tc.wantReset {
					t.Errorf("Reset %v, want %v", res.Reset, tc.wantReset)
				}
				if !ours.closed.Load() && !ours.reset.Load() {
					t.Error("the connection is still open")
				}
				if tc.wantPeerRead != nil && !errors.Is(saw.readErr, tc.wantPeerRead) {
					t.Errorf("the peer's read ended with %v, want %v", saw.readErr, tc.wantPeerRead)
				}
				if res.BytesReceived != int64(len(tc.peer.send)) {
					t.Errorf("received %d bytes, want %d", res.BytesReceived, len(tc.peer.send))
				}
			})
		})
	}
}

// tcpIsReset is how a reset shows on a kernel socket.
func tcpIsReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (ours, theirs *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		c, _ := ln.AcceptTCP()
		accepted <- c
	}()
	ours, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	theirs = <-accepted
	if theirs == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		ours.Close()
		theirs.Close()
	})
	return ours, theirs
}

// TestRunTCP runs sessions over loopback TCP against a peer that sends
// the payload, another one, too little or too much, closes, or resets
// (SO_LINGER 0) after reading what we sent.
func TestRunTCP(t *testing.T) {
	const k = 1 << 10
	for _, tc := range []struct {
		name       string
		cfg        Config
		sendN      int
		peerSends  []byte
		peerResets bool // after reading sendN bytes
		wantErr    string
		wantReset  bool
	}{
		{name: "both ways", cfg: Config{Chunk: 32 * k, ExpectBytes: 100 * k, PeerSeed: 2}, sendN: 300 * k, peerSends: payloadBytes(2, 100*k)},
		{name: "other seed", cfg: Config{Chunk: k, ExpectBytes: 4 * k, PeerSeed: 2}, sendN: k, peerSends: payloadBytes(9, 4*k),
			wantErr: "received data differs from the payload of seed 2 at byte 0"},
		{name: "short", cfg: Config{Chunk: k, ExpectBytes: 4 * k, PeerSeed: 2}, peerSends: payloadBytes(2, 3*k),
			wantErr: "received 3072 bytes, expected 4096"},
		{name: "long", cfg: Config{Chunk: k, ExpectBytes: 4 * k, PeerSeed: 2}, peerSends: payloadBytes(2, 5*k),
			wantErr: "received 5120 bytes, expected 4096"},
		{name: "hold ends on a reset", cfg: Config{Chunk: k, ExpectBytes: -1, Hold: time.Minute, ExpectReset: true}, sendN: 10 * k,
			peerResets: true, wantReset: true},
		{name: "unexpected reset", cfg: Config{Chunk: k, ExpectBytes: 10, Hold: time.Minute}, sendN: 10 * k,
			peerResets: true, wantReset: true, wantErr: "connection reset by peer"},
		{name: "no reset", cfg: Config{Chunk: k, ExpectBytes: -1, ExpectReset: true}, sendN: 10,
			wantErr: "the peer did not reset the connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := tcpPair(t)
			type peerResult struct {
				got []byte
				err error
			}
			peer := make(chan peerResult, 1)
			go func() {
				var r peerResult
				rx := make(chan struct{})
				go func() {
					defer close(rx)
					if tc.peerResets {
						r.got = make([]byte, tc.sendN)
						_, r.err = io.ReadFull(theirs, r.got)
						return
					}
					r.got, r.err = io.ReadAll(theirs)
				}()
				theirs.Write(tc.peerSends)
				if !tc.peerResets {
					theirs.CloseWrite()
				}
				<-rx
				if tc.peerResets {
					theirs.SetLinger(0)
				}
				theirs.Close()
				peer <- r
			}()
			cfg := tc.cfg
			cfg.IsReset = tcpIsReset
			start := time.Now()
			res := Run(t.Context(), ours, cfg, io.LimitReader(payload.New(1), int64(tc.sendN)), nil)
			p := <-peer
			if tc.wantErr == "" && res.Error != "" || !strings.Contains(res.Error, tc.wantErr) {
				t.Errorf("Error %q, want %q", res.Error, tc.wantErr)
			}
			if res.Reset != tc.wantReset {
				t.Errorf("Reset %v, want %v", res.Reset, tc.wantReset)
			}
			if cfg.Hold > 0 && time.Since(start) >= cfg.Hold {
				t.Errorf("the reset did not end --hold %v", cfg.Hold)
			}
			if p.err != nil || !bytes.Equal(p.got, payloadBytes(1, tc.sendN)) {
				t.Errorf("the peer read %d bytes (%v), want the %d of the payload", len(p.got), p.err, tc.sendN)
			}
			if res.BytesSent != int64(tc.sendN) || res.SHA256Sent != sha(p.got) {
				t.Errorf("sent %d bytes, SHA-256 %s; the peer got %d, %s", res.BytesSent, res.SHA256Sent, len(p.got), sha(p.got))
			}
			if res.BytesReceived != int64(len(tc.peerSends)) || res.SHA256Received != sha(tc.peerSends) {
				t.Errorf("received %d bytes, SHA-256 %s; the peer sent %d, %s", res.BytesReceived, res.SHA256Received, len(tc.peerSends), sha(tc.peerSends))
			}
		})
	}
}

// TestRunTCPFastclose: Abort with SO_LINGER 0 resets a kernel TCP
// connection; the peer sees the reset, and our side reports no error.
func TestRunTCPFastclose(t *testing.T) {
	ours, theirs := tcpPair(t)
	peerErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, theirs)
		peerErr <- err
	}()
	cfg := Config{Chunk: 1 << 10, ExpectBytes: -1, Fastclose: true, IsReset: tcpIsReset}
	var mptcpBefore bool
	cfg.BeforeClose = func() { mptcpBefore, _ = ours.MultipathTCP() }
	cfg.Abort = func(report Report) {
		report("set SO_LINGER", ours.SetLinger(0))
		report("close", ours.Close())
	}
	res := Run(t.Context(), ours, cfg, io.LimitReader(payload.New(1), 4<<10), nil)
	if res.Error != "" || res.Reset || res.BytesSent != 4<<10 {
		t.Errorf("result %+v, want 4096 bytes sent, no error and no reset", res)
	}
	if mptcpBefore {
		t.Error("BeforeClose saw an MPTCP socket on a plain TCP connection")
	}
	if err := <-peerErr; !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the peer's read ended with %v, want ECONNRESET", err)
	}
}
