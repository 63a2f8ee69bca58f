package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/cmd/internal/session"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/sched"
)

// The connect and listen commands run gomptcp's own MPTCP stack on TUN
// devices and move data with the peer at the other end: standard input or
// a file, or the deterministic payload of cmd/linuxpeer (package
// interop/payload), which lets each side check the other's bytes.

// transferMaxChunk bounds --chunk.
const transferMaxChunk = 64 << 20

const transferFlagsUsage = `
flags (both commands):
  --tun NAME=ADDR/PREFIX[,peer=KADDR/PREFIX][,mtu=N][,nooffload]
        use TUN device NAME (created if absent and removed at exit; attached to, as
        "ip tuntap add" makes it, if present) with our stack's address ADDR on it;
        peer= assigns KADDR to the device: the host kernel's address on the link.
        Repeatable, one per path; the first device is the default route
  --netns NS               find or create the TUN devices in network namespace NS
  --endpoint ADDR[:PORT][,id=N][,signal][,subflow][,backup][,fullmesh]
        a path manager endpoint, as "ip mptcp endpoint add" (ADDR one of ours;
        a PORT needs signal); repeatable
  --limits subflows=N,add_addr_accepted=M
        path manager limits, as "ip mptcp limits set" (default subflows=2,
        add_addr_accepted=0)
  --pm NAME                path manager: kernel (default: the endpoint and limit
        rules of Linux's in-kernel one), fullmesh (every local address to every
        peer address, within --limits), ndiffports=N (N subflows between the
        initial addresses), userspace (no automatic subflows)
  --scheduler NAME         packet scheduler: ` + "%s" + `
  --cc NAME                congestion control of every subflow: ` + "%s" + `
  --checksum               request DSS checksums (RFC 8684 §3.3)
  --mptcp=false            plain TCP over the same stack
  --send FILE              send the contents of FILE ("-": standard input)
  --send-bytes N           send N bytes (suffixes k, M, G) of the deterministic
        pseudo-random payload of --seed (linuxpeer's)
  --seed S                 seed of the payload sent (default 1)
  --out FILE               write the received bytes to FILE ("-": standard output)
  --expect-bytes N         fail unless the peer sends exactly N bytes of the payload
        of --peer-seed
  --peer-seed S            seed of the payload the peer sends (default 1)
  --impair NAME:rate=20mbit,delay=20ms,jitter=2ms,loss=0.5%%[,queue=N]
        impair both directions of device NAME, each on its own: rate in bit/s
        (bit, kbit, mbit, gbit; bps, kbps, mbps, gbps are bytes/s) behind a
        drop-tail queue of N packets (default: one bandwidth-delay product, at
        least 32), one-way delay with uniform jitter, random loss; repeatable
  --event AT:NAME:down|up  at AT (a duration such as 3s, from the start) device
        NAME stops carrying packets both ways, or carries them again (neither
        stack is told: as when a link further away fails); repeatable
  --pcap FILE              record every packet of every device to FILE (pcap, raw IP)
  --plot FILE              draw every subflow's throughput each way, congestion window
        and RTT, sampled every 100 ms, with the --event times marked, to FILE
        (.png or .svg); repeatable
  --json                   print events and summaries on stderr as JSON lines
  --chunk N                write at most N bytes per call (default 32k)
  --delay D                wait D after the connection is established before sending
  --hold D                 keep the connection open D after sending, before closing
  --timeout D              give up on a connection (dial or accept included) after D
  --fastclose              close abortively: MP_FASTCLOSE (RFC 8684 §3.5)
  --expect-reset           succeed only if the peer resets the connection
connect only:
  --local ADDR[:PORT]      bind the connection's initial subflow
listen only:
  --count N                serve N connections one after another (default 1; 0:
        until interrupted)

Each finished connection prints a summary on stderr: bytes and SHA-256 each way,
duration, fallback, the subflows and the stack's MPTcpExt counters. The exit
status is non-zero after any error, with a one-line reason.`

