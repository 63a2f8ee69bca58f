package meta

import (
	"io"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// rxMap is a received DSS mapping (RFC 8684 §3.3.1) in absolute subflow
// sequence numbers: the n bytes from ssn carry data sequence numbers from
// dsn.
type rxMap struct {
	ssn     uint32
	dsn     uint64
	n       uint32 // bytes of data (a DATA_FIN's octet excluded)
	dataLen uint16 // the Data-Level Length field, which the checksum covers
	csum    uint16
	hasCsum bool
	fin     bool // a DATA_FIN follows the data
}

func (m *rxMap) end() uint32 { return m.ssn + m.n }

// minRxMaps and rxMapBytes bound the mappings a subflow remembers: at
// least minRxMaps, and one for every rxMapBytes of its largest receive
// buffer, so that a peer mapping each segment on its own (as a
// round-robin scheduler may) fits a whole window of them, with room for
// segments of a third of the usual size. Data whose mapping did not fit
// cannot be placed: its subflow is reset (see pull).
const (
	minRxMaps  = 256
	rxMapBytes = 512
)

// maxRxMaps is the bound of a subflow's mappings.
func (c *Conn) maxRxMaps() int { return max(minRxMaps, c.cfg.Subflow.MaxRecvBufferSize/rxMapBytes) }

// maxOOOSegs bounds the out-of-order ranges kept at the data level.
const maxOOOSegs = 1024

type oooSeg struct {
	dsn  uint64
	data []byte
}

func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }

// incomingMapping returns the mapping a segment carries, if any: from a
// DSS, or from an MP_CAPABLE with data on the passive initial subflow
// (RFC 8684 §3.1: DSN IDSN+1, subflow sequence number 1). A DATA_FIN
// takes the last octet of a mapping's data-level length (§3.3.3).
func (sf *subflow) incomingMapping(m *wire.MPTCPOptions) (rxMap, bool, bool) {
	c := sf.c
	if m.Has(wire.SubtypeDSS) && m.DSS.HasMapping() {
		d := &m.DSS
		if d.IsInfiniteMapping() {
			return rxMap{}, false, false
		}
		dsn := d.DSN
		if d.Flags&wire.DSSDSN64 == 0 {
			dsn = expand32(c.rcvNxt, uint32(dsn))
		}
		n := uint32(d.DataLen)
		fin := d.DataFIN()
		if fin {
			n--
		}
		return rxMap{ssn: sf.irs + d.SSN, dsn: dsn, n: n, dataLen: d.DataLen, csum: d.Checksum, hasCsum: d.HasChecksum, fin: fin}, fin, true
	}
	if sf.initial && !sf.active && m.Has(wire.SubtypeMPCapable) && m.MPCapable.Form.HasDataLen() && c.remoteKeyKnown {
		mpc := &m.MPCapable
		return rxMap{ssn: sf.irs + 1, dsn: c.remoteIDSN + 1, n: uint32(mpc.DataLen), dataLen: mpc.DataLen, csum: mpc.Checksum,
			hasCsum: mpc.Form.HasChecksum()}, false, true
	}
	return rxMap{}, false, false
}

