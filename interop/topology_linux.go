package interop

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/diag"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
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
	// Config is the configuration of our MPTCP stack.
	Config mptcp.Config
	// KernelSysctls are written in the kernel's namespace before anything
	// runs there, keyed by their path under /proc/sys
	// ("net/mptcp/checksum_enabled").
	KernelSysctls map[string]string
	// KernelEndpoints are added with "ip mptcp endpoint add" in the
	// kernel's namespace: each is a path index and the flags ip takes
	// ("subflow", "signal", "backup", "fullmesh").
	KernelEndpoints []KernelEndpoint
	// DisableOffloads opens the TUN devices without virtio-net offloads.
	DisableOffloads bool
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
// Path k is the prefix 198.18.k.0/24 (RFC 2544's benchmarking range): the
// kernel's address 198.18.k.1 is on device k, ours is 198.18.k.2. Path 0
// is the primary one: a subflow between path 0's address on one side and
// path k's on the other travels over path k in both directions, so that a
// subflow from an endpoint on path k to the peer's initial address takes
// the second path, whichever side opens it. For that, in the kernel's
// namespace a source rule sends what leaves from 198.18.k.1 (k > 0)
// through device k and reverse-path filtering is off, and our stack has
// a default route through every device but the first (a subflow bound to
// our address on path k > 0 leaves through device k). The kernel's path
// manager limits are 8 subflows and 8 accepted ADD_ADDRs, so it accepts
// every join; its endpoints are Options.KernelEndpoints.
type Topology struct {
	NS *kerneltest.Netns
	// Devices are the TUN device names, Kernel and Ours the addresses on
	// them, by path.
	Devices []string
	Kernel  []netip.Addr
	Ours    []netip.Addr

	TUN   *tun.Stack
	Stack *mptcp.Stack
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
	ns := kerneltest.NewNetns(t)
	tp := &Topology{NS: ns}
	var devs []tun.DeviceConfig
	for k := range paths {
		name := fmt.Sprintf("gmt%dt%d", os.Getpid()%100000, devCounter.Add(1))
		kern := netip.AddrFrom4([4]byte{198, 18, byte(k), 1})
		ours := netip.AddrFrom4([4]byte{198, 18, byte(k), 2})
		tp.Devices = append(tp.Devices, name)
		tp.Kernel = append(tp.Kernel, kern)
		tp.Ours = append(tp.Ours, ours)
		devs = append(devs, tun.DeviceConfig{
			Name:            name,
			Addrs:           []netip.Prefix{netip.PrefixFrom(ours, 24)},
			KernelAddrs:     []netip.Prefix{netip.PrefixFrom(kern, 24)},
			DisableOffloads: o.DisableOffloads,
		})
	}
	// The kernel's side first: its sysctls and limits apply to sockets
	// created afterwards.
	for _, c := range []string{"all", "default"} {
		ns.WriteSysctl(t, "net/ipv4/conf/"+c+"/rp_filter", "0")
	}
	for p, v := range o.KernelSysctls {
		ns.WriteSysctl(t, p, v)
	}
	ns.IP(t, "mptcp", "limits", "set", "subflow", "8", "add_addr_accepted", "8")

	ts, err := tun.Open(tun.Config{Devices: devs, NetNS: ns.Path})
	if err != nil {
		t.Fatalf("interop: opening the TUN devices: %v", err)
	}
	tp.TUN = ts
	t.Cleanup(func() { tp.close(t) })
	for k, name := range tp.Devices {
		ns.WriteSysctl(t, "net/ipv4/conf/"+name+"/rp_filter", "0")
		if k == 0 {
			continue
		}
		table := strconv.Itoa(100 + k)
		ns.IP(t, "rule", "add", "from", tp.Kernel[k].String(), "table", table)
		ns.IP(t, "route", "add", "default", "dev", name, "table", table)
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
	for k, nic := range ts.NICs() {
		if err := st.AddNIC(nic); err != nil {
			t.Fatalf("interop: %v", err)
		}
		if k == 0 {
			continue
		}
		if err := st.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), nic); err != nil {
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

// KernelMIB reads the kernel namespace's MPTcpExt counters.
func (tp *Topology) KernelMIB(t testing.TB) kernel.MIB { return tp.NS.MIB(t) }

// OurMIB returns our stack's counters by name.
func (tp *Topology) OurMIB() map[string]int64 { return tp.Stack.MIB().Snapshot() }

// KernelConns lists the kernel namespace's MPTCP connections (listeners
// excluded) with their mptcp_info and subflows, through inet_diag.
func (tp *Topology) KernelConns(t testing.TB) []diag.Socket {
	t.Helper()
	f, err := os.Open(tp.NS.Path)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	defer f.Close()
	c, err := diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	defer c.Close()
	socks, err := c.List(diag.Connected)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	return socks
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
