package mptcp

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
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
func (lc *ListenConfig) Listen(_ context.Context, network, address string) (net.Listener, error) {
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

// Listen listens with a ListenConfig of the Stack.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	lc := ListenConfig{Stack: s}
	return lc.Listen(context.Background(), network, address)
}

// Listener is an MPTCP listener: a net.Listener. It is safe for concurrent
// use.
type Listener struct {
	s         *Stack
	ml        *stack.MPListener // used on the loop only
	addr      *net.TCPAddr
	ready     chan struct{} // capacity 1
	closed    chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*Listener)(nil)

// ListenMPTCP opens an MPTCP listener on local (an unspecified address:
// every address; port 0: an ephemeral port) with room for backlog
// connections (0: stack.DefaultBacklog).
func (s *Stack) ListenMPTCP(local netip.AddrPort, backlog int) (*Listener, error) {
	if s.isClosed() {
		return nil, opErr("listen", "tcp", local, netip.AddrPort{}, net.ErrClosed)
	}
	l := &Listener{s: s, ready: make(chan struct{}, 1), closed: make(chan struct{})}
	var err error
	xerr := s.do(func(now time.Time, st *stack.Stack) {
		l.ml, err = st.ListenMPTCP(now, local, &stack.MPListenOptions{
			Backlog:  backlog,
			OnAccept: func(time.Time, *stack.MPListener) { signal(l.ready) },
		})
		if err == nil {
			s.lists[l] = struct{}{}
		}
	})
	if xerr != nil {
		err = xerr
	}
	if err != nil {
		return nil, opErr("listen", "tcp", local, netip.AddrPort{}, err)
	}
	a := l.ml.Addr()
	l.addr = &net.TCPAddr{Port: int(a.Port())}
	if a.Addr().IsValid() && !a.Addr().IsUnspecified() {
		l.addr.IP = a.Addr().AsSlice()
	}
	return l, nil
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
		var e *endpoint
		xerr := l.s.do(func(time.Time, *stack.Stack) {
			mc, ok := l.ml.Accept()
			if !ok {
				return
			}
			e = &endpoint{MPConn: mc, sock: sock}
			mc.SetOnEvent(e.onEvent)
			sock.Attach(e, mc.LocalAddr(), mc.RemoteAddr())
			// Events before Accept went to nobody: report the state.
			sock.Notify(socket.NoticeEstablished, nil)
			switch {
			case mc.Released():
				sock.Notify(socket.NoticeClosed, mc.Err())
			case mc.Readable() > 0:
				sock.Notify(socket.NoticeReadable, nil)
			}
		})
		if xerr != nil {
			sock.Discard()
			return nil, l.opErr(xerr)
		}
		if e != nil {
			return &Conn{Conn: sock, e: e, s: l.s}, nil
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
		l.ml.Close(now)
		delete(l.s.lists, l)
	})
	return nil
}

// Addr returns the listening address (a *net.TCPAddr; no IP for a
// wildcard).
func (l *Listener) Addr() net.Addr { return l.addr }

func (l *Listener) opErr(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
}

// signal wakes a waiter on ch (capacity 1) without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