// checkMapping validates the mapping on an incoming segment against the
// segment and the mappings seen before (RFC 8684 §3.3.1, §3.7).
func (sf *subflow) checkMapping(seg *tcp.Segment, m *wire.MPTCPOptions) tcp.Verdict {
	c := sf.c
	if m.Has(wire.SubtypeDSS) && m.DSS.IsInfiniteMapping() {
		// An infinite mapping (§3.7) answers our MP_FAIL; unasked
		// for, it is an error.
		if c.rxInfWait {
			return tcp.Accept
		}
		c.mib.inc(InfiniteMapRx)
		sf.rstReason = wire.TCPRSTMPTCPError
		return tcp.Reset
	}
	mp, fin, ok := sf.incomingMapping(m)
	if !ok || fin && mp.n == 0 {
		return tcp.Accept // no mapping, or a DATA_FIN without data
	}
	if len(seg.Payload) > 0 {
		off := seg.Seq - mp.ssn
		if off >= mp.n || uint64(off)+uint64(len(seg.Payload)) > uint64(mp.n) {
			// The mapping does not cover the segment's data.
			c.mib.inc(DSSNoMatchTCP)
			sf.rstReason = wire.TCPRSTMPTCPError
			return tcp.Reset
		}
	}
	if mp.hasCsum != c.csum && mp.n > 0 {
		// §3.3.1: the checksum is present exactly when negotiated.
		c.mib.inc(DSSNotMatching)
		sf.rstReason = wire.TCPRSTMPTCPError
		return tcp.Reset
	}
	for i := range sf.maps {
		x := &sf.maps[i]
		if !seqLT(mp.ssn, x.end()) || !seqLT(x.ssn, mp.end()) {
			continue
		}
		// Overlapping mappings must map the shared bytes alike. A
		// mapping repeated with the DATA_FIN folded in (RFC 8684
		// §3.3.3: Data-Level Length one more, flag F), as Linux sends
		// the rest of its last mapping once its DATA_FIN is queued,
		// maps the same bytes; its checksum covers the other length,
		// so the two checksums differ (§3.3.1).
		foldedFin := x.fin != mp.fin && x.dsn == mp.dsn
		if x.dsn+uint64(int64(int32(mp.ssn-x.ssn))) != mp.dsn ||
			c.csum && (x.ssn != mp.ssn || x.n != mp.n || x.csum != mp.csum && !foldedFin) {
			c.mib.inc(DSSNotMatching)
			sf.rstReason = wire.TCPRSTMPTCPError
			return tcp.Reset
		}
	}
	return tcp.Accept
}

// processOptions acts on the MPTCP options of an accepted segment of an
// MPTCP subflow: DATA_ACK, mapping, DATA_FIN, MP_FAIL.
func (c *Conn) processOptions(sf *subflow, seg *tcp.Segment, m *wire.MPTCPOptions) {
	if m.Has(wire.SubtypeMPFastClose) {
		// RFC 8684 §3.5, on an ACK: reset every subflow.
		c.onFastClose(&m.MPFastClose)
		if c.done || c.err != nil {
			return
		}
	}
	if m.Has(wire.SubtypeAddAddr) {
		c.onAddAddr(sf, &m.AddAddr)
	}
	if m.Has(wire.SubtypeRemoveAddr) {
		c.onRemoveAddr(m.RemoveAddr.IDs)
	}
	if m.Has(wire.SubtypeMPPrio) {
		c.onPrio(sf, &m.MPPrio)
	}
	if m.Has(wire.SubtypeDSS) && m.DSS.HasDataACK() {
		c.mpcPhase = false // RFC 8684 §3.1: the peer's first DATA_ACK ends it
		c.onDataAck(sf, &m.DSS, seg.Window)
	}
	if m.Has(wire.SubtypeMPFail) {
		c.mib.inc(MPFailRx)
		c.onMPFail(sf, m)
		if c.fallback {
			return
		}
	}
	if m.Has(wire.SubtypeDSS) && m.DSS.IsInfiniteMapping() {
		c.onInfiniteMapping(sf, &m.DSS)
		return
	}
	mp, fin, ok := sf.incomingMapping(m)
	if !ok {
		return
	}
	if fin && mp.n == 0 {
		// A DATA_FIN without data (§3.3.3). With checksums its
		// pseudo-header is covered like any mapping's (§3.3.1): a
		// damaged one is ignored, and the peer repeats it.
		if c.csum && (!mp.hasCsum || !wire.VerifyDSSChecksum(mp.dsn, mp.ssn-sf.irs, mp.dataLen, mp.csum, nil)) {
			c.mib.inc(DataCsumErr)
			return
		}
		c.peerDataFin(mp.dsn)
		return
	}
	// A DATA_FIN after data counts once that data has been read (and
	// its checksum verified): see pull.
	sf.addMap(mp, seg)
}

