package meta

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	serverAP   = netip.MustParseAddrPort("198.51.100.2:80")
	clientAddr = []netip.Addr{
		netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"),
		netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("192.0.2.4"),
	}
)

// pathCfg is one network path, chosen by the client address.
type pathCfg struct {
	delay  time.Duration
	jitter time.Duration // extra random delay: reorders
	loss   float64
	down   bool // drops everything
}

type flight struct {
	at    time.Time
	n     uint64
	toSrv bool
	from  tcp.ConnID // the sender's view
	seg   tcp.Segment
}

// endpoint is one host of the harness: its connections, demultiplexed by
// 4-tuple, and optionally a listener.
type endpoint struct {
	h      *harness
	conns  map[tcp.ConnID]*Conn
	list   []*Conn
	lst    *Listener
	plain  map[tcp.ConnID]*tcp.Conn // plain TCP peers (fallback tests)
	plainL *tcp.Listener
}

func (e *endpoint) BindSubflow(c *Conn, local, remote netip.AddrPort) (tcp.ConnID, error) {
	if local.Port() == 0 {
		e.h.nextPort++
		local = netip.AddrPortFrom(local.Addr(), e.h.nextPort)
	}
	id := tcp.ConnID{Local: local, Remote: remote}
	if _, ok := e.conns[id]; ok {
		return tcp.ConnID{}, fmt.Errorf("4-tuple %v in use", id)
	}
	e.conns[id] = c
	return id, nil
}

func (e *endpoint) UnbindSubflow(c *Conn, id tcp.ConnID) {
	if e.conns[id] == c {
		delete(e.conns, id)
	}
	e.h.unbound++
}

func (e *endpoint) add(c *Conn) {
	for _, x := range e.list {
		if x == c {
			return
		}
	}
	e.list = append(e.list, c)
}

// harness runs MPTCP endpoints over per-path lossy, reordering channels in
// virtual time.
type harness struct {
	t        testing.TB
	now      time.Time
	rng      *rand.Rand
	paths    map[netip.Addr]*pathCfg
	defPath  pathCfg
	cli, srv *endpoint
	inflight []flight
	nflight  uint64
	nextPort uint16
	unbound  int
	pollBuf  []byte
	sent     int
	dropped  int
	// mutate may change or drop (return false) a segment in flight.
	mutate func(f *flight) bool
	// observe sees every segment as sent.
	observe func(toSrv bool, from tcp.ConnID, seg *tcp.Segment)
	// events seen on the client and server connections.
	cliEvents, srvEvents []Event
}

func newHarness(tb testing.TB, seed uint64, p pathCfg) *harness {
	h := &harness{t: tb, now: t0, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), defPath: p,
		paths: make(map[netip.Addr]*pathCfg), pollBuf: make([]byte, 65536), nextPort: 40000}
	h.cli = &endpoint{h: h, conns: make(map[tcp.ConnID]*Conn), plain: make(map[tcp.ConnID]*tcp.Conn)}
	h.srv = &endpoint{h: h, conns: make(map[tcp.ConnID]*Conn), plain: make(map[tcp.ConnID]*tcp.Conn)}
	return h
}

func (h *harness) path(a netip.Addr) *pathCfg {
	if p, ok := h.paths[a]; ok {
		return p
	}
	p := h.defPath
	h.paths[a] = &p
	return &p
}

// testConfig returns a Config with deterministic randomness and host e.
func testConfig(seed uint64, e *endpoint) *Config {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	c := &Config{
		Subflow: tcp.Config{CongestionControl: "reno", ISNKey: [16]byte{byte(seed), 9}},
		Rand:    rand.NewChaCha8(s),
	}
	if e != nil {
		c.Host = e
	}
	return c
}

func (h *harness) listen(cfg *Config) {
	l, err := NewListener(cfg, serverAP.Port(), 64)
	if err != nil {
		h.t.Fatal(err)
	}
	h.srv.lst = l
}

func (h *harness) dial(cfg *Config, local netip.Addr) *Conn {
	h.nextPort++
	id := tcp.ConnID{Local: netip.AddrPortFrom(local, h.nextPort), Remote: serverAP}
	c, err := Dial(h.now, cfg, id)
	if err != nil {
		h.t.Fatal(err)
	}
	h.cli.conns[id] = c
	h.cli.add(c)
	return c
}

