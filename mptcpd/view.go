package mptcpd

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// view is the daemon's picture of the host: interfaces, addresses and
// connections. The Daemon guards it with its mutex.
type view struct {
	filter AddrFilter

	links map[int]Link
	addrs map[addrKey]Addr
	// usable and up are the derived state plugins see: usable local
	// addresses and the up interfaces passing the filter. netChanges
	// recomputes them and reports the differences.
	usable map[addrKey]LocalAddr
	up     map[int]Interface

	ids   idTable
	conns map[uint32]*Connection
}

func newView(f AddrFilter) *view {
	return &view{
		filter: f,
		links:  map[int]Link{},
		addrs:  map[addrKey]Addr{},
		usable: map[addrKey]LocalAddr{},
		up:     map[int]Interface{},
		conns:  map[uint32]*Connection{},
	}
}

// netDiff lists the changes of the derived network state, in the order
// plugins hear about them.
type netDiff struct {
	addrsRemoved []LocalAddr
	ifsDown      []Interface
	ifsUp        []Interface
	addrsAdded   []LocalAddr
}

// applyNet records a route netlink update and returns the resulting
// changes of usable addresses and up interfaces.
func (v *view) applyNet(u NetUpdate) netDiff {
	switch u.Kind {
	case NetSnapshot:
		v.links = make(map[int]Link, len(u.Links))
		for _, l := range u.Links {
			v.links[l.Index] = l
		}
		v.addrs = make(map[addrKey]Addr, len(u.Addrs))
		for _, a := range u.Addrs {
			v.addrs[addrKey{a.Addr.Unmap(), a.IfIndex}] = a
		}
	case LinkChanged:
		v.links[u.Link.Index] = u.Link
	case LinkRemoved:
		delete(v.links, u.Link.Index)
		maps.DeleteFunc(v.addrs, func(k addrKey, _ Addr) bool { return k.ifindex == u.Link.Index })
	case AddrAdded:
		v.addrs[addrKey{u.Addr.Addr.Unmap(), u.Addr.IfIndex}] = u.Addr
	case AddrRemoved:
		delete(v.addrs, addrKey{u.Addr.Addr.Unmap(), u.Addr.IfIndex})
	}
	return v.recompute()
}

func (v *view) recompute() netDiff {
	up := map[int]Interface{}
	for _, l := range v.links {
		if v.filter.InterfaceAllowed(l) && linkUp(l.Flags) {
			up[l.Index] = toInterface(l)
		}
	}
	usable := map[addrKey]LocalAddr{}
	for k, a := range v.addrs {
		ifc, ok := up[a.IfIndex]
		if !ok || !v.filter.AddrAllowed(a) {
			continue
		}
		usable[k] = LocalAddr{Addr: k.addr, PrefixLen: a.PrefixLen, IfIndex: a.IfIndex, IfName: ifc.Name, Flags: a.Flags}
	}
	var d netDiff
	for k, a := range v.usable {
		if _, ok := usable[k]; !ok {
			d.addrsRemoved = append(d.addrsRemoved, a)
		}
	}
	for i, ifc := range v.up {
		if _, ok := up[i]; !ok {
			ifc.Up = false
			if l, ok := v.links[i]; ok {
				ifc.Flags = l.Flags
			}
			d.ifsDown = append(d.ifsDown, ifc)
		}
	}
	for i, ifc := range up {
		if _, ok := v.up[i]; !ok {
			d.ifsUp = append(d.ifsUp, ifc)
		}
	}
	// Addresses get their IDs in a stable order, so that a snapshot of
	// the same host always gives the same IDs.
	keys := slices.SortedFunc(maps.Keys(usable), func(a, b addrKey) int {
		return cmp.Or(cmp.Compare(a.ifindex, b.ifindex), a.addr.Compare(b.addr))
	})
	for _, k := range keys {
		a := usable[k]
		a.ID = v.ids.get(k.addr, v.present)
		usable[k] = a
		if _, ok := v.usable[k]; !ok {
			d.addrsAdded = append(d.addrsAdded, a)
		}
	}
	// A removed address keeps its ID for reuse should it come back.
	for i := range d.addrsRemoved {
		d.addrsRemoved[i].ID = v.ids.peek(d.addrsRemoved[i].Addr)
	}
	v.usable, v.up = usable, up
	sortAddrs(d.addrsRemoved)
	sortAddrs(d.addrsAdded)
	sortIfs(d.ifsDown)
	sortIfs(d.ifsUp)
	return d
}

// present reports whether an address is assigned to some interface.
func (v *view) present(a netip.Addr) bool {
	for k := range v.addrs {
		if k.addr == a {
			return true
		}
	}
	return false
}

func toInterface(l Link) Interface {
	return Interface{Index: l.Index, Name: l.Name, Flags: l.Flags, Up: linkUp(l.Flags), Loopback: l.Flags&IffLoopback != 0}
}

func sortAddrs(s []LocalAddr) {
	slices.SortFunc(s, func(a, b LocalAddr) int { return cmp.Or(cmp.Compare(a.ID, b.ID), a.Addr.Compare(b.Addr)) })
}