func init() {
	register(&command{
		name:  "connect",
		usage: "[flags] HOST:PORT   (send standard input, or --send; receive to --out)",
		short: "connect with gomptcp's stack on TUN devices and transfer data",
		run:   runTransferConnect,
	})
	register(&command{
		name:  "listen",
		usage: "[flags] [ADDR:]PORT   (receive to standard output, or --out; optionally --send)",
		short: "accept connections with gomptcp's stack on TUN devices and transfer data",
		run:   runTransferListen,
	})
}

// transferPM is a --pm choice.
type transferPM struct {
	kind string // "kernel", "fullmesh", "ndiffports" or "userspace"
	n    int    // ndiffports' N
}

// transferLinkEvent is an --event.
type transferLinkEvent struct {
	at  time.Duration
	dev string
	up  bool
}

// transferCmd is a parsed connect or listen command line.
type transferCmd struct {
	role string // "connect" or "listen"

	// connect: the peer, as given (a name is resolved when connecting),
	// and the local address to bind.
	host   string
	port   uint16
	target netip.AddrPort // valid if host is an IP address
	local  netip.AddrPort
	// listen: the address (unspecified: every address) and the number of
	// connections to serve, 0 until interrupted.
	listen netip.AddrPort
	count  int

	tuns  []tun.DeviceConfig
	netns string // path of the network namespace; "" for the process's

	checksum   bool
	endpoints  []mptcp.Endpoint
	limits     mptcp.Limits
	limitsSet  bool
	pm         transferPM
	scheduler  string // "" for the engine's default
	cc         string // "" for the stack's default
	impairs    map[string]impair.Config
	linkEvents []transferLinkEvent
	pcap       string
	plots      []string

	// The data, timing and closing flags shared with cmd/linuxpeer
	// (Interval is always 0). Out "-" is standard output, as is an unset
	// Out for listen; an unset SendFile is standard input for connect.
	session.Flags
}

// transferList collects the values of a repeated flag.
type transferList struct{ v *[]string }

func (l transferList) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, " ")
}

func (l transferList) Set(s string) error {
	*l.v = append(*l.v, s)
	return nil
}

// parseTunSpec parses a --tun value:
// NAME=ADDR/PREFIX[,peer=KADDR/PREFIX][,mtu=N][,nooffload]. Whether the
// device is attached to or created is decided when it is opened.
func parseTunSpec(s string) (tun.DeviceConfig, error) {
	var d tun.DeviceConfig
	const form = "NAME=ADDR/PREFIX[,peer=KADDR/PREFIX][,mtu=N][,nooffload]"
	f := strings.Split(s, ",")
	name, addr, ok := strings.Cut(f[0], "=")
	if !ok {
		return d, fmt.Errorf("--tun %q: want %s", s, form)
	}
	if name == "" {
		return d, fmt.Errorf("--tun %q: empty device name", s)
	}
	d.Name = name
	ours, err := netip.ParsePrefix(addr)
	if err != nil || ours.Addr().Zone() != "" || ours.Addr().Is4In6() {
		return d, fmt.Errorf("--tun %q: our address %q: want ADDR/PREFIX (IPv4 in its own form)", s, addr)
	}
	d.Addrs = []netip.Prefix{ours}
	seen := map[string]bool{}
	for _, opt := range f[1:] {
		key, val, hasVal := strings.Cut(opt, "=")
		if seen[key] {
			return d, fmt.Errorf("--tun %q: %s given twice", s, key)
		}
		seen[key] = true
		switch {
		case key == "peer" && hasVal:
			kern, err := netip.ParsePrefix(val)
			if err != nil || kern.Addr().Zone() != "" || kern.Addr().Is4In6() {
				return d, fmt.Errorf("--tun %q: peer address %q: want KADDR/PREFIX", s, val)
			}
			switch {
			case ours.Addr().Is4() != kern.Addr().Is4():
				return d, fmt.Errorf("--tun %q: our address and the peer's are of different families", s)
			case ours.Addr() == kern.Addr():
				return d, fmt.Errorf("--tun %q: our address and the peer's are the same", s)
			case !ours.Contains(kern.Addr()) || !kern.Contains(ours.Addr()):
				return d, fmt.Errorf("--tun %q: %v and %v are not on the same prefix", s, ours, kern)
			}
			d.KernelAddrs = []netip.Prefix{kern}
		case key == "mtu" && hasVal:
			n, err := strconv.Atoi(val)
			if err != nil || n < tun.MinMTU || n > tun.MaxMTU {
				return d, fmt.Errorf("--tun %q: mtu %q: want %d to %d", s, val, tun.MinMTU, tun.MaxMTU)
			}
			if ours.Addr().Is6() && n < tun.MinMTUIPv6 {
				return d, fmt.Errorf("--tun %q: mtu %d is below IPv6's minimum %d", s, n, tun.MinMTUIPv6)
			}
			d.MTU = n
		case key == "nooffload" && !hasVal:
			d.DisableOffloads = true
		default:
			return d, fmt.Errorf("--tun %q: unknown option %q (peer=KADDR/PREFIX, mtu=N, nooffload)", s, opt)
		}
	}
	return d, nil
}

