package interop

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/diag"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/stack"
)

// MaxPaths is the largest number of paths a Topology has.
const MaxPaths = 4

// Options configures a Topology.
type Options struct {
	// Paths is the number of TUN devices, one per path (1 to MaxPaths;
	// zero means 2).
	Paths int
	// IPv6 addresses the paths with IPv6 instead of IPv4.
	IPv6 bool
	// Config is the configuration of our MPTCP stack.
	Config mptcp.Config
	// KernelSysctls are written in the kernel's namespace before anything
	// runs there, keyed by their path under /proc/sys
	// ("net/mptcp/checksum_enabled").
	KernelSysctls map[string]string
	// KernelEndpoints are added with "ip mptcp endpoint add" in the
	// kernel's namespace: each is a path index and the words ip takes
	// after the address ("id", "3", "port", "7100", "subflow", "signal",
	// "backup", "fullmesh").
	KernelEndpoints []KernelEndpoint
	// KernelLimits are the kernel's path manager limits (zero: 8 subflows
	// and 8 accepted ADD_ADDRs, so that it accepts every join and every
	// announcement).
	KernelLimits mptcp.Limits
	// DisableOffloads opens the TUN devices without virtio-net offloads.
	DisableOffloads bool
	// Impair, if not nil, has one entry per path: each path gets an
	// impair.Impairer with that configuration in each direction, on our
	// side of its TUN device (the one towards the kernel seeded with
	// Seed, the other with Seed+1). A zero Config is a perfect link that
	// SetPathUp can take down.
	Impair []impair.Config
}

// KernelEndpoint is an MPTCP endpoint of the kernel on the address of one
// path.
type KernelEndpoint struct {
	Path  int
	Flags []string
}

// Topology is the interop test bed: a network namespace for the Linux
// kernel's MPTCP, holding one TUN device per path, and our stack (package
// mptcp over link/tun) on the far side of the devices.
//
// Path k is the prefix 198.18.k.0/24 (RFC 2544's benchmarking range), or
// 2001:db8:k::/64 (RFC 3849's documentation range) with Options.IPv6: the
// kernel's address .1 (::1) is on device k, ours is .2 (::2). Path 0
// is the primary one: a subflow between path 0's address on one side and
// path k's on the other travels over path k in both directions, so that a
// subflow from an endpoint on path k to the peer's initial address takes
// the k-th path, whichever side opens it. For that, in the kernel's
// namespace a source rule sends what leaves from the kernel's address on
// path k > 0 through device k and reverse-path filtering is off, and our
// stack has a default route through every device but the first (a subflow
// bound to our address on path k > 0 leaves through device k). The
// kernel's path manager limits are Options.KernelLimits; its endpoints are
// Options.KernelEndpoints.
type Topology struct {
	NS *kerneltest.Netns
	// Devices are the TUN device names, Kernel and Ours the addresses on
	// them, by path.
	Devices []string
	Kernel  []netip.Addr
	Ours    []netip.Addr

	TUN   *tun.Stack
	Stack *mptcp.Stack

	// impairers are the middleware of each path towards the kernel
	// ([k][0]) and from it ([k][1]), if Options.Impair is set; used on
	// the TUN stack's loop only.
	impairers [][2]*impair.Impairer
}

var devCounter atomic.Uint32

// Require skips t unless it can build a Topology: root, the ip tool, the
// kernel's MPTCP, and TUN devices.
func Require(t testing.TB) {
	t.Helper()
	kerneltest.Require(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("interop: needs TUN devices (/dev/net/tun: %v)", err)
	}
}

// PathAddrs returns the kernel's address and ours on path k.
func PathAddrs(k int, ipv6 bool) (kern, ours netip.Addr) {
	if ipv6 {
		b := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(k)}
		kb, ob := b, b
		kb[15], ob[15] = 1, 2
		return netip.AddrFrom16(kb), netip.AddrFrom16(ob)
	}
	return netip.AddrFrom4([4]byte{198, 18, byte(k), 1}), netip.AddrFrom4([4]byte{198, 18, byte(k), 2})
}

