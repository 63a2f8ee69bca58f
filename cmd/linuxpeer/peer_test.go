package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// lineSink collects what a command writes to stderr and forwards each JSON
// line on a channel.
type lineSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLineSink() *lineSink { return &lineSink{lines: make(chan string, 64)} }

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		select {
		case s.lines <- l:
		default:
		}
	}
	return len(p), nil
}

func (s *lineSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// event is the union of the JSON objects linuxpeer prints.
type event struct {
	summary
	Addr    string `json:"addr"`
	Command string `json:"command"`
}

// started is a linuxpeer command running in a goroutine.
type started struct {
	stderr *lineSink
	done   chan int
}

func start(ctx context.Context, args ...string) *started {
	s := &started{stderr: newLineSink(), done: make(chan int, 1)}
	go func() {
		var stdout bytes.Buffer
		s.done <- run(ctx, args, strings.NewReader(""), &stdout, s.stderr)
	}()
	return s
}

// wait returns the exit status and the JSON events printed.
func (s *started) wait(t *testing.T) (int, []event) {
	t.Helper()
	var code int
	select {
	case code = <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("command did not finish")
	}
	var evs []event
	for _, l := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		if l == "" {
			continue
		}
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("stderr line is not JSON: %q", l)
		}
		evs = append(evs, e)
	}
	return code, evs
}

// listenAddr waits for the "listening" event of a started listener.
func (s *started) listenAddr(t *testing.T) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l := <-s.stderr.lines:
			var e event
			if json.Unmarshal([]byte(l), &e) == nil && e.Event == "listening" {
				return e.Addr
			}
		case code := <-s.done:
			t.Fatalf("listener exited with %d: %s", code, s.stderr.String())
		case <-deadline:
			t.Fatal("listener did not report its address")
		}
	}
}

func summaries(t *testing.T, evs []event) []summary {
	t.Helper()
	var out []summary
	for _, e := range evs {
		if e.Event == "summary" {
			out = append(out, e.summary)
		}
	}
	return out
}

// mptcpLoopback skips the test unless the kernel creates MPTCP sockets.
func mptcpLoopback(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	if err != nil {
		t.Skip("no MPTCP in this kernel (/proc/sys/net/mptcp/enabled missing)")
	}
	if strings.TrimSpace(string(b)) != "1" {
		t.Skip("MPTCP is disabled (net.mptcp.enabled=0)")
	}
}

func payloadHash(seed uint64, n int64) string {
	h := sha256.New()
	io.CopyN(h, NewPayload(seed), n)
	return hex.EncodeToString(h.Sum(nil))
}

