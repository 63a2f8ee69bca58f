package tun

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/icmp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait is how long tests wait for something that should happen at once.
const wait = 5 * time.Second

var nsCounter atomic.Int64

// needRoot skips the test unless it can create network namespaces and TUN
// devices: root, /dev/net/tun and the ip tool.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and TUN devices")
	}
	if _, err := os.Stat(cloneDevice); err != nil {
		t.Skipf("needs %s: %v", cloneDevice, err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip tool (iproute2) to create network namespaces")
	}
}

// netNS is a network namespace made for one test.
type netNS struct {
	name string
	path string
}

// newNetNS creates a network namespace named gmt<pid>n<k> and deletes it
// when the test ends, whatever happens. Devices created in it go with it.
func newNetNS(t testing.TB) netNS {
	t.Helper()
	needRoot(t)
	name := fmt.Sprintf("gmt%dn%d", os.Getpid(), nsCounter.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ns := netNS{name: name, path: "/run/netns/" + name}
	if _, err := os.Stat(ns.path); err != nil {
		ns.path = "/var/run/netns/" + name
	}
	ns.ip(t, "link", "set", "lo", "up")
	return ns
}

// ip runs "ip -n NS args..." and fails the test if it fails.
func (ns netNS) ip(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// run runs f on a thread inside the namespace: sockets f creates belong to
// it and work from any goroutine afterwards.
func (ns netNS) run(t testing.TB, f func() error) {
	t.Helper()
	fd, err := os.Open(ns.path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if err := inNetNS(int(fd.Fd()), f); err != nil {
		t.Fatal(err)
	}
}

// udp opens a UDP socket of the kernel's stack in the namespace.
func (ns netNS) udp(t testing.TB, laddr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	ns.run(t, func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// icmp opens a raw ICMP (or ICMPv6) socket of the kernel's stack in the
// namespace.
func (ns netNS) icmp(t testing.TB, laddr netip.Addr) *icmp.PacketConn {
	t.Helper()
	network := "ip4:icmp"
	if laddr.Is6() {
		network = "ip6:ipv6-icmp"
	}
	var c *icmp.PacketConn
	ns.run(t, func() error {
		var err error
		c, err = icmp.ListenPacket(network, laddr.String())
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// openStack opens a Stack in ns, starts node on it and closes it when the
// test ends.
func openStack(t testing.TB, ns netNS, node *echoNode, devs ...DeviceConfig) *Stack {
	t.Helper()
	s, err := Open(Config{Devices: devs, NetNS: ns.path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Start(node); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s
}

// devName returns a device name unique to this process.
func devName(tag string) string {
	return fmt.Sprintf("gmt%d%s", os.Getpid()%100000, tag)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// echo sends payload from c to dst and returns the reply and the round-trip
// time; it fails the test if none comes within timeout.
func echo(t testing.TB, c *net.UDPConn, dst netip.AddrPort, payload string, timeout time.Duration) (string, time.Duration) {
	t.Helper()
	got, rtt, err := tryEcho(c, dst, payload, timeout)
	if err != nil {
		t.Fatalf("UDP echo of %q to %v: %v", payload, dst, err)
	}
	return got, rtt
}

func tryEcho(c *net.UDPConn, dst netip.AddrPort, payload string, timeout time.Duration) (string, time.Duration, error) {
	start := time.Now()
	if _, err := c.WriteToUDPAddrPort([]byte(payload), dst); err != nil {
		return "", 0, err
	}
	buf := make([]byte, 65536)
	c.SetReadDeadline(time.Now().Add(timeout))
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return "", 0, err
		}
		if from.Addr().Unmap() == dst.Addr() && from.Port() == dst.Port() && string(buf[:n]) == payload {
			return string(buf[:n]), time.Since(start), nil
		}
	}
}

// nextRx returns the next packet the node reports, failing after wait.
func nextRx(t testing.TB, node *echoNode) rxNote {
	t.Helper()
	select {
	case n := <-node.rx:
		return n
	case <-time.After(wait):
		t.Fatal("the Node received nothing")
	}
	return rxNote{}
}

// nextEv returns the next link event the node reports, failing after wait.
func nextEv(t testing.TB, node *echoNode) evNote {
	t.Helper()
	select {
	case e := <-node.ev:
		return e
	case <-time.After(wait):
		t.Fatal("the Node got no link event")
	}
	return evNote{}
}

// call runs f on the Stack's loop and waits for it.
func call(t testing.TB, s *Stack, f func(now time.Time)) {
	t.Helper()
	done := make(chan struct{})
	if err := s.Do(func(now time.Time) { f(now); close(done) }); err != nil {
		t.Fatalf("Do: %v", err)
	}
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Do did not run")
	}
}
