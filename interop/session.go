package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gomptcp/mptcp/interop/payload"
)

// CloseOrder says how our side of a Session ends the connection.
type CloseOrder int

const (
	// CloseTogether sends our data and half-closes (DATA_FIN, RFC 8684
	// §3.3.3) while the peer's data is still arriving, then reads to the
	// peer's end of stream.
	CloseTogether CloseOrder = iota
	// ClosePeerFirst reads to the peer's end of stream before sending
	// anything: the peer's DATA_FIN comes first.
	ClosePeerFirst
	// CloseOursFirst sends our data and half-closes before reading
	// anything; with a peer that waits before sending (linuxpeer
	// --delay), our DATA_FIN comes first.
	CloseOursFirst
	// CloseAbort sends our data, then calls Abort instead of closing:
	// MP_FASTCLOSE (RFC 8684 §3.5).
	CloseAbort
	// CloseExpectReset sends our data and reads until the peer resets the
	// connection.
	CloseExpectReset
)

// SessionOptions are what our side of a connection sends and expects.
type SessionOptions struct {
	SendBytes   int64  // bytes of Payload(Seed) to send
	Seed        uint64 // seed of what we send
	ExpectBytes int64  // bytes of Payload(PeerSeed) expected; -1: no check
	PeerSeed    uint64
	Chunk       int // bytes per Write (0: 64 KiB)
	Close       CloseOrder
	// Abort ends the connection abortively, for CloseAbort.
	Abort func() error
	// BeforeSend, if set, is called once before the first byte is
	// written (with ClosePeerFirst: after the peer's end of stream): the
	// moment to wait for subflows to be established.
	BeforeSend func()
	// Midway, if set, is called once while the peer still waits for us:
	// after our data was written and before our half-close or abort (with
	// ClosePeerFirst: after the peer's end of stream, before we send). The
	// moment to look at both ends of a live connection.
	Midway func()
	// BeforeClose, if set, is called once the data has been exchanged
	// (or the exchange failed), before the connection is closed: the
	// moment to take the connection's Info.
	BeforeClose func()
	// Timeout bounds the session (0: 30 s), through the connection's
	// deadline.
	Timeout time.Duration
}

// SessionResult is what our side saw.
type SessionResult struct {
	BytesSent     int64
	BytesReceived int64
	// SHA256Sent and SHA256Received are the hex SHA-256 digests of the
	// bytes written and read, comparable with linuxpeer's summary.
	SHA256Sent, SHA256Received string
	// Mismatch is the offset of the first received byte that differs from
	// the peer's payload, -1 if none.
	Mismatch int64
	// EOFFirst reports whether the peer's end of stream was read before
	// our half-close: which DATA_FIN came first, as our side saw it.
	EOFFirst bool
	// Reset reports that the connection ended with an error after the
	// data (expected with CloseExpectReset).
	Reset    bool
	Duration time.Duration
	// SendDuration is the time from the start to the last Write's return;
	// ReceiveDuration the time from the start to the peer's end of
	// stream (or the error).
	SendDuration, ReceiveDuration time.Duration
	Err                           error
}

// Verify returns an error unless the session received exactly the
// expected payload and ended without error.
func (r *SessionResult) Verify(o *SessionOptions) error {
	if r.Err != nil {
		return r.Err
	}
	if r.BytesSent != o.SendBytes {
		return fmt.Errorf("sent %d bytes of %d", r.BytesSent, o.SendBytes)
	}
	if o.ExpectBytes < 0 {
		return nil
	}
	if r.Mismatch >= 0 {
		return fmt.Errorf("received data differs from the payload of seed %d at byte %d", o.PeerSeed, r.Mismatch)
	}
	if r.BytesReceived != o.ExpectBytes {
		return fmt.Errorf("received %d bytes, expected %d", r.BytesReceived, o.ExpectBytes)
	}
	return nil
}

// halfCloser is a connection that can send its end of stream alone.
type halfCloser interface {
	CloseWrite() error
}

