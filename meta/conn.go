package meta

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// Conn is one MPTCP connection: its subflows and the data-level state
// above them. See the package documentation for how it is driven.
type Conn struct {
	cfg     Config
	mib     *MIB
	tokens  TokenRegistry
	sched   Scheduler
	ccGroup *cc.Group
	lst     *Listener // the listener that created it, until accepted
	passive bool      // created by a Listener

	// Handshake outcome.
	mptcp          bool     // MP_CAPABLE is (being) negotiated and not fallen back
	fallback       bool     // plain TCP on one subflow (RFC 8684 §3.7)
	fbSub          *subflow // that subflow
	established    bool     // the initial subflow completed its handshake
	remoteKeyKnown bool
	mpcPhase       bool // active side: no DATA_ACK seen yet, send MP_CAPABLE (§3.1)
	csum           bool // DSS checksums negotiated (§3.3.1)
	remoteDenyJoin bool // the peer's flag C (§3.1)
	estCounted     bool // counted in MPCurrEstab

	localKey, remoteKey     uint64
	localToken, remoteToken uint32
	localIDSN, remoteIDSN   uint64
	tokenClaimed            bool

	subflows []*subflow
	pollNext int
	localIDs []netip.Addr // index = local address ID (ID 0 is the initial subflow's)

	// Path management (RFC 8684 §3.4): our ADD_ADDRs until echoed, and
	// the addresses the peer announced.
	announced   []announcement
	remoteAddrs []RemoteAddr
	addAddrSent int // addresses announced (mptcpi_add_addr_signal)
	addAddrRcvd int // addresses accepted (mptcpi_add_addr_accepted)

	// Data-level send state (RFC 8684 §3.3). sbuf[sOff:] holds the bytes
	// from sndUna to the end of what the application wrote.
	sndUna, sndNxt uint64
	sndWndEnd      uint64 // right edge of the peer's window (§3.3.4)
	sbuf           []byte
	sOff           int
	finQueued      bool // the application closed the write side
	finSent        bool // our DATA_FIN is out (at finDSN)
	finAcked       bool
	finDSN         uint64
	finSub         *subflow   // the subflow our DATA_FIN went out on first
	reinj          []dsnRange // ranges to send again, sorted and disjoint
	// reinjHint, when reinjHinted, is where the next reinjected chunk
	// starts, out of order: the peer's likely hole (checkSilence).
	reinjHint   uint64
	reinjHinted bool
	nextChunkID uint64
	rtoAt       time.Time // data-level retransmission timer
	rtoBackoff  int
	schedSt     []SubflowStatus // scratch of schedule
	schedSf     []*subflow

	// Data-level receive state. rbuf[rOff:] holds the bytes in order and
	// not yet read, which end at rcvNxt.
	rcvNxt      uint64
	rbuf        []byte
	rOff        int
	ooo         []oooSeg
	oooBytes    int
	rcvFinKnown bool // the peer's DATA_FIN was seen, at rcvFinDSN
	rcvFinDSN   uint64
	rcvFin      bool // and all data before it arrived
	readClosed  bool
	tune        rcvTune

	// Fallback with an infinite mapping after a checksum failure on the
	// only subflow (RFC 8684 §3.7).
	infOK        bool      // still possible: one subflow, nothing reinjected
	rxInfWait    bool      // we sent MP_FAIL and wait for the infinite mapping
	failDeadline time.Time // give up waiting then
	failRetryAt  time.Time // repeat MP_FAIL then
	infSkipSet   bool      // the infinite mapping arrived: subflow bytes before
	infSkipTo    uint32    // infSkipTo are dropped, the rest is plain data
	infTx        bool      // we owe the peer an infinite mapping
	infDSN       uint64    // at this DSN
	infSSN       uint32    // and relative subflow sequence number

	mpcDropped    bool      // the SYN went out again without MP_CAPABLE (blackhole detection)
	dssFellBack   bool      // the fallback came from tryDSSFallback
	infTxCounted  bool      // InfiniteMapTx counted
	fastClose     bool      // our resets carry MP_FASTCLOSE (RFC 8684 §3.5)
	closeDeadline time.Time // Close was called: fast-close then (Config.CloseTimeout)
	closeArm      bool      // Close was called: start that timer at the next Poll

	writeClosed bool // Close or CloseWrite was called
	closeSubs   bool // subflows were told to close
	done        bool // EventClosed was emitted
	err         error
	now         time.Time

	events []Event
	evHead int

	st stats
}

