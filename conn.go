package mptcp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
	"github.com/gomptcp/mptcp/tcp"
)

// Info is a snapshot of a connection: the fields of Linux's struct
// mptcp_info and more (meta.Info).
type Info = meta.Info

// SubflowInfo describes one subflow (meta.SubflowInfo): its 4-tuple,
// address IDs, backup flags and a tcp_info-like snapshot.
type SubflowInfo = meta.SubflowInfo

// conn is the loop side of an MPTCP connection: the engine, its place in
// the stack.Stack and the Conn that serves it to goroutines. It is the
// socket.Endpoint of that Conn and the Controller path managers act
// through. Every field and method is used on the loop only.
type conn struct {
	s       *Stack
	m       *meta.Conn
	mc      *stack.MuxConn
	sock    *socket.Conn // nil while it waits for Accept
	l       *Listener    // the listener, until accepted
	initial tcp.ConnID
	token   uint32
	server  bool

	created     bool // EventCreated was published
	established bool
	fully       bool // EventEstablished was published
	queued      bool // in l's accept queue
	closed      bool
	closeErr    error
	subs        map[tcp.ConnID]bool // subflows reported established
	pmState     any
	noDelay     int8 // SetNoDelay: 0 never called, 1 on, -1 off
}

var _ socket.Endpoint = (*conn)(nil)

// newConn makes the loop side of a connection over mc's engine.
func (s *Stack) newConn(st *stack.Stack, server bool) *conn {
	c := &conn{s: s, server: server, subs: make(map[tcp.ConnID]bool)}
	c.mc = st.NewMux(nil, c.onPoll)
	return c
}

// attachEngine completes c with its engine and files it.
func (c *conn) attachEngine(now time.Time, m *meta.Conn, initial tcp.ConnID) {
	c.m, c.initial, c.token = m, initial, m.Token()
	c.mc.SetMux(m)
	c.s.conns[m] = c
	if !m.Fallback() && m.Token() != 0 {
		c.created = true
		c.event(now, Event{Type: EventCreated, Local: initial.Local, Remote: initial.Remote})
	}
}

// Read, Write, CloseWrite, Close, Abort and Err make c a socket.Endpoint.

func (c *conn) Read(now time.Time, p []byte) (int, error) {
	n, err := c.m.Read(p)
	if n > 0 {
		c.mc.Flush(now)
	}
	return n, err
}

func (c *conn) Write(now time.Time, p []byte) (int, error) {
	n, err := c.m.Write(p)
	if n > 0 {
		c.mc.Flush(now)
	}
	return n, err
}

func (c *conn) CloseWrite(now time.Time) error {
	err := c.m.CloseWrite()
	c.mc.Flush(now)
	return err
}

func (c *conn) Close(now time.Time) error {
	err := c.m.Close()
	c.mc.Flush(now)
	return err
}

func (c *conn) Abort(now time.Time) {
	c.m.Abort()
	c.mc.Flush(now)
}

func (c *conn) Err() error { return c.m.Err() }

// onPoll reads the engine's events after each poll.
func (c *conn) onPoll(now time.Time, _ *stack.MuxConn) {
	for {
		ev, ok := c.m.NextEvent()
		if !ok {
			break
		}
		c.handle(now, ev)
	}
	// Linux's MPTCP_EVENT_ESTABLISHED: fully established (RFC 8684
	// §3.1), when subflows can join.
	if !c.fully && !c.closed && c.m.FullyEstablished() {
		c.fully = true
		c.subs[c.initial] = true
		c.event(now, Event{Type: EventEstablished, Local: c.initial.Local, Remote: c.initial.Remote})
	}
}

// handle turns an engine event into wake-ups and Stack events.
func (c *conn) handle(now time.Time, ev meta.Event) {
	switch ev.Kind {
	case meta.EventEstablished:
		c.established = true
		if c.token == 0 {
			c.token = c.m.Token()
		}
		if c.sock != nil {
			c.sock.Notify(socket.NoticeEstablished, nil)
		}
		if c.l != nil {
			c.l.established(now)
		}
		if !c.m.Fallback() && !c.created {
			c.created = true
			c.event(now, Event{Type: EventCreated, Local: c.initial.Local, Remote: c.initial.Remote})
		}
	case meta.EventReadable, meta.EventEOF:
		c.notify(socket.NoticeReadable)
	case meta.EventWritable:
		c.notify(socket.NoticeWritable)
	case meta.EventSubflowEstablished:
		if ev.ID == c.initial || c.subs[ev.ID] {
			return
		}
		c.subs[ev.ID] = true
		if tc, ok := c.m.Subflow(ev.ID); ok && c.noDelay != 0 {
			tc.SetNoDelay(c.noDelay > 0)
		}
		c.subflowEvent(now, EventSubflowEstablished, ev.ID, nil)
	case meta.EventSubflowClosed:
		if ev.ID == c.initial && !c.established {
			return
		}
		delete(c.subs, ev.ID)
		c.subflowEvent(now, EventSubflowClosed, ev.ID, ev.Err)
	case meta.EventClosed:
		c.closed, c.closeErr = true, ev.Err
		if c.sock != nil {
			c.sock.Notify(socket.NoticeClosed, ev.Err)
		}
		if c.created {
			c.event(now, Event{Type: EventClosed, Local: c.initial.Local, Remote: c.initial.Remote, Err: ev.Err})
		}
		c.mc.Release()
		delete(c.s.conns, c.m)
		if c.l != nil {
			c.l.gone(c)
		}
	}
}