// parseEndpointSpec parses an --endpoint value:
// ADDR[:PORT][,id=N][,signal][,subflow][,backup][,fullmesh] (an IPv6
// address with a port in brackets).
func parseEndpointSpec(s string) (mptcp.Endpoint, error) {
	var e mptcp.Endpoint
	f := strings.Split(s, ",")
	if a, err := netip.ParseAddr(f[0]); err == nil && a.Zone() == "" {
		e.Addr = a.Unmap()
	} else if ap, err := netip.ParseAddrPort(f[0]); err == nil && ap.Addr().Zone() == "" {
		if ap.Port() == 0 {
			return e, fmt.Errorf("--endpoint %q: port 0", s)
		}
		e.Addr, e.Port = ap.Addr().Unmap(), ap.Port()
	} else {
		return e, fmt.Errorf("--endpoint %q: %q is not ADDR or ADDR:PORT ([ADDR]:PORT for IPv6)", s, f[0])
	}
	if e.Addr.IsUnspecified() || e.Addr.IsMulticast() {
		return e, fmt.Errorf("--endpoint %q: %v is not a unicast address", s, e.Addr)
	}
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
		default:
			return e, fmt.Errorf("--endpoint %q: unknown option %q (id=N, signal, subflow, backup, fullmesh)", s, opt)
		}
	}
	if e.Flags&(mptcp.FlagSignal|mptcp.FlagSubflow|mptcp.FlagFullmesh) == 0 {
		return e, fmt.Errorf("--endpoint %q: no signal, subflow or fullmesh flag: the endpoint would not be used", s)
	}
	if e.Flags&mptcp.FlagFullmesh != 0 && e.Flags&mptcp.FlagSignal != 0 {
		return e, fmt.Errorf("--endpoint %q: fullmesh and signal do not go together", s)
	}
	if e.Port != 0 && e.Flags&mptcp.FlagSignal == 0 {
		return e, fmt.Errorf("--endpoint %q: a port needs the signal flag", s)
	}
	return e, nil
}

// parseLimitsSpec parses a --limits value: subflows=N,add_addr_accepted=M
// in any order, either one alone ("subflow" as ip spells it is accepted).
// Limits left out keep Linux's defaults.
func parseLimitsSpec(s string) (mptcp.Limits, error) {
	l := mptcp.Limits{Subflows: mptcp.DefaultLimitSubflows, AddAddrAccepted: mptcp.DefaultLimitAddAddrAccepted}
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(kv, "=")
		if key == "subflow" {
			key = "subflows"
		}
		if !ok || key != "subflows" && key != "add_addr_accepted" {
			return l, fmt.Errorf("--limits %q: %q is not subflows=N or add_addr_accepted=M", s, kv)
		}
		if seen[key] {
			return l, fmt.Errorf("--limits %q: %s given twice", s, key)
		}
		seen[key] = true
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > mptcp.MaxLimit {
			return l, fmt.Errorf("--limits %q: %s %q: want 0 to %d", s, key, val, mptcp.MaxLimit)
		}
		if key == "subflows" {
			l.Subflows = n
		} else {
			l.AddAddrAccepted = n
		}
	}
	return l, nil
}