type stats struct {
	bytesSent, bytesRetrans, bytesAcked, bytesReceived uint64
	retransmits                                        uint64
	lastDataSent, lastDataRecv, lastAckRecv            time.Time
	subflowsTotal                                      int
}

type dsnRange struct{ start, end uint64 }

// DSN comparisons, wrap-safe (RFC 8684 §3.3: the data sequence space is
// 64 bits and wraps).
func dsnLT(a, b uint64) bool  { return int64(a-b) < 0 }
func dsnLEQ(a, b uint64) bool { return int64(a-b) <= 0 }
func dsnMax(a, b uint64) uint64 {
	if dsnLT(a, b) {
		return b
	}
	return a
}
func dsnMin(a, b uint64) uint64 {
	if dsnLT(a, b) {
		return a
	}
	return b
}

func newConn(cfg *Config) (*Conn, error) {
	n, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	c := &Conn{cfg: n, mib: n.MIB, tokens: n.Tokens, sched: n.Scheduler, ccGroup: cc.NewGroup()}
	if c.tokens == nil {
		c.tokens = NewTokenTable()
	}
	if c.sched == nil {
		c.sched = LowestRTT()
	}
	return c, nil
}

// newKey draws a key whose token is unused and claims it (RFC 8684 §3.1:
// the token must be unique among the host's connections).
func (c *Conn) newKey() error {
	for range maxKeyTries {
		k, err := wire.GenerateKey(c.cfg.Rand)
		if err != nil {
			return err
		}
		tok, idsn := wire.TokenIDSN(k)
		if c.tokens.Claim(tok, c) {
			c.localKey, c.localToken, c.localIDSN = k, tok, idsn
			c.tokenClaimed = true
			c.sndUna, c.sndNxt = idsn+1, idsn+1
			c.sndWndEnd = c.sndUna
			return nil
		}
	}
	return ErrNoTokens
}

func (c *Conn) setRemoteKey(k uint64) {
	c.remoteKey = k
	c.remoteToken, c.remoteIDSN = wire.TokenIDSN(k)
	c.remoteKeyKnown = true
	// The SYN takes the first octet of data sequence space (§3.1).
	c.rcvNxt = c.remoteIDSN + 1
}

// subflowConfig is the TCP configuration of this connection's subflows.
func (c *Conn) subflowConfig() *tcp.Config {
	s := c.cfg.Subflow
	s.CCGroup = c.ccGroup
	return &s
}

// Dial starts an MPTCP connection over the initial subflow id: its first
// Poll emits the SYN with MP_CAPABLE (RFC 8684 §3.1). If no unique token can
// be found, the connection is plain TCP from the start, as Linux does.
func Dial(now time.Time, cfg *Config, id tcp.ConnID) (*Conn, error) {
	c, err := newConn(cfg)
	if err != nil {
		return nil, err
	}
	c.now = now
	switch err := c.newKey(); err {
	case nil:
		c.mptcp = true
	case ErrNoTokens:
		c.mib.inc(MPFallbackTokenInit)
		c.fallback = true
	default:
		return nil, err
	}
	c.localIDs = []netip.Addr{id.Local.Addr()}
	sf := &subflow{c: c, id: id, active: true, initial: true}
	tc, err := tcp.Dial(now, c.subflowConfig(), id, sf)
	if err != nil {
		c.releaseToken()
		return nil, err
	}
	sf.tc = tc
	sf.iss = tc.ISS()
	sf.ackMax = sf.iss + 1
	c.subflows = append(c.subflows, sf)
	c.st.subflowsTotal++
	if c.fallback {
		c.fbSub = sf
	}
	return c, nil
}

