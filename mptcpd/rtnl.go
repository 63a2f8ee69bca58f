package mptcpd

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gomptcp/mptcp/internal/rtnl"
)

// Route netlink numbers (internal/rtnl mirrors the Linux uapi headers).

// Message types and fixed header sizes of the requests NetMonitor sends.
const (
	rtmGetLink   = rtnl.RTMGetLink
	rtmGetAddr   = rtnl.RTMGetAddr
	ifInfoMsgLen = rtnl.SizeofIfInfomsg
	ifAddrMsgLen = rtnl.SizeofIfAddrmsg
)

// rtmGroups is the legacy bind mask (RTMGRP_*) of the multicast groups
// NetMonitor joins: RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR.
const rtmGroups = 1<<(rtnl.GroupLink-1) | 1<<(rtnl.GroupIPv4IfAddr-1) | 1<<(rtnl.GroupIPv6IfAddr-1)

// Interface flags (IFF_*).
const (
	IffUp       = rtnl.IFFUp       // IFF_UP
	IffLoopback = rtnl.IFFLoopback // IFF_LOOPBACK
	IffRunning  = rtnl.IFFRunning  // IFF_RUNNING
	IffLowerUp  = rtnl.IFFLowerUp  // IFF_LOWER_UP
)

// Address flags (IFA_F_*).
const (
	IfaFSecondary  = rtnl.IFAFSecondary  // IFA_F_SECONDARY (IFA_F_TEMPORARY for IPv6)
	IfaFNoDAD      = rtnl.IFAFNoDAD      // IFA_F_NODAD
	IfaFOptimistic = rtnl.IFAFOptimistic // IFA_F_OPTIMISTIC
	IfaFDADFailed  = rtnl.IFAFDADFailed  // IFA_F_DADFAILED
	IfaFDeprecated = rtnl.IFAFDeprecated // IFA_F_DEPRECATED
	IfaFTentative  = rtnl.IFAFTentative  // IFA_F_TENTATIVE
	IfaFPermanent  = rtnl.IFAFPermanent  // IFA_F_PERMANENT
)

// Address scopes (enum rt_scope_t).
const (
	ScopeUniverse = rtnl.ScopeUniverse // RT_SCOPE_UNIVERSE
	ScopeLink     = rtnl.ScopeLink     // RT_SCOPE_LINK
	ScopeHost     = rtnl.ScopeHost     // RT_SCOPE_HOST
)

// ErrMalformed is wrapped by the errors of route netlink messages that do
// not have the expected shape.
var ErrMalformed = rtnl.ErrMalformed

// errOtherFamily reports a message about an address family other than IPv4
// and IPv6 (or a link message of a family-specific kind, like AF_BRIDGE):
// not an error, nothing for the daemon.
var errOtherFamily = rtnl.ErrFamily

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
	isLink := typ == rtnl.RTMNewLink || typ == rtnl.RTMDelLink
	if isLink && len(data) >= rtnl.SizeofIfInfomsg && data[0] != rtnl.AFUnspec {
		// Per-family link notifications (AF_BRIDGE ports, …) repeat
		// what the AF_UNSPEC ones say.
		return NetUpdate{}, fmt.Errorf("%w: link message of family %d", errOtherFamily, data[0])
	}
	m, err := rtnl.Parse(typ, data)
	if err != nil {
		return NetUpdate{}, err
	}
	switch typ {
	case rtnl.RTMNewLink, rtnl.RTMDelLink:
		if m.Link.Name == "" {
			return NetUpdate{}, fmt.Errorf("%w: link message: interface %d has no name", ErrMalformed, m.Link.Index)
		}
		k := LinkChanged
		if typ == rtnl.RTMDelLink {
			k = LinkRemoved
		}
		return NetUpdate{Kind: k, Link: Link{Index: m.Link.Index, Name: m.Link.Name, Flags: m.Link.Flags}}, nil
	default:
		k := AddrAdded
		if typ == rtnl.RTMDelAddr {
			k = AddrRemoved
		}
		a := m.Addr
		return NetUpdate{Kind: k, Addr: Addr{Addr: a.Addr, PrefixLen: a.PrefixLen, IfIndex: a.IfIndex,
			Flags: a.Flags, Scope: a.Scope, Label: a.Label}}, nil
	}
}

// IsOtherFamily reports whether err is ParseRouteMessage's error for a
// message about an address family the daemon does not use.
func IsOtherFamily(err error) bool { return errors.Is(err, errOtherFamily) }
