//go:build linux

package kerneltest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
)

// Require skips t unless the test runs as root on a kernel with MPTCP
// enabled and the ip tool (iproute2) is installed.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kerneltest: needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("kerneltest: needs the ip tool (iproute2)")
	}
	b, err := os.ReadFile(kernel.SysctlDir + "/enabled")
	if err != nil {
		t.Skipf("kerneltest: kernel has no MPTCP (%v)", err)
	}
	if strings.TrimSpace(string(b)) != "1" {
		t.Skip("kerneltest: MPTCP is disabled (net.mptcp.enabled=0)")
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
// loopback up, deleted when the test ends.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	Require(t)
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
	err := n.Do(func() error { return os.WriteFile("/proc/sys/"+path, []byte(value), 0) })
	if err != nil {
		t.Fatalf("netns %s: sysctl %s=%s: %v", n.Name, path, value, err)
	}
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

// TwoPaths is a client and a server namespace joined by two veth pairs:
// path k (0 or 1) links ClientAddrs[k] and ServerAddrs[k], on interfaces
// named gmt0 and gmt1 in each namespace. The client has a "subflow"
// endpoint on ClientAddrs[1] and a limit of one additional subflow, plus a
// source route sending that address's traffic over path 1; so a connection
// to ServerAddrs[0] gets a second subflow ClientAddrs[1] → ServerAddrs[0]
// over the second path. The server accepts up to two additional subflows.
type TwoPaths struct {
	Client, Server *Netns
	ClientAddrs    [2]netip.Addr
	ServerAddrs    [2]netip.Addr
}

// NewTwoPaths builds the topology; it is removed when the test ends.
func NewTwoPaths(t testing.TB) *TwoPaths {
	t.Helper()
	p := &TwoPaths{
		Client:      NewNetns(t),
		Server:      NewNetns(t),
		ClientAddrs: [2]netip.Addr{netip.MustParseAddr("10.77.1.1"), netip.MustParseAddr("10.77.2.1")},
		ServerAddrs: [2]netip.Addr{netip.MustParseAddr("10.77.1.2"), netip.MustParseAddr("10.77.2.2")},
	}
	for k := range 2 {
		dev := fmt.Sprintf("gmt%d", k)
		// Created directly inside the namespaces: the names cannot clash
		// with anything outside them.
		run(t, "ip", "-n", p.Client.Name, "link", "add", dev, "type", "veth",
			"peer", "name", dev, "netns", p.Server.Name)
		p.Client.IP(t, "addr", "add", p.ClientAddrs[k].String()+"/24", "dev", dev)
		p.Server.IP(t, "addr", "add", p.ServerAddrs[k].String()+"/24", "dev", dev)
		p.Client.IP(t, "link", "set", dev, "up")
		p.Server.IP(t, "link", "set", dev, "up")
	}
	// The second subflow's source address is routed over path 1, and the
	// server must accept it there although it targets the path-0 address.
	p.Client.IP(t, "rule", "add", "from", p.ClientAddrs[1].String(), "table", "100")
	p.Client.IP(t, "route", "add", "default", "dev", "gmt1", "table", "100")
	for _, c := range []string{"all", "default", "gmt0", "gmt1"} {
		p.Server.WriteSysctl(t, "net/ipv4/conf/"+c+"/rp_filter", "0")
	}
	p.Client.IP(t, "mptcp", "limits", "set", "subflow", "1", "add_addr_accepted", "0")
	p.Client.IP(t, "mptcp", "endpoint", "add", p.ClientAddrs[1].String(), "subflow")
	p.Server.IP(t, "mptcp", "limits", "set", "subflow", "2", "add_addr_accepted", "0")
	return p
}

// Conn is a live MPTCP connection across TwoPaths.
type Conn struct {
	Listener *net.TCPListener // in the server namespace
	Client   *net.TCPConn     // in the client namespace
	Server   *net.TCPConn     // accepted from Listener
}

// Connect opens an MPTCP listener on ServerAddrs[0] (an ephemeral port),
// dials it from the client namespace, exchanges a byte each way and waits
// (up to 10 s) until both ends have two subflows. The sockets are closed
// when the test ends.
func (p *TwoPaths) Connect(t testing.TB) *Conn {
	t.Helper()
	var c Conn
	err := p.Server.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err := lc.Listen(context.Background(), "tcp4", netip.AddrPortFrom(p.ServerAddrs[0], 0).String())
		if err != nil {
			return err
		}
		c.Listener = ln.(*net.TCPListener)
		return nil
	})
	if err != nil {
		t.Fatalf("kerneltest: MPTCP listen: %v", err)
	}
	t.Cleanup(func() { c.Listener.Close() })
	accepted := make(chan error, 1)
	go func() {
		conn, err := c.Listener.AcceptTCP()
		if err == nil {
			c.Server = conn
		}
		accepted <- err
	}()
	err = p.Client.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		d.Timeout = 10 * time.Second
		conn, err := d.Dial("tcp4", c.Listener.Addr().String())
		if err != nil {
			return err
		}
		c.Client = conn.(*net.TCPConn)
		return nil
	})
	if err != nil {
		t.Fatalf("kerneltest: MPTCP dial: %v", err)
	}
	t.Cleanup(func() { c.Client.Close() })
	if err := <-accepted; err != nil {
		t.Fatalf("kerneltest: MPTCP accept: %v", err)
	}
	t.Cleanup(func() { c.Server.Close() })
	if err := exchange(c.Client, c.Server); err != nil {
		t.Fatalf("kerneltest: exchanging data: %v", err)
	}
	if err := WaitSubflows(c.Client, 2, 10*time.Second); err != nil {
		t.Fatalf("kerneltest: client: %v", err)
	}
	if err := WaitSubflows(c.Server, 2, 10*time.Second); err != nil {
		t.Fatalf("kerneltest: server: %v", err)
	}
	return &c
}

