package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/link/tun"
)

// The connect and listen commands run gomptcp's own MPTCP stack on TUN
// devices and transfer the deterministic payload of cmd/linuxpeer (package
// interop/payload) with the peer, so that each side checks the other's
// bytes.

const (
	transferDefaultAddr  = ":7000"
	transferDefaultChunk = 32 << 10
)

func init() {
	register(&command{
		name:  "connect",
		usage: "ADDR:PORT --tun NAME,ADDR/LEN,KADDR/LEN [--tun …] [--netns NS] [--local ADDR[:PORT]] [TRANSFER FLAGS]",
		short: "connect with gomptcp's stack on TUN devices and transfer the test payload",
		run:   runTransferConnect,
	})
	register(&command{
		name:  "listen",
		usage: "[--addr ADDR:PORT] [--count N] --tun NAME,ADDR/LEN,KADDR/LEN [--tun …] [--netns NS] [TRANSFER FLAGS]",
		short: "accept connections with gomptcp's stack on TUN devices and transfer the test payload",
		run:   runTransferListen,
	})
}

// transferCmd is a parsed connect or listen command line.
type transferCmd struct {
	role   string // "connect" or "listen"
	target netip.AddrPort
	local  netip.AddrPort // connect: bind address (zero: chosen)
	listen netip.AddrPort // listen: address (unspecified: every address)
	count  int            // listen: connections to serve, 0: until interrupted

	tuns  []tun.DeviceConfig
	netns string // path of the network namespace; "" for the process's

	mptcp     bool
	checksum  bool
	endpoints []mptcp.Endpoint
	limits    mptcp.Limits

	sendBytes   int64 // -1: send nothing
	seed        uint64
	expectBytes int64 // -1: no check
	peerSeed    uint64
	chunk       int64
	delay, hold time.Duration
	timeout     time.Duration
	fastclose   bool
	expectReset bool
	json        bool
}

// transferSize is a flag.Value for a byte count with an optional binary
// suffix k, M or G.
type transferSize struct{ n *int64 }

