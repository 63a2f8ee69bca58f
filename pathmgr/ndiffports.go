package pathmgr

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/stack"
)

// NDiffPorts opens subflows between the addresses of the initial subflow,
// each from a new ephemeral port, until the connection has N subflows in
// all (the initial one included), so that networks that balance flows by
// their 5-tuple (ECMP) spread one connection over several paths. Only the
// side that dialled opens them.
type NDiffPorts struct {
	N int // subflows in all (0 or 1: none added)
}

var _ stack.PathManager = (*NDiffPorts)(nil)

// HandleEvent implements stack.PathManager.
func (p *NDiffPorts) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	if c.ServerSide() || ev.Type != stack.PMEventEstablished {
		return
	}
	init := c.InitialSubflow()
	for range p.N - len(c.Subflows()) {
		if _, err := c.AddSubflow(now, netip.AddrPortFrom(init.Local.Addr(), 0), init.Remote, false); err != nil {
			return
		}
	}
}
