package pathmgr

import (
	"errors"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// Fullmesh opens a subflow from every usable local address to every known
// address of the peer, up to MaxSubflows additional subflows per
// connection. Usable local addresses are the stack's, of the peer
// address's family, except loopback and link-local ones (unless the peer
// is link-local too) and those in Exclude. Addresses the peer announces
// (ADD_ADDR) are used up to MaxAccepted. Connections a listener accepted
// open subflows only with ServerSide set (peers rarely accept joins at
// their ephemeral port).
//
// A subflow it opened that fails is opened again after the backoff of
// Backoff (stack.PMBackoff; with a stack.TimerController), and at once
// when a local address comes back (stack.PMEventLocalAddrAdded). A
// local address that leaves the stack is withdrawn with REMOVE_ADDR,
// which closes its subflows; a subflow closed on request stays closed
// until its local address comes back.
type Fullmesh struct {
	MaxSubflows int // additional subflows per connection (0: 8)
	// PerPair is the number of subflows between each pair of addresses
	// (0: 1), each from its own port (the num_subflows of the
	// multipath-tcp.org kernel's fullmesh).
	PerPair     int
	MaxAccepted int // announced addresses used (0: 8)
	Exclude     []netip.Addr
	ServerSide  bool
	// Backoff paces the re-opening of failed subflows (zero:
	// stack.DefaultPMBackoff).
	Backoff stack.PMBackoff
}

var _ stack.PathManager = (*Fullmesh)(nil)

type meshState struct {
	remotes []meshRemote // the initial address first
	pairs   []*meshPair
	timer   time.Time // asked of the TimerController
}

type meshRemote struct {
	addr netip.AddrPort
	id   uint8
}

// meshPair is a local and a remote address and the subflows opened
// between them.
type meshPair struct {
	local  netip.Addr
	remote netip.AddrPort
	subs   map[tcp.ConnID]time.Time // opened here: when each was established (zero: not yet)
	held   bool                     // closed on request or for good: wait for the local address
	retry  stack.PMRetry
}

// HandleEvent implements stack.PathManager.
func (f *Fullmesh) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	if c.ServerSide() && !f.ServerSide {
		return
	}
	st, _ := c.State().(*meshState)
	if st == nil && ev.Type != stack.PMEventEstablished {
		return
	}
	switch ev.Type {
	case stack.PMEventEstablished:
		st = &meshState{remotes: []meshRemote{{addr: c.InitialSubflow().Remote}}}
		c.SetState(st)
	case stack.PMEventAnnounced:
		if len(st.remotes)-1 >= limit(f.MaxAccepted) {
			return
		}
		r := ev.Remote
		if r.Port() == 0 {
			r = netip.AddrPortFrom(r.Addr(), c.InitialSubflow().Remote.Port())
		}
		for _, k := range st.remotes {
			if k.addr == r {
				return
			}
		}
		st.remotes = append(st.remotes, meshRemote{addr: r, id: ev.RemoteID})
	case stack.PMEventRemoved:
		// The engine closes the subflows to a removed address itself;
		// forget it so that it is not used again.
		for i := 1; i < len(st.remotes); i++ {
			if st.remotes[i].id == ev.RemoteID {
				gone := st.remotes[i].addr
				st.remotes = append(st.remotes[:i], st.remotes[i+1:]...)
				st.dropPairs(func(p *meshPair) bool { return p.remote == gone })
				break
			}
		}
	case stack.PMEventSubflowEstablished:
		if p := st.pairOf(tcp.ConnID{Local: ev.Local, Remote: ev.Remote}); p != nil {
			p.subs[tcp.ConnID{Local: ev.Local, Remote: ev.Remote}] = now
		}
	case stack.PMEventSubflowClosed:
		id := tcp.ConnID{Local: ev.Local, Remote: ev.Remote}
		if p := st.pairOf(id); p != nil {
			up := p.subs[id]
			delete(p.subs, id)
			if !stack.SubflowFailed(ev) || !p.retry.Fail(now, up, f.Backoff) {
				p.held = true
				p.retry.Reset()
			}
		}
	case stack.PMEventLocalAddrAdded:
		// The address's pairs may open again; those waiting are tried
		// at once, as routes may have changed.
		for _, p := range st.pairs {
			if p.local == ev.Local.Addr() || !p.retry.At.IsZero() {
				p.held = p.held && p.local != ev.Local.Addr()
				p.retry.Reset()
			}
		}
	case stack.PMEventLocalAddrRemoved:
		removeLocal(now, c, ev.Local.Addr())
		for _, p := range st.pairs {
			if p.local == ev.Local.Addr() {
				p.held = true
				p.retry.Reset()
			}
		}
	case stack.PMEventTimer:
		st.timer = time.Time{}
		for _, p := range st.pairs {
			p.retry.Due(now)
		}
	case stack.PMEventClosed:
		c.SetState(nil)
		return
	default:
		return
	}
	if c.State() == st {
		f.mesh(now, c, st)
		st.timer = arm(c, st.timer, st.next())
	}
}

