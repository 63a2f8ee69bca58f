package mptcpd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Route netlink numbers from the Linux uapi headers
// include/uapi/linux/rtnetlink.h, if_link.h, if_addr.h and if.h. Each
// constant names the symbol it mirrors.

// Message types.
const (
	rtmNewLink = 16 // RTM_NEWLINK
	rtmDelLink = 17 // RTM_DELLINK
	rtmGetLink = 18 // RTM_GETLINK
	rtmNewAddr = 20 // RTM_NEWADDR
	rtmDelAddr = 21 // RTM_DELADDR
	rtmGetAddr = 22 // RTM_GETADDR
)

// Multicast groups (enum rtnetlink_groups) and the legacy bind masks
// (RTMGRP_*) that select them.
const (
	rtnlGroupLink       = 1 // RTNLGRP_LINK
	rtnlGroupIPv4IfAddr = 5 // RTNLGRP_IPV4_IFADDR
	rtnlGroupIPv6IfAddr = 9 // RTNLGRP_IPV6_IFADDR

	rtmGroups = 1<<(rtnlGroupLink-1) | 1<<(rtnlGroupIPv4IfAddr-1) | 1<<(rtnlGroupIPv6IfAddr-1)
)

// Fixed headers.
const (
	ifInfoMsgLen = 16 // struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32
	ifAddrMsgLen = 8  // struct ifaddrmsg: family u8, prefixlen u8, flags u8, scope u8, index u32
)

// Link attributes (enum IFLA_*).
const (
	iflaIfName = 3 // IFLA_IFNAME: NUL-terminated string
)

// Address attributes (enum IFA_*).
const (
	ifaAddress = 1 // IFA_ADDRESS: the prefix address (the peer on point-to-point links)
	ifaLocal   = 2 // IFA_LOCAL: the local address
	ifaLabel   = 3 // IFA_LABEL: NUL-terminated string
	ifaFlags   = 8 // IFA_FLAGS: u32, supersedes ifa_flags
)

// Address families.
const (
	afUnspec = 0  // AF_UNSPEC
	afINET   = 2  // AF_INET
	afINET6  = 10 // AF_INET6
)

// Interface flags (IFF_*).
const (
	IffUp       = 0x1     // IFF_UP
	IffLoopback = 0x8     // IFF_LOOPBACK
	IffRunning  = 0x40    // IFF_RUNNING
	IffLowerUp  = 0x10000 // IFF_LOWER_UP
)

// Address flags (IFA_F_*).
const (
	IfaFSecondary  = 0x01 // IFA_F_SECONDARY (IFA_F_TEMPORARY for IPv6)
	IfaFNoDAD      = 0x02 // IFA_F_NODAD
	IfaFOptimistic = 0x04 // IFA_F_OPTIMISTIC
	IfaFDADFailed  = 0x08 // IFA_F_DADFAILED
	IfaFDeprecated = 0x20 // IFA_F_DEPRECATED
	IfaFTentative  = 0x40 // IFA_F_TENTATIVE
	IfaFPermanent  = 0x80 // IFA_F_PERMANENT
)

// Address scopes (enum rt_scope_t).
const (
	ScopeUniverse = 0   // RT_SCOPE_UNIVERSE
	ScopeLink     = 253 // RT_SCOPE_LINK
	ScopeHost     = 254 // RT_SCOPE_HOST
)

// maxIfNameLen bounds interface names (IFNAMSIZ, with the NUL).
const maxIfNameLen = 16

// ErrMalformed is wrapped by the errors of route netlink messages that do
// not have the expected shape.
var ErrMalformed = errors.New("malformed route netlink message")

// errOtherFamily reports a message about an address family other than IPv4
// and IPv6 (or a link message of a family-specific kind, like AF_BRIDGE):
// not an error, nothing for the daemon.
var errOtherFamily = errors.New("route netlink message of another address family")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Link is the state of a network interface as route netlink reports it.
type Link struct {
	Index int
	Name  string
	Flags uint32 // IFF_*
}