// parsePMSpec parses a --pm value.
func parsePMSpec(s string) (transferPM, error) {
	switch s {
	case "kernel", "fullmesh", "userspace":
		return transferPM{kind: s}, nil
	}
	if v, ok := strings.CutPrefix(s, "ndiffports="); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > mptcp.MaxLimit+1 {
			return transferPM{}, fmt.Errorf("--pm %q: N %q: want 1 to %d", s, v, mptcp.MaxLimit+1)
		}
		return transferPM{kind: "ndiffports", n: n}, nil
	}
	return transferPM{}, fmt.Errorf("--pm %q: want kernel, fullmesh, ndiffports=N or userspace", s)
}

// parseTransferRate parses a rate as tc does: a number followed by bit,
// kbit, mbit or gbit (bits per second), or bps, kbps, mbps or gbps (bytes
// per second); k, m and g are powers of 1000. It returns bits per second.
func parseTransferRate(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"bit", 1},
		{"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {"bps", 8},
	}
	ls := strings.ToLower(s)
	for _, u := range units {
		num, ok := strings.CutSuffix(ls, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(v) || v <= 0 || v*u.mult > 1e12 || v*u.mult < 1 {
			break
		}
		return int64(v * u.mult), nil
	}
	return 0, fmt.Errorf("rate %q: want a positive number with bit, kbit, mbit, gbit (or bps, kbps, mbps, gbps for bytes), at most 1000gbit", s)
}

// parseImpairSpec parses an --impair value:
// NAME:rate=R,delay=D,jitter=J,loss=P%,queue=N, every setting optional.
func parseImpairSpec(s string) (string, impair.Config, error) {
	var c impair.Config
	name, spec, ok := strings.Cut(s, ":")
	if !ok || name == "" || spec == "" {
		return "", c, fmt.Errorf("--impair %q: want NAME:rate=R,delay=D,jitter=J,loss=P%%,queue=N", s)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(kv, "=")
		if !ok {
			return "", c, fmt.Errorf("--impair %q: %q is not KEY=VALUE", s, kv)
		}
		if seen[key] {
			return "", c, fmt.Errorf("--impair %q: %s given twice", s, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "rate":
			c.Rate, err = parseTransferRate(val)
		case "delay", "jitter":
			var d time.Duration
			d, err = time.ParseDuration(val)
			if err == nil && (d < 0 || d > time.Minute) {
				err = fmt.Errorf("%s %v: want 0 to 1m", key, d)
			}
			if key == "delay" {
				c.Delay = d
			} else {
				c.Jitter = d
			}
		case "loss":
			p, found := strings.CutSuffix(val, "%")
			var v float64
			v, err = strconv.ParseFloat(p, 64)
			if !found || err != nil || !(v >= 0 && v < 100) {
				err = fmt.Errorf("loss %q: want a percentage such as 0.5%%, below 100%%", val)
			}
			c.Loss = v / 100
		case "queue":
			var n int
			n, err = strconv.Atoi(val)
			if err != nil || n < 1 || n > 1<<20 {
				err = fmt.Errorf("queue %q: want 1 to %d packets", val, 1<<20)
			}
			c.QueuePackets = n
		default:
			err = fmt.Errorf("unknown setting %q (rate, delay, jitter, loss, queue)", key)
		}
		if err != nil {
			return "", c, fmt.Errorf("--impair %q: %v", s, err)
		}
	}
	if c.QueuePackets != 0 && c.Rate == 0 {
		return "", c, fmt.Errorf("--impair %q: a queue needs a rate", s)
	}
	if c.Jitter > c.Delay {
		return "", c, fmt.Errorf("--impair %q: jitter %v is larger than the delay %v", s, c.Jitter, c.Delay)
	}
	if c.Rate > 0 && c.QueuePackets == 0 {
		// One bandwidth-delay product of 1500-byte packets (the delay
		// each way, twice), at least 32.
		bdp := float64(c.Rate) * 2 * (c.Delay + c.Jitter).Seconds() / 8 / 1500
		c.QueuePackets = int(min(max(32, bdp), 1<<20))
	}
	if err := c.Validate(); err != nil {
		return "", c, fmt.Errorf("--impair %q: %v", s, err)
	}
	return name, c, nil
}

// parseLinkEventSpec parses an --event value: AT:NAME:down or AT:NAME:up.
func parseLinkEventSpec(s string) (transferLinkEvent, error) {
	var e transferLinkEvent
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return e, fmt.Errorf("--event %q: want AT:NAME:down or AT:NAME:up", s)
	}
	at, err := time.ParseDuration(f[0])
	if err != nil || at < 0 {
		return e, fmt.Errorf("--event %q: time %q: want a non-negative duration such as 3s", s, f[0])
	}
	if f[1] == "" {
		return e, fmt.Errorf("--event %q: empty device name", s)
	}
	e.at, e.dev = at, f[1]
	switch f[2] {
	case "down":
	case "up":
		e.up = true
	default:
		return e, fmt.Errorf("--event %q: %q is not down or up", s, f[2])
	}
	return e, nil
}

