package mptcp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// Info is a snapshot of a connection: the fields of Linux's struct
// mptcp_info and more (meta.Info).
type Info = meta.Info

// SubflowInfo describes one subflow (meta.SubflowInfo): its 4-tuple,
// address IDs, backup flags and a tcp_info-like snapshot.
type SubflowInfo = meta.SubflowInfo

// endpoint serves a stack.MPConn to a socket.Conn: it is the Conn's
// socket.Endpoint and turns the engine's events into wake-ups. It is used
// on the loop only.
type endpoint struct {
	*stack.MPConn
	sock    *socket.Conn
	noDelay int8 // SetNoDelay: 0 never called, 1 on, -1 off
}

var _ socket.Endpoint = (*endpoint)(nil)

// onEvent is the MPConn's OnEvent callback.
func (e *endpoint) onEvent(_ time.Time, c *stack.MPConn, ev meta.Event) {
	switch ev.Kind {
	case meta.EventEstablished:
		e.sock.Notify(socket.NoticeEstablished, nil)
	case meta.EventReadable, meta.EventEOF:
		e.sock.Notify(socket.NoticeReadable, nil)
	case meta.EventWritable:
		e.sock.Notify(socket.NoticeWritable, nil)
	case meta.EventSubflowEstablished:
		if tc, ok := c.Meta().Subflow(ev.ID); ok && e.noDelay != 0 {
			tc.SetNoDelay(e.noDelay > 0)
		}
	case meta.EventClosed:
		e.sock.Notify(socket.NoticeClosed, ev.Err)
	}
}

// Conn is an MPTCP connection: a net.Conn (Read, Write, Close, CloseWrite,
// deadlines, from socket.Conn) with the MPTCP-level view and controls. It
// is safe for concurrent use.
type Conn struct {
	*socket.Conn
	e *endpoint // used on the loop only
	s *Stack
}

// Info returns a snapshot of the connection (the fields of Linux's
// MPTCP_INFO, and its subflows as MPTCP_FULL_INFO gives them).
func (c *Conn) Info() (Info, error) {
	var in Info
	err := c.s.do(func(time.Time, *stack.Stack) { in = c.e.Info() })
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
	_ = c.s.do(func(time.Time, *stack.Stack) { t = c.e.Token() })
	return t
}

// Fallback reports whether the connection runs as plain TCP (RFC 8684
// §3.7).
func (c *Conn) Fallback() bool {
	var fb bool
	_ = c.s.do(func(time.Time, *stack.Stack) { fb = c.e.Fallback() })
	return fb
}

// AddSubflow opens a subflow from local (a zero port: ephemeral; a zero
// address: the route's) to remote with MP_JOIN (RFC 8684 §3.2). It returns
// the subflow's 4-tuple once its SYN is under way; EventSubflowEstablished
// or EventSubflowClosed tells the outcome. The connection must be fully
// established (EventEstablished).
func (c *Conn) AddSubflow(local, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	var (
		id  tcp.ConnID
		err error
	)
	if xerr := c.s.do(func(now time.Time, _ *stack.Stack) { id, err = c.e.AddSubflow(now, local, remote, backup) }); xerr != nil {
		err = xerr
	}
	if err != nil {
		return id, opErr("subflow", "tcp", local, remote, err)
	}
	return id, nil
}

// Abort ends the connection at once, as a close with SO_LINGER 0 does in
// Linux: MP_FASTCLOSE on every subflow (RFC 8684 §3.5), or a RST after a
// fallback to TCP. Unsent and unread data is dropped; blocked and later
// calls fail with net.ErrClosed.
func (c *Conn) Abort() error {
	if err := c.s.do(func(now time.Time, _ *stack.Stack) { c.e.Abort(now) }); err != nil {
		return err
	}
	return c.Conn.Close()
}

// RemoveSubflow closes a subflow with a reset (MP_TCPRST, RFC 8684 §3.6,
// reason "unspecified"); the data it carried goes out on the others.
func (c *Conn) RemoveSubflow(id tcp.ConnID) error {
	return c.subflowOp("close", id, func(now time.Time) error { return c.e.CloseSubflow(now, id, wire.TCPRSTUnspecified) })
}

// SetBackup sets or clears the backup priority of a subflow and tells the
// peer with MP_PRIO (RFC 8684 §3.3.8): the default scheduler uses backup
// subflows only when no other works.
func (c *Conn) SetBackup(id tcp.ConnID, backup bool) error {
	return c.subflowOp("set", id, func(now time.Time) error { return c.e.SetBackup(now, id, backup) })
}

