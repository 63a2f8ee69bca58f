package stack

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/tcp"
)

// Mux is an engine that owns several TCP 4-tuples and makes their segments
// itself: an MPTCP connection (package meta), whose subflows are TCP
// connections it drives. The Stack hands it the segments of the 4-tuples
// bound to its MuxConn, polls it for output, which names the 4-tuple each
// segment leaves on, and keeps it in the timer heap by its NextDeadline.
type Mux interface {
	// Input processes a segment for 4-tuple id. It reports false when
	// the engine has no such connection; the Stack then answers the
	// segment as one for a closed port (RFC 9293 §3.10.7.1).
	Input(now time.Time, id tcp.ConnID, seg *tcp.Segment) bool
	// Poll returns the next segment to send and its 4-tuple, or false.
	// The payload is in buf when buf has room; the segment must stay
	// valid until the next call.
	Poll(now time.Time, buf []byte) (tcp.ConnID, tcp.Segment, bool)
	// NextDeadline is when Poll must be called again if nothing else
	// happens (zero: never).
	NextDeadline() time.Time
}

// MuxPollInto is implemented by Mux engines that can write their next
// segment into the caller's Segment (as tcp.Conn.PollInto), which spares
// two copies of a Segment per segment sent. meta.Conn is one.
type MuxPollInto interface {
	PollInto(now time.Time, buf []byte, seg *tcp.Segment) (tcp.ConnID, bool)
}

// TSOSizer is implemented by Mux engines that size the super-packets of
// their 4-tuples' bursts (tcp.Conn.TSOSegs): the Stack puts at most
// TSOSegs(id) segments of id in one (0: no limit). meta.Conn is one.
type TSOSizer interface {
	TSOSegs(id tcp.ConnID) int
}

// MuxConn is a Mux's place in a Stack: the 4-tuples bound to it, its NICs,
// its timer. Its methods, like the Stack's, must be called from the
// goroutine that drives the Stack.
type MuxConn struct {
	s      *Stack
	m      Mux
	pi     MuxPollInto // m as one, or nil
	tso    TSOSizer    // m as one, or nil
	onPoll func(now time.Time, mc *MuxConn)
	tuples []*muxTuple
	tos    uint8 // of new 4-tuples
	// extra is a deadline of the MuxConn's owner beside the engine's
	// (an MPConn's path manager timer): the engine is polled then too.
	extra time.Time
	entry // freed: released
}

// muxTuple is one 4-tuple of a MuxConn and the NIC it leaves through.
type muxTuple struct {
	id   tcp.ConnID
	mc   *MuxConn
	nic  link.NIC
	mss  int   // the largest MSS the NIC's MTU allows, 0 if unknown
	tos  uint8 // the DSCP of its packets (SetTOS)
	solo int   // the largest payload sent as a packet of its own (gso.go)
}

// NewMux returns a MuxConn with no 4-tuples. m may be nil until SetMux,
// for engines that need their first 4-tuple (Bind) before they exist.
// onPoll, if set, is called after every poll of the engine, from inside
// the Stack's call: the place to read the engine's events. It may call
// into the engine and the Stack; the output it causes is sent before the
// Stack's call returns.
func (s *Stack) NewMux(m Mux, onPoll func(now time.Time, mc *MuxConn)) *MuxConn {
	mc := &MuxConn{s: s, onPoll: onPoll}
	mc.SetMux(m)
	mc.entry = entry{mux: mc, heapIx: -1}
	return mc
}

// SetMux sets the engine (once).
func (mc *MuxConn) SetMux(m Mux) {
	mc.m = m
	mc.pi, _ = m.(MuxPollInto)
	mc.tso, _ = m.(TSOSizer)
}

// Mux returns the engine.
func (mc *MuxConn) Mux() Mux { return mc.m }

// Stack returns the Stack.
func (mc *MuxConn) Stack() *Stack { return mc.s }