// RunSession runs our side of one connection to its end and closes c:
// it sends o.SendBytes bytes of the payload while it reads and checks
// what the peer sends, and ends the connection as o.Close says.
func RunSession(c net.Conn, o SessionOptions) SessionResult {
	start := time.Now()
	res := SessionResult{Mismatch: -1}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	var errs []error
	if err := c.SetDeadline(start.Add(timeout)); err != nil {
		errs = append(errs, fmt.Errorf("set deadline: %w", err))
	}
	check := payload.NewChecker(o.PeerSeed)
	rxHash, txHash := sha256.New(), sha256.New()
	type rx struct {
		err error
		at  time.Duration
	}
	rxDone := make(chan rx, 1)
	receive := func() {
		_, err := io.CopyBuffer(io.MultiWriter(check, rxHash), c, make([]byte, 256<<10))
		rxDone <- rx{err, time.Since(start)}
	}
	send := func() error {
		if o.BeforeSend != nil {
			o.BeforeSend()
		}
		chunk := o.Chunk
		if chunk <= 0 {
			chunk = 64 << 10
		}
		buf := make([]byte, chunk)
		src := payload.New(o.Seed)
		for res.BytesSent < o.SendBytes {
			b := buf[:min(int64(len(buf)), o.SendBytes-res.BytesSent)]
			src.Read(b)
			n, err := c.Write(b)
			res.BytesSent += int64(n)
			txHash.Write(b[:n])
			if err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		res.SendDuration = time.Since(start)
		return nil
	}
	halfClose := func() error {
		hc, ok := c.(halfCloser)
		if !ok {
			return errors.New("the connection has no CloseWrite")
		}
		if err := hc.CloseWrite(); err != nil {
			return fmt.Errorf("close write: %w", err)
		}
		return nil
	}
	eofSeen := func() bool {
		select {
		case r := <-rxDone:
			rxDone <- r
			return true
		default:
			return false
		}
	}

	midway := func() {
		if o.Midway != nil {
			o.Midway()
		}
	}

	var r rx
	switch o.Close {
	case ClosePeerFirst:
		receive()
		r = <-rxDone
		res.EOFFirst = true
		midway()
		if r.err == nil {
			if err := send(); err != nil {
				errs = append(errs, err)
			} else if err := halfClose(); err != nil {
				errs = append(errs, err)
			}
		}
	default:
		go receive()
		err := send()
		if err == nil {
			midway()
		}
		switch {
		case err != nil:
			errs = append(errs, err)
		case o.Close == CloseAbort:
			if o.Abort == nil {
				errs = append(errs, errors.New("CloseAbort without an Abort function"))
			} else if err := o.Abort(); err != nil {
				errs = append(errs, fmt.Errorf("abort: %w", err))
			}
		case o.Close == CloseExpectReset:
		default:
			res.EOFFirst = eofSeen()
			if err := halfClose(); err != nil {
				errs = append(errs, err)
			}
		}
		r = <-rxDone
	}
	res.ReceiveDuration = r.at
	res.SHA256Sent = hex.EncodeToString(txHash.Sum(nil))
	res.SHA256Received = hex.EncodeToString(rxHash.Sum(nil))
	res.BytesReceived = check.Len()
	res.Mismatch = check.Mismatch()
	switch o.Close {
	case CloseAbort:
		// Our own abort ends the reader with an error.
	case CloseExpectReset:
		if r.err == nil {
			errs = append(errs, errors.New("the peer ended the connection normally, not with a reset"))
		} else {
			res.Reset = true
		}
	default:
		if r.err != nil {
			errs = append(errs, fmt.Errorf("read: %w", r.err))
		}
	}
	if o.BeforeClose != nil {
		o.BeforeClose()
	}
	if err := c.Close(); err != nil && o.Close != CloseAbort {
		errs = append(errs, fmt.Errorf("close: %w", err))
	}
	res.Duration = time.Since(start)
	res.Err = errors.Join(errs...)
	return res
}