// addMap remembers a mapping until its data is read.
func (sf *subflow) addMap(mp rxMap, seg *tcp.Segment) {
	rs := sf.tc.ReadSeq()
	if seqLEQ(mp.end(), rs) {
		return // all of it was read already
	}
	i := len(sf.maps)
	for i > 0 && seqLEQ(mp.ssn, sf.maps[i-1].ssn) {
		if x := &sf.maps[i-1]; x.ssn == mp.ssn && x.n == mp.n {
			if mp.fin && !x.fin && !x.hasCsum {
				// The same mapping with the DATA_FIN folded in:
				// the DATA_FIN follows its data. (With checksums
				// the first form's checksum and length stay, to
				// verify the data; the peer's DATA_FIN is repeated
				// on its own until acknowledged.)
				x.fin, x.dataLen = true, mp.dataLen
			}
			return // known
		}
		i--
	}
	if len(sf.maps) >= sf.c.maxRxMaps() {
		return
	}
	sf.maps = append(sf.maps, rxMap{})
	copy(sf.maps[i+1:], sf.maps[i:])
	sf.maps[i] = mp
}

// mapAt returns the mapping that covers subflow sequence number seq,
// dropping those that end before it.
func (sf *subflow) mapAt(seq uint32) *rxMap {
	k := 0
	for k < len(sf.maps) && seqLEQ(sf.maps[k].end(), seq) {
		k++
	}
	if k > 0 {
		n := copy(sf.maps, sf.maps[k:])
		sf.maps = sf.maps[:n]
	}
	for i := range sf.maps {
		x := &sf.maps[i]
		if seqLEQ(x.ssn, seq) && seqLT(seq, x.end()) {
			return x
		}
		if seqLT(seq, x.ssn) {
			break
		}
	}
	return nil
}

// pullAll drains every subflow.
func (c *Conn) pullAll() {
	for _, sf := range c.subflows {
		c.pull(sf)
	}
}

// pull moves a subflow's in-order data into the data-level receive buffer
// through its mappings, while fewer than RecvBufferSize bytes wait for the
// application.
func (c *Conn) pull(sf *subflow) {
	if sf.tc == nil || !c.established || sf.bad {
		return
	}
	if c.fallback {
		c.pullFallback(sf)
		return
	}
	if !sf.fully {
		return
	}
	if c.rxInfWait {
		c.skipToInfinite(sf)
		return
	}
	var sp *[]byte // from scratchPool
	defer func() {
		if sp != nil {
			scratchPool.Put(sp)
		}
	}()
	for sf.tc.Readable() > 0 && c.Readable() < c.cfg.RecvBufferSize {
		rs := sf.tc.ReadSeq()
		mp := sf.mapAt(rs)
		if mp == nil {
			// RFC 8684 §3.3, §3.7: data without a mapping, its DSS
			// lost to a middlebox. On the only subflow of an
			// unbroken stream both ends fall back to TCP; else the
			// data cannot be placed and the subflow is reset.
			if c.tryDSSFallback(sf) {
				c.pullFallback(sf)
				return
			}
			c.mib.inc(DSSNoMatchTCP)
			c.resetSubflow(sf, wire.TCPRSTMiddleboxInterference)
			return
		}
		want := int(mp.end() - rs)
		if mp.hasCsum {
			// The checksum covers the whole mapping (§3.3.1): its
			// bytes are verified together. Those the subflow holds
			// before the rest has arrived are set aside, so that
			// its window opens for the rest: a mapping larger than
			// the subflow's receive buffer (sized by the window of
			// another subflow, or by a peer that maps more than
			// one window) would otherwise never be complete.
			if rs-uint32(len(sf.stage)) != mp.ssn {
				c.resetSubflow(sf, wire.TCPRSTMPTCPError)
				return
			}
			if len(sf.stage) > 0 || sf.tc.Readable() < want {
				if !c.stageMapping(sf, mp, want) {
					return
				}
				continue
			}
		}
		dsn := mp.dsn + uint64(rs-mp.ssn)
		if !mp.hasCsum && dsn == c.rcvNxt && !c.readClosed {
			// In order: straight into the receive buffer, one copy
			// fewer than through the scratch buffer.
			if k := min(want, sf.tc.Readable(), c.inOrderRoom()); k > 0 {
				got, _ := sf.tc.Read(c.inOrderSpace(k))
				c.inOrderAdded(got)
				if mp.fin && rs+uint32(got) == mp.end() {
					c.peerDataFin(mp.dsn + uint64(mp.n))
				}
				if got == 0 {
					return
				}
				continue
			}
		}
		if sp == nil {
			sp = scratchPool.Get().(*[]byte)
		}
		n := min(want, sf.tc.Readable())
		if !mp.hasCsum {
			n = min(n, len(*sp)) // the rest in the next round
		} else if len(*sp) < n {
			*sp = make([]byte, n) // a checksummed mapping is verified whole
		}
		buf := (*sp)[:n]
		got, _ := sf.tc.Read(buf)
		buf = buf[:got]
		if mp.hasCsum && !c.verifyMapping(sf, mp, buf) {
			return
		}
		c.deliver(dsn, buf)
		if mp.fin && rs+uint32(got) == mp.end() {
			c.peerDataFin(mp.dsn + uint64(mp.n))
		}
		if got == 0 {
			return
		}
	}
	if sf.tc.Readable() == 0 {
		if _, err := sf.tc.Read(nil); err == io.EOF && !sf.closed {
			// The peer closed the subflow (a FIN, not a DATA_FIN):
			// no new data goes on it; close our side too.
			sf.closed = true
			sf.tc.Close()
		}
	}
}