// Bind reserves the 4-tuple from local to remote for the engine, whose
// segments from then on go to its Input. A zero local address is chosen
// by the route to remote and a zero port is an ephemeral one (RFC 6056);
// a non-zero address must be local, and the connection leaves through
// that address's NIC when it has a route to remote (stack.Route), which
// keeps each MPTCP subflow on its own path.
func (mc *MuxConn) Bind(local, remote netip.AddrPort) (tcp.ConnID, error) {
	s := mc.s
	if mc.freed {
		return tcp.ConnID{}, fmt.Errorf("%w: released MuxConn", ErrInvalid)
	}
	raddr := remote.Addr().Unmap()
	if !validAddr(raddr) || remote.Port() == 0 {
		return tcp.ConnID{}, fmt.Errorf("%w: remote address %v", ErrInvalid, remote)
	}
	remote = netip.AddrPortFrom(raddr, remote.Port())
	laddr := local.Addr().Unmap()
	if laddr.IsUnspecified() {
		laddr = netip.Addr{}
	}
	nic, src, err := s.Route(raddr, laddr)
	if err != nil {
		return tcp.ConnID{}, err
	}
	id := tcp.ConnID{Local: netip.AddrPortFrom(src, local.Port()), Remote: remote}
	if id.Local.Port() == 0 {
		p, ok := s.ephemeralFor(src, remote)
		if !ok {
			return tcp.ConnID{}, ErrNoPorts
		}
		id.Local = netip.AddrPortFrom(src, p)
	} else if s.tupleTaken(id) {
		return tcp.ConnID{}, fmt.Errorf("%w: %v to %v", ErrAddrInUse, id.Local, remote)
	}
	mc.add(id, nic)
	return id, nil
}

// add files 4-tuple id, leaving through nic, for mc.
func (mc *MuxConn) add(id tcp.ConnID, nic link.NIC) {
	s := mc.s
	t := &muxTuple{id: id, mc: mc, nic: nic, mss: mtuMSS(nic, id.Remote.Addr().Is6()), tos: mc.tos}
	mc.tuples = append(mc.tuples, t)
	s.tuples[id] = t
	s.portUse[id.Local.Port()]++
}

// Unbind releases 4-tuple id: its segments no longer reach the engine.
func (mc *MuxConn) Unbind(id tcp.ConnID) {
	s := mc.s
	for i, t := range mc.tuples {
		if t.id != id {
			continue
		}
		mc.tuples = append(mc.tuples[:i], mc.tuples[i+1:]...)
		if s.tuples[id] == t {
			delete(s.tuples, id)
		}
		if s.lastTup == t {
			s.lastTup = nil
		}
		if n := s.portUse[id.Local.Port()] - 1; n > 0 {
			s.portUse[id.Local.Port()] = n
		} else {
			delete(s.portUse, id.Local.Port())
		}
		return
	}
}

// SetTOS sets the Type of Service (IPv4) or Traffic Class (IPv6) byte of
// the packets of 4-tuple id: its DSCP (RFC 2474; the ECN bits are
// ignored). It reports false for a 4-tuple not bound to mc.
func (mc *MuxConn) SetTOS(id tcp.ConnID, tos uint8) bool {
	if t := mc.tuple(id); t != nil {
		t.tos = tos
		return true
	}
	return false
}

// SetDefaultTOS sets the TOS byte (SetTOS) of every 4-tuple bound to mc,
// now and later.
func (mc *MuxConn) SetDefaultTOS(tos uint8) {
	mc.tos = tos
	for _, t := range mc.tuples {
		t.tos = tos
	}
}

// Tuples returns the 4-tuples bound to the engine.
func (mc *MuxConn) Tuples() []tcp.ConnID {
	ids := make([]tcp.ConnID, len(mc.tuples))
	for i, t := range mc.tuples {
		ids[i] = t.id
	}
	return ids
}

// NIC returns the NIC that 4-tuple id leaves through, or nil.
func (mc *MuxConn) NIC(id tcp.ConnID) link.NIC {
	if t := mc.tuple(id); t != nil {
		return t.nic
	}
	return nil
}

func (mc *MuxConn) tuple(id tcp.ConnID) *muxTuple {
	for _, t := range mc.tuples {
		if t.id == id {
			return t
		}
	}
	return nil
}

// Flush polls the engine, sends what it has ready and refiles its timer.
// Call it after every call that changes the engine.
func (mc *MuxConn) Flush(now time.Time) {
	mc.s.markDirty(&mc.entry)
	mc.s.flush(now)
}

// Release unbinds every 4-tuple and forgets the engine: it is not polled
// again. Released reports it.
func (mc *MuxConn) Release() {
	for len(mc.tuples) > 0 {
		mc.Unbind(mc.tuples[0].id)
	}
	mc.s.timers.remove(&mc.entry)
	mc.freed = true
}

// Released reports whether Release was called.
func (mc *MuxConn) Released() bool { return mc.freed }

