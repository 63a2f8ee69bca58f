package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/cmd/internal/session"
	"github.com/gomptcp/mptcp/internal/plot"
	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/pcap"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/pathmgr"
	"github.com/gomptcp/mptcp/sched"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
	"github.com/gomptcp/mptcp/tcp"
)

// transferStdin is what connect and listen read as standard input.
var transferStdin io.Reader = os.Stdin

func runTransferConnect(args []string, stdout, stderr io.Writer) error {
	return runTransfer("connect", args, stdout, stderr)
}

func runTransferListen(args []string, stdout, stderr io.Writer) error {
	return runTransfer("listen", args, stdout, stderr)
}

func runTransfer(role string, args []string, stdout, stderr io.Writer) error {
	c, err := parseTransferArgs(role, args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := &transferReporter{w: stderr, json: c.JSON, role: role}
	return c.run(ctx, rep, stdout)
}

// transferHost is gomptcp's stack on the TUN devices, with the
// middleware of --impair, --event and --pcap.
type transferHost struct {
	ts *tun.Stack
	ms *mptcp.Stack
	// impairers are each device's impairers towards the peer ([0]) and
	// from it ([1]); used on the TUN stack's loop only.
	impairers map[string][2]*impair.Impairer
	pcapFile  *os.File
	pcapBuf   *bufio.Writer
	tap       *pcap.Tap
	timers    []*time.Timer
	plot      *transferPlot // --plot
}

// transferTap lets one pcap.Tap, and so one capture file, see the
// packets of every device and direction: all middleware runs on the TUN
// stack's loop goroutine, one call at a time.
type transferTap struct{ t *pcap.Tap }

func (m *transferTap) Process(now time.Time, pkt []byte, out link.Emitter) {
	m.t.Process(now, pkt, out)
}
func (m *transferTap) Poll(time.Time, link.Emitter) {}
func (m *transferTap) Deadline() time.Time          { return time.Time{} }

// transferNoPM is the "userspace" path manager without a daemon: it opens
// no subflow and announces nothing.
type transferNoPM struct{}

func (transferNoPM) HandleEvent(time.Time, stack.Controller, stack.PMEvent) {}

// config is our MPTCP stack's configuration.
func (c *transferCmd) config() (mptcp.Config, error) {
	cfg := mptcp.Config{Disabled: !c.MPTCP, Checksum: c.checksum}
	switch c.pm.kind {
	case "kernel":
		l := c.limits
		cfg.Endpoints, cfg.Limits = c.endpoints, &l
	case "fullmesh":
		f := &pathmgr.Fullmesh{}
		if c.limitsSet {
			f.MaxSubflows, f.MaxAccepted = c.limits.Subflows, c.limits.AddAddrAccepted
		}
		cfg.PathManager = f
	case "ndiffports":
		cfg.PathManager = &pathmgr.NDiffPorts{N: c.pm.n}
	case "userspace":
		cfg.PathManager = transferNoPM{}
	default:
		return cfg, fmt.Errorf("unknown path manager %q", c.pm.kind)
	}
	if c.scheduler != "" {
		mk, err := sched.New(c.scheduler)
		if err != nil {
			return cfg, err
		}
		cfg.Scheduler = mk()
	}
	return cfg, nil
}

// hasLinkEvents reports whether an --event names device dev.
func (c *transferCmd) hasLinkEvents(dev string) bool {
	return slices.ContainsFunc(c.linkEvents, func(e transferLinkEvent) bool { return e.dev == dev })
}

// openHost finds or creates the TUN devices and starts our stack on them.
// Every device gets a default route, in order: a destination on none of
// the devices' prefixes is reached through the first, and a connection or
// subflow bound to a device's address leaves through that device.
func (c *transferCmd) openHost(rep *transferReporter) (h *transferHost, err error) {
	h = &transferHost{impairers: map[string][2]*impair.Impairer{}}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	devs := slices.Clone(c.tuns)
	for i := range devs {
		if devs[i].Attach, err = transferLinkExists(c.netns, devs[i].Name); err != nil {
			return h, err
		}
	}
	if c.pcap != "" {
		if h.pcapFile, err = os.Create(c.pcap); err != nil {
			return h, fmt.Errorf("--pcap: %w", err)
		}
		h.pcapBuf = bufio.NewWriterSize(h.pcapFile, 1<<20)
		if h.tap, err = pcap.NewTap(h.pcapBuf, pcap.Options{}); err != nil {
			return h, fmt.Errorf("--pcap: %w", err)
		}
	}
	for i := range devs {
		name := devs[i].Name
		var tx, rx []link.Middleware
		if h.tap != nil {
			// What we send before it is impaired, what we receive after.
			tx = append(tx, &transferTap{h.tap})
		}
		if cfg, ok := c.impairs[name]; ok || c.hasLinkEvents(name) {
			var pair [2]*impair.Impairer
			for dir := range pair {
				cfg.Seed = uint64(2*i + dir + 1)
				if pair[dir], err = impair.New(cfg); err != nil {
					return h, fmt.Errorf("--impair %s: %w", name, err)
				}
			}
			h.impairers[name] = pair
			tx = append(tx, pair[0])
			rx = append(rx, pair[1])
		}
		if h.tap != nil {
			rx = append(rx, &transferTap{h.tap})
		}
		devs[i].TxMiddleware, devs[i].RxMiddleware = transferChain(tx), transferChain(rx)
	}
	if h.ts, err = tun.Open(tun.Config{Devices: devs, NetNS: c.netns}); err != nil {
		return h, err
	}
	st, err := stack.New(stack.Config{TCP: tcp.Config{CongestionControl: c.cc}})
	if err != nil {
		return h, err
	}
	for _, nic := range h.ts.NICs() {
		if err := st.AddNIC(nic); err != nil {
			return h, err
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
					return h, err
				}
			}
		}
	}
	cfg, err := c.config()
	if err != nil {
		return h, err
	}
	if h.ms, err = mptcp.NewStack(h.ts, st, cfg); err != nil {
		return h, err
	}
	if err := h.ts.Start(st); err != nil {
		return h, err
	}
	if len(c.plots) > 0 {
		// Time on the plot runs from here, as for --event.
		h.plot = newTransferPlot(c.tuns)
	}
	for _, e := range c.linkEvents {
		h.timers = append(h.timers, time.AfterFunc(e.at, func() {
			pair := h.impairers[e.dev]
			if h.ts.Do(func(now time.Time) {
				for _, m := range pair {
					m.SetUp(now, e.up)
				}
			}) == nil {
				rep.linkEvent(e)
				h.plot.event(e)
			}
		}))
	}
	return h, nil
}

