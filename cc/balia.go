package cc

import (
	"math"
	"time"
)

func init() { Register("balia", NewBALIA) }

// balia is BALIA, the Balanced Linked Adaptation algorithm of Peng, Walid,
// Hwang and Low, "Multipath TCP: Analysis, Design, and Implementation",
// IEEE/ACM ToN 24(1), 2016, with mptcp_balia.c as the reference for its
// practical form. With x_k = w_k/tau_k the rate of path k and
// alpha_r = max_k x_k / x_r (>= 1), the paper's algorithm is, for path r:
//
//	for each ACK:  w_r += x_r/(tau_r*(sum_k x_k)^2) * ((1+alpha_r)/2) * ((4+alpha_r)/5)
//	for each loss: w_r -= (w_r/2) * min(alpha_r, 1.5)
//
// Windows in the paper are in packets; here they are in bytes. With one
// path alpha_r = 1 and both rules are Reno's.
type balia struct {
	w      window
	member *Member
	paths  []pathState
	rtt    time.Duration // last own RTT seen by OnAck, for the decrease
}

var _ Controller = (*balia)(nil)

// NewBALIA returns a BALIA controller. Without a group member (or alone in
// its group) it behaves exactly as Reno.
func NewBALIA(cfg Config) Controller {
	return &balia{w: newWindow(cfg), member: cfg.Member, paths: newPaths()}
}

func (b *balia) Name() string       { return "balia" }
func (b *balia) Cwnd() int          { return b.w.cwnd }
func (b *balia) Ssthresh() int      { return b.w.ssthresh }
func (b *balia) PacingRate() uint64 { return 0 }
func (b *balia) SetMSS(mss int)     { b.w.setMSS(mss) }

func (b *balia) OnAck(a Ack) {
	if rtt := ownRTT(a, b.member); rtt > 0 {
		b.rtt = rtt
	}
	if a.BytesAcked <= 0 || !a.CwndLimited {
		return // RFC 7661 §4.3
	}
	if b.w.inSlowStart() {
		b.w.slowStart(a.BytesAcked) // slow start as in TCP (mptcp_balia.c)
		return
	}
	rtt := ownRTT(a, b.member)
	if rtt <= 0 && coupledPeers(b.member) {
		return // cannot weigh the own path yet; see lia.OnAck
	}
	b.paths = gather(b.paths, b.member, b.w.cwnd, b.w.mss, float64(rtt))
	if len(b.paths) < 2 {
		b.w.renoAvoidance(a.BytesAcked)
		return
	}
	b.w.grow(float64(ackedBytes(a.BytesAcked)) * float64(b.w.mss) * baliaFactor(b.paths))
}

// baliaAlpha returns alpha_r = max_k x_k / x_r for r = paths[0], computed
// as max_k (w_k * tau_r/tau_k) / w_r so that only RTT ratios appear.
func baliaAlpha(paths []pathState) float64 {
	self := &paths[0]
	var maxX float64
	for k := range paths {
		maxX = max(maxX, paths[k].cwnd*(self.rtt/paths[k].rtt))
	}
	return max(maxX/self.cwnd, 1)
}

// baliaFactor returns the BALIA increase per acknowledged byte of the path
// r = paths[0], divided by its MSS. For windows in bytes the paper's
// increase per ACK of bytes_acked bytes is
//
//	bytes_acked * MSS_r * x_r/(tau_r*(sum_k x_k)^2) * ((1+alpha_r)/2) * ((4+alpha_r)/5)
//
// and x_r/(tau_r*(sum_k x_k)^2) = w_r/(sum_k w_k*tau_r/tau_k)^2, the form
// used here (RTT ratios only, as in liaFactor). The factor never exceeds
// 1/w_r, Reno's: it equals (x_r+x_max)(4x_r+x_max)/(10 w_r (sum x)^2) and
// x_r, x_max <= sum x.
func baliaFactor(paths []pathState) float64 {
	self := &paths[0]
	var sum float64
	for k := range paths {
		sum += paths[k].cwnd * (self.rtt / paths[k].rtt)
	}
	a := baliaAlpha(paths)
	return self.cwnd / (sum * sum) * ((1 + a) / 2) * ((4 + a) / 5)
}

// OnCongestionEvent applies the BALIA decrease w_r -= (w_r/2)*min(alpha_r, 1.5)
// to FlightSize, as RFC 5681 §3.2 equation (4) does for Reno, so the new
// ssthresh lies between FlightSize/4 and FlightSize/2 (at least 2*SMSS).
// Alone, alpha_r = 1 and this is Reno's FlightSize/2.
func (b *balia) OnCongestionEvent(e Loss) { b.w.reduce(b.ssthresh(e)) }

func (b *balia) ssthresh(e Loss) int {
	flight := max(e.InFlight, 0)
	rtt := b.rtt
	if rtt <= 0 && b.member != nil {
		rtt = b.member.state.SRTT
	}
	b.paths = gather(b.paths, b.member, b.w.cwnd, b.w.mss, float64(rtt))
	if len(b.paths) < 2 {
		return flight / 2
	}
	md := float64(flight) / 2 * min(baliaAlpha(b.paths), 1.5)
	return int(math.Floor(float64(flight) - md))
}

func (b *balia) OnRecoveryExit(time.Time) { b.w.recoveryExit() }

// OnRTO applies RFC 5681 §3.1 with ssthresh from the BALIA decrease.
func (b *balia) OnRTO(e Loss) {
	if e.Repeat {
		b.w.rto(e, 0)
		return
	}
	b.w.rto(e, b.ssthresh(e))
}
