package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/stack"
)

// TopoConfig configures a Topology.
type TopoConfig struct {
	Pairing Pairing
	// Paths are the emulated paths (1 to MaxPaths).
	Paths []PathSpec
	// Seed seeds the Impairers: path k's client-to-server direction gets
	// Seed+2k, the other Seed+2k+1, in every pairing.
	Seed uint64
	// Backup makes the client's subflows on the paths after the first
	// backup subflows (MP_JOIN flag B; endpoint flag "backup").
	Backup bool
	// TCP makes Dial and Listen use plain TCP instead of MPTCP.
	TCP bool
	// MTU of every device (0: 1500).
	MTU int
	// DisableOffloads opens gomptcp's TUN devices without segmentation
	// offloads.
	DisableOffloads bool
	// Bare leaves the Impairers out of a gomptcp ↔ Linux topology, whose
	// paths must then be unimpaired: nothing between gomptcp's stack and
	// the TUN devices (SetPathUp is not available).
	Bare bool
	// Config is the template of the gomptcp ends' configuration; the
	// Topology sets Endpoints and Limits.
	Config mptcp.Config
}

// Topology is a client and a server joined by emulated paths; see the
// package documentation for how each pairing is built.
type Topology struct {
	cfg TopoConfig
	env *Env

	// Kernel namespaces of Linux ends (nil for gomptcp ends), and the
	// router namespace of gomptcp ↔ gomptcp.
	clientNS, serverNS, routerNS *Netns
	// gomptcp ends.
	clientStack, serverStack *mptcp.Stack
	tunStacks                []*tun.Stack
	emu                      *Emulator
	// Impairers by path, client to server then server to client, and the
	// loop each runs on.
	paths []topoPath
}

type topoPath struct {
	imp [2]*impair.Impairer
	do  [2]func(func(now time.Time)) error
}

// Listen port of the benchmarks' servers.
const benchPort = 5201