// transferChain makes one Middleware of ms (nil for none).
func transferChain(ms []link.Middleware) link.Middleware {
	switch len(ms) {
	case 0:
		return nil
	case 1:
		return ms[0]
	}
	return link.Chain(ms...)
}

// close stops the events, closes the stack and the devices, and writes
// out the capture.
func (h *transferHost) close() error {
	var errs []error
	for _, t := range h.timers {
		t.Stop()
	}
	if h.ms != nil {
		errs = append(errs, h.ms.Close())
	}
	if h.ts != nil {
		errs = append(errs, h.ts.Close())
	}
	if h.pcapFile != nil {
		if h.tap != nil && h.tap.Err() != nil {
			errs = append(errs, fmt.Errorf("--pcap: %w", h.tap.Err()))
		}
		if h.pcapBuf != nil {
			if err := h.pcapBuf.Flush(); err != nil {
				errs = append(errs, fmt.Errorf("--pcap: %w", err))
			}
		}
		if err := h.pcapFile.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--pcap: %w", err))
		}
	}
	return errors.Join(errs...)
}

// lingerTimeout bounds how long the command waits, before it closes the
// stack (which resets what is left), for its connections to finish
// closing: the queued data and the DATA_FIN exchange (RFC 8684 §3.3.3).
// A kernel socket does this after its process exited; our stack lives in
// the process.
const lingerTimeout = 10 * time.Second

// lingerGrace is how long the command still waits once every MPTCP
// connection has all its data acknowledged and only closing subflows: a
// subflow whose path failed never completes its FIN handshake.
const lingerGrace = time.Second

