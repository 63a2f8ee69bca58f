package tcp

import (
	"time"

	"github.com/gomptcp/mptcp/cc"
	"github.com/gomptcp/mptcp/wire"
)

// rackState is the sender state of RACK (RFC 8985 §6.1).
type rackState struct {
	xmitTs        int64  // RACK.xmit_ts: send time of the most recently sent delivered segment
	endSeq        uint32 // RACK.end_seq
	rtt           time.Duration
	fack          uint32 // highest end sequence number SACKed or ACKed
	hasFack       bool
	reorderSeen   bool
	reoWndMult    int
	reoWndPersist int
	dsackRound    uint32
	hasDsackRound bool
}

// tlpState is the sender state of the tail loss probe (RFC 8985 §7).
type tlpState struct {
	active    bool   // a probe is outstanding (TLP.end_seq != None)
	endSeq    uint32 // TLP.end_seq
	isRetrans bool   // the probe retransmitted old data
}

// wcDelAckT is the worst-case delayed ACK timer of RFC 8985 §7.2.
const wcDelAckT = 200 * time.Millisecond

func (c *Conn) rackEnabled() bool { return c.sackOK && !c.cfg.DisableRACK }

// rackSentAfter is RACK_sent_after (RFC 8985 §6.2 step 2).
func rackSentAfter(t1 int64, seq1 uint32, t2 int64, seq2 uint32) bool {
	return t1 > t2 || (t1 == t2 && seqGT(seq1, seq2))
}

// rackOnDelivered updates RACK for a segment newly SACKed or cumulatively
// acknowledged (RFC 8985 §6.2 steps 2 and 3).
func (c *Conn) rackOnDelivered(now int64, r *txRec, o *wire.TCPOptions) {
	if !c.rackEnabled() {
		return
	}
	end := r.end()
	rtt := time.Duration(now - r.xmit)
	// Step 2: skip an ambiguous sample from a retransmitted segment: the
	// echoed timestamp predates the retransmission, or the RTT is below
	// the minimum (the original was delivered).
	if r.flags&recEverRetrans != 0 {
		if c.minRTT > 0 && rtt < c.minRTT {
			return
		}
		if c.tsOK && o.HasTimestamps && seqLT(o.TSEcr, c.tsNow(r.xmit)) {
			return
		}
	}
	c.rack.rtt = rtt
	if rackSentAfter(r.xmit, end, c.rack.xmitTs, c.rack.endSeq) {
		c.rack.xmitTs, c.rack.endSeq = r.xmit, end
	}
	// Step 3: reordering: a never-retransmitted segment delivered below
	// the highest one delivered before.
	if c.rack.hasFack && seqLT(end, c.rack.fack) && r.flags&recEverRetrans == 0 {
		if !c.rack.reorderSeen {
			c.st.reordering++
		}
		c.rack.reorderSeen = true
	}
	if !c.rack.hasFack || seqGT(end, c.rack.fack) {
		c.rack.fack, c.rack.hasFack = end, true
	}
}

// onDSACK adapts the reordering window to a D-SACK (RFC 8985 §6.2 step 4).
func (r *rackState) onDSACK(sndNxt uint32) {
	if r.hasDsackRound {
		return
	}
	r.hasDsackRound, r.dsackRound = true, sndNxt
	r.reoWndMult = max(r.reoWndMult, 1) + 1
	r.reoWndPersist = 16
}

func (r *rackState) onRecoveryExit() {
	if r.reoWndPersist > 0 {
		r.reoWndPersist--
		if r.reoWndPersist == 0 {
			r.reoWndMult = 1
		}
	}
}

// reoWnd is RACK_update_reo_wnd (RFC 8985 §6.2 step 4).
func (c *Conn) reoWnd() time.Duration {
	if c.rack.hasDsackRound && seqGEQ(c.sndUna, c.rack.dsackRound) {
		c.rack.hasDsackRound = false
	}
	if c.rack.reoWndMult == 0 {
		c.rack.reoWndMult = 1
	}
	if !c.rack.reorderSeen && (c.recovery != recOpen || c.sackedSize >= 3*c.effMSS()) {
		return 0
	}
	return min(c.minRTT/4*time.Duration(c.rack.reoWndMult), c.srtt)
}