// lookupTuple returns the MuxConn tuple of id, or nil.
func (s *Stack) lookupTuple(id tcp.ConnID) *muxTuple {
	if t := s.lastTup; t != nil && t.id == id {
		return t
	}
	t := s.tuples[id]
	if t != nil {
		s.lastTup = t
	}
	return t
}

// muxInput hands s.rx, for 4-tuple id, to t's engine.
func (s *Stack) muxInput(now time.Time, t *muxTuple, id tcp.ConnID) {
	rx := &s.rx
	mc := t.mc
	// Our NIC cannot carry segments larger than its MTU allows: the
	// peer's MSS is lowered to that before the engine takes it (RFC 9293
	// §3.7.1), as for the Stack's own connections.
	if rx.Flags&tcp.FlagSYN != 0 && rx.Options.HasMSS && t.mss > 0 && int(rx.Options.MSS) > t.mss {
		rx.Options.MSS = uint16(t.mss)
	}
	if mc.m == nil || !mc.m.Input(now, id, rx) {
		s.stats.NoPort++
		if r, ok := tcp.ResetFor(rx); ok && s.reply(id, &r) {
			s.stats.ResetsSent++
		}
		return
	}
	s.markDirty(&mc.entry)
}

// serviceMux polls mc's engine until it has nothing to send, runs its
// callback and refiles it in the timer heap.
func (s *Stack) serviceMux(now time.Time, mc *MuxConn) {
	if mc.m == nil {
		return
	}
	for {
		var id tcp.ConnID
		ok := false
		if mc.pi != nil {
			id, ok = mc.pi.PollInto(now, s.out[headroom:], &s.tx)
		} else {
			var seg tcp.Segment
			if id, seg, ok = mc.m.Poll(now, s.out[headroom:]); ok {
				s.tx = seg
			}
		}
		if !ok {
			break
		}
		if t := mc.tuple(id); t != nil {
			s.solo, s.tsoMux, s.tsoID = &t.solo, mc.tso, id
			s.emit(t.nic, id.Local.Addr(), id.Remote.Addr(), &s.tx, t.mss, t.tos)
			s.solo, s.tsoMux = nil, nil
		} else {
			// A last segment (a RST) of a 4-tuple already unbound.
			s.reply(id, &s.tx)
		}
	}
	if mc.onPoll != nil {
		mc.onPoll(now, mc)
	}
	if mc.freed {
		return
	}
	s.refile(&mc.entry, earliest(mc.m.NextDeadline(), mc.extra))
}

// MuxListenFunc decides on a segment for a listener made by ListenMux,
// from the peer of 4-tuple id. When it makes a connection (an MPTCP
// connection or a new subflow of one), it returns the MuxConn that
// 4-tuple id is to be bound to; the Stack binds it. A reply (a RST for a
// refused segment) is sent back to the peer.
type MuxListenFunc func(now time.Time, id tcp.ConnID, seg *tcp.Segment) (mc *MuxConn, reply tcp.Segment, hasReply bool)

// ListenMux opens a listener on local (as Listen) whose segments go to fn.
func (s *Stack) ListenMux(local netip.AddrPort, fn MuxListenFunc) (*Listener, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil MuxListenFunc", ErrInvalid)
	}
	key, err := s.listenKeyFor(local)
	if err != nil {
		return nil, err
	}
	l := &Listener{s: s, key: key, muxIn: fn}
	s.lists[key] = l
	return l, nil
}

// toMuxListener hands s.rx, for 4-tuple id, to the Mux listener l.
func (s *Stack) toMuxListener(now time.Time, l *Listener, id tcp.ConnID) {
	rx := &s.rx
	nic, _, err := s.Route(id.Remote.Addr(), id.Local.Addr())
	if err != nil {
		s.stats.DroppedNoRoute++
		return
	}
	if mss := mtuMSS(nic, id.Remote.Addr().Is6()); rx.Flags&tcp.FlagSYN != 0 && rx.Options.HasMSS && mss > 0 && int(rx.Options.MSS) > mss {
		rx.Options.MSS = uint16(mss)
	}
	mc, r, hasReply := l.muxIn(now, id, rx)
	if mc != nil && !mc.freed && !s.tupleTaken(id) {
		mc.add(id, nic)
		s.stats.PassiveOpens++
		s.markDirty(&mc.entry)
	}
	if hasReply && s.emit(nic, id.Local.Addr(), id.Remote.Addr(), &r, 0, 0) {
		s.stats.ListenerResets++
	}
}
