package tun

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gomptcp/mptcp/internal/rtnl"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// This file is a small rtnetlink (NETLINK_ROUTE, rtnetlink(7)) client: it
// looks links up, sets their MTU and up/down state, adds and removes
// addresses, and decodes the link messages the kernel multicasts. The
// messages are encoded and decoded by internal/rtnl.

// linkInfo is what the Stack needs of an RTM_NEWLINK message.
type linkInfo struct {
	index int
	name  string
	flags uint32 // IFF_*
	mtu   int    // 0 if the message has no IFLA_MTU
}

// up reports whether the link is administratively up and has a carrier
// (IFF_UP and IFF_LOWER_UP). A TUN device has a carrier while a file
// descriptor is attached, unless "ip link set dev X carrier off" took it
// away. IFF_RUNNING is not used: it follows the RFC 2863 operational
// state, which the kernel's link watcher updates up to a second late, so a
// device just brought up can carry packets before it is RUNNING.
func (l linkInfo) up() bool {
	return l.flags&unix.IFF_UP != 0 && l.flags&unix.IFF_LOWER_UP != 0
}

// errMalformed is wrapped by the errors of parseLink and of replies that
// lack what a request asked for.
var errMalformed = rtnl.ErrMalformed

// parseLink decodes the payload of an RTM_NEWLINK or RTM_DELLINK message
// (rtnl.ParseLink).
func parseLink(b []byte) (linkInfo, error) {
	l, err := rtnl.ParseLink(b)
	if err != nil {
		return linkInfo{}, err
	}
	return linkInfo{index: l.Index, name: l.Name, flags: l.Flags, mtu: int(l.MTU)}, nil
}

// oneLink runs a request answered by one RTM_NEWLINK message.
func oneLink(c *netlink.Conn, req netlink.Message) (linkInfo, error) {
	msgs, err := c.Execute(req)
	if err != nil {
		return linkInfo{}, err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK {
			return parseLink(m.Data)
		}
	}
	return linkInfo{}, fmt.Errorf("%w: no RTM_NEWLINK in the reply", errMalformed)
}

// linkByName looks a link up by name. A missing link gives an error
// wrapping ErrNoDevice.
func linkByName(c *netlink.Conn, name string) (linkInfo, error) {
	if name == "" {
		// No link has an empty name (the kernel answers ENODEV).
		return linkInfo{}, fmt.Errorf("%w: %s", ErrNoDevice, name)
	}
	l, err := oneLink(c, netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   rtnl.Link{Name: name}.Append(nil),
	})
	if errors.Is(err, unix.ENODEV) {
		return linkInfo{}, fmt.Errorf("%w: %s", ErrNoDevice, name)
	}
	if err != nil {
		return linkInfo{}, fmt.Errorf("tun: looking up link %s: %w", name, err)
	}
	return l, nil
}

// linkByIndex looks a link up by index.
func linkByIndex(c *netlink.Conn, index int) (linkInfo, error) {
	l, err := oneLink(c, netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   rtnl.Link{Index: index}.Append(nil),
	})
	if errors.Is(err, unix.ENODEV) {
		return linkInfo{}, fmt.Errorf("%w: index %d", ErrNoDevice, index)
	}
	if err != nil {
		return linkInfo{}, fmt.Errorf("tun: looking up link %d: %w", index, err)
	}
	return l, nil
}

// setLink brings link index up or down and, if mtu is not zero, sets its
// MTU, in one RTM_NEWLINK request.
func setLink(c *netlink.Conn, index int, up bool, mtu int) error {
	l := rtnl.Link{Index: index, Change: unix.IFF_UP, MTU: uint32(mtu)}
	if up {
		l.Flags = unix.IFF_UP
	}
	_, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWLINK, Flags: netlink.Request | netlink.Acknowledge},
		Data:   l.Append(nil),
	})
	if err != nil {
		return fmt.Errorf("tun: setting link %d up=%v mtu=%d: %w", index, up, mtu, err)
	}
	return nil
}

// addrMessage encodes the payload of a request about address p on link
// index: a struct ifaddrmsg, and IFA_ADDRESS and IFA_LOCAL both holding the
// address, as for any link that is not point-to-point (rtnetlink(7)). IPv6
// addresses carry IFA_F_NODAD: a TUN link has no other node that could hold
// the address, and duplicate address detection would keep it tentative
// (unusable) for about a second (RFC 4862 §5.4).
func addrMessage(index int, p netip.Prefix) []byte {
	a := rtnl.Addr{Addr: p.Addr(), PrefixLen: p.Bits(), IfIndex: index, Scope: unix.RT_SCOPE_UNIVERSE}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a.Append(nil)
}

// addAddr assigns p to link index. It reports false, and no error, if the
// link already had the address.
func addAddr(c *netlink.Conn, index int, p netip.Prefix) (bool, error) {
	_, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWADDR, Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
		Data:   addrMessage(index, p),
	})
	if errors.Is(err, unix.EEXIST) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tun: adding %v to link %d: %w", p, index, err)
	}
	return true, nil
}

// delAddr removes p from link index. A missing address is no error.
func delAddr(c *netlink.Conn, index int, p netip.Prefix) error {
	_, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_DELADDR, Flags: netlink.Request | netlink.Acknowledge},
		Data:   addrMessage(index, p),
	})
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("tun: removing %v from link %d: %w", p, index, err)
	}
	return nil
}

// isLocal reports whether the kernel routes a to itself (RTM_GETROUTE
// answers with a route of type RTN_LOCAL): whether the kernel uses a as one
// of its addresses yet.
func isLocal(c *netlink.Conn, a netip.Addr) (bool, error) {
	// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope,
	// type (u8 each), flags (u32).
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = unix.AF_INET
	if a.Is6() {
		b[0] = unix.AF_INET6
	}
	b[1] = byte(a.BitLen())
	dst, err := netlink.MarshalAttributes([]netlink.Attribute{{Type: unix.RTA_DST, Data: a.AsSlice()}})
	if err != nil {
		return false, err
	}
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request},
		Data:   append(b, dst...),
	})
	if errors.Is(err, unix.ENETUNREACH) || errors.Is(err, unix.EHOSTUNREACH) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tun: route to %v: %w", a, err)
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWROUTE && len(m.Data) >= unix.SizeofRtMsg {
			return m.Data[7] == unix.RTN_LOCAL, nil
		}
	}
	return false, fmt.Errorf("%w: no RTM_NEWROUTE in the reply", errMalformed)
}
