package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultListenAddr is the address listen binds when --addr is not given.
	defaultListenAddr = ":7000"
	// defaultChunk is the default size of one write call.
	defaultChunk = 32 << 10
)

// errHelp is returned by the parsers when -h or --help was given.
var errHelp = flag.ErrHelp

// sessionOptions are the flags shared by listen and connect: what one side
// of a connection sends, checks and how it closes.
type sessionOptions struct {
	sendBytes   int64         // bytes of Payload(seed) to send; -1 if --send-bytes is unset
	sendFile    string        // file whose contents to send ("-" is stdin); "" if unset
	seed        uint64        // seed of the payload this side sends
	out         string        // file receiving the peer's bytes; "" for none
	expectBytes int64         // expected length of the peer's Payload(peerSeed); -1 for no check
	peerSeed    uint64        // seed of the payload the peer sends
	chunk       int64         // bytes per write
	interval    time.Duration // pause between writes
	delay       time.Duration // wait before sending
	hold        time.Duration // wait after sending, before closing
	timeout     time.Duration // bound on each connection (and on dial/accept); 0 for none
	fastclose   bool
	expectReset bool
	mptcp       bool
	json        bool
}

// listenConfig is the parsed command line of "linuxpeer listen".
type listenConfig struct {
	sessionOptions
	addr  string
	count int // connections to serve; 0 serves until interrupted
}

// connectConfig is the parsed command line of "linuxpeer connect".
type connectConfig struct {
	sessionOptions
	addr  string
	local string // local IP or IP:port to bind; "" lets the kernel choose
}

// genConfig is the parsed command line of "linuxpeer gen".
type genConfig struct {
	bytes int64
	seed  uint64
}

// sizeValue is a flag.Value for a byte count with an optional binary
// suffix: k/K (1024), m/M (1024²) or g/G (1024³).
type sizeValue struct {
	n *int64
}

func (v *sizeValue) String() string {
	if v == nil || v.n == nil || *v.n < 0 {
		return ""
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

// parseSize parses a non-negative byte count such as "1500", "64k" or "2M".
func parseSize(s string) (int64, error) {
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

// newFlagSet returns a silent flag set: errors come back as values and are
// printed by run as one line.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("linuxpeer "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseInterspersed parses args with fs, allowing positional arguments
// between flags ("connect 10.0.0.1:80 --send-bytes 1k"). A "--" ends the
// flags. It returns the positional arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
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

// addSessionFlags registers the flags of sessionOptions on fs.
func addSessionFlags(fs *flag.FlagSet, o *sessionOptions) {
	o.sendBytes, o.expectBytes = -1, -1
	fs.Var(&sizeValue{n: &o.sendBytes}, "send-bytes", "send `N` bytes of the seeded payload (suffixes k, M, G)")
	fs.StringVar(&o.sendFile, "send", "", "send the contents of `FILE` (- for stdin)")
	fs.Uint64Var(&o.seed, "seed", 1, "`seed` of the payload sent with --send-bytes")
	fs.StringVar(&o.out, "out", "", "write the received bytes to `FILE`")
	fs.Var(&sizeValue{n: &o.expectBytes}, "expect-bytes", "fail unless the peer sends exactly `N` bytes of the payload seeded with --peer-seed")
	fs.Uint64Var(&o.peerSeed, "peer-seed", 1, "`seed` of the payload the peer sends, for --expect-bytes")
	o.chunk = defaultChunk
	fs.Var(&sizeValue{n: &o.chunk}, "chunk", "write at most `N` bytes per write call (suffixes k, M, G)")
	fs.DurationVar(&o.interval, "interval", 0, "pause `DURATION` between write calls (paces the data, one DSS mapping or more per write)")
	fs.DurationVar(&o.delay, "delay", 0, "wait `DURATION` after the connection is established before sending")
	fs.DurationVar(&o.hold, "hold", 0, "keep the connection open for `DURATION` after sending, before closing")
	fs.DurationVar(&o.timeout, "timeout", 0, "give up on a connection (dial or accept included) after `DURATION`; 0 for never")
	fs.BoolVar(&o.fastclose, "fastclose", false, "close abortively (SO_LINGER 0) so the kernel sends MP_FASTCLOSE, without waiting for the peer")
	fs.BoolVar(&o.expectReset, "expect-reset", false, "succeed only if the peer resets the connection (e.g. with MP_FASTCLOSE)")
	fs.BoolVar(&o.mptcp, "mptcp", true, "use MPTCP; --mptcp=false uses plain TCP")
	fs.BoolVar(&o.json, "json", false, "print events and summaries on stderr as JSON lines")
}

// check validates the combination of session flags.
func (o *sessionOptions) check() error {
	if o.sendBytes >= 0 && o.sendFile != "" {
		return errors.New("--send-bytes and --send are mutually exclusive")
	}
	if o.chunk <= 0 {
		return fmt.Errorf("--chunk %d is not positive", o.chunk)
	}
	if o.interval < 0 {
		return fmt.Errorf("--interval %v is negative", o.interval)
	}
	if o.delay < 0 {
		return fmt.Errorf("--delay %v is negative", o.delay)
	}
	if o.hold < 0 {
		return fmt.Errorf("--hold %v is negative", o.hold)
	}
	if o.timeout < 0 {
		return fmt.Errorf("--timeout %v is negative", o.timeout)
	}
	if o.timeout > 0 && o.delay+o.hold >= o.timeout {
		return fmt.Errorf("--delay %v and --hold %v do not fit in --timeout %v", o.delay, o.hold, o.timeout)
	}
	if o.fastclose && o.expectReset {
		return errors.New("--fastclose and --expect-reset are mutually exclusive")
	}
	return nil
}

// checkHostPort validates an ADDR:PORT argument. The host may be empty
// (all addresses) only if allowEmptyHost; a port of 0 only if allowZeroPort.
func checkHostPort(what, s string, allowEmptyHost, allowZeroPort bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%s %q: want ADDR:PORT ([ADDR]:PORT for IPv6)", what, s)
	}
	if host == "" && !allowEmptyHost {
		return fmt.Errorf("%s %q: missing address", what, s)
	}
	if host != "" && strings.ContainsAny(host, " \t") {
		return fmt.Errorf("%s %q: bad address", what, s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("%s %q: bad port %q", what, s, port)
	}
	if p == 0 && !allowZeroPort {
		return fmt.Errorf("%s %q: port 0", what, s)
	}
	return nil
}

// parseLocal parses --local: an IP address, or IP:PORT.
func parseLocal(s string) (*net.TCPAddr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0)), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil, fmt.Errorf("--local %q: want an IP address or IP:PORT", s)
	}
	return net.TCPAddrFromAddrPort(ap), nil
}