// Addr is an interface address as route netlink reports it.
type Addr struct {
	Addr      netip.Addr
	PrefixLen int
	IfIndex   int
	Flags     uint32 // IFA_F_*
	Scope     uint8  // RT_SCOPE_*
	Label     string
}

// NetUpdateKind tells what a NetUpdate reports.
type NetUpdateKind uint8

// Kinds of NetUpdate.
const (
	// NetSnapshot carries every link and address of the host, replacing
	// what was known before (the initial dump, or a resynchronization
	// after the kernel dropped notifications).
	NetSnapshot NetUpdateKind = iota + 1
	// LinkChanged: a link appeared or changed (RTM_NEWLINK).
	LinkChanged
	// LinkRemoved: a link disappeared (RTM_DELLINK).
	LinkRemoved
	// AddrAdded: an address appeared or changed (RTM_NEWADDR).
	AddrAdded
	// AddrRemoved: an address disappeared (RTM_DELADDR).
	AddrRemoved
)

var netUpdateNames = [...]string{
	NetSnapshot: "snapshot",
	LinkChanged: "link changed",
	LinkRemoved: "link removed",
	AddrAdded:   "address added",
	AddrRemoved: "address removed",
}

func (k NetUpdateKind) String() string {
	if int(k) < len(netUpdateNames) && netUpdateNames[k] != "" {
		return netUpdateNames[k]
	}
	return fmt.Sprintf("NetUpdateKind(%d)", uint8(k))
}

// NetUpdate is a change of the host's interfaces or addresses, from route
// netlink (NetMonitor) or from any other source of addresses.
type NetUpdate struct {
	Kind NetUpdateKind
	// Link is set for LinkChanged and LinkRemoved.
	Link Link
	// Addr is set for AddrAdded and AddrRemoved.
	Addr Addr
	// Links and Addrs are the whole state, for NetSnapshot.
	Links []Link
	Addrs []Addr
}

// ParseRouteMessage decodes one route netlink message of type typ
// (RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR or RTM_DELADDR) whose payload,
// after the netlink header, is data. Messages about families other than
// IPv4 and IPv6 give an error that IsOtherFamily recognizes; malformed
// ones an error wrapping ErrMalformed.
func ParseRouteMessage(typ uint16, data []byte) (NetUpdate, error) {
	switch typ {
	case rtmNewLink, rtmDelLink:
		l, err := parseLink(data)
		if err != nil {
			return NetUpdate{}, err
		}
		k := LinkChanged
		if typ == rtmDelLink {
			k = LinkRemoved
		}
		return NetUpdate{Kind: k, Link: l}, nil
	case rtmNewAddr, rtmDelAddr:
		a, err := parseAddr(data)
		if err != nil {
			return NetUpdate{}, err
		}
		k := AddrAdded
		if typ == rtmDelAddr {
			k = AddrRemoved
		}
		return NetUpdate{Kind: k, Addr: a}, nil
	}
	return NetUpdate{}, malformed("message type %d is not a link or address message", typ)
}

// IsOtherFamily reports whether err is ParseRouteMessage's error for a
// message about an address family the daemon does not use.
func IsOtherFamily(err error) bool { return errors.Is(err, errOtherFamily) }

func parseLink(b []byte) (Link, error) {
	if len(b) < ifInfoMsgLen {
		return Link{}, malformed("link message: %d bytes, want at least %d", len(b), ifInfoMsgLen)
	}
	if b[0] != afUnspec {
		// Per-family link notifications (AF_BRIDGE ports, …) repeat
		// what the AF_UNSPEC ones say.
		return Link{}, errOtherFamily
	}
	l := Link{
		Index: int(int32(binary.NativeEndian.Uint32(b[4:8]))),
		Flags: binary.NativeEndian.Uint32(b[8:12]),
	}
	if l.Index <= 0 {
		return Link{}, malformed("link message: interface index %d", l.Index)
	}
	err := walkAttrs(b[ifInfoMsgLen:], func(typ uint16, v []byte) error {
		if typ == iflaIfName {
			s, err := cString(v)
			if err != nil {
				return fmt.Errorf("IFLA_IFNAME: %w", err)
			}
			l.Name = s
		}
		return nil
	})
	if err != nil {
		return Link{}, malformed("link message: %v", err)
	}
	if l.Name == "" {
		return Link{}, malformed("link message: interface %d has no name", l.Index)
	}
	return l, nil
}