func (c *Conn) releaseToken() {
	if c.tokenClaimed {
		c.tokens.Release(c.localToken, c)
		c.tokenClaimed = false
	}
}

// Token is the connection's local token (RFC 8684 §3.1), by which the peer
// joins it; 0 for a connection that fell back to TCP before keys were
// exchanged.
func (c *Conn) Token() uint32 { return c.localToken }

// MIB returns the counters the connection updates.
func (c *Conn) MIB() *MIB { return c.mib }

// Established reports whether the initial handshake completed (as MPTCP or,
// see Fallback, as plain TCP).
func (c *Conn) Established() bool { return c.established }

// Fallback reports whether the connection runs as plain TCP (RFC 8684 §3.7).
func (c *Conn) Fallback() bool { return c.fallback }

// Closed reports whether the connection ended: all its subflows are
// closed.
func (c *Conn) Closed() bool { return c.done }

// Err returns why the connection failed, or nil.
func (c *Conn) Err() error { return c.err }

// Subflows lists the 4-tuples of the live subflows.
func (c *Conn) Subflows() []tcp.ConnID {
	ids := make([]tcp.ConnID, 0, len(c.subflows))
	for _, sf := range c.subflows {
		if !sf.dead {
			ids = append(ids, sf.id)
		}
	}
	return ids
}

// Subflow returns the TCP connection of subflow id, for inspection.
func (c *Conn) Subflow(id tcp.ConnID) (*tcp.Conn, bool) {
	if sf := c.lookup(id); sf != nil {
		return sf.tc, true
	}
	return nil, false
}

// TSOSegs is the subflow of id's tcp.Conn.TSOSegs, or 0 if there is no
// such subflow (stack.TSOSizer).
func (c *Conn) TSOSegs(id tcp.ConnID) int {
	if sf := c.lookup(id); sf != nil {
		return sf.tc.TSOSegs()
	}
	return 0
}

func (c *Conn) lookup(id tcp.ConnID) *subflow {
	for _, sf := range c.subflows {
		if sf.id == id && !sf.dead {
			return sf
		}
	}
	return nil
}

// Write queues as much of p as the send buffer holds and returns how much
// it took. Data written before the handshake completes waits for it.
func (c *Conn) Write(p []byte) (int, error) {
	switch {
	case c.writeClosed:
		return 0, ErrClosed
	case c.err != nil:
		return 0, c.err
	case c.done:
		return 0, ErrClosed
	}
	n := min(len(p), c.cfg.SendBufferSize-(len(c.sbuf)-c.sOff))
	if n <= 0 {
		return 0, nil
	}
	c.sbuf = append(c.sbuf, p[:n]...)
	return n, nil
}

// WriteSpace is the room left in the send buffer.
func (c *Conn) WriteSpace() int { return c.cfg.SendBufferSize - (len(c.sbuf) - c.sOff) }

// Read copies received in-order data to p. It returns (0, nil) when none
// is available yet, io.EOF after the peer's DATA_FIN (or, after a
// fallback, FIN) once all data was read, and the connection's error after
// a failure.
func (c *Conn) Read(p []byte) (int, error) {
	n := copy(p, c.rbuf[c.rOff:])
	c.rOff += n
	if c.rOff == len(c.rbuf) {
		// Drained: keep a moderate buffer for what comes next; a
		// large one goes back to the pool (see rbufPool).
		c.rbuf, c.rOff = c.rbuf[:0], 0
		if cap(c.rbuf) > 256<<10 {
			b := c.rbuf
			rbufPool.Put(&b)
			c.rbuf = nil
		}
	}
	if n > 0 {
		c.tune.copied += n
		c.rcvAutoTune()
		c.pullAll()
		return n, nil
	}
	if c.rcvFin {
		return 0, io.EOF
	}
	if c.err != nil {
		return 0, c.err
	}
	return 0, nil
}

// Readable is the number of bytes Read can return now.
func (c *Conn) Readable() int { return len(c.rbuf) - c.rOff }

// CloseWrite sends a DATA_FIN after the queued data (RFC 8684 §3.3.3); the
// connection can still receive.
func (c *Conn) CloseWrite() error {
	if c.done {
		return ErrClosed
	}
	if !c.writeClosed {
		c.writeClosed = true
		c.finQueued = true
	}
	return nil
}

