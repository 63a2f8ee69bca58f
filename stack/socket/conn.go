package socket

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
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
	ep Endpoint    // used on the loop only, set once before the Conn is shared
	sc *stack.Conn // ep as a stack.Conn, or nil

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

// Endpoint is the engine behind a Conn, whose methods the Conn calls on
// the loop only: a stack.Conn for TCP, or a connection of a layer above
// the Stack (package mptcp's MPTCP connections), which attaches it with
// Conn.Attach and reports its changes with Conn.Notify.
type Endpoint interface {
	// Read is stack.Conn.Read: (0, nil) when no data is there yet.
	Read(now time.Time, p []byte) (int, error)
	// Write is stack.Conn.Write: it takes what the buffer holds.
	Write(now time.Time, p []byte) (int, error)
	CloseWrite(now time.Time) error
	Close(now time.Time) error
	// Abort resets the connection (Host.Close, an abandoned dial).
	Abort(now time.Time)
	// Err is why the connection ended, or nil.
	Err() error
}

var _ Endpoint = (*stack.Conn)(nil)

// Notice is a change of an Endpoint that Conn.Notify reports.
type Notice uint8

// Notices.
const (
	// NoticeEstablished: the handshake completed, or failed (err).
	NoticeEstablished Notice = iota
	// NoticeReadable: data, EOF or an error may be there to read.
	NoticeReadable
	// NoticeWritable: send buffer space was freed.
	NoticeWritable
	// NoticeClosed: the connection ended (err: why; nil for an orderly
	// close, which before the handshake completed fails a dial with
	// tcp.ErrNotConnected).
	NoticeClosed
)

// NewConn returns a Conn of the Host for an Endpoint that the caller
// attaches on the loop (Attach) and whose changes it reports (Notify). It
// fails with net.ErrClosed once the Host is closing. A Conn never attached
// is dropped with Discard.
func (h *Host) NewConn() (*Conn, error) {
	c := h.newConn()
	if !h.track(c) {
		return nil, net.ErrClosed
	}
	return c, nil
}

// Discard forgets a Conn from NewConn whose Endpoint could not be made.
func (c *Conn) Discard() { c.h.forget(c) }

// Attach binds the Conn to its Endpoint and its addresses; on the loop,
// before the Conn is shared.
func (c *Conn) Attach(ep Endpoint, local, remote netip.AddrPort) {
	c.ep = ep
	c.sc, _ = ep.(*stack.Conn)
	c.laddr = net.TCPAddrFromAddrPort(local)
	c.raddr = net.TCPAddrFromAddrPort(remote)
}

// attach binds the Conn to its stack connection; on the loop.
func (c *Conn) attach(sc *stack.Conn) { c.Attach(sc, sc.LocalAddr(), sc.RemoteAddr()) }

// Host returns the Host of the Conn.
func (c *Conn) Host() *Host { return c.h }

// Notify wakes the goroutines that wait for n; on the loop.
func (c *Conn) Notify(n Notice, err error) {
	switch n {
	case NoticeEstablished:
		c.setEstablished(err)
		signal(c.writable)
		if err != nil {
			signal(c.readable)
		}
	case NoticeReadable:
		signal(c.readable)
	case NoticeWritable:
		signal(c.writable)
	case NoticeClosed:
		if err == nil {
			err = tcp.ErrNotConnected // closed in an orderly way before the handshake completed
		}
		c.setEstablished(err)
		signal(c.readable)
		signal(c.writable)
		c.h.forget(c)
	}
}

// onEvent turns engine events into wake-ups; on the loop.
func (c *Conn) onEvent(_ time.Time, _ *stack.Conn, ev tcp.Event) {
	switch ev.Kind {
	case tcp.EventEstablished:
		c.Notify(NoticeEstablished, nil)
	case tcp.EventReadable, tcp.EventEOF:
		c.Notify(NoticeReadable, nil)
	case tcp.EventWritable:
		c.Notify(NoticeWritable, nil)
	case tcp.EventResetReceived:
		c.Notify(NoticeReadable, nil)
		c.Notify(NoticeWritable, nil)
	case tcp.EventClosed:
		c.Notify(NoticeClosed, ev.Err)
	}
}

// WaitEstablished waits until the handshake of a dialled Conn completed
// (nil) or failed (its error), the Host closed (net.ErrClosed) or ctx
// ended, which aborts the Endpoint and returns ctx's error. On failure the
// Conn is forgotten by the Host.
func (c *Conn) WaitEstablished(ctx context.Context) error {
	select {
	case <-c.established:
	case <-ctx.Done():
		c.h.exec(func(now time.Time) { c.ep.Abort(now) })
		c.h.forget(c)
		return ctx.Err()
	case <-c.h.done:
		c.h.forget(c)
		return net.ErrClosed
	}
	c.mu.Lock()
	err := c.dialErr
	c.mu.Unlock()
	if err != nil {
		c.h.forget(c)
	}
	return err
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
		if xerr := c.h.exec(func(now time.Time) { n, err = c.ep.Read(now, p) }); xerr != nil {
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
		if xerr := c.h.exec(func(now time.Time) { n, err = c.ep.Write(now, p[total:]) }); xerr != nil {
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
		if c.h.exec(func(time.Time) { ce = c.ep.Err() }) == nil && ce != nil {
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
	_ = c.h.exec(func(now time.Time) { c.ep.Close(now) })
	return nil
}

// CloseWrite sends a FIN after the queued data; reading goes on.
func (c *Conn) CloseWrite() error {
	if err := c.closedErr(); err != nil {
		return c.opErr("close", err)
	}
	var err error
	if xerr := c.h.exec(func(now time.Time) { err = c.ep.CloseWrite(now) }); xerr != nil {
		return c.opErr("close", xerr)
	}
	if err != nil {
		return c.opErr("close", err)
	}
	return nil
}

// errNotTCP: a TCP-only call on a Conn whose Endpoint is not a stack.Conn.
var errNotTCP = errors.New("socket: not a TCP connection of the Stack")

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(noDelay bool) error {
	if c.sc == nil {
		return c.opErr("set", errNotTCP)
	}
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
	if c.sc == nil {
		return in, errNotTCP
	}
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