func (c *conn) notify(n socket.Notice) {
	if c.sock != nil {
		c.sock.Notify(n, nil)
	}
}

// subflowEvent publishes a subflow event for subflow id.
func (c *conn) subflowEvent(now time.Time, t EventType, id tcp.ConnID, err error) {
	ev := Event{Type: t, Local: id.Local, Remote: id.Remote, Err: err}
	for _, sf := range c.m.Info().Subflow {
		if sf.ID == id {
			ev.LocalID, ev.RemoteID, ev.Backup = sf.LocalID, sf.RemoteID, sf.Backup || sf.RemoteBackup
		}
	}
	c.event(now, ev)
}

// event fills in the connection's part of ev, publishes it and hands it
// to the path manager.
func (c *conn) event(now time.Time, ev Event) {
	ev.Time, ev.Token, ev.ServerSide = now, c.token, c.server
	c.s.publish(ev)
	if c.s.pm != nil && !c.closed || ev.Type == EventClosed {
		c.s.pm.HandleEvent(now, c, ev)
	}
}

// The Controller side of conn: what path managers act through.

func (c *conn) Token() uint32              { return c.token }
func (c *conn) ServerSide() bool           { return c.server }
func (c *conn) InitialSubflow() tcp.ConnID { return c.initial }
func (c *conn) Info() Info                 { return c.m.Info() }
func (c *conn) Fallback() bool             { return c.m.Fallback() }
func (c *conn) State() any                 { return c.pmState }
func (c *conn) SetState(v any)             { c.pmState = v }
func (c *conn) LocalAddrs() []netip.Prefix { return c.mc.Stack().Addrs() }
func (c *conn) IsLocal(a netip.Addr) bool  { return c.mc.Stack().IsLocal(a) }
func (c *conn) Subflows() []tcp.ConnID     { return c.m.Subflows() }

// AddSubflow opens a subflow from local to remote (MP_JOIN, RFC 8684 §3.2).
func (c *conn) AddSubflow(now time.Time, local, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	if c.m.Fallback() {
		return tcp.ConnID{}, ErrNotMPTCP
	}
	id, err := c.m.AddSubflow(now, local, remote, backup)
	c.mc.Flush(now)
	return id, err
}

// Conn is an MPTCP connection: a net.Conn (Read, Write, Close, CloseWrite,
// deadlines, from socket.Conn) with the MPTCP-level view and controls. It
// is safe for concurrent use.
type Conn struct {
	*socket.Conn
	c *conn // used on the loop only
	s *Stack
}

// Info returns a snapshot of the connection (the fields of Linux's
// MPTCP_INFO, and its subflows as MPTCP_FULL_INFO gives them).
func (c *Conn) Info() (Info, error) {
	var in Info
	err := c.s.do(func(time.Time, *stack.Stack) { in = c.c.m.Info() })
	return in, err
}

// Subflows returns the connection's live subflows.
func (c *Conn) Subflows() ([]SubflowInfo, error) {
	in, err := c.Info()
	return in.Subflow, err
}

// Token returns the connection's local token (RFC 8684 §3.1), 0 if it is
// plain TCP from the start.
func (c *Conn) Token() uint32 {
	var t uint32
	_ = c.s.do(func(time.Time, *stack.Stack) { t = c.c.token })
	return t
}

// Fallback reports whether the connection runs as plain TCP (RFC 8684
// §3.7).
func (c *Conn) Fallback() bool {
	var fb bool
	_ = c.s.do(func(time.Time, *stack.Stack) { fb = c.c.m.Fallback() })
	return fb
}

// AddSubflow opens a subflow from local (a zero port: ephemeral; a zero
// address: the route's) to remote with MP_JOIN (RFC 8684 §3.2). It returns
// the subflow's 4-tuple once its SYN is under way; EventSubflowEstablished
// or EventSubflowClosed tells the outcome.
func (c *Conn) AddSubflow(local, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	var (
		id  tcp.ConnID
		err error
	)
	if xerr := c.s.do(func(now time.Time, _ *stack.Stack) { id, err = c.c.AddSubflow(now, local, remote, backup) }); xerr != nil {
		err = xerr
	}
	if err != nil {
		return id, opErr("subflow", "tcp", local, remote, err)
	}
	return id, nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on, on every subflow
// and on those opened later.
func (c *Conn) SetNoDelay(noDelay bool) error {
	return c.s.do(func(now time.Time, _ *stack.Stack) {
		c.c.noDelay = -1
		if noDelay {
			c.c.noDelay = 1
		}
		for _, id := range c.c.m.Subflows() {
			if tc, ok := c.c.m.Subflow(id); ok {
				tc.SetNoDelay(noDelay)
			}
		}
		c.c.mc.Flush(now)
	})
}

func (c *Conn) String() string {
	return fmt.Sprintf("mptcp %v->%v", c.LocalAddr(), c.RemoteAddr())
}