// copySeg deep-copies a segment: payload and option bytes alias engine
// memory.
func copySeg(s *tcp.Segment) tcp.Segment {
	d := *s
	d.Payload = append([]byte(nil), s.Payload...)
	for i := range min(s.Options.NumMPTCP, len(s.Options.MPTCP)) {
		d.Options.MPTCP[i] = append([]byte(nil), s.Options.MPTCP[i]...)
	}
	for i := range min(s.Options.NumUnknown, len(s.Options.Unknown)) {
		d.Options.Unknown[i] = append([]byte(nil), s.Options.Unknown[i]...)
	}
	return d
}

func (h *harness) send(toSrv bool, from tcp.ConnID, s *tcp.Segment) {
	h.sent++
	if h.observe != nil {
		h.observe(toSrv, from, s)
	}
	cliAddr := from.Local.Addr()
	if !toSrv {
		cliAddr = from.Remote.Addr()
	}
	p := h.path(cliAddr)
	if p.down || p.loss > 0 && h.rng.Float64() < p.loss {
		h.dropped++
		return
	}
	at := h.now.Add(p.delay)
	if p.jitter > 0 {
		at = at.Add(time.Duration(h.rng.Int64N(int64(p.jitter))))
	}
	h.nflight++
	f := flight{at: at, n: h.nflight, toSrv: toSrv, from: from, seg: copySeg(s)}
	if h.mutate != nil && !h.mutate(&f) {
		h.dropped++
		return
	}
	h.inflight = append(h.inflight, f)
}

func swap(id tcp.ConnID) tcp.ConnID { return tcp.ConnID{Local: id.Remote, Remote: id.Local} }

func (h *harness) deliver(f *flight) {
	id := swap(f.from)
	ep := h.cli
	if f.toSrv {
		ep = h.srv
	}
	if c, ok := ep.conns[id]; ok {
		c.Input(h.now, id, &f.seg)
		return
	}
	if pc, ok := ep.plain[id]; ok {
		pc.Input(h.now, &f.seg)
		return
	}
	switch {
	case ep.lst != nil:
		c, reply, ok := ep.lst.Input(h.now, id, &f.seg)
		if c != nil {
			ep.conns[id] = c
			ep.add(c)
		}
		if ok {
			h.send(!f.toSrv, id, &reply)
		}
	case ep.plainL != nil:
		pc, reply, ok := ep.plainL.Input(h.now, id, &f.seg)
		if pc != nil {
			ep.plain[id] = pc
		}
		if ok {
			h.send(!f.toSrv, id, &reply)
		}
	default:
		if reply, ok := tcp.ResetFor(&f.seg); ok {
			h.send(!f.toSrv, id, &reply)
		}
	}
}

func (h *harness) pollAll() {
	for _, ep := range []*endpoint{h.cli, h.srv} {
		toSrv := ep == h.cli
		for _, c := range ep.list {
			for n := 0; ; n++ {
				id, seg, ok := c.Poll(h.now, h.pollBuf)
				if !ok {
					break
				}
				if n > 100000 {
					h.t.Fatalf("endless output from %v", id)
				}
				h.send(toSrv, id, &seg)
			}
			for {
				ev, ok := c.NextEvent()
				if !ok {
					break
				}
				if toSrv {
					h.cliEvents = append(h.cliEvents, ev)
				} else {
					h.srvEvents = append(h.srvEvents, ev)
				}
			}
		}
		for _, pc := range ep.plain {
			for {
				seg, ok := pc.Poll(h.now, h.pollBuf)
				if !ok {
					break
				}
				h.send(toSrv, pc.ID(), &seg)
			}
		}
	}
}