// NewTopology builds a Topology. On failure everything built so far is
// removed.
func NewTopology(cfg TopoConfig) (t *Topology, err error) {
	if len(cfg.Paths) < 1 || len(cfg.Paths) > MaxPaths {
		return nil, fmt.Errorf("bench: %d paths (1 to %d)", len(cfg.Paths), MaxPaths)
	}
	if cfg.MTU == 0 {
		cfg.MTU = tun.DefaultMTU
	}
	env, err := NewEnv()
	if err != nil {
		return nil, err
	}
	t = &Topology{cfg: cfg, env: env}
	defer func() {
		if err != nil {
			err = errors.Join(err, env.Close())
			t = nil
		}
	}()
	for k, p := range cfg.Paths {
		var tp topoPath
		for dir := range tp.imp {
			m, err := impair.New(p.Impair(cfg.Seed + uint64(2*k+dir)))
			if err != nil {
				return nil, fmt.Errorf("bench: path %d: %w", k, err)
			}
			tp.imp[dir] = m
		}
		t.paths = append(t.paths, tp)
	}
	if cfg.Bare {
		if cfg.Pairing != GomptcpLinux && cfg.Pairing != LinuxGomptcp {
			return nil, fmt.Errorf("bench: a bare topology is gomptcp-linux or linux-gomptcp, not %v", cfg.Pairing)
		}
		for _, p := range cfg.Paths {
			if p != (PathSpec{}) {
				return nil, fmt.Errorf("bench: a bare topology has unimpaired paths, not %v", p)
			}
		}
	}
	switch cfg.Pairing {
	case Pairing{KindLinux, KindLinux}:
		err = t.buildLinuxLinux()
	case Pairing{KindGomptcp, KindLinux}, Pairing{KindLinux, KindGomptcp}:
		err = t.buildMixed()
	case Pairing{KindGomptcp, KindGomptcp}:
		err = t.buildGomptcpGomptcp()
	default:
		err = fmt.Errorf("bench: unknown pairing %v", cfg.Pairing)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Close removes everything the Topology created.
func (t *Topology) Close() error { return t.env.Close() }

// newKernelNS creates the namespace of a Linux end (or of the router):
// IPv6 off (no neighbour discovery chatter on the paths), reverse-path
// filtering off (a subflow's packets may arrive on another path's device
// than the route back would pick), and the MPTCP limits that let every
// path carry a subflow.
func (t *Topology) newKernelNS() (*Netns, error) {
	ns, err := t.env.NewNetns()
	if err != nil {
		return nil, err
	}
	for p, v := range map[string]string{
		"net/ipv6/conf/all/disable_ipv6":     "1",
		"net/ipv6/conf/default/disable_ipv6": "1",
		"net/ipv4/conf/all/rp_filter":        "0",
		"net/ipv4/conf/default/rp_filter":    "0",
	} {
		if err := ns.Sysctl(p, v); err != nil {
			return nil, err
		}
	}
	if err := ns.IP("mptcp", "limits", "set", "subflow", "8", "add_addr_accepted", "8"); err != nil {
		return nil, err
	}
	return ns, nil
}

// routeBySource makes the kernel in ns send what leaves from addr(k)
// through device devs[k], for every path k > 0, so that a subflow from the
// address of path k takes path k whatever the peer's address; on the
// client it also adds the MPTCP endpoints that open those subflows.
func (t *Topology) routeBySource(ns *Netns, devs []string, addr func(int) netip.Addr, client bool) error {
	for k, dev := range devs {
		if err := ns.Sysctl("net/ipv4/conf/"+dev+"/rp_filter", "0"); err != nil {
			return err
		}
		if k == 0 {
			continue
		}
		table := strconv.Itoa(100 + k)
		if err := ns.IP("rule", "add", "from", addr(k).String(), "table", table); err != nil {
			return err
		}
		if err := ns.IP("route", "add", "default", "dev", dev, "table", table); err != nil {
			return err
		}
		if client {
			args := []string{"mptcp", "endpoint", "add", addr(k).String(), "dev", dev, "subflow"}
			if t.cfg.Backup {
				args = append(args, "backup")
			}
			if err := ns.IP(args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildLinuxLinux: a namespace per end, a TUN device per path in each,
// and the Emulator between them.
func (t *Topology) buildLinuxLinux() error {
	var err error
	if t.clientNS, err = t.newKernelNS(); err != nil {
		return err
	}
	if t.serverNS, err = t.newKernelNS(); err != nil {
		return err
	}
	// Runs last: the devices are closed by then, which ends the readers.
	t.env.onClose(func() error {
		if t.emu != nil {
			t.emu.Wait()
		}
		return nil
	})
	var eps []EmulatorPath
	var cdevs, sdevs []string
	for k := range t.cfg.Paths {
		cname, sname := t.env.name("c"), t.env.name("s")
		cdev, err := openOffloadTUN(t.clientNS, cname, ClientAddr(k), t.cfg.MTU)
		if err != nil {
			return err
		}
		t.env.onClose(cdev.Close)
		sdev, err := openOffloadTUN(t.serverNS, sname, ServerAddr(k), t.cfg.MTU)
		if err != nil {
			return err
		}
		t.env.onClose(sdev.Close)
		cdevs, sdevs = append(cdevs, cname), append(sdevs, sname)
		eps = append(eps, EmulatorPath{Client: cdev, Server: sdev, C2S: t.paths[k].imp[0], S2C: t.paths[k].imp[1], MTU: t.cfg.MTU})
	}
	if err := t.routeBySource(t.clientNS, cdevs, ClientAddr, true); err != nil {
		return err
	}
	if err := t.routeBySource(t.serverNS, sdevs, ServerAddr, false); err != nil {
		return err
	}
	t.emu = NewEmulator(eps)
	// Runs before the devices are closed.
	t.env.onClose(func() error { t.emu.Close(); return nil })
	for k := range t.paths {
		d := t.emu.dirs[2*k : 2*k+2]
		t.paths[k].do = [2]func(func(time.Time)) error{d[0].do, d[1].do}
	}
	return nil
}

// buildMixed: the Linux end's namespace with a TUN device per path, and
// gomptcp's stack on the other side of the devices, the Impairers as its
// NICs' middleware.
func (t *Topology) buildMixed() error {
	ns, err := t.newKernelNS()
	if err != nil {
		return err
	}
	kernelClient := t.cfg.Pairing.Client == KindLinux
	kaddr, oaddr := ServerAddr, ClientAddr
	// The direction our stack transmits.
	txDir := 0
	if kernelClient {
		t.clientNS = ns
		kaddr, oaddr = ClientAddr, ServerAddr
		txDir = 1
	} else {
		t.serverNS = ns
	}
	var devs []tun.DeviceConfig
	for k := range t.cfg.Paths {
		devs = append(devs, tun.DeviceConfig{
			Name:            t.env.name("t"),
			MTU:             t.cfg.MTU,
			Addrs:           []netip.Prefix{netip.PrefixFrom(oaddr(k), pathPrefix)},
			KernelAddrs:     []netip.Prefix{netip.PrefixFrom(kaddr(k), pathPrefix)},
			DisableOffloads: t.cfg.DisableOffloads,
		})
		if !t.cfg.Bare {
			devs[k].TxMiddleware, devs[k].RxMiddleware = t.paths[k].imp[txDir], t.paths[k].imp[1-txDir]
		}
	}
	ts, ms, err := t.startGomptcp(ns, devs, !kernelClient)
	if err != nil {
		return err
	}
	if kernelClient {
		t.serverStack = ms
	} else {
		t.clientStack = ms
	}
	names := make([]string, len(devs))
	for k, d := range devs {
		names[k] = d.Name
		t.paths[k].do = [2]func(func(time.Time)) error{doOn(ts), doOn(ts)}
	}
	if t.cfg.Bare {
		t.paths = nil
	}
	return t.routeBySource(ns, names, kaddr, kernelClient)
}

// buildGomptcpGomptcp: both stacks on TUN devices of a router namespace
// whose kernel forwards between the two devices of each path: what enters
// from one goes out of the other, by a policy rule on the input device.
func (t *Topology) buildGomptcpGomptcp() error {
	ns, err := t.newKernelNS()
	if err != nil {
		return err
	}
	t.routerNS = ns
	if err := ns.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	var cdevs, sdevs []tun.DeviceConfig
	for k := range t.cfg.Paths {
		cdevs = append(cdevs, tun.DeviceConfig{Name: t.env.name("a"), MTU: t.cfg.MTU,
			Addrs:           []netip.Prefix{netip.PrefixFrom(ClientAddr(k), pathPrefix)},
			DisableOffloads: t.cfg.DisableOffloads, TxMiddleware: t.paths[k].imp[0]})
		sdevs = append(sdevs, tun.DeviceConfig{Name: t.env.name("b"), MTU: t.cfg.MTU,
			Addrs:           []netip.Prefix{netip.PrefixFrom(ServerAddr(k), pathPrefix)},
			DisableOffloads: t.cfg.DisableOffloads, TxMiddleware: t.paths[k].imp[1]})
	}
	cts, cms, err := t.startGomptcp(ns, cdevs, true)
	if err != nil {
		return err
	}
	sts, sms, err := t.startGomptcp(ns, sdevs, false)
	if err != nil {
		return err
	}
	t.clientStack, t.serverStack = cms, sms
	for k := range t.cfg.Paths {
		a, b := cdevs[k].Name, sdevs[k].Name
		for _, dev := range []string{a, b} {
			if err := ns.Sysctl("net/ipv4/conf/"+dev+"/rp_filter", "0"); err != nil {
				return err
			}
		}
		for i, pair := range [][2]string{{a, b}, {b, a}} {
			table := strconv.Itoa(1000 + 2*k + i)
			if err := ns.IP("rule", "add", "iif", pair[0], "table", table); err != nil {
				return err
			}
			if err := ns.IP("route", "add", "default", "dev", pair[1], "table", table); err != nil {
				return err
			}
		}
		t.paths[k].do = [2]func(func(time.Time)) error{doOn(cts), doOn(sts)}
	}
	return nil
}

// doOn runs f on a TUN stack's loop and waits for it.
func doOn(ts *tun.Stack) func(func(now time.Time)) error {
	return func(f func(now time.Time)) error {
		done := make(chan struct{})
		if err := ts.Do(func(now time.Time) { f(now); close(done) }); err != nil {
			return err
		}
		<-done
		return nil
	}
}

// startGomptcp opens the devices in ns and runs an MPTCP stack on them,
// routing what leaves from the address of path k > 0 through device k
// (the stack picks, among default routes, the one of the source's NIC).
// A client gets a "subflow" endpoint on every path but the first.
func (t *Topology) startGomptcp(ns *Netns, devs []tun.DeviceConfig, client bool) (*tun.Stack, *mptcp.Stack, error) {
	ts, err := tun.Open(tun.Config{Devices: devs, NetNS: ns.Path})
	if err != nil {
		return nil, nil, fmt.Errorf("bench: opening TUN devices: %w", err)
	}
	t.env.onClose(ts.Close)
	st, err := stack.New(stack.Config{})
	if err != nil {
		return nil, nil, err
	}
	def := netip.MustParsePrefix("0.0.0.0/0")
	for k, nic := range ts.NICs() {
		if err := st.AddNIC(nic); err != nil {
			return nil, nil, err
		}
		if k == 0 {
			continue
		}
		if err := st.AddRoute(def, nic); err != nil {
			return nil, nil, err
		}
	}
	cfg := t.cfg.Config
	cfg.Limits = &mptcp.Limits{Subflows: 8, AddAddrAccepted: 8}
	cfg.Endpoints = nil
	if client {
		flags := mptcp.FlagSubflow
		if t.cfg.Backup {
			flags |= mptcp.FlagBackup
		}
		for k := 1; k < len(devs); k++ {
			cfg.Endpoints = append(cfg.Endpoints, mptcp.Endpoint{Addr: ClientAddr(k), Flags: flags})
		}
	}
	ms, err := mptcp.NewStack(ts, st, cfg)
	if err != nil {
		return nil, nil, err
	}
	t.env.onClose(ms.Close)
	t.tunStacks = append(t.tunStacks, ts)
	if err := ts.Start(st); err != nil {
		return nil, nil, fmt.Errorf("bench: starting the TUN stack: %w", err)
	}
	return ts, ms, nil
}

// Listen listens on the server's address of path 0.
func (t *Topology) Listen() (net.Listener, error) {
	addr := netip.AddrPortFrom(ServerAddr(0), benchPort)
	if t.serverStack != nil {
		if t.cfg.TCP {
			return t.serverStack.Host().Listen("tcp", addr.String())
		}
		return t.serverStack.ListenMPTCP(addr, 1024)
	}
	var ln net.Listener
	err := t.serverNS.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(!t.cfg.TCP)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp4", addr.String())
		return err
	})
	return ln, err
}

// Dial connects from the client's address of path 0 to the server's.
// An MPTCP connection of a Linux client that fell back to TCP is an error.
func (t *Topology) Dial(ctx context.Context) (net.Conn, error) {
	remote := netip.AddrPortFrom(ServerAddr(0), benchPort)
	local := netip.AddrPortFrom(ClientAddr(0), 0)
	if t.clientStack != nil {
		if t.cfg.TCP {
			return t.clientStack.Host().DialContext(ctx, "tcp", remote.String())
		}
		return t.clientStack.DialMPTCP(ctx, local, remote)
	}
	var c net.Conn
	err := t.clientNS.Do(func() error {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(local)}
		d.SetMultipathTCP(!t.cfg.TCP)
		var err error
		c, err = d.DialContext(ctx, "tcp4", remote.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	if !t.cfg.TCP {
		if ok, err := kernel.IsMPTCP(c.(*net.TCPConn)); err != nil || !ok {
			c.Close()
			return nil, fmt.Errorf("bench: the kernel's connection is not MPTCP (fell back to TCP): %v", err)
		}
	}
	return c, nil
}

// SetPathUp takes path k down in both directions or brings it back up.
func (t *Topology) SetPathUp(k int, up bool) error {
	if k < 0 || k >= len(t.paths) {
		return fmt.Errorf("bench: no path %d", k)
	}
	for dir, m := range t.paths[k].imp {
		if err := t.paths[k].do[dir](func(now time.Time) { m.SetUp(now, up) }); err != nil {
			return err
		}
	}
	return nil
}

// PathStats returns the Impairer counters of every path, client to server
// then server to client.
func (t *Topology) PathStats() ([][2]impair.Stats, error) {
	out := make([][2]impair.Stats, len(t.paths))
	for k, p := range t.paths {
		for dir, m := range p.imp {
			if err := p.do[dir](func(time.Time) { out[k][dir] = m.Stats() }); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// EmulatorCPU is the CPU time of the Emulator's threads so far (zero for
// the pairings without one).
func (t *Topology) EmulatorCPU() time.Duration {
	if t.emu == nil {
		return 0
	}
	return t.emu.CPU()
}