// Close closes the write side like CloseWrite and stops delivering data:
// data that arrives afterwards is acknowledged and discarded, so the peer
// can finish. The subflows close once both DATA_FINs are acknowledged.
func (c *Conn) Close() error {
	if c.done {
		return nil
	}
	c.readClosed = true
	c.rbuf, c.rOff = nil, 0
	c.ooo, c.oooBytes = nil, 0
	if !c.established {
		c.Abort()
		return nil
	}
	if c.closeDeadline.IsZero() && !c.closeSubs {
		c.closeArm = true // the next Poll starts Config.CloseTimeout
	}
	return c.CloseWrite()
}

// Abort ends the connection at once. An MPTCP connection is fast-closed
// (RFC 8684 §3.5): every subflow is reset with a RST that carries
// MP_FASTCLOSE with the peer's key and MP_TCPRST, as Linux does for a
// close with a zero linger time, so the peer's connection ends with a
// reset too. Before the keys are exchanged, or after a fallback, the
// subflows are reset plainly (with MP_TCPRST while MPTCP).
func (c *Conn) Abort() { c.abort(tcp.ErrAborted) }

func (c *Conn) abort(err error) {
	if c.done {
		return
	}
	c.fastClose = c.mptcp && !c.fallback && c.remoteKeyKnown
	c.resetAll(wire.TCPRSTUnspecified)
	c.fail(err)
}

// resetAll resets every live subflow.
func (c *Conn) resetAll(reason wire.TCPRSTReason) {
	for _, sf := range c.subflows {
		if !sf.dead {
			sf.rstReason = reason
			sf.tc.Abort()
		}
	}
}

func (c *Conn) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.writeClosed = true
}

// AddSubflow opens a subflow from local to remote with MP_JOIN
// (RFC 8684 §3.2), binding its 4-tuple through Config.Host (a zero port in
// local lets the host choose; a zero port in remote means the port of the
// initial subflow's peer, as for an ADD_ADDR without a port, §3.4.1). The
// SYN announces the address ID of local: 0 for the initial subflow's
// address, the ID Announce gave it, or else 1, 2, … for each new address.
// backup sets flag B. The subflow carries data after its fourth ACK
// (EventSubflowEstablished).
func (c *Conn) AddSubflow(now time.Time, local netip.AddrPort, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	if remote.Port() == 0 {
		remote = netip.AddrPortFrom(remote.Addr(), c.initialRemote().Port())
	}
	switch {
	case c.fallback:
		return tcp.ConnID{}, ErrFallback
	case !c.established || !c.mptcp || !c.remoteKeyKnown || c.mpcPhase || c.done || c.writeClosed && c.finAcked:
		return tcp.ConnID{}, ErrNotEstablished
	case c.cfg.Host == nil:
		return tcp.ConnID{}, ErrNoHost
	case c.liveSubflows() >= c.cfg.MaxSubflows:
		return tcp.ConnID{}, ErrTooManySubflows
	}
	if c.remoteDenyJoin && len(c.subflows) > 0 && remote == c.initialRemote() {
		return tcp.ConnID{}, ErrJoinDenied
	}
	if len(c.localIDs) >= 256 && c.findLocalID(local.Addr()) < 0 {
		return tcp.ConnID{}, ErrNoAddrID
	}
	var nonce [4]byte
	if _, err := io.ReadFull(c.cfg.Rand, nonce[:]); err != nil {
		return tcp.ConnID{}, fmt.Errorf("meta: MP_JOIN nonce: %w", err)
	}
	id, err := c.cfg.Host.BindSubflow(c, local, remote)
	if err != nil {
		return tcp.ConnID{}, err
	}
	sf := &subflow{c: c, id: id, active: true, join: true, backup: backup,
		localNonce: beUint32(nonce[:]), localID: c.localAddrID(id.Local.Addr()), remoteID: c.remoteAddrID(remote)}
	tc, err := tcp.Dial(now, c.subflowConfig(), id, sf)
	if err != nil {
		c.cfg.Host.UnbindSubflow(c, id)
		return tcp.ConnID{}, err
	}
	sf.tc = tc
	sf.iss = tc.ISS()
	sf.ackMax = sf.iss + 1
	c.subflows = append(c.subflows, sf)
	c.st.subflowsTotal++
	return id, nil
}

