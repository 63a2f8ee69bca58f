package session

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string // "" for success; else a substring
	}{
		{"0", 0, ""},
		{"1", 1, ""},
		{"1500", 1500, ""},
		{"64k", 64 << 10, ""},
		{"64K", 64 << 10, ""},
		{"2m", 2 << 20, ""},
		{"20M", 20 << 20, ""},
		{"2g", 2 << 30, ""},
		{"3G", 3 << 30, ""},
		{"9223372036854775807", 1<<63 - 1, ""},
		{"8589934591G", 8589934591 << 30, ""},
		{"", 0, "empty size"},
		{"k", 0, "invalid size"},
		{"-1", 0, "invalid size"},
		{"-5k", 0, "invalid size"},
		{"+5", 5, ""},
		{"1.5k", 0, "invalid size"},
		{"1.5M", 0, "invalid size"},
		{"10x", 0, "invalid size"},
		{"1T", 0, "invalid size"},
		{" 1", 0, "invalid size"},
		{"9223372036854775808", 0, "invalid size"},
		{"9223372036854775807k", 0, "too large"},
		{"8589934592G", 0, "too large"},
	} {
		got, err := ParseSize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSize(%q) = %d, %v; want an error saying %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "1500", "64k", "2M", "3g", "", "k", "-1", "1.5k", "9223372036854775807k", "+7", "08"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseSize(%q) failed with %d", s, n)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		// The value reads back in its plain form, and a suffix is a
		// binary multiple.
		if back, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d, which reads back as %d, %v", s, n, back, err)
		}
		mult := map[byte]int64{'k': 1 << 10, 'K': 1 << 10, 'm': 1 << 20, 'M': 1 << 20, 'g': 1 << 30, 'G': 1 << 30}[s[len(s)-1]]
		if mult != 0 && n%mult != 0 {
			t.Fatalf("ParseSize(%q) = %d, not a multiple of %d", s, n, mult)
		}
	})
}

// parseFlags parses args with the shared flags and --interval, as
// linuxpeer registers them, and checks them.
func parseFlags(args []string) (Flags, []string, error) {
	var f Flags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	fs.DurationVar(&f.Interval, "interval", 0, "")
	pos, err := ParseInterspersed(fs, args, nil)
	if err == nil {
		err = f.Check()
	}
	return f, pos, err
}