// linger waits until the stack has no MPTCP connection and no TCP
// connection other than in TIME-WAIT, for at most lingerTimeout or until
// ctx ends, or for lingerGrace once what remains is only subflows closing
// after the data was all acknowledged.
func (h *transferHost) linger(ctx context.Context) {
	deadline := time.Now().Add(lingerTimeout)
	var settledSince time.Time
	for ctx.Err() == nil && time.Now().Before(deadline) {
		busy, settled := false, true
		err := h.ms.Host().Do(func(_ time.Time, st *stack.Stack) {
			st.MPConns(func(m *stack.MPConn) bool {
				busy = true
				in := m.Info()
				if in.SndUna != in.WriteSeq {
					settled = false
				}
				for _, sf := range in.Subflow {
					switch sf.TCP.State {
					case tcp.StateFinWait1, tcp.StateFinWait2, tcp.StateClosing, tcp.StateLastAck, tcp.StateTimeWait, tcp.StateClosed:
					default:
						settled = false
					}
				}
				return true
			})
			st.Conns(func(c *stack.Conn) bool {
				if s := c.State(); s != tcp.StateTimeWait && s != tcp.StateClosed {
					busy, settled = true, false
				}
				return settled
			})
		})
		if err != nil || !busy {
			return
		}
		switch {
		case !settled:
			settledSince = time.Time{}
		case settledSince.IsZero():
			settledSince = time.Now()
		case time.Since(settledSince) >= lingerGrace:
			return
		}
		session.Sleep(ctx, 5*time.Millisecond)
	}
}

// transferData is where one connection's data comes from and goes to.
type transferData struct {
	// open returns the data to send on a new connection (nil: nothing)
	// and a function to release it.
	open func() (io.Reader, func(), error)
	// out receives what the peer sends (nil: discarded).
	out io.Writer
}

// data sets up --send, --send-bytes and --out: by default connect sends
// its standard input and discards what it receives, and listen sends
// nothing and writes what it receives to standard output. The function
// returned closes --out.
func (c *transferCmd) data(stdout io.Writer) (*transferData, func() error, error) {
	d := &transferData{open: func() (io.Reader, func(), error) {
		src, release, err := c.Source(transferStdin)
		if err != nil {
			return nil, nil, fmt.Errorf("--send: %w", err)
		}
		return src, func() { release() }, nil
	}}
	if c.SendBytes < 0 && c.SendFile == "" && c.role == "connect" {
		d.open = func() (io.Reader, func(), error) { return transferStdin, func() {}, nil }
	}
	closeOut := func() error { return nil }
	switch {
	case c.Out == "-" || c.Out == "" && c.role == "listen":
		d.out = stdout
	case c.Out != "":
		f, err := os.Create(c.Out)
		if err != nil {
			return nil, nil, fmt.Errorf("--out: %w", err)
		}
		bw := bufio.NewWriterSize(f, 256<<10)
		d.out = bw
		closeOut = func() error {
			return errors.Join(bw.Flush(), f.Close())
		}
	}
	return d, closeOut, nil
}

func (c *transferCmd) run(ctx context.Context, rep *transferReporter, stdout io.Writer) (err error) {
	d, closeOut, err := c.data(stdout)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeOut(); cerr != nil && err == nil {
			err = fmt.Errorf("--out: %w", cerr)
		}
	}()
	h, err := c.openHost(rep)
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
		err = c.runConnect(ctx, h, rep, d)
	} else {
		err = c.runListen(ctx, h, rep, d)
	}
	if h.plot != nil {
		if perr := writePlots(h.plot.figure(c.plotTitle()), c.plots); perr != nil {
			err = errors.Join(err, perr)
		} else {
			rep.plots(c.plots)
		}
	}
	return err
}

// resolve returns the address to connect to: the one given, or the first
// address of the host name of a family our devices have.
func (c *transferCmd) resolve(ctx context.Context) (netip.AddrPort, error) {
	if c.target.IsValid() {
		return c.target, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", c.host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	for _, a := range addrs {
		a = a.Unmap()
		for _, d := range c.tuns {
			if d.Addrs[0].Addr().Is4() == a.Is4() && (!c.local.IsValid() || c.local.Addr().Is4() == a.Is4()) {
				return netip.AddrPortFrom(a, c.port), nil
			}
		}
	}
	return netip.AddrPort{}, fmt.Errorf("%s has no address of our devices' families (%v)", c.host, addrs)
}

func (c *transferCmd) runConnect(ctx context.Context, h *transferHost, rep *transferReporter, d *transferData) error {
	dctx := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	target, err := c.resolve(dctx)
	if err != nil {
		return err
	}
	src, release, err := d.open()
	if err != nil {
		return err
	}
	defer release()
	dialer := mptcp.Dialer{Stack: h.ms, LocalAddr: c.local}
	conn, err := dialer.DialContext(dctx, "tcp", target.String())
	if err != nil {
		return err
	}
	s := c.session(ctx, h, conn, src, d.out)
	rep.summary(s)
	if s.Error != "" {
		return errors.New(s.Error)
	}
	return nil
}

