package cc

import (
	"math"
	"time"
)

func init() { Register("reno", NewReno) }

// reno is the standard TCP congestion control of RFC 5681 with appropriate
// byte counting (RFC 3465).
type reno struct {
	mss      int
	cwnd     int
	ssthresh int
	acc      int // bytes acknowledged since cwnd last grew in congestion avoidance
}

var _ Controller = (*reno)(nil)

// NewReno returns an RFC 5681 Reno controller.
func NewReno(cfg Config) Controller {
	iw := cfg.InitialWindow
	if iw <= 0 {
		iw = 10
	}
	return &reno{mss: cfg.MSS, cwnd: iw * cfg.MSS, ssthresh: math.MaxInt32}
}

func (r *reno) Name() string       { return "reno" }
func (r *reno) Cwnd() int          { return r.cwnd }
func (r *reno) Ssthresh() int      { return r.ssthresh }
func (r *reno) PacingRate() uint64 { return 0 }

func (r *reno) SetMSS(mss int) {
	if mss > 0 {
		r.mss = mss
	}
}

// slowStartIncrease is the slow-start growth for an ACK of n bytes: at most
// L = 2*SMSS per ACK (RFC 3465 §2.2), so that delayed ACKs still double the
// window each round trip.
func slowStartIncrease(n, mss int) int { return min(n, 2*mss) }

func (r *reno) OnAck(a Ack) {
	if a.BytesAcked <= 0 || !a.CwndLimited {
		// RFC 7661 §4.3: do not grow a window the sender does not use.
		return
	}
	if r.cwnd < r.ssthresh {
		// RFC 5681 §3.1, slow start.
		r.cwnd += slowStartIncrease(a.BytesAcked, r.mss)
		return
	}
	// RFC 5681 §3.1, congestion avoidance with byte counting (RFC 3465
	// §2.1): one SMSS per cwnd bytes acknowledged.
	r.acc += a.BytesAcked
	if r.acc >= r.cwnd {
		r.acc -= r.cwnd
		r.cwnd += r.mss
	}
}

// OnCongestionEvent applies RFC 5681 §3.2 equation (4):
// ssthresh = max(FlightSize/2, 2*SMSS).
func (r *reno) OnCongestionEvent(e Loss) {
	r.ssthresh = max(e.InFlight/2, minCwnd(r.mss))
	r.cwnd = r.ssthresh
	r.acc = 0
}

func (r *reno) OnRecoveryExit(time.Time) {
	// RFC 6582 §3.2 step 3 / RFC 6675 §5: leave recovery with cwnd = ssthresh.
	r.cwnd = r.ssthresh
}

// OnRTO applies RFC 5681 §3.1: ssthresh per equation (4), except that a
// retransmission timed out again keeps it, and cwnd = LW = 1 SMSS.
func (r *reno) OnRTO(e Loss) {
	if !e.Repeat {
		r.ssthresh = max(e.InFlight/2, minCwnd(r.mss))
	}
	r.cwnd = r.mss
	r.acc = 0
}
