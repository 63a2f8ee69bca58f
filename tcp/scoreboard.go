package tcp

import (
	"sync"

	"github.com/gomptcp/mptcp/wire"
)

// txRec is one transmitted segment in the retransmission queue. Its
// boundaries never change (except when a cumulative ACK lands inside it),
// so a retransmission repeats the original segment, chunk and all.
type txRec struct {
	seq   uint32
	n     uint32 // payload bytes
	xmit  int64  // time of the last transmission (the Conn's time)
	flags recFlags
}

type recFlags uint8

const (
	recFIN         recFlags = 1 << iota // carries our FIN
	recSacked                           // SACKed (RFC 2018)
	recLost                             // deemed lost (RFC 6675 IsLost, RACK, RTO, NewReno)
	recRetrans                          // a retransmission is in flight
	recEverRetrans                      // retransmitted at least once (Karn)
)

// span is the sequence space the record covers.
func (r *txRec) span() uint32 {
	if r.flags&recFIN != 0 {
		return r.n + 1
	}
	return r.n
}

func (r *txRec) end() uint32 { return r.seq + r.span() }

// pipeBytes is the record's contribution to RFC 6675's pipe: unSACKed
// octets count once if not lost and once more if retransmitted.
func (r *txRec) pipeBytes() int {
	if r.flags&recSacked != 0 {
		return 0
	}
	p := 0
	if r.flags&recLost == 0 {
		p += int(r.span())
	}
	if r.flags&recRetrans != 0 {
		p += int(r.span())
	}
	return p
}

func (r *txRec) needsRetransmit() bool {
	return r.flags&(recLost|recRetrans|recSacked) == recLost
}

// outstanding returns the records still unacknowledged.
func (c *Conn) outstanding() []txRec { return c.recs[c.recHead:] }

// setFlags changes a record's flags and keeps pipe, lostCount, sackedSize
// and sackedRecs in step.
func (c *Conn) setFlags(r *txRec, set, clear recFlags) {
	c.pipe -= r.pipeBytes()
	if r.needsRetransmit() {
		c.lostCount--
	}
	if r.flags&recSacked != 0 {
		c.sackedSize -= int(r.span())
		c.sackedRecs--
	}
	r.flags = r.flags&^clear | set
	c.pipe += r.pipeBytes()
	if r.needsRetransmit() {
		c.lostCount++
	}
	if r.flags&recSacked != 0 {
		c.sackedSize += int(r.span())
		c.sackedRecs++
	}
}

// recPool recycles retransmission queues, so that a connection can give
// its queue back whenever it drains (an idle connection holds none)
// without allocating again on the next burst.
var recPool sync.Pool

// pushRec appends a newly sent record.
func (c *Conn) pushRec(r txRec) {
	if c.recs == nil {
		if box, ok := recPool.Get().(*[]txRec); ok {
			c.recs, c.recBox = (*box)[:0], box
		}
	}
	if c.recHead > 0 && c.recHead == len(c.recs) {
		c.recs, c.recHead = c.recs[:0], 0
	} else if c.recHead >= 64 && c.recHead*2 >= len(c.recs) {
		k := copy(c.recs, c.recs[c.recHead:])
		c.recs, c.recHead = c.recs[:k], 0
	}
	c.recs = append(c.recs, r)
	c.pipe += r.pipeBytes()
}

// ackRecs removes the records covered by a cumulative ACK of ack, trims a
// record it lands inside, and calls fn for each fully acknowledged one.
func (c *Conn) ackRecs(ack uint32, fn func(r *txRec)) {
	for c.recHead < len(c.recs) {
		r := &c.recs[c.recHead]
		if seqLEQ(r.end(), ack) {
			c.setFlags(r, 0, recLost|recRetrans|recSacked) // pipe contribution back to plain
			c.pipe -= r.pipeBytes()
			fn(r)
			c.recHead++
			continue
		}
		if seqLT(r.seq, ack) {
			d := ack - r.seq
			c.pipe -= r.pipeBytes()
			wasLost := r.needsRetransmit()
			if r.flags&recSacked != 0 {
				c.sackedSize -= int(d)
			}
			r.seq, r.n = ack, r.n-d
			c.pipe += r.pipeBytes()
			if wasLost != r.needsRetransmit() {
				c.lostCount--
			}
		}
		break
	}
	if c.recHead == len(c.recs) {
		c.releaseRecs()
	}
}

// releaseRecs gives the drained retransmission queue back to the pool.
func (c *Conn) releaseRecs() {
	if c.recs != nil {
		box := c.recBox
		if box == nil {
			box = new([]txRec)
		}
		*box = c.recs[:0]
		recPool.Put(box)
	}
	c.recs, c.recBox, c.recHead = nil, nil, 0
}