// parseListenAddr parses listen's [ADDR:]PORT: "7000", ":7000",
// "10.0.0.2:7000" or "[fd00::2]:7000".
func parseListenAddr(s string) (netip.AddrPort, error) {
	portStr := s
	var addr netip.Addr
	if strings.Contains(s, ":") {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: want [ADDR:]PORT ([ADDR]:PORT for IPv6)", s)
		}
		if h != "" {
			if addr, err = netip.ParseAddr(h); err != nil || addr.Zone() != "" {
				return netip.AddrPort{}, fmt.Errorf("%q: %q is not an IP address", s, h)
			}
			addr = addr.Unmap()
			if addr.IsMulticast() {
				return netip.AddrPort{}, fmt.Errorf("%q: %v is a multicast address", s, addr)
			}
		}
		portStr = p
	}
	p, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: bad port %q", s, portStr)
	}
	return netip.AddrPortFrom(addr, uint16(p)), nil
}

// parseConnectAddr parses connect's HOST:PORT, where HOST is an IP
// address or a name.
func parseConnectAddr(c *transferCmd, s string) error {
	h, p, err := net.SplitHostPort(s)
	if err != nil || h == "" {
		return fmt.Errorf("%q: want HOST:PORT ([ADDR]:PORT for IPv6)", s)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return fmt.Errorf("%q: bad port %q", s, p)
	}
	c.host, c.port = h, uint16(port)
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("%q: zones are not supported", s)
		}
		a = a.Unmap()
		if a.IsUnspecified() || a.IsMulticast() {
			return fmt.Errorf("%q: %v is not a unicast address", s, a)
		}
		c.target = netip.AddrPortFrom(a, c.port)
		return nil
	}
	// A name: letters, digits, hyphens and dots (RFC 1123 §2.1), resolved
	// when connecting.
	if len(h) > 253 || strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" {
		return fmt.Errorf("%q: %q is neither an IP address nor a host name", s, h)
	}
	return nil
}

