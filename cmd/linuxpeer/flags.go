package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gomptcp/mptcp/cmd/internal/session"
)

// defaultListenAddr is the address listen binds when --addr is not given.
const defaultListenAddr = ":7000"

// errHelp is returned by the parsers when -h or --help was given.
var errHelp = flag.ErrHelp

// listenConfig is the parsed command line of "linuxpeer listen".
type listenConfig struct {
	session.Flags
	addr  string
	count int // connections to serve; 0 serves until interrupted
}

// connectConfig is the parsed command line of "linuxpeer connect".
type connectConfig struct {
	session.Flags
	addr  string
	local string // local IP or IP:port to bind; "" lets the kernel choose
}

// genConfig is the parsed command line of "linuxpeer gen".
type genConfig struct {
	bytes int64
	seed  uint64
}

// newFlagSet returns a silent flag set: errors come back as values and are
// printed by run as one line.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("linuxpeer "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// addSessionFlags registers the flags shared by listen and connect on fs:
// those of the transfer tools (session.Flags) and --interval, which only
// linuxpeer has.
func addSessionFlags(fs *flag.FlagSet, o *session.Flags) {
	o.Register(fs)
	fs.DurationVar(&o.Interval, "interval", 0, "pause `DURATION` between write calls (paces the data, one DSS mapping or more per write)")
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
	addSessionFlags(fs, &c.Flags)
	fs.StringVar(&c.addr, "addr", defaultListenAddr, "listen on `ADDR:PORT`")
	fs.IntVar(&c.count, "count", 1, "serve `N` connections one after another, then exit; 0 serves until interrupted")
	return fs
}

// connectFlags returns the flag set of "connect", filling c.
func connectFlags(c *connectConfig) *flag.FlagSet {
	fs := newFlagSet("connect")
	addSessionFlags(fs, &c.Flags)
	fs.StringVar(&c.local, "local", "", "bind the local side to `ADDR` (an IP, or IP:PORT)")
	return fs
}

// genFlags returns the flag set of "gen", filling c.
func genFlags(c *genConfig) *flag.FlagSet {
	fs := newFlagSet("gen")
	session.SizeVar(fs, &c.bytes, "bytes", -1, "write `N` bytes of the payload (suffixes k, M, G)")
	fs.Uint64Var(&c.seed, "seed", 1, "payload `seed`")
	return fs
}

func parseListen(args []string) (*listenConfig, error) {
	c := &listenConfig{}
	pos, err := session.ParseInterspersed(listenFlags(c), args, nil)
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
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseConnect(args []string) (*connectConfig, error) {
	c := &connectConfig{}
	pos, err := session.ParseInterspersed(connectFlags(c), args, nil)
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
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseGen(args []string) (*genConfig, error) {
	c := &genConfig{}
	pos, err := session.ParseInterspersed(genFlags(c), args, nil)
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
