package tcp

import (
	"sync"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// Poll fires the timers due at now and returns the next segment to
// transmit, if any. Call it until it returns false. The payload is written
// into buf when it has room (cap(buf) >= the send MSS keeps the data path
// free of allocations), so the segment is valid until buf is reused.
// PollInto does the same without copying the segment out.
func (c *Conn) Poll(now time.Time, buf []byte) (Segment, bool) {
	seg := segPool.Get().(*Segment)
	var out Segment
	ok := c.PollInto(now, buf, seg)
	if ok {
		out = *seg
	}
	*seg = Segment{}
	segPool.Put(seg)
	return out, ok
}

// segPool holds the scratch segments of Poll: a segment is built in place
// and handed to Hooks by pointer, so Poll's own would escape to the heap.
var segPool = sync.Pool{New: func() any { return new(Segment) }}

// PollInto is Poll writing the segment into *seg, which it overwrites
// entirely, and reporting whether there was one; *seg is left alone when
// there is none. The segment is built in place (Hooks.WriteOptions sees
// seg itself), so a caller that keeps one Segment for all its connections
// moves no segment-sized copies around.
func (c *Conn) PollInto(nowT time.Time, buf []byte, seg *Segment) bool {
	now := c.clock(nowT)
	if c.state != StateClosed {
		c.runTimers(now)
	}
	ok := c.output(now, buf, seg)
	if c.state != StateClosed && c.state != StateTimeWait {
		c.armTimers(now)
	}
	return ok
}

func (c *Conn) output(now int64, buf []byte, seg *Segment) bool {
	if c.rstPending {
		c.buildRST(now, seg)
		return true
	}
	switch c.state {
	case StateClosed:
		return false
	case StateSynSent, StateSynReceived:
		if c.synPending {
			c.buildSYN(now, seg)
			return true
		}
	}
	if c.state.canSendData() {
		if c.outputData(now, buf, seg) {
			return true
		}
	}
	if c.probePending && c.state.synchronized() {
		c.probePending = false
		// Zero-window and keepalive probes carry no data and an old
		// sequence number, which any TCP answers with an ACK showing
		// its current window (RFC 9293 §3.8.4, §3.8.6.1).
		c.header(seg, now, c.sndUna-1, FlagACK)
		c.finishSegment(seg, OutInfo{Kind: KindProbe})
		return true
	}
	if (c.ackNow || c.windowUpdated) && c.state != StateSynSent && c.state != StateSynReceived {
		c.header(seg, now, c.sndNxt, FlagACK)
		c.finishSegment(seg, OutInfo{Kind: KindACK})
		return true
	}
	return false
}

// header builds a segment with the fields common to every non-SYN segment:
// ports, SEQ, ACK, window and timestamps.
func (c *Conn) header(seg *Segment, now int64, seq uint32, flags Flags) {
	*seg = Segment{
		SrcPort: c.id.Local.Port(), DstPort: c.id.Remote.Port(),
		Seq: seq, Flags: flags,
	}
	if flags&FlagACK != 0 {
		seg.Ack = c.rcvNxt
		seg.Window = c.advertise()
		c.lastAckSent = c.rcvNxt
		c.ackNow, c.windowUpdated = false, false
		c.delackAt = 0
		c.unackedBytes = 0
	}
	if c.tsOK {
		seg.Options.HasTimestamps = true
		seg.Options.TSVal = c.tsNow(now)
		seg.Options.TSEcr = c.tsRecent
	}
}

// finishSegment adds SACK blocks and hook options and counts the segment.
func (c *Conn) finishSegment(seg *Segment, info OutInfo) {
	// Options and payload together must fit the send MSS (RFC 9293
	// §3.7.1, RFC 6691): a data segment sized by effMSS has room only for
	// the fixed options and the hooks' reserve, so SACK blocks ride on
	// shorter segments and pure ACKs.
	limit := MaxOptionSpace
	if len(seg.Payload) > 0 {
		limit = min(MaxOptionSpace, c.sndMSS-len(seg.Payload))
	}
	if c.sackOK && seg.Flags&FlagACK != 0 && seg.Flags&(FlagRST|FlagSYN) == 0 && (c.hasDSACK || len(c.rcv.ooo) > 0) {
		room := limit - c.cfg.AckOptionReserve
		if len(seg.Payload) > 0 {
			room = limit - c.cfg.OptionReserve
		}
		o := &seg.Options
		for n := wire.MaxSACKBlocks; n > 0; n-- {
			o.NumSACKBlocks = n
			if OptionsLen(o) <= room {
				break
			}
			o.NumSACKBlocks = 0
		}
		if o.NumSACKBlocks > 0 {
			c.sackBlocksFor(o, 2+8*o.NumSACKBlocks)
		}
		c.hasDSACK = false
	}
	c.hooks.WriteOptions(seg, info, max(limit-OptionsLen(&seg.Options), 0))
	c.st.segsOut++
}

func (c *Conn) buildRST(now int64, seg *Segment) {
	c.rstPending = false
	flags := FlagRST
	*seg = Segment{SrcPort: c.id.Local.Port(), DstPort: c.id.Remote.Port(), Seq: c.rstSeq}
	if c.rstAck {
		// A reset of our own connection also acknowledges what we
		// received, as Linux does.
		flags |= FlagACK
		seg.Ack = c.rcvNxt
	}
	seg.Flags = flags
	if c.tsOK {
		// RFC 7323 §3.2: timestamps SHOULD be sent on RSTs.
		seg.Options.HasTimestamps = true
		seg.Options.TSVal = c.tsNow(now)
		seg.Options.TSEcr = c.tsRecent
	}
	c.st.rstOut++
	c.hooks.WriteOptions(seg, OutInfo{Kind: KindRST, ResetReason: c.rstReason}, MaxOptionSpace-OptionsLen(&seg.Options))
	c.st.segsOut++
}

func (c *Conn) buildSYN(now int64, seg *Segment) {
	c.synPending = false
	synAck := c.state == StateSynReceived
	*seg = Segment{SrcPort: c.id.Local.Port(), DstPort: c.id.Remote.Port(), Seq: c.iss, Flags: FlagSYN}
	// The window of a SYN is never scaled (RFC 7323 §2.2).
	wnd := min(c.rcvBufSize, 65535)
	seg.Window = uint16(wnd)
	info := OutInfo{Kind: KindSYN, Retransmission: c.synRetrans > 0}
	if synAck {
		seg.Flags |= FlagACK
		seg.Ack = c.rcvNxt
		c.lastAckSent = c.rcvNxt
		if seqGT(c.rcvNxt+uint32(wnd), c.rcvAdv) {
			c.rcvAdv = c.rcvNxt + uint32(wnd)
		}
		info.Kind = KindSYNACK
	}
	c.synOptions(&seg.Options, synAck, c.tsNow(now))
	if c.synRetrans == 0 {
		c.synXmit = now
	}
	c.rtoAt = later(now, c.rto)
	c.hooks.WriteOptions(seg, info, MaxOptionSpace-OptionsLen(&seg.Options))
	c.st.segsOut++
}

// outputData emits a retransmission, a tail loss probe or new data.
func (c *Conn) outputData(now int64, buf []byte, seg *Segment) bool {
	if c.tlpRetransmit {
		c.tlpRetransmit = false
		rs := c.outstanding()
		for i := len(rs) - 1; i >= 0; i-- {
			if rs[i].needsRetransmit() {
				c.tlp.endSeq = c.sndNxt
				c.retransmit(now, &rs[i], buf, true, seg)
				return true
			}
		}
	}
	if c.lostCount > 0 && (c.forceRetransmit || c.sendAllowance() > 0) {
		rs := c.outstanding()
		for i := range rs {
			if rs[i].needsRetransmit() {
				c.forceRetransmit = false
				c.retransmit(now, &rs[i], buf, false, seg)
				return true
			}
		}
	}
	if c.newData(now, buf, seg) {
		return true
	}
	// RFC 6675 §5 NextSeg() rule 4, rescue retransmission: once per
	// recovery, when nothing else can be sent, retransmit the last
	// unSACKed segment.
	if c.recovery == recFast && c.sackOK && !c.rescueDone && c.sendAllowance() >= c.effMSS() && c.snd.end() == c.sndNxt {
		rs := c.outstanding()
		for i := len(rs) - 1; i >= 0; i-- {
			if rs[i].flags&(recSacked|recRetrans|recLost) == 0 {
				c.rescueDone = true
				c.setFlags(&rs[i], recLost, 0)
				c.retransmit(now, &rs[i], buf, false, seg)
				return true
			}
			if rs[i].flags&recSacked == 0 {
				break
			}
		}
	}
	return false
}

// retransmit sends record r again.
func (c *Conn) retransmit(now int64, r *txRec, buf []byte, tlp bool, seg *Segment) {
	flags := FlagACK
	if r.flags&recFIN != 0 {
		flags |= FlagFIN
	}
	c.header(seg, now, r.seq, flags)
	seg.Payload = payloadBuf(buf, int(r.n))
	c.snd.read(r.seq, seg.Payload)
	c.setFlags(r, recRetrans|recEverRetrans, 0)
	r.xmit = now
	info := OutInfo{Kind: KindData, Retransmission: true, TLP: tlp}
	c.chunkInfo(&info, r.seq, int(r.n))
	if len(seg.Payload) > 0 {
		seg.Flags |= FlagPSH
	}
	c.finishSegment(seg, info)
	c.st.retransmits++
	c.st.bytesRetrans += uint64(r.n)
	c.st.bytesSent += uint64(r.n)
	c.st.lastDataSent = now
	c.emit(Event{Kind: EventRetransmit, Seq: r.seq, Len: int(r.n)})
	if c.rtoAt == 0 {
		c.rtoAt = later(now, c.rto)
	}
}

func (c *Conn) chunkInfo(info *OutInfo, seq uint32, n int) {
	if n == 0 || len(c.snd.chunks) == c.snd.chunkHead {
		return
	}
	if ch, _, ok := c.snd.chunkAt(seq); ok {
		info.HasChunk = true
		info.ChunkID = ch.id
		info.ChunkOffset = int(seq - ch.seq)
		info.ChunkLen = ch.n
	}
}

// newData sends the next segment of unsent data, or the FIN, subject to
// the peer's window, congestion control, sender silly-window avoidance and
// Nagle's algorithm (RFC 9293 §3.7.4, §3.8.6.2.1).
func (c *Conn) newData(now int64, buf []byte, seg *Segment) bool {
	probe := c.tlpNewData
	c.tlpNewData = false
	seq := c.sndNxt
	unsent := int(c.snd.end() - seq)
	if c.finSent {
		unsent = 0
	}
	mss := c.effMSS()
	size := 0
	if unsent > 0 {
		winLeft := c.sndWindowLeft()
		chunkLeft := unsent
		if len(c.snd.chunks) > c.snd.chunkHead {
			ch, limit, ok := c.snd.chunkAt(seq)
			if ok && c.sizer != nil && c.cfg.OptionReserve > 0 {
				info := OutInfo{Kind: KindData, HasChunk: true, ChunkID: ch.id, ChunkOffset: int(seq - ch.seq), ChunkLen: ch.n}
				mss += c.cfg.OptionReserve - min(max(c.sizer.DataOptionSpace(info), 0), c.cfg.OptionReserve)
			}
			chunkLeft = int(limit - seq)
		}
		size = min(unsent, mss, winLeft, chunkLeft)
		if size <= 0 {
			return false
		}
		inFlight := len(c.outstanding()) > 0
		if size < mss {
			switch {
			case size == winLeft && size < unsent && inFlight && 2*size < int(c.maxSndWnd) && !probe:
				// Sender SWS avoidance: wait for the window to open
				// further; an ACK will come for what is in flight.
				return false
			case size == unsent && inFlight && !c.noDelay && !c.finQueued && !probe:
				// Nagle: a small segment waits while data is
				// unacknowledged.
				return false
			}
		}
	} else if !c.finQueued || c.finSent {
		return false
	}
	// SACKed segments have left the network (RFC 6675 §5): only the
	// others count against the cap, or recovery could not send new data
	// for a whole window after a halving.
	if !probe && (c.sendAllowance() < max(size, 1) || len(c.outstanding())-c.sackedRecs >= c.maxSegsInFlight()) {
		c.cwndUsed = true
		return false
	}
	flags := FlagACK
	fin := c.finQueued && !c.finSent && seq+uint32(size) == c.snd.end()
	if fin {
		flags |= FlagFIN
	}
	c.header(seg, now, seq, flags)
	if size > 0 {
		seg.Flags |= FlagPSH
		seg.Payload = payloadBuf(buf, size)
		c.snd.read(seq, seg.Payload)
	}
	r := txRec{seq: seq, n: uint32(size), xmit: now}
	if fin {
		r.flags |= recFIN
		c.finSent = true
		c.finSeq = seq + uint32(size)
	}
	c.pushRec(r)
	c.sndNxt = seq + r.span()
	if c.sendAllowance() <= 0 {
		c.cwndUsed = true
	}
	info := OutInfo{Kind: KindData, TLP: probe}
	c.chunkInfo(&info, seq, size)
	c.finishSegment(seg, info)
	c.st.bytesSent += uint64(size)
	c.st.dataSegsOut++
	c.st.lastDataSent = now
	if probe {
		c.tlp.endSeq = c.sndNxt
	}
	if c.rtoAt == 0 {
		c.rtoAt = later(now, c.rto)
	}
	c.armPTO(now)
	return true
}

// maxSegsInFlight bounds the number of outstanding segments to twice the
// congestion window in full-sized segments, so that a stream of tiny
// writes (NoDelay, small chunks) cannot grow the retransmission queue, and
// the work per ACK, far beyond what full segments would need (the window
// is counted in bytes, not packets).
func (c *Conn) maxSegsInFlight() int {
	return max(2*c.cc.Cwnd()/c.effMSS(), 16)
}

func payloadBuf(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]byte, n)
}
