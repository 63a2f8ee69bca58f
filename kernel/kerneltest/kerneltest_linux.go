//go:build linux

package kerneltest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/mdlayher/netlink"
)

// Require skips t unless the test can create network namespaces (see
// RequireNetns) and the kernel has MPTCP enabled.
func Require(t testing.TB) {
	t.Helper()
	RequireNetns(t)
	b, err := os.ReadFile(kernel.SysctlDir + "/enabled")
	if err != nil {
		t.Skipf("kerneltest: kernel has no MPTCP (%v)", err)
	}
	if strings.TrimSpace(string(b)) != "1" {
		t.Skip("kerneltest: MPTCP is disabled (net.mptcp.enabled=0)")
	}
}

// RequireNetns skips t unless it runs as root and the ip tool (iproute2)
// is installed, which is what creating network namespaces takes. Tests
// that need MPTCP call Require instead.
func RequireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kerneltest: needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("kerneltest: needs the ip tool (iproute2)")
	}
}

// RequireTool skips t unless the named program is installed.
func RequireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("kerneltest: needs %s", name)
	}
}

var nsCounter atomic.Uint32

// Netns is a network namespace created for one test.
type Netns struct {
	Name string // name under /run/netns
	Path string // /run/netns/Name, for kernel.DoInNetns and setns
}

// NewNetns creates an empty network namespace named gmt<pid>n<k> with its
// loopback up, deleted when the test ends. It skips the test unless
// Require passes.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	Require(t)
	return newNetns(t)
}

// NewPlainNetns is NewNetns for tests that do not need MPTCP: it skips
// the test unless RequireNetns passes.
func NewPlainNetns(t testing.TB) *Netns {
	t.Helper()
	RequireNetns(t)
	return newNetns(t)
}

