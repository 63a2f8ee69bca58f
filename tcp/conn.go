package tcp

import (
	"fmt"
	"io"
	"time"

	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/wire"
)

// Conn is one TCP connection (one MPTCP subflow). See the package
// documentation for how it is driven.
type Conn struct {
	cfg      *Config // normalized and shared: never written (see intern)
	hooks    Hooks
	sizer    DataOptionSizer // hooks, when they size data segments' options
	id       ConnID
	err      error
	listener *Listener // while accepted by a listener but not yet handed out

	// Time: the Conn keeps its times as int64 nanoseconds since base (see
	// clock); nowT and nowN are the time of the current call, both ways.
	base time.Time
	nowT time.Time
	nowN int64

	// Send sequence space (RFC 9293 §3.3.1).
	iss, sndUna, sndNxt uint32
	sndWnd, maxSndWnd   uint32 // scaled, bytes
	sndWl1, sndWl2      uint32
	rstSeq              uint32 // of the RST to send (rstPending)
	sndMSS              int    // largest segment (header-less) we send

	// Receive sequence space.
	irs, rcvNxt uint32
	rcvAdv      uint32 // right edge of the window we advertised
	// Loss recovery's RecoveryPoint (RFC 6675), "recover" (RFC 6582);
	// here so that the struct packs.
	recoveryPoint uint32
	rcvBufSize    int // current receive buffer, auto-tuned
	rcvMSSEst     int // largest payload received (Linux's rcv_mss)
	rcv           recvBuffer
	snd           sendBuffer

	// FIN handling.
	finSeq    uint32 // sequence number of our FIN once sent
	rcvFinSeq uint32 // where a FIN arrived out of order (rcvFinPending)

	// Timestamps (RFC 7323 §3, §4.3).
	tsOffset    uint32
	tsRecent    uint32
	tsRecentAge int64
	lastAckSent uint32

	roundEnd uint32 // SND.NXT when the current controller round began

	// ACK generation.
	dsack        wire.SACKBlock
	delackAt     int64
	unackedBytes int
	chAckStart   int64 // RFC 5961 §7 throttle window
	chAckCount   int

	// Handshake.
	synXmit    int64
	synRetrans int

	// RTT and retransmission timer (RFC 6298).
	srtt, rttvar, minRTT time.Duration
	rto                  time.Duration
	backoff              int
	rtoAt                int64 // retransmission timer (RFC 6298)
	reoAt                int64 // RACK reordering timer (RFC 8985 §6.2)
	ptoAt                int64 // tail loss probe timer (RFC 8985 §7)
	rtoCount             int   // consecutive RTOs

	// Transmitted segments (the retransmission queue).
	recs       []txRec
	recBox     *[]txRec // pool box the queue came in
	recHead    int
	pipe       int // RFC 6675 pipe, bytes
	lostCount  int // records lost and not yet retransmitted
	sackedSize int // bytes SACKed above SND.UNA
	sackedRecs int // records SACKed above SND.UNA

	// Loss recovery.
	dupAcks int
	nrCwnd  int // NewReno's inflated window in fast recovery
	rack    rackState
	tlp     tlpState

	// Zero-window probing and keepalive.
	persistAt      int64
	persistBackoff int
	keepAt         int64
	keepProbes     int
	lastRecv       int64
	twAt           int64 // TIME-WAIT or FIN-WAIT-2 deadline

	cc       cc.Controller
	ccMember *cc.Member
	round    uint64 // round trips counted for the controller

	tune autoTune

	events []Event
	evHead int

	st stats

	// Small fields, together so that they pack.
	state              State
	sndWScale          uint8 // shift applied to the peer's window field
	rcvWScale          uint8 // shift applied to ours
	rstReason          ResetReason
	recovery           recoveryState
	passive            bool // opened by a Listener
	wsOK, tsOK, sackOK bool
	noDelay, keepalive bool // Config's, changed by SetNoDelay and SetKeepalive
	finQueued, finSent bool
	rcvFinPending      bool // a FIN arrived out of order at rcvFinSeq
	rcvFin             bool // the peer's FIN was processed
	readClosed         bool // Close was called: data arriving now resets
	quietClose         bool // it was CloseQuiet: no reset for unread or later data
	closeOnEstablish   bool // Close called in SYN-RECEIVED
	ackNow             bool
	hasDSACK           bool
	windowUpdated      bool // a window update is due after Read
	rstPending         bool
	rstAck             bool // RST|ACK of our own connection, else <SEQ=SEG.ACK><CTL=RST>
	synPending         bool
	hasRTT             bool
	forceRetransmit    bool
	rescueDone         bool
	tlpNewData         bool // a PTO asks for a probe with new data
	tlpRetransmit      bool // a PTO asks for a probe retransmitting the last segment
	probePending       bool
	cwndUsed           bool // the window limited sending since the last ACK
}

