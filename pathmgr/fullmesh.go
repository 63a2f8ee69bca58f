package pathmgr

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/stack"
)

// Fullmesh opens a subflow from every usable local address to every known
// address of the peer, up to MaxSubflows additional subflows per
// connection. Usable local addresses are the stack's, of the peer
// address's family, except loopback and link-local ones (unless the peer
// is link-local too) and those in Exclude. Addresses the peer announces
// (ADD_ADDR) are used up to MaxAccepted. Connections a listener accepted
// open subflows only with ServerSide set (peers rarely accept joins at
// their ephemeral port).
type Fullmesh struct {
	MaxSubflows int // additional subflows per connection (0: 8)
	// PerPair is the number of subflows between each pair of addresses
	// (0: 1), each from its own port (the num_subflows of the
	// multipath-tcp.org kernel's fullmesh).
	PerPair     int
	MaxAccepted int // announced addresses used (0: 8)
	Exclude     []netip.Addr
	ServerSide  bool
}

var _ stack.PathManager = (*Fullmesh)(nil)

type meshState struct {
	remotes []netip.AddrPort
}

// HandleEvent implements stack.PathManager.
func (f *Fullmesh) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	if c.ServerSide() && !f.ServerSide {
		return
	}
	st, _ := c.State().(*meshState)
	switch ev.Type {
	case stack.PMEventEstablished:
		st = &meshState{remotes: []netip.AddrPort{c.InitialSubflow().Remote}}
		c.SetState(st)
		f.mesh(now, c, st)
	case stack.PMEventAnnounced:
		if st == nil || len(st.remotes)-1 >= limit(f.MaxAccepted) {
			return
		}
		r := ev.Remote
		if r.Port() == 0 {
			r = netip.AddrPortFrom(r.Addr(), c.InitialSubflow().Remote.Port())
		}
		for _, k := range st.remotes {
			if k == r {
				return
			}
		}
		st.remotes = append(st.remotes, r)
		f.mesh(now, c, st)
	case stack.PMEventRemoved:
		// The engine closes the subflows to a removed address itself;
		// forget it so that it is not used again.
		if st != nil {
			for i, r := range st.remotes {
				if i > 0 && ev.Remote.Addr() == r.Addr() {
					st.remotes = append(st.remotes[:i], st.remotes[i+1:]...)
					break
				}
			}
		}
	case stack.PMEventClosed:
		c.SetState(nil)
	}
}

// mesh opens the subflows of every (local, remote) pair not open yet.
func (f *Fullmesh) mesh(now time.Time, c stack.Controller, st *meshState) {
	for _, r := range st.remotes {
		for _, p := range c.LocalAddrs() {
			l := p.Addr()
			if !f.usable(l, r.Addr()) {
				continue
			}
			if !open(now, c, l, r, limit(f.MaxSubflows), max(f.PerPair, 1)) {
				return
			}
		}
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

// open adds subflows from local to remote until perPair exist between
// those addresses; it reports false once the connection has max
// additional subflows.
func open(now time.Time, c stack.Controller, local netip.Addr, remote netip.AddrPort, max, perPair int) bool {
	for {
		subs := c.Subflows()
		if len(subs)-1 >= max {
			return false
		}
		n := 0
		for _, id := range subs {
			if id.Local.Addr() == local && id.Remote.Addr() == remote.Addr() {
				n++
			}
		}
		if n >= perPair {
			return true
		}
		// A failure (no route from that address) leaves the others
		// to try.
		if _, err := c.AddSubflow(now, netip.AddrPortFrom(local, 0), remote, false); err != nil {
			return true
		}
	}
}

func limit(n int) int {
	if n <= 0 {
		return 8
	}
	return n
}
