//go:build linux

package rtnl_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/internal/rtnl"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestLiveDump parses the kernel's own dumps of the links and addresses of
// a namespace with a veth pair, and compares them with what the net
// package (an independent decoder of the same messages) reports.
func TestLiveDump(t *testing.T) {
	n := kerneltest.NewPlainNetns(t)
	n.AddVeth(t, "gmtv0", n, "gmtv1")
	n.IP(t, "link", "set", "gmtv0", "mtu", "1400")
	n.IP(t, "addr", "add", "10.0.1.1/24", "dev", "gmtv0", "label", "gmtv0:a")
	n.AddAddr(t, "gmtv1", netip.MustParsePrefix("fd00::2/64"))
	c, err := netlink.Dial(unix.NETLINK_ROUTE, n.NetlinkConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var links []rtnl.Link
	for _, m := range dump(t, c, rtnl.RTMGetLink, rtnl.Link{}.Append(nil)) {
		l, err := rtnl.ParseLink(m.Data)
		if err != nil {
			t.Fatalf("RTM_NEWLINK %x: %v", m.Data, err)
		}
		links = append(links, l)
	}
	var addrs []rtnl.Addr
	for _, m := range dump(t, c, rtnl.RTMGetAddr, make([]byte, rtnl.SizeofIfAddrmsg)) {
		a, err := rtnl.ParseAddr(m.Data)
		if err != nil {
			t.Fatalf("RTM_NEWADDR %x: %v", m.Data, err)
		}
		addrs = append(addrs, a)
	}

	var wantLinks, gotLinks, wantAddrs, gotAddrs []string
	err = n.Do(func() error {
		ifis, err := net.Interfaces()
		for _, ifi := range ifis {
			wantLinks = append(wantLinks, fmt.Sprintf("%d %s mtu %d up=%v loopback=%v running=%v",
				ifi.Index, ifi.Name, ifi.MTU, ifi.Flags&net.FlagUp != 0, ifi.Flags&net.FlagLoopback != 0, ifi.Flags&net.FlagRunning != 0))
			as, aerr := ifi.Addrs()
			for _, a := range as {
				wantAddrs = append(wantAddrs, fmt.Sprintf("%d %v", ifi.Index, a))
			}
			err = errors.Join(err, aerr)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		gotLinks = append(gotLinks, fmt.Sprintf("%d %s mtu %d up=%v loopback=%v running=%v",
			l.Index, l.Name, l.MTU, l.Flags&rtnl.IFFUp != 0, l.Flags&rtnl.IFFLoopback != 0, l.Flags&rtnl.IFFRunning != 0))
	}
	for _, a := range addrs {
		gotAddrs = append(gotAddrs, fmt.Sprintf("%d %v", a.IfIndex, netip.PrefixFrom(a.Addr, a.PrefixLen)))
	}
	for _, s := range [][]string{wantLinks, gotLinks, wantAddrs, gotAddrs} {
		slices.Sort(s)
	}
	if diff := cmp.Diff(wantLinks, gotLinks); diff != "" || len(gotLinks) != 3 {
		t.Errorf("links (-net +rtnl):\n%s", diff)
	}
	if diff := cmp.Diff(wantAddrs, gotAddrs); diff != "" || len(gotAddrs) < 4 {
		t.Errorf("addresses (-net +rtnl):\n%s", diff)
	}

	v4 := addrs[slices.IndexFunc(addrs, func(a rtnl.Addr) bool { return a.Addr == netip.MustParseAddr("10.0.1.1") })]
	if v4.Label != "gmtv0:a" || v4.Flags&rtnl.IFAFPermanent == 0 || v4.Scope != rtnl.ScopeUniverse {
		t.Errorf("10.0.1.1: %+v, want label gmtv0:a, IFA_F_PERMANENT, universe scope", v4)
	}
	v6 := addrs[slices.IndexFunc(addrs, func(a rtnl.Addr) bool { return a.Addr == netip.MustParseAddr("fd00::2") })]
	if v6.Flags&rtnl.IFAFNoDAD == 0 || v6.Flags&rtnl.IFAFTentative != 0 || v6.Label != "" {
		t.Errorf("fd00::2: %+v, want IFA_F_NODAD and no label", v6)
	}
}

// TestLiveNotifications parses the link and address notifications the
// kernel multicasts.
func TestLiveNotifications(t *testing.T) {
	n := kerneltest.NewPlainNetns(t)
	n.AddVeth(t, "gmtv0", n, "gmtv1")
	cfg := n.NetlinkConfig(t)
	cfg.Groups = 1<<(rtnl.GroupLink-1) | 1<<(rtnl.GroupIPv4IfAddr-1) | 1<<(rtnl.GroupIPv6IfAddr-1)
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	index := n.IfIndex(t, "gmtv0")
	n.IP(t, "link", "set", "gmtv0", "mtu", "1300")
	n.IP(t, "addr", "add", "10.0.2.1/24", "dev", "gmtv0")
	n.IP(t, "addr", "del", "10.0.2.1/24", "dev", "gmtv0")
	n.IP(t, "link", "del", "gmtv0")

	want := []string{
		fmt.Sprintf("%d: link %d gmtv0 mtu 1300 up=true", rtnl.RTMNewLink, index),
		fmt.Sprintf("%d: addr %d 10.0.2.1/24", rtnl.RTMNewAddr, index),
		fmt.Sprintf("%d: addr %d 10.0.2.1/24", rtnl.RTMDelAddr, index),
		fmt.Sprintf("%d: link %d gmtv0 mtu 1300 up=false", rtnl.RTMNewLink, index), // closed before it goes
		fmt.Sprintf("%d: link %d gmtv0 mtu 1300 up=false", rtnl.RTMDelLink, index),
	}
	var got []string
	for len(got) == 0 || got[len(got)-1] != want[len(want)-1] {
		msgs, err := c.Receive()
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		for _, m := range msgs {
			p, err := rtnl.Parse(uint16(m.Header.Type), m.Data)
			if err != nil {
				t.Fatalf("type %d %x: %v", m.Header.Type, m.Data, err)
			}
			// Link notifications from before the MTU change are
			// not looked at.
			switch {
			case p.Link.Index == index && p.Link.MTU == 1300:
				got = appendNew(got, fmt.Sprintf("%d: link %d %s mtu %d up=%v", p.Type, p.Link.Index, p.Link.Name, p.Link.MTU, p.Link.Flags&rtnl.IFFUp != 0))
			case p.Addr.IfIndex == index && p.Addr.Addr.Is4():
				got = appendNew(got, fmt.Sprintf("%d: addr %d %v", p.Type, p.Addr.IfIndex, netip.PrefixFrom(p.Addr.Addr, p.Addr.PrefixLen)))
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifications about gmtv0 (-want +got):\n%s", diff)
	}
}

// appendNew appends s unless it is in list already: the kernel repeats
// link notifications when the operational state or the peer's carrier
// changes, at times of its own, so only the first of each counts.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// dump runs a dump request and returns the replies.
func dump(t *testing.T, c *netlink.Conn, typ uint16, hdr []byte) []netlink.Message {
	t.Helper()
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | netlink.Dump},
		Data:   hdr,
	})
	if err != nil {
		t.Fatalf("dump of type %d: %v", typ, err)
	}
	return msgs
}
