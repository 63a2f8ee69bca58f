//go:build linux

package mptcpd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// testNS is a network namespace created by a test and deleted when it ends.
type testNS struct {
	name string
	file *os.File
}

var nsSeq atomic.Uint32

// requireKernel skips t unless it runs as root on a kernel with MPTCP and
// iproute2 is installed.
func requireKernel(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating network namespaces needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: needs the ip command (iproute2)")
	}
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	if err != nil {
		t.Skip("skipping: the kernel has no MPTCP (/proc/sys/net/mptcp missing)")
	}
	if strings.TrimSpace(string(b)) != "1" {
		t.Skip("skipping: MPTCP is disabled (net.mptcp.enabled=0)")
	}
}

// newTestNS creates the namespace "gmtd<pid><tag><n>" with its loopback
// up; it is deleted when the test ends.
func newTestNS(t *testing.T, tag string) *testNS {
	t.Helper()
	requireKernel(t)
	name := fmt.Sprintf("gmtd%d%s%d", os.Getpid(), tag, nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create network namespace %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting network namespace %s: %v: %s", name, err, out)
		}
	})
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatalf("opening network namespace %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	ns := &testNS{name: name, file: f}
	ns.ip(t, "link", "set", "lo", "up")
	return ns
}

// config returns a netlink configuration opening sockets inside ns.
func (ns *testNS) config() *netlink.Config {
	return &netlink.Config{NetNS: int(ns.file.Fd())}
}

// ip runs "ip -n NS args..." and returns its output.
func (ns *testNS) ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// exec runs a command inside ns and returns its output.
func (ns *testNS) exec(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sysctl writes a sysctl (a path below /proc/sys) of ns.
func (ns *testNS) sysctl(t *testing.T, path, value string) {
	t.Helper()
	if err := ns.do(func() error { return os.WriteFile("/proc/sys/"+path, []byte(value), 0) }); err != nil {
		t.Fatalf("netns %s: sysctl %s=%s: %v", ns.name, path, value, err)
	}
}

// do runs fn on an OS thread switched into ns, so that the sockets fn
// creates and the /proc/thread-self files it reads belong to ns. The thread
// returns to its namespace afterwards; if it cannot, it stays locked and
// dies with its goroutine.
func (ns *testNS) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(ns.file.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering %s: %w", ns.name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("leaving %s: %w (thread retired)", ns.name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// twoPaths is a client and a server namespace joined by two veth pairs:
// path k links client[k] on the client's gmt<k> with server[k] on the
// server's gmt<k>.
type twoPaths struct {
	client, server *testNS
	clientAddrs    [2]netip.Addr
	serverAddrs    [2]netip.Addr
}

// newTwoPaths builds the topology. The client's path manager is the
// userspace one when userspacePM is set; the server keeps the in-kernel
// path manager with room for 8 additional subflows and announces
// serverAddrs[1] when signal is set.
func newTwoPaths(t *testing.T, userspacePM, signal bool) *twoPaths {
	t.Helper()
	p := &twoPaths{
		client:      newTestNS(t, "c"),
		server:      newTestNS(t, "s"),
		clientAddrs: [2]netip.Addr{netip.MustParseAddr("10.55.1.1"), netip.MustParseAddr("10.55.2.1")},
		serverAddrs: [2]netip.Addr{netip.MustParseAddr("10.55.1.2"), netip.MustParseAddr("10.55.2.2")},
	}
	for k := range 2 {
		dev := fmt.Sprintf("gmt%d", k)
		p.client.ip(t, "link", "add", dev, "type", "veth", "peer", "name", dev, "netns", p.server.name)
		p.client.ip(t, "addr", "add", p.clientAddrs[k].String()+"/24", "dev", dev)
		p.server.ip(t, "addr", "add", p.serverAddrs[k].String()+"/24", "dev", dev)
		p.client.ip(t, "link", "set", dev, "up")
		p.server.ip(t, "link", "set", dev, "up")
	}
	// Traffic from the second address leaves over the second path, whatever
	// its destination.
	p.client.ip(t, "rule", "add", "from", p.clientAddrs[1].String(), "table", "100")
	p.client.ip(t, "route", "add", "default", "dev", "gmt1", "table", "100")
	for _, ns := range []*testNS{p.client, p.server} {
		for _, c := range []string{"all", "default", "gmt0", "gmt1"} {
			ns.sysctl(t, "net/ipv4/conf/"+c+"/rp_filter", "0")
		}
	}
	p.server.ip(t, "mptcp", "limits", "set", "subflow", "8", "add_addr_accepted", "8")
	if signal {
		p.server.ip(t, "mptcp", "endpoint", "add", p.serverAddrs[1].String(), "dev", "gmt1", "signal")
	}
	if userspacePM {
		setUserspacePM(t, p.client)
	}
	return p
}

// setUserspacePM selects the userspace path manager in ns, or skips.
func setUserspacePM(t *testing.T, ns *testNS) {
	t.Helper()
	err := ns.do(func() error {
		return os.WriteFile("/proc/sys/net/mptcp/path_manager", []byte("userspace"), 0)
	})
	if err != nil {
		// Kernels before 6.15 have pm_type only.
		err = ns.do(func() error { return os.WriteFile("/proc/sys/net/mptcp/pm_type", []byte("1"), 0) })
	}
	if err != nil {
		t.Skipf("skipping: cannot select the userspace path manager: %v", err)
	}
}

// tcpPair is an MPTCP connection from the client to the server of a twoPaths.
type tcpPair struct {
	client, server *net.TCPConn
	listener       net.Listener
	// addr is the server address the client dialed: serverAddrs[0] and the
	// listener's port.
	addr netip.AddrPort
}

// connect opens an MPTCP listener on all the server's addresses, as servers
// do (joins may go to any of them), and dials serverAddrs[0] from
// clientAddrs[0]; a round trip makes the connection fully established.
// Everything is closed when the test ends.
func (p *twoPaths) connect(t *testing.T) *tcpPair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c tcpPair
	if err := p.server.do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		c.listener, err = lc.Listen(ctx, "tcp4", "0.0.0.0:0")
		return err
	}); err != nil {
		t.Fatalf("MPTCP listen: %v", err)
	}
	t.Cleanup(func() { c.listener.Close() })
	c.addr = netip.AddrPortFrom(p.serverAddrs[0], c.listener.Addr().(*net.TCPAddr).AddrPort().Port())
	accepted := make(chan net.Conn, 1)
	go func() {
		sc, err := c.listener.Accept()
		if err != nil {
			sc = nil
		}
		accepted <- sc
	}()
	if err := p.client.do(func() error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: p.clientAddrs[0].AsSlice()}}
		d.SetMultipathTCP(true)
		cc, err := d.DialContext(ctx, "tcp4", c.addr.String())
		if err != nil {
			return err
		}
		c.client = cc.(*net.TCPConn)
		return nil
	}); err != nil {
		t.Fatalf("MPTCP dial: %v", err)
	}
	t.Cleanup(func() { c.client.Close() })
	sc := <-accepted
	if sc == nil {
		t.Fatal("MPTCP accept failed")
	}
	c.server = sc.(*net.TCPConn)
	t.Cleanup(func() { c.server.Close() })
	if mp, err := c.client.MultipathTCP(); err != nil || !mp {
		t.Fatalf("the client connection is not MPTCP (%v, %v)", mp, err)
	}
	go io.Copy(c.server, c.server)
	if _, err := c.client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	c.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c.client, buf); err != nil {
		t.Fatalf("echo: %v", err)
	}
	c.client.SetReadDeadline(time.Time{})
	return &c
}