func (c *transferCmd) runListen(ctx context.Context, h *transferHost, rep *transferReporter, d *transferData) error {
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
	rep.listening(l.Addr().String(), c.MPTCP)
	var failed, served int
	var firstErr string
	for c.count == 0 || served < c.count {
		var timer *time.Timer
		if c.Timeout > 0 {
			timer = time.AfterFunc(c.Timeout, func() { l.Close() })
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
			case c.Timeout > 0 && errors.Is(err, net.ErrClosed):
				return fmt.Errorf("accept: no connection within %v", c.Timeout)
			}
			return fmt.Errorf("accept: %w", err)
		}
		served++
		src, release, err := d.open()
		if err != nil {
			conn.Close()
			return err
		}
		s := c.session(ctx, h, conn, src, d.out)
		release()
		rep.summary(s)
		if s.Error != "" {
			failed++
			if firstErr == "" {
				firstErr = fmt.Sprintf("%s: %s", s.Remote, s.Error)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed, first %s", failed, served, firstErr)
	}
	return nil
}

// transferSummary is what our side saw of one connection.
type transferSummary struct {
	Event  string `json:"event"` // "summary"
	Role   string `json:"role"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// MPTCP reports that the connection was MPTCP once established;
	// Fallback that it ran as plain TCP at the end (RFC 8684 §3.7).
	MPTCP          bool    `json:"mptcp"`
	Fallback       bool    `json:"fallback"`
	Token          uint32  `json:"token,omitempty"`
	Checksum       bool    `json:"checksum"`
	BytesSent      int64   `json:"bytes_sent"`
	SHA256Sent     string  `json:"sha256_sent"`
	BytesReceived  int64   `json:"bytes_received"`
	SHA256Received string  `json:"sha256_received"`
	DurationS      float64 `json:"duration_s"`
	Fastclose      bool    `json:"fastclose"`
	Reset          bool    `json:"reset"`
	// Subflows are every subflow the connection had (one for plain TCP),
	// in the order they appeared; those gone by the end have the state
	// CLOSED and the counters they had when last seen.
	Subflows []transferSubflow `json:"subflows"`
	// Counters are the stack's non-zero counters, by their MPTcpExt
	// names, since the command started.
	Counters map[string]int64 `json:"counters"`
	Error    string           `json:"error,omitempty"`
}

// transferSubflow is one subflow of a transferSummary.
type transferSubflow struct {
	Local         string `json:"local"`
	Remote        string `json:"remote"`
	LocalID       uint8  `json:"local_id"`
	RemoteID      uint8  `json:"remote_id"`
	Join          bool   `json:"join"`
	Backup        bool   `json:"backup"`        // we marked it backup
	RemoteBackup  bool   `json:"remote_backup"` // the peer did
	RTTMicros     int64  `json:"rtt_us"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesAcked    uint64 `json:"bytes_acked"`
	BytesReceived uint64 `json:"bytes_received"`
	Retransmits   uint64 `json:"retransmits"` // segments
	State         string `json:"state"`
}

func newTransferSubflow(sf mptcp.SubflowInfo) transferSubflow {
	return transferSubflow{
		Local: sf.ID.Local.String(), Remote: sf.ID.Remote.String(),
		LocalID: sf.LocalID, RemoteID: sf.RemoteID, Join: sf.Join, Backup: sf.Backup, RemoteBackup: sf.RemoteBackup,
		RTTMicros: sf.TCP.RTT.Microseconds(), BytesSent: sf.TCP.BytesSent, BytesAcked: sf.TCP.BytesAcked,
		BytesReceived: sf.TCP.BytesReceived, Retransmits: sf.TCP.TotalRetrans, State: sf.TCP.State.String(),
	}
}

// subflowLog keeps every subflow a connection had, by its 4-tuple, in
// order of appearance, with its latest counters.
type subflowLog struct {
	mu    sync.Mutex
	order []tcp.ConnID
	last  map[tcp.ConnID]mptcp.SubflowInfo
	live  map[tcp.ConnID]bool // in the latest snapshot
}

func (l *subflowLog) add(in mptcp.Info) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[tcp.ConnID]mptcp.SubflowInfo{}
	}
	l.live = map[tcp.ConnID]bool{}
	for _, sf := range in.Subflow {
		if _, seen := l.last[sf.ID]; !seen {
			l.order = append(l.order, sf.ID)
		}
		l.last[sf.ID] = sf
		l.live[sf.ID] = true
	}
}

