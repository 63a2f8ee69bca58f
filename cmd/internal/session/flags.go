package session

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/gomptcp/mptcp/interop/payload"
)

// DefaultChunk is the default of --chunk: the most bytes one write call
// takes.
const DefaultChunk = 32 << 10

// Flags are the command-line options shared by the transfer tools: what
// one side of a connection sends, what it expects and how it closes.
type Flags struct {
	SendBytes   int64         // --send-bytes: bytes of the payload of Seed to send; -1 if unset
	SendFile    string        // --send: file whose contents to send ("-": standard input); "" if unset
	Seed        uint64        // --seed: seed of the payload this side sends
	Out         string        // --out: where the peer's bytes go; "" if unset
	ExpectBytes int64         // --expect-bytes: length of the peer's payload of PeerSeed; -1: no check
	PeerSeed    uint64        // --peer-seed: seed of the payload the peer sends
	Chunk       int64         // --chunk: bytes per write call
	Interval    time.Duration // pause between write calls (registered by the tools that pace)
	Delay       time.Duration // --delay: wait before sending
	Hold        time.Duration // --hold: wait after sending, before closing
	Timeout     time.Duration // --timeout: bound on each connection (dial or accept included); 0 for none
	Fastclose   bool          // --fastclose: close abortively
	ExpectReset bool          // --expect-reset: succeed only if the peer resets the connection
	MPTCP       bool          // --mptcp: false for plain TCP
	JSON        bool          // --json: print events as JSON lines
}

// Register adds the shared flags to fs, with their defaults: no data to
// send (SendBytes -1) and none expected (ExpectBytes -1), seeds 1, Chunk
// DefaultChunk, MPTCP on. The usage texts are for flag.PrintDefaults.
func (f *Flags) Register(fs *flag.FlagSet) {
	SizeVar(fs, &f.SendBytes, "send-bytes", -1, "send `N` bytes of the seeded payload (suffixes k, M, G)")
	fs.StringVar(&f.SendFile, "send", "", "send the contents of `FILE` (- for stdin)")
	fs.Uint64Var(&f.Seed, "seed", 1, "`seed` of the payload sent with --send-bytes")
	fs.StringVar(&f.Out, "out", "", "write the received bytes to `FILE`")
	SizeVar(fs, &f.ExpectBytes, "expect-bytes", -1, "fail unless the peer sends exactly `N` bytes of the payload seeded with --peer-seed")
	fs.Uint64Var(&f.PeerSeed, "peer-seed", 1, "`seed` of the payload the peer sends, for --expect-bytes")
	SizeVar(fs, &f.Chunk, "chunk", DefaultChunk, "write at most `N` bytes per write call (suffixes k, M, G)")
	fs.DurationVar(&f.Delay, "delay", 0, "wait `DURATION` after the connection is established before sending")
	fs.DurationVar(&f.Hold, "hold", 0, "keep the connection open for `DURATION` after sending, before closing")
	fs.DurationVar(&f.Timeout, "timeout", 0, "give up on a connection (dial or accept included) after `DURATION`; 0 for never")
	fs.BoolVar(&f.Fastclose, "fastclose", false, "close abortively (SO_LINGER 0) so the kernel sends MP_FASTCLOSE, without waiting for the peer")
	fs.BoolVar(&f.ExpectReset, "expect-reset", false, "succeed only if the peer resets the connection (e.g. with MP_FASTCLOSE)")
	fs.BoolVar(&f.MPTCP, "mptcp", true, "use MPTCP; --mptcp=false uses plain TCP")
	fs.BoolVar(&f.JSON, "json", false, "print events and summaries on stderr as JSON lines")
}

// Check validates the combination of the flags, and returns the first
// problem as an error that names the flags.
func (f *Flags) Check() error {
	if f.SendBytes >= 0 && f.SendFile != "" {
		return errors.New("--send-bytes and --send are mutually exclusive")
	}
	if f.Chunk <= 0 {
		return fmt.Errorf("--chunk %d is not positive", f.Chunk)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--interval", f.Interval}, {"--delay", f.Delay}, {"--hold", f.Hold}, {"--timeout", f.Timeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s %v is negative", d.name, d.v)
		}
	}
	if f.Timeout > 0 && f.Delay+f.Hold >= f.Timeout {
		return fmt.Errorf("--delay %v and --hold %v do not fit in --timeout %v", f.Delay, f.Hold, f.Timeout)
	}
	if f.Fastclose && f.ExpectReset {
		return errors.New("--fastclose and --expect-reset are mutually exclusive")
	}
	return nil
}

// Config returns the connection settings of f. The caller adds its own:
// how to write, and the functions for its kind of connection.
func (f *Flags) Config() Config {
	return Config{
		Delay: f.Delay, Hold: f.Hold, Timeout: f.Timeout, Chunk: f.Chunk, Interval: f.Interval,
		Fastclose: f.Fastclose, ExpectReset: f.ExpectReset, ExpectBytes: f.ExpectBytes, PeerSeed: f.PeerSeed,
	}
}

// Source opens what f says to send on one connection: SendBytes bytes of
// the payload of Seed, the file SendFile, stdin for "-", or nothing (a nil
// reader). release closes what was opened; it is never nil when err is.
func (f *Flags) Source(stdin io.Reader) (r io.Reader, release func() error, err error) {
	none := func() error { return nil }
	switch {
	case f.SendBytes >= 0:
		return io.LimitReader(payload.New(f.Seed), f.SendBytes), none, nil
	case f.SendFile == "-":
		return stdin, none, nil
	case f.SendFile != "":
		file, err := os.Open(f.SendFile)
		if err != nil {
			return nil, nil, err
		}
		return file, file.Close, nil
	}
	return nil, none, nil
}

// sizeValue is a flag.Value for a byte count (ParseSize). A negative
// count, which the flag itself cannot be set to, means "unset" and
// prints as "".
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil || *v.n < 0 {
		return ""
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v sizeValue) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

// SizeVar defines a byte-count flag name on fs, stored in *p with the
// default value (-1 for "unset"); see ParseSize.
func SizeVar(fs *flag.FlagSet, p *int64, name string, value int64, usage string) {
	*p = value
	fs.Var(sizeValue{p}, name, usage)
}

// ParseSize parses a non-negative byte count with an optional binary
// suffix: "1500", "64k" or "64K" (1024), "2m" or "2M" (1024²), "1g" or "1G"
// (1024³).
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty size")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q (want a non-negative integer, optionally with k, M or G)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// ParseInterspersed parses args with fs, allowing positional arguments
// between flags ("connect 10.0.0.1:80 --send-bytes 1k"); a "--" ends the
// flags. parse parses one run of arguments (nil: fs.Parse), so a command
// can turn flag errors into its own. It returns the positional arguments
// in order.
func ParseInterspersed(fs *flag.FlagSet, args []string, parse func(*flag.FlagSet, []string) error) ([]string, error) {
	if parse == nil {
		parse = func(fs *flag.FlagSet, args []string) error { return fs.Parse(args) }
	}
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
