package session

import (
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// errTestReset is how a pipeConn shows that the connection was reset.
var errTestReset = errors.New("connection reset (test pipe)")

// pipeConn is one end of an in-memory connection made of two net.Pipes,
// one per direction, so that it can half-close and works in a synctest
// bubble. Once either end resets the connection (Reset, AbortReads), the
// other end's failed I/O says errTestReset; once this end is closed, its
// own failed I/O says net.ErrClosed, as a socket's does.
type pipeConn struct {
	in, out net.Conn     // we read in, we write out
	reset   *atomic.Bool // shared by both ends
	closed  atomic.Bool
	// closeWriteErr, if set, is what CloseWrite returns (without closing).
	closeWriteErr error
}

// newPipe returns the two ends of a connection.
func newPipe() (a, b *pipeConn) {
	aIn, bOut := net.Pipe()
	bIn, aOut := net.Pipe()
	reset := new(atomic.Bool)
	return &pipeConn{in: aIn, out: aOut, reset: reset}, &pipeConn{in: bIn, out: bOut, reset: reset}
}

func (c *pipeConn) ioErr(err error) error {
	switch {
	case err == nil:
		return nil
	case c.closed.Load():
		return net.ErrClosed
	case c.reset.Load():
		return errTestReset
	}
	return err
}

func (c *pipeConn) Read(b []byte) (int, error) {
	n, err := c.in.Read(b)
	return n, c.ioErr(err)
}

func (c *pipeConn) Write(b []byte) (int, error) {
	n, err := c.out.Write(b)
	return n, c.ioErr(err)
}

// CloseWrite ends our direction: the peer reads io.EOF.
func (c *pipeConn) CloseWrite() error {
	if c.closeWriteErr != nil {
		return c.closeWriteErr
	}
	return c.out.Close()
}

func (c *pipeConn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	return errors.Join(c.in.Close(), c.out.Close())
}

// Reset closes this end and makes the peer's I/O fail with errTestReset.
func (c *pipeConn) Reset() {
	c.reset.Store(true)
	c.Close()
}

// AbortReads resets the connection from this end such that this end's
// pending read fails with errTestReset too (as gomptcp's Conn.Abort does).
func (c *pipeConn) AbortReads() {
	c.reset.Store(true)
	c.in.Close()
	c.out.Close()
}

func (c *pipeConn) LocalAddr() net.Addr  { return c.in.LocalAddr() }
func (c *pipeConn) RemoteAddr() net.Addr { return c.in.RemoteAddr() }

func (c *pipeConn) SetDeadline(t time.Time) error {
	return errors.Join(c.in.SetDeadline(t), c.out.SetDeadline(t))
}

func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.in.SetReadDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.out.SetWriteDeadline(t) }

var _ net.Conn = (*pipeConn)(nil)