func (l *subflowLog) list() []transferSubflow {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]transferSubflow, 0, len(l.order))
	for _, id := range l.order {
		sf := newTransferSubflow(l.last[id])
		if !l.live[id] {
			sf.State = tcp.StateClosed.String()
		}
		out = append(out, sf)
	}
	return out
}

// transferSampleEvery is how often a session records its subflows, so
// that those closed before the end are reported too.
const transferSampleEvery = 100 * time.Millisecond

// transferReporter prints events on stderr, one line each.
type transferReporter struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	role string
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
	fmt.Fprintf(r.w, "mptcp "+r.role+": "+format+"\n", a...)
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
	r.text("listening on %s (%s)", addr, proto)
}

func (r *transferReporter) linkEvent(e transferLinkEvent) {
	if r.json {
		r.emit(struct {
			Event  string  `json:"event"`
			Device string  `json:"device"`
			Up     bool    `json:"up"`
			At     float64 `json:"at_s"`
		}{"link", e.dev, e.up, e.at.Seconds()})
		return
	}
	state := "down"
	if e.up {
		state = "up"
	}
	r.text("%s %s at %v", e.dev, state, e.at)
}

func (r *transferReporter) plots(files []string) {
	if r.json {
		r.emit(struct {
			Event string   `json:"event"`
			Files []string `json:"files"`
		}{"plot", files})
		return
	}
	r.text("plot written to %s", strings.Join(files, ", "))
}

func (r *transferReporter) summary(s *transferSummary) {
	if r.json {
		r.emit(s)
		return
	}
	var b strings.Builder
	proto := "MPTCP"
	switch {
	case !s.MPTCP:
		proto = "TCP"
	case s.Fallback:
		proto = "MPTCP, fell back to TCP"
	}
	fmt.Fprintf(&b, "%s -> %s (%s) sent %d B sha256 %s, received %d B sha256 %s in %.3f s",
		s.Local, s.Remote, proto, s.BytesSent, s.SHA256Sent, s.BytesReceived, s.SHA256Received, s.DurationS)
	for _, sf := range s.Subflows {
		fmt.Fprintf(&b, "; subflow %s -> %s ids %d/%d%s %s sent %d received %d retrans %d rtt %dus",
			sf.Local, sf.Remote, sf.LocalID, sf.RemoteID, map[bool]string{true: " backup"}[sf.Backup || sf.RemoteBackup],
			sf.State, sf.BytesSent, sf.BytesReceived, sf.Retransmits, sf.RTTMicros)
	}
	if s.Fastclose {
		b.WriteString("; fast close")
	}
	if s.Reset {
		b.WriteString("; reset by the peer")
	}
	if s.Error != "" {
		b.WriteString("; error: " + s.Error)
	}
	r.text("%s", b.String())
}

// isResetErr reports whether err says the peer reset the connection (a
// TCP RST, or MP_FASTCLOSE, which wraps it).
func isResetErr(err error) bool { return errors.Is(err, tcp.ErrConnectionReset) }

// waitAcked waits until the peer has acknowledged n bytes of conn's data
// (at the data level for MPTCP), for at most lingerTimeout or until ctx
// ends: the summary then counts all of it, and its duration is that of
// the transfer both ways.
func waitAcked(ctx context.Context, conn net.Conn, n int64) {
	acked := func() (uint64, bool) {
		switch c := conn.(type) {
		case *mptcp.Conn:
			in, err := c.Info()
			return in.BytesAcked, err == nil
		case *socket.Conn:
			in, err := c.Info()
			return in.BytesAcked, err == nil
		}
		return 0, false
	}
	deadline := time.Now().Add(lingerTimeout)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		a, ok := acked()
		if !ok || a >= uint64(n) {
			return
		}
		session.Sleep(ctx, 2*time.Millisecond)
	}
}

