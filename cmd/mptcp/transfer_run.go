package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/interop/payload"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// errTransferReported: a summary or error line on stderr already
// reported the failure; main adds this one line.
var errTransferReported = errors.New("transfer failed (see above)")

func runTransferConnect(args []string, stdout, stderr io.Writer) error {
	return runTransfer("connect", args, stderr)
}

func runTransferListen(args []string, stdout, stderr io.Writer) error {
	return runTransfer("listen", args, stderr)
}

func runTransfer(role string, args []string, stderr io.Writer) error {
	c, err := parseTransferArgs(role, args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := &transferReporter{w: stderr, json: c.json}
	err = c.run(ctx, rep)
	if err != nil && c.json && !errors.Is(err, errTransferReported) {
		rep.emit(struct {
			Event   string `json:"event"`
			Command string `json:"command"`
			Error   string `json:"error"`
		}{"error", role, err.Error()})
		return errTransferReported
	}
	return err
}

// transferHost is gomptcp's stack on the TUN devices.
type transferHost struct {
	ts *tun.Stack
	ms *mptcp.Stack
}

// openHost creates (or attaches to) the TUN devices and starts our stack
// on them. Every device gets a default route, in order: a destination on
// none of the devices' prefixes is reached through the first, and a
// connection or subflow bound to a device's address leaves through that
// device.
func (c *transferCmd) openHost() (*transferHost, error) {
	ts, err := tun.Open(tun.Config{Devices: c.tuns, NetNS: c.netns})
	if err != nil {
		return nil, err
	}
	h := &transferHost{ts: ts}
	st, err := stack.New(stack.Config{})
	if err != nil {
		ts.Close()
		return nil, err
	}
	for _, nic := range ts.NICs() {
		if err := st.AddNIC(nic); err != nil {
			ts.Close()
			return nil, err
		}
		var v4, v6 bool
		for _, p := range nic.Addrs() {
			v4, v6 = v4 || p.Addr().Is4(), v6 || p.Addr().Is6()
		}
		for _, d := range []struct {
			ok bool
			p  string
		}{{v4, "0.0.0.0/0"}, {v6, "::/0"}} {
			if d.ok {
				if err := st.AddRoute(netip.MustParsePrefix(d.p), nic); err != nil {
					ts.Close()
					return nil, err
				}
			}
		}
	}
	if h.ms, err = mptcp.NewStack(ts, st, c.config()); err != nil {
		ts.Close()
		return nil, err
	}
	if err := ts.Start(st); err != nil {
		h.ms.Close()
		ts.Close()
		return nil, err
	}
	return h, nil
}

func (h *transferHost) close() error {
	return errors.Join(h.ms.Close(), h.ts.Close())
}

// lingerTimeout bounds how long the command waits, before it closes the
// stack (which resets what is left), for its connections to finish
// closing: the queued data and the DATA_FIN exchange (RFC 8684 §3.3.3).
// A kernel socket does this after its process exited; our stack lives in
// the process.
const lingerTimeout = 10 * time.Second

// linger waits until the stack has no MPTCP connection and no TCP
// connection other than in TIME-WAIT, for at most lingerTimeout or until
// ctx ends.
func (h *transferHost) linger(ctx context.Context) {
	deadline := time.Now().Add(lingerTimeout)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		busy := false
		err := h.ms.Host().Do(func(_ time.Time, st *stack.Stack) {
			st.MPConns(func(*stack.MPConn) bool {
				busy = true
				return false
			})
			st.Conns(func(c *stack.Conn) bool {
				if s := c.State(); s != tcp.StateTimeWait && s != tcp.StateClosed {
					busy = true
				}
				return !busy
			})
		})
		if err != nil || !busy {
			return
		}
		sleepCtx(ctx, 5*time.Millisecond)
	}
}

