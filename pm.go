package mptcp

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// PathManager decides which subflows a connection has and which local
// addresses it announces (RFC 8684 §3.2, §3.4). HandleEvent is called on
// the Stack's loop goroutine for every event of every connection, in
// order, after the event is published to subscriptions; it acts on the
// connection through c at once (no locking: it runs where the connection
// lives) and must not block.
type PathManager interface {
	HandleEvent(now time.Time, c Controller, ev Event)
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
	Info() Info
	// Subflows lists the live subflows.
	Subflows() []tcp.ConnID
	// AddSubflow opens a subflow with MP_JOIN (Conn.AddSubflow).
	AddSubflow(now time.Time, local, remote netip.AddrPort, backup bool) (tcp.ConnID, error)
	// LocalAddrs are the Stack's addresses; IsLocal tells whether a is one.
	LocalAddrs() []netip.Prefix
	IsLocal(a netip.Addr) bool
	// State and SetState keep the path manager's per-connection state.
	State() any
	SetState(v any)
}

// KernelPM is the default path manager: the rules of Linux's in-kernel
// path manager over endpoints and limits (net/mptcp/pm_kernel.c):
//   - once a connection is established, a subflow from every "subflow"
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
	endpoints []Endpoint
	limits    Limits
}

var _ PathManager = (*KernelPM)(nil)

// NewKernelPM returns the in-kernel path manager's rules over endpoints
// and limits.
func NewKernelPM(endpoints []Endpoint, limits Limits) *KernelPM {
	return &KernelPM{endpoints: append([]Endpoint(nil), endpoints...), limits: limits}
}

// kpmState is what KernelPM keeps of a connection.
type kpmState struct {
	remotes  []netip.AddrPort // the peer's addresses: its initial one, then those announced
	accepted int              // announced addresses used
}

// HandleEvent implements PathManager.
func (p *KernelPM) HandleEvent(now time.Time, c Controller, ev Event) {
	st, _ := c.State().(*kpmState)
	switch ev.Type {
	case EventEstablished:
		st = &kpmState{remotes: []netip.AddrPort{c.InitialSubflow().Remote}}
		c.SetState(st)
		for _, e := range p.endpoints {
			switch {
			case e.Flags&FlagFullmesh != 0:
				for _, r := range st.remotes {
					p.open(now, c, e, r)
				}
			case e.Flags&FlagSubflow != 0:
				p.open(now, c, e, c.InitialSubflow().Remote)
			}
		}
	case EventAnnounced:
		if st == nil || st.accepted >= p.limits.AddAddrAccepted {
			return
		}
		r := ev.Remote
		if r.Port() == 0 {
			r = netip.AddrPortFrom(r.Addr(), c.InitialSubflow().Remote.Port())
		}
		st.accepted++
		st.remotes = append(st.remotes, r)
		mesh := false
		for _, e := range p.endpoints {
			if e.Flags&FlagFullmesh != 0 {
				mesh = true
				p.open(now, c, e, r)
			}
		}
		if !mesh {
			p.open(now, c, Endpoint{}, r)
		}
	case EventClosed:
		c.SetState(nil)
	}
}

// open adds a subflow from endpoint e (the zero Endpoint: the route's
// address) to remote, within the limits.
func (p *KernelPM) open(now time.Time, c Controller, e Endpoint, remote netip.AddrPort) {
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
	_, _ = c.AddSubflow(now, netip.AddrPortFrom(e.Addr, 0), remote, e.Flags&FlagBackup != 0)
}
