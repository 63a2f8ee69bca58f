package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
)

// pathAddrs are the addresses of a one-device test: the kernel's and the
// Node's, over IPv4 and IPv6.
var (
	kern4, node4 = pfx("10.77.1.1/24"), pfx("10.77.1.2/24")
	kern6, node6 = pfx("fd00:77:1::1/64"), pfx("fd00:77:1::2/64")
)

func oneDevice(tag string, offload bool) DeviceConfig {
	return DeviceConfig{
		Name:            devName(tag),
		Addrs:           []netip.Prefix{node4, node6},
		KernelAddrs:     []netip.Prefix{kern4, kern6},
		DisableOffloads: !offload,
	}
}

func TestRoundTrip(t *testing.T) {
	for _, offload := range []bool{true, false} {
		for _, fam := range []struct {
			name       string
			kern, node netip.Prefix
		}{{"ipv4", kern4, node4}, {"ipv6", kern6, node6}} {
			t.Run(fmt.Sprintf("%s/offload=%v", fam.name, offload), func(t *testing.T) {
				ns := newNetNS(t)
				node := newEchoNode()
				s := openStack(t, ns, node, oneDevice("rt", offload))
				nic := s.NICs()[0]
				if nic.Offloads() != offload || !nic.Up() || nic.MTU() != DefaultMTU || nic.Index() != 1 {
					t.Fatalf("NIC: offloads=%v up=%v mtu=%d index=%d; want %v true %d 1", nic.Offloads(), nic.Up(), nic.MTU(), nic.Index(), offload, DefaultMTU)
				}

				// UDP from a kernel socket to the Node and back.
				c := udp(t, ns, netip.AddrPortFrom(fam.kern.Addr(), 0))
				dst := netip.AddrPortFrom(fam.node.Addr(), 7)
				for i := range 3 {
					msg := fmt.Sprintf("hello %d", i)
					got, _ := echo(t, c, dst, msg, wait)
					if got != msg {
						t.Fatalf("echo = %q, want %q", got, msg)
					}
					want := rxNote{NIC: nic.Name(), Proto: unix.IPPROTO_UDP, Dst: fam.node.Addr(), Payload: msg}
					if diff := cmp.Diff(want, nextRx(t, node), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
						t.Fatalf("Node saw (-want +got):\n%s", diff)
					}
				}

				// ICMP echo: the kernel's ping.
				pingNode(t, ns, fam.kern.Addr(), fam.node.Addr())
				if n := nextRx(t, node); n.Payload != "gomptcp ping" {
					t.Fatalf("Node saw ICMP payload %q", n.Payload)
				}

				st := nic.Stats()
				if st.RxPackets != 4 || st.TxPackets != 4 || st.RxDroppedChecksum != 0 || st.RxDroppedMalformed != 0 || st.TxErrors != 0 || st.RxErrors != 0 {
					t.Fatalf("stats %+v: want 4 packets each way and no errors", st)
				}
			})
		}
	}
}

// pingNode sends an ICMP or ICMPv6 echo request from the kernel's address
// src to dst and checks the reply.
func pingNode(t *testing.T, ns *kerneltest.Netns, src, dst netip.Addr) {
	t.Helper()
	c := listenICMP(t, ns, src)
	var typ, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if dst.Is6() {
		typ, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: 0x4d50, Seq: 1, Data: []byte("gomptcp ping")}}
	b, err := msg.Marshal(nil) // the kernel fills in the ICMPv6 checksum
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no ICMP echo reply from %v: %v", dst, err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			t.Fatalf("reply from %v: %v", from, err)
		}
		if m.Type != replyType {
			continue // our own request, seen by the raw socket, or other chatter
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || e.ID != 0x4d50 || e.Seq != 1 || string(e.Data) != "gomptcp ping" {
			t.Fatalf("echo reply body %+v", m.Body)
		}
		if from.String() != dst.String() {
			t.Fatalf("echo reply from %v, want %v", from, dst)
		}
		return
	}
}

