package socket

import (
	"net"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/stack"
)

// Listener is a listening port of a Host: a net.Listener. It is safe for
// concurrent use.
type Listener struct {
	h         *Host
	sl        *stack.Listener // used on the loop only
	addr      *net.TCPAddr
	ready     chan struct{} // capacity 1: a connection may be ready
	closed    chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*Listener)(nil)

// Accept waits for a connection whose handshake completed and returns it
// (a *Conn).
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptTCP is Accept returning the *Conn.
func (l *Listener) AcceptTCP() (*Conn, error) {
	for {
		select {
		case <-l.closed:
			return nil, l.opErr(net.ErrClosed)
		case <-l.h.done:
			return nil, l.opErr(net.ErrClosed)
		default:
		}
		c := l.h.newConn()
		if !l.h.track(c) {
			return nil, l.opErr(net.ErrClosed)
		}
		got := false
		err := l.h.exec(func(now time.Time) {
			sc, ok := l.sl.Accept()
			if !ok {
				return
			}
			got = true
			c.attach(sc)
			sc.SetOnEvent(c.onEvent)
			// Events before Accept went to nobody: look at the state.
			c.setEstablished(nil)
			if sc.Readable() > 0 || sc.Released() || sc.Err() != nil {
				signal(c.readable)
			}
			signal(c.writable)
			if sc.Released() {
				c.h.forget(c)
			}
		})
		if err != nil || !got {
			l.h.forget(c)
		}
		if err != nil {
			return nil, l.opErr(err)
		}
		if got {
			return c, nil
		}
		select {
		case <-l.ready:
		case <-l.closed:
		case <-l.h.done:
		}
	}
}

// Close stops listening; connections not accepted yet are reset. Blocked
// Accepts return net.ErrClosed.
func (l *Listener) Close() error {
	if !l.markClosed() {
		return l.opErr(net.ErrClosed)
	}
	l.h.mu.Lock()
	delete(l.h.lists, l)
	l.h.mu.Unlock()
	_ = l.h.exec(func(now time.Time) { l.sl.Close(now) })
	return nil
}

// markClosed closes l.closed and reports whether this call did.
func (l *Listener) markClosed() bool {
	first := false
	l.closeOnce.Do(func() {
		first = true
		close(l.closed)
	})
	return first
}

// Addr returns the listening address (a *net.TCPAddr; no IP for a
// wildcard).
func (l *Listener) Addr() net.Addr { return l.addr }

func (l *Listener) opErr(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
}