// New builds a Topology; everything it creates is removed when the test
// ends, even if it fails.
func New(t testing.TB, o Options) *Topology {
	t.Helper()
	Require(t)
	paths := o.Paths
	if paths == 0 {
		paths = 2
	}
	if paths < 1 || paths > MaxPaths {
		t.Fatalf("interop: %d paths (1 to %d)", paths, MaxPaths)
	}
	if o.Impair != nil && len(o.Impair) != paths {
		t.Fatalf("interop: %d impairments for %d paths", len(o.Impair), paths)
	}
	ns := kerneltest.NewNetns(t)
	tp := &Topology{NS: ns}
	bits := 24
	if o.IPv6 {
		bits = 64
	}
	var devs []tun.DeviceConfig
	for k := range paths {
		name := fmt.Sprintf("gmt%dt%d", os.Getpid()%100000, devCounter.Add(1))
		kern, ours := PathAddrs(k, o.IPv6)
		tp.Devices = append(tp.Devices, name)
		tp.Kernel = append(tp.Kernel, kern)
		tp.Ours = append(tp.Ours, ours)
		dc := tun.DeviceConfig{
			Name:            name,
			Addrs:           []netip.Prefix{netip.PrefixFrom(ours, bits)},
			KernelAddrs:     []netip.Prefix{netip.PrefixFrom(kern, bits)},
			DisableOffloads: o.DisableOffloads,
		}
		if o.Impair != nil {
			var pair [2]*impair.Impairer
			for dir := range pair {
				cfg := o.Impair[k]
				cfg.Seed += uint64(dir)
				m, err := impair.New(cfg)
				if err != nil {
					t.Fatalf("interop: path %d: %v", k, err)
				}
				pair[dir] = m
			}
			dc.TxMiddleware, dc.RxMiddleware = pair[0], pair[1]
			tp.impairers = append(tp.impairers, pair)
		}
		devs = append(devs, dc)
	}
	// The kernel's side first: its sysctls and limits apply to sockets
	// created afterwards.
	for _, c := range []string{"all", "default"} {
		ns.WriteSysctl(t, "net/ipv4/conf/"+c+"/rp_filter", "0")
	}
	for p, v := range o.KernelSysctls {
		ns.WriteSysctl(t, p, v)
	}
	lim := o.KernelLimits
	if lim == (mptcp.Limits{}) {
		lim = mptcp.Limits{Subflows: 8, AddAddrAccepted: 8}
	}
	ns.IP(t, "mptcp", "limits", "set", "subflow", strconv.Itoa(lim.Subflows), "add_addr_accepted", strconv.Itoa(lim.AddAddrAccepted))

	ts, err := tun.Open(tun.Config{Devices: devs, NetNS: ns.Path})
	if err != nil {
		t.Fatalf("interop: opening the TUN devices: %v", err)
	}
	tp.TUN = ts
	t.Cleanup(func() { tp.close(t) })
	family := "-4"
	if o.IPv6 {
		family = "-6"
	}
	for k, name := range tp.Devices {
		if !o.IPv6 {
			ns.WriteSysctl(t, "net/ipv4/conf/"+name+"/rp_filter", "0")
		}
		if k == 0 {
			continue
		}
		table := strconv.Itoa(100 + k)
		ns.IP(t, family, "rule", "add", "from", tp.Kernel[k].String(), "table", table)
		ns.IP(t, family, "route", "add", "default", "dev", name, "table", table)
	}
	for _, e := range o.KernelEndpoints {
		if e.Path < 0 || e.Path >= paths {
			t.Fatalf("interop: kernel endpoint on path %d of %d", e.Path, paths)
		}
		ns.IP(t, append([]string{"mptcp", "endpoint", "add", tp.Kernel[e.Path].String()}, e.Flags...)...)
	}

	st, err := stack.New(stack.Config{})
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	def := netip.MustParsePrefix("0.0.0.0/0")
	if o.IPv6 {
		def = netip.MustParsePrefix("::/0")
	}
	for k, nic := range ts.NICs() {
		if err := st.AddNIC(nic); err != nil {
			t.Fatalf("interop: %v", err)
		}
		if k == 0 {
			continue
		}
		if err := st.AddRoute(def, nic); err != nil {
			t.Fatalf("interop: %v", err)
		}
	}
	ms, err := mptcp.NewStack(ts, st, o.Config)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	tp.Stack = ms
	if err := ts.Start(st); err != nil {
		t.Fatalf("interop: starting the TUN stack: %v", err)
	}
	return tp
}

