package meta

import (
	"encoding/binary"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// subflow is one TCP subflow of a connection and the tcp.Hooks through
// which the engine reads and writes its MPTCP options.
type subflow struct {
	c   *Conn
	tc  *tcp.Conn
	id  tcp.ConnID
	lst *Listener // the listener that accepted it, until its TCP handshake ends

	active  bool // we sent the SYN
	initial bool // the MP_CAPABLE subflow
	join    bool // an MP_JOIN subflow

	// fully: the subflow can carry data. The initial subflow is fully
	// established once the handshake outcome is known (§3.1); a join once
	// its third ACK was verified (passive) or answered (active: the
	// fourth ACK, §3.2).
	fully   bool
	dead    bool // retired: its TCP connection closed
	drained bool // and it has nothing more to send
	stale   bool // a data-level timeout found it stuck: not scheduled until it progresses
	silent  bool // no ACK for a while with data in flight (see checkSilence), until a segment arrives
	closed  bool // the peer closed it (FIN): no new data
	bad     bool // we reset it for a protocol error: its data is not read

	localID, remoteID    uint8
	backup, remoteBackup bool
	localNonce           uint32
	remoteNonce          uint32

	iss, irs    uint32
	wscale      uint8 // the peer's window shift
	wscaleKnown bool
	rto         time.Duration // last seen, for the data-level timer

	// Requesting a pure ACK from the TCP engine.
	ackWanted bool
	ack3At    time.Time // active join: repeat the third ACK then (§3.2)
	ack3Tries int

	// Signals waiting for a pure ACK of this subflow (RFC 8684 §3.3.8,
	// §3.4): ADD_ADDRs and echoes, address IDs to remove, MP_PRIO.
	sigAdd  []wire.AddAddr
	sigRm   []uint8
	sigPrio bool
	sigWait bool // a signal did not fit: wait for the next ACK

	closeReq bool // a REMOVE_ADDR named its remote address: reset it

	synRetx int    // retransmissions of the MP_CAPABLE SYN
	ackMax  uint32 // highest acknowledgment number the peer sent

	rstReason      wire.TCPRSTReason
	rstSeen        bool // the peer reset the subflow with MP_TCPRST
	rstRxReason    wire.TCPRSTReason
	rstRxTransient bool
	failPending    bool
	failDSN        uint64
	dataAckSent    uint64 // the DATA_ACK last sent on the subflow
	dataAckKnown   bool   // dataAckSent is set
	dssTCPAck      uint32 // the TCP acknowledgment number of the segment that carried it
	peerDSS        bool   // the peer sent a DSS on the subflow: it is fully established there

	maps []rxMap // receive mappings, sorted by subflow sequence number
	// stage holds the bytes read so far of the checksummed mapping that
	// starts at ReadSeq-len(stage) (RFC 8684 §3.3.1: verified whole).
	stage  []byte
	tx     []txChunk // chunks written, in order, until acknowledged at both levels
	txHead int

	// Option memory for outgoing segments and the parse of the incoming
	// one (CheckSegment and SegmentProcessed see the same segment).
	opt     [tcp.MaxOptionSpace]byte
	rx      wire.MPTCPOptions
	rxValid bool
}

var (
	_ tcp.Hooks           = (*subflow)(nil)
	_ tcp.DataOptionSizer = (*subflow)(nil)
)

// DataOptionSpace implements tcp.DataOptionSizer. A mapping need not ride
// on every segment it covers (RFC 8684 §3.3: "as long as the subflow
// sequence space in that packet is covered by a mapping known at the
// receiver"), nor a DATA_ACK that has not changed. The first segment of a
// chunk carries the mapping (and the DATA_ACK), and so does any shorter
// segment with room for it; the others carry a DSS only when the DATA_ACK
// moved since the subflow last sent one, or when they acknowledge subflow
// data the last DSS did not (a peer may take an acknowledgment of new data
// without any MPTCP option for a middlebox's work, §3.7, as this engine
// does), and are otherwise full-sized: 28 more payload bytes of every
// 1448. Segments whose data the receiver
// reads in subflow order cannot be read before the segment with their
// mapping, whatever the order they arrive in. While anything else may
// need the space (the handshake's MP_CAPABLE, MP_FAIL, an infinite
// mapping, a DATA_FIN) every segment keeps it, and so do all segments
// until the peer sent a DSS on the subflow: before it is fully established
// a peer takes a segment without MP_CAPABLE or DSS for a sign of a
// middlebox (§3.7; Linux falls back, or resets a join), which a lost
// segment with the mapping would otherwise give it.
func (sf *subflow) DataOptionSpace(info tcp.OutInfo) int {
	c := sf.c
	if !c.mptcp || c.fallback || c.infTx || c.rxInfWait || c.mpcPhase || sf.failPending || !sf.fully || !sf.peerDSS ||
		c.finSent || !info.HasChunk || info.ChunkOffset == 0 {
		return dataOptionReserve
	}
	if !sf.dataAckKnown || sf.dataAckSent != c.rcvNxt || sf.dssTCPAck != sf.tc.RcvNxt() {
		return ackOptionReserve
	}
	return 0
}

// optWriter appends MPTCP options to an outgoing segment within its space.
type optWriter struct {
	o     *wire.TCPOptions
	b     []byte
	space int
}

func put[T wire.MPTCPOption](w *optWriter, v T) bool {
	n := v.Len()
	if w.o.NumMPTCP >= wire.MaxMPTCPOptions || (len(w.b)+n+3)&^3 > w.space || len(w.b)+n > cap(w.b) {
		return false
	}
	s := len(w.b)
	w.b = v.Append(w.b)
	w.o.MPTCP[w.o.NumMPTCP] = w.b[s:len(w.b):len(w.b)]
	w.o.NumMPTCP++
	return true
}

func (sf *subflow) mpcFlags() wire.MPCapableFlags {
	f := wire.MPCapableHMACSHA256
	if sf.c.cfg.Checksum {
		f |= wire.MPCapableChecksumRequired
	}
	if sf.c.cfg.DenyJoinInitial {
		f |= wire.MPCapableNoJoinToSource
	}
	return f
}

func (sf *subflow) joinFlags() uint8 {
	if sf.backup {
		return wire.MPJoinBackup
	}
	return 0
}

// WriteOptions implements tcp.Hooks: it adds the MPTCP options of every
// outgoing segment.
func (sf *subflow) WriteOptions(seg *tcp.Segment, info tcp.OutInfo, space int) {
	c := sf.c
	w := optWriter{o: &seg.Options, b: sf.opt[:0], space: space}
	switch info.Kind {
	case tcp.KindSYN:
		if info.Retransmission && sf.initial && sf.active {
			sf.synRetx++
			if c.mptcp && c.cfg.SYNRetransBeforeFallback >= 0 && sf.synRetx > c.cfg.SYNRetransBeforeFallback {
				c.dropMPCapable(sf)
			}
		}
		switch {
		case sf.join:
			// RFC 8684 §3.2, Figure 5.
			put(&w, wire.MPJoin{Form: wire.MPJoinSYN, Token: c.remoteToken, Random: sf.localNonce,
				AddrID: sf.localID, Flags: sf.joinFlags()})
			c.mib.inc(MPJoinSynTx)
		case c.mptcp:
			// RFC 8684 §3.1: version 1, no key in the SYN.
			put(&w, wire.MPCapable{Form: wire.MPCapableSYN, Version: wire.MPTCPVersion1, Flags: sf.mpcFlags()})
			c.mib.inc(MPCapableSYNTX)
		}
	case tcp.KindSYNACK:
		switch {
		case sf.join:
			// RFC 8684 §3.2, Figure 6.
			mac := wire.MPJoinSYNACKHMAC(c.remoteKey, c.localKey, sf.remoteNonce, sf.localNonce)
			put(&w, wire.MPJoin{Form: wire.MPJoinSYNACK, TruncatedHMAC: binary.BigEndian.Uint64(mac[:]),
				Random: sf.localNonce, AddrID: sf.localID, Flags: sf.joinFlags()})
		case c.mptcp:
			put(&w, wire.MPCapable{Form: wire.MPCapableSYNACK, Version: wire.MPTCPVersion1,
				Flags: sf.mpcFlags(), SenderKey: c.localKey})
		}
	case tcp.KindRST:
		if c.mptcp && !c.fallback {
			if c.fastClose && put(&w, wire.MPFastClose{ReceiverKey: c.remoteKey}) {
				// RFC 8684 §3.5: on a RST of every subflow, as
				// Linux sends it.
				c.mib.inc(MPFastcloseTx)
			}
			// RFC 8684 §3.6.
			if put(&w, wire.MPTCPRST{Reason: sf.rstReason}) {
				c.mib.inc(MPRstTx)
			}
			sf.writeFail(&w)
		}
	default:
		if len(seg.Payload) == 0 && info.Kind != tcp.KindProbe && sf.hasSignals() && c.mptcp && !c.fallback && sf.fully {
			// Path-management signals ride on pure ACKs (and
			// bare FINs), as Linux sends them; the DSS follows
			// when it still fits, else on the next ACK.
			if sf.writeSignals(&w, seg) {
				if !sf.writeDSSIfRoom(&w, seg, info) {
					sf.ackWanted = true
				}
				return
			}
		}
		sf.writeEstablished(&w, seg, info)
	}
}

// writeDSSIfRoom writes the options writeEstablished would, unless they do
// not fit beside what w holds already; it reports whether they were
// written.
func (sf *subflow) writeDSSIfRoom(w *optWriter, seg *tcp.Segment, info tcp.OutInfo) bool {
	n, b := w.o.NumMPTCP, len(w.b)
	sf.writeEstablished(w, seg, info)
	return w.o.NumMPTCP > n || len(w.b) > b
}

func (sf *subflow) writeFail(w *optWriter) {
	if sf.failPending && put(w, wire.MPFail{DSN: sf.failDSN}) {
		sf.failPending = false
		sf.c.mib.inc(MPFailTx)
	}
}

// writeEstablished writes the options of ACKs, data segments and probes.
func (sf *subflow) writeEstablished(w *optWriter, seg *tcp.Segment, info tcp.OutInfo) {
	c := sf.c
	if c.infTx {
		sf.writeInfinite(w, seg.Seq, len(seg.Payload))
		return
	}
	if !c.mptcp || c.fallback {
		return
	}
	if sf.join && !sf.fully {
		if sf.active {
			// The third ACK, repeated on every segment until the
			// fourth ACK shows it arrived (RFC 8684 §3.2, Figure 7).
			put(w, wire.MPJoin{Form: wire.MPJoinACK, HMAC: wire.MPJoinACKHMAC(c.localKey, c.remoteKey, sf.localNonce, sf.remoteNonce)})
		}
		return
	}
	if c.rxInfWait && !c.infSkipSet {
		// MP_FAIL on every segment that has room for it beside the
		// DSS, with its DATA_ACK (as Linux sends it: on pure ACKs),
		// until the infinite mapping answers it (§3.7).
		sf.failPending = true
	}
	var ch *txChunk
	if info.Kind == tcp.KindData && info.HasChunk {
		ch = sf.chunk(info.ChunkID)
	}
	if sf.initial && sf.active && c.mpcPhase {
		// RFC 8684 §3.1: until the peer's first DATA_ACK, the third
		// ACK's MP_CAPABLE goes on our ACKs, and on the data of the
		// first mapping with its length (and checksum), whose data
		// sequence number is implicitly IDSN+1 and subflow sequence
		// number 1.
		mpc := wire.MPCapable{Version: wire.MPTCPVersion1, Flags: sf.mpcFlags(), SenderKey: c.localKey, ReceiverKey: c.remoteKey}
		switch {
		case ch != nil && ch.dsn == c.localIDSN+1 && ch.ssn == 1:
			mpc.Form = wire.MPCapableACKData
			mpc.DataLen = uint16(ch.n)
			if c.csum {
				mpc.Form = wire.MPCapableACKDataChecksum
				mpc.Checksum = ch.csum
			}
			put(w, mpc)
			return
		case (info.Kind != tcp.KindData || len(seg.Payload) == 0) && !(c.finSent && !c.finAcked):
			mpc.Form = wire.MPCapableACK
			put(w, mpc)
			return
		}
		// A pending DATA_FIN goes on pure ACKs even before the peer's
		// first DATA_ACK, as Linux gives it precedence over the third
		// ACK's MP_CAPABLE: the DSS below carries it.
	}
	dss := wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64, DataACK: c.rcvNxt}
	switch {
	case ch != nil:
		dss.Flags |= wire.DSSMapping | wire.DSSDSN64
		dss.DSN, dss.SSN, dss.DataLen = ch.dsn, ch.ssn, uint16(ch.n)
		if c.csum {
			dss.HasChecksum, dss.Checksum = true, ch.csum
		}
	case len(seg.Payload) == 0 && c.finSent && !c.finAcked:
		// A DATA_FIN without data: subflow sequence number 0 and
		// length 1 (RFC 8684 §3.3.3), on every pure ACK until it is
		// acknowledged.
		dss.Flags |= wire.DSSMapping | wire.DSSDSN64 | wire.DSSDataFIN
		dss.DSN, dss.SSN, dss.DataLen = c.finDSN, 0, 1
		if c.csum {
			dss.HasChecksum, dss.Checksum = true, wire.DSSChecksum(c.finDSN, 0, 1, nil)
		}
	}
	ok := put(w, dss)
	if !ok && ch != nil && info.ChunkOffset > 0 {
		// A full-sized segment inside a chunk whose first segment
		// carried the mapping: the DATA_ACK alone, if it fits (see
		// DataOptionSpace).
		dss = wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64, DataACK: c.rcvNxt}
		ok = put(w, dss)
	}
	if ok {
		sf.dataAckSent, sf.dataAckKnown, sf.dssTCPAck = c.rcvNxt, true, seg.Ack
	}
	sf.writeFail(w)
}