// rackDetectLoss marks segments lost by time (RFC 8985 §6.2 step 5) and
// arms the reordering timer for those that may still arrive.
func (c *Conn) rackDetectLoss(now int64) {
	c.reoAt = 0
	if c.rack.xmitTs == 0 {
		return
	}
	reo := c.reoWnd()
	var timeout time.Duration
	rs := c.outstanding()
	for i := range rs {
		r := &rs[i]
		if r.flags&recSacked != 0 || r.needsRetransmit() {
			continue
		}
		if !rackSentAfter(c.rack.xmitTs, c.rack.endSeq, r.xmit, r.end()) {
			if r.flags&recEverRetrans == 0 {
				break // sent after the most recent delivery, and so are those above
			}
			continue
		}
		remaining := time.Duration(r.xmit-now) + c.rack.rtt + reo
		if remaining <= 0 {
			c.setFlags(r, recLost, recRetrans)
			c.st.rackLost++
		} else {
			timeout = max(timeout, remaining)
		}
	}
	if timeout > 0 {
		c.reoAt = later(now, timeout)
	}
}

// onReorderTimeout is RACK_reorder_timer_expired (RFC 8985 §6.3).
func (c *Conn) onReorderTimeout(now int64) {
	c.reoAt = 0
	c.rackDetectLoss(now)
	if c.lostCount > 0 && c.recovery == recOpen {
		c.enterFastRecovery(now, c.pipe)
	}
}

// armPTO schedules a tail loss probe (RFC 8985 §7.2) after new data was
// sent or an ACK advanced SND.UNA.
func (c *Conn) armPTO(now int64) {
	c.ptoAt = 0
	if !c.rackEnabled() || c.recovery != recOpen || c.tlp.active || len(c.outstanding()) == 0 || !c.state.canSendData() {
		return
	}
	pto := time.Second
	if c.hasRTT {
		pto = 2 * c.srtt
		if len(c.outstanding()) == 1 {
			pto += wcDelAckT
		}
	}
	at := later(now, pto)
	if c.rtoAt != 0 && at > c.rtoAt {
		at = c.rtoAt
	}
	c.ptoAt = at
}

// onPTO is TLP_send_probe (RFC 8985 §7.3): send one new segment if the
// window allows, otherwise retransmit the last one. The probe itself is
// built by Poll; here the choice is recorded.
func (c *Conn) onPTO(now int64) {
	c.ptoAt = 0
	rs := c.outstanding()
	if len(rs) == 0 {
		return
	}
	c.tlp.endSeq = c.sndNxt
	// New data if some is unsent; once the FIN is out, sndNxt is past the
	// end of the buffer and only a retransmission can probe.
	if !c.finSent && c.snd.end() != c.sndNxt && c.sndWindowLeft() > 0 {
		c.tlp.isRetrans = false
		c.tlpNewData = true
	} else {
		// Retransmit the highest-sequence segment not yet SACKed.
		i := len(rs) - 1
		for i >= 0 && rs[i].flags&recSacked != 0 {
			i--
		}
		if i < 0 {
			return
		}
		c.tlp.isRetrans = true
		c.setFlags(&rs[i], recLost, recRetrans)
		c.tlpRetransmit = true
	}
	c.st.tlps++
	c.tlp.active = true
	// The RTO is re-armed after the probe (RFC 8985 §7.3).
	c.rtoAt = later(now, c.rto)
}

// tlpOnAck is the TLP loss detection of RFC 8985 §7.4.
func (c *Conn) tlpOnAck(now int64, ack uint32, dsack bool) {
	if !c.tlp.active {
		return
	}
	if dsack && c.tlp.isRetrans {
		// The probe was a duplicate: the original arrived, no loss.
		c.tlp.active = false
		return
	}
	if seqGEQ(ack, c.tlp.endSeq) {
		c.tlp.active = false
		if c.tlp.isRetrans {
			// The probe repaired a loss: reduce the window once
			// (RFC 8985 §7.4.2).
			c.cc.OnCongestionEvent(cc.Loss{Now: c.nowT, InFlight: c.flightSize()})
			c.cc.OnRecoveryExit(c.nowT)
			c.st.tlpRecoveries++
		}
	}
}