// exchange sends one byte each way.
func exchange(a, b *net.TCPConn) error {
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	defer a.SetDeadline(time.Time{})
	defer b.SetDeadline(time.Time{})
	buf := make([]byte, 1)
	if _, err := a.Write([]byte{'x'}); err != nil {
		return err
	}
	if _, err := io.ReadFull(b, buf); err != nil {
		return err
	}
	if _, err := b.Write([]byte{'y'}); err != nil {
		return err
	}
	_, err := io.ReadFull(a, buf)
	return err
}

// WaitSubflows polls MPTCP_SUBFLOW_ADDRS until c has n subflows or the
// timeout passes. Subflows are created asynchronously by the kernel's path
// manager, so a test has nothing better to wait on.
func WaitSubflows(c *net.TCPConn, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		addrs, err := kernel.SubflowAddrs(c)
		if err != nil {
			return err
		}
		if len(addrs) == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d subflows after %v, want %d: %v", len(addrs), timeout, n, addrs)
		}
		<-tick.C
	}
}

// PlainTCP opens a plain TCP listener in the server namespace and a
// connection to it from the client namespace, closed when the test ends.
func (p *TwoPaths) PlainTCP(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	return p.tcpPair(t, false)
}

// Fallback dials a plain TCP listener of the server namespace with an
// MPTCP socket: the connection falls back to TCP (RFC 8684 §3.7). It
// returns the client's socket and the accepted one.
func (p *TwoPaths) Fallback(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	return p.tcpPair(t, true)
}

func (p *TwoPaths) tcpPair(t testing.TB, clientMPTCP bool) (client, server *net.TCPConn) {
	t.Helper()
	var ln net.Listener
	err := p.Server.Do(func() error {
		// Go's listeners use MPTCP by default: ask for plain TCP.
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp4", netip.AddrPortFrom(p.ServerAddrs[0], 0).String())
		return err
	})
	if err != nil {
		t.Fatalf("kerneltest: TCP listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- conn
	}()
	var cc net.Conn
	err = p.Client.Do(func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		d.SetMultipathTCP(clientMPTCP)
		var err error
		cc, err = d.Dial("tcp4", ln.Addr().String())
		return err
	})
	if err != nil {
		t.Fatalf("kerneltest: TCP dial: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	sc := <-accepted
	if sc == nil {
		t.Fatal("kerneltest: TCP accept failed")
	}
	t.Cleanup(func() { sc.Close() })
	return cc.(*net.TCPConn), sc.(*net.TCPConn)
}