func beUint32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (c *Conn) initialRemote() netip.AddrPort {
	for _, sf := range c.subflows {
		if sf.initial {
			return sf.id.Remote
		}
	}
	return netip.AddrPort{}
}

// localAddrID returns the address ID of a local address: 0 for the initial
// subflow's, then 1, 2, … in order of first use (RFC 8684 §3.2: IDs
// identify addresses, not subflows). Callers check that an ID is free
// (ErrNoAddrID) before they need a new one.
func (c *Conn) localAddrID(a netip.Addr) uint8 {
	if i := c.findLocalID(a); i >= 0 {
		return uint8(i)
	}
	if len(c.localIDs) >= 256 {
		return 255
	}
	c.localIDs = append(c.localIDs, a)
	return uint8(len(c.localIDs) - 1)
}

func (c *Conn) findLocalID(a netip.Addr) int {
	for i, x := range c.localIDs {
		if x == a {
			return i
		}
	}
	return -1
}

func (c *Conn) liveSubflows() int {
	n := 0
	for _, sf := range c.subflows {
		if !sf.dead {
			n++
		}
	}
	return n
}

// Input processes a segment received on subflow id. It reports false when
// the connection has no such subflow (the stack answers it as for a
// closed port).
func (c *Conn) Input(now time.Time, id tcp.ConnID, seg *tcp.Segment) bool {
	var sf *subflow
	for _, s := range c.subflows {
		if s.id == id && !s.drained {
			sf = s
		}
	}
	if sf == nil {
		return false
	}
	c.now = now
	sf.tc.Input(now, seg)
	c.afterSubflow(sf)
	c.closeRequested()
	c.pullAll()
	c.progress()
	return true
}

// Poll fires the timers due at now, hands data to the subflows and returns
// the next segment to transmit and the subflow it belongs to. Call it until
// it returns false. The payload is written into buf when it has room; the
// MPTCP options alias memory of the Conn: encode the segment before the
// next call.
func (c *Conn) Poll(now time.Time, buf []byte) (tcp.ConnID, tcp.Segment, bool) {
	var seg tcp.Segment
	id, ok := c.PollInto(now, buf, &seg)
	return id, seg, ok
}

// PollInto is Poll writing the segment into *seg (as tcp.Conn.PollInto):
// a caller that keeps one Segment moves no segment-sized copies around.
func (c *Conn) PollInto(now time.Time, buf []byte, seg *tcp.Segment) (tcp.ConnID, bool) {
	c.now = now
	c.timers(now)
	c.schedule()
	n := len(c.subflows)
	for i := range n {
		k := (c.pollNext + i) % n
		sf := c.subflows[k]
		if sf.drained {
			continue
		}
		if sf.ackWanted {
			sf.ackWanted = false
			sf.tc.SendAck()
		}
		ok := sf.tc.PollInto(now, buf, seg)
		c.afterSubflow(sf)
		if ok {
			if len(seg.Payload) > 0 && (sf.hasSignals() && !sf.sigWait || c.finSub == sf && c.finSent && !c.finAcked) {
				// Data went first; the signals (or the DATA_FIN,
				// after the data of its subflow) need a pure ACK
				// of their own.
				sf.ackWanted = true
			}
			c.pollNext = k
			return sf.id, true
		}
		// A retired subflow stays until it has sent what it had
		// (its RST).
		sf.drained = sf.dead
	}
	c.pollNext = 0
	c.reap()
	c.progress()
	return tcp.ConnID{}, false
}

