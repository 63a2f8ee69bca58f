package tun

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"go.uber.org/goleak"
	"golang.org/x/net/icmp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait is how long tests wait for something that should happen at once.
const wait = 5 * time.Second

// newNetNS creates a network namespace for one test (see
// kerneltest.NewPlainNetns); devices created in it go with it. It skips
// the test unless it can also create TUN devices.
func newNetNS(t testing.TB) *kerneltest.Netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and TUN devices")
	}
	if _, err := os.Stat(cloneDevice); err != nil {
		t.Skipf("needs %s: %v", cloneDevice, err)
	}
	return kerneltest.NewPlainNetns(t)
}

// inNS runs f on a thread inside the namespace, failing the test on error:
// sockets f creates belong to the namespace and work from any goroutine
// afterwards.
func inNS(t testing.TB, ns *kerneltest.Netns, f func() error) {
	t.Helper()
	if err := ns.Do(f); err != nil {
		t.Fatal(err)
	}
}

// udp opens a UDP socket of the kernel's stack in the namespace.
func udp(t testing.TB, ns *kerneltest.Netns, laddr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	inNS(t, ns, func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// listenICMP opens a raw ICMP (or ICMPv6) socket of the kernel's stack in
// the namespace.
func listenICMP(t testing.TB, ns *kerneltest.Netns, laddr netip.Addr) *icmp.PacketConn {
	t.Helper()
	network := "ip4:icmp"
	if laddr.Is6() {
		network = "ip6:ipv6-icmp"
	}
	var c *icmp.PacketConn
	inNS(t, ns, func() error {
		var err error
		c, err = icmp.ListenPacket(network, laddr.String())
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// openStack opens a Stack in ns, starts node on it and closes it when the
// test ends.
func openStack(t testing.TB, ns *kerneltest.Netns, node *echoNode, devs ...DeviceConfig) *Stack {
	t.Helper()
	s, err := Open(Config{Devices: devs, NetNS: ns.Path})
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