// TestWeakHost: a packet for the address of one NIC that arrives on another
// is accepted and the Node learns where it arrived; a packet for an address
// the Stack does not have is dropped.
func TestWeakHost(t *testing.T) {
	ns := newNetNS(t)
	node := newEchoNode()
	a := DeviceConfig{Name: devName("wa"), Addrs: []netip.Prefix{pfx("10.77.1.2/24")}, KernelAddrs: []netip.Prefix{pfx("10.77.1.1/24")}}
	b := DeviceConfig{Name: devName("wb"), Addrs: []netip.Prefix{pfx("10.77.2.2/24")}, KernelAddrs: []netip.Prefix{pfx("10.77.2.1/24")}}
	s := openStack(t, ns, node, a, b)
	na, nb := s.NICs()[0], s.NICs()[1]
	if na.Index() != 1 || nb.Index() != 2 || na.Name() != a.Name || nb.Name() != b.Name {
		t.Fatalf("NICs %v(%d) %v(%d)", na, na.Index(), nb, nb.Index())
	}
	// The second link works.
	c2 := udp(t, ns, netip.MustParseAddrPort("10.77.2.1:0"))
	echo(t, c2, netip.MustParseAddrPort("10.77.2.2:9"), "direct", wait)
	if n := nextRx(t, node); n.NIC != b.Name {
		t.Fatalf("Node saw it on %s, want %s", n.NIC, b.Name)
	}

	// Now the kernel reaches the second NIC's address through the first
	// device, and an address that is nobody's as well.
	ns.IP(t, "route", "add", "10.77.2.2/32", "dev", a.Name)
	ns.IP(t, "route", "add", "10.77.9.9/32", "dev", a.Name)

	c := udp(t, ns, netip.MustParseAddrPort("10.77.1.1:0"))
	for _, tc := range []struct {
		dst     string
		wantNIC string
	}{
		{"10.77.1.2", a.Name}, // own address, own link
		{"10.77.2.2", a.Name}, // the other NIC's address, over the first link
	} {
		dst := netip.AddrPortFrom(netip.MustParseAddr(tc.dst), 9)
		echo(t, c, dst, "weak "+tc.dst, wait)
		if n := nextRx(t, node); n.NIC != tc.wantNIC || n.Dst != dst.Addr() {
			t.Fatalf("packet for %v: Node saw it on %s for %v, want %s", dst, n.NIC, n.Dst, tc.wantNIC)
		}
	}

	before := na.Stats().RxDroppedNotLocal
	if _, _, err := tryEcho(c, netip.MustParseAddrPort("10.77.9.9:9"), "nobody", 200*time.Millisecond); err == nil {
		t.Fatal("a packet for 10.77.9.9 was answered")
	}
	select {
	case n := <-node.rx:
		t.Fatalf("the Node received a packet for an address it does not have: %+v", n)
	default:
	}
	if got := na.Stats().RxDroppedNotLocal; got <= before {
		t.Fatalf("RxDroppedNotLocal = %d, want more than %d", got, before)
	}
}