// Dial starts an active open (RFC 9293 §3.10.1): the returned Conn is in
// SYN-SENT and its first Poll emits the SYN. hooks may be nil.
func Dial(now time.Time, cfg *Config, id ConnID, hooks Hooks) (*Conn, error) {
	c, err := newConn(now, cfg, id, hooks)
	if err != nil {
		return nil, err
	}
	c.state = StateSynSent
	c.synPending = true
	return c, nil
}

func newConn(now time.Time, cfg *Config, id ConnID, hooks Hooks) (*Conn, error) {
	n, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	return newConnNormalized(now, intern(&n), id, hooks)
}

// newConnNormalized makes a Conn with cfg, a normalized configuration it
// keeps and never modifies.
func newConnNormalized(now time.Time, cfg *Config, id ConnID, hooks Hooks) (*Conn, error) {
	if hooks == nil {
		hooks = NopHooks{}
	}
	c := &Conn{cfg: cfg, hooks: hooks, id: id, noDelay: cfg.NoDelay, keepalive: cfg.Keepalive}
	c.sizer, _ = hooks.(DataOptionSizer)
	c.base = now.Add(-1) // now is 1: times are positive, 0 means unset
	t := c.clock(now)
	_, tsOff := tupleHash(&cfg.ISNKey, id)
	c.iss = ISN(&cfg.ISNKey, id, now)
	c.tsOffset = tsOff
	c.sndUna, c.sndNxt = c.iss, c.iss+1
	c.rto = cfg.InitialRTO
	c.rcvBufSize = cfg.RecvBufferSize
	c.rcvWScale = 0
	if !cfg.DisableWindowScale {
		c.rcvWScale = wscaleFor(cfg.MaxRecvBufferSize)
	}
	c.sndMSS = defaultPeerMSS
	c.snd.limit = cfg.SendBufferSize
	c.snd.start = c.iss + 1
	if cfg.CCGroup != nil {
		c.ccMember = cfg.CCGroup.Join()
	}
	ctl, err := cc.New(cfg.CongestionControl, cc.Config{MSS: c.effMSS(), InitialWindow: cfg.InitialWindow, Member: c.ccMember})
	if err != nil {
		if c.ccMember != nil {
			c.ccMember.Leave()
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	c.cc = ctl
	c.lastRecv = t
	return c, nil
}

// ID returns the connection's 4-tuple.
func (c *Conn) ID() ConnID { return c.id }

// State returns the current state.
func (c *Conn) State() State { return c.state }

// Err returns why the connection ended, or nil (also after an orderly
// close). It is a *ResetError, ErrConnectionRefused or a timeout net.Error.
func (c *Conn) Err() error { return c.err }

// ISS returns the initial send sequence number; IRS the initial receive
// sequence number (valid once the peer's SYN arrived).
func (c *Conn) ISS() uint32 { return c.iss }
func (c *Conn) IRS() uint32 { return c.irs }

// ReadSeq is the sequence number of the next byte Read returns. The MPTCP
// layer maps it to the data sequence space with its DSS mappings.
func (c *Conn) ReadSeq() uint32 { return c.rcv.readSeq }

// RcvNxt is the next sequence number expected from the peer (RCV.NXT),
// the acknowledgment number of the next segment sent.
func (c *Conn) RcvNxt() uint32 { return c.rcvNxt }

// WriteSeq is the sequence number the next byte written will get.
func (c *Conn) WriteSeq() uint32 { return c.snd.end() }

// Write queues as much of p as the send buffer holds and returns how much
// it took. Writing is possible from SYN-SENT until Close or CloseWrite.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	return c.snd.write(p), nil
}

// WriteChunk queues p as one chunk tagged id, all or nothing (ErrBufferFull
// when it does not fit). Segments never span a chunk boundary, so every
// segment's payload lies in one chunk, which OutInfo names; an
// EventChunkAcked reports the chunk once all of it is cumulatively
// acknowledged. This is how MPTCP carries data-level mappings on a subflow.
func (c *Conn) WriteChunk(p []byte, id uint64) error {
	if err := c.writable(); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	if !c.snd.writeChunk(p, id) {
		return ErrBufferFull
	}
	return nil
}

func (c *Conn) writable() error {
	switch {
	case c.err != nil:
		return c.err
	case c.finQueued:
		return ErrClosed
	case c.state == StateSynSent || c.state == StateSynReceived || c.state == StateEstablished || c.state == StateCloseWait:
		return nil
	}
	return ErrNotConnected
}

// WriteNeedsPoll reports whether writing now could make a segment ready
// to send. It is false while a full-sized segment of unsent data is
// queued already: then the windows, not the data, hold sending back, and
// more data changes nothing Poll would do until an ACK or a timer does,
// so a caller that writes then need not Poll.
func (c *Conn) WriteNeedsPoll() bool { return int(c.snd.end()-c.sndNxt) < c.effMSS() }

// WriteSpace is the room left in the send buffer.
func (c *Conn) WriteSpace() int { return c.snd.free() }

// Buffered is the number of bytes queued and not yet acknowledged.
func (c *Conn) Buffered() int { return c.snd.n }

// Read copies received in-order bytes to p. It returns (0, nil) when no
// data is available yet, io.EOF after the peer's FIN once all data was
// read, and the connection's error after a reset.
func (c *Conn) Read(p []byte) (int, error) {
	n := c.rcv.read(p)
	if n > 0 {
		c.tune.copied += n
		c.maybeWindowUpdate()
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

// WindowUpdatePending reports whether a window update waits to be sent
// (RFC 9293 §3.8.6.2.2): Read makes one due when it opens the window
// enough. It is the only output Read can make necessary, so a caller
// that has just read need only Poll when this reports true.
func (c *Conn) WindowUpdatePending() bool { return c.windowUpdated }

// Readable is the number of bytes Read can return now.
func (c *Conn) Readable() int { return c.rcv.unread() }

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(on bool) { c.noDelay = on }

// SetKeepalive turns keepalive probes on or off (RFC 9293 §3.8.4).
func (c *Conn) SetKeepalive(on bool) {
	c.keepalive = on
	c.keepAt = 0
	c.keepProbes = 0
}

// CloseWrite sends a FIN after the queued data (half-close, RFC 9293
// §3.10.4); the connection can still receive.
func (c *Conn) CloseWrite() error {
	switch c.state {
	case StateSynSent:
		c.finQueued = true // sent once established
		return nil
	case StateSynReceived:
		c.finQueued = true
		c.closeOnEstablish = true
		return nil
	case StateEstablished:
		c.finQueued = true
		c.setState(StateFinWait1)
		return nil
	case StateCloseWait:
		c.finQueued = true
		c.setState(StateLastAck)
		return nil
	case StateFinWait1, StateFinWait2, StateClosing, StateLastAck, StateTimeWait:
		return nil
	}
	return ErrNotConnected
}

// Close closes both directions (RFC 9293 §3.10.4). Unread data, or data
// that arrives afterwards, makes it reset the connection instead (RFC 2525
// §2.17), as Linux does.
func (c *Conn) Close() error { return c.close(false) }

// CloseQuiet closes both directions like Close, FIN-WAIT-2 timeout
// included, but unread data and data that arrives afterwards are not
// answered with a reset: they stay readable, for an owner that has no use
// for them and discards them. An MPTCP subflow closes so once both
// DATA_FINs are acknowledged (RFC 8684 §3.3.3: with a FIN exchange): what
// it receives then is data the connection already has, such as the peer's
// retransmission of a segment whose data went again on another subflow.
func (c *Conn) CloseQuiet() error { return c.close(true) }

func (c *Conn) close(quiet bool) error {
	if c.state == StateClosed {
		return nil
	}
	if c.state == StateSynSent && c.snd.n == 0 {
		// RFC 9293 §3.10.4: nothing queued, delete the TCB.
		c.finish(nil)
		return nil
	}
	c.readClosed = true
	c.quietClose = c.quietClose || quiet
	if !c.quietClose && (c.rcv.unread() > 0 || len(c.rcv.ooo) > 0) {
		c.resetConn(ResetUnreadData)
		return nil
	}
	return c.CloseWrite()
}

// SendAck makes the next Poll emit a pure ACK (RFC 9293 §3.8.6.3: an
// acknowledgment may be sent at any time), which carries the options the
// Hooks add to it, unless a data segment, which acknowledges as much,
// goes first. The MPTCP layer uses it to signal DATA_ACKs, ADD_ADDR and
// the like. It has no effect before the handshake completes or after
// the connection closed.
func (c *Conn) SendAck() {
	if c.state.synchronized() {
		c.ackNow = true
	}
}

// SetCongestionControl switches the connection to the congestion
// controller registered as name (package cc), as Linux's TCP_CONGESTION
// socket option does on an open socket. The new controller starts from
// the current congestion window (in whole segments, at least one), in
// slow start: controllers own their windows, so its threshold and the
// state the old one had learnt do not carry over. A coupled controller
// joins the connection's group (Config.CCGroup), if any.
func (c *Conn) SetCongestionControl(name string) error {
	iw := 0
	if c.state.synchronized() && c.cc != nil {
		iw = max(c.cc.Cwnd()/max(c.effMSS(), 1), 1)
	}
	ctl, err := cc.New(name, cc.Config{MSS: c.effMSS(), InitialWindow: iw, Member: c.ccMember})
	if err != nil {
		return err
	}
	c.cfg.CongestionControl = name
	c.cc = ctl
	c.publishCC()
	return nil
}

// ConsecutiveRTOs is the number of retransmission timeouts in a row
// without an acknowledgment of new data, the count Config.Retries bounds
// (Linux's icsk_retransmits).
func (c *Conn) ConsecutiveRTOs() int { return c.rtoCount }

// RetransmitNow ends the wait of a backed-off retransmission timeout at
// once: for a connection that has timed out at least once in a row (its
// path failed) when the local link it uses comes back up. The timer fires
// at the next Poll; if the path works again, the retransmission is
// acknowledged a round trip later instead of after the rest of an
// exponentially backed-off timeout (RFC 6298 §5.5 backs the timer off for
// a path whose state is unknown; a link that came up is known to have
// changed). It reports whether the connection was waiting so.
func (c *Conn) RetransmitNow(now time.Time) bool {
	if c.rtoCount == 0 || c.rtoAt == 0 || len(c.outstanding()) == 0 {
		return false
	}
	c.rtoAt = c.clock(now)
	return true
}

// SilentSince reports since when the connection, with two or more
// segments outstanding, has received no acknowledgment at all (not even a
// duplicate one): the latest of the last ACK's arrival and the last
// transmissions of the two oldest outstanding segments. The zero Time when
// fewer than two segments are outstanding. A receiver acknowledges at
// least every second full-sized segment at once (RFC 9293 §3.8.6.3), so on
// a working path an ACK follows within about a round trip; a silence of
// several round trips is the first sign of a path that died, well before
// the retransmission timer (RFC 6298) fires.
func (c *Conn) SilentSince() time.Time {
	out := c.outstanding()
	if len(out) < 2 {
		return time.Time{}
	}
	return c.timeAt(max(c.st.lastAckRecv, out[0].xmit, out[1].xmit))
}

// LikelyHole guesses, once the path has gone silent (no acknowledgment
// for a while with data in flight), the first outstanding byte the peer
// lacks. The acknowledgments the peer sent in the last one-way delay
// before the silence died with the path, so it likely received more than
// it acknowledged: what was sent up to one one-way delay (half the minimum
// RTT) after the oldest data the last acknowledgment could cover (sent an
// SRTT before it arrived). The guess keeps a fifth of that one-way delay
// on the early side. It returns the sequence number of the first
// outstanding segment, not SACKed, sent at or after that time, and false
// when that is the oldest outstanding one (nothing to gain), when there is
// none, or before an RTT sample.
func (c *Conn) LikelyHole() (uint32, bool) {
	out := c.outstanding()
	if len(out) == 0 || c.srtt <= 0 || c.minRTT <= 0 || c.st.lastAckRecv == 0 {
		return 0, false
	}
	cutoff := c.st.lastAckRecv - int64(c.srtt) + int64(c.minRTT)*2/5
	for i := range out {
		if out[i].xmit >= cutoff && out[i].flags&recSacked == 0 {
			if i == 0 {
				return 0, false
			}
			return out[i].seq, true
		}
	}
	return 0, false
}

// SmoothedRTT returns the RTT estimator's SRTT and RTTVAR (RFC 6298 §2);
// zero before the first sample.
func (c *Conn) SmoothedRTT() (srtt, rttvar time.Duration) { return c.srtt, c.rttvar }

// TSOSegs is how many full-sized segments of a burst may go out together
// as one super-packet through a NIC with segmentation offload, as Linux
// sizes them (tcp_tso_autosize): about 1 ms of data at the pacing rate
// (Info's PacingRate: cwnd/SRTT, twice that in slow start and 1.2 times
// after, unless the controller sets one), plus, on short paths, up to 64 KiB halved for every 512 µs
// of minimum RTT; at least 2, and at most what 64 KiB holds. A sender that
// does not pace otherwise keeps its bursts short on slow paths this way,
// and sends the largest super-packets where they pay, on fast short ones.
// Before the first RTT sample it is 2.
func (c *Conn) TSOSegs() int {
	const maxGSO = 65536
	mss := c.effMSS()
	if c.srtt <= 0 || mss <= 0 {
		return 2
	}
	bytes := int(c.pacingRate() >> 10) // Linux's sk_pacing_shift of 10: about 1 ms
	if r := c.minRTT.Microseconds() >> 9; r < 31 {
		bytes += maxGSO >> r
	}
	return max(min(bytes, maxGSO)/mss, 2)
}

// Abort resets the connection (RFC 9293 §3.10.5).
func (c *Conn) Abort() {
	switch c.state {
	case StateClosed:
	case StateSynSent, StateTimeWait:
		c.finish(&ResetError{Sent: true, Reason: ResetAbort, State: c.state})
	default:
		c.resetConn(ResetAbort)
	}
}

// resetConn queues a RST for a synchronized connection and closes it.
func (c *Conn) resetConn(reason ResetReason) {
	c.rstPending = true
	c.rstSeq = c.sndNxt
	c.rstReason = reason
	c.rstAck = true
	c.emit(Event{Kind: EventResetSent, Reason: reason})
	c.finish(&ResetError{Sent: true, Reason: reason, State: c.state})
}

func (c *Conn) setState(s State) {
	if c.state == s {
		return
	}
	prev := c.state
	c.state = s
	switch s {
	case StateEstablished:
		if prev == StateSynSent || prev == StateSynReceived {
			c.emit(Event{Kind: EventEstablished})
			if c.listener != nil {
				c.listener.established(c)
			}
		}
	case StateTimeWait:
		c.emit(Event{Kind: EventTimeWait})
	}
}

// finish moves to CLOSED, releasing everything. A pending RST is still
// emitted by the next Poll.
func (c *Conn) finish(err error) {
	if c.state == StateClosed {
		return
	}
	if c.err == nil {
		c.err = err
	}
	if c.listener != nil {
		c.listener.childClosed(c)
	}
	c.state = StateClosed
	c.snd.release()
	c.snd.n = 0
	c.snd.chunks, c.snd.chunkHead = nil, 0
	c.releaseRecs()
	c.pipe, c.lostCount, c.sackedSize, c.sackedRecs = 0, 0, 0, 0
	c.rtoAt, c.reoAt, c.ptoAt = 0, 0, 0
	c.delackAt, c.persistAt, c.keepAt, c.twAt = 0, 0, 0, 0
	c.ackNow, c.synPending, c.probePending = false, false, false
	if c.rcv.unread() == 0 {
		c.rcv.release()
	}
	c.rcv.ooo = nil
	if c.ccMember != nil {
		c.ccMember.Leave()
		c.ccMember = nil
	}
	c.emit(Event{Kind: EventClosed, Err: c.err})
}

// tsNow is our TSval clock at t: milliseconds (of Unix time) plus the
// per-connection offset (RFC 7323 §5.4).
func (c *Conn) tsNow(t int64) uint32 {
	if t == c.nowN {
		return c.tsOffset + uint32(c.nowT.UnixMilli())
	}
	return c.tsOffset + uint32(c.timeAt(t).UnixMilli())
}

// tsTime converts an echoed TSval of ours back to a time.
func (c *Conn) tsTime(ecr uint32, now int64) (int64, bool) {
	d := int32(c.tsNow(now) - ecr)
	if d < 0 {
		return 0, false
	}
	return now - int64(d)*int64(time.Millisecond), true
}

// effMSS is the payload size of a full data segment: the send MSS less the
// fixed options (timestamps) and the space reserved for hooks.
func (c *Conn) effMSS() int {
	m := c.sndMSS
	if c.tsOK {
		m -= 12 // RFC 7323 §3.2, aligned with two NOPs
	}
	m -= c.cfg.OptionReserve
	return max(m, minMSS/2)
}
