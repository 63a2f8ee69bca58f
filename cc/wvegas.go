package cc

import (
	"time"
)

func init() { Register("wvegas", NewWVegas) }

// wVegas parameters, in segments (mptcp_wvegas.c: initial_alpha,
// total_alpha, gamma).
const (
	wvInitialAlpha = 2  // alpha_r after a (re)start, and its lower bound
	wvTotalAlpha   = 10 // backlog target of the whole connection
	wvGamma        = 1  // backlog that ends slow start
)

// wvegas is wVegas (weighted Vegas), the delay-based coupled controller of
// Cao, Xu and Fu, "Delay-based congestion control for multipath TCP",
// ICNP 2012, in the practical form of its reference implementation
// mptcp_wvegas.c.
//
// Each subflow r runs Vegas once per round trip on the average RTT of the
// round, rtt_r, and the smallest RTT seen, baseRTT_r:
//
//	diff_r = w_r * (rtt_r - baseRTT_r) / rtt_r   (segments queued on the path)
//	diff_r < alpha_r: w_r += 1 segment;  diff_r > alpha_r: w_r -= 1 segment
//
// where the backlog target alpha_r is the subflow's share of the
// connection's total, in proportion to its rate:
//
//	weight_r = x_r / sum_k x_k,  x_k = w_k/rtt_k,  alpha_r = weight_r * total_alpha
//
// (at least initial_alpha), recomputed when diff_r reaches alpha_r, that is
// when the subflow is at its equilibrium. When the queueing delay
// rtt_r - baseRTT_r reaches twice the smallest one seen, the window drops
// to w_r * baseRTT_r/(2*rtt_r) to drain the queue (see adjust for how this
// departs from the reference). In slow start a backlog
// above gamma ends slow start with w_r = min(w_r, w_r*baseRTT_r/rtt_r + 1).
// Losses and timeouts fall back to Reno, and Vegas starts afresh after
// them. Without a group, weight_r = 1 and alpha_r = total_alpha: a single
// Vegas flow.
type wvegas struct {
	w      window
	member *Member
	paths  []pathState

	started  bool    // a round is being sampled
	round    uint64  // Ack.Round of the round being sampled
	rttSum   float64 // RTT samples of this round, nanoseconds
	rttCount int
	baseRTT  float64 // smallest RTT sample seen, nanoseconds, 0 until one
	alpha    float64 // alpha_r, segments
	queueMin float64 // smallest positive queueing delay since the last drain or restart, ns
}

var _ Controller = (*wvegas)(nil)

// NewWVegas returns a wVegas controller. Without a group member (or alone
// in its group) it is a single-path Vegas with a backlog target of
// total_alpha segments.
func NewWVegas(cfg Config) Controller {
	return &wvegas{w: newWindow(cfg), member: cfg.Member, paths: newPaths(), alpha: wvInitialAlpha}
}

func (v *wvegas) Name() string       { return "wvegas" }
func (v *wvegas) Cwnd() int          { return v.w.cwnd }
func (v *wvegas) Ssthresh() int      { return v.w.ssthresh }
func (v *wvegas) PacingRate() uint64 { return 0 }
func (v *wvegas) SetMSS(mss int)     { v.w.setMSS(mss) }

// restart starts Vegas afresh, as mptcp_wvegas.c does when the connection
// returns to the open state: the round sampling, alpha_r and the queueing
// delay history are reset; baseRTT is kept.
func (v *wvegas) restart() {
	v.started = false
	v.rttSum, v.rttCount = 0, 0
	v.alpha = wvInitialAlpha
	v.queueMin = 0
}