func (v transferSize) String() string {
	if v.n == nil || *v.n < 0 {
		return ""
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v transferSize) Set(s string) error {
	n, err := parseTransferSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

// parseTransferSize parses "1500", "64k", "20M" or "1G" (binary
// multiples).
func parseTransferSize(s string) (int64, error) {
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
		return 0, fmt.Errorf("invalid size %q (a non-negative integer, optionally with k, M or G)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// listValue collects the values of a repeated flag.
type listValue struct{ v *[]string }

func (l listValue) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, " ")
}

func (l listValue) Set(s string) error {
	*l.v = append(*l.v, s)
	return nil
}

// parseTunSpec parses a --tun value: NAME,ADDR/LEN,KADDR/LEN followed by
// optional fields "mtu=N", "attach" and "nooffload". ADDR is the address
// of gomptcp's stack on the device, KADDR the kernel's (assigned to the
// device).
func parseTunSpec(s string) (tun.DeviceConfig, error) {
	var d tun.DeviceConfig
	f := strings.Split(s, ",")
	if len(f) < 3 {
		return d, fmt.Errorf("--tun %q: want NAME,ADDR/LEN,KADDR/LEN[,mtu=N][,attach][,nooffload]", s)
	}
	d.Name = f[0]
	if d.Name == "" {
		return d, fmt.Errorf("--tun %q: empty device name", s)
	}
	ours, err := netip.ParsePrefix(f[1])
	if err != nil {
		return d, fmt.Errorf("--tun %q: our address %q: want ADDR/LEN", s, f[1])
	}
	kern, err := netip.ParsePrefix(f[2])
	if err != nil {
		return d, fmt.Errorf("--tun %q: kernel address %q: want ADDR/LEN", s, f[2])
	}
	if ours.Addr().Is4() != kern.Addr().Is4() {
		return d, fmt.Errorf("--tun %q: our address and the kernel's are of different families", s)
	}
	if ours.Addr() == kern.Addr() {
		return d, fmt.Errorf("--tun %q: our address and the kernel's are the same", s)
	}
	if !ours.Contains(kern.Addr()) || !kern.Contains(ours.Addr()) {
		return d, fmt.Errorf("--tun %q: %v and %v are not on the same prefix", s, ours, kern)
	}
	d.Addrs = []netip.Prefix{ours}
	d.KernelAddrs = []netip.Prefix{kern}
	seen := map[string]bool{}
	for _, opt := range f[3:] {
		key, val, hasVal := strings.Cut(opt, "=")
		if seen[key] {
			return d, fmt.Errorf("--tun %q: %s given twice", s, key)
		}
		seen[key] = true
		switch {
		case key == "mtu" && hasVal:
			n, err := strconv.Atoi(val)
			if err != nil || n < tun.MinMTU || n > tun.MaxMTU {
				return d, fmt.Errorf("--tun %q: mtu %q: want %d to %d", s, val, tun.MinMTU, tun.MaxMTU)
			}
			d.MTU = n
		case key == "attach" && !hasVal:
			d.Attach = true
		case key == "nooffload" && !hasVal:
			d.DisableOffloads = true
		default:
			return d, fmt.Errorf("--tun %q: unknown option %q (mtu=N, attach, nooffload)", s, opt)
		}
	}
	return d, nil
}

// parseEndpointSpec parses an --endpoint value: ADDR followed by optional
// fields, the flags of "ip mptcp endpoint" ("signal", "subflow", "backup",
// "fullmesh"), "id=N" and "port=N".
func parseEndpointSpec(s string) (mptcp.Endpoint, error) {
	var e mptcp.Endpoint
	f := strings.Split(s, ",")
	a, err := netip.ParseAddr(f[0])
	if err != nil || a.Zone() != "" {
		return e, fmt.Errorf("--endpoint %q: %q is not an IP address", s, f[0])
	}
	e.Addr = a.Unmap()
	seen := map[string]bool{}
	for _, opt := range f[1:] {
		key, val, hasVal := strings.Cut(opt, "=")
		if seen[key] {
			return e, fmt.Errorf("--endpoint %q: %s given twice", s, key)
		}
		seen[key] = true
		switch {
		case key == "signal" && !hasVal:
			e.Flags |= mptcp.FlagSignal
		case key == "subflow" && !hasVal:
			e.Flags |= mptcp.FlagSubflow
		case key == "backup" && !hasVal:
			e.Flags |= mptcp.FlagBackup
		case key == "fullmesh" && !hasVal:
			e.Flags |= mptcp.FlagFullmesh
		case key == "id" && hasVal:
			n, err := strconv.ParseUint(val, 10, 8)
			if err != nil || n == 0 {
				return e, fmt.Errorf("--endpoint %q: id %q: want 1 to 255", s, val)
			}
			e.ID = uint8(n)
		case key == "port" && hasVal:
			n, err := strconv.ParseUint(val, 10, 16)
			if err != nil || n == 0 {
				return e, fmt.Errorf("--endpoint %q: port %q: want 1 to 65535", s, val)
			}
			e.Port = uint16(n)
		default:
			return e, fmt.Errorf("--endpoint %q: unknown option %q (signal, subflow, backup, fullmesh, id=N, port=N)", s, opt)
		}
	}
	if e.Flags == 0 {
		return e, fmt.Errorf("--endpoint %q: no flag: an endpoint needs signal, subflow or fullmesh to be used", s)
	}
	if e.Flags&mptcp.FlagFullmesh != 0 && e.Flags&mptcp.FlagSignal != 0 {
		return e, fmt.Errorf("--endpoint %q: fullmesh and signal do not go together", s)
	}
	if e.Port != 0 && e.Flags&mptcp.FlagSignal == 0 {
		return e, fmt.Errorf("--endpoint %q: a port needs the signal flag", s)
	}
	return e, nil
}

// parseAddrPort parses ADDR:PORT ([ADDR]:PORT for IPv6). An empty address
// (":PORT") is allowed only if emptyAddr; it gives the unspecified
// address of no particular family.
func parseAddrPort(what, s string, emptyAddr, zeroPort bool) (netip.AddrPort, error) {
	if strings.HasPrefix(s, ":") && emptyAddr {
		p, err := strconv.ParseUint(s[1:], 10, 16)
		if err != nil || (p == 0 && !zeroPort) {
			return netip.AddrPort{}, fmt.Errorf("%s %q: bad port", what, s)
		}
		return netip.AddrPortFrom(netip.Addr{}, uint16(p)), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%s %q: want ADDR:PORT ([ADDR]:PORT for IPv6)", what, s)
	}
	if ap.Addr().Zone() != "" {
		return ap, fmt.Errorf("%s %q: zones are not supported", what, s)
	}
	if ap.Port() == 0 && !zeroPort {
		return ap, fmt.Errorf("%s %q: port 0", what, s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// transferFlags registers the flags of role on fs, filling c.
func transferFlags(fs *flag.FlagSet, c *transferCmd, tuns, eps *[]string, local, addr *string) {
	fs.Var(listValue{tuns}, "tun", "a TUN device `NAME,ADDR/LEN,KADDR/LEN[,mtu=N][,attach][,nooffload]`: our address and the kernel's on it (repeat for more paths)")
	fs.StringVar(&c.netns, "netns", "", "create or find the TUN devices in network namespace `NS` (a name under /run/netns or a path)")
	fs.BoolVar(&c.mptcp, "mptcp", true, "use MPTCP; --mptcp=false uses plain TCP over the same stack")
	fs.BoolVar(&c.checksum, "checksum", false, "request DSS checksums (RFC 8684 §3.3)")
	fs.Var(listValue{eps}, "endpoint", "an MPTCP endpoint `ADDR[,signal][,subflow][,backup][,fullmesh][,id=N][,port=N]` for extra subflows (repeatable)")
	fs.IntVar(&c.limits.Subflows, "subflows", mptcp.DefaultLimitSubflows, "at most `N` additional subflows per connection")
	fs.IntVar(&c.limits.AddAddrAccepted, "add-addr-accepted", mptcp.DefaultLimitAddAddrAccepted, "open subflows to at most `N` addresses the peer announces")
	c.sendBytes, c.expectBytes = -1, -1
	fs.Var(transferSize{&c.sendBytes}, "send-bytes", "send `N` bytes of the payload (suffixes k, M, G)")
	fs.Uint64Var(&c.seed, "seed", 1, "`seed` of the payload sent")
	fs.Var(transferSize{&c.expectBytes}, "expect-bytes", "fail unless the peer sends exactly `N` bytes of the payload of --peer-seed")
	fs.Uint64Var(&c.peerSeed, "peer-seed", 1, "`seed` of the payload the peer sends")
	c.chunk = transferDefaultChunk
	fs.Var(transferSize{&c.chunk}, "chunk", "write at most `N` bytes per call")
	fs.DurationVar(&c.delay, "delay", 0, "wait `DURATION` after the connection is established before sending")
	fs.DurationVar(&c.hold, "hold", 0, "keep the connection open `DURATION` after sending, before closing")
	fs.DurationVar(&c.timeout, "timeout", 0, "give up on a connection (dial or accept included) after `DURATION`; 0 for never")
	fs.BoolVar(&c.fastclose, "fastclose", false, "close abortively: reset every subflow with MP_FASTCLOSE (RFC 8684 §3.5)")
	fs.BoolVar(&c.expectReset, "expect-reset", false, "succeed only if the peer resets the connection")
	fs.BoolVar(&c.json, "json", false, "print events and summaries on stderr as JSON lines")
	if c.role == "connect" {
		fs.StringVar(local, "local", "", "bind the connection to `ADDR` or ADDR:PORT")
	} else {
		fs.StringVar(addr, "addr", transferDefaultAddr, "listen on `ADDR:PORT` (no address: every address)")
		fs.IntVar(&c.count, "count", 1, "serve `N` connections one after another; 0 serves until interrupted")
	}
}

// parseInterspersedFlags parses args with fs, allowing positional
// arguments between flags ("connect 10.0.0.1:80 --tun …"); a "--" ends the
// flags. Errors are usage errors.
func parseInterspersedFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
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

// parseTransferArgs parses the command line of role ("connect" or
// "listen"). Every problem is a usage error.
func parseTransferArgs(role string, args []string, stderr io.Writer) (*transferCmd, error) {
	c := &transferCmd{role: role}
	var tuns, eps []string
	var local, addr string
	fs := newFlagSet(role, stderr)
	transferFlags(fs, c, &tuns, &eps, &local, &addr)
	pos, err := parseInterspersedFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if role == "connect" {
		switch len(pos) {
		case 0:
			return nil, usageError("missing ADDR:PORT to connect to")
		case 1:
		default:
			return nil, usageError("unexpected argument %q", pos[1])
		}
		if c.target, err = parseAddrPort("address", pos[0], false, false); err != nil {
			return nil, usageError("%v", err)
		}
		if c.target.Addr().IsUnspecified() || c.target.Addr().IsMulticast() {
			return nil, usageError("address %v: not a unicast address", c.target)
		}
		if local != "" {
			if a, err := netip.ParseAddr(local); err == nil {
				c.local = netip.AddrPortFrom(a.Unmap(), 0)
			} else if c.local, err = parseAddrPort("--local", local, false, true); err != nil {
				return nil, usageError("--local %q: want an IP address or IP:PORT", local)
			}
			if c.local.Addr().Is4() != c.target.Addr().Is4() {
				return nil, usageError("--local %v and %v are of different families", c.local.Addr(), c.target.Addr())
			}
		}
	} else {
		if len(pos) > 0 {
			return nil, usageError("unexpected argument %q", pos[0])
		}
		if c.listen, err = parseAddrPort("--addr", addr, true, true); err != nil {
			return nil, usageError("%v", err)
		}
		if c.count < 0 {
			return nil, usageError("--count %d is negative", c.count)
		}
	}
	if len(tuns) == 0 {
		return nil, usageError("no --tun device: at least one is needed")
	}
	names := map[string]bool{}
	for _, s := range tuns {
		d, err := parseTunSpec(s)
		if err != nil {
			return nil, usageError("%v", err)
		}
		if names[d.Name] {
			return nil, usageError("--tun %s given twice", d.Name)
		}
		names[d.Name] = true
		c.tuns = append(c.tuns, d)
	}
	for _, s := range eps {
		e, err := parseEndpointSpec(s)
		if err != nil {
			return nil, usageError("%v", err)
		}
		if !c.ownsAddr(e.Addr) {
			return nil, usageError("--endpoint %s: not one of our --tun addresses", e.Addr)
		}
		c.endpoints = append(c.endpoints, e)
	}
	if c.limits.Subflows < 0 || c.limits.Subflows > mptcp.MaxLimit {
		return nil, usageError("--subflows %d: want 0 to %d", c.limits.Subflows, mptcp.MaxLimit)
	}
	if c.limits.AddAddrAccepted < 0 || c.limits.AddAddrAccepted > mptcp.MaxLimit {
		return nil, usageError("--add-addr-accepted %d: want 0 to %d", c.limits.AddAddrAccepted, mptcp.MaxLimit)
	}
	if !c.mptcp && (c.checksum || len(eps) > 0 || c.fastclose) {
		return nil, usageError("--checksum, --endpoint and --fastclose need MPTCP (not --mptcp=false)")
	}
	if c.chunk <= 0 {
		return nil, usageError("--chunk %d is not positive", c.chunk)
	}
	if c.chunk > 64<<20 {
		return nil, usageError("--chunk %d is larger than 64M", c.chunk)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--delay", c.delay}, {"--hold", c.hold}, {"--timeout", c.timeout}} {
		if d.v < 0 {
			return nil, usageError("%s %v is negative", d.name, d.v)
		}
	}
	if c.timeout > 0 && c.delay+c.hold >= c.timeout {
		return nil, usageError("--delay %v and --hold %v do not fit in --timeout %v", c.delay, c.hold, c.timeout)
	}
	if c.fastclose && c.expectReset {
		return nil, usageError("--fastclose and --expect-reset are mutually exclusive")
	}
	if c.netns != "" && !strings.Contains(c.netns, "/") {
		if c.netns == "." || c.netns == ".." {
			return nil, usageError("--netns %q: not a namespace name", c.netns)
		}
		c.netns = "/run/netns/" + c.netns
	}
	return c, nil
}

// ownsAddr reports whether a is one of our addresses on the TUN devices.
func (c *transferCmd) ownsAddr(a netip.Addr) bool {
	for _, d := range c.tuns {
		for _, p := range d.Addrs {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// config is our MPTCP stack's configuration.
func (c *transferCmd) config() mptcp.Config {
	l := c.limits
	return mptcp.Config{Disabled: !c.mptcp, Checksum: c.checksum, Endpoints: c.endpoints, Limits: &l}
}