// Announce advertises a local address (with a port, or none: the
// connection's) to the peer with ADD_ADDR (RFC 8684 §3.4.1) and returns
// the address ID it has for the connection. With a port, the Stack
// accepts the peer's MP_JOIN there until the address is removed or the
// connection ends, as Linux does for a "signal" endpoint with a port
// (stack.MPConn.Announce).
func (c *Conn) Announce(addr netip.AddrPort) (uint8, error) {
	var (
		id  uint8
		err error
	)
	if xerr := c.s.do(func(now time.Time, _ *stack.Stack) { id, err = c.e.Announce(now, addr) }); xerr != nil {
		err = xerr
	}
	if err != nil {
		return 0, opErr("announce", "tcp", addr, netip.AddrPort{}, err)
	}
	return id, nil
}

// RemoveAddr withdraws a local address by its ID with REMOVE_ADDR (RFC
// 8684 §3.4.2); the subflows from it are reset.
func (c *Conn) RemoveAddr(id uint8) error {
	var err error
	if xerr := c.s.do(func(now time.Time, _ *stack.Stack) { err = c.e.RemoveAddr(now, id) }); xerr != nil {
		err = xerr
	}
	if err != nil {
		return opErr("remove", "tcp", netip.AddrPort{}, netip.AddrPort{}, err)
	}
	return nil
}

// subflowOp runs op on the loop for subflow id and wraps its error.
func (c *Conn) subflowOp(name string, id tcp.ConnID, op func(now time.Time) error) error {
	var err error
	if xerr := c.s.do(func(now time.Time, _ *stack.Stack) { err = op(now) }); xerr != nil {
		err = xerr
	}
	if err != nil {
		return opErr(name, "tcp", id.Local, id.Remote, err)
	}
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on, on every subflow
// and on the subflows established later.
func (c *Conn) SetNoDelay(noDelay bool) error {
	return c.s.do(func(now time.Time, _ *stack.Stack) {
		c.e.noDelay = -1
		if noDelay {
			c.e.noDelay = 1
		}
		m := c.e.Meta()
		for _, id := range m.Subflows() {
			if tc, ok := m.Subflow(id); ok {
				tc.SetNoDelay(noDelay)
			}
		}
		c.e.Flush(now)
	})
}

// SetTOS sets the IPv4 Type of Service / IPv6 Traffic Class byte (its
// DSCP, RFC 2474) of every subflow's packets, as IP_TOS does, and of the
// subflows opened later.
func (c *Conn) SetTOS(tos uint8) error {
	return c.s.do(func(time.Time, *stack.Stack) { c.e.SetTOS(tos) })
}

// SetSubflowTOS sets the TOS byte of one subflow's packets.
func (c *Conn) SetSubflowTOS(id tcp.ConnID, tos uint8) error {
	ok := false
	if err := c.s.do(func(time.Time, *stack.Stack) { ok = c.e.SetSubflowTOS(id, tos) }); err != nil {
		return err
	}
	if !ok {
		return opErr("set", "tcp", id.Local, id.Remote, ErrNoSubflow)
	}
	return nil
}

// SetSubflowCongestionControl switches one subflow to the congestion
// controller registered under name in package cc ("reno", "cubic", or the
// coupled "lia", "olia", "balia", "wvegas", which couple it with the
// connection's other subflows that use them), as the enhanced socket API
// of the multipath-tcp.org kernel did with MPTCP_SUB_SETSOCKOPT and
// TCP_CONGESTION (tcp.Conn.SetCongestionControl).
func (c *Conn) SetSubflowCongestionControl(id tcp.ConnID, name string) error {
	return c.subflowOp("set", id, func(now time.Time) error {
		tc, ok := c.e.Meta().Subflow(id)
		if !ok {
			return ErrNoSubflow
		}
		if err := tc.SetCongestionControl(name); err != nil {
			return err
		}
		c.e.Flush(now)
		return nil
	})
}

// SetSubflowNoDelay turns Nagle's algorithm off (true) or on for one
// subflow.
func (c *Conn) SetSubflowNoDelay(id tcp.ConnID, noDelay bool) error {
	ok := false
	if err := c.s.do(func(now time.Time, _ *stack.Stack) {
		var tc *tcp.Conn
		if tc, ok = c.e.Meta().Subflow(id); ok {
			tc.SetNoDelay(noDelay)
			c.e.Flush(now)
		}
	}); err != nil {
		return err
	}
	if !ok {
		return opErr("set", "tcp", id.Local, id.Remote, ErrNoSubflow)
	}
	return nil
}

func (c *Conn) String() string {
	return fmt.Sprintf("mptcp %v->%v", c.LocalAddr(), c.RemoteAddr())
}
