package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/interop/payload"
)

// Report records a failed step of a session: what failed and why. A nil
// err records nothing.
type Report func(step string, err error)

// Config is how one side runs one connection. Flags.Config fills the
// settings that come from the command line; the rest says how a command
// writes and what its kind of connection needs.
type Config struct {
	Delay       time.Duration // wait before sending
	Chunk       int64         // bytes per write call; 0 or less for DefaultChunk
	Interval    time.Duration // pause between write calls
	Hold        time.Duration // wait after sending, before closing; ends early if the peer fails
	Timeout     time.Duration // deadline of the whole connection; 0 for none
	Fastclose   bool          // close with Abort instead of a half-close
	ExpectReset bool          // a reset by the peer is the expected end
	ExpectBytes int64         // length of the peer's payload of PeerSeed; -1 for no check
	PeerSeed    uint64

	// FillChunks makes every write but the last carry Chunk bytes
	// (io.ReadFull), so that writes, and the DSS mappings they make, have
	// a known size. Without it a write carries what one Read of the
	// source gave, so that data typed on a terminal is sent at once.
	FillChunks bool
	// ReadBuffer is the size of the buffer for receiving; 0 for io.Copy's.
	ReadBuffer int
	// AbortEndsReceive says that Abort makes a pending receive fail (as
	// gomptcp's Conn.Abort does): with Fastclose, a failed receive is then
	// neither an error nor taken for a reset by the peer.
	AbortEndsReceive bool

	// IsReset reports whether an I/O error of the connection means that
	// the peer reset it. nil: no error does.
	IsReset func(error) bool
	// CloseWrite ends our direction of the connection, reporting a
	// failure. nil: the connection's own CloseWrite method, reported as
	// "close write".
	CloseWrite func(Report)
	// Abort closes the connection abortively for Fastclose, reporting
	// each failure. nil: the connection cannot abort, which is reported.
	Abort func(Report)
	// Drain, if not nil, runs on a graceful close once the peer's data has
	// ended, with the number of bytes sent: the moment to wait for the
	// peer to acknowledge them.
	Drain func(sent int64)
	// BeforeClose, if not nil, runs exactly once, just before the
	// connection is closed or aborted: the moment to take its final
	// state.
	BeforeClose func()
}

// Result is what one side saw of one connection.
type Result struct {
	BytesSent      int64
	SHA256Sent     string // hex SHA-256 of the bytes the connection took
	BytesReceived  int64
	SHA256Received string // hex SHA-256 of the bytes received
	Reset          bool   // the peer reset the connection
	// Error lists every failure, "; " between them, or is empty for
	// success.
	Error string
}

// ErrReadSource marks a failure to read the data to send, as opposed to
// a failure of the connection.
var ErrReadSource = errors.New("reading the data to send")

var (
	// errNoHalfClose is reported when a connection has no CloseWrite.
	errNoHalfClose = errors.New("the connection cannot half-close")
	// errNoAbort is reported for Fastclose without Config.Abort.
	errNoAbort = errors.New("the connection cannot close abortively")
)

// longAgo is a deadline in the past, to unblock I/O on an interrupt.
var longAgo = time.Unix(1, 0)

// received is how the receiving side of a session ended.
type received struct {
	n   int64
	err error
}

