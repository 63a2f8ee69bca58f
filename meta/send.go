package meta

import (
	"slices"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// txChunk is a mapping written to a subflow with WriteChunk (RFC 8684
// §3.3.1): DSN dsn, relative subflow sequence number ssn, n bytes.
type txChunk struct {
	id       uint64
	dsn      uint64
	ssn      uint32
	n        int
	csum     uint16
	subAcked bool // the subflow acknowledged all of it
	reinj    bool // queued for reinjection on another subflow
}

// chunk finds the chunk with id (ids grow along the list).
func (sf *subflow) chunk(id uint64) *txChunk {
	tx := sf.tx[sf.txHead:]
	lo, hi := 0, len(tx)
	for lo < hi {
		m := (lo + hi) / 2
		if tx[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(tx) && tx[lo].id == id {
		return &tx[lo]
	}
	return nil
}

func (sf *subflow) chunkAcked(id uint64) {
	if ch := sf.chunk(id); ch != nil {
		ch.subAcked = true
	}
	if sf.stale {
		sf.stale = false
		sf.c.mib.inc(SubflowRecover)
	}
	sf.pruneTx()
}

// reinjectFrom queues for reinjection (RFC 8684 §3.3.6) the data sf
// carried that the peer has not acknowledged at the data level: all of
// it, or (all false) what the subflow has not acknowledged either, once.
func (c *Conn) reinjectFrom(sf *subflow, all bool) {
	for i := sf.txHead; i < len(sf.tx); i++ {
		ch := &sf.tx[i]
		if !all && (ch.subAcked || ch.reinj) {
			continue
		}
		ch.reinj = true
		if end := ch.dsn + uint64(ch.n); dsnLT(c.sndUna, end) {
			c.addReinject(dsnMax(ch.dsn, c.sndUna), end)
		}
	}
}

// subflowRTO handles a subflow's n-th retransmission timeout in a row.
//
// Failover does not wait for the subflow's backoff: at its first timeout,
// when another subflow works (no timeout pending), the data it has not
// delivered goes out on the others at once, and the scheduler gives it no
// new data while such a subflow exists (see schedule). A path that died
// thus costs one RTO of the subflow, not the several of its exponential
// backoff.
//
// It is marked stale at its StaleLossCount-th timeout in a row, when
// another subflow works (one with fewer than StaleLossCount-1 timeouts in
// a row, as Linux's mptcp_pm_subflow_chk_stale): it gets no new data even
// when it is the best left, and its undelivered data is reinjected.
func (c *Conn) subflowRTO(sf *subflow, n int) {
	if sf.stale || !sf.fully || sf.dead || !c.mptcp || c.fallback {
		return
	}
	if c.healthyOther(sf) {
		c.reinjectFrom(sf, false)
	}
	k := c.cfg.StaleLossCount
	if k < 0 || n < k {
		return
	}
	limit := max(k-1, 1)
	for _, o := range c.subflows {
		if o != sf && o.sendable() && o.tc.ConsecutiveRTOs() < limit {
			sf.stale = true
			c.mib.inc(SubflowStale)
			c.reinjectFrom(sf, false)
			return
		}
	}
}

// pruneTx forgets chunks acknowledged at both levels.
func (sf *subflow) pruneTx() {
	una := sf.c.sndUna
	for sf.txHead < len(sf.tx) {
		ch := &sf.tx[sf.txHead]
		if !ch.subAcked || dsnLT(una, ch.dsn+uint64(ch.n)) {
			break
		}
		sf.txHead++
	}
	if sf.txHead == len(sf.tx) {
		sf.tx, sf.txHead = sf.tx[:0], 0
	} else if sf.txHead > 64 && sf.txHead*2 > len(sf.tx) {
		k := copy(sf.tx, sf.tx[sf.txHead:])
		sf.tx, sf.txHead = sf.tx[:k], 0
	}
}

// writeSeq is the data sequence number of the next byte written.
func (c *Conn) writeSeq() uint64 { return c.sndUna + uint64(len(c.sbuf)-c.sOff) }

// sendable reports whether a subflow may take new chunks.
func (sf *subflow) sendable() bool { return !sf.stale && sf.usable() }

// usable reports whether a subflow can carry data, stale or not.
func (sf *subflow) usable() bool {
	if sf.dead || !sf.fully || sf.closed {
		return false
	}
	st := sf.tc.State()
	return st == tcp.StateEstablished || st == tcp.StateCloseWait
}

// failing reports whether a subflow may have lost its path: it waits out
// a retransmission timeout, or went silent (see checkSilence).
func (sf *subflow) failing() bool { return sf.silent || sf.tc.ConsecutiveRTOs() > 0 }

// minSilence is the shortest silence taken for a sign of a failed path:
// above the scheduling and acknowledgment jitter of hosts on short paths,
// a loaded machine's pauses included (a false alarm puts data on the other
// subflows, a backup one included, until the silent one is heard again).
const minSilence = 50 * time.Millisecond

// silenceLimit is how long sf may receive nothing with two or more
// segments in flight before its path is suspected to have failed: twice
// the smoothed RTT, at least SRTT + 4·RTTVAR (RFC 6298's timeout without
// its 1 s or 200 ms floor) and minSilence. Zero before the first RTT
// sample.
func (sf *subflow) silenceLimit() time.Duration {
	srtt, rttvar := sf.tc.SmoothedRTT()
	if srtt == 0 {
		return 0
	}
	return max(2*srtt, srtt+4*rttvar, minSilence)
}

// silenceDeadline is when checkSilence would suspect sf, the zero Time
// when it cannot (nothing in flight, or suspected or failing already).
func (sf *subflow) silenceDeadline() time.Time {
	if sf.failing() || !sf.sendable() || !sf.c.watchSilence() {
		return time.Time{}
	}
	since, lim := sf.tc.SilentSince(), sf.silenceLimit()
	if since.IsZero() || lim == 0 {
		return time.Time{}
	}
	return since.Add(lim)
}

// watchSilence reports whether subflows are watched for silence: on an
// MPTCP connection past its handshake (while it may still fall back, the
// initial subflow's own retransmissions are the only ones).
func (c *Conn) watchSilence() bool { return c.mptcp && !c.fallback && !c.mpcPhase }

// checkSilence suspects the path of a subflow that has received nothing
// for silenceLimit with data in flight while another subflow works: the
// data it has not delivered goes out on the others at once and it gets no
// new data (like a subflow in a retransmission timeout, see subflowRTO)
// until a segment arrives on it. A path that dies is thus left after a
// few round trips instead of one retransmission timeout (at least 200 ms),
// the time the receiver waits at the data level for what was in flight on
// it. Were the silence only a burst of lost ACKs, the cost is the copies
// of the reinjected data (RFC 8684 §3.3.6: the receiver keeps the first).
func (c *Conn) checkSilence(now time.Time) {
	for _, sf := range c.subflows {
		at := sf.silenceDeadline()
		if at.IsZero() || now.Before(at) || !c.healthyOther(sf) {
			continue
		}
		sf.silent = true
		c.mib.inc(SubflowSilent)
		c.reinjectFrom(sf, false)
		// The peer likely holds more of sf's data than it acknowledged:
		// the first reinjected chunk starts where it likely lacks data,
		// so that a subflow with a small window (a backup one, starting
		// from its initial window) fills the hole in its first flight
		// rather than carrying bytes the peer has and drops (RFC 8684
		// §3.3.6: it keeps the first copy of each byte). The rest follows in
		// order; if the guess is early, that chunk is partly duplicate,
		// if late, the hole is filled by the chunks that follow, as
		// without a guess.
		if seq, ok := sf.tc.LikelyHole(); ok {
			if dsn, ok := sf.dsnAt(seq - sf.iss); ok {
				c.reinjHint, c.reinjHinted = dsn, true
			}
		}
	}
}

// dsnAt maps the relative subflow sequence number ssn of a chunk sf has
// not forgotten to its data sequence number.
func (sf *subflow) dsnAt(ssn uint32) (uint64, bool) {
	for i := sf.txHead; i < len(sf.tx); i++ {
		ch := &sf.tx[i]
		if d := ssn - ch.ssn; d < uint32(ch.n) {
			return ch.dsn + uint64(d), true
		}
	}
	return 0, false
}

// hintedReinject returns the index of the reinjection range strictly
// holding the hint, consuming the hint; -1 when there is none.
func (c *Conn) hintedReinject() int {
	if !c.reinjHinted {
		return -1
	}
	c.reinjHinted = false
	for j, r := range c.reinj {
		if dsnLT(r.start, c.reinjHint) && dsnLT(c.reinjHint, r.end) {
			return j
		}
	}
	return -1
}

// consumeReinject removes [start, start+n) from reinjection range j.
func (c *Conn) consumeReinject(j int, start uint64, n int) {
	r := &c.reinj[j]
	end := start + uint64(n)
	switch {
	case start == r.start:
		r.start = end
		switch {
		case r.start != r.end:
		case j == 0:
			c.reinj = c.reinj[1:]
		default:
			c.reinj = slices.Delete(c.reinj, j, j+1)
		}
	case end == r.end:
		r.end = start
	default:
		tail := dsnRange{end, r.end}
		r.end = start
		c.reinj = slices.Insert(c.reinj, j+1, tail)
	}
}

// healthyOther reports whether a subflow other than sf can take data and
// may not have lost its path.
func (c *Conn) healthyOther(sf *subflow) bool {
	for _, o := range c.subflows {
		if o != sf && o.sendable() && !o.failing() {
			return true
		}
	}
	return false
}

func (c *Conn) anySendable() bool {
	for _, sf := range c.subflows {
		if sf.sendable() {
			return true
		}
	}
	return false
}

// schedule hands data to the subflows: data to reinject first, then new
// data within the peer's data-level window (RFC 8684 §3.3.4), in chunks
// each of which becomes one DSS mapping. The connection's scheduler picks
// the subflow of each chunk, may cut it shorter (View.Limit), and may have
// it sent on other subflows too (SubflowStatus.Copy): each copy is the
// same mapping on another subflow, and the receiver keeps the first copy
// of every byte that arrives (RFC 8684 §3.3.6).
func (c *Conn) schedule() {
	if !c.established || c.done {
		return
	}
	if c.fallback {
		c.pushFallback()
		return
	}
	if len(c.reinj) == 0 && c.sndNxt == c.writeSeq() || !dsnLT(c.sndNxt, c.sndWndEnd) && len(c.reinj) == 0 {
		c.maybeSendFin()
		return
	}
	// The statuses go to the Scheduler through an interface, so they
	// live in the Conn rather than on the stack.
	sts, sfs := c.schedSt[:0], c.schedSf[:0]
	w := c.scheduler()
	v := &w.view
	defer func() {
		clear(sfs[:cap(sfs)])
		c.schedSt, c.schedSf = sts[:0], sfs[:0]
		v.Subflows, v.conn = nil, nil
	}()
	stale := !c.anySendable()
	healthy := c.healthyOther(nil)
	for _, sf := range c.subflows {
		if !sf.sendable() && !(stale && sf.stale && sf.usable()) {
			// (Stale subflows only when nothing else is left.)
			continue
		}
		if healthy && sf.failing() {
			// A subflow waiting out a retransmission timeout, or
			// silent, may have lost its path: nothing new while
			// another one works.
			continue
		}
		i := sf.tc.SendState()
		sf.rto = i.RTO
		sts = append(sts, SubflowStatus{
			ID: sf.id, Backup: sf.backup || sf.remoteBackup, RTT: i.RTT, RTTVar: i.RTTVar,
			Cwnd: i.Cwnd, Ssthresh: i.Ssthresh, InFlight: i.InFlight, Queued: int(sf.tc.WriteSeq() - i.SndNxt),
			MSS: i.SendMSS,
		})
		sfs = append(sfs, sf)
	}
	v.Now, v.ChunkSize, v.conn = c.now, c.cfg.ChunkSize, c
	for len(sts) > 0 {
		var start, end uint64
		reinject := len(c.reinj) > 0
		rj := 0 // the reinjection range taken from
		if reinject {
			r := &c.reinj[0]
			start, end = r.start, r.end
			if j := c.hintedReinject(); j >= 0 && !w.copies {
				rj, r = j, &c.reinj[j]
				start, end = c.reinjHint, r.end
			}
			if w.copies {
				// Copies were made: a working subflow may still
				// carry this data, which then need not go out once
				// more.
				if k := c.carried(start, end); k > 0 {
					r.start += k
					if r.start == r.end {
						c.reinj = c.reinj[1:]
					}
					continue
				}
			}
		} else {
			end = dsnMin(c.writeSeq(), c.sndWndEnd)
			start = c.sndNxt
			if !dsnLT(start, end) {
				break
			}
		}
		v.Subflows = sts
		v.Pending = int(min(end-start, 1<<30))
		v.Reinject = reinject
		v.Unsent = int(min(c.writeSeq()-c.sndNxt, 1<<30))
		v.InFlight = int(min(c.sndNxt-c.sndUna, 1<<30))
		v.Window = 0
		if dsnLT(c.sndUna, c.sndWndEnd) {
			v.Window = int(min(c.sndWndEnd-c.sndUna, 1<<30))
		}
		k := w.pick(v)
		if k < 0 || k >= len(sts) {
			break
		}
		st, sf := &sts[k], sfs[k]
		n := v.ChunkLen(k)
		if !c.writeChunk(sf, start, n) {
			// Its send buffer is full: not a candidate until the
			// next Poll.
			sts = append(sts[:k], sts[k+1:]...)
			sfs = append(sfs[:k], sfs[k+1:]...)
			continue
		}
		st.Queued += n
		for i := range sts {
			if i == k || !sts[i].Copy {
				continue
			}
			// A copy on another subflow (redundant scheduling). The
			// subflows no longer carry the data stream as is.
			c.infOK = false
			w.copies = true
			if c.writeChunk(sfs[i], start, n) {
				sts[i].Queued += n
				c.st.bytesSent += uint64(n)
			}
		}
		if reinject {
			c.infOK = false // the subflows no longer carry the data stream as is
			c.consumeReinject(rj, start, n)
			c.st.retransmits++
			c.st.bytesRetrans += uint64(n)
			c.mib.inc(MPTCPRetrans)
		} else {
			c.sndNxt += uint64(n)
		}
		c.st.bytesSent += uint64(n)
		c.st.lastDataSent = c.now
	}
	c.maybeSendFin()
}

// csumWindowShare is the part of the peer's data-level window that one
// mapping may take when DSS checksums are on (see chunkLen).
const csumWindowShare = 16

// chunkLen is the size of the next chunk: ChunkSize rounded down to whole
// segments, at most avail.
//
// With DSS checksums a chunk is also at most a sixteenth of the peer's
// data-level window (RFC 8684 §3.3.4), though never below a segment: the
// receiver verifies, delivers and acknowledges a mapping only once all of
// it has arrived (§3.3.1), so the mapping each subflow has in progress
// holds its whole length of the window until its last byte is in. Mappings
// that are large against the window (small receive buffers, no window
// scaling) left the subflows waiting for window most of the time.
func (c *Conn) chunkLen(mss int, avail uint64) int {
	n := c.cfg.ChunkSize
	if c.csum {
		wnd := int(min(c.sndWndEnd-c.sndUna, maxChunkSize*csumWindowShare))
		n = min(n, max(wnd/csumWindowShare, mss, 1))
	}
	if mss > 0 && n > mss {
		// Whole segments: the first carries the mapping, the others
		// have its option space for payload (see DataOptionSpace).
		full := mss + dataOptionReserve
		n = mss + (n-mss)/full*full
	}
	if uint64(n) > avail {
		n = int(avail)
	}
	return n
}

// writeChunk writes the n bytes at dsn to sf as one mapping.
func (c *Conn) writeChunk(sf *subflow, dsn uint64, n int) bool {
	off := c.sOff + int(dsn-c.sndUna)
	p := c.sbuf[off : off+n]
	id := c.nextChunkID
	ssn := sf.tc.WriteSeq() - sf.iss
	if err := sf.tc.WriteChunk(p, id); err != nil {
		return false
	}
	c.nextChunkID++
	ch := txChunk{id: id, dsn: dsn, ssn: ssn, n: n}
	if c.csum {
		ch.csum = wire.DSSChecksum(dsn, ssn, uint16(n), p)
	}
	sf.tx = append(sf.tx, ch)
	c.armRTO()
	return true
}

// maybeSendFin sends our DATA_FIN once all data is out (RFC 8684 §3.3.3),
// on a pure ACK of the best subflow.
func (c *Conn) maybeSendFin() {
	if !c.finQueued || c.finSent || c.sndNxt != c.writeSeq() || len(c.reinj) > 0 {
		return
	}
	var best *subflow
	for _, sf := range c.subflows {
		if sf.sendable() && (best == nil || sf.rto < best.rto) {
			best = sf
		}
	}
	if best == nil {
		return
	}
	c.finSent = true
	c.finDSN = c.sndNxt
	c.finSub = best
	best.ackWanted = true
	c.armRTO()
}

// pushFallback moves written data to the single TCP connection after a
// fallback, where it is plain TCP data.
func (c *Conn) pushFallback() {
	sf := c.fbSub
	if sf == nil || sf.dead {
		return
	}
	if c.infTx && seqLT(c.infSSN, sf.tc.Info().SndUna-sf.iss) {
		c.infTx = false // the peer has data beyond the infinite mapping's start
	}
	if c.sOff < len(c.sbuf) {
		n, err := sf.tc.Write(c.sbuf[c.sOff:])
		if err == nil && n > 0 {
			c.sOff += n
			c.sndUna += uint64(n)
			c.sndNxt = c.sndUna
			c.st.bytesSent += uint64(n)
			c.st.lastDataSent = c.now
			c.compactSend()
			c.emit(Event{Kind: EventWritable})
		}
	}
	if c.finQueued && !c.finSent && c.sOff == len(c.sbuf) {
		c.finSent = true
		sf.tc.CloseWrite()
	}
}

func (c *Conn) compactSend() {
	if c.sOff == len(c.sbuf) {
		c.sbuf, c.sOff = c.sbuf[:0], 0
		if cap(c.sbuf) > 256<<10 {
			c.sbuf = nil
		}
		return
	}
	if c.sOff > 64<<10 && c.sOff*2 > len(c.sbuf) {
		k := copy(c.sbuf, c.sbuf[c.sOff:])
		c.sbuf, c.sOff = c.sbuf[:k], 0
	}
}

// onDataAck processes a DATA_ACK and the window beside it (RFC 8684
// §3.3.2, §3.3.4).
func (c *Conn) onDataAck(sf *subflow, d *wire.DSS, window uint16) {
	ack := c.dataAck(d)
	limit := c.sndNxt
	if c.finSent {
		limit = c.finDSN + 1
	}
	if dsnLT(ack, c.sndUna) || dsnLT(limit, ack) {
		return // old, or acknowledges what was never sent: ignore
	}
	c.st.lastAckRecv = c.now
	if dsnLT(c.sndUna, ack) {
		data := dsnMin(ack, c.writeSeq())
		n := int(data - c.sndUna)
		c.sOff += n
		c.sndUna = data
		c.st.bytesAcked += uint64(n)
		if c.finSent && ack == c.finDSN+1 {
			c.finAcked = true
		}
		c.compactSend()
		c.trimReinject()
		for _, s := range c.subflows {
			s.pruneTx()
		}
		c.rtoAt, c.rtoBackoff = time.Time{}, 0
		c.armRTO()
		if n > 0 && !c.closeDeadline.IsZero() {
			// The close timeout bounds a close that makes no
			// progress, not a long transfer before the DATA_FIN.
			c.closeDeadline = c.now.Add(c.cfg.CloseTimeout)
		}
		if n > 0 {
			c.emit(Event{Kind: EventWritable})
		}
	}
	// The window is relative to the DATA_ACK; its right edge never
	// moves left (§3.3.4).
	if edge := ack + uint64(window)<<sf.wscaleShift(); dsnLT(c.sndWndEnd, edge) {
		c.sndWndEnd = edge
	}
}

// dataAck returns the DATA_ACK of d as 64 bits.
func (c *Conn) dataAck(d *wire.DSS) uint64 {
	if d.Flags&wire.DSSDataACK64 == 0 {
		return expand32(c.sndUna, uint32(d.DataACK))
	}
	return d.DataACK
}

func expand32(ref uint64, low uint32) uint64 {
	return ref + uint64(int64(int32(low-uint32(ref))))
}

func (c *Conn) addReinject(start, end uint64) {
	if !dsnLT(start, end) {
		return
	}
	// Insert keeping the list sorted and disjoint.
	rs := append(c.reinj, dsnRange{start, end})
	for i := len(rs) - 1; i > 0 && dsnLT(rs[i].start, rs[i-1].start); i-- {
		rs[i], rs[i-1] = rs[i-1], rs[i]
	}
	k := 0
	for i := 1; i < len(rs); i++ {
		if dsnLEQ(rs[i].start, rs[k].end) {
			rs[k].end = dsnMax(rs[k].end, rs[i].end)
		} else {
			k++
			rs[k] = rs[i]
		}
	}
	c.reinj = rs[:k+1]
}

func (c *Conn) trimReinject() {
	k := 0
	for _, r := range c.reinj {
		if dsnLEQ(r.end, c.sndUna) {
			continue
		}
		r.start = dsnMax(r.start, c.sndUna)
		c.reinj[k] = r
		k++
	}
	c.reinj = c.reinj[:k]
}

// Data-level retransmission timeout bounds.
const (
	minDataRTO = time.Second
	maxDataRTO = 60 * time.Second
)

// armRTO starts the data-level retransmission timer when data or the
// DATA_FIN is unacknowledged.
func (c *Conn) armRTO() {
	if !c.rtoAt.IsZero() || c.fallback {
		return
	}
	if c.sndUna == c.sndNxt && !(c.finSent && !c.finAcked) {
		return
	}
	d := minDataRTO
	for _, sf := range c.subflows {
		if !sf.dead {
			d = max(d, 2*sf.rto)
		}
	}
	d <<= min(c.rtoBackoff, 6)
	c.rtoAt = c.now.Add(min(d, maxDataRTO))
}

// timers fires the engine's timers: the data-level retransmission timer
// (the peer acknowledged nothing at the data level for a while: data on
// subflows that are in TCP retransmission timeouts goes out again on the
// others, as does the oldest unacknowledged chunk, and the DATA_FIN is
// repeated, RFC 8684 §3.3.6), the repetitions of a join's third ACK and of
// ADD_ADDR, the MP_FAIL wait and the close timeout.
func (c *Conn) timers(now time.Time) {
	c.infiniteTimer(now)
	if c.closeArm {
		c.closeArm = false
		if c.cfg.CloseTimeout > 0 && !c.closeSubs && !c.done {
			c.closeDeadline = now.Add(c.cfg.CloseTimeout)
		}
	}
	c.closeTimer(now)
	if c.done {
		return
	}
	c.announceTimer(now)
	c.checkSilence(now)
	for _, sf := range c.subflows {
		if !sf.ack3At.IsZero() {
			sf.ack3Timer(now)
		}
	}
	if c.rtoAt.IsZero() || now.Before(c.rtoAt) || c.done {
		return
	}
	c.rtoAt = time.Time{}
	c.rtoBackoff++
	if c.sndUna != c.sndNxt && !c.mpcPhase && !c.rxInfWait {
		// (While the handshake may still fall back, the initial
		// subflow's own retransmissions are the only ones: a
		// data-level copy would turn into duplicate TCP bytes.)
		for _, sf := range c.subflows {
			if !sf.dead && sf.txHead < len(sf.tx) && sf.failing() {
				c.reinjectFrom(sf, false)
			}
		}
		c.addReinject(c.sndUna, dsnMin(c.sndNxt, c.sndUna+uint64(c.cfg.ChunkSize)))
	}
	if c.finSent && !c.finAcked {
		for _, sf := range c.subflows {
			if sf.sendable() {
				sf.ackWanted = true
			}
		}
	}
	c.armRTO()
}
