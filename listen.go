package mptcp

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
	"github.com/gomptcp/mptcp/tcp"
)

// ListenConfig opens listeners of a Stack, as net.ListenConfig does.
type ListenConfig struct {
	// Stack is the Stack to listen on. Required.
	Stack *Stack
	// Backlog bounds the connections in their handshake plus those
	// waiting for Accept (default stack.DefaultBacklog).
	Backlog int
	// DisableMPTCP listens for plain TCP only (as Config.Disabled).
	DisableMPTCP bool
}

// Listen listens on address ("192.0.2.1:80", ":8080") on network "tcp",
// "tcp4" or "tcp6". With MPTCP it returns a *Listener, which accepts
// MPTCP connections and plain TCP ones alike (a SYN without MP_CAPABLE
// makes a connection that is plain TCP from the start, RFC 8684 §3.7),
// and new subflows of its connections (MP_JOIN, §3.2).
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	local, err := socket.ParseAddr(network, address, true)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	if lc.DisableMPTCP || lc.Stack.cfg.Disabled {
		l, err := lc.Stack.host.ListenAddrPort(local, &socket.ListenOptions{Backlog: lc.Backlog, Config: lc.Stack.cfg.TCP})
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	l, err := lc.Stack.ListenMPTCP(local, lc.Backlog)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Listen listens with a zero ListenConfig of the Stack.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	lc := ListenConfig{Stack: s}
	return lc.Listen(context.Background(), network, address)
}

// Listener is an MPTCP listener: a net.Listener. It is safe for concurrent
// use.
type Listener struct {
	s    *Stack
	addr *net.TCPAddr

	// Loop side.
	sl      *stack.Listener
	ml      *meta.Listener
	local   netip.AddrPort
	kids    []*conn // in their handshake
	queue   []*conn // established, waiting for Accept
	lclosed bool

	ready     chan struct{} // capacity 1
	closed    chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*Listener)(nil)

// ListenMPTCP opens an MPTCP listener on local (an unspecified address:
// every address; port 0: an ephemeral port) with room for backlog
// connections (0: stack.DefaultBacklog).
func (s *Stack) ListenMPTCP(local netip.AddrPort, backlog int) (*Listener, error) {
	if backlog <= 0 {
		backlog = stack.DefaultBacklog
	}
	if s.isClosed() {
		return nil, opErr("listen", "tcp", local, netip.AddrPort{}, net.ErrClosed)
	}
	l := &Listener{s: s, ready: make(chan struct{}, 1), closed: make(chan struct{})}
	var err error
	xerr := s.do(func(now time.Time, st *stack.Stack) {
		l.sl, err = st.ListenMux(local, l.input)
		if err != nil {
			return
		}
		cfg := s.mcfg
		l.ml, err = meta.NewListener(&cfg, l.sl.Port(), backlog)
		if err != nil {
			l.sl.Close(now)
			return
		}
		l.local = l.sl.Addr()
		s.lists[l] = struct{}{}
		s.publish(Event{Type: EventListenerCreated, Time: now, Local: l.local})
	})
	if xerr != nil {
		err = xerr
	}
	if err != nil {
		return nil, opErr("listen", "tcp", local, netip.AddrPort{}, err)
	}
	a := l.local
	l.addr = &net.TCPAddr{Port: int(a.Port())}
	if a.Addr().IsValid() && !a.Addr().IsUnspecified() {
		l.addr.IP = a.Addr().AsSlice()
	}
	return l, nil
}

// input hands a segment for the listening port to the engine's listener
// (stack.MuxListenFunc); on the loop.
func (l *Listener) input(now time.Time, id tcp.ConnID, seg *tcp.Segment) (*stack.MuxConn, tcp.Segment, bool) {
	m, reply, hasReply := l.ml.Input(now, id, seg)
	if m == nil {
		return nil, reply, hasReply
	}
	s := l.s
	c := s.conns[m]
	if c == nil {
		// A new connection (MP_CAPABLE, or plain TCP).
		c = s.newConn(l.sl.Stack(), true)
		c.l = l
		l.kids = append(l.kids, c)
		c.attachEngine(now, m, id)
	}
	return c.mc, reply, hasReply
}

// established moves the connections the engine's listener has ready
// into the accept queue; on the loop.
func (l *Listener) established(time.Time) {
	for {
		m, ok := l.ml.Accept()
		if !ok {
			break
		}
		c := l.s.conns[m]
		if c == nil || c.queued || c.l != l {
			continue
		}
		c.queued = true
		if i := slices.Index(l.kids, c); i >= 0 {
			l.kids = slices.Delete(l.kids, i, i+1)
		}
		l.queue = append(l.queue, c)
	}
	if len(l.queue) > 0 {
		select {
		case l.ready <- struct{}{}:
		default:
		}
	}
}

// gone forgets a connection that ended before Accept; on the loop.
func (l *Listener) gone(c *conn) {
	if i := slices.Index(l.kids, c); i >= 0 {
		l.kids = slices.Delete(l.kids, i, i+1)
	}
	// A queued connection stays: Accept hands it out, with what it
	// received and why it ended, as for TCP.
}

// Accept waits for a connection and returns it (a *Conn).
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptMPTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptMPTCP is Accept returning the *Conn.
func (l *Listener) AcceptMPTCP() (*Conn, error) {
	for {
		select {
		case <-l.closed:
			return nil, l.opErr(net.ErrClosed)
		default:
		}
		sock, err := l.s.host.NewConn()
		if err != nil {
			return nil, l.opErr(err)
		}
		var got *conn
		xerr := l.s.do(func(now time.Time, _ *stack.Stack) {
			if len(l.queue) == 0 {
				return
			}
			got = l.queue[0]
			l.queue = slices.Delete(l.queue, 0, 1)
			got.l = nil
			got.sock = sock
			sock.Attach(got, got.initial.Local, got.initial.Remote)
			// Events before Accept went to nobody: report the state.
			sock.Notify(socket.NoticeEstablished, nil)
			if got.closed {
				sock.Notify(socket.NoticeClosed, got.closeErr)
			} else if got.m.Readable() > 0 {
				sock.Notify(socket.NoticeReadable, nil)
			}
		})
		if xerr != nil {
			sock.Discard()
			return nil, l.opErr(xerr)
		}
		if got != nil {
			return &Conn{Conn: sock, c: got, s: l.s}, nil
		}
		sock.Discard()
		select {
		case <-l.ready:
		case <-l.closed:
		}
	}
}

// Close stops listening; connections not accepted yet are reset.
// Blocked Accepts return net.ErrClosed.
func (l *Listener) Close() error {
	first := false
	l.closeOnce.Do(func() {
		first = true
		close(l.closed)
	})
	if !first {
		return l.opErr(net.ErrClosed)
	}
	_ = l.s.do(func(now time.Time, _ *stack.Stack) {
		l.sl.Close(now)
		delete(l.s.lists, l)
		kids := append(l.kids, l.queue...)
		l.kids, l.queue = nil, nil
		for _, c := range kids {
			c.l = nil
			c.Abort(now)
		}
		l.s.publish(Event{Type: EventListenerClosed, Time: now, Local: l.local})
	})
	return nil
}

// Addr returns the listening address (a *net.TCPAddr; no IP for a
// wildcard).
func (l *Listener) Addr() net.Addr { return l.addr }

func (l *Listener) opErr(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
}