// stageMapping reads up to want bytes of the checksummed mapping mp from
// sf into its staging buffer and, once the mapping is whole, verifies and
// delivers it. It reports whether pull may go on with sf.
func (c *Conn) stageMapping(sf *subflow, mp *rxMap, want int) bool {
	if cap(sf.stage) < int(mp.n) {
		sf.stage = append(make([]byte, 0, mp.n), sf.stage...)
	}
	old := len(sf.stage)
	n := min(want, sf.tc.Readable())
	sf.stage = sf.stage[:old+n]
	got, _ := sf.tc.Read(sf.stage[old:])
	sf.stage = sf.stage[:old+got]
	if got == 0 {
		return false
	}
	if len(sf.stage) < int(mp.n) {
		return true // the rest is still to come
	}
	buf := sf.stage
	sf.stage = sf.stage[:0]
	if !c.verifyMapping(sf, mp, buf) {
		return false
	}
	c.deliver(mp.dsn, buf)
	if mp.fin {
		c.peerDataFin(mp.dsn + uint64(mp.n))
	}
	return true
}

// verifyMapping checks the DSS checksum of the whole mapping mp, data
// (RFC 8684 §3.3.1), and reports whether it matches. On a failure
// (§3.7) the data is not used: with other subflows (or when the data
// stream could not continue on this one as plain TCP) the subflow is
// reset with MP_FAIL naming the mapping, and its data will be sent again
// on others; on the only subflow, MP_FAIL asks the peer to fall back with
// an infinite mapping.
func (c *Conn) verifyMapping(sf *subflow, mp *rxMap, data []byte) bool {
	if wire.VerifyDSSChecksum(mp.dsn, mp.ssn-sf.irs, mp.dataLen, mp.csum, data) {
		return true
	}
	c.mib.inc(DataCsumErr)
	sf.failPending, sf.failDSN = true, mp.dsn
	if c.infOK && c.liveSubflows() == 1 && mp.dsn == c.rcvNxt && !c.rcvFin {
		c.awaitInfinite(sf)
		return false
	}
	c.resetSubflow(sf, wire.TCPRSTMiddleboxInterference)
	return false
}

func (c *Conn) resetSubflow(sf *subflow, reason wire.TCPRSTReason) {
	sf.bad = true // what it still holds is not to be read
	sf.stage = nil
	sf.rstReason = reason
	sf.tc.Abort()
}

// pullFallback reads plain TCP data after a fallback.
func (c *Conn) pullFallback(sf *subflow) {
	if sf != c.fbSub {
		return
	}
	for c.Readable() < c.cfg.RecvBufferSize {
		if c.readClosed {
			var sink [4096]byte
			n, _ := sf.tc.Read(sink[:])
			if n == 0 {
				break
			}
			continue
		}
		room := c.cfg.RecvBufferSize - c.Readable()
		old := len(c.rbuf)
		if cap(c.rbuf)-old < room {
			c.rbuf = growBytes(c.rbuf, min(room, max(sf.tc.Readable(), 4096)))
		}
		n, err := sf.tc.Read(c.rbuf[old:min(cap(c.rbuf), old+room)])
		c.rbuf = c.rbuf[:old+n]
		if n > 0 {
			c.st.bytesReceived += uint64(n)
			c.st.lastDataRecv = c.now
			c.emit(Event{Kind: EventReadable})
			continue
		}
		if err == io.EOF && !c.rcvFin {
			c.rcvFin = true
			c.emit(Event{Kind: EventEOF})
		}
		break
	}
}