func newNetns(t testing.TB) *Netns {
	t.Helper()
	name := fmt.Sprintf("gmt%dn%d", os.Getpid(), nsCounter.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	n := &Netns{Name: name, Path: "/run/netns/" + name}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// Do runs f inside the namespace (see kernel.DoInNetns).
func (n *Netns) Do(f func() error) error { return kernel.DoInNetns(n.Path, f) }

// IP runs "ip -n NAME args…", failing the test on error, and returns its
// output.
func (n *Netns) IP(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, "ip", append([]string{"-n", n.Name}, args...)...)
}

// Exec runs a program inside the namespace ("ip netns exec"), failing the
// test on error, and returns its standard output.
func (n *Netns) Exec(t testing.TB, prog string, args ...string) string {
	t.Helper()
	return run(t, "ip", append([]string{"netns", "exec", n.Name, prog}, args...)...)
}

// WriteSysctl writes a sysctl (a path under /proc/sys) of the namespace.
func (n *Netns) WriteSysctl(t testing.TB, path, value string) {
	t.Helper()
	n.writeSysctls(t, []string{path}, value)
}

// writeSysctls writes the same value to several sysctls, entering the
// namespace once.
func (n *Netns) writeSysctls(t testing.TB, paths []string, value string) {
	t.Helper()
	var failed string
	err := n.Do(func() error {
		for _, p := range paths {
			if err := os.WriteFile("/proc/sys/"+p, []byte(value), 0); err != nil {
				failed = p
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("netns %s: sysctl %s=%s: %v", n.Name, failed, value, err)
	}
}

// ReadSysctl reads a sysctl (a path under /proc/sys) of the namespace,
// without the trailing newline.
func (n *Netns) ReadSysctl(t testing.TB, path string) string {
	t.Helper()
	var b []byte
	err := n.Do(func() (err error) {
		b, err = os.ReadFile("/proc/sys/" + path)
		return err
	})
	if err != nil {
		t.Fatalf("netns %s: sysctl %s: %v", n.Name, path, err)
	}
	return strings.TrimSpace(string(b))
}

// SelectUserspacePM makes the namespace's MPTCP connections use the
// userspace path manager (net.mptcp.path_manager=userspace, or
// net.mptcp.pm_type=1 on kernels before 6.15). It skips the test if the
// kernel has neither.
func (n *Netns) SelectUserspacePM(t testing.TB) {
	t.Helper()
	err := n.Do(func() error {
		return os.WriteFile(kernel.SysctlDir+"/path_manager", []byte("userspace"), 0)
	})
	if err == nil {
		return
	}
	if err2 := n.Do(func() error {
		return os.WriteFile(kernel.SysctlDir+"/pm_type", []byte("1"), 0)
	}); err2 != nil {
		t.Skipf("kerneltest: cannot select the userspace path manager: %v; %v", err, err2)
	}
}

// NetlinkConfig returns a configuration that opens netlink sockets inside
// the namespace. The namespace file it refers to stays open until the
// test ends.
func (n *Netns) NetlinkConfig(t testing.TB) *netlink.Config {
	t.Helper()
	f, err := os.Open(n.Path)
	if err != nil {
		t.Fatalf("kerneltest: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return &netlink.Config{NetNS: int(f.Fd())}
}

// MIB reads the namespace's MPTcpExt counters.
func (n *Netns) MIB(t testing.TB) kernel.MIB {
	t.Helper()
	m, err := kernel.ReadMIBNetns(n.Path)
	if err != nil {
		t.Fatalf("netns %s: MPTcpExt counters: %v", n.Name, err)
	}
	return m
}

// AddVeth creates a veth pair, name in this namespace and peerName in
// peer (which may be this namespace too), and sets both ends up. The pair
// goes away with the namespaces.
func (n *Netns) AddVeth(t testing.TB, name string, peer *Netns, peerName string) {
	t.Helper()
	cmds := vethCmds(name, peer, peerName)
	if peer.Name == n.Name {
		n.ipBatch(t, append(cmds, []string{"link", "set", peerName, "up"})...)
		return
	}
	n.ipBatch(t, cmds...)
	peer.IP(t, "link", "set", peerName, "up")
}

// vethCmds are the ip commands creating a veth pair and setting its first
// end up.
func vethCmds(name string, peer *Netns, peerName string) [][]string {
	return [][]string{
		{"link", "add", name, "type", "veth", "peer", "name", peerName, "netns", peer.Name},
		{"link", "set", name, "up"},
	}
}

// AddAddr adds addresses to an interface of the namespace. IPv6 addresses
// skip duplicate address detection ("nodad"), so they are usable at once.
func (n *Netns) AddAddr(t testing.TB, dev string, addrs ...netip.Prefix) {
	t.Helper()
	n.ipBatch(t, addrCmds(dev, addrs...)...)
}

// addrCmds are the ip commands of AddAddr.
func addrCmds(dev string, addrs ...netip.Prefix) [][]string {
	var cmds [][]string
	for _, a := range addrs {
		cmd := []string{"addr", "add", a.String(), "dev", dev}
		if a.Addr().Is6() {
			cmd = append(cmd, "nodad")
		}
		cmds = append(cmds, cmd)
	}
	return cmds
}

// ipBatch runs ip commands (the arguments of "ip -n NAME", one slice a
// command) in a single "ip -batch" process, failing the test on the first
// error.
func (n *Netns) ipBatch(t testing.TB, cmds ...[]string) {
	t.Helper()
	if len(cmds) == 0 {
		return
	}
	var in strings.Builder
	for _, c := range cmds {
		in.WriteString(strings.Join(c, " "))
		in.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-n", n.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s -batch: %v: %s\ncommands:\n%s", n.Name, err, out, in.String())
	}
}

// IfIndex returns the index of an interface of the namespace.
func (n *Netns) IfIndex(t testing.TB, name string) int {
	t.Helper()
	var ifi *net.Interface
	err := n.Do(func() (err error) {
		ifi, err = net.InterfaceByName(name)
		return err
	})
	if err != nil {
		t.Fatalf("netns %s: interface %s: %v", n.Name, name, err)
	}
	return ifi.Index
}

func run(t testing.TB, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", prog, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