// parse reads the MPTCP options of an incoming segment once.
func (sf *subflow) parse(seg *tcp.Segment) *wire.MPTCPOptions {
	_ = wire.ParseMPTCPOptions(&seg.Options, &sf.rx)
	sf.rxValid = true
	return &sf.rx
}

// CheckSegment implements tcp.Hooks: it validates the MPTCP options of an
// incoming segment before TCP processes it.
func (sf *subflow) CheckSegment(seg *tcp.Segment, st tcp.State) tcp.Verdict {
	c := sf.c
	m := sf.parse(seg)
	if seg.Flags&tcp.FlagRST != 0 {
		return tcp.Accept
	}
	switch {
	case st == tcp.StateSynSent:
		if sf.join && seg.Flags&(tcp.FlagSYN|tcp.FlagACK) == tcp.FlagSYN|tcp.FlagACK {
			return sf.checkJoinSynAck(m)
		}
	case st == tcp.StateSynReceived && seg.Flags&(tcp.FlagSYN|tcp.FlagACK) == tcp.FlagACK:
		if sf.join {
			if c.fallback || c.done || c.closeSubs {
				// The connection can no longer take subflows.
				sf.rstReason = wire.TCPRSTAdminProhibited
				return tcp.Reset
			}
			return sf.checkJoinAck(m)
		}
		if c.mptcp {
			if m.Has(wire.SubtypeMPCapable) {
				if m.MPCapable.Form < wire.MPCapableACK || m.MPCapable.ReceiverKey != c.localKey {
					// The third ACK must echo our key (§3.1).
					sf.rstReason = wire.TCPRSTMPTCPError
					return tcp.Reset
				}
			} else if m.Has(wire.SubtypeDSS) || m.Malformed(wire.SubtypeMPCapable) {
				// MPTCP, but without the key we need: wait for a
				// segment that carries MP_CAPABLE.
				return tcp.Drop
			}
		}
	case st == tcp.StateSynReceived:
	default:
		if c.mptcp && !c.fallback && c.established && (sf.fully || sf.join) {
			return sf.checkMapping(seg, m)
		}
	}
	return tcp.Accept
}