func parseAddr(b []byte) (Addr, error) {
	if len(b) < ifAddrMsgLen {
		return Addr{}, malformed("address message: %d bytes, want at least %d", len(b), ifAddrMsgLen)
	}
	fam := b[0]
	var alen int
	switch fam {
	case afINET:
		alen = 4
	case afINET6:
		alen = 16
	default:
		return Addr{}, errOtherFamily
	}
	a := Addr{
		PrefixLen: int(b[1]),
		Flags:     uint32(b[2]),
		Scope:     b[3],
		IfIndex:   int(int32(binary.NativeEndian.Uint32(b[4:8]))),
	}
	if a.PrefixLen > alen*8 {
		return Addr{}, malformed("address message: prefix length %d for a %d-bit address", a.PrefixLen, alen*8)
	}
	if a.IfIndex <= 0 {
		return Addr{}, malformed("address message: interface index %d", a.IfIndex)
	}
	var local, address netip.Addr
	err := walkAttrs(b[ifAddrMsgLen:], func(typ uint16, v []byte) error {
		switch typ {
		case ifaAddress, ifaLocal:
			if len(v) != alen {
				return fmt.Errorf("attribute %d: %d bytes, want %d", typ, len(v), alen)
			}
			ip, _ := netip.AddrFromSlice(v)
			if typ == ifaLocal {
				local = ip
			} else {
				address = ip
			}
		case ifaFlags:
			if len(v) != 4 {
				return fmt.Errorf("IFA_FLAGS: %d bytes, want 4", len(v))
			}
			a.Flags = binary.NativeEndian.Uint32(v)
		case ifaLabel:
			s, err := cString(v)
			if err != nil {
				return fmt.Errorf("IFA_LABEL: %w", err)
			}
			a.Label = s
		}
		return nil
	})
	if err != nil {
		return Addr{}, malformed("address message: %v", err)
	}
	// IFA_LOCAL is the local address; IFA_ADDRESS is the peer's on
	// point-to-point links and the only one sent for most IPv6 addresses.
	a.Addr = local
	if !a.Addr.IsValid() {
		a.Addr = address
	}
	if !a.Addr.IsValid() {
		return Addr{}, malformed("address message: no IFA_LOCAL or IFA_ADDRESS")
	}
	return a, nil
}

// walkAttrs calls fn for each route attribute (struct rtattr: u16 length
// including the 4-byte header, u16 type, payload padded to 4 bytes) in b.
// Nested and byte-order flags in the type are cleared.
func walkAttrs(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("%d trailing bytes", len(b))
		}
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) &^ (1<<15 | 1<<14) // NLA_F_NESTED, NLA_F_NET_BYTEORDER
		if l < 4 || l > len(b) {
			return fmt.Errorf("attribute %d: length %d with %d bytes left", typ, l, len(b))
		}
		if err := fn(typ, b[4:l]); err != nil {
			return err
		}
		next := (l + 3) &^ 3
		if next > len(b) {
			next = len(b)
		}
		b = b[next:]
	}
	return nil
}

// cString decodes a NUL-terminated interface name or label.
func cString(v []byte) (string, error) {
	s, _, found := strings.Cut(string(v), "\x00")
	if !found {
		return "", errors.New("not NUL-terminated")
	}
	if len(s) >= maxIfNameLen {
		return "", fmt.Errorf("%d bytes, more than IFNAMSIZ allows", len(s))
	}
	return s, nil
}
