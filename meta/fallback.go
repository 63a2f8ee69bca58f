package meta

import (
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// Fallback to plain TCP after the handshake (RFC 8684 §3.7) when MPTCP
// options disappear from a subflow: data arrives without a mapping, or the
// peer acknowledges our data without any MPTCP option (a middlebox strips
// them, or the peer fell back for that reason). Linux's "DssFallback".
// With a single subflow that has carried the data stream byte for byte
// (no other subflow ever established, nothing sent twice, no data-level
// hole), both ends continue on it as plain TCP without losing data, as
// with an infinite mapping; otherwise the subflow is reset with MP_TCPRST
// (middlebox interference) and its data goes out on the others.

// tryDSSFallback falls back on sf if the data stream can continue on it
// unchanged, and reports whether it did.
func (c *Conn) tryDSSFallback(sf *subflow) bool {
	if !c.mptcp || c.fallback || !c.established || !c.infOK || !sf.initial || !sf.fully || sf.dead || sf.closed ||
		c.rxInfWait || c.infTx || c.rcvFinKnown || c.closeSubs || c.done || len(c.ooo) > 0 {
		return false
	}
	if sf.tc.State() != tcp.StateEstablished {
		// A FIN sent or received on the subflow would end the data
		// stream of plain TCP, which neither side meant.
		return false
	}
	for _, o := range c.subflows {
		// A join of ours still waiting for its SYN/ACK is given up;
		// one the peer may have completed (it has our SYN/ACK, or
		// more) means the peer cannot fall back any more.
		if o != sf && !o.dead && !(o.active && o.tc.State() == tcp.StateSynSent) {
			return false
		}
	}
	// What we wrote to the subflow is the data stream from IDSN+1 on:
	// relative subflow sequence number n carries DSN IDSN+n.
	if sf.tc.WriteSeq()-sf.iss-1 != uint32(c.sndNxt-c.localIDSN-1) {
		return false
	}
	// And so is what the peer wrote: the next subflow byte to read is
	// the next byte of the data stream.
	if expand32(c.rcvNxt, uint32(c.remoteIDSN)+(sf.tc.ReadSeq()-sf.irs)) != c.rcvNxt {
		return false
	}
	c.mib.inc(DssFallback)
	c.doFallback()
	c.dssFellBack = true
	return true
}

// dropMPCapable gives up on MPTCP for a connection whose MP_CAPABLE SYNs
// went unanswered (Config.SYNRetransBeforeFallback): the SYN goes out
// without MP_CAPABLE and the connection is plain TCP, as Linux's blackhole
// detection does.
func (c *Conn) dropMPCapable(sf *subflow) {
	c.mib.inc(MPCapableSYNTXDrop)
	c.mpcDropped = true
	c.mptcp = false
	c.fallback = true
	c.fbSub = sf
	c.releaseToken()
	// The key never left (a version 1 SYN carries none): forget it.
	c.localKey, c.localToken, c.localIDSN = 0, 0, 0
	c.emit(Event{Kind: EventFallback})
}

// checkAfterDSSFallback guards a fallback taken on tryDSSFallback's
// premise that the peer's subflow bytes map one to one onto its data
// stream: an infinite mapping that the peer sends afterwards (after an
// MP_FAIL it took from a damaged option, §3.7) must agree with it, or the
// bytes from there on would be placed wrongly; the connection is then
// reset rather than deliver them.
func (c *Conn) checkAfterDSSFallback(sf *subflow, d *wire.DSS) {
	if sf != c.fbSub || c.done {
		return
	}
	c.mib.inc(InfiniteMapRx)
	// One to one: relative subflow sequence number n carries DSN
	// IDSN+n. The low 32 bits tell (the data-level state no longer
	// moves after a fallback, so there is nothing to expand against).
	if uint32(d.DSN) != uint32(c.remoteIDSN)+d.SSN {
		sf.bad = true // what it holds is not to be read
		c.abort(ErrFallbackMismatch)
	}
}
