package tcp

import (
	"fmt"
	"time"
)

// Listener is a passive open (RFC 9293 §3.10.7.2): it turns valid SYNs for
// its port into connections in SYN-RECEIVED, up to a backlog of
// connections not yet handed out by Accept.
type Listener struct {
	cfg     *Config // normalized, shared with the connections it makes
	port    uint16
	backlog int
	pending int     // children in SYN-RECEIVED
	ready   []*Conn // established, waiting for Accept
	onSYN   func(id ConnID, seg *Segment) (Verdict, Hooks)
	onSYNC  func(id ConnID, seg *Segment) (Verdict, Hooks, *Config)

	// Counters.
	synDropped int // SYNs dropped because the backlog was full or a hook said so
}

// NewListener returns a listener for port with the given backlog (> 0).
func NewListener(cfg *Config, port uint16, backlog int) (*Listener, error) {
	n, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	if backlog <= 0 {
		return nil, fmt.Errorf("%w: backlog %d must be positive", ErrInvalidConfig, backlog)
	}
	return &Listener{cfg: intern(&n), port: port, backlog: backlog}, nil
}

// SetSYNHook installs a function that sees every SYN before a connection is
// created for it. It can accept it (and give the new connection its
// Hooks), drop it, or answer it with a RST (e.g. MPTCP rejecting an
// MP_JOIN for an unknown token).
// It replaces a hook installed with SetSYNConfigHook.
func (l *Listener) SetSYNHook(fn func(id ConnID, seg *Segment) (Verdict, Hooks)) {
	l.onSYN, l.onSYNC = fn, nil
}

// SetSYNConfigHook is SetSYNHook with a per-connection configuration: when
// fn accepts a SYN and returns a non-nil *Config, the new connection uses
// it instead of the listener's (MPTCP gives each passive subflow the
// congestion-control group of its connection that way). The listener's
// configuration still decides the port and the backlog. A configuration
// that does not validate drops the SYN. It replaces a hook installed with
// SetSYNHook.
func (l *Listener) SetSYNConfigHook(fn func(id ConnID, seg *Segment) (Verdict, Hooks, *Config)) {
	l.onSYN, l.onSYNC = nil, fn
}

// Port is the listening port.
func (l *Listener) Port() uint16 { return l.port }

// Input processes a segment for the listening port, from the peer of id.
// It returns the new connection for a SYN it accepted (already holding
// the SYN-ACK for its first Poll), or a reply to transmit (a RST), or
// neither.
func (l *Listener) Input(now time.Time, id ConnID, seg *Segment) (c *Conn, reply Segment, hasReply bool) {
	switch {
	case seg.Flags&FlagRST != 0:
		return nil, Segment{}, false // first: ignore a RST
	case seg.Flags&FlagACK != 0:
		// Second: an ACK to a listener is bad: <SEQ=SEG.ACK><CTL=RST>.
		r, ok := ResetFor(seg)
		return nil, r, ok
	case seg.Flags&FlagSYN == 0:
		return nil, Segment{}, false // fourth: drop anything else
	}
	if l.pending+len(l.ready) >= l.backlog {
		l.synDropped++
		return nil, Segment{}, false
	}
	var hooks Hooks
	cfg := l.cfg
	if l.onSYN != nil || l.onSYNC != nil {
		var v Verdict
		var own *Config
		if l.onSYNC != nil {
			v, hooks, own = l.onSYNC(id, seg)
		} else {
			v, hooks = l.onSYN(id, seg)
		}
		switch v {
		case Drop:
			l.synDropped++
			return nil, Segment{}, false
		case Reset:
			l.synDropped++
			r, ok := ResetFor(seg)
			return nil, r, ok
		}
		if own != nil {
			n, err := own.normalized()
			if err != nil {
				l.synDropped++
				return nil, Segment{}, false
			}
			cfg = intern(&n)
		}
	}
	c, err := newConnNormalized(now, cfg, id, hooks)
	if err != nil {
		// The configuration was validated (by NewListener, or just
		// above); only the congestion controller can fail here, and
		// that equally fails every SYN. Drop.
		l.synDropped++
		return nil, Segment{}, false
	}
	// Third: the SYN. RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, send
	// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. Data on the SYN is not
	// kept; the peer retransmits it after the handshake.
	c.passive = true
	c.listener = l
	c.irs = seg.Seq
	c.rcvNxt = seg.Seq + 1
	c.rcv.readSeq, c.rcv.nxt = c.rcvNxt, c.rcvNxt
	c.rcvAdv = c.rcvNxt + uint32(min(c.rcvBufSize, 65535)) // the window our SYN-ACK offers
	c.negotiate(&seg.Options, cfg.DisableWindowScale, cfg.DisableTimestamps, cfg.DisableSACK)
	if c.tsOK {
		c.tsRecent, c.tsRecentAge = seg.Options.TSVal, c.nowN
	}
	c.sndWnd = uint32(seg.Window) // unscaled in a SYN (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1 = seg.Seq
	c.state = StateSynReceived
	c.synPending = true
	l.pending++
	return c, Segment{}, false
}

// Accept returns an established connection, oldest first.
func (l *Listener) Accept() (*Conn, bool) {
	if len(l.ready) == 0 {
		return nil, false
	}
	c := l.ready[0]
	copy(l.ready, l.ready[1:])
	l.ready[len(l.ready)-1] = nil
	l.ready = l.ready[:len(l.ready)-1]
	c.listener = nil
	return c, true
}

// Pending is the number of connections in SYN-RECEIVED; Ready the number
// waiting for Accept.
func (l *Listener) Pending() int { return l.pending }
func (l *Listener) Ready() int   { return len(l.ready) }

// SYNsDropped counts SYNs dropped for a full backlog or by the SYN hook.
func (l *Listener) SYNsDropped() int { return l.synDropped }

func (l *Listener) established(c *Conn) {
	l.pending--
	l.ready = append(l.ready, c)
}

func (l *Listener) childClosed(c *Conn) {
	for i, x := range l.ready {
		if x == c {
			copy(l.ready[i:], l.ready[i+1:])
			l.ready[len(l.ready)-1] = nil
			l.ready = l.ready[:len(l.ready)-1]
			c.listener = nil
			return
		}
	}
	if c.state == StateSynReceived {
		l.pending--
	}
	c.listener = nil
}

// ResetFor returns the RST that answers seg when no connection exists
// for it (RFC 9293 §3.10.7.1): <SEQ=SEG.ACK><CTL=RST> if seg has an ACK,
// otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A RST is never
// answered (false).
func ResetFor(seg *Segment) (Segment, bool) {
	if seg.Flags&FlagRST != 0 {
		return Segment{}, false
	}
	r := Segment{SrcPort: seg.DstPort, DstPort: seg.SrcPort}
	if seg.Flags&FlagACK != 0 {
		r.Seq = seg.Ack
		r.Flags = FlagRST
	} else {
		r.Ack = seg.Seq + seg.Len()
		r.Flags = FlagRST | FlagACK
	}
	return r, true
}