func TestFlags(t *testing.T) {
	defaults := Flags{SendBytes: -1, ExpectBytes: -1, Seed: 1, PeerSeed: 1, Chunk: DefaultChunk, MPTCP: true}
	for _, tc := range []struct {
		name string
		args []string
		want func(f *Flags)
		err  string // "" for success; else a substring
	}{
		{name: "defaults", want: func(*Flags) {}},
		{name: "every flag", args: []string{"--send-bytes", "2k", "--seed", "9", "--out", "o.bin", "--expect-bytes", "1M",
			"--peer-seed", "4", "--chunk", "100", "--interval", "5ms", "--delay", "1s", "--hold", "2s", "--timeout", "10s",
			"--expect-reset", "--mptcp=false", "--json"}, want: func(f *Flags) {
			f.SendBytes, f.Seed, f.Out, f.ExpectBytes, f.PeerSeed = 2048, 9, "o.bin", 1<<20, 4
			f.Chunk, f.Interval, f.Delay, f.Hold, f.Timeout = 100, 5*time.Millisecond, time.Second, 2*time.Second, 10*time.Second
			f.ExpectReset, f.MPTCP, f.JSON = true, false, true
		}},
		{name: "single dashes", args: []string{"-send", "-", "-fastclose", "-chunk=1"}, want: func(f *Flags) {
			f.SendFile, f.Fastclose, f.Chunk = "-", true, 1
		}},
		{name: "zero bytes", args: []string{"--send-bytes", "0", "--expect-bytes", "0"}, want: func(f *Flags) {
			f.SendBytes, f.ExpectBytes = 0, 0
		}},
		{name: "delay and hold within the timeout", args: []string{"--delay", "1s", "--hold", "1s", "--timeout", "2001ms"}, want: func(f *Flags) {
			f.Delay, f.Hold, f.Timeout = time.Second, time.Second, 2001*time.Millisecond
		}},
		{name: "both sources", args: []string{"--send-bytes", "1", "--send", "x"}, err: "--send-bytes and --send are mutually exclusive"},
		{name: "bad size", args: []string{"--send-bytes", "lots"}, err: `invalid value "lots" for flag -send-bytes: invalid size`},
		{name: "negative size", args: []string{"--expect-bytes", "-5"}, err: "invalid size"},
		{name: "size too large", args: []string{"--chunk", "99999999999G"}, err: "too large"},
		{name: "zero chunk", args: []string{"--chunk", "0"}, err: "--chunk 0 is not positive"},
		{name: "negative interval", args: []string{"--interval", "-1s"}, err: "--interval -1s is negative"},
		{name: "negative delay", args: []string{"--delay", "-1s"}, err: "--delay -1s is negative"},
		{name: "negative hold", args: []string{"--hold", "-1ms"}, err: "--hold -1ms is negative"},
		{name: "negative timeout", args: []string{"--timeout", "-1s"}, err: "--timeout -1s is negative"},
		{name: "hold beyond the timeout", args: []string{"--hold", "2s", "--timeout", "1s"}, err: "--delay 0s and --hold 2s do not fit in --timeout 1s"},
		{name: "delay and hold fill the timeout", args: []string{"--delay", "1s", "--hold", "1s", "--timeout", "2s"}, err: "do not fit"},
		{name: "fastclose and expect-reset", args: []string{"--fastclose", "--expect-reset"}, err: "--fastclose and --expect-reset are mutually exclusive"},
		{name: "bad seed", args: []string{"--seed", "-3"}, err: "invalid"},
		{name: "unknown flag", args: []string{"--bogus"}, err: "flag provided but not defined: -bogus"},
		{name: "help", args: []string{"-h"}, err: "help requested"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := parseFlags(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestFlagsUsage: flag.PrintDefaults shows the defaults that mean
// something (a chunk size) and not the "unset" -1 of the byte counts.
func TestFlagsUsage(t *testing.T) {
	var f Flags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var b strings.Builder
	fs.SetOutput(&b)
	f.Register(fs)
	fs.PrintDefaults()
	for _, want := range []string{"-send-bytes N", "-chunk N", "(default 32768)", "-mptcp", "(default true)", "-expect-reset", "-peer-seed seed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "-1") {
		t.Errorf("usage shows an unset -1:\n%s", b.String())
	}
}

func TestParseInterspersed(t *testing.T) {
	errWrapped := errors.New("wrapped")
	for _, tc := range []struct {
		name string
		args []string
		wrap bool // parse through a function that wraps errors
		want []string
		json bool
		err  error
	}{
		{name: "none", args: nil},
		{name: "flags only", args: []string{"--json"}, json: true},
		{name: "first", args: []string{"h:1", "--json"}, want: []string{"h:1"}, json: true},
		{name: "last", args: []string{"--json", "h:1"}, want: []string{"h:1"}, json: true},
		{name: "between", args: []string{"--seed", "3", "a", "--json", "b"}, want: []string{"a", "b"}, json: true},
		{name: "after double dash", args: []string{"--json", "--", "--seed", "x"}, want: []string{"--seed", "x"}, json: true},
		{name: "double dash after positional", args: []string{"a", "--", "--json"}, want: []string{"a", "--json"}},
		{name: "error", args: []string{"a", "--nope"}, err: errWrapped, wrap: true},
		{name: "help", args: []string{"a", "-h"}, err: flag.ErrHelp, wrap: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f Flags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.Register(fs)
			var parse func(*flag.FlagSet, []string) error
			if tc.wrap {
				parse = func(fs *flag.FlagSet, args []string) error {
					err := fs.Parse(args)
					if err != nil && !errors.Is(err, flag.ErrHelp) {
						return fmt.Errorf("%w: %v", errWrapped, err)
					}
					return err
				}
			}
			pos, err := ParseInterspersed(fs, tc.args, parse)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, pos); diff != "" {
				t.Errorf("positional arguments (-want +got):\n%s", diff)
			}
			if f.JSON != tc.json {
				t.Errorf("--json %v, want %v", f.JSON, tc.json)
			}
		})
	}
}

func TestFlagsConfig(t *testing.T) {
	f := Flags{SendBytes: 5, SendFile: "x", Seed: 2, Out: "o", ExpectBytes: 7, PeerSeed: 3, Chunk: 11, Interval: 1,
		Delay: 2, Hold: 3, Timeout: 4, Fastclose: true, ExpectReset: true, MPTCP: true, JSON: true}
	want := Config{Delay: 2, Chunk: 11, Interval: 1, Hold: 3, Timeout: 4, Fastclose: true, ExpectReset: true, ExpectBytes: 7, PeerSeed: 3}
	if diff := cmp.Diff(want, f.Config()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(file, []byte("from the file"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdin := strings.NewReader("from stdin")
	for _, tc := range []struct {
		name string
		f    Flags
		want []byte // nil: no source
		err  error
	}{
		{name: "payload", f: Flags{SendBytes: 1000, Seed: 7}, want: payloadBytes(7, 1000)},
		{name: "empty payload", f: Flags{SendBytes: 0, Seed: 7}, want: []byte{}},
		{name: "stdin", f: Flags{SendBytes: -1, SendFile: "-"}, want: []byte("from stdin")},
		{name: "file", f: Flags{SendBytes: -1, SendFile: file}, want: []byte("from the file")},
		{name: "missing file", f: Flags{SendBytes: -1, SendFile: filepath.Join(dir, "nope")}, err: os.ErrNotExist},
		{name: "nothing", f: Flags{SendBytes: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, release, err := tc.f.Source(stdin)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if r != nil {
					t.Errorf("source %v, want none", r)
				}
			} else {
				got, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Errorf("read %q, %v; want %q", got, err, tc.want)
				}
			}
			if err := release(); err != nil {
				t.Errorf("release: %v", err)
			}
			if f, ok := r.(*os.File); ok {
				if _, err := f.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
					t.Errorf("the file is still open after release: %v", err)
				}
			}
		})
	}
}

// FuzzFlags feeds arbitrary command lines (NUL-separated) to the shared
// flags: no panic, and what Check accepts is consistent.
func FuzzFlags(f *testing.F) {
	for _, s := range []string{
		"--send-bytes\x001k\x00--hold\x001s\x00h:1",
		"--send\x00-\x00--chunk\x0064k\x00--interval\x005ms",
		"--timeout\x001s\x00--delay\x00999ms",
		"--expect-bytes\x009223372036854775807k",
		"--fastclose\x00--\x00--expect-reset",
		"--mptcp=false\x00--json\x00--seed\x0018446744073709551615",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		o, _, err := parseFlags(strings.Split(line, "\x00"))
		if err != nil {
			return
		}
		if o.SendBytes < -1 || o.ExpectBytes < -1 || o.Chunk <= 0 || o.Interval < 0 || o.Delay < 0 || o.Hold < 0 || o.Timeout < 0 {
			t.Fatalf("accepted out-of-range flags %+v", o)
		}
		if o.SendBytes >= 0 && o.SendFile != "" || o.Fastclose && o.ExpectReset {
			t.Fatalf("accepted exclusive flags %+v", o)
		}
		if o.Timeout > 0 && o.Delay+o.Hold >= o.Timeout {
			t.Fatalf("accepted delay %v + hold %v >= timeout %v", o.Delay, o.Hold, o.Timeout)
		}
	})
}