func TestTransfer(t *testing.T) {
	tests := []struct {
		name      string
		mptcp     bool
		extraL    []string
		extraC    []string
		clientOut bool
	}{
		{name: "mptcp", mptcp: true},
		{name: "mptcp paced", mptcp: true, extraC: []string{"--chunk", "10k", "--interval", "1ms"}},
		{name: "mptcp hold and delay", mptcp: true, extraL: []string{"--delay", "20ms"}, extraC: []string{"--hold", "50ms"}, clientOut: true},
		{name: "plain tcp", mptcp: false, extraL: []string{"--mptcp=false"}, extraC: []string{"--mptcp=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mptcp {
				mptcpLoopback(t)
			}
			dir := t.TempDir()
			srvOut := filepath.Join(dir, "srv.bin")
			cliOut := filepath.Join(dir, "cli.bin")
			ctx := t.Context()
			l := start(ctx, append([]string{"listen", "--addr", "127.0.0.1:0", "--send-bytes", "100k", "--seed", "2",
				"--expect-bytes", "300k", "--peer-seed", "1", "--out", srvOut, "--timeout", "10s", "--json"}, tt.extraL...)...)
			addr := l.listenAddr(t)
			cargs := append([]string{"connect", addr, "--send-bytes", "300k", "--expect-bytes", "100k", "--peer-seed", "2",
				"--timeout", "10s", "--json"}, tt.extraC...)
			if tt.clientOut {
				cargs = append(cargs, "--out", cliOut)
			}
			c := start(ctx, cargs...)
			ccode, cevs := c.wait(t)
			lcode, levs := l.wait(t)
			if ccode != 0 || lcode != 0 {
				t.Fatalf("exit codes: connect %d, listen %d\nconnect: %s\nlisten: %s", ccode, lcode, c.stderr, l.stderr)
			}
			cs, ls := summaries(t, cevs), summaries(t, levs)
			if len(cs) != 1 || len(ls) != 1 {
				t.Fatalf("summaries: %d from connect, %d from listen", len(cs), len(ls))
			}
			want100k, want300k := payloadHash(2, 100<<10), payloadHash(1, 300<<10)
			checks := []struct {
				what      string
				got, want any
			}{
				{"connect bytes_sent", cs[0].BytesSent, int64(300 << 10)},
				{"connect sha256_sent", cs[0].SHA256Sent, want300k},
				{"connect bytes_received", cs[0].BytesReceived, int64(100 << 10)},
				{"connect sha256_received", cs[0].SHA256Received, want100k},
				{"listen bytes_received", ls[0].BytesReceived, int64(300 << 10)},
				{"listen sha256_received", ls[0].SHA256Received, want300k},
				{"listen sha256_sent", ls[0].SHA256Sent, want100k},
				{"connect mptcp_at_start", cs[0].MPTCPAtStart, tt.mptcp},
				{"connect mptcp", cs[0].MPTCP, tt.mptcp},
				{"listen mptcp_at_start", ls[0].MPTCPAtStart, tt.mptcp},
				{"listen mptcp", ls[0].MPTCP, tt.mptcp},
				{"connect local", cs[0].Local, ls[0].Remote},
				{"connect role", cs[0].Role, "connect"},
				{"listen role", ls[0].Role, "listen"},
				{"connect reset", cs[0].Reset, false},
			}
			for _, ck := range checks {
				if ck.got != ck.want {
					t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
				}
			}
			got, err := os.ReadFile(srvOut)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, 300<<10)
			NewPayload(1).Read(want)
			if !bytes.Equal(got, want) {
				t.Errorf("--out file of listen holds %d bytes that differ from the payload", len(got))
			}
			if tt.clientOut {
				got, err := os.ReadFile(cliOut)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]byte, 100<<10)
				NewPayload(2).Read(want)
				if !bytes.Equal(got, want) {
					t.Errorf("--out file of connect differs from the payload")
				}
			}
		})
	}
}

func TestListenerReportsProtocol(t *testing.T) {
	for _, mp := range []bool{true, false} {
		if mp {
			mptcpLoopback(t)
		}
		ctx, cancel := context.WithCancel(t.Context())
		l := start(ctx, "listen", "--addr", "127.0.0.1:0", "--count", "0", "--json", "--mptcp="+map[bool]string{true: "true", false: "false"}[mp])
		l.listenAddr(t)
		cancel()
		code, evs := l.wait(t)
		if code != 0 {
			t.Fatalf("listen --count 0 interrupted: exit %d, want 0: %s", code, l.stderr)
		}
		if len(evs) != 1 || evs[0].Event != "listening" || evs[0].MPTCP != mp {
			t.Errorf("mptcp=%t: events %+v, want one listening event with mptcp %t", mp, evs, mp)
		}
	}
}