// close closes our stack, then the TUN devices.
func (tp *Topology) close(t testing.TB) {
	t.Helper()
	if tp.Stack != nil {
		if err := tp.Stack.Close(); err != nil {
			t.Errorf("interop: closing the MPTCP stack: %v", err)
		}
		tp.Stack = nil
	}
	if tp.TUN != nil {
		if err := tp.TUN.Close(); err != nil {
			t.Errorf("interop: closing the TUN devices: %v", err)
		}
		tp.TUN = nil
	}
}

// ErrNoImpairer: the Topology was built without Options.Impair.
var ErrNoImpairer = errors.New("interop: the topology has no impairers")

// do runs f on the TUN stack's loop and waits for it.
func (tp *Topology) do(f func(now time.Time)) error {
	done := make(chan struct{})
	if err := tp.TUN.Do(func(now time.Time) {
		defer close(done)
		f(now)
	}); err != nil {
		return err
	}
	<-done
	return nil
}

// SetPathUp takes path k down (every packet lost, both ways, as when a
// link far away fails) or brings it back up, through its impairers. It
// may be called from any goroutine.
func (tp *Topology) SetPathUp(k int, up bool) error {
	if k < 0 || k >= len(tp.impairers) {
		return ErrNoImpairer
	}
	return tp.do(func(now time.Time) {
		for _, m := range tp.impairers[k] {
			m.SetUp(now, up)
		}
	})
}

// ImpairStats returns the counters of path k's impairers: towards the
// kernel, then from it.
func (tp *Topology) ImpairStats(k int) ([2]impair.Stats, error) {
	var s [2]impair.Stats
	if k < 0 || k >= len(tp.impairers) {
		return s, ErrNoImpairer
	}
	err := tp.do(func(time.Time) {
		for dir, m := range tp.impairers[k] {
			s[dir] = m.Stats()
		}
	})
	return s, err
}

// KernelIP runs "ip args…" in the kernel's namespace and returns its
// error with its output. Unlike NS.IP it may be called from any
// goroutine.
func (tp *Topology) KernelIP(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", tp.NS.Name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// KernelMIB reads the kernel namespace's MPTcpExt counters.
func (tp *Topology) KernelMIB(t testing.TB) kernel.MIB { return tp.NS.MIB(t) }

// OurMIB returns our stack's counters by name.
func (tp *Topology) OurMIB() map[string]int64 { return tp.Stack.MIB().Snapshot() }

// KernelConns lists the kernel namespace's MPTCP connections (listeners
// excluded) with their mptcp_info and subflows, through inet_diag. Unlike
// other methods it may be called from any goroutine: it returns its error.
func (tp *Topology) KernelConns() ([]diag.Socket, error) {
	f, err := os.Open(tp.NS.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.List(diag.Connected)
}

// NICStats returns the packet counters of each path's TUN device.
func (tp *Topology) NICStats() []tun.Stats {
	var s []tun.Stats
	for _, n := range tp.TUN.NICs() {
		s = append(s, n.Stats())
	}
	return s
}

// ListenAddr returns the kernel address of path k with port.
func (tp *Topology) ListenAddr(k int, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(tp.Kernel[k], port)
}
