package tcp

import (
	"time"

	"github.com/gomptcp/mptcp/cc"
)

// pawsIdle is how long TS.Recent stays valid without an update (RFC 7323
// §5.5: 24 days).
const pawsIdle = 24 * 24 * time.Hour

// Input processes a received segment addressed to this connection
// (RFC 9293 §3.10.7). The payload is copied; seg may be reused afterwards.
// Replies (ACKs, RSTs, data) are emitted by the next Poll. A connection in
// CLOSED ignores segments: the stack answers those with ResetFor.
func (c *Conn) Input(nowT time.Time, seg *Segment) {
	if c.state == StateClosed || c.state == StateListen {
		return
	}
	now := c.clock(nowT)
	c.st.segsIn++
	switch c.hooks.CheckSegment(seg, c.state) {
	case Drop:
		return
	case Reset:
		c.hookReset(seg)
		return
	}
	var ok bool
	if c.state == StateSynSent {
		ok = c.inputSynSent(now, seg)
	} else {
		ok = c.inputSynchronized(now, seg)
	}
	if ok {
		c.hooks.SegmentProcessed(seg, c.state)
	}
	c.autoTune(now)
}

// hookReset answers a segment that a hook rejected with a reset.
func (c *Conn) hookReset(seg *Segment) {
	if seg.Flags&FlagRST != 0 {
		c.finish(&ResetError{Sent: true, Reason: ResetHookRejected, State: c.state})
		return
	}
	if c.state == StateSynSent {
		// Not synchronized: the RST takes its sequence number from the
		// segment (RFC 9293 §3.10.7.3).
		if seg.Flags&FlagACK != 0 {
			c.rstPending, c.rstSeq, c.rstReason, c.rstAck = true, seg.Ack, ResetHookRejected, false
			c.emit(Event{Kind: EventResetSent, Reason: ResetHookRejected})
		}
		c.finish(&ResetError{Sent: true, Reason: ResetHookRejected, State: c.state})
		return
	}
	c.resetConn(ResetHookRejected)
}

// inputSynSent is RFC 9293 §3.10.7.3.
func (c *Conn) inputSynSent(now int64, seg *Segment) bool {
	// First: the ACK bit.
	if seg.Flags&FlagACK != 0 {
		if seqLEQ(seg.Ack, c.iss) || seqGT(seg.Ack, c.sndNxt) {
			if seg.Flags&FlagRST == 0 {
				c.rstPending, c.rstSeq, c.rstReason, c.rstAck = true, seg.Ack, ResetBadAck, false
			}
			return false
		}
	}
	// Second: the RST bit. Only with an acceptable ACK.
	if seg.Flags&FlagRST != 0 {
		if seg.Flags&FlagACK != 0 {
			c.emit(Event{Kind: EventResetReceived, State: c.state})
			c.finish(ErrConnectionRefused)
			return true
		}
		return false
	}
	if seg.Flags&FlagSYN == 0 {
		return false // fifth: neither SYN nor RST
	}
	// Fourth: the SYN bit.
	c.irs = seg.Seq
	c.rcvNxt = seg.Seq + 1
	c.rcv.readSeq, c.rcv.nxt = c.rcvNxt, c.rcvNxt
	c.rcvAdv = c.rcvNxt + uint32(min(c.rcvBufSize, 65535)) // the window our SYN offered
	c.negotiate(&seg.Options, c.cfg.DisableWindowScale, c.cfg.DisableTimestamps, c.cfg.DisableSACK)
	if c.tsOK {
		c.tsRecent, c.tsRecentAge = seg.Options.TSVal, now
	}
	c.lastRecv = now
	if seg.Flags&FlagACK != 0 {
		// Our SYN is acknowledged: ESTABLISHED.
		c.sndUna = seg.Ack
		c.sndWnd = uint32(seg.Window) // never scaled in a SYN (RFC 7323 §2.2)
		c.maxSndWnd = c.sndWnd
		c.sndWl1, c.sndWl2 = seg.Seq, seg.Ack
		c.synAcked(now)
		c.setState(StateEstablished)
		c.ackNow = true
		if len(seg.Payload) > 0 || seg.Flags&FlagFIN != 0 {
			// Data or FIN on the SYN-ACK (sixth check onwards).
			c.processText(now, seg, seg.Seq+1)
		}
		if c.finQueued {
			c.setState(StateFinWait1)
		}
		return true
	}
	// Simultaneous open: SYN-RECEIVED, send SYN-ACK with our ISS
	// (RFC 9293 §3.5, Figure 7).
	c.setState(StateSynReceived)
	c.sndWnd = uint32(seg.Window) // SYN windows are never scaled (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1 = seg.Seq
	c.synPending = true
	c.synRetrans = 0
	c.rtoAt = 0
	if len(seg.Payload) > 0 {
		// Queue data carried on the SYN for after the handshake.
		c.storeText(now, seg, seg.Seq+1, seg.Payload)
	}
	return true
}

