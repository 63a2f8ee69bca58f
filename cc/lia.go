package cc

import "time"

func init() { Register("lia", NewLIA) }

// lia is the Linked Increases Algorithm of RFC 6356, the coupled congestion
// control that RFC 8684 §3.3.7 names for MPTCP. Only the increase in
// congestion avoidance is coupled; slow start, fast retransmit, fast
// recovery and the multiplicative decrease are those of standard TCP
// (RFC 6356 §3).
type lia struct {
	w      window
	member *Member
	paths  []pathState
}

var _ Controller = (*lia)(nil)

// NewLIA returns an RFC 6356 LIA controller. Without a group member (or
// alone in its group) it behaves exactly as Reno.
func NewLIA(cfg Config) Controller {
	return &lia{w: newWindow(cfg), member: cfg.Member, paths: newPaths()}
}

func (l *lia) Name() string       { return "lia" }
func (l *lia) Cwnd() int          { return l.w.cwnd }
func (l *lia) Ssthresh() int      { return l.w.ssthresh }
func (l *lia) PacingRate() uint64 { return 0 }
func (l *lia) SetMSS(mss int)     { l.w.setMSS(mss) }

func (l *lia) OnAck(a Ack) {
	if a.BytesAcked <= 0 || !a.CwndLimited {
		return // RFC 7661 §4.3: do not grow a window the sender does not use
	}
	if l.w.inSlowStart() {
		l.w.slowStart(a.BytesAcked) // RFC 6356 §3: slow start is unchanged
		return
	}
	rtt := ownRTT(a, l.member)
	if rtt <= 0 && coupledPeers(l.member) {
		// The own subflow cannot be weighted without an RTT: hold the
		// window until a sample arrives rather than risk exceeding
		// equation (2).
		return
	}
	l.paths = gather(l.paths, l.member, l.w.cwnd, l.w.mss, float64(rtt))
	if len(l.paths) < 2 {
		l.w.renoAvoidance(a.BytesAcked)
		return
	}
	l.w.grow(float64(ackedBytes(a.BytesAcked)) * float64(l.w.mss) * liaFactor(l.paths))
}

// liaFactor returns min(alpha/cwnd_total, 1/cwnd_i) for the subflow i =
// paths[0], so that RFC 6356 §3 equation (2) reads
//
//	increase cwnd_i by bytes_acked * MSS_i * liaFactor
//	  = min(alpha*bytes_acked*MSS_i/cwnd_total, bytes_acked*MSS_i/cwnd_i)
//
// with alpha = cwnd_total * max_k(cwnd_k/rtt_k^2) / (sum_k cwnd_k/rtt_k)^2.
//
// Following RFC 6356 §4, the RTT of the subflow m that maximises
// cwnd_k/rtt_k^2 is moved from the numerator into the denominator:
//
//	alpha/cwnd_total = cwnd_m / (sum_k cwnd_k * rtt_m/rtt_k)^2
//
// so that only dimensionless RTT ratios appear and no RTT is squared on
// its own: numerator and denominator are both of the order of a window
// (squared), which keeps the result exact to float64 precision whatever
// the unit and size of the RTTs. The maximum is found by comparing
// cwnd_a*rtt_b^2 with cwnd_b*rtt_a^2, without any division.
func liaFactor(paths []pathState) float64 {
	best := 0
	for k := 1; k < len(paths); k++ {
		p, b := &paths[k], &paths[best]
		if p.cwnd*b.rtt*b.rtt > b.cwnd*p.rtt*p.rtt {
			best = k
		}
	}
	rm := paths[best].rtt
	var sum float64
	for k := range paths {
		sum += paths[k].cwnd * (rm / paths[k].rtt)
	}
	coupled := paths[best].cwnd / (sum * sum)
	// RFC 6356 §3: the second term caps the increase at what a TCP flow
	// on the same path would get (goal 2, "do no harm").
	return min(coupled, 1/paths[0].cwnd)
}

// OnCongestionEvent is the multiplicative decrease of standard TCP
// (RFC 6356 §3; RFC 5681 §3.2 equation (4)).
func (l *lia) OnCongestionEvent(e Loss) { l.w.reduce(renoSsthresh(e)) }

func (l *lia) OnRecoveryExit(time.Time) { l.w.recoveryExit() }

// OnRTO is RFC 5681 §3.1 (RFC 6356 §3 leaves timeouts to standard TCP).
func (l *lia) OnRTO(e Loss) { l.w.rto(e, renoSsthresh(e)) }
