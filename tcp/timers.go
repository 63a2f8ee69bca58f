package tcp

import "time"

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
// MaxRTO] (§2.4, §2.5), then doubled per backoff (§5.5).
func (c *Conn) computeRTO() time.Duration {
	rto := c.cfg.InitialRTO
	if c.hasRTT {
		rto = c.srtt + max(clockGranularity, 4*c.rttvar)
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
	var d time.Time
	for _, t := range [...]time.Time{c.rtoAt, c.reoAt, c.ptoAt, c.delackAt, c.persistAt, c.keepAt, c.twAt} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// runTimers fires every timer that expired at now.
func (c *Conn) runTimers(now time.Time) {
	due := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	if due(c.twAt) {
		c.twAt = time.Time{}
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
	if due(c.ptoAt) {
		// A PTO capped at the RTO expiry is still a probe (RFC 8985
		// §7.2); onPTO re-arms the RTO.
		c.onPTO(now)
	}
	if due(c.rtoAt) {
		c.onRTO(now)
		if c.state == StateClosed {
			return
		}
	}
	if due(c.reoAt) {
		c.onReorderTimeout(now)
	}
	if due(c.delackAt) {
		c.delackAt = time.Time{}
		c.ackNow = true
	}
	if due(c.persistAt) {
		c.persistAt = time.Time{}
		if c.sndWnd == 0 && len(c.outstanding()) == 0 && c.snd.end() != c.sndNxt {
			c.probePending = true
			c.st.windowProbes++
			c.persistBackoff++
		}
	}
	if due(c.keepAt) {
		c.keepAt = time.Time{}
		c.onKeepalive(now)
	}
}

// armTimers re-arms the timers that depend on what is outstanding, after
// output: RTO (RFC 6298 §5.1), persist (RFC 9293 §3.8.6.1), keepalive.
func (c *Conn) armTimers(now time.Time) {
	if len(c.outstanding()) > 0 {
		if c.rtoAt.IsZero() {
			c.rtoAt = now.Add(c.rto)
		}
	} else if c.state.synchronized() {
		c.rtoAt = time.Time{}
	}
	// Persist: data waits, the peer's window is closed and nothing is in
	// flight to elicit the ACK that would open it.
	if c.state.canSendData() && c.sndWnd == 0 && len(c.outstanding()) == 0 && c.snd.end() != c.sndNxt {
		if c.persistAt.IsZero() {
			c.persistAt = now.Add(c.persistInterval())
		}
	} else {
		c.persistAt = time.Time{}
	}
	if c.state == StateFinWait2 && c.readClosed && c.twAt.IsZero() {
		c.twAt = now.Add(c.cfg.FinWait2Timeout)
	}
	if c.cfg.Keepalive && (c.state == StateEstablished || c.state == StateCloseWait) {
		if c.keepAt.IsZero() {
			if c.keepProbes > 0 {
				c.keepAt = now.Add(c.cfg.KeepaliveInterval)
			} else {
				c.keepAt = c.lastRecv.Add(c.cfg.KeepaliveIdle)
			}
		}
	} else {
		c.keepAt = time.Time{}
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
func (c *Conn) onKeepalive(now time.Time) {
	if !c.cfg.Keepalive || (c.state != StateEstablished && c.state != StateCloseWait) {
		return
	}
	idle := now.Sub(c.lastRecv)
	if c.keepProbes == 0 && idle < c.cfg.KeepaliveIdle {
		c.keepAt = c.lastRecv.Add(c.cfg.KeepaliveIdle)
		return
	}
	if len(c.outstanding()) > 0 || c.snd.end() != c.sndNxt {
		// Data is pending: the retransmission timer watches the peer.
		c.keepAt = now.Add(c.cfg.KeepaliveInterval)
		return
	}
	if c.keepProbes >= c.cfg.KeepaliveCount {
		c.finish(&timeoutError{what: "keepalive"})
		return
	}
	c.keepProbes++
	c.st.keepaliveProbes++
	c.probePending = true
	c.keepAt = now.Add(c.cfg.KeepaliveInterval)
}