// findRec returns the index in outstanding() of the first record that ends
// after seq.
func (c *Conn) findRec(seq uint32) int {
	rs := c.outstanding()
	lo, hi := 0, len(rs)
	for lo < hi {
		m := (lo + hi) / 2
		if seqLEQ(rs[m].end(), seq) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// processSACK applies the SACK blocks of an ACK to the scoreboard
// (RFC 2018, RFC 6675 §4 "Update()"). It returns the bytes newly SACKed and
// whether the first block was a D-SACK (RFC 2883 §4).
func (c *Conn) processSACK(now int64, o *wire.TCPOptions, ack uint32) (newly int, dsack bool) {
	n := min(o.NumSACKBlocks, wire.MaxSACKBlocks)
	for i := range n {
		b := o.SACKBlocks[i]
		if !seqLT(b.Left, b.Right) {
			continue // malformed block: ignore
		}
		if i == 0 {
			// RFC 2883 §4: a first block below the cumulative ACK, or
			// inside the second block, reports a duplicate.
			if seqLEQ(b.Right, ack) || (n > 1 && seqGEQ(b.Left, o.SACKBlocks[1].Left) && seqLEQ(b.Right, o.SACKBlocks[1].Right)) {
				dsack = true
				continue
			}
		}
		if seqGT(b.Right, c.sndNxt) || seqLT(b.Left, c.sndUna-c.maxSndWnd) {
			continue // not for data we sent: ignore (RFC 2018 §5 leaves validation to us)
		}
		if seqLEQ(b.Right, c.sndUna) {
			continue
		}
		left := seqMax(b.Left, c.sndUna)
		rs := c.outstanding()
		for j := c.findRec(left); j < len(rs) && seqLT(rs[j].seq, b.Right); j++ {
			r := &rs[j]
			if r.flags&recSacked != 0 || seqLT(r.seq, left) || seqGT(r.end(), b.Right) {
				continue
			}
			c.setFlags(r, recSacked, recRetrans)
			newly += int(r.span())
			c.rackOnDelivered(now, r, o)
		}
	}
	return newly, dsack
}

// markLostRFC6675 applies IsLost (RFC 6675 §4): a segment is lost when
// DupThresh discontiguous SACKed segments, or more than
// (DupThresh-1)*SMSS SACKed bytes, lie above it.
func (c *Conn) markLostRFC6675() {
	if c.sackedSize == 0 {
		return
	}
	const dupThresh = 3
	mss := c.effMSS()
	rs := c.outstanding()
	sackedSegs, sackedBytes := 0, 0
	prevSacked := false
	for i := len(rs) - 1; i >= 0; i-- {
		r := &rs[i]
		if r.flags&recSacked != 0 {
			if !prevSacked {
				sackedSegs++
			}
			sackedBytes += int(r.span())
			prevSacked = true
			continue
		}
		prevSacked = false
		if sackedSegs >= dupThresh || sackedBytes > (dupThresh-1)*mss {
			if r.flags&recLost != 0 {
				return // everything below was marked before
			}
			c.setFlags(r, recLost, 0)
		}
	}
}

// markAllLost marks every unSACKed record lost (on RTO, RFC 6298 §5.4 and
// RFC 5681 §3.1: retransmit from SND.UNA). SACK information is kept on a
// first timeout, as Linux does, so delivered data is not sent again; it is
// dropped (RFC 2018 §8) when the receiver evidently reneged (the segment
// at SND.UNA is SACKed) or the timeout repeats, so that data a reneging
// receiver discarded is retransmitted.
func (c *Conn) markAllLost() {
	rs := c.outstanding()
	clearSACK := c.rtoCount > 1 || (len(rs) > 0 && rs[0].flags&recSacked != 0)
	for i := range rs {
		switch {
		case rs[i].flags&recSacked == 0:
			c.setFlags(&rs[i], recLost, recRetrans)
		case clearSACK:
			c.setFlags(&rs[i], recLost, recRetrans|recSacked)
		}
	}
}

// sackBlocksFor fills o with the SACK blocks of an outgoing ACK: a
// pending D-SACK first (RFC 2883), then the out-of-order ranges, most
// recent first (RFC 2018 §4), as many as fit in room option bytes.
func (c *Conn) sackBlocksFor(o *wire.TCPOptions, room int) {
	maxBlocks := min((room-2)/8, wire.MaxSACKBlocks)
	if maxBlocks <= 0 {
		return
	}
	n := 0
	if c.hasDSACK {
		o.SACKBlocks[0] = c.dsack
		n = 1
	}
	n += c.rcv.sackBlocks(o.SACKBlocks[n:maxBlocks])
	o.NumSACKBlocks = n
}
