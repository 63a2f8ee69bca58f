package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// errReported marks an error that a summary line on stderr has already
// reported, so run exits 1 without a second line.
var errReported = errors.New("reported")

// summary is what one side saw of one connection.
type summary struct {
	Event          string  `json:"event"` // always "summary"
	Role           string  `json:"role"`  // "listen" or "connect"
	Local          string  `json:"local"`
	Remote         string  `json:"remote"`
	MPTCPAtStart   bool    `json:"mptcp_at_start"` // TCPConn.MultipathTCP right after the handshake
	MPTCP          bool    `json:"mptcp"`          // TCPConn.MultipathTCP at the end, before close
	BytesSent      int64   `json:"bytes_sent"`
	SHA256Sent     string  `json:"sha256_sent"`
	BytesReceived  int64   `json:"bytes_received"`
	SHA256Received string  `json:"sha256_received"`
	Fastclose      bool    `json:"fastclose"` // this side closed abortively
	Reset          bool    `json:"reset"`     // the peer reset the connection
	DurationMS     float64 `json:"duration_ms"`
	Error          string  `json:"error,omitempty"`
}

// source is what one connection sends, opened afresh for each connection.
type source struct {
	r     io.Reader
	close func() error
}

// openSource opens what the options say to send.
func openSource(o *sessionOptions, stdin io.Reader) (source, error) {
	switch {
	case o.sendBytes >= 0:
		return source{r: io.LimitReader(NewPayload(o.seed), o.sendBytes), close: func() error { return nil }}, nil
	case o.sendFile == "-":
		return source{r: stdin, close: func() error { return nil }}, nil
	case o.sendFile != "":
		f, err := os.Open(o.sendFile)
		if err != nil {
			return source{}, err
		}
		return source{r: f, close: f.Close}, nil
	default:
		return source{r: eofReader{}, close: func() error { return nil }}, nil
	}
}

