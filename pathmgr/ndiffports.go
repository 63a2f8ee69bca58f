package pathmgr

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// NDiffPorts opens subflows between the addresses of the initial subflow,
// each from a new ephemeral port, until the connection has N subflows in
// all (the initial one included), so that networks that balance flows by
// their 5-tuple (ECMP) spread one connection over several paths. Only the
// side that dialled opens them.
//
// A subflow it opened that fails is replaced after the backoff of Backoff
// (stack.PMBackoff; with a stack.TimerController), and at once when a
// local address comes back (stack.PMEventLocalAddrAdded); one closed on
// request, or given up, lowers the count it keeps up until the initial
// local address comes back.
type NDiffPorts struct {
	N int // subflows in all (0 or 1: none added)
	// Backoff paces the replacement of failed subflows (zero:
	// stack.DefaultPMBackoff).
	Backoff stack.PMBackoff
}

var _ stack.PathManager = (*NDiffPorts)(nil)

type ndpState struct {
	subs   map[tcp.ConnID]time.Time // opened here: when each was established (zero: not yet)
	target int                      // subflows to keep in all
	retry  stack.PMRetry
	timer  time.Time // asked of the TimerController
}

// HandleEvent implements stack.PathManager.
func (p *NDiffPorts) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	if c.ServerSide() {
		return
	}
	st, _ := c.State().(*ndpState)
	if st == nil && ev.Type != stack.PMEventEstablished {
		return
	}
	switch ev.Type {
	case stack.PMEventEstablished:
		st = &ndpState{subs: make(map[tcp.ConnID]time.Time), target: p.N}
		c.SetState(st)
	case stack.PMEventSubflowEstablished:
		id := tcp.ConnID{Local: ev.Local, Remote: ev.Remote}
		if _, ok := st.subs[id]; ok {
			st.subs[id] = now
		}
		return
	case stack.PMEventSubflowClosed:
		id := tcp.ConnID{Local: ev.Local, Remote: ev.Remote}
		up, ok := st.subs[id]
		if !ok {
			return
		}
		delete(st.subs, id)
		switch {
		case !stack.SubflowFailed(ev):
			st.target--
		case !st.retry.At.IsZero():
			// A replacement is due already: it fills this gap too.
		case !st.retry.Fail(now, up, p.Backoff):
			st.target--
			st.retry.Reset()
		}
	case stack.PMEventLocalAddrAdded:
		// A replacement waiting is tried at once, as routes may have
		// changed; the initial address back restores the count.
		if ev.Local.Addr() == c.InitialSubflow().Local.Addr() {
			st.target = p.N
		} else if st.retry.At.IsZero() {
			return
		}
		st.retry.Reset()
	case stack.PMEventTimer:
		st.timer = time.Time{}
		st.retry.Due(now)
	case stack.PMEventClosed:
		c.SetState(nil)
		return
	default:
		return
	}
	p.fill(now, c, st)
	st.timer = arm(c, st.timer, st.retry.At)
}

// fill opens subflows until the connection has target of them, unless a
// retry is pending.
func (p *NDiffPorts) fill(now time.Time, c stack.Controller, st *ndpState) {
	init := c.InitialSubflow()
	for st.retry.At.IsZero() && len(c.Subflows()) < st.target {
		id, err := c.AddSubflow(now, netip.AddrPortFrom(init.Local.Addr(), 0), init.Remote, false)
		if err != nil {
			if stack.TransientSubflowError(err) && st.retry.Fail(now, time.Time{}, p.Backoff) {
				return
			}
			st.target = len(c.Subflows())
			return
		}
		st.subs[id] = time.Time{}
	}
}
