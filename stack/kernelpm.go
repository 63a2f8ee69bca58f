package stack

import (
	"errors"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
)

// KernelPM is the default path manager: the rules of Linux's in-kernel
// path manager over endpoints and limits (net/mptcp/pm_kernel.c):
//   - once a connection is established, an ADD_ADDR for every "signal"
//     endpoint (its address, with its port if it has one: the Stack then
//     accepts joins there, see MPConn.Announce) that is one of the
//     Stack's addresses and not the connection's own (Linux sends them
//     one after the other as each is echoed; here they go out together,
//     each retransmitted until echoed);
//   - then a subflow from every "subflow" endpoint to the peer's initial
//     address and port, and from every "fullmesh" endpoint to every
//     address known of the peer, while the connection has fewer
//     additional subflows than Limits.Subflows; "backup" endpoints make
//     backup subflows (flag B);
//   - for an address the peer announces (ADD_ADDR), while fewer than
//     Limits.AddAddrAccepted announced addresses were used: a subflow to
//     it, from every fullmesh endpoint if there are any, otherwise from
//     the address the route picks; a REMOVE_ADDR from the peer forgets
//     the address (the engine resets the subflows to it);
//   - no subflow twice between the same two addresses, and none from an
//     address that is not the Stack's (an endpoint whose address is gone).
//
// Beyond Linux, it keeps the subflows it opened open (see PMBackoff):
//   - a subflow that fails (closed neither on request nor in order, nor
//     refused for good by the peer's MP_TCPRST) is opened again after a
//     backoff, and so is an attempt that fails at once for want of a
//     route; the PMEventTimer of a TimerController brings the time (with
//     a plain Controller there is no retry);
//   - when an endpoint's address leaves the Stack (PMEventLocalAddrRemoved)
//     it is withdrawn with REMOVE_ADDR (RFC 8684 §3.4.2), which closes the
//     subflows from it; when it comes back (PMEventLocalAddrAdded: added
//     again, or its NIC up again) it is announced again if it is a signal
//     endpoint and its subflows are opened again at once, as are those
//     from the route's address, and every subflow waiting for its retry
//     is tried at once (routes may have changed);
//   - a subflow closed on request (CloseSubflow, RemoveAddr) is left
//     closed until its address comes back;
//   - when a subflow closes and makes room under Limits.Subflows, the
//     subflows the limit held back are opened, as Linux does.
//
// Linux opens no subflow again: once the subflow of an endpoint has
// closed, for whatever reason, that endpoint is used up for the
// connection (mptcp_pm_subflow_check_next only lowers the subflow count
// and moves on to endpoints not used yet), until the endpoint is deleted
// and added again. SetBackoff with a negative Initial does the same here.
type KernelPM struct {
	endpoints []PMEndpoint
	limits    PMLimits
	backoff   PMBackoff
}

var _ PathManager = (*KernelPM)(nil)

// NewKernelPM returns the in-kernel path manager's rules over endpoints
// and limits, with DefaultPMBackoff.
func NewKernelPM(endpoints []PMEndpoint, limits PMLimits) *KernelPM {
	return &KernelPM{endpoints: append([]PMEndpoint(nil), endpoints...), limits: limits, backoff: DefaultPMBackoff}
}

// SetBackoff sets how failed subflows are opened again. Call it before
// the path manager is in use: it is read on the Stack's loop.
func (p *KernelPM) SetBackoff(b PMBackoff) { p.backoff = b }

// Backoff returns how failed subflows are opened again.
func (p *KernelPM) Backoff() PMBackoff { return p.backoff }

// kpmState is what KernelPM keeps of a connection.
type kpmState struct {
	remotes  []kpmRemote // the peer's addresses: its initial one, then those announced
	accepted int         // announced addresses used
	slots    []*kpmSlot
	signaled map[netip.Addr]uint8 // signal endpoints announced, with their address IDs
	timer    time.Time            // asked of the TimerController
}

type kpmRemote struct {
	addr netip.AddrPort
	id   uint8
}

// kpmSlot is a subflow the path manager keeps open: from an endpoint (or
// the route's address) to an address of the peer.
type kpmSlot struct {
	ep     int        // index of the endpoint, -1 for the route's address
	local  netip.Addr // the endpoint's address, zero for the route's
	remote netip.AddrPort
	backup bool
	id     tcp.ConnID // the subflow while open
	open   bool       // opening or established
	up     time.Time  // when it was established, zero if not
	held   bool       // closed on request or for good: wait for its address to come back
	retry  PMRetry
}