func sortIfs(s []Interface) {
	slices.SortFunc(s, func(a, b Interface) int { return cmp.Compare(a.Index, b.Index) })
}

// ifIndexOf returns the interface holding a local address, preferring an up
// one, or 0.
func (v *view) ifIndexOf(a netip.Addr) int {
	best := 0
	for k := range v.addrs {
		if k.addr != a {
			continue
		}
		if _, up := v.up[k.ifindex]; up {
			return k.ifindex
		}
		if best == 0 || k.ifindex < best {
			best = k.ifindex
		}
	}
	return best
}

func (v *view) localAddrs() []LocalAddr {
	out := slices.Collect(maps.Values(v.usable))
	sortAddrs(out)
	return out
}

func (v *view) interfaces() []Interface {
	var out []Interface
	for _, l := range v.links {
		if v.filter.InterfaceAllowed(l) {
			out = append(out, toInterface(l))
		}
	}
	sortIfs(out)
	return out
}

func (v *view) connections() []Connection {
	out := make([]Connection, 0, len(v.conns))
	for _, c := range v.conns {
		out = append(out, c.Clone())
	}
	slices.SortFunc(out, func(a, b Connection) int { return cmp.Compare(a.Token, b.Token) })
	return out
}

func (v *view) subflowCount() int {
	n := 0
	for _, c := range v.conns {
		n += len(c.Subflows)
	}
	return n
}

// localID returns the ID a local address has on a connection: 0 for the
// initial subflow's address (RFC 8684 §3.4.1: "the address ID of the
// initial subflow is 0"), the daemon's ID otherwise.
func (v *view) localID(c *Connection, a netip.Addr) uint8 {
	if c != nil && c.Local.Addr() == a {
		return 0
	}
	return v.ids.get(a, v.present)
}

// remoteID returns the peer's ID for an address of the connection, or 0.
func remoteID(c *Connection, r netip.AddrPort) uint8 {
	for _, ra := range c.RemoteAddrs {
		if ra.Addr == r {
			return ra.ID
		}
	}
	for _, ra := range c.RemoteAddrs {
		if ra.Addr.Addr() == r.Addr() {
			return ra.ID
		}
	}
	return 0
}

// connEvent is the outcome of applying an mptcp_pm event to the view: the
// hook to call and its arguments.
type connEvent struct {
	hook    hook
	conn    Connection
	remote  RemoteAddr
	subflow Subflow
	// requested marks a subflow event about a subflow the daemon asked
	// for (established, or failed before being established).
	requested bool
}

type hook uint8

const (
	hookNone hook = iota
	hookCreated
	hookEstablished
	hookClosed
	hookAnnounced
	hookRemoved
	hookSubEstablished
	hookSubClosed
	hookSubPriority
)

func addrPort(a netip.Addr, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(a.Unmap(), port)
}

