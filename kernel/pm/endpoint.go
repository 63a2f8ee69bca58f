package pm

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// EndpointFlags are the MPTCP_PM_ADDR_FLAG_* bits of an endpoint.
type EndpointFlags uint32

// Endpoint flags (include/uapi/linux/mptcp.h).
const (
	// FlagSignal announces the address to peers with ADD_ADDR
	// (RFC 8684 §3.4.1).
	FlagSignal EndpointFlags = 1 << 0 // MPTCP_PM_ADDR_FLAG_SIGNAL
	// FlagSubflow creates subflows from this address with MP_JOIN
	// (RFC 8684 §3.2) once a connection is established.
	FlagSubflow EndpointFlags = 1 << 1 // MPTCP_PM_ADDR_FLAG_SUBFLOW
	// FlagBackup makes subflows using this address backup subflows: the B
	// bit of MP_JOIN (RFC 8684 §3.2), and MP_PRIO (RFC 8684 §3.3.8) when
	// the flag changes.
	FlagBackup EndpointFlags = 1 << 2 // MPTCP_PM_ADDR_FLAG_BACKUP
	// FlagFullmesh creates one subflow from this address to every known
	// peer address. The kernel refuses it together with FlagSignal.
	FlagFullmesh EndpointFlags = 1 << 3 // MPTCP_PM_ADDR_FLAG_FULLMESH
	// FlagImplicit marks an endpoint the kernel created by itself for the
	// local address of a subflow; it cannot be requested.
	FlagImplicit EndpointFlags = 1 << 4 // MPTCP_PM_ADDR_FLAG_IMPLICIT
	// FlagLaminar (Linux 6.18) uses this address as the source of
	// subflows towards addresses the peer announced.
	FlagLaminar EndpointFlags = 1 << 5 // MPTCP_PM_ADDR_FLAG_LAMINAR

	// KnownFlags is every flag this package knows
	// (MPTCP_PM_ADDR_FLAGS_MASK).
	KnownFlags = FlagSignal | FlagSubflow | FlagBackup | FlagFullmesh | FlagImplicit | FlagLaminar
	// ChangeableFlags are the flags SET_FLAGS can change on an existing
	// endpoint.
	ChangeableFlags = FlagBackup | FlagFullmesh
)

// flagNames lists the flags in the order "ip mptcp" prints them.
var flagNames = [...]struct {
	flag EndpointFlags
	name string
}{
	{FlagSignal, "signal"},
	{FlagSubflow, "subflow"},
	{FlagBackup, "backup"},
	{FlagFullmesh, "fullmesh"},
	{FlagImplicit, "implicit"},
	{FlagLaminar, "laminar"},
}

// Names returns the names of the known flags set in f, in the order "ip
// mptcp" prints them.
func (f EndpointFlags) Names() []string {
	var names []string
	for _, fn := range flagNames {
		if f&fn.flag != 0 {
			names = append(names, fn.name)
		}
	}
	return names
}

// String returns the flags the way "ip mptcp endpoint show" prints them:
// names separated by spaces ("subflow backup"), then "rawflags XX" (hex) for
// unknown bits. The zero value prints as "".
func (f EndpointFlags) String() string {
	s := strings.Join(f.Names(), " ")
	if rest := f &^ KnownFlags; rest != 0 {
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("rawflags %02x", uint32(rest))
	}
	return s
}

// ParseEndpointFlag returns the flag called name ("signal", "subflow",
// "backup", "fullmesh", "implicit" or "laminar").
func ParseEndpointFlag(name string) (EndpointFlags, bool) {
	for _, fn := range flagNames {
		if fn.name == name {
			return fn.flag, true
		}
	}
	return 0, false
}

// Endpoint is an address the in-kernel path manager may use, or an address a
// userspace path manager announces or uses on one connection.
type Endpoint struct {
	// ID is the address ID of RFC 8684 §3.4.1 (1–255). ID 0 is the address
	// of a connection's initial subflow; in AddEndpoint it lets the kernel
	// choose.
	ID uint8
	// Addr is the IPv4 or IPv6 address.
	Addr netip.Addr
	// Port is the port announced with the address (0: none). On an
	// in-kernel endpoint it requires FlagSignal and makes the kernel listen
	// on it.
	Port uint16
	// Flags are the endpoint flags.
	Flags EndpointFlags
	// IfIndex is the interface the endpoint is bound to (0: any).
	IfIndex int
}

// String formats e like "ip mptcp endpoint show", with the interface index
// in place of the interface name: "10.0.1.1 port 1234 id 6 signal ifindex 3".
func (e Endpoint) String() string {
	var b strings.Builder
	if e.Addr.IsValid() {
		b.WriteString(e.Addr.String())
	} else {
		b.WriteString("-")
	}
	if e.Port != 0 {
		b.WriteString(" port ")
		b.WriteString(strconv.Itoa(int(e.Port)))
	}
	b.WriteString(" id ")
	b.WriteString(strconv.Itoa(int(e.ID)))
	if s := e.Flags.String(); s != "" {
		b.WriteString(" ")
		b.WriteString(s)
	}
	if e.IfIndex != 0 {
		b.WriteString(" ifindex ")
		b.WriteString(strconv.Itoa(e.IfIndex))
	}
	return b.String()
}

// Limits are the per-network-namespace limits of the in-kernel path manager.
type Limits struct {
	// Subflows is the maximum number of additional subflows per connection
	// (MPTCP_PM_ATTR_SUBFLOWS; the kernel caps it at 8).
	Subflows uint32
	// AddAddrAccepted is the maximum number of ADD_ADDR (RFC 8684 §3.4.1)
	// announcements accepted per connection (MPTCP_PM_ATTR_RCV_ADD_ADDRS;
	// the kernel caps it at 8).
	AddAddrAccepted uint32
}

// String formats l like "ip mptcp limits show":
// "add_addr_accepted 0 subflows 2".
func (l Limits) String() string {
	return fmt.Sprintf("add_addr_accepted %d subflows %d", l.AddAddrAccepted, l.Subflows)
}