// sink returns f as an io.Writer, or nil (not a nil *os.File) if f is nil.
func sink(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// openOut creates (truncating) the --out file, or returns nil for none.
func openOut(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	return os.Create(path)
}

func runListen(ctx context.Context, c *listenConfig, stdin io.Reader, rep *reporter) error {
	if c.sendFile == "-" && c.count != 1 {
		return errors.New("--send - (stdin) needs --count 1")
	}
	var lc net.ListenConfig
	lc.SetMultipathTCP(c.mptcp)
	ln, err := lc.Listen(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	tl := ln.(*net.TCPListener)
	defer tl.Close()
	stop := context.AfterFunc(ctx, func() { tl.Close() })
	defer stop()

	out, err := openOut(c.out)
	if err != nil {
		return err
	}
	var lnMPTCP *bool
	if ok, err := isMPTCPSocket(tl); err == nil {
		lnMPTCP = &ok
	}
	rep.listening(tl.Addr().String(), lnMPTCP)

	var failed, served int
	var loopErr error
	for c.count == 0 || served < c.count {
		if c.timeout > 0 {
			if err := tl.SetDeadline(time.Now().Add(c.timeout)); err != nil {
				loopErr = err
				break
			}
		}
		conn, err := tl.AcceptTCP()
		if err != nil {
			switch {
			case ctx.Err() != nil && c.count == 0:
				// Serving until interrupted: the interrupt is the normal end.
			case ctx.Err() != nil:
				loopErr = fmt.Errorf("interrupted after %d of %d connections", served, c.count)
			default:
				loopErr = fmt.Errorf("accept: %w", err)
			}
			break
		}
		served++
		src, err := openSource(&c.sessionOptions, stdin)
		if err != nil {
			conn.Close()
			loopErr = err
			break
		}
		s := runSession(ctx, conn, "listen", &c.sessionOptions, src.r, sink(out))
		if err := src.close(); err != nil && s.Error == "" {
			s.Error = "closing --send file: " + err.Error()
		}
		rep.summary(s)
		if s.Error != "" {
			failed++
		}
	}
	if out != nil {
		if err := out.Close(); err != nil && loopErr == nil {
			loopErr = err
		}
	}
	if loopErr != nil {
		return loopErr
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d connections failed", errReported, failed, served)
	}
	return nil
}

func runConnect(ctx context.Context, c *connectConfig, stdin io.Reader, rep *reporter) error {
	d := net.Dialer{Timeout: c.timeout}
	d.SetMultipathTCP(c.mptcp)
	if c.local != "" {
		la, err := parseLocal(c.local)
		if err != nil {
			return err
		}
		d.LocalAddr = la
	}
	src, err := openSource(&c.sessionOptions, stdin)
	if err != nil {
		return err
	}
	defer src.close()
	out, err := openOut(c.out)
	if err != nil {
		return err
	}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if out != nil {
			out.Close()
		}
		return err
	}
	s := runSession(ctx, nc.(*net.TCPConn), "connect", &c.sessionOptions, src.r, sink(out))
	if out != nil {
		if err := out.Close(); err != nil && s.Error == "" {
			s.Error = "--out: " + err.Error()
		}
	}
	rep.summary(s)
	if s.Error != "" {
		return errReported
	}
	return nil
}

// hashWriter writes to w and hashes what w accepted.
type hashWriter struct {
	w io.Writer
	h hash.Hash
}

func (hw hashWriter) Write(b []byte) (int, error) {
	n, err := hw.w.Write(b)
	hw.h.Write(b[:n])
	return n, err
}

// isReset reports whether err says the peer reset the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// longAgo is a deadline in the past, used to unblock I/O on interrupt.
var longAgo = time.Unix(1, 0)

// send copies src to w in writes of at most chunk bytes, pausing interval
// between writes. It returns the number of bytes written.
func send(ctx context.Context, w io.Writer, src io.Reader, chunk int64, interval time.Duration) (int64, error) {
	buf := make([]byte, chunk)
	var total int64
	for first := true; ; first = false {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			if !first {
				if err := sleep(ctx, interval); err != nil {
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
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return total, nil
		case rerr != nil:
			return total, fmt.Errorf("reading the data to send: %w", rerr)
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
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

// runSession runs one connection to its end (see the package comment) and
// closes conn. The returned summary carries any error.
func runSession(ctx context.Context, conn *net.TCPConn, role string, o *sessionOptions, src io.Reader, out io.Writer) *summary {
	start := time.Now()
	s := &summary{
		Event:     "summary",
		Role:      role,
		Local:     conn.LocalAddr().String(),
		Remote:    conn.RemoteAddr().String(),
		Fastclose: o.fastclose,
	}
	s.MPTCPAtStart, _ = conn.MultipathTCP()
	var errs []error
	fail := func(what string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	if o.timeout > 0 {
		fail("set deadline", conn.SetDeadline(start.Add(o.timeout)))
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) })
	defer stop()

	// Receive everything the peer sends, concurrently with sending.
	rxHash := sha256.New()
	sinks := []io.Writer{rxHash}
	var check *payloadChecker
	if o.expectBytes >= 0 {
		check = newPayloadChecker(o.peerSeed)
		sinks = append(sinks, check)
	}
	if out != nil {
		sinks = append(sinks, out)
	}
	type result struct {
		n   int64
		err error
	}
	rxDone := make(chan result, 1)
	go func() {
		n, err := io.Copy(io.MultiWriter(sinks...), conn)
		rxDone <- result{n, err}
	}()

	txHash := sha256.New()
	var nSent int64
	txErr := sleep(ctx, o.delay)
	if txErr == nil {
		nSent, txErr = send(ctx, hashWriter{w: conn, h: txHash}, src, o.chunk, o.interval)
	}
	s.BytesSent = nSent
	s.SHA256Sent = hex.EncodeToString(txHash.Sum(nil))

	var rx result
	rxEnded := false
	if txErr == nil && o.hold > 0 {
		// Hold the connection open, but stop early if the peer resets it.
		t := time.NewTimer(o.hold)
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

	closedByUs := false
	switch {
	case txErr != nil || (rxEnded && rx.err != nil):
		// The connection is unusable or the source failed: do not wait for
		// the peer, who may be waiting for our end of stream.
		s.MPTCP, _ = conn.MultipathTCP()
		fail("close", conn.Close())
		closedByUs = true
		waitRx()
	case o.fastclose:
		// RFC 8684 §3.5: Linux sends MP_FASTCLOSE when an MPTCP socket with
		// SO_LINGER {on, 0} is closed, as TCP sends a RST.
		s.MPTCP, _ = conn.MultipathTCP()
		fail("set SO_LINGER", conn.SetLinger(0))
		fail("close", conn.Close())
		closedByUs = true
		waitRx()
	default:
		// shutdown(SHUT_WR): the kernel sends DATA_FIN (RFC 8684 §3.3.3).
		fail("shutdown", conn.CloseWrite())
		waitRx()
		s.MPTCP, _ = conn.MultipathTCP()
		fail("close", conn.Close())
	}
	if closedByUs && errors.Is(rx.err, net.ErrClosed) {
		rx.err = nil
	}
	s.BytesReceived = rx.n
	s.SHA256Received = hex.EncodeToString(rxHash.Sum(nil))
	s.Reset = isReset(txErr) || isReset(rx.err)

	switch {
	case o.expectReset && s.Reset:
		txErr, rx.err = nil, nil
	case o.expectReset:
		errs = append(errs, errors.New("the peer did not reset the connection"))
	}
	if ctx.Err() != nil {
		errs = append([]error{errors.New("interrupted")}, errs...)
	} else {
		fail("send", txErr)
		fail("receive", rx.err)
	}
	if check != nil && rx.err == nil && !s.Reset {
		switch {
		case check.Mismatch() >= 0:
			errs = append(errs, fmt.Errorf("received data differs from the payload of seed %d at byte %d", o.peerSeed, check.Mismatch()))
		case rx.n != o.expectBytes:
			errs = append(errs, fmt.Errorf("received %d bytes, expected %d", rx.n, o.expectBytes))
		}
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		s.Error = strings.Join(msgs, "; ")
	}
	s.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return s
}
