package tcp

import (
	"math"
	"time"
)

// A Conn keeps its times (timer deadlines, when things happened) as int64
// nanoseconds since c.base, a moment just before the connection was
// made: comparing and adding int64s is much cheaper than doing the same
// with time.Time, and 0 can stand for "not set" (a timer not armed).
// Differences are taken with time.Time.Sub, so the monotonic clock
// reading is used when the caller's times have one.

// clock converts now, the time of a call into the Conn, to the Conn's
// time and remembers it as the current time (nowT, nowN). Times before
// the connection was made become 1.
func (c *Conn) clock(now time.Time) int64 {
	if now == c.nowT && c.nowN != 0 {
		return c.nowN
	}
	var d int64
	if ds := now.Unix() - c.base.Unix(); ds > -1<<32 && ds < 1<<32 && now == now.Round(0) {
		// No monotonic reading: now.Sub(c.base) would take the
		// difference of the wall clocks too, several times slower.
		d = ds*int64(time.Second) + int64(now.Nanosecond()-c.base.Nanosecond())
	} else {
		d = int64(now.Sub(c.base))
	}
	t := max(d, 1)
	c.nowT, c.nowN = now, t
	return t
}

// timeAt converts a time of the Conn back to a time.Time (the zero Time
// for 0).
func (c *Conn) timeAt(t int64) time.Time {
	switch t {
	case 0:
		return time.Time{}
	case c.nowN:
		return c.nowT
	}
	return c.base.Add(time.Duration(t))
}

// later returns t+d, saturating: a timer armed far enough in the future
// never fires rather than wrapping around.
func later(t int64, d time.Duration) int64 {
	if d > 0 && t > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return max(t+int64(d), 1)
}

// due reports whether timer t is armed and expired at now.
func due(t, now int64) bool { return t != 0 && t <= now }

