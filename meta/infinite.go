package meta

import (
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// failWait bounds how long a receiver that sent MP_FAIL waits for the
// peer's infinite mapping before it resets the subflow.
const failWait = 5 * time.Second

// failRetry is how often MP_FAIL is repeated on an ACK meanwhile.
const failRetry = 500 * time.Millisecond

// awaitInfinite starts the receiver's side of the fallback of RFC 8684
// §3.7 on the only subflow: MP_FAIL goes out on an ACK at once, the data
// from the failed mapping on is dropped until the peer's infinite mapping
// says where its plain data starts. Our own stream on the subflow must stay
// as it is from now on: no more data-level retransmissions.
func (c *Conn) awaitInfinite(sf *subflow) {
	c.rxInfWait = true
	c.failDeadline = c.now.Add(failWait)
	c.failRetryAt = c.now.Add(failRetry)
	sf.maps, sf.stage = nil, nil
	sf.ackWanted = true
	c.skipToInfinite(sf)
}

// skipToInfinite drops the subflow's data before the infinite mapping and
// falls back once it is reached.
func (c *Conn) skipToInfinite(sf *subflow) {
	var sink [4096]byte
	for sf.tc.Readable() > 0 {
		n := sf.tc.Readable()
		if c.infSkipSet {
			left := int(c.infSkipTo - sf.tc.ReadSeq())
			if left <= 0 {
				break
			}
			n = min(n, left)
		}
		got, _ := sf.tc.Read(sink[:min(n, len(sink))])
		if got == 0 {
			break
		}
	}
	if c.infSkipSet && sf.tc.ReadSeq() == c.infSkipTo {
		c.rxInfWait = false
		c.failDeadline, c.failRetryAt = time.Time{}, time.Time{}
		c.doFallback()
		c.pullFallback(sf)
	}
}

// onInfiniteMapping takes the peer's infinite mapping (§3.7): from its
// subflow sequence number on, the subflow carries the data stream from its
// DSN as plain TCP.
func (c *Conn) onInfiniteMapping(sf *subflow, d *wire.DSS) {
	if !c.rxInfWait || c.infSkipSet {
		return
	}
	c.mib.inc(InfiniteMapRx)
	dsn := d.DSN
	if d.Flags&wire.DSSDSN64 == 0 {
		dsn = expand32(c.rcvNxt, uint32(dsn))
	}
	if dsn != c.rcvNxt || seqLT(sf.irs+d.SSN, sf.tc.ReadSeq()) {
		// It does not continue where our data stopped.
		c.resetSubflow(sf, wire.TCPRSTMPTCPError)
		return
	}
	c.infSkipTo, c.infSkipSet = sf.irs+d.SSN, true
}

// onMPFail is the sender's side (§3.7): the peer found the mapping at dsn
// corrupted. On the only subflow the connection falls back: the data from
// dsn on is written again as plain TCP after an infinite mapping that
// says where it starts. With other subflows the subflow is reset and its
// data reinjected on them.
//
// MP_FAIL reports a checksum failure, so without DSS checksums it is
// ignored (Linux sends it only then), as is the peer's answer to our own
// MP_FAIL. Rewinding the data stream is only safe when the peer really
// stopped at dsn: the MP_FAIL must come with a DATA_ACK of dsn, as the
// receivers of this engine and of Linux send it; a forged or mangled
// one otherwise could make the peer take the data sent again for new
// data.
func (c *Conn) onMPFail(sf *subflow, m *wire.MPTCPOptions) {
	if c.fallback || !c.csum || c.rxInfWait {
		return
	}
	dsn := m.MPFail.DSN
	if c.liveSubflows() != 1 || dsnLT(dsn, c.sndUna) || dsnLT(c.sndNxt, dsn) ||
		!m.Has(wire.SubtypeDSS) || !m.DSS.HasDataACK() || c.dataAck(&m.DSS) != dsn {
		c.resetSubflow(sf, wire.TCPRSTMPTCPError)
		return
	}
	// Everything before dsn arrived intact.
	n := int(dsn - c.sndUna)
	c.sOff += n
	c.sndUna = dsn
	c.st.bytesAcked += uint64(n)
	c.sndNxt = dsn
	c.compactSend()
	sf.tx, sf.txHead = nil, 0
	c.infTx, c.infDSN, c.infSSN = true, dsn, sf.tc.WriteSeq()-sf.iss
	c.doFallback()
	c.fbSub = sf
	sf.fully = true
	// The infinite mapping also goes on an ACK now, in case there is no
	// data to carry it.
	sf.ackWanted = true
}

// infiniteTimer gives up on an infinite mapping that does not come.
func (c *Conn) infiniteTimer(now time.Time) {
	if !c.rxInfWait || c.failDeadline.IsZero() {
		return
	}
	if !c.failRetryAt.IsZero() && !now.Before(c.failRetryAt) && !c.infSkipSet {
		// Repeat MP_FAIL on an ACK: it may have been lost.
		c.failRetryAt = now.Add(failRetry)
		for _, sf := range c.subflows {
			if !sf.dead {
				sf.ackWanted = true
			}
		}
	}
	if now.Before(c.failDeadline) {
		return
	}
	c.failDeadline = time.Time{}
	for _, sf := range c.subflows {
		if !sf.dead {
			c.resetSubflow(sf, wire.TCPRSTMiddleboxInterference)
		}
	}
}

// writeInfinite adds the infinite mapping to a segment of the fallback
// subflow: on the first data segment after the switch (and its
// retransmissions) and on ACKs until the peer has data beyond it.
func (sf *subflow) writeInfinite(w *optWriter, seq uint32, payload int) {
	c := sf.c
	if !c.infTx || sf != c.fbSub || payload > 0 && seq-sf.iss != c.infSSN {
		return
	}
	if put(w, wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: c.infDSN, SSN: c.infSSN,
		DataLen: 0, HasChecksum: c.csum}) && !c.infTxCounted {
		c.infTxCounted = true
		c.mib.inc(InfiniteMapTx)
	}
}