// session runs one connection to its end and closes it: receive what the
// peer sends (to out, hashed, checked with --expect-bytes) while sending
// src (after --delay), then close as the flags say (session.Run). The
// summary adds the connection's subflows, sampled while it runs, and the
// stack's counters; it carries any error.
func (c *transferCmd) session(ctx context.Context, h *transferHost, conn net.Conn, src io.Reader, out io.Writer) *transferSummary {
	start := time.Now()
	s := &transferSummary{Event: "summary", Role: c.role, Local: conn.LocalAddr().String(),
		Remote: conn.RemoteAddr().String(), Fastclose: c.Fastclose}
	mc, _ := conn.(*mptcp.Conn)
	var subs subflowLog
	if mc != nil {
		s.MPTCP = !mc.Fallback()
	}
	sampled := make(chan struct{})
	samplerStop := make(chan struct{})
	if mc != nil || h.plot != nil {
		go func() {
			defer close(sampled)
			t := time.NewTicker(transferSampleEvery)
			defer t.Stop()
			for {
				sampleTransfer(conn, mc, &subs, h.plot)
				select {
				case <-samplerStop:
					return
				case <-t.C:
				}
			}
		}()
	} else {
		close(sampled)
	}

	cfg := c.Config()
	cfg.ReadBuffer = 128 << 10
	// Abort makes our own reads fail: with --fastclose that is no reset.
	cfg.AbortEndsReceive = true
	cfg.IsReset = isResetErr
	cfg.Abort = func(report session.Report) {
		if mc == nil {
			report("fast close", mptcp.ErrNotMPTCP)
			conn.Close()
			return
		}
		report("fast close", mc.Abort())
	}
	// On a graceful close, the summary counts all the data: its duration
	// is that of the transfer both ways.
	cfg.Drain = func(sent int64) { waitAcked(ctx, conn, sent) }
	// The subflows are recorded once more before the connection closes,
	// with the counters complete.
	cfg.BeforeClose = func() {
		close(samplerStop)
		<-sampled
		if mc != nil {
			s.Fallback = mc.Fallback()
			if in, err := mc.Info(); err == nil {
				subs.add(in)
				h.plot.addMPTCP(in)
				s.Token, s.Checksum = in.Token, in.CsumEnabled
				if in.Flags&meta.InfoFlagFallback != 0 {
					s.Fallback = true
				}
			}
			s.Subflows = subs.list()
			return
		}
		s.Subflows = []transferSubflow{}
		if sc, ok := conn.(*socket.Conn); ok {
			if in, err := sc.Info(); err == nil {
				h.plot.add(transferConnID(conn), in)
				sf := newTransferSubflow(mptcp.SubflowInfo{TCP: in})
				sf.Local, sf.Remote = s.Local, s.Remote
				s.Subflows = append(s.Subflows, sf)
			}
		}
	}
	r := session.Run(ctx, conn, cfg, src, out)
	s.BytesSent, s.SHA256Sent, s.BytesReceived, s.SHA256Received = r.BytesSent, r.SHA256Sent, r.BytesReceived, r.SHA256Received
	s.Reset, s.Error = r.Reset, r.Error
	s.Counters = map[string]int64{}
	for k, v := range h.ms.MIB().Snapshot() {
		if v != 0 {
			s.Counters[k] = v
		}
	}
	s.DurationS = time.Since(start).Seconds()
	return s
}

// sampleTransfer records conn's subflows: in subs (for an MPTCP
// connection) and in p (for --plot; nil for none).
func sampleTransfer(conn net.Conn, mc *mptcp.Conn, subs *subflowLog, p *transferPlot) {
	if mc != nil {
		if in, err := mc.Info(); err == nil {
			subs.add(in)
			p.addMPTCP(in)
		}
		return
	}
	if sc, ok := conn.(*socket.Conn); ok && p != nil {
		if in, err := sc.Info(); err == nil {
			p.add(transferConnID(conn), in)
		}
	}
}

// transferConnID is the 4-tuple of a plain TCP connection.
func transferConnID(conn net.Conn) tcp.ConnID {
	ap := func(a net.Addr) netip.AddrPort {
		if ta, ok := a.(*net.TCPAddr); ok {
			return ta.AddrPort()
		}
		p, _ := netip.ParseAddrPort(a.String())
		return p
	}
	return tcp.ConnID{Local: ap(conn.LocalAddr()), Remote: ap(conn.RemoteAddr())}
}

