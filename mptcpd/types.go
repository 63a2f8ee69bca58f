package mptcpd

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// LocalAddr is a usable local address: assigned to an interface that is up
// and running, neither loopback nor excluded by the daemon's filters, and
// not tentative, deprecated or failed duplicate address detection.
type LocalAddr struct {
	// ID is the address ID (RFC 8684 §3.4.1) the daemon gives the address
	// on every connection (1–255, stable while the daemon runs). On a
	// connection whose initial subflow uses the address, the address has
	// ID 0 instead.
	ID uint8
	// Addr is the address, IPv4 or IPv6 (never IPv4-mapped).
	Addr netip.Addr
	// PrefixLen is the length of the on-link prefix.
	PrefixLen int
	// IfIndex and IfName name the interface holding the address.
	IfIndex int
	IfName  string
	// Flags are the kernel's IFA_F_* address flags.
	Flags uint32
}

func (a LocalAddr) String() string {
	return fmt.Sprintf("%s/%d id %d dev %s", a.Addr, a.PrefixLen, a.ID, a.IfName)
}

// Interface is a network interface as the daemon sees it.
type Interface struct {
	Index int
	Name  string
	// Flags are the kernel's IFF_* interface flags.
	Flags uint32
	// Up reports that the interface is administratively up and running
	// (IFF_UP and IFF_RUNNING): its addresses are usable.
	Up bool
	// Loopback reports IFF_LOOPBACK.
	Loopback bool
}

func (i Interface) String() string {
	state := "down"
	if i.Up {
		state = "up"
	}
	return fmt.Sprintf("%s (index %d, %s)", i.Name, i.Index, state)
}

// RemoteAddr is an address of the peer of a connection.
type RemoteAddr struct {
	// ID is the peer's address ID: 0 for the address of the initial
	// subflow, the announced ID otherwise (RFC 8684 §3.4.1).
	ID uint8
	// Addr is where subflows to this address go. An announcement without a
	// port means the port of the initial subflow (RFC 8684 §3.4.1), which
	// Addr then carries.
	Addr netip.AddrPort
}

// Subflow is an additional subflow of a connection (one that joined with
// MP_JOIN, RFC 8684 §3.2), or one the daemon asked for that has not been
// reported established yet (Pending).
type Subflow struct {
	LocalID, RemoteID uint8
	// Local and Remote are the subflow's addresses. A pending subflow has
	// no local port yet.
	Local, Remote netip.AddrPort
	// Backup reports the subflow's backup priority (RFC 8684 §3.3.8).
	Backup bool
	// IfIndex is the interface the subflow runs over: the one it is bound
	// to, or else the one holding its local address (0 when unknown).
	IfIndex int
	// Pending marks a subflow the daemon requested and the kernel has not
	// yet reported established (or closed). Should the kernel's report be
	// lost (its events overflowed), it stays pending until the connection
	// closes.
	Pending bool
	// Error and ResetReason describe why a subflow closed: its socket error
	// (errno) and the MP_TCPRST reason (RFC 8684 §3.6). They are set only in
	// the Subflow passed to SubflowClosed.
	Error       uint8
	ResetReason uint32
}

func (s Subflow) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (id %d) -> %s (id %d)", s.Local, s.LocalID, s.Remote, s.RemoteID)
	if s.Backup {
		b.WriteString(" backup")
	}
	if s.Pending {
		b.WriteString(" pending")
	}
	return b.String()
}

// Connection is the daemon's view of one MPTCP connection of the host.
type Connection struct {
	// Token is the local token (RFC 8684 §3.2) naming the connection in
	// path manager commands.
	Token uint32
	// Local and Remote are the addresses of the initial subflow.
	Local, Remote netip.AddrPort
	// IfIndex is the interface holding Local (0 when unknown).
	IfIndex int
	// Backup reports the backup priority of the initial subflow
	// (RFC 8684 §3.3.8).
	Backup bool
	// InitialClosed reports that the initial subflow has closed; the
	// connection goes on over the others.
	InitialClosed bool
	// ServerSide reports that this host accepted the connection.
	ServerSide bool
	// Established reports that the connection is fully established and may
	// open subflows.
	Established bool
	// DenyJoinID0 reports that the peer set the C flag of MP_CAPABLE
	// (RFC 8684 §3.1): it accepts no subflow to its initial address and
	// port.
	DenyJoinID0 bool
	// RemoteAddrs are the peer's addresses: the initial one (ID 0) first,
	// then those it announced, by ID.
	RemoteAddrs []RemoteAddr
	// Subflows are the additional subflows, in the order they appeared.
	Subflows []Subflow
	// Announced are the local addresses announced to the peer with ADD_ADDR
	// through the path manager, by ID.
	Announced []Endpoint
}

// Clone returns a deep copy of c.
func (c Connection) Clone() Connection {
	c.RemoteAddrs = slices.Clone(c.RemoteAddrs)
	c.Subflows = slices.Clone(c.Subflows)
	c.Announced = slices.Clone(c.Announced)
	return c
}

// UsesInterface reports whether the initial subflow or a subflow (pending
// ones included) runs over the interface with the given index.
func (c *Connection) UsesInterface(index int) bool {
	if index == 0 {
		return false
	}
	if !c.InitialClosed && c.IfIndex == index {
		return true
	}
	return slices.ContainsFunc(c.Subflows, func(s Subflow) bool { return s.IfIndex == index })
}