func TestFastclose(t *testing.T) {
	mptcpLoopback(t)
	ctx := t.Context()
	l := start(ctx, "listen", "--addr", "127.0.0.1:0", "--send-bytes", "10k", "--hold", "5s", "--expect-reset", "--timeout", "10s", "--json")
	addr := l.listenAddr(t)
	c := start(ctx, "connect", addr, "--send-bytes", "10k", "--hold", "100ms", "--fastclose", "--timeout", "10s", "--json")
	ccode, cevs := c.wait(t)
	begin := time.Now()
	lcode, levs := l.wait(t)
	if ccode != 0 || lcode != 0 {
		t.Fatalf("exit codes: connect %d, listen %d\nconnect: %s\nlisten: %s", ccode, lcode, c.stderr, l.stderr)
	}
	cs, ls := summaries(t, cevs), summaries(t, levs)
	if !cs[0].Fastclose || cs[0].Error != "" {
		t.Errorf("connect summary %+v, want fastclose without error", cs[0])
	}
	if !ls[0].Reset {
		t.Errorf("listen summary %+v, want reset", ls[0])
	}
	if ls[0].BytesReceived != 10<<10 {
		t.Errorf("listen received %d bytes before the reset, want %d", ls[0].BytesReceived, 10<<10)
	}
	// The reset ends the listener's --hold early.
	if d := time.Since(begin); d > 4*time.Second {
		t.Errorf("listener took %v after the client ended; the reset should end --hold", d)
	}
}

func TestExpectResetWithoutReset(t *testing.T) {
	ctx := t.Context()
	l := start(ctx, "listen", "--addr", "127.0.0.1:0", "--expect-reset", "--mptcp=false", "--timeout", "10s", "--json")
	addr := l.listenAddr(t)
	c := start(ctx, "connect", addr, "--send-bytes", "1k", "--mptcp=false", "--timeout", "10s", "--json")
	if code, _ := c.wait(t); code != 0 {
		t.Fatalf("connect exit %d: %s", code, c.stderr)
	}
	code, evs := l.wait(t)
	if code != 1 {
		t.Fatalf("listen exit %d, want 1", code)
	}
	s := summaries(t, evs)
	if len(s) != 1 || !strings.Contains(s[0].Error, "did not reset") {
		t.Errorf("summaries %+v, want one with a 'did not reset' error", s)
	}
	if n := strings.Count(l.stderr.String(), "\n"); n != 2 {
		t.Errorf("listen printed %d lines, want 2 (listening, summary):\n%s", n, l.stderr)
	}
}

func TestExpectBytesMismatch(t *testing.T) {
	tests := []struct {
		name   string
		cargs  []string
		errSub string
	}{
		{"other seed", []string{"--send-bytes", "4k", "--seed", "9"}, "differs from the payload of seed 1 at byte 0"},
		{"short", []string{"--send-bytes", "3k"}, "received 3072 bytes, expected 4096"},
		{"long", []string{"--send-bytes", "5k"}, "received 5120 bytes, expected 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			l := start(ctx, "listen", "--addr", "127.0.0.1:0", "--expect-bytes", "4k", "--mptcp=false", "--timeout", "10s", "--json")
			addr := l.listenAddr(t)
			c := start(ctx, append([]string{"connect", addr, "--mptcp=false", "--timeout", "10s", "--json"}, tt.cargs...)...)
			if code, _ := c.wait(t); code != 0 {
				t.Fatalf("connect exit %d: %s", code, c.stderr)
			}
			code, evs := l.wait(t)
			s := summaries(t, evs)
			if code != 1 || len(s) != 1 || !strings.Contains(s[0].Error, tt.errSub) {
				t.Errorf("exit %d, summaries %+v; want exit 1 and an error containing %q", code, s, tt.errSub)
			}
		})
	}
}

func TestSendFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.txt")
	content := []byte(strings.Repeat("gomptcp linuxpeer\n", 500))
	if err := os.WriteFile(src, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.txt")
	ctx := t.Context()
	l := start(ctx, "listen", "--addr", "127.0.0.1:0", "--out", out, "--mptcp=false", "--timeout", "10s", "--json")
	addr := l.listenAddr(t)
	c := start(ctx, "connect", addr, "--send", src, "--chunk", "1000", "--mptcp=false", "--timeout", "10s", "--json")
	if code, _ := c.wait(t); code != 0 {
		t.Fatalf("connect exit %d: %s", code, c.stderr)
	}
	if code, _ := l.wait(t); code != 0 {
		t.Fatalf("listen exit %d: %s", code, l.stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("received %d bytes, want the %d bytes of the file", len(got), len(content))
	}
}

func TestListenCount(t *testing.T) {
	ctx := t.Context()
	l := start(ctx, "listen", "--addr", "127.0.0.1:0", "--count", "3", "--send-bytes", "1k", "--mptcp=false", "--timeout", "10s", "--json")
	addr := l.listenAddr(t)
	for i := range 3 {
		c := start(ctx, "connect", addr, "--expect-bytes", "1k", "--mptcp=false", "--timeout", "10s", "--json")
		if code, _ := c.wait(t); code != 0 {
			t.Fatalf("connection %d: exit %d: %s", i, code, c.stderr)
		}
	}
	code, evs := l.wait(t)
	if code != 0 {
		t.Fatalf("listen exit %d: %s", code, l.stderr)
	}
	if n := len(summaries(t, evs)); n != 3 {
		t.Errorf("%d summaries, want 3", n)
	}
}

func TestRunErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	tests := []struct {
		name string
		args []string
		want string // substring of the single stderr line
	}{
		{"no command", nil, "usage:"},
		{"unknown command", []string{"serve"}, `unknown command "serve"`},
		{"bad flag", []string{"listen", "--nope"}, "linuxpeer listen: flag provided but not defined: -nope"},
		{"missing address", []string{"connect"}, "linuxpeer connect: missing ADDR:PORT"},
		{"refused", []string{"connect", closed, "--mptcp=false"}, "connection refused"},
		{"refused json", []string{"connect", closed, "--mptcp=false", "--json"}, `{"event":"error","command":"connect","error":"dial tcp`},
		{"send file missing", []string{"connect", closed, "--send", "/nonexistent/file"}, "no such file"},
		{"address in use", []string{"listen", "--addr", busy.Addr().String(), "--timeout", "1s"}, "address already in use"},
		{"accept timeout", []string{"listen", "--addr", "127.0.0.1:0", "--timeout", "50ms", "--mptcp=false"}, "accept: "},
		{"stdin with count", []string{"listen", "--send", "-", "--count", "2"}, "needs --count 1"},
		{"gen without bytes", []string{"gen"}, "--bytes is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			out := stderr.String()
			if tt.name != "no command" {
				if lines := strings.Count(out, "\n"); lines != 1 && !strings.Contains(out, "listening") {
					t.Errorf("stderr has %d lines, want 1:\n%s", lines, out)
				}
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", out, tt.want)
			}
		})
	}
}

func TestRunHelpAndGen(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"help"}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "linuxpeer connect") {
		t.Errorf("help: exit %d, stdout %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"connect", "-h"}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "-fastclose") {
		t.Errorf("connect -h: exit %d, stdout %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"gen", "--bytes", "100", "--seed", "5"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gen: exit %d: %s", code, stderr.String())
	}
	want := make([]byte, 100)
	NewPayload(5).Read(want)
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Errorf("gen wrote %x, want %x", stdout.Bytes(), want)
	}
}

func TestInterruptedConnection(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l := start(t.Context(), "listen", "--addr", "127.0.0.1:0", "--hold", "300ms", "--mptcp=false", "--json")
	addr := l.listenAddr(t)
	c := start(ctx, "connect", addr, "--hold", "5s", "--mptcp=false", "--json")
	time.Sleep(100 * time.Millisecond) // let the connection come up
	cancel()
	code, evs := c.wait(t)
	if code != 1 {
		t.Errorf("interrupted connect: exit %d, want 1", code)
	}
	if s := summaries(t, evs); len(s) != 1 || !strings.Contains(s[0].Error, "interrupted") {
		t.Errorf("summaries %+v, want one with an 'interrupted' error", s)
	}
	l.wait(t)
}
