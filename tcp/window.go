package tcp

import "time"

// autoTune is the receive-buffer auto-tuning state (dynamic right-sizing,
// as Linux's tcp_rcv_space_adjust).
type autoTune struct {
	copied   int           // bytes the application read in the current period
	start    int64         // period start
	seq      uint32        // RCV.NXT at the start of a window-based RTT measurement
	markAt   int64         // when that measurement started
	rcvRTT   time.Duration // receiver-side RTT estimate
	measured bool
}

// advertise computes the window field of an outgoing segment and moves the
// advertised right edge: never backwards (RFC 9293 §3.8.6.2.2, RFC 7323
// §2.4), and not by less than min(buffer/2, MSS) at a time (receiver-side
// silly window avoidance, RFC 9293 §3.8.6.2.2).
func (c *Conn) advertise() uint16 {
	free := max(c.rcvBufSize-c.rcv.unread(), 0)
	if seqLT(c.rcvAdv, c.rcvNxt) {
		c.rcvAdv = c.rcvNxt // a FIN at the right edge
	}
	edge := c.rcvNxt + uint32(free)
	if seqLEQ(edge, c.rcvAdv) {
		edge = c.rcvAdv
	} else if inc := int(edge - c.rcvAdv); inc < min(c.rcvBufSize/2, max(c.rcvMSSEst, c.effMSS())) {
		edge = c.rcvAdv
	}
	wnd := edge - c.rcvNxt
	scaled := wnd >> c.rcvWScale
	if seqLT(c.rcvNxt+scaled<<c.rcvWScale, c.rcvAdv) {
		scaled++ // round up rather than shrink the window
	}
	scaled = min(scaled, 65535)
	if e := c.rcvNxt + scaled<<c.rcvWScale; seqGT(e, c.rcvAdv) {
		c.rcvAdv = e
	}
	return uint16(scaled)
}

// maybeWindowUpdate queues a window update after the application read,
// when the window we could offer is at least twice the one the peer sees
// (or it was closed), as Linux's tcp_cleanup_rbuf.
func (c *Conn) maybeWindowUpdate() {
	if !c.state.canRecvData() || c.rcvFin {
		return
	}
	cur := int(c.rcvWnd())
	potential := c.rcvBufSize - c.rcv.unread()
	mss := max(c.rcvMSSEst, c.effMSS())
	if (cur == 0 && potential >= min(mss, c.rcvBufSize/2)) ||
		(2*cur <= c.rcvBufSize && potential >= 2*cur && potential-cur >= mss) {
		c.windowUpdated = true
	}
}

// autoTune grows the receive buffer toward twice the bytes the application
// consumed per receiver RTT, up to MaxRecvBufferSize.
func (c *Conn) autoTune(now int64) {
	if c.cfg.DisableAutoTune || !c.state.canRecvData() {
		return
	}
	rtt := c.RecvRTT()
	if rtt == 0 {
		return
	}
	if c.tune.start != 0 && time.Duration(now-c.tune.start) < rtt {
		return
	}
	if target := min(2*c.tune.copied, c.cfg.MaxRecvBufferSize); target > c.rcvBufSize {
		c.rcvBufSize = target
		c.st.rcvBufGrowths++
	}
	c.tune.copied = 0
	c.tune.start = now
}

// rcvRTTSample updates the receiver-side RTT (Linux's tcp_rcv_rtt_*): from
// the echoed timestamp when timestamps are on, otherwise from the time one
// advertised window of data takes to arrive.
func (c *Conn) rcvRTTSample(now int64, seg *Segment) {
	var s time.Duration
	if c.tsOK && seg.Options.TSEcr != 0 {
		if t, ok := c.tsTime(seg.Options.TSEcr, now); ok {
			s = time.Duration(now - t)
		}
	} else {
		if !c.tune.measured {
			c.tune.seq, c.tune.markAt, c.tune.measured = c.rcvNxt+c.rcvWnd(), now, true
			return
		}
		if seqLT(c.rcvNxt, c.tune.seq) {
			return
		}
		s = time.Duration(now - c.tune.markAt)
		c.tune.seq, c.tune.markAt = c.rcvNxt+c.rcvWnd(), now
	}
	if s <= 0 {
		s = time.Millisecond
	}
	if c.tune.rcvRTT == 0 || s < c.tune.rcvRTT {
		c.tune.rcvRTT = s
	} else {
		c.tune.rcvRTT += (s - c.tune.rcvRTT) / 8
	}
}

// sndWindowLeft is the usable send window: SND.UNA + SND.WND - SND.NXT.
func (c *Conn) sndWindowLeft() int {
	right := c.sndUna + c.sndWnd
	if seqLEQ(right, c.sndNxt) {
		return 0
	}
	return int(right - c.sndNxt)
}

// GrowRecvBuffer raises the receive buffer to n bytes, at most
// MaxRecvBufferSize; it never lowers it. A layer that tunes one window
// for several connections uses it: MPTCP's receive window belongs to the
// connection, not to a subflow (RFC 8684 §3.3.4), so each subflow must
// offer what the whole connection needs. A window update follows when the
// larger window is worth announcing.
func (c *Conn) GrowRecvBuffer(n int) {
	n = min(n, c.cfg.MaxRecvBufferSize)
	if n <= c.rcvBufSize {
		return
	}
	c.rcvBufSize = n
	c.st.rcvBufGrowths++
	c.maybeWindowUpdate()
}

// RecvRTT is the round-trip time receive-buffer auto-tuning works with:
// the receiver-side estimate, or the smoothed RTT when that is lower;
// zero before either exists.
func (c *Conn) RecvRTT() time.Duration {
	rtt := c.tune.rcvRTT
	if c.hasRTT && (rtt == 0 || c.srtt < rtt) {
		rtt = c.srtt
	}
	return rtt
}
