package stack

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// PathManager decides which subflows a connection has and which local
// addresses it announces (RFC 8684 §3.2, §3.4). HandleEvent is called on
// the Stack's loop goroutine for every event of every connection, in
// order, after the event is published to subscriptions; it acts on the
// connection through c at once (no locking: it runs where the connection
// lives) and must not block.
type PathManager interface {
	HandleEvent(now time.Time, c Controller, ev PMEvent)
}

// Controller is a connection as a path manager sees it. Its methods may
// only be called from inside PathManager.HandleEvent.
type Controller interface {
	// Token is the connection's local token.
	Token() uint32
	// ServerSide reports whether a listener accepted the connection.
	ServerSide() bool
	// InitialSubflow is the 4-tuple of the MP_CAPABLE subflow.
	InitialSubflow() tcp.ConnID
	// Fallback reports whether the connection runs as plain TCP.
	Fallback() bool
	// Info is a snapshot of the connection and its subflows.
	Info() meta.Info
	// Subflows lists the live subflows.
	Subflows() []tcp.ConnID
	// AddSubflow opens a subflow with MP_JOIN (RFC 8684 §3.2); a zero
	// local address is the route's, a zero remote port the connection's.
	AddSubflow(now time.Time, local, remote netip.AddrPort, backup bool) (tcp.ConnID, error)
	// CloseSubflow resets a subflow with MP_TCPRST and a reason (§3.6).
	CloseSubflow(now time.Time, id tcp.ConnID, reason wire.TCPRSTReason) error
	// Announce advertises a local address with ADD_ADDR (§3.4.1) and
	// returns its address ID; RemoveAddr withdraws one (§3.4.2).
	Announce(now time.Time, addr netip.AddrPort) (uint8, error)
	RemoveAddr(now time.Time, id uint8) error
	// SetBackup changes a subflow's priority with MP_PRIO (§3.3.8).
	SetBackup(now time.Time, id tcp.ConnID, backup bool) error
	// LocalAddrs are the Stack's addresses; IsLocal tells whether a is one.
	LocalAddrs() []netip.Prefix
	IsLocal(a netip.Addr) bool
	// State and SetState keep the path manager's per-connection state.
	State() any
	SetState(v any)
}

// TimerController is a Controller that can call its path manager back
// later: MPConn is one. SetTimer asks for a PMEventTimer at at (or, if at
// has passed, at once after the current event): one timer per
// connection, which a later call moves and a zero at cancels; it fires
// once. Like the Controller's other methods it is called from inside
// PathManager.HandleEvent. The timer keeps no goroutine or clock of its
// own: it is one more deadline of the connection, which the Stack's
// driver meets with Stack.Timer like the engines' (see Deadline).
type TimerController interface {
	Controller
	SetTimer(at time.Time)
}

// EndpointFlags are the flags of a PMEndpoint, Linux's
// MPTCP_PM_ADDR_FLAG_* bits.
type EndpointFlags uint32

// Endpoint flags.
const (
	// EndpointSignal: announce the address to peers with ADD_ADDR.
	EndpointSignal EndpointFlags = 1 << 0
	// EndpointSubflow: open a subflow from the address once a connection is
	// established.
	EndpointSubflow EndpointFlags = 1 << 1
	// EndpointBackup: subflows from the address are backups (flag B,
	// MP_PRIO).
	EndpointBackup EndpointFlags = 1 << 2
	// EndpointFullmesh: a subflow from the address to every address of the
	// peer (its initial one and those it announces).
	EndpointFullmesh EndpointFlags = 1 << 3
)

// String lists the flags as ip mptcp does ("subflow backup").
func (f EndpointFlags) String() string {
	var s string
	for _, n := range []struct {
		f    EndpointFlags
		name string
	}{{EndpointSignal, "signal"}, {EndpointSubflow, "subflow"}, {EndpointBackup, "backup"}, {EndpointFullmesh, "fullmesh"}} {
		if f&n.f != 0 {
			if s != "" {
				s += " "
			}
			s += n.name
		}
	}
	return s
}

// PMEndpoint is a local address the in-kernel path manager uses, as an
// `ip mptcp endpoint`.
type PMEndpoint struct {
	// ID is the address ID (RFC 8684 §3.4.1), 1–255; 0 picks the lowest
	// free one.
	ID uint8
	// Addr is the local address; it must belong to the Stack when used.
	Addr netip.Addr
	// Port is announced with a signal endpoint (0: the connection's).
	// As in Linux, the Stack then accepts MP_JOIN SYNs on Addr:Port
	// (see MPConn.Announce).
	Port  uint16
	Flags EndpointFlags
}

// PMLimits bound the in-kernel path manager, as `ip mptcp limits`.
type PMLimits struct {
	// Subflows bounds the additional subflows of a connection (Linux
	// default 2, at most 8).
	Subflows int
	// AddAddrAccepted bounds the addresses announced by the peer that
	// subflows are opened to (Linux default 0, at most 8).
	AddAddrAccepted int
}

// Linux's defaults and maxima.
const (
	DefaultLimitSubflows        = 2
	DefaultLimitAddAddrAccepted = 0
	MaxLimit                    = 8 // MPTCP_PM_ADDR_MAX
)