// synAcked finishes the handshake on our side: RTT sample from the SYN
// (Karn: only if never retransmitted), congestion controller MSS.
func (c *Conn) synAcked(now int64) {
	c.rtoAt = 0
	c.rtoCount, c.backoff = 0, 0
	if c.synRetrans == 0 && c.synXmit != 0 {
		c.rttSample(time.Duration(now - c.synXmit))
	} else if !c.hasRTT {
		// RFC 6298 §5.7: the SYN was retransmitted and there is no
		// sample: RTO falls back to 3 s once data is sent.
		c.rto = max(3*time.Second, c.cfg.MinRTO)
	}
	// The initial window counts segments of the negotiated MSS
	// (RFC 6928): start the controller afresh now that it is known.
	if ctl, err := cc.New(c.cfg.CongestionControl, cc.Config{MSS: c.effMSS(), InitialWindow: c.cfg.InitialWindow, Member: c.ccMember}); err == nil {
		c.cc = ctl
	} else {
		c.cc.SetMSS(c.effMSS())
	}
	c.publishCC()
	c.snd.start = c.iss + 1
	c.sndUna = c.iss + 1
	c.sndNxt = c.iss + 1
	c.recoveryPoint = c.sndUna // "recover" starts at the ISS (RFC 6582 §3.2 step 1)
	c.roundEnd = c.sndNxt
	c.tune.start = now
	c.tune.seq = c.rcvNxt
	c.keepAt = 0
}

