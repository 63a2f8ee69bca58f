package socket

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// Conn is a TCP connection of a Host: a net.Conn. It is safe for
// concurrent use; Reads are served one at a time, and so are Writes.
type Conn struct {
	h  *Host
	sc *stack.Conn // used on the loop only, set once before the Conn is shared

	laddr, raddr *net.TCPAddr

	readable    chan struct{} // capacity 1: data, EOF or an error may be there
	writable    chan struct{} // capacity 1: send buffer space or an error
	established chan struct{} // closed when the handshake completed or failed
	closed      chan struct{} // closed by Close
	closeOnce   sync.Once

	rmu, wmu sync.Mutex // one Read, one Write at a time
	rdl, wdl deadline

	mu        sync.Mutex // guards the fields below
	dialErr   error
	estClosed bool
}

var _ net.Conn = (*Conn)(nil)

func (h *Host) newConn() *Conn {
	c := &Conn{
		h:           h,
		readable:    make(chan struct{}, 1),
		writable:    make(chan struct{}, 1),
		established: make(chan struct{}),
		closed:      make(chan struct{}),
	}
	c.rdl.init(h.clk)
	c.wdl.init(h.clk)
	return c
}

// attach binds the Conn to its stack connection; on the loop.
func (c *Conn) attach(sc *stack.Conn) {
	c.sc = sc
	c.laddr = net.TCPAddrFromAddrPort(sc.LocalAddr())
	c.raddr = net.TCPAddrFromAddrPort(sc.RemoteAddr())
}

// onEvent turns engine events into wake-ups; on the loop.
func (c *Conn) onEvent(_ time.Time, _ *stack.Conn, ev tcp.Event) {
	switch ev.Kind {
	case tcp.EventEstablished:
		c.setEstablished(nil)
		signal(c.writable)
	case tcp.EventReadable, tcp.EventEOF:
		signal(c.readable)
	case tcp.EventWritable:
		signal(c.writable)
	case tcp.EventResetReceived:
		signal(c.readable)
		signal(c.writable)
	case tcp.EventClosed:
		err := ev.Err
		if err == nil {
			err = tcp.ErrNotConnected // closed in an orderly way before the handshake completed
		}
		c.setEstablished(err)
		signal(c.readable)
		signal(c.writable)
		c.h.forget(c)
	}
}

func (c *Conn) setEstablished(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.estClosed {
		return
	}
	c.estClosed = true
	c.dialErr = err
	close(c.established)
}

// Read reads received data (net.Conn). It blocks until data, the peer's
// FIN (io.EOF), an error, Close or the read deadline.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if err := c.precheck(&c.rdl); err != nil {
			return 0, c.opErr("read", err)
		}
		if len(p) == 0 {
			return 0, nil
		}
		var (
			n   int
			err error
		)
		if xerr := c.h.exec(func(now time.Time) { n, err = c.sc.Read(now, p) }); xerr != nil {
			return 0, c.opErr("read", xerr)
		}
		if n > 0 {
			return n, nil
		}
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			return 0, c.opErr("read", c.connErr(err))
		}
		select {
		case <-c.readable:
		case <-c.rdl.expired():
		case <-c.closed:
		case <-c.h.done:
		}
	}
}

// Write writes all of p unless an error, Close or the write deadline stops
// it first (net.Conn); it blocks while the send buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	total := 0
	for {
		if err := c.precheck(&c.wdl); err != nil {
			return total, c.opErr("write", err)
		}
		var (
			n   int
			err error
		)
		if xerr := c.h.exec(func(now time.Time) { n, err = c.sc.Write(now, p[total:]) }); xerr != nil {
			return total, c.opErr("write", xerr)
		}
		total += n
		if err != nil {
			return total, c.opErr("write", c.connErr(err))
		}
		if total == len(p) {
			return total, nil
		}
		select {
		case <-c.writable:
		case <-c.wdl.expired():
		case <-c.closed:
		case <-c.h.done:
		}
	}
}

// precheck returns the error that stops an operation before it starts:
// the Conn or Host is closed, or the deadline has passed.
func (c *Conn) precheck(d *deadline) error {
	if err := c.closedErr(); err != nil {
		return err
	}
	select {
	case <-d.expired():
		return os.ErrDeadlineExceeded
	default:
	}
	return nil
}

// connErr prefers the reason the connection ended over the engine's
// per-call error (tcp.ErrNotConnected after a reset, say). It runs on the
// caller's goroutine after the loop call, so it asks the loop.
func (c *Conn) connErr(err error) error {
	if errors.Is(err, tcp.ErrNotConnected) || errors.Is(err, tcp.ErrClosed) {
		var ce error
		if c.h.exec(func(time.Time) { ce = c.sc.Err() }) == nil && ce != nil {
			return ce
		}
	}
	return err
}

// closedErr returns net.ErrClosed once the Conn or the Host is closed.
func (c *Conn) closedErr() error {
	select {
	case <-c.closed:
		return net.ErrClosed
	case <-c.h.done:
		return net.ErrClosed
	default:
		return nil
	}
}

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

// Close closes the connection (net.Conn): blocked and later Reads and
// Writes fail with net.ErrClosed, and the stack sends a FIN after the
// queued data, or a RST if received data was left unread (RFC 9293
// §3.10.4, RFC 2525 §2.17).
func (c *Conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closed)
	})
	if !first {
		return c.opErr("close", net.ErrClosed)
	}
	c.rdl.stop()
	c.wdl.stop()
	// If the Host is closed, it has reset the connection already.
	_ = c.h.exec(func(now time.Time) { c.sc.Close(now) })
	return nil
}

// CloseWrite sends a FIN after the queued data; reading goes on.
func (c *Conn) CloseWrite() error {
	if err := c.closedErr(); err != nil {
		return c.opErr("close", err)
	}
	var err error
	if xerr := c.h.exec(func(now time.Time) { err = c.sc.CloseWrite(now) }); xerr != nil {
		return c.opErr("close", xerr)
	}
	if err != nil {
		return c.opErr("close", err)
	}
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(noDelay bool) error {
	if err := c.h.exec(func(now time.Time) {
		c.sc.TCP().SetNoDelay(noDelay)
		c.sc.Flush(now)
	}); err != nil {
		return c.opErr("set", err)
	}
	return nil
}

// Info returns a snapshot of the engine.
func (c *Conn) Info() (tcp.Info, error) {
	var in tcp.Info
	err := c.h.exec(func(time.Time) { in = c.sc.Info() })
	return in, err
}

// LocalAddr returns the local address (a *net.TCPAddr).
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the remote address (a *net.TCPAddr).
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets when Read times out; the zero time means never. It
// also applies to a Read already blocked.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets when Write times out; the zero time means never.
// It also applies to a Write already blocked.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return c.opErr("set", net.ErrClosed)
	}
	c.wdl.set(t)
	return nil
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}
