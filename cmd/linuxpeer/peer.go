package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/gomptcp/mptcp/cmd/internal/session"
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

// sink returns f as an io.Writer, or nil (not a nil *os.File) if f is nil.
func sink(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

// openOut creates (truncating) the --out file, or returns nil for none.
func openOut(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	return os.Create(path)
}

func runListen(ctx context.Context, c *listenConfig, stdin io.Reader, rep *reporter) error {
	if c.SendFile == "-" && c.count != 1 {
		return errors.New("--send - (stdin) needs --count 1")
	}
	var lc net.ListenConfig
	lc.SetMultipathTCP(c.MPTCP)
	ln, err := lc.Listen(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	tl := ln.(*net.TCPListener)
	defer tl.Close()
	stop := context.AfterFunc(ctx, func() { tl.Close() })
	defer stop()

	out, err := openOut(c.Out)
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
		if c.Timeout > 0 {
			if err := tl.SetDeadline(time.Now().Add(c.Timeout)); err != nil {
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
		src, release, err := c.Source(stdin)
		if err != nil {
			conn.Close()
			loopErr = err
			break
		}
		s := runSession(ctx, conn, "listen", &c.Flags, src, sink(out))
		if err := release(); err != nil && s.Error == "" {
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
	d := net.Dialer{Timeout: c.Timeout}
	d.SetMultipathTCP(c.MPTCP)
	if c.local != "" {
		la, err := parseLocal(c.local)
		if err != nil {
			return err
		}
		d.LocalAddr = la
	}
	src, release, err := c.Source(stdin)
	if err != nil {
		return err
	}
	defer release()
	out, err := openOut(c.Out)
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
	s := runSession(ctx, nc.(*net.TCPConn), "connect", &c.Flags, src, sink(out))
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

// isReset reports whether err says the peer reset the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// runSession runs one connection to its end (see the package comment) and
// closes conn. The returned summary carries any error.
func runSession(ctx context.Context, conn *net.TCPConn, role string, o *session.Flags, src io.Reader, out io.Writer) *summary {
	start := time.Now()
	s := &summary{
		Event:     "summary",
		Role:      role,
		Local:     conn.LocalAddr().String(),
		Remote:    conn.RemoteAddr().String(),
		Fastclose: o.Fastclose,
	}
	s.MPTCPAtStart, _ = conn.MultipathTCP()
	cfg := o.Config()
	// Every write but the last is a whole --chunk: with --interval, each
	// makes its own DSS mappings.
	cfg.FillChunks = true
	cfg.IsReset = isReset
	cfg.CloseWrite = func(report session.Report) {
		// shutdown(SHUT_WR): the kernel sends DATA_FIN (RFC 8684 §3.3.3).
		report("shutdown", conn.CloseWrite())
	}
	cfg.Abort = func(report session.Report) {
		// RFC 8684 §3.5: Linux sends MP_FASTCLOSE when an MPTCP socket with
		// SO_LINGER {on, 0} is closed, as TCP sends a RST.
		report("set SO_LINGER", conn.SetLinger(0))
		report("close", conn.Close())
	}
	cfg.BeforeClose = func() { s.MPTCP, _ = conn.MultipathTCP() }
	r := session.Run(ctx, conn, cfg, src, out)
	s.BytesSent, s.SHA256Sent, s.BytesReceived, s.SHA256Received = r.BytesSent, r.SHA256Sent, r.BytesReceived, r.SHA256Received
	s.Reset, s.Error = r.Reset, r.Error
	s.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return s
}