// inputSynchronized handles every state after SYN-SENT
// (RFC 9293 §3.10.7.4). It reports whether the segment was acceptable.
func (c *Conn) inputSynchronized(now int64, seg *Segment) bool {
	if c.state == StateSynReceived && seg.Flags&(FlagSYN|FlagACK|FlagRST) == FlagSYN && seg.Seq == c.irs {
		// The peer retransmitted its SYN: our SYN-ACK was lost.
		// Answer with the SYN-ACK again rather than a bare ACK, which a
		// TCP in SYN-SENT would drop (as Linux does).
		if !c.synPending {
			c.synPending = true
			c.synRetrans++
			c.st.retransmits++
		}
		return false
	}
	if c.state == StateSynReceived && !c.passive && seg.Flags&(FlagSYN|FlagACK|FlagRST) == FlagSYN|FlagACK && seg.Seq == c.irs {
		// Simultaneous open (RFC 9293 §3.5, Figure 7): the peer's
		// SYN-ACK repeats the SYN we already have; its ACK completes
		// our side. Process it without the SYN.
		s := *seg
		s.Flags &^= FlagSYN
		s.Seq++
		c.sndWl1 = s.Seq - 1
		ok := c.inputSynchronized(now, &s)
		if ok && c.sndWl1 == s.Seq {
			c.sndWnd = uint32(seg.Window) // a SYN's window is unscaled (RFC 7323 §2.2)
		}
		c.ackNow = true
		return ok
	}
	rst := seg.Flags&FlagRST != 0
	segLen := seg.Len()

	// RFC 7323 §3.2: once negotiated, segments without timestamps are
	// dropped (RST excepted).
	if c.tsOK && !seg.Options.HasTimestamps && !rst {
		return false
	}
	// RFC 7323 §5.3: PAWS.
	if c.tsOK && seg.Options.HasTimestamps && !rst && seqLT(seg.Options.TSVal, c.tsRecent) {
		if c.tsRecentAge != 0 && time.Duration(now-c.tsRecentAge) <= pawsIdle {
			c.st.pawsDropped++
			c.ackNow = true
			return false
		}
		// §5.5: TS.Recent is too old to be trusted.
		c.tsRecent = seg.Options.TSVal
	}

	// First: sequence number check. With a zero receive window, the
	// text of a segment at RCV.NXT is not acceptable, but its ACK (and
	// RST) still are (RFC 9293 §3.10.7.4): process it without its text.
	if segLen > 0 && c.rcvWnd() == 0 && seg.Seq == c.rcvNxt && !rst && seg.Flags&FlagSYN == 0 {
		s := *seg
		s.Payload = nil
		s.Flags &^= FlagFIN
		c.ackNow = true
		return c.inputSynchronized(now, &s)
	}
	if !c.acceptable(seg.Seq, segLen) {
		if !rst {
			if c.state == StateTimeWait {
				c.twAt = later(now, c.cfg.TimeWait)
			}
			if seqLT(seg.Seq, c.rcvNxt) && segLen > 0 {
				c.noteDSACK(seg.Seq, seg.Seq+uint32(len(seg.Payload)))
			}
			c.ackNow = true
		}
		return false
	}
	c.lastRecv = now
	if c.keepProbes > 0 || c.keepAt != 0 {
		c.keepProbes = 0
		c.keepAt = 0 // re-armed from lastRecv after output
	}

	// RFC 7323 §4.3: update TS.Recent from segments that cover
	// Last.ACK.sent.
	if c.tsOK && seg.Options.HasTimestamps && seqGEQ(seg.Options.TSVal, c.tsRecent) && seqLEQ(seg.Seq, c.lastAckSent) {
		c.tsRecent, c.tsRecentAge = seg.Options.TSVal, now
	}

	// Second: the RST bit, with RFC 5961 §3.2.
	if rst {
		if seg.Seq != c.rcvNxt {
			c.challengeAck(now)
			return false
		}
		c.st.rstIn++
		c.emit(Event{Kind: EventResetReceived, State: c.state})
		switch c.state {
		case StateSynReceived:
			if c.passive {
				// Return to LISTEN: the listener forgets this child.
				c.finish(&ResetError{Reason: ResetReceived, State: StateSynReceived})
			} else {
				c.finish(ErrConnectionRefused)
			}
		case StateClosing, StateLastAck, StateTimeWait:
			c.finish(nil)
		default:
			c.finish(&ResetError{Reason: ResetReceived, State: c.state})
		}
		return true
	}

	// Fourth: the SYN bit (RFC 5961 §4.2: challenge ACK in every
	// synchronized state; in SYN-RECEIVED of a passive open, RFC 9293
	// returns to LISTEN).
	if seg.Flags&FlagSYN != 0 {
		if c.state == StateSynReceived && c.passive {
			c.finish(&ResetError{Reason: ResetReceived, State: StateSynReceived})
			return false
		}
		c.challengeAck(now)
		return false
	}

	// Fifth: the ACK field.
	if seg.Flags&FlagACK == 0 {
		return false
	}
	if c.state == StateSynReceived {
		if seqLEQ(seg.Ack, c.sndUna) || seqGT(seg.Ack, c.sndNxt) {
			c.rstPending, c.rstSeq, c.rstReason, c.rstAck = true, seg.Ack, ResetBadAck, false
			return false
		}
		c.sndWnd = uint32(seg.Window) << c.sndWScale
		c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
		c.sndWl1, c.sndWl2 = seg.Seq, seg.Ack
		c.synAcked(now)
		c.setState(StateEstablished)
		if c.closeOnEstablish || c.finQueued {
			c.setState(StateFinWait1)
		}
	}
	if !c.processAck(now, seg) {
		return false
	}
	if c.state == StateClosed {
		return true
	}

	// Sixth (URG) is not supported: urgent data is delivered in line.
	// Seventh and eighth: segment text and FIN.
	c.processText(now, seg, seg.Seq)
	return true
}

