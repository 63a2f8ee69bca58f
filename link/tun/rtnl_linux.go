package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// This file is a small rtnetlink (NETLINK_ROUTE, rtnetlink(7)) client: it
// looks links up, sets their MTU and up/down state, adds and removes
// addresses, and decodes the link messages the kernel multicasts.

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

// errMalformed is wrapped by the errors of parseLink.
var errMalformed = errors.New("malformed rtnetlink message")

// parseLink decodes the payload of an RTM_NEWLINK or RTM_DELLINK message:
// a struct ifinfomsg followed by IFLA_* attributes (linux/rtnetlink.h,
// linux/if_link.h). Unknown attributes are skipped.
func parseLink(b []byte) (linkInfo, error) {
	if len(b) < unix.SizeofIfInfomsg {
		return linkInfo{}, fmt.Errorf("%w: ifinfomsg of %d bytes", errMalformed, len(b))
	}
	// struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32,
	// change u32, in host byte order.
	l := linkInfo{
		index: int(int32(binary.NativeEndian.Uint32(b[4:8]))),
		flags: binary.NativeEndian.Uint32(b[8:12]),
	}
	if l.index <= 0 {
		return linkInfo{}, fmt.Errorf("%w: interface index %d", errMalformed, l.index)
	}
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfInfomsg:])
	if err != nil {
		return linkInfo{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_IFNAME:
			l.name = ad.String()
		case unix.IFLA_MTU:
			l.mtu = int(ad.Uint32())
		}
	}
	if err := ad.Err(); err != nil {
		return linkInfo{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return l, nil
}

// ifinfomsg encodes a struct ifinfomsg.
func ifinfomsg(index int, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(int32(index)))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

func appendAttrs(b []byte, attrs ...netlink.Attribute) ([]byte, error) {
	ab, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return nil, err
	}
	return append(b, ab...), nil
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
	data, err := appendAttrs(ifinfomsg(0, 0, 0), netlink.Attribute{Type: unix.IFLA_IFNAME, Data: append([]byte(name), 0)})
	if err != nil {
		return linkInfo{}, err
	}
	l, err := oneLink(c, netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   data,
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
		Data:   ifinfomsg(index, 0, 0),
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
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	data := ifinfomsg(index, flags, unix.IFF_UP)
	if mtu != 0 {
		var err error
		if data, err = appendAttrs(data, netlink.Attribute{Type: unix.IFLA_MTU, Data: binary.NativeEndian.AppendUint32(nil, uint32(mtu))}); err != nil {
			return err
		}
	}
	_, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWLINK, Flags: netlink.Request | netlink.Acknowledge},
		Data:   data,
	})
	if err != nil {
		return fmt.Errorf("tun: setting link %d up=%v mtu=%d: %w", index, up, mtu, err)
	}
	return nil
}

// addrMessage encodes a struct ifaddrmsg and the attributes that name p on
// link index: IFA_LOCAL and IFA_ADDRESS both hold the address, as for any
// link that is not point-to-point (rtnetlink(7)). IPv6 addresses carry
// IFA_F_NODAD: a TUN link has no other node that could hold the address,
// and duplicate address detection would keep it tentative (unusable) for
// about a second (RFC 4862 §5.4).
func addrMessage(index int, p netip.Prefix) ([]byte, error) {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET
	var flags uint32
	if p.Addr().Is6() {
		b[0] = unix.AF_INET6
		flags = unix.IFA_F_NODAD
	}
	b[1] = byte(p.Bits())
	b[2] = byte(flags)
	b[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(b[4:], uint32(int32(index)))
	a := p.Addr().AsSlice()
	return appendAttrs(b,
		netlink.Attribute{Type: unix.IFA_LOCAL, Data: a},
		netlink.Attribute{Type: unix.IFA_ADDRESS, Data: a},
		netlink.Attribute{Type: unix.IFA_FLAGS, Data: binary.NativeEndian.AppendUint32(nil, flags)},
	)
}

// addAddr assigns p to link index. It reports false, and no error, if the
// link already had the address.
func addAddr(c *netlink.Conn, index int, p netip.Prefix) (bool, error) {
	data, err := addrMessage(index, p)
	if err != nil {
		return false, err
	}
	_, err = c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWADDR, Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
		Data:   data,
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
	data, err := addrMessage(index, p)
	if err != nil {
		return err
	}
	_, err = c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_DELADDR, Flags: netlink.Request | netlink.Acknowledge},
		Data:   data,
	})
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("tun: removing %v from link %d: %w", p, index, err)
	}
	return nil
}

// addrInfo is what the Stack needs of an RTM_NEWADDR message.
type addrInfo struct {
	index int
	addr  netip.Addr
	flags uint32 // IFA_F_*
}

// parseAddr decodes the payload of an RTM_NEWADDR or RTM_DELADDR message: a
// struct ifaddrmsg followed by IFA_* attributes (linux/if_addr.h). The
// address is IFA_LOCAL if present, else IFA_ADDRESS; IFA_FLAGS, if present,
// replaces the 8-bit flags of the header.
func parseAddr(b []byte) (addrInfo, error) {
	if len(b) < unix.SizeofIfAddrmsg {
		return addrInfo{}, fmt.Errorf("%w: ifaddrmsg of %d bytes", errMalformed, len(b))
	}
	// struct ifaddrmsg: family u8, prefixlen u8, flags u8, scope u8,
	// index u32.
	a := addrInfo{index: int(int32(binary.NativeEndian.Uint32(b[4:8]))), flags: uint32(b[2])}
	family := b[0]
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfAddrmsg:])
	if err != nil {
		return addrInfo{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	var local, address netip.Addr
	for ad.Next() {
		switch ad.Type() {
		case unix.IFA_LOCAL, unix.IFA_ADDRESS:
			ip, ok := netip.AddrFromSlice(ad.Bytes())
			if !ok || (family == unix.AF_INET) != ip.Is4() {
				return addrInfo{}, fmt.Errorf("%w: address of %d bytes for family %d", errMalformed, len(ad.Bytes()), family)
			}
			if ad.Type() == unix.IFA_LOCAL {
				local = ip
			} else {
				address = ip
			}
		case unix.IFA_FLAGS:
			a.flags = ad.Uint32()
		}
	}
	if err := ad.Err(); err != nil {
		return addrInfo{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	a.addr = local
	if !a.addr.IsValid() {
		a.addr = address
	}
	if !a.addr.IsValid() {
		return addrInfo{}, fmt.Errorf("%w: no address", errMalformed)
	}
	return a, nil
}

// ipv6Addrs dumps the IPv6 addresses of all links.
func ipv6Addrs(c *netlink.Conn) ([]addrInfo, error) {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = unix.AF_INET6
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETADDR, Flags: netlink.Request | netlink.Dump},
		Data:   b,
	})
	if err != nil {
		return nil, fmt.Errorf("tun: listing IPv6 addresses: %w", err)
	}
	var out []addrInfo
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWADDR {
			continue
		}
		a, err := parseAddr(m.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
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
	data, err := appendAttrs(b, netlink.Attribute{Type: unix.RTA_DST, Data: a.AsSlice()})
	if err != nil {
		return false, err
	}
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request},
		Data:   data,
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