// appendFallback adds plain TCP data that the subflow gave up before a
// fallback to the receive buffer.
func (c *Conn) appendFallback(p []byte) {
	if len(p) == 0 {
		return
	}
	c.st.bytesReceived += uint64(len(p))
	c.st.lastDataRecv = c.now
	if c.readClosed {
		return
	}
	c.rbuf = append(c.rbuf, p...)
	c.emit(Event{Kind: EventReadable})
}

func growBytes(b []byte, n int) []byte {
	nb := make([]byte, len(b), len(b)+max(n, len(b)))
	copy(nb, b)
	return nb
}

// deliver places data at dsn into the data stream: duplicates are dropped,
// data beyond the receive window too, out-of-order data is queued
// (RFC 8684 §3.3).
func (c *Conn) deliver(dsn uint64, data []byte) {
	if len(data) == 0 {
		return
	}
	c.st.lastDataRecv = c.now
	end := dsn + uint64(len(data))
	if dsnLEQ(end, c.rcvNxt) {
		c.mib.inc(DuplicateData)
		return
	}
	if dsnLT(dsn, c.rcvNxt) {
		// Partly old: keep the new part (Linux counts DuplicateData
		// only for data that is old as a whole).
		data = data[c.rcvNxt-dsn:]
		dsn = c.rcvNxt
	}
	limit := c.rcvLimit()
	if !dsnLT(dsn, limit) {
		c.mib.inc(NoDSSInWindow)
		return
	}
	if dsnLT(limit, end) {
		c.mib.inc(NoDSSInWindow)
		data = data[:limit-dsn]
		end = limit
	}
	if dsn != c.rcvNxt {
		c.queueOOO(dsn, data)
		return
	}
	c.appendInOrder(data)
	c.drainOOO()
}

// drainOOO moves the queued data that now follows in order and notes a
// DATA_FIN that is now reached.
func (c *Conn) drainOOO() {
	for len(c.ooo) > 0 {
		s := &c.ooo[0]
		if dsnLT(c.rcvNxt, s.dsn) {
			break
		}
		if e := s.dsn + uint64(len(s.data)); dsnLT(c.rcvNxt, e) {
			c.appendInOrder(s.data[c.rcvNxt-s.dsn:])
		}
		c.oooBytes -= len(s.data)
		putOOO(s.data)
		c.ooo[0] = oooSeg{}
		c.ooo = c.ooo[1:]
	}
	if len(c.ooo) == 0 {
		c.ooo = nil
	}
	c.checkPeerFin()
}

// rcvWindow is how far beyond rcvNxt data is accepted: at least as far as
// any subflow's advertised window reaches, since the peer applies those
// windows from DATA_ACK (RFC 8684 §3.3.4).
func (c *Conn) rcvWindow() int {
	return max(c.cfg.RecvBufferSize, c.cfg.Subflow.MaxRecvBufferSize)
}

// scratchPool holds the buffers pull reads a subflow's data into before
// placing it: no connection keeps one between calls (an idle connection
// that had received a byte kept 16 KiB for good).
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, 64<<10)
	return &b
}}

// rbufPool keeps the large in-order receive buffers that connections
// whose application read everything gave up: a busy connection drains and
// refills its buffer all the time, and growing a new one each time (an
// allocation and a copy at every doubling) cost more than all the rest of
// the data-level receive path. An idle connection holds none.
var rbufPool sync.Pool // of *[]byte, empty

func (c *Conn) appendInOrder(p []byte) {
	if !c.readClosed && len(p) > 0 {
		c.prepareRbuf()
		c.rbuf = append(c.rbuf, p...)
	}
	c.advanceInOrder(len(p))
}

// advanceInOrder moves rcvNxt over n bytes now in the receive buffer (or
// dropped, the application having closed its reading side).
func (c *Conn) advanceInOrder(n int) {
	c.rcvNxt += uint64(n)
	c.st.bytesReceived += uint64(n)
	if !c.readClosed {
		c.emit(Event{Kind: EventReadable})
	}
}

