//go:build linux

package kerneltest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/pm"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestNetnsCleanup checks that a namespace, with the veth pair in it, is
// gone once the test that made it ends, even when that test failed.
func TestNetnsCleanup(t *testing.T) {
	RequireNetns(t)
	var names []string
	for _, fail := range []bool{false, true} {
		// A failing subtest would fail this test too: run the body on a
		// TB whose failures are only recorded.
		ft := &failRecorder{TB: t}
		func() {
			defer ft.runCleanups()
			ns := NewPlainNetns(ft)
			ns.AddVeth(ft, "gmtv0", ns, "gmtv1")
			names = append(names, ns.Name)
			if fail {
				ft.Errorf("failing on purpose")
			}
		}()
		if fail != ft.failed() {
			t.Fatalf("recorded failures %q, want failed=%v", ft.errs, fail)
		}
	}
	list := run(t, "ip", "netns", "list")
	for _, name := range names {
		if !strings.HasPrefix(name, fmt.Sprintf("gmt%dn", os.Getpid())) {
			t.Errorf("namespace %q lacks the gmt<pid>n prefix", name)
		}
		if strings.Contains(list, name) {
			t.Errorf("namespace %s still exists after its test:\n%s", name, list)
		}
	}
	if names[0] == names[1] {
		t.Errorf("two namespaces named %s", names[0])
	}
}

func TestNetnsHelpers(t *testing.T) {
	ns := NewNetns(t)
	ns.AddVeth(t, "gmtv0", ns, "gmtv1")
	ns.AddAddr(t, "gmtv0", netip.MustParsePrefix("10.9.1.1/24"), netip.MustParsePrefix("fd00:9::1/64"))
	out := ns.IP(t, "-o", "addr", "show", "dev", "gmtv0")
	if !strings.Contains(out, "inet 10.9.1.1/24") || !strings.Contains(out, "inet6 fd00:9::1/64") {
		t.Errorf("addresses of gmtv0:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "fd00:9::1/64") && strings.Contains(l, "tentative") {
			t.Errorf("the IPv6 address awaits duplicate address detection: %s", l)
		}
	}
	if out := ns.IP(t, "-o", "link", "show", "dev", "gmtv1"); !strings.Contains(out, "state UP") &&
		!strings.Contains(out, ",UP") {
		t.Errorf("gmtv1 is not up:\n%s", out)
	}
	for _, dev := range []string{"lo", "gmtv0", "gmtv1"} {
		want := ns.IP(t, "-o", "link", "show", "dev", dev)
		idx := ns.IfIndex(t, dev)
		if !strings.HasPrefix(want, fmt.Sprintf("%d: %s", idx, dev)) {
			t.Errorf("IfIndex(%s) = %d; ip link: %s", dev, idx, want)
		}
	}

	ns.WriteSysctl(t, "net/mptcp/add_addr_timeout", "17")
	if got := ns.ReadSysctl(t, "net/mptcp/add_addr_timeout"); got != "17" {
		t.Errorf("add_addr_timeout = %q after writing 17", got)
	}
	if own, err := kernel.Sysctls(); err == nil && own.Raw["add_addr_timeout"] == "17" {
		t.Error("writing the namespace's sysctl changed the process's namespace")
	}
	ns.SelectUserspacePM(t)
	if got := ns.ReadSysctl(t, "net/mptcp/path_manager"); got != "userspace" {
		t.Errorf("path_manager = %q after SelectUserspacePM", got)
	}

	// ip's endpoints, read through MPTCPEndpoints and through a netlink
	// socket opened in the namespace, agree.
	ns.IP(t, "mptcp", "endpoint", "add", "10.9.1.1", "dev", "gmtv0", "subflow", "backup")
	ns.IP(t, "mptcp", "endpoint", "add", "fd00:9::1", "id", "9", "port", "4999", "signal")
	want := []IPEndpoint{
		{ID: 1, Addr: netip.MustParseAddr("10.9.1.1"), Dev: "gmtv0", Flags: []string{"backup", "subflow"}},
		{ID: 9, Addr: netip.MustParseAddr("fd00:9::1"), Port: 4999, Flags: []string{"signal"}},
	}
	got := ns.MPTCPEndpoints(t)
	slices.SortFunc(got, func(a, b IPEndpoint) int { return int(a.ID) - int(b.ID) })
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("MPTCPEndpoints (-want +got):\n%s", diff)
	}
	c, err := pm.Dial(ns.NetlinkConfig(t))
	if err != nil {
		t.Skipf("kerneltest: no MPTCP path manager over netlink: %v", err)
	}
	defer c.Close()
	eps, err := c.Endpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint8
	for _, e := range eps {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []uint8{1, 9}) {
		t.Errorf("netlink sees endpoints %v in the namespace, want 1 and 9", ids)
	}
}