// HandleEvent implements PathManager.
func (p *KernelPM) HandleEvent(now time.Time, c Controller, ev PMEvent) {
	st, _ := c.State().(*kpmState)
	if st == nil && ev.Type != PMEventEstablished {
		return
	}
	switch ev.Type {
	case PMEventEstablished:
		st = &kpmState{remotes: []kpmRemote{{addr: c.InitialSubflow().Remote}}, signaled: make(map[netip.Addr]uint8)}
		c.SetState(st)
		for _, e := range p.endpoints {
			if e.Flags&EndpointSignal != 0 {
				p.announce(now, c, st, e)
			}
		}
		p.plan(c, st)
	case PMEventAnnounced:
		if st.accepted >= p.limits.AddAddrAccepted {
			return
		}
		r := ev.Remote
		if r.Port() == 0 {
			r = netip.AddrPortFrom(r.Addr(), c.InitialSubflow().Remote.Port())
		}
		st.accepted++
		st.remotes = append(st.remotes, kpmRemote{addr: r, id: ev.RemoteID})
		p.plan(c, st)
	case PMEventRemoved:
		// The engine resets the subflows to the removed address; the
		// address no longer counts against the limit.
		for i := 1; i < len(st.remotes); i++ {
			if st.remotes[i].id != ev.RemoteID {
				continue
			}
			gone := st.remotes[i].addr
			st.remotes = append(st.remotes[:i], st.remotes[i+1:]...)
			st.accepted--
			st.dropSlots(func(s *kpmSlot) bool { return s.remote == gone })
			break
		}
	case PMEventSubflowEstablished:
		if s := st.slotOf(tcp.ConnID{Local: ev.Local, Remote: ev.Remote}); s != nil {
			s.up = now
		}
	case PMEventSubflowClosed:
		if s := st.slotOf(tcp.ConnID{Local: ev.Local, Remote: ev.Remote}); s != nil {
			s.open, s.id = false, tcp.ConnID{}
			if !SubflowFailed(ev) || !s.retry.Fail(now, s.up, p.backoff) {
				s.held = true
				s.retry.Reset()
			}
			s.up = time.Time{}
		}
	case PMEventLocalAddrAdded:
		a := ev.Local.Addr()
		for _, e := range p.endpoints {
			if _, done := st.signaled[a]; e.Flags&EndpointSignal != 0 && e.Addr == a && !done {
				p.announce(now, c, st, e)
			}
		}
		p.plan(c, st)
		// The address's subflows, and those from the route's address,
		// may open again; those waiting are tried at once, as routes
		// may have changed.
		for _, s := range st.slots {
			if !s.open && (s.local == a || s.ep < 0 || !s.retry.At.IsZero()) {
				s.held = s.held && s.local != a && s.ep >= 0
				s.retry.Reset()
			}
		}
	case PMEventLocalAddrRemoved:
		p.addrGone(now, c, st, ev.Local.Addr())
	case PMEventTimer:
		st.timer = time.Time{}
		for _, s := range st.slots {
			s.retry.Due(now)
		}
	case PMEventClosed:
		c.SetState(nil)
		return
	default:
		return
	}
	if c.State() == st {
		p.kick(now, c, st)
		p.arm(c, st)
	}
}

// announce sends an ADD_ADDR for signal endpoint e, unless its address is
// not the Stack's or is the connection's own.
func (p *KernelPM) announce(now time.Time, c Controller, st *kpmState, e PMEndpoint) {
	if !c.IsLocal(e.Addr) || e.Addr == c.InitialSubflow().Local.Addr() {
		return
	}
	if id, err := c.Announce(now, netip.AddrPortFrom(e.Addr, e.Port)); err == nil {
		st.signaled[e.Addr] = id
	}
}

// plan adds the slots the endpoints and the peer's addresses call for.
func (p *KernelPM) plan(c Controller, st *kpmState) {
	mesh := false
	for i, e := range p.endpoints {
		switch {
		case e.Flags&EndpointFullmesh != 0:
			mesh = true
			for _, r := range st.remotes {
				st.addSlot(i, e, r.addr)
			}
		case e.Flags&EndpointSubflow != 0:
			st.addSlot(i, e, c.InitialSubflow().Remote)
		}
	}
	if !mesh {
		for _, r := range st.remotes[1:] {
			st.addSlot(-1, PMEndpoint{}, r.addr)
		}
	}
}