func (v *wvegas) OnAck(a Ack) {
	if a.RTT > 0 {
		r := float64(a.RTT)
		if v.baseRTT == 0 || r < v.baseRTT {
			v.baseRTT = r
		}
		v.rttSum += r
		v.rttCount++
	}
	if a.BytesAcked <= 0 {
		return
	}
	if !v.started || a.Round == v.round {
		v.started, v.round = true, a.Round
		// Within a round only slow start grows the window.
		if a.CwndLimited && v.w.inSlowStart() {
			v.w.slowStart(a.BytesAcked)
		}
		return
	}
	// A round trip ended: adjust once, on the samples of that round.
	v.round = a.Round
	n, sum := v.rttCount, v.rttSum
	v.rttSum, v.rttCount = 0, 0
	if !a.CwndLimited {
		return // RFC 7661 §4.3; an unused window says nothing about the backlog either
	}
	if n <= 2 || v.baseRTT <= 0 {
		// Too few samples for a delay estimate: Reno for this ACK.
		if v.w.inSlowStart() {
			v.w.slowStart(a.BytesAcked)
		} else {
			v.w.renoAvoidance(a.BytesAcked)
		}
		return
	}
	v.adjust(a.BytesAcked, sum/float64(n))
}

// adjust is the once-per-round Vegas step on the round's average RTT.
func (v *wvegas) adjust(acked int, rtt float64) {
	base := max(min(v.baseRTT, rtt), 1)
	rtt = max(rtt, base)
	mss := v.w.mss
	cwnd := float64(v.w.cwnd)
	diff := cwnd / float64(mss) * (rtt - base) / rtt
	if v.w.inSlowStart() {
		if diff <= wvGamma {
			v.w.slowStart(acked)
			return
		}
		target := cwnd * base / rtt
		v.w.cwnd = min(v.w.cwnd, int(target)+mss)
		v.w.ssthresh = min(v.w.ssthresh, v.w.cwnd-mss)
	} else {
		if diff >= v.alpha {
			v.alpha = max(wvInitialAlpha, v.weight(rtt)*wvTotalAlpha)
		}
		switch {
		case diff > v.alpha:
			v.w.cwnd -= mss
			v.w.ssthresh = min(v.w.ssthresh, v.w.cwnd-mss)
		case diff < v.alpha:
			v.w.cwnd += mss
		}
		// Drain a standing queue. Two deliberate departures from
		// mptcp_wvegas.c: a round without any queueing delay is no
		// reference (it would halve the window on it), and the drained
		// window stays in congestion avoidance (ssthresh follows it down)
		// instead of slow-starting back to ssthresh within a round trip,
		// which would refill the queue at once.
		if q := rtt - base; q > 0 {
			if v.queueMin == 0 || q < v.queueMin {
				v.queueMin = q
			}
			if q >= 2*v.queueMin {
				v.w.cwnd = int(float64(v.w.cwnd) * base / (2 * rtt))
				v.w.ssthresh = min(v.w.ssthresh, max(v.w.cwnd, minCwnd(mss)))
				v.queueMin = 0
			}
		}
	}
	v.w.cwnd = min(max(v.w.cwnd, minCwnd(mss)), maxCwnd)
	// As Vegas does (tcp_current_ssthresh): ssthresh at least 3/4 cwnd,
	// and at least 2*SMSS.
	v.w.ssthresh = max(v.w.ssthresh, minCwnd(mss), v.w.cwnd*3/4)
	v.w.acc, v.w.frac = 0, 0
}

// weight returns weight_r = x_r / sum_k x_k for the own subflow, whose
// rate uses the round's average RTT; the others' use their published
// window and smoothed RTT. It is computed as w_r / sum_k (w_k*rtt_r/rtt_k).
func (v *wvegas) weight(rtt float64) float64 {
	v.paths = gather(v.paths, v.member, v.w.cwnd, v.w.mss, rtt)
	if len(v.paths) < 2 {
		return 1
	}
	self := &v.paths[0]
	var sum float64
	for k := range v.paths {
		sum += v.paths[k].cwnd * (self.rtt / v.paths[k].rtt)
	}
	return self.cwnd / sum
}

// OnCongestionEvent falls back to Reno (RFC 5681 §3.2 equation (4)).
func (v *wvegas) OnCongestionEvent(e Loss) {
	v.w.reduce(renoSsthresh(e))
	v.restart()
}

func (v *wvegas) OnRecoveryExit(time.Time) {
	v.w.recoveryExit()
	v.restart()
}

// OnRTO falls back to Reno (RFC 5681 §3.1).
func (v *wvegas) OnRTO(e Loss) {
	v.w.rto(e, renoSsthresh(e))
	v.restart()
}