// acceptable is the segment acceptability test (RFC 9293 §3.10.7.4,
// first check, its four cases).
func (c *Conn) acceptable(seq, segLen uint32) bool {
	wnd := c.rcvWnd()
	switch {
	case segLen == 0 && wnd == 0:
		return seq == c.rcvNxt
	case segLen == 0:
		return seqInWindow(seq, c.rcvNxt, wnd)
	case wnd == 0:
		return false
	default:
		end := seq + segLen - 1
		return seqInWindow(seq, c.rcvNxt, wnd) || seqInWindow(end, c.rcvNxt, wnd)
	}
}

// rcvWnd is RCV.WND: what remains of the window we advertised.
func (c *Conn) rcvWnd() uint32 {
	if seqLEQ(c.rcvAdv, c.rcvNxt) {
		return 0
	}
	return c.rcvAdv - c.rcvNxt
}

// challengeAck queues an ACK in answer to a suspicious RST, SYN or ACK,
// at most ChallengeAckLimit per second (RFC 5961 §7).
func (c *Conn) challengeAck(now int64) {
	if c.chAckStart == 0 || time.Duration(now-c.chAckStart) >= time.Second || now < c.chAckStart {
		c.chAckStart, c.chAckCount = now, 0
	}
	if c.chAckCount >= c.cfg.ChallengeAckLimit {
		c.st.challengeAcksSuppressed++
		return
	}
	c.chAckCount++
	c.st.challengeAcks++
	c.ackNow = true
}

// processText is the seventh (segment text) and eighth (FIN) check of
// RFC 9293 §3.10.7.4. seq is the sequence number of the first payload byte.
func (c *Conn) processText(now int64, seg *Segment, seq uint32) {
	if len(seg.Payload) > 0 {
		if c.readClosed && !c.quietClose && c.state != StateSynReceived {
			// Data after a full Close: reset (RFC 9293 §3.10.4, RFC
			// 2525 §2.17).
			c.resetConn(ResetUnreadData)
			return
		}
		if c.state.canRecvData() {
			c.storeText(now, seg, seq, seg.Payload)
		}
	}
	if seg.Flags&FlagFIN != 0 && c.state != StateSynReceived {
		fin := seq + uint32(len(seg.Payload))
		if seqGEQ(fin, c.rcvNxt) && seqLEQ(fin, c.rcvNxt+c.rcvWnd()) && !c.rcvFin {
			c.rcvFinPending, c.rcvFinSeq = true, fin
		}
	}
	c.maybeProcessFin(now)
}

