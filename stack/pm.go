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

// KernelPM is the default path manager: the rules of Linux's in-kernel
// path manager over endpoints and limits (net/mptcp/pm_kernel.c):
//   - once a connection is established, an ADD_ADDR for every "signal"
//     endpoint (its address, with its port if it has one) that is one of
//     the Stack's addresses and not the connection's own (Linux sends them
//     one after the other as each is echoed; here they go out together,
//     each retransmitted until echoed);
//   - then a subflow from every "subflow"
//     endpoint to the peer's initial address and port, and from every
//     "fullmesh" endpoint to every address known of the peer, while the
//     connection has fewer additional subflows than Limits.Subflows;
//     "backup" endpoints make backup subflows (flag B);
//   - for an address the peer announces (ADD_ADDR), while fewer than
//     Limits.AddAddrAccepted announced addresses were used: a subflow to
//     it, from every fullmesh endpoint if there are any, otherwise from
//     the address the route picks;
//   - no subflow twice between the same two addresses, and none from an
//     address that is not the Stack's (an endpoint whose address is gone).
type KernelPM struct {
	endpoints []PMEndpoint
	limits    PMLimits
}

var _ PathManager = (*KernelPM)(nil)

// NewKernelPM returns the in-kernel path manager's rules over endpoints
// and limits.
func NewKernelPM(endpoints []PMEndpoint, limits PMLimits) *KernelPM {
	return &KernelPM{endpoints: append([]PMEndpoint(nil), endpoints...), limits: limits}
}

// kpmState is what KernelPM keeps of a connection.
type kpmState struct {
	remotes  []netip.AddrPort // the peer's addresses: its initial one, then those announced
	ids      []uint8          // the address ID of each (0 for the initial one)
	accepted int              // announced addresses used
}

// HandleEvent implements PathManager.
func (p *KernelPM) HandleEvent(now time.Time, c Controller, ev PMEvent) {
	st, _ := c.State().(*kpmState)
	switch ev.Type {
	case PMEventEstablished:
		st = &kpmState{remotes: []netip.AddrPort{c.InitialSubflow().Remote}, ids: []uint8{0}}
		c.SetState(st)
		for _, e := range p.endpoints {
			if e.Flags&EndpointSignal != 0 && c.IsLocal(e.Addr) && e.Addr != c.InitialSubflow().Local.Addr() {
				_, _ = c.Announce(now, netip.AddrPortFrom(e.Addr, e.Port))
			}
		}
		for _, e := range p.endpoints {
			switch {
			case e.Flags&EndpointFullmesh != 0:
				for _, r := range st.remotes {
					p.open(now, c, e, r)
				}
			case e.Flags&EndpointSubflow != 0:
				p.open(now, c, e, c.InitialSubflow().Remote)
			}
		}
	case PMEventAnnounced:
		if st == nil || st.accepted >= p.limits.AddAddrAccepted {
			return
		}
		r := ev.Remote
		if r.Port() == 0 {
			r = netip.AddrPortFrom(r.Addr(), c.InitialSubflow().Remote.Port())
		}
		st.accepted++
		st.remotes = append(st.remotes, r)
		st.ids = append(st.ids, ev.RemoteID)
		mesh := false
		for _, e := range p.endpoints {
			if e.Flags&EndpointFullmesh != 0 {
				mesh = true
				p.open(now, c, e, r)
			}
		}
		if !mesh {
			p.open(now, c, PMEndpoint{}, r)
		}
	case PMEventRemoved:
		// The engine resets the subflows to the removed address; the
		// address no longer counts against the limit.
		if st == nil {
			return
		}
		for i := 1; i < len(st.ids); i++ {
			if st.ids[i] == ev.RemoteID {
				st.remotes = append(st.remotes[:i], st.remotes[i+1:]...)
				st.ids = append(st.ids[:i], st.ids[i+1:]...)
				st.accepted--
				break
			}
		}
	case PMEventClosed:
		c.SetState(nil)
	}
}

// open adds a subflow from endpoint e (the zero Endpoint: the route's
// address) to remote, within the limits.
func (p *KernelPM) open(now time.Time, c Controller, e PMEndpoint, remote netip.AddrPort) {
	subs := c.Subflows()
	if len(subs)-1 >= p.limits.Subflows {
		return
	}
	if e.Addr.IsValid() && (!c.IsLocal(e.Addr) || e.Addr.Is4() != remote.Addr().Is4()) {
		return
	}
	for _, id := range subs {
		if id.Remote.Addr() == remote.Addr() && (!e.Addr.IsValid() || id.Local.Addr() == e.Addr) {
			return
		}
	}
	_, _ = c.AddSubflow(now, netip.AddrPortFrom(e.Addr, 0), remote, e.Flags&EndpointBackup != 0)
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