// listenFlags returns the flag set of "listen", filling c.
func listenFlags(c *listenConfig) *flag.FlagSet {
	fs := newFlagSet("listen")
	addSessionFlags(fs, &c.sessionOptions)
	fs.StringVar(&c.addr, "addr", defaultListenAddr, "listen on `ADDR:PORT`")
	fs.IntVar(&c.count, "count", 1, "serve `N` connections one after another, then exit; 0 serves until interrupted")
	return fs
}

// connectFlags returns the flag set of "connect", filling c.
func connectFlags(c *connectConfig) *flag.FlagSet {
	fs := newFlagSet("connect")
	addSessionFlags(fs, &c.sessionOptions)
	fs.StringVar(&c.local, "local", "", "bind the local side to `ADDR` (an IP, or IP:PORT)")
	return fs
}

// genFlags returns the flag set of "gen", filling c.
func genFlags(c *genConfig) *flag.FlagSet {
	c.bytes = -1
	fs := newFlagSet("gen")
	fs.Var(&sizeValue{n: &c.bytes}, "bytes", "write `N` bytes of the payload (suffixes k, M, G)")
	fs.Uint64Var(&c.seed, "seed", 1, "payload `seed`")
	return fs
}

func parseListen(args []string) (*listenConfig, error) {
	c := &listenConfig{}
	pos, err := parseInterspersed(listenFlags(c), args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected argument %q", pos[0])
	}
	if c.count < 0 {
		return nil, fmt.Errorf("--count %d is negative", c.count)
	}
	if err := checkHostPort("--addr", c.addr, true, true); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseConnect(args []string) (*connectConfig, error) {
	c := &connectConfig{}
	pos, err := parseInterspersed(connectFlags(c), args)
	if err != nil {
		return nil, err
	}
	switch len(pos) {
	case 0:
		return nil, errors.New("missing ADDR:PORT to connect to")
	case 1:
		c.addr = pos[0]
	default:
		return nil, fmt.Errorf("unexpected argument %q", pos[1])
	}
	if err := checkHostPort("address", c.addr, false, false); err != nil {
		return nil, err
	}
	if c.local != "" {
		if _, err := parseLocal(c.local); err != nil {
			return nil, err
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseGen(args []string) (*genConfig, error) {
	c := &genConfig{}
	pos, err := parseInterspersed(genFlags(c), args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected argument %q", pos[0])
	}
	if c.bytes < 0 {
		return nil, errors.New("--bytes is required")
	}
	return c, nil
}

// flagUsage writes the flags of subcommand name and their defaults to w.
func flagUsage(name string, w io.Writer) {
	var fs *flag.FlagSet
	switch name {
	case "listen":
		fs = listenFlags(&listenConfig{})
	case "connect":
		fs = connectFlags(&connectConfig{})
	case "gen":
		fs = genFlags(&genConfig{})
	default:
		return
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
}