func TestTwoPaths(t *testing.T) {
	p := NewTwoPaths(t)
	before := p.Server.MIB(t)
	c := p.Connect(t)
	if got, want := c.ServerAddr(), netip.AddrPortFrom(p.ServerAddrs[0], listenPort(c.Listener)); got != want {
		t.Errorf("ServerAddr = %v, want %v", got, want)
	}
	addrs, err := kernel.SubflowAddrs(c.Client)
	if err != nil {
		t.Fatal(err)
	}
	var locals []netip.Addr
	for _, a := range addrs {
		locals = append(locals, a.Local.Addr().Unmap())
	}
	slices.SortFunc(locals, netip.Addr.Compare)
	if !slices.Equal(locals, p.ClientAddrs[:]) {
		t.Errorf("subflows from %v, want from %v", locals, p.ClientAddrs)
	}
	delta := map[string]int64{}
	for _, d := range kernel.Delta(before, p.Server.MIB(t)) {
		delta[d.Name] = d.Delta
	}
	if delta["MPCapableSYNRX"] != 1 || delta["MPJoinAckRx"] != 1 {
		t.Errorf("server counters grew by %v, want one MP_CAPABLE and one MP_JOIN", delta)
	}

	// CompareSS accepts what ss prints and reports anything else.
	RequireTool(t, "ss")
	for _, ns := range []*Netns{p.Client, p.Server} {
		conns, subflows := ns.SSConns(t), ns.SSSubflows(t)
		if len(conns) == 0 || len(subflows) < 2 {
			t.Fatalf("%s: ss lists %d MPTCP sockets and %d subflows", ns.Name, len(conns), len(subflows))
		}
		slices.Reverse(conns)
		ns.CompareSS(t, conns, subflows)
		ft := &failRecorder{TB: t}
		defer ft.runCleanups()
		wrong := slices.Clone(subflows)
		wrong[0].SfSeq += "0"
		ns.CompareSS(ft, conns[1:], wrong)
		if len(ft.errs) != 2 {
			t.Errorf("%s: CompareSS with a socket missing and a wrong subflow reported %q", ns.Name, ft.errs)
		}
	}

	fc, fs := p.Fallback(t)
	if mp, err := fc.MultipathTCP(); err != nil || mp {
		t.Errorf("Fallback: client MultipathTCP() = %v, %v; want false", mp, err)
	}
	if _, err := kernel.Info(fs); err == nil {
		t.Error("Fallback: the server socket is MPTCP")
	}
}

func TestTwoPathsBare(t *testing.T) {
	p := NewTwoPathsBare(t)
	for _, ns := range []*Netns{p.Client, p.Server} {
		if eps := ns.MPTCPEndpoints(t); len(eps) != 0 {
			t.Errorf("%s: endpoints %v, want none", ns.Name, eps)
		}
	}
	// The server announces its second address; a listener on all its
	// addresses accepts the join the client sends there.
	p.Server.IP(t, "mptcp", "limits", "set", "subflow", "2")
	p.Server.IP(t, "mptcp", "endpoint", "add", p.ServerAddrs[1].String(), "dev", "gmt1", "signal")
	p.Client.IP(t, "mptcp", "limits", "set", "subflow", "2", "add_addr_accepted", "1")
	ln := p.Server.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	c := p.Client.ConnectMPTCP(t, ln, p.ClientAddrs[0], p.ServerAddrs[0])
	if got, want := c.Client.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap(), p.ClientAddrs[0]; got != want {
		t.Errorf("client bound to %v, want %v", got, want)
	}
	if got, want := c.ServerAddr(), netip.AddrPortFrom(p.ServerAddrs[0], listenPort(ln)); got != want {
		t.Errorf("ServerAddr = %v, want %v", got, want)
	}
	if err := WaitSubflows(c.Client, 2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	addrs, err := kernel.SubflowAddrs(c.Client)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(addrs, func(a kernel.SubflowAddr) bool { return a.Remote.Addr().Unmap() == p.ServerAddrs[1] }) {
		t.Errorf("subflows %v, want one to the announced %v", addrs, p.ServerAddrs[1])
	}
}

func listenPort(ln *net.TCPListener) uint16 { return ln.Addr().(*net.TCPAddr).AddrPort().Port() }

// failRecorder is a testing.TB whose Error, Errorf and Fail calls are
// recorded instead of failing the test, and whose cleanups run when asked.
type failRecorder struct {
	testing.TB
	errs     []string
	failures int
	cleanups []func()
}

func (r *failRecorder) Helper() {}
func (r *failRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *failRecorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *failRecorder) Fail()             { r.failures++ }
func (r *failRecorder) failed() bool      { return len(r.errs) > 0 || r.failures > 0 }
func (r *failRecorder) Cleanup(f func())  { r.cleanups = append(r.cleanups, f) }

func (r *failRecorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}
