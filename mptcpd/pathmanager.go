package mptcpd

import (
	"context"
	"net/netip"
)

// Driver carries out path manager commands on the connections of an MPTCP
// implementation. KernelDriver drives the Linux kernel's userspace path
// manager; an MPTCP stack in user space implements the same methods for its
// own connections. Methods are called from one goroutine at a time.
type Driver interface {
	// Announce announces a local address to the peer of a connection with
	// ADD_ADDR (RFC 8684 §3.4.1). local.ID is nonzero.
	Announce(ctx context.Context, token uint32, local Endpoint) error
	// Remove withdraws an announced local address with REMOVE_ADDR
	// (RFC 8684 §3.4.2), closing the subflows that use it.
	Remove(ctx context.Context, token uint32, id uint8) error
	// CreateSubflow opens a subflow with MP_JOIN (RFC 8684 §3.2) from local
	// (address, ID, optional port, IfIndex and FlagBackup) to remote. It
	// returns once the subflow's SYN is under way; the outcome arrives as a
	// subflow event.
	CreateSubflow(ctx context.Context, token uint32, local Endpoint, remote netip.AddrPort) error
	// DestroySubflow closes the subflow between local and remote (ports
	// required).
	DestroySubflow(ctx context.Context, token uint32, local, remote netip.AddrPort) error
	// SetBackup sets or clears the backup priority of the subflow between
	// local and remote (local port optional) and tells the peer with
	// MP_PRIO (RFC 8684 §3.3.8).
	SetBackup(ctx context.Context, token uint32, local, remote netip.AddrPort, backup bool) error
}

// EndpointManager manages the endpoints of an in-kernel-style path manager:
// addresses from which the path manager itself opens subflows or which it
// announces, for every connection. KernelDriver implements it with the
// kernel's mptcp_pm endpoint commands ("ip mptcp endpoint").
type EndpointManager interface {
	// AddEndpoint adds an endpoint and returns its ID; e.ID 0 lets the path
	// manager choose.
	AddEndpoint(ctx context.Context, e Endpoint) (uint8, error)
	// DeleteEndpoint deletes the endpoint with the given ID and address.
	DeleteEndpoint(ctx context.Context, id uint8, addr netip.Addr) error
	// Endpoints lists the endpoints.
	Endpoints(ctx context.Context) ([]Endpoint, error)
}

// PathManager is what plugins act through: the commands of a Driver plus
// read access to the daemon's view of the host's local addresses,
// interfaces and connections.
//
// It is an interface so that the same plugins can drive any MPTCP
// implementation whose path manager events mirror the kernel's mptcp_pm
// events: the Daemon presents the Linux kernel (through KernelDriver) this
// way, and a user-space MPTCP stack can present itself the same way.
//
// The commands take the connection token of the event being handled. In
// CreateSubflow and Announce, a local Endpoint with ID 0 gets the ID the
// address has on that connection (0 for its initial local address,
// LocalAddr.ID otherwise); the kernel refuses to use one address with two
// IDs on a connection. The Daemon's implementation counts and logs every
// command and records requested subflows as pending in the connection's
// view, so that plugins see them before the kernel reports them. Commands
// are meant to be issued from the hooks, which the daemon calls one at a
// time; the read methods may be called from any goroutine.
type PathManager interface {
	Driver

	// EndpointManager returns the driver's endpoint manager, or nil when
	// it has none.
	EndpointManager() EndpointManager

	// LocalAddrs returns the usable local addresses, by ID.
	LocalAddrs() []LocalAddr
	// Interfaces returns the interfaces that pass the daemon's filters, by
	// index.
	Interfaces() []Interface
	// Interface returns the interface with the given index.
	Interface(index int) (Interface, bool)
	// Connections returns the connections the daemon knows, by token.
	Connections() []Connection
	// Connection returns the connection with the given token.
	Connection(token uint32) (Connection, bool)
}