// addSlot adds the slot from endpoint e (index i, -1 for the route's
// address) to remote, unless it exists or the families differ.
func (st *kpmState) addSlot(i int, e PMEndpoint, remote netip.AddrPort) {
	if e.Addr.IsValid() && e.Addr.Is4() != remote.Addr().Is4() {
		return
	}
	for _, s := range st.slots {
		if s.ep == i && s.remote == remote {
			return
		}
	}
	st.slots = append(st.slots, &kpmSlot{ep: i, local: e.Addr, remote: remote, backup: e.Flags&EndpointBackup != 0})
}

func (st *kpmState) slotOf(id tcp.ConnID) *kpmSlot {
	for _, s := range st.slots {
		if s.open && s.id == id {
			return s
		}
	}
	return nil
}

func (st *kpmState) dropSlots(drop func(*kpmSlot) bool) {
	k := 0
	for _, s := range st.slots {
		if !drop(s) {
			st.slots[k] = s
			k++
		}
	}
	clear(st.slots[k:])
	st.slots = st.slots[:k]
}

// addrGone withdraws an endpoint's address that left the Stack: its
// slots wait for it to come back, and REMOVE_ADDR tells the peer (and
// closes our subflows from it).
func (p *KernelPM) addrGone(now time.Time, c Controller, st *kpmState, a netip.Addr) {
	ours := false
	for _, e := range p.endpoints {
		ours = ours || e.Addr == a
	}
	if !ours {
		return
	}
	for _, s := range st.slots {
		if s.local == a {
			s.held = true
			s.retry.Reset()
		}
	}
	id, ok := st.signaled[a]
	delete(st.signaled, a)
	if !ok {
		for _, sf := range c.Info().Subflow {
			if sf.ID.Local.Addr() == a {
				id, ok = sf.LocalID, true
				break
			}
		}
	}
	if ok {
		_ = c.RemoveAddr(now, id)
	}
}

// kick opens the slots that are neither open, held nor waiting, as far as
// the limit and the addresses allow.
func (p *KernelPM) kick(now time.Time, c Controller, st *kpmState) {
	for i := 0; i < len(st.slots); i++ {
		s := st.slots[i]
		if s.open || s.held || !s.retry.At.IsZero() {
			continue
		}
		if s.local.IsValid() && !c.IsLocal(s.local) {
			continue
		}
		subs := c.Subflows()
		if len(subs)-1 >= p.limits.Subflows {
			return
		}
		dup := false
		for _, id := range subs {
			dup = dup || id.Remote.Addr() == s.remote.Addr() && (!s.local.IsValid() || id.Local.Addr() == s.local)
		}
		if dup {
			continue
		}
		id, err := c.AddSubflow(now, netip.AddrPortFrom(s.local, 0), s.remote, s.backup)
		switch {
		case err == nil:
			s.open, s.id, s.up = true, id, time.Time{}
		case TransientSubflowError(err):
			if !s.retry.Fail(now, time.Time{}, p.backoff) {
				s.held = true
			}
		case errors.Is(err, meta.ErrTooManySubflows):
			return
		default:
			s.held = true
		}
		if c.State() != st {
			return // the connection ended meanwhile
		}
	}
}

// arm asks for a timer at the earliest retry.
func (p *KernelPM) arm(c Controller, st *kpmState) {
	var at time.Time
	for _, s := range st.slots {
		if !s.open && !s.held {
			at = earliest(at, s.retry.At)
		}
	}
	if at == st.timer {
		return
	}
	if tc, ok := c.(TimerController); ok {
		st.timer = at
		tc.SetTimer(at)
	}
}

// SubflowFailed reports whether a PMEventSubflowClosed is a failure that
// a path manager may repair by opening the subflow again: not closed on
// request (Requested), not closed in order (an error), not reset by the
// peer with an MP_TCPRST that says the condition is permanent (RFC 8684
// §3.6: T flag clear), and not refused outright: a RST without a
// transient MP_TCPRST in answer to its SYN (tcp.ErrConnectionRefused)
// comes from a peer that is reachable and said no, as when it has no
// listener on that port.
func SubflowFailed(ev PMEvent) bool {
	switch {
	case ev.Type != PMEventSubflowClosed || ev.Requested || ev.Err == nil:
		return false
	case ev.Reset:
		return ev.ResetTransient
	}
	return !errors.Is(ev.Err, tcp.ErrConnectionRefused)
}

// TransientSubflowError reports whether an error of
// Controller.AddSubflow may go away by itself (no route to the peer for
// now, no usable local address, no free port), so that the attempt is
// worth repeating later.
func TransientSubflowError(err error) bool {
	return errors.Is(err, ErrNoRoute) || errors.Is(err, ErrNoAddress) || errors.Is(err, ErrNoPorts) ||
		errors.Is(err, ErrAddrNotLocal)
}