// parseLocalAddr parses --local: ADDR or ADDR:PORT.
func parseLocalAddr(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a.Unmap(), 0), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("--local %q: want ADDR or ADDR:PORT", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// transferFlags registers the flags of c.role on fs. The repeated and
// structured ones land in the slices and strings given, for
// parseTransferArgs to check.
func transferFlags(fs *flag.FlagSet, c *transferCmd, raw *transferRaw) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mptcp %s %s\n", c.role, commands[c.role].usage)
		fmt.Fprintf(fs.Output(), transferFlagsUsage+"\n", strings.Join(sched.Names(), ", "), strings.Join(cc.Names(), ", "))
	}
	fs.Var(transferList{&raw.tuns}, "tun", "")
	fs.StringVar(&c.netns, "netns", "", "")
	fs.Var(transferList{&raw.endpoints}, "endpoint", "")
	fs.StringVar(&raw.limits, "limits", "", "")
	fs.StringVar(&raw.pm, "pm", "kernel", "")
	fs.StringVar(&c.scheduler, "scheduler", "", "")
	fs.StringVar(&c.cc, "cc", "", "")
	fs.BoolVar(&c.checksum, "checksum", false, "")
	fs.Var(transferList{&raw.impairs}, "impair", "")
	fs.Var(transferList{&raw.events}, "event", "")
	fs.StringVar(&c.pcap, "pcap", "", "")
	fs.Var(transferList{&c.plots}, "plot", "")
	c.Flags.Register(fs)
	if c.role == "connect" {
		fs.StringVar(&raw.local, "local", "", "")
	} else {
		fs.IntVar(&c.count, "count", 1, "")
	}
}

// transferRaw holds the flag values parseTransferArgs checks after
// parsing.
type transferRaw struct {
	tuns, endpoints, impairs, events []string
	limits, pm, local                string
}

// parseTransferArgs parses the command line of role ("connect" or
// "listen"). Every problem is a usage error.
func parseTransferArgs(role string, args []string, stderr io.Writer) (*transferCmd, error) {
	c := &transferCmd{role: role}
	var raw transferRaw
	fs := newFlagSet(role, stderr)
	transferFlags(fs, c, &raw)
	pos, err := session.ParseInterspersed(fs, args, parseFlags)
	if err != nil {
		return nil, err
	}
	what := map[string]string{"connect": "HOST:PORT", "listen": "[ADDR:]PORT"}[role]
	switch len(pos) {
	case 0:
		return nil, usageError("missing %s", what)
	case 1:
	default:
		return nil, usageError("unexpected argument %q", pos[1])
	}
	if role == "connect" {
		if err := parseConnectAddr(c, pos[0]); err != nil {
			return nil, usageError("%v", err)
		}
		if raw.local != "" {
			if c.local, err = parseLocalAddr(raw.local); err != nil {
				return nil, usageError("%v", err)
			}
			if c.target.IsValid() && c.local.Addr().Is4() != c.target.Addr().Is4() {
				return nil, usageError("--local %v and %v are of different families", c.local.Addr(), c.target.Addr())
			}
		}
	} else {
		if c.listen, err = parseListenAddr(pos[0]); err != nil {
			return nil, usageError("%v", err)
		}
		if c.count < 0 {
			return nil, usageError("--count %d is negative", c.count)
		}
	}
	if err := c.parseDevices(&raw); err != nil {
		return nil, err
	}
	if err := c.parsePolicies(&raw); err != nil {
		return nil, err
	}
	if err := c.checkData(); err != nil {
		return nil, err
	}
	if c.netns != "" && !strings.Contains(c.netns, "/") {
		if c.netns == "." || c.netns == ".." {
			return nil, usageError("--netns %q: not a namespace name", c.netns)
		}
		c.netns = "/run/netns/" + c.netns
	}
	return c, nil
}