// Run runs one connection to its end (see the package comment) and
// closes conn. It sends src (nil: nothing) and writes what it receives to
// out (nil: nowhere). When ctx ends, the connection's I/O is cut short and
// the Result says "interrupted". Every failure is in Result.Error.
func Run(ctx context.Context, conn net.Conn, cfg Config, src io.Reader, out io.Writer) Result {
	var errs []error
	report := func(step string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", step, err))
		}
	}
	if cfg.Timeout > 0 {
		report("set deadline", conn.SetDeadline(time.Now().Add(cfg.Timeout)))
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) })
	defer stop()

	// Receive everything the peer sends, concurrently with sending.
	rxHash := sha256.New()
	sinks := []io.Writer{rxHash}
	var check *payload.Checker
	if cfg.ExpectBytes >= 0 {
		check = payload.NewChecker(cfg.PeerSeed)
		sinks = append(sinks, check)
	}
	if out != nil {
		sinks = append(sinks, out)
	}
	rxDone := make(chan received, 1)
	go func() {
		var buf []byte
		if cfg.ReadBuffer > 0 {
			buf = make([]byte, cfg.ReadBuffer)
		}
		n, err := io.CopyBuffer(io.MultiWriter(sinks...), conn, buf)
		rxDone <- received{n, err}
	}()

	var res Result
	txHash := sha256.New()
	txErr := Sleep(ctx, cfg.Delay)
	if txErr == nil && src != nil {
		res.BytesSent, txErr = cfg.send(ctx, hashWriter{w: conn, h: txHash}, src)
	}
	res.SHA256Sent = hex.EncodeToString(txHash.Sum(nil))

	var rx received
	rxEnded := false
	if txErr == nil && cfg.Hold > 0 {
		// Hold the connection open, but stop early if the peer resets it.
		t := time.NewTimer(cfg.Hold)
		select {
		case <-t.C:
		case <-ctx.Done():
			txErr = ctx.Err()
		case rx = <-rxDone:
			rxEnded = true
			if rx.err == nil {
				// The peer finished sending; it may still be receiving.
				select {
				case <-t.C:
				case <-ctx.Done():
					txErr = ctx.Err()
				}
			}
		}
		t.Stop()
	}
	waitRx := func() {
		if !rxEnded {
			rx = <-rxDone
			rxEnded = true
		}
	}
	beforeClose := func() {
		if cfg.BeforeClose != nil {
			cfg.BeforeClose()
		}
	}

	closedByUs := false
	switch {
	case txErr != nil || (rxEnded && rx.err != nil):
		// The connection is unusable or the source failed: do not wait for
		// the peer, who may be waiting for our end of stream.
		beforeClose()
		report("close", conn.Close())
		closedByUs = true
		waitRx()
	case cfg.Fastclose:
		// RFC 8684 §3.5: MP_FASTCLOSE, as TCP sends a RST.
		beforeClose()
		if cfg.Abort != nil {
			cfg.Abort(report)
		} else {
			report("fast close", errNoAbort)
			conn.Close()
		}
		closedByUs = true
		waitRx()
	default:
		// RFC 8684 §3.3.3: the half-close sends our DATA_FIN; the peer's
		// ends its data.
		halfClosed := closeWrite(conn, cfg.CloseWrite, report)
		if halfClosed {
			waitRx()
			if cfg.Drain != nil {
				cfg.Drain(res.BytesSent)
			}
		}
		beforeClose()
		report("close", conn.Close())
		closedByUs = !halfClosed
		waitRx()
	}
	if closedByUs && errors.Is(rx.err, net.ErrClosed) {
		rx.err = nil
	}
	res.BytesReceived = rx.n
	res.SHA256Received = hex.EncodeToString(rxHash.Sum(nil))
	if cfg.Fastclose && cfg.AbortEndsReceive {
		// Our own reset ends our reads.
		rx.err = nil
	}
	isReset := func(err error) bool { return err != nil && cfg.IsReset != nil && cfg.IsReset(err) }
	res.Reset = isReset(txErr) || isReset(rx.err)

	switch {
	case cfg.ExpectReset && res.Reset:
		txErr, rx.err = nil, nil
	case cfg.ExpectReset:
		errs = append(errs, errors.New("the peer did not reset the connection"))
	}
	if ctx.Err() != nil {
		errs = append([]error{errors.New("interrupted")}, errs...)
	} else {
		report("send", txErr)
		report("receive", rx.err)
	}
	if check != nil && rx.err == nil && !res.Reset {
		switch {
		case check.Mismatch() >= 0:
			errs = append(errs, fmt.Errorf("received data differs from the payload of seed %d at byte %d", cfg.PeerSeed, check.Mismatch()))
		case rx.n != cfg.ExpectBytes:
			errs = append(errs, fmt.Errorf("received %d bytes, expected %d", rx.n, cfg.ExpectBytes))
		}
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	res.Error = strings.Join(msgs, "; ")
	return res
}

// closeWrite half-closes conn with fn, or with conn's own CloseWrite
// method. It returns false, having reported it, if conn has no such
// method: the session then closes it whole.
func closeWrite(conn net.Conn, fn func(Report), report Report) bool {
	if fn != nil {
		fn(report)
		return true
	}
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		report("close write", errNoHalfClose)
		return false
	}
	report("close write", cw.CloseWrite())
	return true
}

// hashWriter writes to w and hashes what w took.
type hashWriter struct {
	w io.Writer
	h hash.Hash
}

func (hw hashWriter) Write(b []byte) (int, error) {
	n, err := hw.w.Write(b)
	hw.h.Write(b[:n])
	return n, err
}

// send copies src to w in writes of at most cfg.Chunk bytes (exactly
// that many but the last with FillChunks), pausing cfg.Interval between
// writes. It returns the number of bytes written; a failure to read src
// wraps ErrReadSource.
func (cfg *Config) send(ctx context.Context, w io.Writer, src io.Reader) (int64, error) {
	chunk := cfg.Chunk
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	buf := make([]byte, chunk)
	var total int64
	for first := true; ; first = false {
		var n int
		var rerr error
		if cfg.FillChunks {
			n, rerr = io.ReadFull(src, buf)
			if rerr == io.ErrUnexpectedEOF {
				rerr = io.EOF // a short last chunk
			}
		} else {
			n, rerr = src.Read(buf)
		}
		if n > 0 {
			if !first {
				if err := Sleep(ctx, cfg.Interval); err != nil {
					return total, err
				}
			}
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		switch {
		case errors.Is(rerr, io.EOF):
			return total, nil
		case rerr != nil:
			return total, fmt.Errorf("%w: %w", ErrReadSource, rerr)
		}
	}
}

// Sleep waits for d, or until ctx ends, which it returns as ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
