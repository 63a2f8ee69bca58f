package rtnl

// Numbers from the Linux uapi headers. Each constant names the symbol it
// mirrors.

// Message types (linux/rtnetlink.h).
const (
	RTMNewLink = 16 // RTM_NEWLINK
	RTMDelLink = 17 // RTM_DELLINK
	RTMGetLink = 18 // RTM_GETLINK
	RTMNewAddr = 20 // RTM_NEWADDR
	RTMDelAddr = 21 // RTM_DELADDR
	RTMGetAddr = 22 // RTM_GETADDR
)

// Multicast groups (enum rtnetlink_groups). A socket joins group g with the
// legacy bind mask 1<<(g-1) (RTMGRP_*) or with NETLINK_ADD_MEMBERSHIP.
const (
	GroupLink       = 1 // RTNLGRP_LINK
	GroupIPv4IfAddr = 5 // RTNLGRP_IPV4_IFADDR
	GroupIPv6IfAddr = 9 // RTNLGRP_IPV6_IFADDR
)

// Fixed headers.
const (
	// SizeofIfInfomsg is the size of struct ifinfomsg: family u8, pad u8,
	// type u16, index s32, flags u32, change u32.
	SizeofIfInfomsg = 16
	// SizeofIfAddrmsg is the size of struct ifaddrmsg: family u8,
	// prefixlen u8, flags u8, scope u8, index u32.
	SizeofIfAddrmsg = 8
	// sizeofAttrHdr is the size of struct rtattr (struct nlattr): length
	// u16 (header included, padding excluded), type u16.
	sizeofAttrHdr = 4
	// attrAlign is the alignment of each attribute (RTA_ALIGNTO).
	attrAlign = 4
)

// The high bits of an attribute type are flags (NLA_F_NESTED,
// NLA_F_NET_BYTEORDER), not part of the type (NLA_TYPE_MASK).
const attrTypeMask = 1<<14 - 1

// Link attributes (enum IFLA_*, linux/if_link.h).
const (
	IFLAIfName = 3 // IFLA_IFNAME: NUL-terminated string
	IFLAMTU    = 4 // IFLA_MTU: u32
)

// Address attributes (enum IFA_*, linux/if_addr.h).
const (
	IFAAddress = 1 // IFA_ADDRESS: the prefix address (the peer's on point-to-point links)
	IFALocal   = 2 // IFA_LOCAL: the local address
	IFALabel   = 3 // IFA_LABEL: NUL-terminated string
	IFAFlags   = 8 // IFA_FLAGS: u32, supersedes ifa_flags
)

// Address families (linux/socket.h).
const (
	AFUnspec = 0  // AF_UNSPEC
	AFInet   = 2  // AF_INET
	AFInet6  = 10 // AF_INET6
)

// Interface flags (IFF_*, linux/if.h).
const (
	IFFUp       = 0x1     // IFF_UP
	IFFLoopback = 0x8     // IFF_LOOPBACK
	IFFRunning  = 0x40    // IFF_RUNNING
	IFFLowerUp  = 0x10000 // IFF_LOWER_UP
)

// Address flags (IFA_F_*, linux/if_addr.h).
const (
	IFAFSecondary  = 0x01 // IFA_F_SECONDARY (IFA_F_TEMPORARY for IPv6)
	IFAFNoDAD      = 0x02 // IFA_F_NODAD
	IFAFOptimistic = 0x04 // IFA_F_OPTIMISTIC
	IFAFDADFailed  = 0x08 // IFA_F_DADFAILED
	IFAFDeprecated = 0x20 // IFA_F_DEPRECATED
	IFAFTentative  = 0x40 // IFA_F_TENTATIVE
	IFAFPermanent  = 0x80 // IFA_F_PERMANENT
)

// Address scopes (enum rt_scope_t, linux/rtnetlink.h).
const (
	ScopeUniverse = 0   // RT_SCOPE_UNIVERSE
	ScopeLink     = 253 // RT_SCOPE_LINK
	ScopeHost     = 254 // RT_SCOPE_HOST
)

// IFNameSize bounds interface names and address labels, the NUL included
// (IFNAMSIZ).
const IFNameSize = 16