// applyEvent records an mptcp_pm event. Events about connections the
// daemon does not know (it started after they were created) are ignored,
// except ESTABLISHED, which carries all that CREATED does.
func (v *view) applyEvent(ev pm.Event) connEvent {
	c := v.conns[ev.Token]
	switch ev.Type {
	case pm.EventCreated, pm.EventEstablished:
		if c == nil {
			local, remote := addrPort(ev.SAddr, ev.SPort), addrPort(ev.DAddr, ev.DPort)
			c = &Connection{
				Token:       ev.Token,
				Local:       local,
				Remote:      remote,
				ServerSide:  ev.ServerSide,
				RemoteAddrs: []RemoteAddr{{ID: 0, Addr: remote}},
			}
			v.conns[ev.Token] = c
		}
		c.IfIndex = v.ifIndexOf(c.Local.Addr())
		c.DenyJoinID0 = ev.Flags&pm.EventFlagDenyJoinID0 != 0
		h := hookCreated
		if ev.Type == pm.EventEstablished {
			c.Established = true
			h = hookEstablished
		}
		return connEvent{hook: h, conn: c.Clone()}
	case pm.EventClosed:
		if c == nil {
			return connEvent{}
		}
		delete(v.conns, ev.Token)
		return connEvent{hook: hookClosed, conn: c.Clone()}
	}
	if c == nil {
		return connEvent{}
	}
	switch ev.Type {
	case pm.EventAnnounced:
		port := ev.DPort
		if port == 0 {
			// RFC 8684 §3.4.1: without a port, subflows go to the port
			// of the initial subflow.
			port = c.Remote.Port()
		}
		ra := RemoteAddr{ID: ev.RemoteID, Addr: addrPort(ev.DAddr, port)}
		c.RemoteAddrs = slices.DeleteFunc(c.RemoteAddrs, func(r RemoteAddr) bool { return r.ID == ra.ID && ra.ID != 0 })
		c.RemoteAddrs = append(c.RemoteAddrs, ra)
		slices.SortStableFunc(c.RemoteAddrs, func(a, b RemoteAddr) int { return cmp.Compare(a.ID, b.ID) })
		return connEvent{hook: hookAnnounced, conn: c.Clone(), remote: ra}
	case pm.EventRemoved:
		ra := RemoteAddr{ID: ev.RemoteID}
		if i := slices.IndexFunc(c.RemoteAddrs, func(r RemoteAddr) bool { return r.ID == ev.RemoteID }); i >= 0 {
			ra = c.RemoteAddrs[i]
			c.RemoteAddrs = slices.Delete(c.RemoteAddrs, i, i+1)
		}
		return connEvent{hook: hookRemoved, conn: c.Clone(), remote: ra}
	case pm.EventSubEstablished:
		s := v.subflowOf(ev)
		requested := false
		if i := c.findPending(s.Local, s.Remote); i >= 0 {
			requested = true
			if s.IfIndex == 0 {
				s.IfIndex = c.Subflows[i].IfIndex
			}
			c.Subflows[i] = s
		} else if i := c.findSubflow(s.Local, s.Remote); i >= 0 {
			c.Subflows[i] = s
		} else {
			c.Subflows = append(c.Subflows, s)
		}
		return connEvent{hook: hookSubEstablished, conn: c.Clone(), subflow: s, requested: requested}
	case pm.EventSubClosed:
		s := v.subflowOf(ev)
		s.Error, s.ResetReason = ev.Error, ev.ResetReason
		requested := false
		if i := c.findSubflow(s.Local, s.Remote); i >= 0 {
			c.Subflows = slices.Delete(c.Subflows, i, i+1)
		} else if i := c.findPending(s.Local, s.Remote); i >= 0 {
			requested = true
			s.Pending = true
			c.Subflows = slices.Delete(c.Subflows, i, i+1)
		} else if s.Local == c.Local && s.Remote == c.Remote {
			c.InitialClosed = true
		}
		return connEvent{hook: hookSubClosed, conn: c.Clone(), subflow: s, requested: requested}
	case pm.EventSubPriority:
		s := v.subflowOf(ev)
		if i := c.findSubflow(s.Local, s.Remote); i >= 0 {
			c.Subflows[i].Backup = s.Backup
			s = c.Subflows[i]
		} else if s.Local == c.Local && s.Remote == c.Remote {
			c.Backup = s.Backup
		}
		return connEvent{hook: hookSubPriority, conn: c.Clone(), subflow: s}
	}
	return connEvent{}
}

// subflowOf builds the Subflow an event describes.
func (v *view) subflowOf(ev pm.Event) Subflow {
	s := Subflow{
		LocalID:  ev.LocalID,
		RemoteID: ev.RemoteID,
		Local:    addrPort(ev.SAddr, ev.SPort),
		Remote:   addrPort(ev.DAddr, ev.DPort),
		Backup:   ev.Backup,
		IfIndex:  ev.IfIndex,
	}
	if s.IfIndex <= 0 {
		s.IfIndex = v.ifIndexOf(s.Local.Addr())
	}
	return s
}

// findSubflow returns the index of the established subflow between local
// and remote, or -1.
func (c *Connection) findSubflow(local, remote netip.AddrPort) int {
	return slices.IndexFunc(c.Subflows, func(s Subflow) bool {
		return !s.Pending && s.Local == local && s.Remote == remote
	})
}

// findPending returns the index of a pending subflow that an event about a
// subflow between local and remote may be about, or -1.
func (c *Connection) findPending(local, remote netip.AddrPort) int {
	return slices.IndexFunc(c.Subflows, func(s Subflow) bool {
		return s.Pending && s.Local.Addr() == local.Addr() && s.Remote == remote &&
			(s.Local.Port() == 0 || s.Local.Port() == local.Port())
	})
}

// idTable hands out the address IDs of local addresses (RFC 8684 §3.4.1):
// 1–255, one per address, kept for the daemon's lifetime so that an
// address keeps its ID on every connection. Once all are taken, the IDs of
// addresses no longer present are reused.
type idTable struct {
	byAddr map[netip.Addr]uint8
	byID   [256]netip.Addr
	next   int
}

// get returns the ID of a, assigning one if needed; present tells which
// addresses still exist when IDs run out. It returns 0 only when all 255
// IDs belong to present addresses.
func (t *idTable) get(a netip.Addr, present func(netip.Addr) bool) uint8 {
	if id, ok := t.byAddr[a]; ok {
		return id
	}
	if t.byAddr == nil {
		t.byAddr = map[netip.Addr]uint8{}
	}
	for pass := 0; pass < 2; pass++ {
		for i := range 255 {
			id := 1 + (t.next+i)%255
			old := t.byID[id]
			if old.IsValid() && (pass == 0 || present(old)) {
				continue
			}
			if old.IsValid() {
				delete(t.byAddr, old)
			}
			t.byID[id] = a
			t.byAddr[a] = uint8(id)
			t.next = id % 255
			return uint8(id)
		}
	}
	return 0
}

// peek returns the ID of a without assigning one.
func (t *idTable) peek(a netip.Addr) uint8 { return t.byAddr[a] }
