package tcp

import (
	"time"

	"github.com/gomptcp/mptcp/cc"
)

// processAck is the fifth check of RFC 9293 §3.10.7.4 for synchronized
// states: acceptance (RFC 5961 §5.2), SND.UNA and window update, RTT,
// congestion control, loss detection and recovery, and the state changes
// an ACK of our FIN causes. It reports false when the segment is dropped.
func (c *Conn) processAck(now int64, seg *Segment) bool {
	ack := seg.Ack
	// RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <=
	// SND.NXT; anything else gets a (throttled) challenge ACK and is
	// discarded.
	if seqGT(ack, c.sndNxt) || seqLT(ack, c.sndUna-c.maxSndWnd) {
		c.challengeAck(now)
		return false
	}
	if c.state == StateTimeWait {
		return true
	}
	c.st.lastAckRecv = now
	priorUna := c.sndUna
	priorInFlight := c.pipe
	advanced := seqGT(ack, c.sndUna)
	newlyAcked := 0
	var rttRec *txRec // most recent newly acknowledged, never retransmitted record
	var rttRecCopy txRec
	var lastXmit int64 // last transmission of the newest acknowledged record

	if advanced {
		newlyAcked = int(ack - c.sndUna)
		retransAcked := false
		c.ackRecs(ack, func(r *txRec) {
			if r.flags&recEverRetrans == 0 {
				rttRecCopy = *r
				rttRec = &rttRecCopy
			} else {
				retransAcked = true
			}
			lastXmit = max(lastXmit, r.xmit)
			c.rackOnDelivered(now, r, &seg.Options)
		})
		if retransAcked {
			// Segments sent after a hole waited for its repair: their
			// cumulative ACK does not time a round trip (Karn's rule
			// extended as Linux does; timestamps may still give one).
			rttRec = nil
		}
		c.sndUna = ack
		sndAck := ack
		if c.finSent && ack == c.finSeq+1 {
			sndAck = c.finSeq // the FIN is not in the send buffer
		}
		c.snd.ack(sndAck, func(id uint64) {
			c.emit(Event{Kind: EventChunkAcked, ChunkID: id})
		})
		c.st.bytesAcked += uint64(newlyAcked)
		if seqGEQ(ack, c.roundEnd) {
			// A round trip ended: everything sent when it began is
			// acknowledged (RFC 9406 §4.2).
			c.round++
			c.roundEnd = c.sndNxt
		}
		c.emit(Event{Kind: EventWritable})
		c.rtoCount = 0
		c.persistBackoff = 0
	}

	// Window update (RFC 9293 §3.10.7.4: if SND.WL1 < SEG.SEQ or
	// (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)).
	wnd := uint32(seg.Window) << c.sndWScale
	windowChanged := false
	if seqLT(c.sndWl1, seg.Seq) || (c.sndWl1 == seg.Seq && seqLEQ(c.sndWl2, ack)) {
		windowChanged = wnd != c.sndWnd
		c.sndWnd = wnd
		c.sndWl1, c.sndWl2 = seg.Seq, ack
		c.maxSndWnd = max(c.maxSndWnd, wnd)
		if wnd > 0 {
			c.persistAt = 0
		}
	}

	// SACK scoreboard.
	newlySacked, dsack := 0, false
	if c.sackOK && seg.Options.NumSACKBlocks > 0 {
		newlySacked, dsack = c.processSACK(now, &seg.Options, ack)
		if dsack {
			c.st.dsacksIn++
			c.rack.onDSACK(c.sndNxt)
		}
	}

	// RTT (RFC 6298 §3 with Karn's rule; RFC 7323 §4 with timestamps
	// for retransmitted data).
	var sample time.Duration
	if advanced {
		if rttRec != nil {
			sample = time.Duration(now - rttRec.xmit)
		} else if c.tsOK && seg.Options.HasTimestamps && seg.Options.TSEcr != 0 && lastXmit != 0 &&
			seqGEQ(seg.Options.TSEcr, c.tsNow(lastXmit)) {
			// The echo is at least as new as the last retransmission
			// of the acknowledged data, so the ACK answers that
			// transmission: an unambiguous sample (RFC 7323 §4.2).
			// An older echo means an earlier copy arrived and its ACK
			// was lost; the time since then is not a round trip.
			if t, ok := c.tsTime(seg.Options.TSEcr, now); ok {
				sample = time.Duration(now - t)
			}
		}
		if sample > 0 {
			c.rttSample(sample)
		}
	}

	// Duplicate ACK (RFC 5681 §2, with RFC 6675's SACK variant).
	isDup := !advanced && len(seg.Payload) == 0 && seg.Flags&(FlagSYN|FlagFIN) == 0 &&
		c.sndUna != c.sndNxt && (newlySacked > 0 || (!c.sackOK && !windowChanged))
	if advanced {
		c.dupAcks = 0
	} else if isDup {
		c.dupAcks++
	}

	c.tlpOnAck(now, ack, dsack)

	// Loss detection and recovery.
	if c.sackOK {
		c.markLostRFC6675()
		if c.rackEnabled() {
			c.rackDetectLoss(now)
		}
		if c.recovery == recOpen && (c.lostCount > 0 || c.dupAcks >= 3) {
			c.enterFastRecovery(now, priorInFlight)
		}
	} else {
		c.newRenoOnAck(now, advanced, isDup, newlyAcked)
	}

	// Congestion control growth outside fast recovery.
	if advanced && c.recovery != recFast {
		c.cc.OnAck(cc.Ack{
			Now: c.nowT, BytesAcked: newlyAcked, RTT: sample, SRTT: c.srtt, MinRTT: c.minRTT,
			InFlight: priorInFlight, CwndLimited: c.cwndUsed || priorInFlight*2 >= c.cc.Cwnd(),
			Round: c.round,
		})
		c.cwndUsed = false
	}
	if c.recovery != recOpen && seqGEQ(c.sndUna, c.recoveryPoint) {
		c.exitRecovery(now)
	}
	if advanced {
		c.st.deliveredBytes += uint64(newlyAcked)
		c.updateDeliveryRate(now, priorUna)
	}

	// Retransmission timer (RFC 6298 §5.2, §5.3).
	if len(c.outstanding()) == 0 {
		c.rtoAt, c.ptoAt, c.reoAt = 0, 0, 0
	} else if advanced {
		c.rtoAt = later(now, c.rto)
		c.armPTO(now)
	}
	c.publishCC()

	// Our FIN acknowledged.
	if c.finSent && seqGT(c.sndUna, c.finSeq) {
		switch c.state {
		case StateFinWait1:
			c.setState(StateFinWait2) // armTimers starts the FIN-WAIT-2 timeout after a full Close
		case StateClosing:
			c.enterTimeWait(now)
		case StateLastAck:
			c.finish(nil)
		}
	}
	return true
}

// publishCC tells the coupled-controller group about this subflow.
func (c *Conn) publishCC() {
	if c.ccMember == nil {
		return
	}
	c.ccMember.Update(cc.SubflowState{
		Cwnd: c.cc.Cwnd(), Ssthresh: c.cc.Ssthresh(), InFlight: c.pipe, MSS: c.effMSS(),
		SRTT: c.srtt, MinRTT: c.minRTT, Established: c.state.synchronized(),
	})
}

// updateDeliveryRate keeps a simple delivery-rate estimate: bytes
// acknowledged over the last smoothed RTT.
func (c *Conn) updateDeliveryRate(now int64, priorUna uint32) {
	if c.st.rateStart == 0 {
		c.st.rateStart, c.st.rateBytes = now, 0
		return
	}
	c.st.rateBytes += uint64(c.sndUna - priorUna)
	d := time.Duration(now - c.st.rateStart)
	if d >= max(c.srtt, time.Millisecond) {
		c.st.deliveryRate = uint64(float64(c.st.rateBytes) / d.Seconds())
		c.st.rateStart, c.st.rateBytes = now, 0
	}
}