// prepareRbuf takes a pooled receive buffer if there is none and moves
// the unread bytes to its front once the read ones are the larger part.
func (c *Conn) prepareRbuf() {
	if c.rbuf == nil {
		if b, ok := rbufPool.Get().(*[]byte); ok {
			c.rbuf = (*b)[:0]
		}
	}
	if c.rOff > 0 && c.rOff*2 > len(c.rbuf) {
		k := copy(c.rbuf, c.rbuf[c.rOff:])
		c.rbuf, c.rOff = c.rbuf[:k], 0
	}
}

// rcvLimit is the data sequence number deliver takes data up to: the
// window's right edge, or the peer's DATA_FIN.
func (c *Conn) rcvLimit() uint64 {
	limit := c.rcvNxt + uint64(c.rcvWindow())
	if c.rcvFinKnown {
		limit = dsnMin(limit, c.rcvFinDSN)
	}
	return limit
}

// inOrderRoom is how many bytes at rcvNxt deliver would take.
func (c *Conn) inOrderRoom() int {
	limit := c.rcvLimit()
	if !dsnLT(c.rcvNxt, limit) {
		return 0
	}
	return int(min(limit-c.rcvNxt, 1<<30))
}

// inOrderSpace returns room for k bytes at the end of the receive buffer,
// for inOrderAdded to take in (not readClosed).
func (c *Conn) inOrderSpace(k int) []byte {
	c.prepareRbuf()
	c.rbuf = slices.Grow(c.rbuf, k)
	return c.rbuf[len(c.rbuf) : len(c.rbuf)+k]
}

// inOrderAdded takes in the n bytes at rcvNxt written into inOrderSpace,
// as deliver does data that arrives in order.
func (c *Conn) inOrderAdded(n int) {
	if n == 0 {
		return
	}
	c.st.lastDataRecv = c.now
	c.rbuf = c.rbuf[:len(c.rbuf)+n]
	c.advanceInOrder(n)
	c.drainOOO()
}

// queueOOO keeps data that arrived ahead of rcvNxt, sorted and without
// overlaps; bytes already queued win. Data that continues a queued range
// is appended to it; ranges are not otherwise joined, so that filling a
// hole never copies what is queued after it.
func (c *Conn) queueOOO(dsn uint64, data []byte) {
	end := dsn + uint64(len(data))
	i := 0
	for i < len(c.ooo) && dsnLEQ(c.ooo[i].dsn+uint64(len(c.ooo[i].data)), dsn) {
		i++
	}
	if i == len(c.ooo) {
		c.mib.inc(OFOQueueTail)
	} else {
		c.mib.inc(OFOQueue)
	}
	// Walk the queued ranges that overlap or follow, filling the gaps.
	queued := false
	for len(data) > 0 {
		if i < len(c.ooo) && dsnLEQ(c.ooo[i].dsn, dsn) {
			// Starts inside queued range i: skip its bytes.
			qe := c.ooo[i].dsn + uint64(len(c.ooo[i].data))
			if dsnLEQ(end, qe) {
				if !queued {
					c.mib.inc(DuplicateData)
				}
				return
			}
			data = data[qe-dsn:]
			dsn = qe
			i++
			continue
		}
		n := uint64(len(data))
		if i < len(c.ooo) && dsnLT(c.ooo[i].dsn, dsn+n) {
			n = c.ooo[i].dsn - dsn
		}
		part := data[:n]
		if i > 0 && c.ooo[i-1].dsn+uint64(len(c.ooo[i-1].data)) == dsn {
			c.ooo[i-1].data = appendOOO(c.ooo[i-1].data, part)
			c.mib.inc(OFOMerge)
		} else {
			if len(c.ooo) >= maxOOOSegs {
				return
			}
			c.ooo = append(c.ooo, oooSeg{})
			copy(c.ooo[i+1:], c.ooo[i:])
			c.ooo[i] = oooSeg{dsn: dsn, data: appendOOO(nil, part)}
			i++
		}
		c.oooBytes += int(n)
		queued = true
		data = data[n:]
		dsn += n
	}
}