// step delivers what is due, runs app, polls everything and advances time.
// It reports false when nothing more can happen.
func (h *harness) step(app func()) bool {
	for {
		best := -1
		for i := range h.inflight {
			f := &h.inflight[i]
			if !f.at.After(h.now) && (best < 0 || f.at.Before(h.inflight[best].at) || f.at.Equal(h.inflight[best].at) && f.n < h.inflight[best].n) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		f := h.inflight[best]
		h.inflight = append(h.inflight[:best], h.inflight[best+1:]...)
		h.deliver(&f)
	}
	if app != nil {
		app()
	}
	h.pollAll()
	var next time.Time
	take := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for i := range h.inflight {
		take(h.inflight[i].at)
	}
	for _, ep := range []*endpoint{h.cli, h.srv} {
		for _, c := range ep.list {
			take(c.NextDeadline())
		}
		for _, pc := range ep.plain {
			take(pc.NextDeadline())
		}
	}
	if next.IsZero() {
		return false
	}
	if next.After(h.now) {
		h.now = next
	} else {
		h.now = h.now.Add(time.Microsecond)
	}
	return true
}

// run steps until done or the virtual time limit.
func (h *harness) run(limit time.Duration, app func(), done func() bool) {
	end := h.now.Add(limit)
	for !done() {
		if !h.step(app) && !done() || h.now.After(end) {
			h.t.Fatalf("stalled at virtual %v: %s", h.now.Sub(t0), h.brief())
		}
	}
}

func (h *harness) brief() string {
	var b bytes.Buffer
	for _, ep := range []*endpoint{h.cli, h.srv} {
		for _, c := range ep.list {
			i := c.Info()
			fmt.Fprintf(&b, "[conn est=%v fb=%v done=%v err=%v una=%d nxt=%d write=%d wnd=%d rcvnxt=%d fin=%v/%v/%v rcvfin=%v reinj=%d subflows:",
				c.established, c.fallback, c.done, c.err, i.SndUna, i.SndNxt, i.WriteSeq, i.SendWindowEnd, i.RcvNxt, c.finQueued, c.finSent, c.finAcked, c.rcvFin, len(c.reinj))
			for _, s := range i.Subflow {
				fmt.Fprintf(&b, " {%v %v fully=%v una=%d nxt=%d rto=%v unacked=%d q=%d}", s.ID.Local, s.TCP.State, s.FullyEstablished, s.TCP.SndUna, s.TCP.SndNxt, s.TCP.RTO, s.TCP.Unacked, s.TCP.SendBuffered)
			}
			b.WriteString("] ")
		}
	}
	return b.String()
}

// transfer moves data both ways between a client and the server
// connection it creates, and closes both; it returns what each side read.
type transfer struct {
	h          *harness
	cli, srv   *Conn
	up, down   []byte // client→server, server→client
	upOff      int
	downOff    int
	gotUp      []byte
	gotDown    []byte
	rbuf       []byte
	cliEOF     bool
	srvEOF     bool
	srvClosed  bool
	cliClosed  bool
	joins      []netip.Addr // client addresses to add subflows from
	joined     bool
	backupLast bool // the last join is a backup subflow
	closeOnEOF bool // the server closes after the client's DATA_FIN
	keepOpen   bool // nobody closes
}

func (x *transfer) app() {
	h := x.h
	if x.srv == nil && h.srv.lst != nil {
		if c, ok := h.srv.lst.Accept(); ok {
			x.srv = c
		}
	}
	if !x.joined && x.cli.Established() && !x.cli.Fallback() && len(x.joins) > 0 {
		if _, err := x.cli.AddSubflow(h.now, netip.AddrPortFrom(x.joins[0], 0), serverAP, x.backupLast && len(x.joins) == 1); err == nil {
			x.joins = x.joins[1:]
		} else if err == ErrJoinDenied {
			x.joins = nil // the peer's flag C, as a mutated SYN/ACK may carry
		} else if err != ErrNotEstablished {
			h.t.Fatalf("AddSubflow: %v", err)
		}
		x.joined = len(x.joins) == 0
	}
	if x.upOff < len(x.up) {
		n, _ := x.cli.Write(x.up[x.upOff:])
		x.upOff += n
	}
	if x.upOff == len(x.up) && !x.cliClosed && !x.keepOpen {
		x.cliClosed = true
		x.cli.CloseWrite()
	}
	x.rbuf = readAll(x.cli, x.rbuf, &x.gotDown, &x.cliEOF)
	if x.srv != nil {
		if x.downOff < len(x.down) {
			n, _ := x.srv.Write(x.down[x.downOff:])
			x.downOff += n
		}
		x.rbuf = readAll(x.srv, x.rbuf, &x.gotUp, &x.srvEOF)
		if x.downOff == len(x.down) && !x.srvClosed && !x.keepOpen && (x.srvEOF || !x.closeOnEOF) {
			x.srvClosed = true
			x.srv.CloseWrite()
		}
	}
}

func readAll(c *Conn, buf []byte, sink *[]byte, eof *bool) []byte {
	if cap(buf) < 32<<10 {
		buf = make([]byte, 32<<10)
	}
	for {
		n, err := c.Read(buf[:cap(buf)])
		*sink = append(*sink, buf[:n]...)
		if err != nil {
			*eof = true
			return buf
		}
		if n == 0 {
			return buf
		}
	}
}

func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 77))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
