package cc

import (
	"time"
)

func init() { Register("olia", NewOLIA) }

// olia is OLIA, the Opportunistic Linked Increases Algorithm of Khalili,
// Gast, Popovic and Le Boudec, "MPTCP is not Pareto-optimal: performance
// issues and a possible solution", IEEE/ACM ToN 21(5), 2013, in the
// practical form of its reference implementation, mptcp_olia.c. Windows in
// the paper are in packets; here they are in bytes, each formula multiplied
// out so that a single path reduces to Reno exactly.
//
// For each ACK on path r, w_r grows by the paper's OLIA increase
//
//	(w_r/rtt_r^2) / (sum_p w_p/rtt_p)^2 + alpha_r/w_r
//
// and for each loss on path r, w_r is halved as in Reno. alpha_r moves
// window from the paths with the largest window (M) to the presumably best
// paths that do not have it (B\M, the "collected paths"):
//
//	alpha_r =  1/(|R_u| * |B\M|)  if r is in B\M
//	alpha_r = -1/(|R_u| * |M|)    if r is in M and B\M is not empty
//	alpha_r =  0                  otherwise
//
// R_u is the set of paths, M the paths with the largest window (compared
// in whole segments, as mptcp_olia.c compares packets), and B the paths
// that would give a Reno flow the best throughput. That throughput scales
// as sqrt(l_r)/rtt_r, where l_r is the larger of the bytes acknowledged
// between the last two losses (l_1r) and since the last loss (l_2r), so B
// holds the paths with the largest l_r/rtt_r^2, which is how mptcp_olia.c
// ranks them (its loss1..loss3 are the l_r bookkeeping of the paper).
type olia struct {
	w      window
	member *Member
	paths  []pathState
	loss   *oliaLoss
}

var _ Controller = (*olia)(nil)

// oliaLoss is the loss history of one OLIA subflow, in bytes acknowledged
// since the controller started: loss1 and loss2 are the counts at the
// last-but-one and the last loss, loss3 the current count.
type oliaLoss struct{ loss1, loss2, loss3 uint64 }

// interval is l_r: max(l_1r, l_2r) with l_1r the bytes between the last two
// losses and l_2r the bytes since the last loss.
func (l *oliaLoss) interval() uint64 { return max(l.loss3-l.loss2, l.loss2-l.loss1) }

// onLoss records a loss. A loss with no byte acknowledged since the
// previous one, or a repeated timeout, does not open a new interval
// (mptcp_olia_set_state).
func (l *oliaLoss) onLoss(repeat bool) {
	if l.loss3 != l.loss2 && !repeat {
		l.loss1, l.loss2 = l.loss2, l.loss3
	}
}

// NewOLIA returns an OLIA controller. Without a group member (or alone in
// its group) it behaves exactly as Reno.
func NewOLIA(cfg Config) Controller {
	o := &olia{w: newWindow(cfg), member: cfg.Member, paths: newPaths(), loss: &oliaLoss{}}
	if m := cfg.Member; m != nil {
		// The siblings read l_r through the member. A controller
		// created anew for the same subflow (the engine does so once
		// the MSS is negotiated) takes the slot over.
		m.SetShared(o.loss)
	}
	return o
}

func (o *olia) Name() string       { return "olia" }
func (o *olia) Cwnd() int          { return o.w.cwnd }
func (o *olia) Ssthresh() int      { return o.w.ssthresh }
func (o *olia) PacingRate() uint64 { return 0 }
func (o *olia) SetMSS(mss int)     { o.w.setMSS(mss) }

func (o *olia) OnAck(a Ack) {
	if a.BytesAcked <= 0 {
		return
	}
	// l_2r counts every acknowledged byte, whether or not the window grows
	// (mptcp_olia.c updates loss3 before its cwnd-limited check).
	o.loss.loss3 += uint64(ackedBytes(a.BytesAcked))
	if !a.CwndLimited {
		return // RFC 7661 §4.3
	}
	if o.w.inSlowStart() {
		o.w.slowStart(a.BytesAcked) // slow start as in TCP (mptcp_olia.c)
		return
	}
	rtt := ownRTT(a, o.member)
	if rtt <= 0 && coupledPeers(o.member) {
		return // cannot weigh the own path yet; see lia.OnAck
	}
	o.paths = gather(o.paths, o.member, o.w.cwnd, o.w.mss, float64(rtt))
	if len(o.paths) < 2 {
		o.w.renoAvoidance(a.BytesAcked)
		return
	}
	o.fillLoss()
	o.w.grow(float64(ackedBytes(a.BytesAcked)) * float64(o.w.mss) * oliaFactor(o.paths))
}

// fillLoss copies every path's l_r into o.paths.
func (o *olia) fillLoss() { fillOLIALoss(o.paths, o.loss) }

// fillOLIALoss sets the l_r of paths: own for paths[0], the siblings' from
// their members for the others. A member that runs no OLIA controller
// counts as l_r = 0, never a best path.
func fillOLIALoss(paths []pathState, own *oliaLoss) {
	paths[0].loss = float64(own.interval())
	for k := 1; k < len(paths); k++ {
		if l, ok := paths[k].member.Shared().(*oliaLoss); ok && l != nil {
			paths[k].loss = float64(l.interval())
		} else {
			paths[k].loss = 0
		}
	}
}

// oliaFactor returns the OLIA increase per acknowledged byte of the path
// paths[0], divided by its MSS: for windows in bytes, the OLIA increase
// becomes, per ACK of bytes_acked bytes,
//
//	bytes_acked * MSS_r * (w_r/(sum_p w_p*rtt_r/rtt_p)^2 + alpha_r/w_r)
//
// with the first term rearranged as in liaFactor (rtt_r^2 moved into the
// denominator). For one path with alpha_r = 0 this is bytes_acked*MSS/w,
// Reno's increase. The result may be negative for a path in M.
func oliaFactor(paths []pathState) float64 {
	self := &paths[0]
	var sum, maxSegs, bestV float64
	for k := range paths {
		p := &paths[k]
		sum += p.cwnd * (self.rtt / p.rtt)
		maxSegs = max(maxSegs, p.segments())
		bestV = max(bestV, p.loss/(p.rtt*p.rtt))
	}
	var inM, inBnotM int
	for k := range paths {
		p := &paths[k]
		switch {
		case p.segments() == maxSegs:
			inM++
		case p.loss/(p.rtt*p.rtt) == bestV:
			inBnotM++
		}
	}
	var alpha float64
	if inBnotM > 0 {
		n := float64(len(paths))
		switch {
		case self.segments() == maxSegs:
			alpha = -1 / (n * float64(inM))
		case self.loss/(self.rtt*self.rtt) == bestV:
			alpha = 1 / (n * float64(inBnotM))
		}
	}
	return self.cwnd/(sum*sum) + alpha/self.cwnd
}

// OnCongestionEvent records the loss for l_r and halves the window as Reno
// does (paper §V; RFC 5681 §3.2 equation (4)).
func (o *olia) OnCongestionEvent(e Loss) {
	o.loss.onLoss(false)
	o.w.reduce(renoSsthresh(e))
}

func (o *olia) OnRecoveryExit(time.Time) { o.w.recoveryExit() }

// OnRTO records the loss (not for a repeated timeout) and applies
// RFC 5681 §3.1.
func (o *olia) OnRTO(e Loss) {
	o.loss.onLoss(e.Repeat)
	o.w.rto(e, renoSsthresh(e))
}