// TestLinkDownUp: the kernel taking a device down and up, or its carrier
// off and on, reaches the Node as link events, and NIC.Up and Send follow.
func TestLinkDownUp(t *testing.T) {
	ns := newNetNS(t)
	node := newEchoNode()
	dc := oneDevice("ld", true)
	s := openStack(t, ns, node, dc)
	nic := s.NICs()[0]
	c := udp(t, ns, netip.AddrPortFrom(kern6.Addr(), 0))
	dst := netip.AddrPortFrom(node6.Addr(), 7)
	echo(t, c, dst, "before", wait)
	nextRx(t, node)

	for _, tc := range []struct{ down, up []string }{
		{[]string{"link", "set", "dev", dc.Name, "down"}, []string{"link", "set", "dev", dc.Name, "up"}},
		{[]string{"link", "set", "dev", dc.Name, "carrier", "off"}, []string{"link", "set", "dev", dc.Name, "carrier", "on"}},
	} {
		ns.IP(t, tc.down...)
		if e := nextEv(t, node); e != (evNote{NIC: dc.Name, Kind: link.EventDown, Up: false}) {
			t.Fatalf("after %v: event %+v, want down", tc.down, e)
		}
		var sendErr error
		call(t, s, func(time.Time) { sendErr = nic.Send([]byte{0x45}) })
		if !errors.Is(sendErr, link.ErrDown) || nic.Up() {
			t.Fatalf("while down: Send = %v, Up = %v; want link.ErrDown, false", sendErr, nic.Up())
		}
		ns.IP(t, tc.up...)
		if e := nextEv(t, node); e != (evNote{NIC: dc.Name, Kind: link.EventUp, Up: true}) {
			t.Fatalf("after %v: event %+v, want up", tc.up, e)
		}
		// The IPv6 kernel address, dropped by the kernel on down, is back.
		got, _, err := tryEcho(c, dst, "after", time.Second)
		for i := 0; err != nil && i < 20; i++ {
			got, _, err = tryEcho(c, dst, "after", 250*time.Millisecond)
		}
		if err != nil || got != "after" {
			t.Fatalf("after %v: echo = %q, %v", tc.up, got, err)
		}
		for len(node.rx) > 0 {
			<-node.rx
		}
	}
	if st := nic.Stats(); st.TxDroppedDown == 0 {
		t.Fatalf("TxDroppedDown = 0 after a Send while down")
	}
}

// TestDeviceDeleted: a device deleted under the Stack is a link going down
// for good; Close still works.
func TestDeviceDeleted(t *testing.T) {
	ns := newNetNS(t)
	node := newEchoNode()
	dc := oneDevice("dd", true)
	openStack(t, ns, node, dc)
	ns.IP(t, "link", "del", "dev", dc.Name)
	if e := nextEv(t, node); e.Kind != link.EventDown || e.NIC != dc.Name {
		t.Fatalf("event %+v, want down on %s", e, dc.Name)
	}
}