// rttSample feeds a round-trip time measurement to the RFC 6298 §2
// estimator and recomputes the RTO (undoing any backoff: Karn's algorithm
// only samples unambiguous ACKs, RFC 6298 §5 note).
func (c *Conn) rttSample(r time.Duration) {
	if r <= 0 {
		r = time.Microsecond
	}
	if !c.hasRTT {
		// RFC 6298 §2.2.
		c.srtt = r
		c.rttvar = r / 2
		c.hasRTT = true
	} else {
		// RFC 6298 §2.3, α = 1/8, β = 1/4.
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	if c.minRTT == 0 || r < c.minRTT {
		c.minRTT = r
	}
	c.st.lastRTT = r
	c.backoff = 0
	c.rto = c.computeRTO()
}

// clockGranularity is G of RFC 6298 §2.
const clockGranularity = time.Millisecond

// computeRTO is RFC 6298 §2: SRTT + max(G, 4*RTTVAR), within [MinRTO,
// MaxRTO] (§2.4, §2.5), then doubled per backoff (§5.5). As in Linux
// (tcp_rtt_estimator's mdev_max), the variance term is at least MinRTO:
// on a steady path RTTVAR decays to almost nothing, and SRTT plus a few
// milliseconds would fire a spurious timeout in every recovery on long
// RTTs. RFC 6298 §2.4 allows an RTO above the formula's.
func (c *Conn) computeRTO() time.Duration {
	rto := c.cfg.InitialRTO
	if c.hasRTT {
		rto = c.srtt + max(clockGranularity, 4*c.rttvar, c.cfg.MinRTO)
	}
	rto = max(rto, c.cfg.MinRTO)
	for i := 0; i < c.backoff && rto < c.cfg.MaxRTO; i++ {
		rto *= 2
	}
	return min(rto, c.cfg.MaxRTO)
}

// backoffRTO doubles the RTO after a timeout (RFC 6298 §5.5).
func (c *Conn) backoffRTO() {
	c.backoff++
	c.rto = c.computeRTO()
}

// NextDeadline is when the connection next needs Poll if nothing else
// happens: the earliest of its timers, or the zero time when none is armed.
// Input and the application calls (Write, Read, Close, …) can make output
// ready at once: call Poll after them.
func (c *Conn) NextDeadline() time.Time {
	return c.timeAt(c.nextDeadline())
}

// nextDeadline is NextDeadline in the Conn's time, 0 for none.
func (c *Conn) nextDeadline() int64 {
	// Times are positive, so t-1 taken as unsigned puts an unarmed timer
	// (0) last, and the minimum needs no branches.
	d := min(uint64(c.rtoAt-1), uint64(c.reoAt-1), uint64(c.ptoAt-1), uint64(c.delackAt-1),
		uint64(c.persistAt-1), uint64(c.keepAt-1), uint64(c.twAt-1))
	return int64(d + 1)
}

// runTimers fires every timer that expired at now.
func (c *Conn) runTimers(now int64) {
	if d := c.nextDeadline(); d == 0 || d > now {
		return // the common case: nothing is due
	}
	if due(c.twAt, now) {
		c.twAt = 0
		switch c.state {
		case StateTimeWait:
			c.finish(nil)
			return
		case StateFinWait2:
			// FIN-WAIT-2 timeout after a full Close, as Linux's
			// tcp_fin_timeout: give up on the peer's FIN.
			c.finish(nil)
			return
		}
	}
	if due(c.ptoAt, now) {
		// A PTO capped at the RTO expiry is still a probe (RFC 8985
		// §7.2); onPTO re-arms the RTO.
		c.onPTO(now)
	}
	if due(c.rtoAt, now) {
		c.onRTO(now)
		if c.state == StateClosed {
			return
		}
	}
	if due(c.reoAt, now) {
		c.onReorderTimeout(now)
	}
	if due(c.delackAt, now) {
		c.delackAt = 0
		c.ackNow = true
	}
	if due(c.persistAt, now) {
		c.persistAt = 0
		if c.sndWnd == 0 && len(c.outstanding()) == 0 && c.snd.end() != c.sndNxt {
			c.probePending = true
			c.st.windowProbes++
			c.persistBackoff++
		}
	}
	if due(c.keepAt, now) {
		c.keepAt = 0
		c.onKeepalive(now)
	}
}

// armTimers re-arms the timers that depend on what is outstanding, after
// output: RTO (RFC 6298 §5.1), persist (RFC 9293 §3.8.6.1), keepalive.
func (c *Conn) armTimers(now int64) {
	if len(c.outstanding()) > 0 {
		if c.rtoAt == 0 {
			c.rtoAt = later(now, c.rto)
		}
	} else if c.state.synchronized() {
		c.rtoAt = 0
	}
	// Persist: data waits, the peer's window is closed and nothing is in
	// flight to elicit the ACK that would open it.
	if c.state.canSendData() && c.sndWnd == 0 && len(c.outstanding()) == 0 && c.snd.end() != c.sndNxt {
		if c.persistAt == 0 {
			c.persistAt = later(now, c.persistInterval())
		}
	} else {
		c.persistAt = 0
	}
	if c.state == StateFinWait2 && c.readClosed && c.twAt == 0 {
		c.twAt = later(now, c.cfg.FinWait2Timeout)
	}
	if c.keepalive && (c.state == StateEstablished || c.state == StateCloseWait) {
		if c.keepAt == 0 {
			if c.keepProbes > 0 {
				c.keepAt = later(now, c.cfg.KeepaliveInterval)
			} else {
				c.keepAt = later(c.lastRecv, c.cfg.KeepaliveIdle)
			}
		}
	} else {
		c.keepAt = 0
	}
}

// persistInterval is the zero-window probe interval: the RTO, backed off
// exponentially per unanswered probe, within [MinRTO, MaxRTO].
func (c *Conn) persistInterval() time.Duration {
	d := max(c.computeRTONoBackoff(), c.cfg.MinRTO)
	for i := 0; i < c.persistBackoff && d < c.cfg.MaxRTO; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxRTO)
}

func (c *Conn) computeRTONoBackoff() time.Duration {
	b := c.backoff
	c.backoff = 0
	d := c.computeRTO()
	c.backoff = b
	return d
}

// onKeepalive sends a keepalive probe, or gives up (RFC 9293 §3.8.4,
// RFC 1122 §4.2.3.6).
func (c *Conn) onKeepalive(now int64) {
	if !c.keepalive || (c.state != StateEstablished && c.state != StateCloseWait) {
		return
	}
	idle := time.Duration(now - c.lastRecv)
	if c.keepProbes == 0 && idle < c.cfg.KeepaliveIdle {
		c.keepAt = later(c.lastRecv, c.cfg.KeepaliveIdle)
		return
	}
	if len(c.outstanding()) > 0 || c.snd.end() != c.sndNxt {
		// Data is pending: the retransmission timer watches the peer.
		c.keepAt = later(now, c.cfg.KeepaliveInterval)
		return
	}
	if c.keepProbes >= c.cfg.KeepaliveCount {
		c.finish(&timeoutError{what: "keepalive"})
		return
	}
	c.keepProbes++
	c.st.keepaliveProbes++
	c.probePending = true
	c.keepAt = later(now, c.cfg.KeepaliveInterval)
}
