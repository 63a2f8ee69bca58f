package tcp

import (
	"github.com/gomptcp/mptcp/cc"
)

type recoveryState uint8

const (
	recOpen recoveryState = iota // no loss being repaired
	recFast                      // fast recovery: RFC 6675 with SACK, RFC 6582 without
	recLoss                      // after an RTO, until the data outstanding then is acknowledged
)

// flightSize is FlightSize of RFC 5681: data sent but not acknowledged.
func (c *Conn) flightSize() int { return int(c.sndNxt - c.sndUna) }

// enterFastRecovery starts loss recovery (RFC 6675 §5 steps 4.1–4.3,
// RFC 6582 §3.2 step 2).
func (c *Conn) enterFastRecovery(now int64, priorInFlight int) {
	c.recovery = recFast
	c.recoveryPoint = c.sndNxt // RecoveryPoint = HighData; "recover" of RFC 6582
	c.cc.OnCongestionEvent(cc.Loss{Now: c.nowT, InFlight: c.flightSize()})
	c.st.recoveries++
	c.rescueDone = false
	c.tlp.active = false
	c.ptoAt = 0
	// The first unacknowledged segment is retransmitted at once,
	// regardless of pipe (RFC 6675 §5 step 4.3, RFC 6582 step 2).
	if rs := c.outstanding(); len(rs) > 0 && rs[0].flags&(recSacked|recLost) == 0 {
		c.setFlags(&rs[0], recLost, 0)
	}
	c.forceRetransmit = true
	if !c.sackOK {
		c.nrCwnd = c.cc.Ssthresh() + 3*c.effMSS()
	}
}

func (c *Conn) exitRecovery(now int64) {
	if c.recovery == recFast {
		c.cc.OnRecoveryExit(c.nowT)
		c.rack.onRecoveryExit()
	}
	c.recovery = recOpen
	c.dupAcks = 0
	c.forceRetransmit = false
}

// newRenoOnAck runs RFC 6582 for connections without SACK.
func (c *Conn) newRenoOnAck(now int64, advanced, isDup bool, newlyAcked int) {
	mss := c.effMSS()
	switch c.recovery {
	case recOpen:
		// RFC 6582 §3.2 step 2: three duplicates, and the ACK covers
		// "recover" (so that duplicates caused by retransmissions of an
		// earlier episode do not start another).
		if isDup && c.dupAcks == 3 && seqGEQ(c.sndUna, c.recoveryPoint) {
			c.enterFastRecovery(now, c.pipe)
		}
	case recFast:
		if isDup {
			c.nrCwnd += mss // step 3: inflate for each further duplicate
			return
		}
		if advanced && seqLT(c.sndUna, c.recoveryPoint) {
			// Step 5, partial ACK: retransmit the first unacknowledged
			// segment, deflate by the amount acknowledged, add back one
			// SMSS if that was at least one SMSS.
			if rs := c.outstanding(); len(rs) > 0 && rs[0].flags&recLost == 0 {
				c.setFlags(&rs[0], recLost, recRetrans)
			} else if len(rs) > 0 && rs[0].flags&recRetrans != 0 {
				c.setFlags(&rs[0], recLost, recRetrans)
			}
			c.forceRetransmit = true
			c.nrCwnd -= newlyAcked
			if newlyAcked >= mss {
				c.nrCwnd += mss
			}
			c.nrCwnd = max(c.nrCwnd, mss)
		}
	}
}

// sendAllowance is how many bytes congestion control lets us send now.
func (c *Conn) sendAllowance() int {
	if c.recovery == recFast && !c.sackOK {
		return c.nrCwnd - c.flightSize()
	}
	return c.cc.Cwnd() - c.pipe
}

// onRTO handles an expired retransmission timer (RFC 6298 §5.4–§5.6,
// RFC 5681 §3.1).
func (c *Conn) onRTO(now int64) {
	c.rtoAt = 0
	if c.state == StateSynSent || c.state == StateSynReceived {
		c.synRetrans++
		if c.synRetrans > c.cfg.SynRetries {
			c.finish(&timeoutError{what: "handshake"})
			return
		}
		c.backoffRTO()
		c.synPending = true
		c.st.retransmits++
		c.emit(Event{Kind: EventRTO, Count: c.synRetrans})
		return
	}
	if len(c.outstanding()) == 0 {
		return
	}
	c.rtoCount++
	if c.rtoCount > c.cfg.Retries {
		c.finish(&timeoutError{what: "retransmission"})
		return
	}
	c.backoffRTO()
	c.cc.OnRTO(cc.Loss{Now: c.nowT, InFlight: c.flightSize(), Repeat: c.rtoCount > 1})
	c.markAllLost()
	c.recovery = recLoss
	c.recoveryPoint = c.sndNxt
	c.dupAcks = 0
	c.tlp.active = false
	c.ptoAt, c.reoAt = 0, 0
	c.forceRetransmit = true
	c.st.rtos++
	c.emit(Event{Kind: EventRTO, Count: c.rtoCount})
	c.publishCC()
}
