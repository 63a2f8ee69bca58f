package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/cmd/internal/session"
)

var allowConfigs = cmp.AllowUnexported(listenConfig{}, connectConfig{}, genConfig{})

// defaults returns the session options when no flag is given.
func defaults() session.Flags {
	return session.Flags{SendBytes: -1, ExpectBytes: -1, Seed: 1, PeerSeed: 1, Chunk: session.DefaultChunk, MPTCP: true}
}

func TestParseListen(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(c *listenConfig)
		err  string
	}{
		{name: "defaults", args: nil, want: func(c *listenConfig) {}},
		{
			name: "all flags",
			args: []string{"--addr", "[::1]:0", "--count", "3", "--send-bytes", "2k", "--seed", "9", "--out", "/tmp/x",
				"--expect-bytes", "1M", "--peer-seed", "4", "--chunk", "100", "--interval", "5ms", "--delay", "1s",
				"--hold", "2s", "--timeout", "10s", "--expect-reset", "--mptcp=false", "--json"},
			want: func(c *listenConfig) {
				c.addr, c.count = "[::1]:0", 3
				c.SendBytes, c.Seed, c.Out = 2048, 9, "/tmp/x"
				c.ExpectBytes, c.PeerSeed = 1<<20, 4
				c.Chunk, c.Interval, c.Delay, c.Hold, c.Timeout = 100, 5*time.Millisecond, time.Second, 2*time.Second, 10*time.Second
				c.ExpectReset, c.MPTCP, c.JSON = true, false, true
			},
		},
		{name: "single dash", args: []string{"-addr", "127.0.0.1:80", "-fastclose"}, want: func(c *listenConfig) {
			c.addr, c.Fastclose = "127.0.0.1:80", true
		}},
		{name: "count 0 serves forever", args: []string{"--count=0"}, want: func(c *listenConfig) { c.count = 0 }},
		{name: "send file", args: []string{"--send", "f.bin"}, want: func(c *listenConfig) { c.SendFile = "f.bin" }},
		{name: "positional", args: []string{"1.2.3.4:5"}, err: `unexpected argument "1.2.3.4:5"`},
		{name: "unknown flag", args: []string{"--bogus"}, err: "not defined"},
		{name: "negative count", args: []string{"--count", "-1"}, err: "negative"},
		{name: "bad addr", args: []string{"--addr", "nope"}, err: "want ADDR:PORT"},
		{name: "bad port", args: []string{"--addr", ":99999"}, err: "bad port"},
		{name: "both sources", args: []string{"--send-bytes", "1", "--send", "x"}, err: "mutually exclusive"},
		{name: "bad size", args: []string{"--send-bytes", "lots"}, err: "invalid size"},
		{name: "zero chunk", args: []string{"--chunk", "0"}, err: "not positive"},
		{name: "negative hold", args: []string{"--hold", "-1s"}, err: "negative"},
		{name: "negative delay", args: []string{"--delay", "-1s"}, err: "negative"},
		{name: "negative interval", args: []string{"--interval", "-1s"}, err: "negative"},
		{name: "negative timeout", args: []string{"--timeout", "-1s"}, err: "negative"},
		{name: "hold beyond timeout", args: []string{"--hold", "2s", "--timeout", "1s"}, err: "do not fit"},
		{name: "fastclose and expect-reset", args: []string{"--fastclose", "--expect-reset"}, err: "mutually exclusive"},
		{name: "bad seed", args: []string{"--seed", "-3"}, err: "invalid"},
		{name: "help", args: []string{"-h"}, err: "help requested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseListen(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseListen(%q) error = %v, want one containing %q", tt.args, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseListen(%q): %v", tt.args, err)
			}
			want := &listenConfig{Flags: defaults(), addr: defaultListenAddr, count: 1}
			tt.want(want)
			if diff := cmp.Diff(want, got, allowConfigs); diff != "" {
				t.Errorf("parseListen(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseConnect(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(c *connectConfig)
		err  string
	}{
		{name: "address first", args: []string{"10.0.0.1:80", "--send-bytes", "1k", "--local", "10.0.0.2"}, want: func(c *connectConfig) {
			c.addr, c.SendBytes, c.local = "10.0.0.1:80", 1024, "10.0.0.2"
		}},
		{name: "address last", args: []string{"--fastclose", "--hold", "1s", "[2001:db8::1]:443"}, want: func(c *connectConfig) {
			c.addr, c.Fastclose, c.Hold = "[2001:db8::1]:443", true, time.Second
		}},
		{name: "address between flags", args: []string{"--json", "h:1", "--seed", "3"}, want: func(c *connectConfig) {
			c.addr, c.JSON, c.Seed = "h:1", true, 3
		}},
		{name: "after double dash", args: []string{"--json", "--", "h:2"}, want: func(c *connectConfig) {
			c.addr, c.JSON = "h:2", true
		}},
		{name: "local with port", args: []string{"h:2", "--local", "[::1]:5000"}, want: func(c *connectConfig) {
			c.addr, c.local = "h:2", "[::1]:5000"
		}},
		{name: "missing address", args: []string{"--json"}, err: "missing ADDR:PORT"},
		{name: "two addresses", args: []string{"h:1", "h:2"}, err: `unexpected argument "h:2"`},
		{name: "double dash keeps flags positional", args: []string{"h:1", "--", "--json"}, err: `unexpected argument "--json"`},
		{name: "no port", args: []string{"10.0.0.1"}, err: "want ADDR:PORT"},
		{name: "port zero", args: []string{"10.0.0.1:0"}, err: "port 0"},
		{name: "no host", args: []string{":80"}, err: "missing address"},
		{name: "bad local", args: []string{"h:1", "--local", "host.example"}, err: "--local"},
		{name: "expect-bytes bad", args: []string{"h:1", "--expect-bytes", "-5"}, err: "invalid size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConnect(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseConnect(%q) error = %v, want one containing %q", tt.args, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConnect(%q): %v", tt.args, err)
			}
			want := &connectConfig{Flags: defaults()}
			tt.want(want)
			if diff := cmp.Diff(want, got, allowConfigs); diff != "" {
				t.Errorf("parseConnect(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseGen(t *testing.T) {
	got, err := parseGen([]string{"--bytes", "4k", "--seed", "12"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&genConfig{bytes: 4096, seed: 12}, got, allowConfigs); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	for _, args := range [][]string{nil, {"--seed", "1"}, {"--bytes", "1", "extra"}, {"--bytes", "x"}} {
		if _, err := parseGen(args); err == nil {
			t.Errorf("parseGen(%q) succeeded, want an error", args)
		}
	}
}

func TestParseLocal(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"10.1.2.3", "10.1.2.3:0", true},
		{"10.1.2.3:99", "10.1.2.3:99", true},
		{"2001:db8::5", "[2001:db8::5]:0", true},
		{"[2001:db8::5]:7", "[2001:db8::5]:7", true},
		{"localhost", "", false},
		{"10.1.2.3:x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		a, err := parseLocal(tt.in)
		if !tt.ok {
			if err == nil {
				t.Errorf("parseLocal(%q) = %v, want an error", tt.in, a)
			}
			continue
		}
		if err != nil || a.String() != tt.want {
			t.Errorf("parseLocal(%q) = %v, %v; want %s", tt.in, a, err, tt.want)
		}
	}
}

// FuzzParseArgs feeds arbitrary command lines (NUL-separated) to the
// parsers: they must not panic, and what they accept must be consistent.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"listen\x00--addr\x00:7000\x00--count\x002",
		"connect\x0010.0.0.1:80\x00--send-bytes\x001k\x00--hold\x001s",
		"connect\x00--\x00[::1]:1",
		"gen\x00--bytes\x0010\x00--seed\x003",
		"listen\x00--send-bytes\x009223372036854775807k",
		"connect\x00h:1\x00--timeout\x001s\x00--delay\x00999ms",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		var o *session.Flags
		switch args[0] {
		case "listen":
			c, err := parseListen(args[1:])
			if err != nil {
				return
			}
			if c.count < 0 {
				t.Fatalf("accepted --count %d", c.count)
			}
			if _, _, err := net.SplitHostPort(c.addr); err != nil {
				t.Fatalf("accepted --addr %q: %v", c.addr, err)
			}
			o = &c.Flags
		case "connect":
			c, err := parseConnect(args[1:])
			if err != nil {
				return
			}
			host, port, err := net.SplitHostPort(c.addr)
			if err != nil || host == "" {
				t.Fatalf("accepted address %q", c.addr)
			}
			if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
				t.Fatalf("accepted port %q", port)
			}
			if c.local != "" {
				if _, err := parseLocal(c.local); err != nil {
					t.Fatalf("accepted --local %q: %v", c.local, err)
				}
			}
			o = &c.Flags
		case "gen":
			c, err := parseGen(args[1:])
			if err == nil && c.bytes < 0 {
				t.Fatalf("accepted --bytes %d", c.bytes)
			}
			return
		default:
			return
		}
		if o.SendBytes < -1 || o.ExpectBytes < -1 || o.Chunk <= 0 || o.Hold < 0 || o.Delay < 0 ||
			o.Interval < 0 || o.Timeout < 0 {
			t.Fatalf("accepted out-of-range options %+v", *o)
		}
		if o.SendBytes >= 0 && o.SendFile != "" {
			t.Fatal("accepted --send-bytes with --send")
		}
		if o.Fastclose && o.ExpectReset {
			t.Fatal("accepted --fastclose with --expect-reset")
		}
		if o.Timeout > 0 && o.Delay+o.Hold >= o.Timeout {
			t.Fatalf("accepted delay %v + hold %v >= timeout %v", o.Delay, o.Hold, o.Timeout)
		}
	})
}

func TestFlagUsageListsFlags(t *testing.T) {
	for _, tt := range []struct {
		cmd  string
		want []string
	}{
		{"listen", []string{"-addr", "-count", "-send-bytes", "-fastclose", "-hold", "-json", "-mptcp"}},
		{"connect", []string{"-local", "-send", "-expect-reset", "-delay", "-chunk", "-interval"}},
		{"gen", []string{"-bytes", "-seed"}},
	} {
		var b strings.Builder
		flagUsage(tt.cmd, &b)
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("usage of %s lacks %s:\n%s", tt.cmd, w, b.String())
			}
		}
	}
	var b strings.Builder
	flagUsage("nope", &b)
	if b.Len() != 0 {
		t.Errorf("usage of an unknown command = %q, want nothing", b.String())
	}
}