// LinkUp tells the engine that the link of local address a came back up:
// its subflows from a that wait out a retransmission timeout retransmit
// at the next Poll instead of at the end of their backed-off timeouts
// (tcp.Conn.RetransmitNow). It reports whether any did.
func (c *Conn) LinkUp(now time.Time, a netip.Addr) bool {
	c.now = now
	any := false
	for _, sf := range c.subflows {
		if !sf.dead && sf.id.Local.Addr() == a && sf.tc.RetransmitNow(now) {
			any = true
		}
	}
	return any
}

// NextDeadline is when Poll must next be called if nothing arrives.
func (c *Conn) NextDeadline() time.Time {
	var t time.Time
	take := func(x time.Time) {
		if !x.IsZero() && (t.IsZero() || x.Before(t)) {
			t = x
		}
	}
	for _, sf := range c.subflows {
		if !sf.dead {
			take(sf.tc.NextDeadline())
			take(sf.ack3At)
			if at := sf.silenceDeadline(); at.After(c.now) {
				take(at)
			}
			if sf.ackWanted {
				take(c.now)
			}
		}
	}
	take(c.rtoAt)
	if c.rxInfWait {
		take(c.failDeadline)
		take(c.failRetryAt)
	}
	if !c.done {
		take(c.closeDeadline)
		if c.closeArm {
			take(c.now)
		}
		for i := range c.announced {
			take(c.announced[i].nextAt)
		}
	}
	return t
}

// afterSubflow handles the events of a subflow after Input or Poll.
func (c *Conn) afterSubflow(sf *subflow) {
	if sf.lst != nil && sf.tc.State() != tcp.StateSynReceived {
		sf.lst.drain()
		sf.lst = nil
	}
	for {
		ev, ok := sf.tc.NextEvent()
		if !ok {
			break
		}
		switch ev.Kind {
		case tcp.EventChunkAcked:
			sf.chunkAcked(ev.ChunkID)
		case tcp.EventRTO:
			c.subflowRTO(sf, ev.Count)
		case tcp.EventReadable, tcp.EventEOF:
			c.pull(sf)
		case tcp.EventClosed:
			c.subflowClosed(sf, ev.Err)
		}
	}
}

// subflowClosed retires a subflow whose TCP connection reached CLOSED.
func (c *Conn) subflowClosed(sf *subflow, err error) {
	if sf.dead {
		return
	}
	c.pull(sf)
	sf.dead = true
	// Data it carried that the peer has not acknowledged at the data
	// level goes out again on the other subflows (RFC 8684 §3.3.6).
	c.reinjectFrom(sf, true)
	sf.tx, sf.txHead = nil, 0
	sf.maps, sf.stage = nil, nil
	sf.clearSignals()
	ev := sf.event(EventSubflowClosed)
	ev.Err = err
	ev.ResetSeen, ev.Reason, ev.Transient = sf.rstSeen, sf.rstRxReason, sf.rstRxTransient
	c.emit(ev)
	if sf.lst != nil {
		sf.lst.drain()
		sf.lst = nil
	}
	if c.liveSubflows() == 0 {
		c.allClosed(err)
	}
}

func (c *Conn) allClosed(err error) {
	orderly := c.rcvFin && c.finAcked || c.fallback && c.rcvFin && c.finSent && err == nil
	if !orderly && c.err == nil {
		if !c.established && err != nil {
			c.err = err
		} else {
			c.err = fmt.Errorf("%w: %w", ErrAllSubflowsFailed, errOrEOF(err))
		}
	}
	c.done = true
	c.writeClosed = true
	c.rtoAt = time.Time{}
	c.closeDeadline = time.Time{}
	c.announced = nil
	c.sbuf, c.sOff = nil, 0
	c.reinj = nil
	c.releaseToken()
	if c.estCounted {
		c.mib.add(MPCurrEstab, -1)
		c.estCounted = false
	}
	if c.lst != nil {
		c.lst.connGone(c)
		c.lst = nil
	}
	c.emit(Event{Kind: EventClosed, Err: c.err})
}

