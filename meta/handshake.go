package meta

import (
	"encoding/binary"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// usableMPCapable reports whether an MP_CAPABLE option lets the
// connection continue as MPTCP version 1 (RFC 8684 §3.1): version 1, the
// HMAC-SHA256 algorithm (flag H), and no extensibility flag B, which this
// implementation does not understand. Anything else falls back to TCP.
func usableMPCapable(m *wire.MPTCPOptions, form wire.MPCapableForm) bool {
	if !m.Has(wire.SubtypeMPCapable) {
		return false
	}
	mpc := &m.MPCapable
	return mpc.Version == wire.MPTCPVersion1 && mpc.Form == form &&
		mpc.Flags&wire.MPCapableHMACSHA256 != 0 && mpc.Flags&wire.MPCapableExtensibility == 0
}

// clientHandshake completes the active side of the initial subflow on its
// SYN/ACK (RFC 8684 §3.1).
func (c *Conn) clientHandshake(sf *subflow, m *wire.MPTCPOptions) {
	if c.established {
		return
	}
	switch {
	case !c.mptcp:
		sf.fully = true // plain TCP from the start
		if c.mpcDropped {
			// The SYN without MP_CAPABLE got through where those
			// with it did not.
			c.mib.inc(Blackhole)
		}
	case !usableMPCapable(m, wire.MPCapableSYNACK):
		// RFC 8684 §3.7: no (usable) MP_CAPABLE in the SYN/ACK: the
		// connection is plain TCP.
		c.mib.inc(MPCapableFallbackSYNACK)
		c.doFallback()
	default:
		c.mib.inc(MPCapableSYNACKRX)
		mpc := &m.MPCapable
		c.setRemoteKey(mpc.SenderKey)
		c.csum = c.cfg.Checksum || mpc.Flags&wire.MPCapableChecksumRequired != 0
		c.remoteDenyJoin = mpc.Flags&wire.MPCapableNoJoinToSource != 0
		c.mpcPhase = true
		sf.fully = true
		c.mptcpEstablished(sf)
	}
	c.setEstablished()
}

// serverHandshake completes the passive side of the initial subflow on the
// segment that completed its TCP handshake (RFC 8684 §3.1).
func (c *Conn) serverHandshake(sf *subflow, m *wire.MPTCPOptions) {
	if c.established {
		return
	}
	switch {
	case !c.mptcp:
		sf.fully = true // plain TCP from the start
	case m.Has(wire.SubtypeMPCapable) && m.MPCapable.Form >= wire.MPCapableACK:
		// CheckSegment verified that it echoes our key.
		c.mib.inc(MPCapableACKRX)
		c.setRemoteKey(m.MPCapable.SenderKey)
		sf.fully = true
		c.mptcpEstablished(sf)
	default:
		// RFC 8684 §3.7: the third ACK has no MP_CAPABLE.
		c.mib.inc(MPCapableFallbackACK)
		c.doFallback()
	}
	c.setEstablished()
}

func (c *Conn) mptcpEstablished(sf *subflow) {
	// The peer's window in the handshake applies from the first data
	// sequence number (RFC 8684 §3.3.4).
	c.sndWndEnd = c.sndUna + uint64(sf.tc.Info().SendWindow)
	c.infOK = true
	c.mib.inc(MPCurrEstab)
	c.estCounted = true
}

func (c *Conn) setEstablished() {
	c.established = true
	c.emit(Event{Kind: EventEstablished})
	if c.lst != nil {
		c.lst.connReady(c)
	}
}

// doFallback turns the connection into plain TCP over its initial subflow
// (RFC 8684 §3.7).
func (c *Conn) doFallback() {
	c.fallback = true
	c.mpcPhase = false
	c.releaseToken()
	c.fbSub = nil
	for _, sf := range c.subflows {
		if !sf.dead && (c.fbSub == nil || sf.initial) {
			c.fbSub = sf
		}
	}
	for _, sf := range c.subflows {
		if sf == c.fbSub {
			// The start of a checksummed mapping read before the rest
			// arrived is plain TCP data now, like the bytes after it.
			c.appendFallback(sf.stage)
		}
		sf.stage = nil
	}
	if c.finSent && !c.finAcked {
		// A DATA_FIN means nothing to plain TCP: the FIN of the
		// subflow takes its place.
		c.finSent = false
	}
	// Data already written to the subflow as mappings is TCP data now:
	// only what follows it remains to be written.
	if n := int(c.sndNxt - c.sndUna); n > 0 {
		c.sOff += n
		c.sndUna = c.sndNxt
		c.compactSend()
	}
	c.reinj = nil
	c.rtoAt = time.Time{}
	c.announced = nil
	for _, sf := range c.subflows {
		sf.fully = sf == c.fbSub
		sf.clearSignals()
		if sf != c.fbSub && !sf.dead {
			// Joins still in their handshakes cannot go on: a
			// plain TCP connection has one subflow.
			sf.tc.Abort()
		}
	}
	c.emit(Event{Kind: EventFallback})
}

// checkJoinSynAck verifies the SYN/ACK of an MP_JOIN we sent (RFC 8684
// §3.2): it must carry MP_JOIN with the responder's truncated HMAC.
func (sf *subflow) checkJoinSynAck(m *wire.MPTCPOptions) tcp.Verdict {
	c := sf.c
	if !m.Has(wire.SubtypeMPJoin) || m.MPJoin.Form != wire.MPJoinSYNACK {
		c.mib.inc(MPJoinSynAckNoMPJoin)
		sf.rstReason = wire.TCPRSTMPTCPError
		return tcp.Reset
	}
	j := &m.MPJoin
	var mac [wire.TruncatedHMACLen]byte
	binary.BigEndian.PutUint64(mac[:], j.TruncatedHMAC)
	if !wire.VerifyMPJoinSYNACKHMAC(c.localKey, c.remoteKey, sf.localNonce, j.Random, mac[:]) {
		c.mib.inc(MPJoinSynAckHMacFailure)
		sf.rstReason = wire.TCPRSTMPTCPError
		return tcp.Reset
	}
	sf.remoteNonce, sf.remoteID, sf.remoteBackup = j.Random, j.AddrID, j.Backup()
	c.mib.inc(MPJoinSynAckRx)
	// Data may now travel on several subflows: no more fallback to
	// plain TCP (RFC 8684 §3.7; Linux's allow_infinite_fallback).
	c.infOK = false
	if sf.remoteBackup {
		c.mib.inc(MPJoinSynAckBackupRx)
	}
	return tcp.Accept
}

// checkJoinAck verifies the third ACK of an MP_JOIN we answered
// (RFC 8684 §3.2): it must carry MP_JOIN with the initiator's HMAC.
func (sf *subflow) checkJoinAck(m *wire.MPTCPOptions) tcp.Verdict {
	c := sf.c
	if !m.Has(wire.SubtypeMPJoin) || m.MPJoin.Form != wire.MPJoinACK {
		c.mib.inc(MPJoinAckNoMPJoin)
		sf.rstReason = wire.TCPRSTMPTCPError
		return tcp.Reset
	}
	if !wire.VerifyMPJoinACKHMAC(c.remoteKey, c.localKey, sf.remoteNonce, sf.localNonce, m.MPJoin.HMAC[:]) {
		c.mib.inc(MPJoinAckHMacFailure)
		sf.rstReason = wire.TCPRSTMPTCPError
		return tcp.Reset
	}
	c.mib.inc(MPJoinAckRx)
	c.infOK = false // as for an active join (checkJoinSynAck)
	return tcp.Accept
}

// joinSynAckProcessed notes the TCP handshake of a join we opened; the
// subflow carries data after the fourth ACK.
func (sf *subflow) joinSynAckProcessed() {
	if sf.c.fallback || sf.c.done {
		sf.rstReason = wire.TCPRSTMPTCPError
		sf.tc.Abort()
		return
	}
	sf.armAck3()
}

// maxAck3Tries bounds the repetitions of a join's third ACK before the
// subflow is given up.
const maxAck3Tries = 6

// armAck3 schedules the repetition of a join's third ACK until the fourth
// ACK arrives (RFC 8684 §3.2: the third ACK is not itself acknowledged,
// so the initiator repeats it), with exponential backoff.
func (sf *subflow) armAck3() {
	d := max(sf.tc.Info().RTO, 200*time.Millisecond) << min(sf.ack3Tries, 6)
	sf.ack3At = sf.c.now.Add(d)
}

// ack3Timer fires the third-ACK repetition of an active join.
func (sf *subflow) ack3Timer(now time.Time) {
	if sf.ack3At.IsZero() || now.Before(sf.ack3At) || sf.fully || sf.dead {
		return
	}
	sf.ack3Tries++
	if sf.ack3Tries > maxAck3Tries {
		sf.ack3At = time.Time{}
		sf.rstReason = wire.TCPRSTMPTCPError
		sf.tc.Abort()
		return
	}
	sf.ackWanted = true
	sf.armAck3()
}