// storeText puts payload into the receive buffer, trimmed to the window.
func (c *Conn) storeText(now int64, seg *Segment, seq uint32, payload []byte) {
	end := seq + uint32(len(payload))
	start := seq
	if seqLT(start, c.rcvNxt) {
		c.noteDSACK(start, seqMin(end, c.rcvNxt))
		start = c.rcvNxt
	}
	if wEnd := c.rcvNxt + c.rcvWnd(); seqGT(end, wEnd) {
		end = wEnd
	}
	if seqLEQ(end, start) {
		c.ackNow = true
		return
	}
	data := payload[start-seq : end-seq]
	if seg.GSO > 0 {
		c.rcvMSSEst = max(c.rcvMSSEst, min(seg.GSO, len(payload)))
	} else {
		c.rcvMSSEst = max(c.rcvMSSEst, len(payload))
	}
	limit := int(c.rcvAdv - c.rcv.readSeq)
	advanced, filled, stored := c.rcv.insert(start, data, limit)
	if !stored {
		c.st.oooDropped++
		c.ackNow = true
		return
	}
	c.st.bytesReceived += uint64(len(data))
	c.st.lastDataRecv = now
	if advanced {
		c.rcvNxt = c.rcv.nxt
		c.rcvRTTSample(now, seg)
	}
	if !advanced {
		// Out of order: ACK at once (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
		c.st.oooSegs++
		c.ackNow = true
		return
	}
	c.emit(Event{Kind: EventReadable})
	if filled {
		c.ackNow = true // RFC 5681 §4.2: ACK a segment that fills a hole at once
		return
	}
	c.scheduleAck(now, len(data))
}

// scheduleAck implements delayed ACKs (RFC 9293 §3.8.6.3): ACK at least
// every second full-sized segment, and within DelayedAckTimeout.
func (c *Conn) scheduleAck(now int64, n int) {
	c.unackedBytes += n
	if c.cfg.DisableDelayedAck || c.unackedBytes >= 2*max(c.rcvMSSEst, 1) {
		c.ackNow = true
		return
	}
	if c.delackAt == 0 {
		c.delackAt = later(now, c.cfg.DelayedAckTimeout)
	}
}

// maybeProcessFin processes the peer's FIN once all data before it is in.
func (c *Conn) maybeProcessFin(now int64) {
	if !c.rcvFinPending || c.rcvNxt != c.rcvFinSeq || c.rcvFin {
		return
	}
	c.rcvFinPending = false
	c.rcvFin = true
	c.rcvNxt++
	c.ackNow = true
	c.emit(Event{Kind: EventEOF})
	switch c.state {
	case StateSynReceived, StateEstablished:
		c.setState(StateCloseWait)
	case StateFinWait1:
		if c.finSent && c.sndUna == c.sndNxt {
			c.enterTimeWait(now)
		} else {
			c.setState(StateClosing) // simultaneous close
		}
	case StateFinWait2:
		c.enterTimeWait(now)
	}
}

func (c *Conn) enterTimeWait(now int64) {
	c.setState(StateTimeWait)
	c.twAt = later(now, c.cfg.TimeWait)
	c.rtoAt, c.reoAt, c.ptoAt = 0, 0, 0
	c.persistAt, c.keepAt, c.delackAt = 0, 0, 0
	c.releaseRecs()
	c.snd.release()
}

// noteDSACK remembers a duplicate range to report as the first SACK block
// of the next ACK (RFC 2883 §4).
func (c *Conn) noteDSACK(start, end uint32) {
	c.st.dupSegsIn++
	if !c.sackOK || seqGEQ(start, end) {
		return
	}
	c.hasDSACK = true
	c.dsack.Left, c.dsack.Right = start, end
	c.ackNow = true
}

// TimeWaitReuse reports whether a SYN that arrived for this connection in
// TIME-WAIT may open a new incarnation (RFC 9293 §3.10.7.4 note, RFC 6191):
// its timestamp is newer than TS.Recent or, without timestamps, its
// sequence number is beyond RCV.NXT. If so the connection closes, and the
// stack hands the SYN to its listener.
func (c *Conn) TimeWaitReuse(seg *Segment) bool {
	if c.state != StateTimeWait || seg.Flags&(FlagSYN|FlagACK|FlagRST) != FlagSYN {
		return false
	}
	ok := false
	if c.tsOK && seg.Options.HasTimestamps {
		ok = seqGT(seg.Options.TSVal, c.tsRecent)
	} else {
		ok = seqGT(seg.Seq, c.rcvNxt)
	}
	if ok {
		c.finish(nil)
	}
	return ok
}