func errOrEOF(err error) error {
	if err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

// reap drops retired subflows from the list.
func (c *Conn) reap() {
	k := 0
	for _, sf := range c.subflows {
		if !sf.drained {
			c.subflows[k] = sf
			k++
		} else if c.cfg.Host != nil {
			// Unbound only now, so that segments still in flight
			// do not meet a listener before our RST left.
			c.cfg.Host.UnbindSubflow(c, sf.id)
		}
	}
	clear(c.subflows[k:])
	c.subflows = c.subflows[:k]
}

// progress runs the connection-level state machine after any change: the
// handshake's end, DATA_FIN, closing the subflows (RFC 8684 §3.3.3).
func (c *Conn) progress() {
	if c.done {
		return
	}
	if c.established && !c.closeSubs && c.writeClosed && c.rcvFin && (c.finAcked || c.fallback) && len(c.sbuf) == c.sOff {
		// Both DATA_FINs are acknowledged: close the subflows.
		c.closeSubs = true
		c.closeDeadline, c.closeArm = time.Time{}, false
		for _, sf := range c.subflows {
			if !sf.dead {
				// Quietly: a late segment carries data we have
				// (see tcp.Conn.CloseQuiet).
				sf.tc.CloseQuiet()
			}
		}
	}
}

// Event is something that happened to a connection. The fields follow
// Linux's mptcp_pm netlink events (MPTCP_EVENT_*), which path managers
// react to.
type Event struct {
	Kind EventKind
	ID   tcp.ConnID // the subflow, for subflow events
	Err  error      // EventSubflowClosed, EventClosed
	// LocalID and RemoteID are the address IDs of a subflow's ends for
	// subflow events (RFC 8684 §3.2); RemoteID is the peer's address ID
	// for EventAnnounced and EventRemoved.
	LocalID, RemoteID uint8
	// Backup: the subflow is a backup one, by our choice or the peer's
	// (subflow events; RFC 8684 §3.3.8).
	Backup bool
	// Addr is the address an EventAnnounced announces; a zero port means
	// the ADD_ADDR had none: the peer listens on the connection's port
	// (RFC 8684 §3.4.1), and AddSubflow takes a zero port that way.
	Addr netip.AddrPort
	// ResetSeen reports, for EventSubflowClosed, that the peer reset the
	// subflow with MP_TCPRST (RFC 8684 §3.6), whose Reason and T flag
	// (Transient) follow.
	ResetSeen bool
	Reason    wire.TCPRSTReason
	Transient bool
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	EventEstablished        EventKind = iota // the initial handshake completed (also as a fallback)
	EventFallback                            // the connection fell back to plain TCP (RFC 8684 §3.7)
	EventReadable                            // new data can be read
	EventEOF                                 // the peer's DATA_FIN (or FIN, after fallback) arrived in order
	EventWritable                            // send buffer space was freed
	EventSubflowEstablished                  // a subflow (ID) can carry data
	EventSubflowClosed                       // a subflow (ID) closed (Err: why)
	EventClosed                              // the connection ended (Err: why, nil after an orderly close)
	EventAnnounced                           // the peer announced an address (RemoteID, Addr) with ADD_ADDR (RFC 8684 §3.4.1)
	EventRemoved                             // the peer removed an address (RemoteID) with REMOVE_ADDR (RFC 8684 §3.4.2)
	EventSubflowPriority                     // the peer changed a subflow's priority (ID, Backup) with MP_PRIO (RFC 8684 §3.3.8)
)

var eventNames = [...]string{"established", "fallback", "readable", "eof", "writable", "subflow-established",
	"subflow-closed", "closed", "announced", "removed", "subflow-priority"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

const maxQueuedEvents = 256

func (c *Conn) emit(e Event) {
	pending := c.events[c.evHead:]
	switch e.Kind {
	case EventReadable, EventWritable:
		for i := range pending {
			if pending[i].Kind == e.Kind {
				return
			}
		}
	}
	if len(pending) >= maxQueuedEvents {
		return
	}
	c.events = append(c.events, e)
}

// NextEvent returns the oldest queued event.
func (c *Conn) NextEvent() (Event, bool) {
	if c.evHead >= len(c.events) {
		return Event{}, false
	}
	e := c.events[c.evHead]
	c.evHead++
	if c.evHead == len(c.events) {
		c.evHead = 0
		c.events = c.events[:0]
	}
	return e, true
}