// TestMiddleware: middleware on receive delays packets and middleware on
// transmit drops some, end to end over the device; its settings change
// from Do.
func TestMiddleware(t *testing.T) {
	ns := newNetNS(t)
	node := newEchoNode()
	const delay = 40 * time.Millisecond
	imp, err := impair.New(impair.Config{Delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	dc := oneDevice("mw", true)
	dc.RxMiddleware = imp
	dc.TxMiddleware = link.Func(func(now time.Time, pkt []byte, out link.Emitter) {
		if !strings.Contains(string(pkt), "drop me") {
			out.Emit(pkt)
		}
	})
	s := openStack(t, ns, node, dc)
	c := udp(t, ns, netip.AddrPortFrom(kern4.Addr(), 0))
	dst := netip.AddrPortFrom(node4.Addr(), 7)

	for i := range 3 {
		if _, rtt := echo(t, c, dst, fmt.Sprint("delayed ", i), wait); rtt < delay {
			t.Fatalf("round trip %v through a %v delay", rtt, delay)
		}
		nextRx(t, node)
	}
	if _, _, err := tryEcho(c, dst, "drop me", 300*time.Millisecond); err == nil {
		t.Fatal("the reply to \"drop me\" was not dropped")
	}
	if n := nextRx(t, node); n.Payload != "drop me" {
		t.Fatalf("Node saw %q, want the request it answered", n.Payload)
	}
	var st impair.Stats
	call(t, s, func(time.Time) { st = imp.Stats() }) // the Impairer belongs to the loop
	if st.DeliveredPackets < 4 {
		t.Fatalf("impairer stats %+v: want at least 4 delivered", st)
	}

	call(t, s, func(now time.Time) {
		if err := imp.SetConfig(now, impair.Config{}); err != nil {
			t.Error(err)
		}
	})
	var best time.Duration = time.Hour
	for range 5 {
		_, rtt := echo(t, c, dst, "fast", wait)
		best = min(best, rtt)
		nextRx(t, node)
	}
	if best >= delay {
		t.Fatalf("best round trip %v after removing the %v delay", best, delay)
	}
}

// TestTimer: the Node's deadline wakes the loop and Timer sends.
func TestTimer(t *testing.T) {
	ns := newNetNS(t)
	node := newEchoNode()
	openStack(t, ns, node, oneDevice("tm", true))
	c := udp(t, ns, netip.AddrPortFrom(kern4.Addr(), 0))
	if _, rtt := echo(t, c, netip.AddrPortFrom(node4.Addr(), 7), "timer: later", wait); rtt < timerDelay {
		t.Fatalf("reply from Timer after %v, want at least %v", rtt, timerDelay)
	}
}

// TestAddrEvents: addresses added and removed while running reach the
// Node as events and change what the Stack accepts.
func TestAddrEvents(t *testing.T) {
	ns := newNetNS(t)
	node := newEchoNode()
	s := openStack(t, ns, node, oneDevice("ae", true))
	nic := s.NICs()[0]
	extra := pfx("10.77.1.3/24")
	c := udp(t, ns, netip.AddrPortFrom(kern4.Addr(), 0))
	dst := netip.AddrPortFrom(extra.Addr(), 7)
	if _, _, err := tryEcho(c, dst, "not yet", 200*time.Millisecond); err == nil {
		t.Fatal("a packet for an address not yet added was answered")
	}

	var errs [3]error
	call(t, s, func(time.Time) {
		errs[0] = nic.AddAddr(extra)
		errs[1] = nic.AddAddr(extra) // twice
		errs[2] = nic.AddAddr(kern4) // the kernel's
	})
	if errs[0] != nil || !errors.Is(errs[1], ErrConfig) || !errors.Is(errs[2], ErrConfig) {
		t.Fatalf("AddAddr: %v", errs)
	}
	if e := nextEv(t, node); e != (evNote{NIC: nic.Name(), Kind: link.EventAddrAdded, Addr: extra, Up: true}) {
		t.Fatalf("event %+v, want addr-added %v", e, extra)
	}
	if got := nic.Addrs(); !cmp.Equal(got, []netip.Prefix{node4, node6, extra}, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) {
		t.Fatalf("Addrs = %v", got)
	}
	echo(t, c, dst, "now", wait)

	var removed [2]bool
	call(t, s, func(time.Time) { removed[0], removed[1] = nic.RemoveAddr(extra), nic.RemoveAddr(extra) })
	if removed != [2]bool{true, false} {
		t.Fatalf("RemoveAddr twice = %v", removed)
	}
	if e := nextEv(t, node); e.Kind != link.EventAddrRemoved || e.Addr != extra {
		t.Fatalf("event %+v, want addr-removed %v", e, extra)
	}
	if _, _, err := tryEcho(c, dst, "gone", 200*time.Millisecond); err == nil {
		t.Fatal("a packet for a removed address was answered")
	}
}

// TestAttach: an existing device made with "ip tuntap add" is used and left
// as it was found.
func TestAttach(t *testing.T) {
	ns := newNetNS(t)
	name := devName("at")
	ns.IP(t, "tuntap", "add", "dev", name, "mode", "tun")
	ns.IP(t, "link", "set", "dev", name, "mtu", "1400")

	node := newEchoNode()
	dc := DeviceConfig{Name: name, Attach: true, MTU: 1300, Addrs: []netip.Prefix{node4}, KernelAddrs: []netip.Prefix{kern4}}
	s, err := Open(Config{Devices: []DeviceConfig{dc}, NetNS: ns.Path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(node); err != nil {
		t.Fatal(err)
	}
	if m := s.NICs()[0].MTU(); m != 1300 {
		t.Fatalf("MTU = %d, want 1300", m)
	}
	c := udp(t, ns, netip.AddrPortFrom(kern4.Addr(), 0))
	echo(t, c, netip.AddrPortFrom(node4.Addr(), 7), "attached", wait)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out := ns.IP(t, "-o", "addr", "show", "dev", name)
	if strings.Contains(out, kern4.Addr().String()) {
		t.Fatalf("the kernel address stayed after Close: %s", out)
	}
	out = ns.IP(t, "-o", "link", "show", "dev", name)
	if !strings.Contains(out, "mtu 1400") || strings.Contains(out, ",UP") || strings.Contains(out, "<UP") {
		t.Fatalf("device not restored (want mtu 1400, down): %s", out)
	}
}

func TestOpenErrors(t *testing.T) {
	ns := newNetNS(t)
	taken := devName("tp")
	ns.IP(t, "tuntap", "add", "dev", taken, "mode", "tap")
	for _, tc := range []struct {
		name string
		dev  DeviceConfig
		want error
	}{
		{"attach-missing", DeviceConfig{Name: devName("no"), Attach: true}, ErrNoDevice},
		{"create-existing", DeviceConfig{Name: taken}, ErrExists},
		{"attach-tap", DeviceConfig{Name: taken, Attach: true}, unix.EINVAL},
		{"bad-config", DeviceConfig{Name: "a/b"}, ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(Config{Devices: []DeviceConfig{tc.dev}, NetNS: ns.Path})
			if !errors.Is(err, tc.want) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
	// A failed Open of several devices removes the ones it made.
	ok := devName("ok")
	_, err := Open(Config{NetNS: ns.Path, Devices: []DeviceConfig{{Name: ok}, {Name: taken}}})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("Open = %v, want ErrExists", err)
	}
	if out := ns.IP(t, "-o", "link", "show"); strings.Contains(out, ok) {
		t.Fatalf("device %s left behind by a failed Open: %s", ok, out)
	}
	if _, err := Open(Config{NetNS: "/nonexistent/netns", Devices: []DeviceConfig{{}}}); err == nil {
		t.Fatal("Open with a missing namespace succeeded")
	}
}

// TestClose: Close stops every goroutine, is idempotent, and the Stack
// refuses work afterwards.
func TestClose(t *testing.T) {
	ns := newNetNS(t)
	ignore := goleak.IgnoreCurrent()
	node := newEchoNode()

	// Closed without being started.
	s, err := Open(Config{Devices: []DeviceConfig{oneDevice("c1", true)}, NetNS: ns.Path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore)

	// Started, with traffic and a pending timer and middleware deadline.
	imp, _ := impair.New(impair.Config{Delay: time.Hour})
	dc := oneDevice("c2", false)
	dc.TxMiddleware = imp
	s, err = Open(Config{Devices: []DeviceConfig{dc, oneDeviceAt("c3", 2)}, NetNS: ns.Path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(node); !errors.Is(s.Start(node), ErrStarted) || err != nil {
		t.Fatalf("Start: %v; second Start should be ErrStarted", err)
	}
	c := udp(t, ns, netip.AddrPortFrom(kern4.Addr(), 0))
	c.WriteToUDPAddrPort([]byte("timer: pending"), netip.AddrPortFrom(node4.Addr(), 7))
	nextRx(t, node)
	errc := make(chan error, 2)
	for range 2 {
		go func() { errc <- s.Close() }()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Do(func(time.Time) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close = %v", err)
	}
	if err := s.Start(node); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close = %v", err)
	}
	c.Close()
	goleak.VerifyNone(t, ignore)
	if out := ns.IP(t, "-o", "link", "show"); strings.Contains(out, dc.Name) {
		t.Fatalf("device left after Close: %s", out)
	}
}

// oneDeviceAt is a device on the k-th test subnet.
func oneDeviceAt(tag string, k int) DeviceConfig {
	return DeviceConfig{
		Name:        devName(tag),
		Addrs:       []netip.Prefix{pfx(fmt.Sprintf("10.77.%d.2/24", k))},
		KernelAddrs: []netip.Prefix{pfx(fmt.Sprintf("10.77.%d.1/24", k))},
	}
}

// TestSegmentation: a kernel UDP sender using segmentation offload
// (UDP_SEGMENT) hands the device one super-packet; with offloads the Stack
// reads it at once and splits it, without them the kernel splits it. Either
// way the Node gets every datagram, in order. The Node's burst of equal
// datagrams in the other direction arrives whole.
func TestSegmentation(t *testing.T) {
	for _, mode := range []struct{ offload, coalesce bool }{{true, false}, {true, true}, {false, false}} {
		offload := mode.offload
		t.Run(fmt.Sprintf("offload=%v/coalesce=%v", offload, mode.coalesce), func(t *testing.T) {
			ns := newNetNS(t)
			node := newEchoNode()
			dc := oneDevice("sg", offload)
			dc.CoalesceWrites = mode.coalesce
			s := openStack(t, ns, node, dc)
			nic := s.NICs()[0]
			c := udp(t, ns, netip.AddrPortFrom(kern4.Addr(), 0))
			const segs, size = 20, 1000
			payload := make([]byte, segs*size)
			for i := range segs {
				copy(payload[i*size:], fmt.Sprintf("seg %02d ", i))
			}
			gsoSend(t, c, netip.AddrPortFrom(node4.Addr(), 7), payload, size)
			for i := range segs {
				n := nextRx(t, node)
				if want := string(payload[i*size : (i+1)*size]); n.Payload != want {
					t.Fatalf("datagram %d starts %q, want %q", i, n.Payload[:8], want[:8])
				}
			}
			// Other packets (the kernel's IPv6 chatter) are read and
			// dropped as not local.
			st := nic.Stats()
			read := st.RxPackets + st.RxDroppedNotLocal
			if offload && st.RxReads >= read || !offload && st.RxReads != read {
				t.Fatalf("offload=%v: %d packets in %d reads", offload, read, st.RxReads)
			}
			// Drain the echoes of the segments.
			buf := make([]byte, 65536)
			for range segs {
				c.SetReadDeadline(time.Now().Add(wait))
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					t.Fatal(err)
				}
			}

			// A burst from the Node, written in one batch.
			const burst = 30
			msg := "burst:" + fmt.Sprint(burst) + ":" + strings.Repeat("x", 1200)
			if _, err := c.WriteToUDPAddrPort([]byte(msg), netip.AddrPortFrom(node4.Addr(), 7)); err != nil {
				t.Fatal(err)
			}
			for i := range burst {
				c.SetReadDeadline(time.Now().Add(wait))
				n, _, err := c.ReadFromUDPAddrPort(buf)
				if err != nil || string(buf[:n]) != msg {
					t.Fatalf("burst datagram %d: %d bytes, %v", i, n, err)
				}
			}
			// With offloads, coalescing writes put the burst in fewer
			// writes than packets; otherwise a packet goes in each.
			st = nic.Stats()
			if coalesced := st.TxWrites < st.TxPackets; offload && coalesced != mode.coalesce {
				t.Errorf("%d packets in %d writes", st.TxPackets, st.TxWrites)
			}
		})
	}
}

// gsoSend sends payload as one sendmsg with UDP_SEGMENT, which the kernel
// sends as datagrams of size bytes.
func gsoSend(t testing.TB, c *net.UDPConn, dst netip.AddrPort, payload []byte, size int) {
	t.Helper()
	if _, _, err := c.WriteMsgUDPAddrPort(payload, gsoControl(size), dst); err != nil {
		t.Fatalf("sendmsg with UDP_SEGMENT: %v", err)
	}
}

// gsoControl returns the control message that makes the kernel send a
// sendmsg's data as datagrams of size bytes.
func gsoControl(size int) []byte {
	// A control message of level SOL_UDP, type UDP_SEGMENT, holding the
	// segment size as a u16 (udp(7)).
	oob := make([]byte, unix.CmsgSpace(2))
	hdr := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	hdr.Level, hdr.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	hdr.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
	return oob
}
