package tcp

import "time"

// stats are the counters behind Info.
type stats struct {
	segsIn, segsOut                         uint64
	dataSegsOut                             uint64
	bytesSent, bytesRetrans, bytesAcked     uint64
	bytesReceived, deliveredBytes           uint64
	retransmits, rtos, recoveries           uint64
	tlps, tlpRecoveries, rackLost           uint64
	dsacksIn, dupSegsIn, oooSegs            uint64
	oooDropped, pawsDropped                 uint64
	challengeAcks, challengeAcksSuppressed  uint64
	windowProbes, keepaliveProbes           uint64
	rstIn, rstOut                           uint64
	reordering                              uint64
	rcvBufGrowths                           uint64
	lastRTT                                 time.Duration
	lastDataSent, lastDataRecv, lastAckRecv int64 // the Conn's time
	deliveryRate                            uint64
	rateStart                               int64
	rateBytes                               uint64
}

// Info is a copy-out snapshot of a connection, after Linux's tcp_info.
type Info struct {
	State State

	// Negotiated options.
	WindowScaling, Timestamps, SACK bool
	SendWScale, RecvWScale          uint8

	// Sequence space.
	ISS, IRS, SndUna, SndNxt, RcvNxt uint32

	// Segment sizes: SendMSS is the full-segment payload we send,
	// AdvMSS the MSS we announced, RecvMSS the largest payload received.
	SendMSS, AdvMSS, RecvMSS int

	// RTT estimator (RFC 6298) and timers.
	RTT, RTTVar, MinRTT, LastRTT time.Duration
	RTO                          time.Duration
	Backoff                      int

	// Congestion control.
	CongestionControl string
	Cwnd, Ssthresh    int // bytes
	InRecovery        bool
	PacingRate        uint64 // bytes/s: the controller's, or cwnd/SRTT scaled as Linux
	DeliveryRate      uint64 // bytes/s acknowledged over the last RTT

	// Windows and buffers.
	SendWindow, RecvWindow int // peer's window; what remains of ours
	RecvBuffer             int // receive buffer after auto-tuning
	SendBuffered           int // bytes in the send buffer
	RecvQueued             int // bytes waiting for Read

	// Retransmission queue.
	Unacked    int    // segments outstanding
	Sacked     int    // of those, SACKed
	Lost       int    // of those, deemed lost and not yet retransmitted
	Retrans    int    // of those, with a retransmission in flight
	InFlight   int    // bytes (RFC 6675 pipe)
	Reordering uint64 // reordering events detected
	DSACKs     uint64 // D-SACK blocks received

	// Counters.
	BytesSent, BytesRetrans, BytesAcked, BytesReceived uint64
	SegsIn, SegsOut, DataSegsOut                       uint64
	TotalRetrans, RTOs, Recoveries                     uint64
	TLPs, TLPRecoveries, RACKLost                      uint64
	DupSegsIn, OutOfOrderSegs, OutOfOrderDropped       uint64
	PAWSDropped, ChallengeACKs, ChallengeACKsLimited   uint64
	WindowProbes, KeepaliveProbes, RSTsIn, RSTsOut     uint64
	RecvBufferGrowths                                  uint64

	LastDataSent, LastDataRecv, LastAckRecv time.Time
}

// SendState is the part of Info that a sender spreading data over several
// connections consults for every decision (an MPTCP scheduler), without
// the cost of a whole snapshot.
type SendState struct {
	RTT, RTTVar, RTO         time.Duration
	Cwnd, Ssthresh, InFlight int // bytes
	SndNxt                   uint32
	SendMSS                  int
}

// SendState returns the fields of Info it names, with the same values.
func (c *Conn) SendState() SendState {
	return SendState{RTT: c.srtt, RTTVar: c.rttvar, RTO: c.rto, Cwnd: c.cc.Cwnd(), Ssthresh: c.cc.Ssthresh(),
		InFlight: c.pipe, SndNxt: c.sndNxt, SendMSS: c.effMSS()}
}

// Info returns a snapshot of the connection.
func (c *Conn) Info() Info {
	i := Info{
		State:         c.state,
		WindowScaling: c.wsOK, Timestamps: c.tsOK, SACK: c.sackOK,
		ISS: c.iss, IRS: c.irs, SndUna: c.sndUna, SndNxt: c.sndNxt, RcvNxt: c.rcvNxt,
		SendMSS: c.effMSS(), AdvMSS: c.cfg.MSS, RecvMSS: c.rcvMSSEst,
		RTT: c.srtt, RTTVar: c.rttvar, MinRTT: c.minRTT, LastRTT: c.st.lastRTT,
		RTO: c.rto, Backoff: c.backoff,
		CongestionControl: c.cc.Name(), Cwnd: c.cc.Cwnd(), Ssthresh: c.cc.Ssthresh(),
		InRecovery:   c.recovery != recOpen,
		DeliveryRate: c.st.deliveryRate,
		SendWindow:   int(c.sndWnd), RecvWindow: int(c.rcvWnd()),
		RecvBuffer: c.rcvBufSize, SendBuffered: c.snd.n, RecvQueued: c.rcv.unread(),
		InFlight: c.pipe, Reordering: c.st.reordering, DSACKs: c.st.dsacksIn,
		BytesSent: c.st.bytesSent, BytesRetrans: c.st.bytesRetrans, BytesAcked: c.st.bytesAcked,
		BytesReceived: c.st.bytesReceived,
		SegsIn:        c.st.segsIn, SegsOut: c.st.segsOut, DataSegsOut: c.st.dataSegsOut,
		TotalRetrans: c.st.retransmits, RTOs: c.st.rtos, Recoveries: c.st.recoveries,
		TLPs: c.st.tlps, TLPRecoveries: c.st.tlpRecoveries, RACKLost: c.st.rackLost,
		DupSegsIn: c.st.dupSegsIn, OutOfOrderSegs: c.st.oooSegs, OutOfOrderDropped: c.st.oooDropped,
		PAWSDropped: c.st.pawsDropped, ChallengeACKs: c.st.challengeAcks, ChallengeACKsLimited: c.st.challengeAcksSuppressed,
		WindowProbes: c.st.windowProbes, KeepaliveProbes: c.st.keepaliveProbes,
		RSTsIn: c.st.rstIn, RSTsOut: c.st.rstOut, RecvBufferGrowths: c.st.rcvBufGrowths,
		LastDataSent: c.timeAt(c.st.lastDataSent), LastDataRecv: c.timeAt(c.st.lastDataRecv), LastAckRecv: c.timeAt(c.st.lastAckRecv),
	}
	if c.wsOK {
		i.SendWScale, i.RecvWScale = c.sndWScale, c.rcvWScale
	}
	for _, r := range c.outstanding() {
		i.Unacked++
		switch {
		case r.flags&recSacked != 0:
			i.Sacked++
		case r.flags&recRetrans != 0:
			i.Retrans++
		case r.flags&recLost != 0:
			i.Lost++
		}
	}
	i.PacingRate = c.pacingRate()
	return i
}

// pacingRate is the controller's pacing rate in bytes/s or, when it sets
// none, Linux's default: 200% of cwnd/SRTT in slow start, 120% after; 0
// before the first RTT sample.
func (c *Conn) pacingRate() uint64 {
	if r := c.cc.PacingRate(); r != 0 || c.srtt <= 0 {
		return r
	}
	f := 1.2
	if c.cc.Cwnd() < c.cc.Ssthresh() {
		f = 2
	}
	return uint64(f * float64(c.cc.Cwnd()) / c.srtt.Seconds())
}