func (c *transferCmd) run(ctx context.Context, rep *transferReporter) (err error) {
	h, err := c.openHost()
	if err != nil {
		return err
	}
	defer func() {
		h.linger(ctx)
		if cerr := h.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if c.role == "connect" {
		return c.runConnect(ctx, h, rep)
	}
	return c.runListen(ctx, h, rep)
}

func (c *transferCmd) runConnect(ctx context.Context, h *transferHost, rep *transferReporter) error {
	dctx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	d := mptcp.Dialer{Stack: h.ms, LocalAddr: c.local}
	conn, err := d.DialContext(dctx, "tcp", c.target.String())
	if err != nil {
		return err
	}
	s := c.session(ctx, h, conn)
	rep.summary(s)
	if s.Error != "" {
		return errTransferReported
	}
	return nil
}

func (c *transferCmd) runListen(ctx context.Context, h *transferHost, rep *transferReporter) error {
	lc := mptcp.ListenConfig{Stack: h.ms}
	addr := c.listen.String()
	if !c.listen.Addr().IsValid() {
		addr = fmt.Sprintf(":%d", c.listen.Port())
	}
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer l.Close()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	rep.listening(l.Addr().String(), c.mptcp)
	var failed, served int
	for c.count == 0 || served < c.count {
		var timer *time.Timer
		if c.timeout > 0 {
			timer = time.AfterFunc(c.timeout, func() { l.Close() })
		}
		conn, err := l.Accept()
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			switch {
			case ctx.Err() != nil && c.count == 0:
				return nil
			case ctx.Err() != nil:
				return fmt.Errorf("interrupted after %d of %d connections", served, c.count)
			case c.timeout > 0 && errors.Is(err, net.ErrClosed):
				return fmt.Errorf("accept: no connection within %v", c.timeout)
			}
			return fmt.Errorf("accept: %w", err)
		}
		served++
		s := c.session(ctx, h, conn)
		rep.summary(s)
		if s.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed: %w", failed, served, errTransferReported)
	}
	return nil
}

// transferSummary is what one side saw of one connection: the fields of
// linuxpeer's summary, and our stack's view of the connection.
type transferSummary struct {
	Event          string  `json:"event"` // "summary"
	Role           string  `json:"role"`
	Local          string  `json:"local"`
	Remote         string  `json:"remote"`
	MPTCPAtStart   bool    `json:"mptcp_at_start"` // MPTCP once established
	MPTCP          bool    `json:"mptcp"`          // still MPTCP at the end (no fallback)
	BytesSent      int64   `json:"bytes_sent"`
	SHA256Sent     string  `json:"sha256_sent"`
	BytesReceived  int64   `json:"bytes_received"`
	SHA256Received string  `json:"sha256_received"`
	Fastclose      bool    `json:"fastclose"`
	Reset          bool    `json:"reset"`
	DurationMS     float64 `json:"duration_ms"`
	// Info is the connection at the end of the transfer, before it was
	// closed (absent for plain TCP).
	Info *transferInfo `json:"info,omitempty"`
	// MIB holds the stack's non-zero counters (MPTcpExt names), counted
	// since the command started.
	MIB   map[string]int64 `json:"mib,omitempty"`
	Error string           `json:"error,omitempty"`
}

// transferInfo is an mptcp.Info in JSON.
type transferInfo struct {
	Token           uint32            `json:"token"`
	Fallback        bool              `json:"fallback"`
	CsumEnabled     bool              `json:"csum_enabled"`
	Subflows        int               `json:"subflows"` // additional (MP_JOIN) subflows
	SubflowsTotal   int               `json:"subflows_total"`
	AddAddrSignal   int               `json:"add_addr_signal"`
	AddAddrAccepted int               `json:"add_addr_accepted"`
	BytesSent       uint64            `json:"bytes_sent"`
	BytesReceived   uint64            `json:"bytes_received"`
	BytesAcked      uint64            `json:"bytes_acked"`
	BytesRetrans    uint64            `json:"bytes_retrans"`
	Retransmits     uint64            `json:"retransmits"`
	SubflowList     []transferSubflow `json:"subflow_list"`
}