// mesh opens the subflows of every (local, remote) pair not open yet.
func (f *Fullmesh) mesh(now time.Time, c stack.Controller, st *meshState) {
	for _, r := range st.remotes {
		for _, pfx := range c.LocalAddrs() {
			l := pfx.Addr()
			if !f.usable(l, r.addr.Addr()) {
				continue
			}
			p := st.pair(l, r.addr)
			if p.held || !p.retry.At.IsZero() {
				continue
			}
			if !f.open(now, c, p) || c.State() != st {
				return
			}
		}
	}
}

// open adds subflows between p's addresses until PerPair exist; it
// reports false once the connection has MaxSubflows additional subflows.
func (f *Fullmesh) open(now time.Time, c stack.Controller, p *meshPair) bool {
	for {
		subs := c.Subflows()
		if len(subs)-1 >= limit(f.MaxSubflows) {
			return false
		}
		n := 0
		for _, id := range subs {
			if id.Local.Addr() == p.local && id.Remote.Addr() == p.remote.Addr() {
				n++
			}
		}
		if n >= max(f.PerPair, 1) {
			return true
		}
		id, err := c.AddSubflow(now, netip.AddrPortFrom(p.local, 0), p.remote, false)
		switch {
		case err == nil:
			p.subs[id] = time.Time{}
			continue
		case stack.TransientSubflowError(err):
			// No route from that address for now: the others are
			// tried, this pair again later.
			if !p.retry.Fail(now, time.Time{}, f.Backoff) {
				p.held = true
			}
		case errors.Is(err, meta.ErrTooManySubflows):
			return false
		default:
			p.held = true
		}
		return true
	}
}

func (f *Fullmesh) usable(l, r netip.Addr) bool {
	if l.Is4() != r.Is4() || l.IsLoopback() || l.IsLinkLocalUnicast() && !r.IsLinkLocalUnicast() {
		return false
	}
	for _, x := range f.Exclude {
		if x == l {
			return false
		}
	}
	return true
}

// pair returns the pair of l and r, making it if need be.
func (st *meshState) pair(l netip.Addr, r netip.AddrPort) *meshPair {
	for _, p := range st.pairs {
		if p.local == l && p.remote == r {
			return p
		}
	}
	p := &meshPair{local: l, remote: r, subs: make(map[tcp.ConnID]time.Time)}
	st.pairs = append(st.pairs, p)
	return p
}

func (st *meshState) pairOf(id tcp.ConnID) *meshPair {
	for _, p := range st.pairs {
		if _, ok := p.subs[id]; ok {
			return p
		}
	}
	return nil
}

func (st *meshState) dropPairs(drop func(*meshPair) bool) {
	k := 0
	for _, p := range st.pairs {
		if !drop(p) {
			st.pairs[k] = p
			k++
		}
	}
	clear(st.pairs[k:])
	st.pairs = st.pairs[:k]
}

// next is the earliest retry of the pairs.
func (st *meshState) next() time.Time {
	var at time.Time
	for _, p := range st.pairs {
		if !p.held && !p.retry.At.IsZero() && (at.IsZero() || p.retry.At.Before(at)) {
			at = p.retry.At
		}
	}
	return at
}

// arm asks c for a timer at at when it differs from the one asked for
// (cur), and returns the timer now asked for.
func arm(c stack.Controller, cur, at time.Time) time.Time {
	if at.Equal(cur) {
		return cur
	}
	tc, ok := c.(stack.TimerController)
	if !ok {
		return cur
	}
	tc.SetTimer(at)
	return at
}

// removeLocal withdraws local address a with REMOVE_ADDR (RFC 8684
// §3.4.2), which also closes the subflows from it, when the connection
// has given it an address ID.
func removeLocal(now time.Time, c stack.Controller, a netip.Addr) {
	for _, sf := range c.Info().Subflow {
		if sf.ID.Local.Addr() == a {
			_ = c.RemoveAddr(now, sf.LocalID)
			return
		}
	}
}

func limit(n int) int {
	if n <= 0 {
		return 8
	}
	return n
}
