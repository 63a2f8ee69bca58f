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
	cfg      Config
	hooks    Hooks
	id       ConnID
	state    State
	err      error
	listener *Listener // while accepted by a listener but not yet handed out
	passive  bool      // opened by a Listener

	// Send sequence space (RFC 9293 §3.3.1).
	iss, sndUna, sndNxt uint32
	sndWnd, maxSndWnd   uint32 // scaled, bytes
	sndWl1, sndWl2      uint32
	sndWScale           uint8 // shift applied to the peer's window field
	rcvWScale           uint8 // shift applied to ours
	wsOK, tsOK, sackOK  bool
	sndMSS              int // largest segment (header-less) we send

	// Receive sequence space.
	irs, rcvNxt uint32
	rcvAdv      uint32 // right edge of the window we advertised
	rcvBufSize  int    // current receive buffer, auto-tuned
	rcvMSSEst   int    // largest payload received (Linux's rcv_mss)
	rcv         recvBuffer
	snd         sendBuffer

	// FIN handling.
	finQueued, finSent bool
	finSeq             uint32 // sequence number of our FIN once sent
	rcvFinPending      bool   // a FIN arrived out of order at rcvFinSeq
	rcvFinSeq          uint32
	rcvFin             bool // the peer's FIN was processed
	readClosed         bool // Close was called: data arriving now resets
	closeOnEstablish   bool // Close called in SYN-RECEIVED

	// Timestamps (RFC 7323 §3, §4.3).
	tsOffset    uint32
	tsRecent    uint32
	tsRecentAge time.Time
	lastAckSent uint32

	// ACK generation.
	ackNow        bool
	delackAt      time.Time
	unackedBytes  int
	hasDSACK      bool
	dsack         wire.SACKBlock
	chAckStart    time.Time // RFC 5961 §7 throttle window
	chAckCount    int
	windowUpdated bool // a window update is due after Read

	// RST to send.
	rstPending bool
	rstSeq     uint32
	rstReason  ResetReason
	rstAck     bool // RST|ACK of our own connection, else <SEQ=SEG.ACK><CTL=RST>

	// Handshake.
	synPending bool
	synXmit    time.Time
	synRetrans int

	// RTT and retransmission timer (RFC 6298).
	srtt, rttvar, minRTT time.Duration
	hasRTT               bool
	rto                  time.Duration
	backoff              int
	rtoAt                time.Time // retransmission timer (RFC 6298)
	reoAt                time.Time // RACK reordering timer (RFC 8985 §6.2)
	ptoAt                time.Time // tail loss probe timer (RFC 8985 §7)
	rtoCount             int       // consecutive RTOs

	// Transmitted segments (the retransmission queue).
	recs       []txRec
	recBox     *[]txRec // pool box the queue came in
	recHead    int
	pipe       int // RFC 6675 pipe, bytes
	lostCount  int // records lost and not yet retransmitted
	sackedSize int // bytes SACKed above SND.UNA

	// Loss recovery.
	recovery        recoveryState
	recoveryPoint   uint32
	dupAcks         int
	nrCwnd          int // NewReno's inflated window in fast recovery
	forceRetransmit bool
	rescueDone      bool
	rack            rackState
	tlp             tlpState
	tlpNewData      bool // a PTO asks for a probe with new data
	tlpRetransmit   bool // a PTO asks for a probe retransmitting the last segment

	// Zero-window probing and keepalive.
	persistAt      time.Time
	persistBackoff int
	probePending   bool
	keepAt         time.Time
	keepProbes     int
	lastRecv       time.Time
	twAt           time.Time // TIME-WAIT or FIN-WAIT-2 deadline

	cc       cc.Controller
	ccMember *cc.Member
	cwndUsed bool   // the window limited sending since the last ACK
	round    uint64 // round trips counted for the controller
	roundEnd uint32 // SND.NXT when the current round began

	tune autoTune

	events []Event
	evHead int

	out Segment // the segment being built

	st stats
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
	return newConnNormalized(now, &n, id, hooks)
}

func newConnNormalized(now time.Time, cfg *Config, id ConnID, hooks Hooks) (*Conn, error) {
	if hooks == nil {
		hooks = NopHooks{}
	}
	c := &Conn{cfg: *cfg, hooks: hooks, id: id}
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
	c.lastRecv = now
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

// Readable is the number of bytes Read can return now.
func (c *Conn) Readable() int { return c.rcv.unread() }

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(on bool) { c.cfg.NoDelay = on }

// SetKeepalive turns keepalive probes on or off (RFC 9293 §3.8.4).
func (c *Conn) SetKeepalive(on bool) {
	c.cfg.Keepalive = on
	c.keepAt = time.Time{}
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
func (c *Conn) Close() error {
	if c.state == StateClosed {
		return nil
	}
	if c.state == StateSynSent && c.snd.n == 0 {
		// RFC 9293 §3.10.4: nothing queued, delete the TCB.
		c.finish(nil)
		return nil
	}
	c.readClosed = true
	if c.rcv.unread() > 0 || len(c.rcv.ooo) > 0 {
		c.resetConn(ResetUnreadData)
		return nil
	}
	return c.CloseWrite()
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
	c.pipe, c.lostCount, c.sackedSize = 0, 0, 0
	c.rtoAt, c.reoAt, c.ptoAt = time.Time{}, time.Time{}, time.Time{}
	c.delackAt, c.persistAt, c.keepAt, c.twAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
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

// tsNow is our TSval clock: milliseconds plus the per-connection offset
// (RFC 7323 §5.4).
func (c *Conn) tsNow(now time.Time) uint32 {
	return c.tsOffset + uint32(now.UnixMilli())
}

// tsTime converts an echoed TSval of ours back to a time.
func (c *Conn) tsTime(ecr uint32, now time.Time) (time.Time, bool) {
	d := int32(c.tsNow(now) - ecr)
	if d < 0 {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(d) * time.Millisecond), true
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