// transferSubflow is one subflow of a transferInfo.
type transferSubflow struct {
	Local         string `json:"local"`
	Remote        string `json:"remote"`
	LocalID       uint8  `json:"local_id"`
	RemoteID      uint8  `json:"remote_id"`
	Join          bool   `json:"join"`
	Backup        bool   `json:"backup"`
	State         string `json:"state"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesAcked    uint64 `json:"bytes_acked"`
	BytesReceived uint64 `json:"bytes_received"`
	BytesRetrans  uint64 `json:"bytes_retrans"`
	RTTMicros     int64  `json:"rtt_us"`
}

// newTransferInfo describes the connection by its last snapshot, with
// the subflows of both: subflows that closed between the two keep their
// earlier counters.
func newTransferInfo(early, late mptcp.Info) *transferInfo {
	in := late
	ti := &transferInfo{
		Token: in.Token, Fallback: in.Flags&meta.InfoFlagFallback != 0, CsumEnabled: in.CsumEnabled,
		Subflows: in.Subflows, SubflowsTotal: in.SubflowsTotal,
		AddAddrSignal: in.AddAddrSignal, AddAddrAccepted: in.AddAddrAccepted,
		BytesSent: in.BytesSent, BytesReceived: in.BytesReceived, BytesAcked: in.BytesAcked,
		BytesRetrans: in.BytesRetrans, Retransmits: in.Retransmits,
		SubflowList: []transferSubflow{},
	}
	subs := append([]mptcp.SubflowInfo(nil), late.Subflow...)
	for _, e := range early.Subflow {
		if !slices.ContainsFunc(late.Subflow, func(l mptcp.SubflowInfo) bool { return l.ID == e.ID }) {
			subs = append(subs, e)
		}
	}
	for _, sf := range subs {
		ti.SubflowList = append(ti.SubflowList, transferSubflow{
			Local: sf.ID.Local.String(), Remote: sf.ID.Remote.String(),
			LocalID: sf.LocalID, RemoteID: sf.RemoteID, Join: sf.Join, Backup: sf.Backup,
			State: sf.TCP.State.String(), BytesSent: sf.TCP.BytesSent, BytesAcked: sf.TCP.BytesAcked,
			BytesReceived: sf.TCP.BytesReceived, BytesRetrans: sf.TCP.BytesRetrans,
			RTTMicros: sf.TCP.RTT.Microseconds(),
		})
	}
	return ti
}

// transferReporter prints events on stderr, one line each.
type transferReporter struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func (r *transferReporter) emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"event": "error", "error": err.Error()})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w.Write(append(b, '\n'))
}

func (r *transferReporter) text(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format+"\n", a...)
}

func (r *transferReporter) listening(addr string, mp bool) {
	if r.json {
		r.emit(struct {
			Event string `json:"event"`
			Addr  string `json:"addr"`
			MPTCP bool   `json:"mptcp"`
		}{"listening", addr, mp})
		return
	}
	proto := "plain TCP"
	if mp {
		proto = "MPTCP"
	}
	r.text("mptcp listen: listening on %s (%s)", addr, proto)
}

func (r *transferReporter) summary(s *transferSummary) {
	if r.json {
		r.emit(s)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mptcp %s: %s -> %s mptcp=%t/%t sent=%d sha256=%s received=%d sha256=%s %.1fms",
		s.Role, s.Local, s.Remote, s.MPTCPAtStart, s.MPTCP, s.BytesSent, s.SHA256Sent,
		s.BytesReceived, s.SHA256Received, s.DurationMS)
	if in := s.Info; in != nil {
		fmt.Fprintf(&b, " token=%#08x subflows=%d csum=%t", in.Token, len(in.SubflowList), in.CsumEnabled)
		for _, sf := range in.SubflowList {
			fmt.Fprintf(&b, " [%s->%s sent=%d received=%d]", sf.Local, sf.Remote, sf.BytesSent, sf.BytesReceived)
		}
	}
	if s.Fastclose {
		b.WriteString(" fastclose")
	}
	if s.Reset {
		b.WriteString(" reset-by-peer")
	}
	if s.Error != "" {
		b.WriteString(" error: " + s.Error)
	}
	r.text("%s", b.String())
}

// hashingWriter writes to w and hashes what w took.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
}

func (hw hashingWriter) Write(b []byte) (int, error) {
	n, err := hw.w.Write(b)
	hw.h.Write(b[:n])
	return n, err
}

// longAgo is a deadline in the past, to unblock I/O on an interrupt.
var longAgo = time.Unix(1, 0)

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
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

// isResetErr reports whether err says the peer reset the connection (a
// TCP RST, or MP_FASTCLOSE, which wraps it).
func isResetErr(err error) bool { return errors.Is(err, tcp.ErrConnectionReset) }

// session runs one connection to its end and closes it: receive and
// check what the peer sends while sending our payload, then close as the
// flags say. The summary carries any error.
func (c *transferCmd) session(ctx context.Context, h *transferHost, conn net.Conn) *transferSummary {
	start := time.Now()
	s := &transferSummary{Event: "summary", Role: c.role, Local: conn.LocalAddr().String(),
		Remote: conn.RemoteAddr().String(), Fastclose: c.fastclose}
	mc, _ := conn.(*mptcp.Conn)
	if mc != nil {
		s.MPTCPAtStart = !mc.Fallback()
	}
	var errs []error
	fail := func(what string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	if c.timeout > 0 {
		fail("set deadline", conn.SetDeadline(start.Add(c.timeout)))
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) })
	defer stop()

	rxHash := sha256.New()
	sinks := []io.Writer{rxHash}
	var check *payload.Checker
	if c.expectBytes >= 0 {
		check = payload.NewChecker(c.peerSeed)
		sinks = append(sinks, check)
	}
	type result struct {
		n   int64
		err error
	}
	rxDone := make(chan result, 1)
	go func() {
		n, err := io.CopyBuffer(io.MultiWriter(sinks...), conn, make([]byte, 128<<10))
		rxDone <- result{n, err}
	}()

	txHash := sha256.New()
	txErr := sleepCtx(ctx, c.delay)
	if txErr == nil && c.sendBytes > 0 {
		w := hashingWriter{w: conn, h: txHash}
		src := payload.New(c.seed)
		buf := make([]byte, min(c.chunk, c.sendBytes))
		for s.BytesSent < c.sendBytes && txErr == nil {
			b := buf[:min(int64(len(buf)), c.sendBytes-s.BytesSent)]
			src.Read(b)
			var n int
			n, txErr = w.Write(b)
			s.BytesSent += int64(n)
		}
	}
	s.SHA256Sent = hex.EncodeToString(txHash.Sum(nil))

	var rx result
	rxEnded := false
	if txErr == nil && c.hold > 0 {
		t := time.NewTimer(c.hold)
		select {
		case <-t.C:
		case <-ctx.Done():
			txErr = ctx.Err()
		case rx = <-rxDone:
			rxEnded = true
			if rx.err == nil {
				// The peer is done sending; it may still be receiving.
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
	// The Info is taken twice: once the data is out (the subflows are
	// all there) and at the end (the counters are complete).
	var early mptcp.Info
	if mc != nil {
		early, _ = mc.Info()
	}
	snapshot := func() {
		if mc == nil {
			return
		}
		s.MPTCP = !mc.Fallback()
		if in, err := mc.Info(); err == nil {
			s.Info = newTransferInfo(early, in)
		}
	}
	closedByUs := false
	switch {
	case txErr != nil || (rxEnded && rx.err != nil):
		// The connection is unusable: do not wait for the peer.
		snapshot()
		fail("close", conn.Close())
		closedByUs = true
		waitRx()
	case c.fastclose:
		snapshot()
		fail("fast close", abortConn(h.ms, mc))
		conn.Close()
		closedByUs = true
		waitRx()
	default:
		// RFC 8684 §3.3.3: CloseWrite sends our DATA_FIN.
		if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
			fail("close write", err)
		}
		waitRx()
		snapshot()
		fail("close", conn.Close())
	}
	if closedByUs && errors.Is(rx.err, net.ErrClosed) {
		rx.err = nil
	}
	s.BytesReceived = rx.n
	s.SHA256Received = hex.EncodeToString(rxHash.Sum(nil))
	if c.fastclose {
		// Our own reset ends our reads.
		rx.err = nil
	}
	s.Reset = isResetErr(txErr) || isResetErr(rx.err)
	switch {
	case c.expectReset && s.Reset:
		txErr, rx.err = nil, nil
	case c.expectReset:
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
			errs = append(errs, fmt.Errorf("received data differs from the payload of seed %d at byte %d", c.peerSeed, check.Mismatch()))
		case rx.n != c.expectBytes:
			errs = append(errs, fmt.Errorf("received %d bytes, expected %d", rx.n, c.expectBytes))
		}
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		s.Error = strings.Join(msgs, "; ")
	}
	mib := map[string]int64{}
	for k, v := range h.ms.MIB().Snapshot() {
		if v != 0 {
			mib[k] = v
		}
	}
	s.MIB = mib
	s.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return s
}

// errNoMPTCPConn: --fastclose on a connection the stack does not hold as
// MPTCP.
var errNoMPTCPConn = errors.New("not an MPTCP connection of the stack")

// abortConn ends c abortively: every subflow is reset, with MP_FASTCLOSE
// while the connection is MPTCP (RFC 8684 §3.5), as Linux does for a
// socket closed with SO_LINGER {on, 0}. mptcp.Conn has no such call, so
// the connection is found on the stack's loop by its initial subflow's
// addresses.
func abortConn(ms *mptcp.Stack, c *mptcp.Conn) error {
	if c == nil {
		return errNoMPTCPConn
	}
	la, lok := c.LocalAddr().(*net.TCPAddr)
	ra, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return errNoMPTCPConn
	}
	local, remote := unmapAddrPort(la.AddrPort()), unmapAddrPort(ra.AddrPort())
	found := false
	err := ms.Host().Do(func(now time.Time, st *stack.Stack) {
		st.MPConns(func(m *stack.MPConn) bool {
			if m.LocalAddr() == local && m.RemoteAddr() == remote {
				found = true
				m.Abort(now)
				return false
			}
			return true
		})
	})
	if err != nil {
		return err
	}
	if !found {
		return errNoMPTCPConn
	}
	return nil
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