// HasPath reports whether the initial subflow or a subflow (pending ones
// included) runs from the local address to the remote address and port.
func (c *Connection) HasPath(local netip.Addr, remote netip.AddrPort) bool {
	if !c.InitialClosed && c.Local.Addr() == local && c.Remote == remote {
		return true
	}
	return slices.ContainsFunc(c.Subflows, func(s Subflow) bool {
		return s.Local.Addr() == local && s.Remote == remote
	})
}

// CountPaths returns how many subflows, the initial one included, run from
// the local address to the remote address and port.
func (c *Connection) CountPaths(local netip.Addr, remote netip.AddrPort) int {
	n := 0
	if !c.InitialClosed && c.Local.Addr() == local && c.Remote == remote {
		n++
	}
	for _, s := range c.Subflows {
		if s.Local.Addr() == local && s.Remote == remote {
			n++
		}
	}
	return n
}

// JoinTargets returns the peer addresses a new subflow may go to: all of
// RemoteAddrs, except the initial one when the peer denied joins to it
// (RFC 8684 §3.1, the C flag).
func (c *Connection) JoinTargets() []RemoteAddr {
	out := make([]RemoteAddr, 0, len(c.RemoteAddrs))
	for _, r := range c.RemoteAddrs {
		if c.DenyJoinID0 && r.Addr == c.Remote {
			continue
		}
		out = append(out, r)
	}
	return out
}

// EndpointFlags are endpoint flags; the values are those of the kernel's
// MPTCP_PM_ADDR_FLAG_* bits.
type EndpointFlags uint32

// Endpoint flags.
const (
	// FlagSignal announces the address to peers with ADD_ADDR
	// (RFC 8684 §3.4.1).
	FlagSignal EndpointFlags = 1 << 0
	// FlagSubflow opens subflows from the address with MP_JOIN
	// (RFC 8684 §3.2).
	FlagSubflow EndpointFlags = 1 << 1
	// FlagBackup gives subflows from the address the backup priority (the
	// B bit of MP_JOIN, RFC 8684 §3.2, and MP_PRIO, §3.3.8).
	FlagBackup EndpointFlags = 1 << 2
	// FlagFullmesh opens a subflow from the address to every known peer
	// address; not allowed together with FlagSignal.
	FlagFullmesh EndpointFlags = 1 << 3
)

type endpointFlagName struct {
	flag EndpointFlags
	name string
}

var endpointFlagNames = [...]endpointFlagName{
	{FlagSignal, "signal"},
	{FlagSubflow, "subflow"},
	{FlagBackup, "backup"},
	{FlagFullmesh, "fullmesh"},
}

// String returns the flag names separated by commas ("subflow,backup"),
// with unknown bits in hexadecimal.
func (f EndpointFlags) String() string {
	var names []string
	for _, fn := range endpointFlagNames {
		if f&fn.flag != 0 {
			names = append(names, fn.name)
			f &^= fn.flag
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint32(f)))
	}
	return strings.Join(names, ",")
}

// ParseEndpointFlags parses a list of flag names separated by commas or
// spaces ("signal", "subflow", "backup", "fullmesh"). An empty list is no
// flag. Combinations the kernel refuses (fullmesh with signal) are errors.
func ParseEndpointFlags(s string) (EndpointFlags, error) {
	var f EndpointFlags
	for _, name := range splitList(s) {
		i := slices.IndexFunc(endpointFlagNames[:], func(fn endpointFlagName) bool { return fn.name == name })
		if i < 0 {
			return 0, fmt.Errorf("unknown address flag %q (want signal, subflow, backup or fullmesh)", name)
		}
		f |= endpointFlagNames[i].flag
	}
	if f&FlagSignal != 0 && f&FlagFullmesh != 0 {
		return 0, fmt.Errorf("address flags %q: fullmesh cannot be combined with signal", s)
	}
	return f, nil
}

// splitList splits a list separated by commas and/or white space.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// Endpoint names a local address for a path manager command.
type Endpoint struct {
	// ID is the address ID (RFC 8684 §3.4.1). In PathManager commands, 0
	// lets the daemon choose: 0 for the connection's initial local
	// address, the address's LocalAddr.ID otherwise. In
	// EndpointManager.AddEndpoint, 0 lets the path manager choose.
	ID uint8
	// Addr is the address; the port is optional.
	Addr netip.AddrPort
	// IfIndex binds subflows from the address to an interface (0: none).
	IfIndex int
	// Flags: FlagBackup for subflows; any flags for in-kernel endpoints.
	Flags EndpointFlags
}

func (e Endpoint) String() string {
	var b strings.Builder
	if e.Addr.Port() != 0 {
		b.WriteString(e.Addr.String())
	} else {
		b.WriteString(e.Addr.Addr().String())
	}
	fmt.Fprintf(&b, " id %d", e.ID)
	if e.Flags != 0 {
		b.WriteString(" ")
		b.WriteString(e.Flags.String())
	}
	if e.IfIndex != 0 {
		fmt.Fprintf(&b, " ifindex %d", e.IfIndex)
	}
	return b.String()
}