// peerDataFin notes the peer's DATA_FIN at dsn (RFC 8684 §3.3.3).
func (c *Conn) peerDataFin(dsn uint64) {
	if c.rcvFin || c.rcvFinKnown && c.rcvFinDSN != dsn {
		return
	}
	if dsnLT(dsn, c.rcvNxt) {
		return // before data already received: not valid
	}
	if n := len(c.ooo); n > 0 && dsnLT(dsn, c.ooo[n-1].dsn+uint64(len(c.ooo[n-1].data))) {
		return
	}
	c.rcvFinKnown, c.rcvFinDSN = true, dsn
	c.checkPeerFin()
}

func (c *Conn) checkPeerFin() {
	if !c.rcvFinKnown || c.rcvFin || c.rcvNxt != c.rcvFinDSN {
		return
	}
	// The DATA_FIN takes one octet of data sequence space; acknowledge
	// it at once.
	c.rcvFin = true
	c.rcvNxt++
	c.emit(Event{Kind: EventEOF})
	for _, sf := range c.subflows {
		if !sf.dead && sf.fully {
			sf.ackWanted = true
			break
		}
	}
}

// rcvTune is the connection-level receive-buffer auto-tuning state.
type rcvTune struct {
	copied int       // bytes the application read in the current period
	start  time.Time // period start
	win    int       // the window every subflow offers at least
}

// rcvAutoTune tunes the receive window of the connection, as Linux's
// mptcp_rcv_space_adjust: once per period of the longest receiver RTT of
// the subflows, the window grows toward twice the bytes the application
// read in that period, and every subflow offers at least that much. The
// window belongs to the connection (RFC 8684 §3.3.4): the sender may fill
// it from the DATA_ACK on, on any subflow, and it must hold what the
// faster paths deliver while a byte on the slowest one is still on its
// way. Each subflow tuning its own buffer to its own share (as plain TCP
// does) offers about half of that and limits the whole connection to
// less than its paths carry.
func (c *Conn) rcvAutoTune() {
	if c.fallback || !c.mptcp {
		return
	}
	var rtt time.Duration
	for _, sf := range c.subflows {
		if sf.usable() {
			rtt = max(rtt, sf.tc.RecvRTT())
		}
	}
	if rtt == 0 {
		return
	}
	if c.tune.start.IsZero() {
		c.tune.start = c.now
	}
	if c.now.Sub(c.tune.start) < rtt {
		return
	}
	if target := min(2*c.tune.copied, c.rcvWindow()); target > c.tune.win {
		c.tune.win = target
		for _, sf := range c.subflows {
			if !sf.dead {
				sf.tc.GrowRecvBuffer(target)
			}
		}
	}
	c.tune.copied, c.tune.start = 0, c.now
}

// The buffers of out-of-order ranges come from per-size pools and go back
// once their data is in order: with two or more subflows most data arrives
// out of order at the data level, and allocating a range and growing it
// by appending, again and again, was most of a busy receiver's garbage.
const (
	minOOOShift = 12 // 4 KiB
	maxOOOShift = 24 // 16 MiB; larger ones are left to the garbage collector
)

var oooPools [maxOOOShift - minOOOShift + 1]sync.Pool // of *[]byte

func oooClass(size int) int {
	if size <= 1<<minOOOShift {
		return 0
	}
	return bits.Len(uint(size-1)) - minOOOShift
}

// appendOOO appends p to b, which came from appendOOO or is nil, moving
// to a pooled buffer of twice the size when b is full.
func appendOOO(b, p []byte) []byte {
	if len(b)+len(p) <= cap(b) {
		return append(b, p...)
	}
	need := max(len(b)+len(p), 2*cap(b), 16<<10)
	var nb []byte
	if cl := oooClass(need); cl < len(oooPools) {
		if x, ok := oooPools[cl].Get().(*[]byte); ok {
			nb = (*x)[:0]
		} else {
			nb = make([]byte, 0, 1<<(cl+minOOOShift))
		}
	} else {
		nb = make([]byte, 0, need)
	}
	nb = append(append(nb, b...), p...)
	putOOO(b)
	return nb
}

// putOOO gives back a buffer of appendOOO.
func putOOO(b []byte) {
	c := cap(b)
	if c < 1<<minOOOShift || c&(c-1) != 0 {
		return
	}
	if cl := oooClass(c); cl < len(oooPools) {
		b = b[:0]
		oooPools[cl].Put(&b)
	}
}