// SegmentProcessed implements tcp.Hooks: it acts on the MPTCP options of a
// segment TCP accepted.
func (sf *subflow) SegmentProcessed(seg *tcp.Segment, st tcp.State) {
	c := sf.c
	sf.silent = false // its path works, in this direction at least
	if !sf.rxValid {
		sf.parse(seg)
	}
	sf.rxValid = false
	m := &sf.rx
	if m.Has(wire.SubtypeDSS) {
		sf.peerDSS = true
	}
	if seg.Flags&tcp.FlagRST != 0 {
		if m.Has(wire.SubtypeMPTCPRST) {
			// RFC 8684 §3.6: the reason goes with the subflow's
			// closed event.
			c.mib.inc(MPRstRx)
			sf.rstSeen, sf.rstRxReason, sf.rstRxTransient = true, m.MPTCPRST.Reason, m.MPTCPRST.T
		}
		if m.Has(wire.SubtypeMPFail) {
			// RFC 8684 §3.7: the peer found corrupted data on this
			// subflow and resets it; the data is reinjected on the
			// others when the subflow closes.
			c.mib.inc(MPFailRx)
		}
		if m.Has(wire.SubtypeMPFastClose) {
			c.onFastClose(&m.MPFastClose)
		}
		return
	}
	if st == tcp.StateClosed || st == tcp.StateSynReceived || st == tcp.StateSynSent {
		return
	}
	if seg.Flags&tcp.FlagSYN != 0 {
		// Our SYN was answered.
		sf.irs = seg.Seq
		if sf.join {
			sf.joinSynAckProcessed()
		} else {
			c.clientHandshake(sf, m)
		}
		return
	}
	if sf.join && !sf.active && sf.fully && m.Has(wire.SubtypeMPJoin) && m.MPJoin.Form == wire.MPJoinACK {
		// The initiator repeats its third ACK: our fourth ACK was
		// lost. Send it again (§3.2).
		sf.ackWanted = true
	}
	if !sf.fully {
		switch {
		case sf.join && sf.active:
			// Any segment of the peer after its SYN/ACK is the fourth
			// ACK: it processed our third ACK (§3.2).
			sf.setFully()
		case sf.join:
			sf.irs = sf.tc.IRS()
			sf.setFully()
			// Send the fourth ACK now (§3.2).
			sf.ackWanted = true
		case sf.initial && !sf.active:
			sf.irs = sf.tc.IRS()
			c.serverHandshake(sf, m)
		}
		if c.fallback {
			return
		}
	}
	if sf.initial && sf.active && c.mpcPhase && !c.fallback && !m.Any() {
		// RFC 8684 §3.7: before its first DATA_ACK the peer sends a
		// segment without any MPTCP option: it did not take our third
		// ACK as MPTCP (a middlebox removed the option). Fall back.
		c.mib.inc(MPCapableFallbackACK)
		c.doFallback()
		return
	}
	if c.mptcp && !c.fallback && seg.Flags&tcp.FlagACK != 0 && seqLT(sf.ackMax, seg.Ack) {
		sf.ackMax = seg.Ack
		if !m.Any() && !c.mpcPhase && len(seg.Payload) == 0 && c.tryDSSFallback(sf) {
			// RFC 8684 §3.7: the peer acknowledges our data
			// without any MPTCP option, so it no longer speaks
			// MPTCP on this subflow (it fell back, or a middlebox
			// strips the options): continue as plain TCP. (Only a
			// pure ACK tells: a data segment may carry no DSS when
			// a mapping sent before covers it and it was sized
			// without room for one, see DataOptionSpace; its data
			// tells instead, see pull.)
			return
		}
	}
	if c.mptcp && !c.fallback {
		c.processOptions(sf, seg, m)
	} else if c.dssFellBack && m.Has(wire.SubtypeDSS) && m.DSS.IsInfiniteMapping() {
		c.checkAfterDSSFallback(sf, &m.DSS)
	}
}

func (sf *subflow) setFully() {
	if sf.fully {
		return
	}
	sf.fully = true
	sf.ack3At = time.Time{}
	sf.tc.GrowRecvBuffer(sf.c.tune.win) // the connection's window (see rcvAutoTune)
	sf.c.emit(sf.event(EventSubflowEstablished))
}

// event returns a subflow event of kind k with the subflow's identity.
func (sf *subflow) event(k EventKind) Event {
	return Event{Kind: k, ID: sf.id, LocalID: sf.localID, RemoteID: sf.remoteID, Backup: sf.backup || sf.remoteBackup}
}

// wscaleShift returns the peer's window shift on this subflow.
func (sf *subflow) wscaleShift() uint8 {
	if !sf.wscaleKnown {
		i := sf.tc.Info()
		if i.WindowScaling {
			sf.wscale = i.SendWScale
		}
		sf.wscaleKnown = true
	}
	return sf.wscale
}