// transferPlot records, for --plot, the subflows of every connection (the
// connection itself for plain TCP) by 4-tuple in order of appearance, and
// the --event changes, with times from its creation. A nil
// *transferPlot records nothing.
type transferPlot struct {
	mu    sync.Mutex
	start time.Time
	now   func() time.Time
	devs  []tun.DeviceConfig
	order []tcp.ConnID
	subs  map[tcp.ConnID]*plot.Subflow
	names map[string]int // subflows named after each device so far
	// cur is the time of the latest sample, prev that of the one before
	// (when hasPrev).
	cur, prev time.Duration
	hasPrev   bool
	events    []plot.Event
}

func newTransferPlot(devs []tun.DeviceConfig) *transferPlot {
	return &transferPlot{start: time.Now(), now: time.Now, devs: devs, subs: map[tcp.ConnID]*plot.Subflow{}, names: map[string]int{}}
}

// addMPTCP records the subflows of an MPTCP connection, at one time.
func (p *transferPlot) addMPTCP(in mptcp.Info) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.now().Sub(p.start)
	for _, sf := range in.Subflow {
		p.addAt(at, sf.ID, sf.TCP)
	}
}

// add records one connection.
func (p *transferPlot) add(id tcp.ConnID, in tcp.Info) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addAt(p.now().Sub(p.start), id, in)
}

// addAt records one subflow at time at. One first seen had sent and
// received nothing at the previous sample (it did not exist): its
// counters start there.
func (p *transferPlot) addAt(at time.Duration, id tcp.ConnID, in tcp.Info) {
	if at > p.cur {
		p.prev, p.cur, p.hasPrev = p.cur, at, len(p.order) > 0
	}
	sf, ok := p.subs[id]
	if !ok {
		sf = &plot.Subflow{Name: p.name(id)}
		if p.hasPrev && p.prev < at {
			sf.Samples = append(sf.Samples, plot.Sample{T: p.prev})
		}
		p.subs[id] = sf
		p.order = append(p.order, id)
	}
	if n := len(sf.Samples); n > 0 && sf.Samples[n-1].T >= at {
		sf.Samples = sf.Samples[:n-1] // the same instant, newer counters
	}
	sf.Samples = append(sf.Samples, plot.Sample{T: at, Sent: in.BytesAcked, Received: in.BytesReceived, Cwnd: in.Cwnd, RTT: in.RTT})
}

// name names a subflow after the device of its local address ("gmt0",
// then "gmt0 #2", …), or after the address.
func (p *transferPlot) name(id tcp.ConnID) string {
	base := id.Local.Addr().String()
	for _, d := range p.devs {
		for _, a := range d.Addrs {
			if a.Addr() == id.Local.Addr() {
				base = d.Name
			}
		}
	}
	if p.names[base]++; p.names[base] > 1 {
		return fmt.Sprintf("%s #%d", base, p.names[base])
	}
	return base
}

// event records an --event as it was applied.
func (p *transferPlot) event(e transferLinkEvent) {
	if p == nil {
		return
	}
	state := "down"
	if e.up {
		state = "up"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, plot.Event{T: e.at, Label: e.dev + " " + state})
}

// figure draws what was recorded; throughput is averaged over two
// samples.
func (p *transferPlot) figure(title string) *plot.Figure {
	p.mu.Lock()
	defer p.mu.Unlock()
	subs := make([]plot.Subflow, 0, len(p.order))
	for _, id := range p.order {
		subs = append(subs, *p.subs[id])
	}
	return &plot.Figure{Title: title, Panels: plot.SubflowPanels(subs, 2*transferSampleEvery), Events: slices.Clone(p.events)}
}

// plotTitle describes the command on its plot.
func (c *transferCmd) plotTitle() string {
	var devs []string
	for _, d := range c.tuns {
		devs = append(devs, d.Name)
	}
	what := "mptcp connect " + net.JoinHostPort(c.host, strconv.Itoa(int(c.port)))
	if c.role == "listen" {
		what = "mptcp listen " + c.listen.String()
		if !c.listen.Addr().IsValid() {
			what = fmt.Sprintf("mptcp listen :%d", c.listen.Port())
		}
	}
	proto := "MPTCP"
	if !c.MPTCP {
		proto = "TCP"
	}
	return fmt.Sprintf("%s (%s, gomptcp on %s)", what, proto, strings.Join(devs, ", "))
}