// parseDevices checks --tun, --impair and --event.
func (c *transferCmd) parseDevices(raw *transferRaw) error {
	if len(raw.tuns) == 0 {
		return usageError("no --tun device: at least one is needed")
	}
	names := map[string]bool{}
	addrs := map[netip.Addr]bool{}
	for _, s := range raw.tuns {
		d, err := parseTunSpec(s)
		if err != nil {
			return usageError("%v", err)
		}
		if names[d.Name] {
			return usageError("--tun %s given twice", d.Name)
		}
		names[d.Name] = true
		for _, p := range append(slices.Clone(d.Addrs), d.KernelAddrs...) {
			if addrs[p.Addr()] {
				return usageError("--tun %s: address %v is on another --tun too", d.Name, p.Addr())
			}
			addrs[p.Addr()] = true
		}
		c.tuns = append(c.tuns, d)
	}
	for _, s := range raw.impairs {
		name, cfg, err := parseImpairSpec(s)
		if err != nil {
			return usageError("%v", err)
		}
		if !names[name] {
			return usageError("--impair %q: %s is not a --tun device", s, name)
		}
		if _, dup := c.impairs[name]; dup {
			return usageError("--impair: %s given twice", name)
		}
		if c.impairs == nil {
			c.impairs = map[string]impair.Config{}
		}
		c.impairs[name] = cfg
	}
	for _, s := range raw.events {
		e, err := parseLinkEventSpec(s)
		if err != nil {
			return usageError("%v", err)
		}
		if !names[e.dev] {
			return usageError("--event %q: %s is not a --tun device", s, e.dev)
		}
		c.linkEvents = append(c.linkEvents, e)
	}
	return nil
}

// parsePolicies checks the MPTCP flags: endpoints, limits, path manager,
// scheduler, congestion control.
func (c *transferCmd) parsePolicies(raw *transferRaw) error {
	pm, err := parsePMSpec(raw.pm)
	if err != nil {
		return usageError("%v", err)
	}
	c.pm = pm
	c.limits = mptcp.Limits{Subflows: mptcp.DefaultLimitSubflows, AddAddrAccepted: mptcp.DefaultLimitAddAddrAccepted}
	if raw.limits != "" {
		l, err := parseLimitsSpec(raw.limits)
		if err != nil {
			return usageError("%v", err)
		}
		c.limits, c.limitsSet = l, true
	}
	ids := map[uint8]bool{}
	for _, s := range raw.endpoints {
		e, err := parseEndpointSpec(s)
		if err != nil {
			return usageError("%v", err)
		}
		if !c.ownsAddr(e.Addr) {
			return usageError("--endpoint %s: not one of our --tun addresses", e.Addr)
		}
		if e.ID != 0 && ids[e.ID] {
			return usageError("--endpoint %s: id %d is used twice", e.Addr, e.ID)
		}
		ids[e.ID] = true
		c.endpoints = append(c.endpoints, e)
	}
	switch c.pm.kind {
	case "kernel":
	case "fullmesh":
		if len(c.endpoints) > 0 {
			return usageError("--endpoint needs --pm kernel (fullmesh uses every address)")
		}
		if c.limitsSet && (c.limits.Subflows == 0 || c.limits.AddAddrAccepted == 0) {
			return usageError("--pm fullmesh takes --limits of at least 1 (for none, use --pm userspace)")
		}
	default:
		if len(c.endpoints) > 0 || c.limitsSet {
			return usageError("--endpoint and --limits need --pm kernel or fullmesh")
		}
	}
	if c.scheduler != "" {
		if _, err := sched.New(c.scheduler); err != nil {
			return usageError("--scheduler: %v", err)
		}
	}
	if c.cc != "" && !slices.Contains(cc.Names(), c.cc) {
		return usageError("--cc %q: want one of %s", c.cc, strings.Join(cc.Names(), ", "))
	}
	if !c.MPTCP && (c.checksum || len(c.endpoints) > 0 || c.Fastclose || c.scheduler != "" || c.limitsSet || raw.pm != "kernel") {
		return usageError("--checksum, --endpoint, --limits, --pm, --scheduler and --fastclose need MPTCP (not --mptcp=false)")
	}
	return nil
}

// checkData checks the flags about the data and the connection's timing.
func (c *transferCmd) checkData() error {
	if err := c.Check(); err != nil {
		return usageError("%v", err)
	}
	if c.role == "listen" && c.SendFile == "-" && c.count != 1 {
		return usageError("--send - (standard input) serves one connection: use --count 1")
	}
	if c.Chunk > transferMaxChunk {
		return usageError("--chunk %d is larger than 64M", c.Chunk)
	}
	return checkPlotFiles(c.plots)
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
