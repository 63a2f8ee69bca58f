package sched

import "time"

// ECF returns the Earliest Completion First scheduler (Y. Lim, E. M.
// Nahum, D. Towsley, R. J. Gibbens, "ECF: An MPTCP Path Scheduler to
// Manage Heterogeneous Paths", CoNEXT 2017, Algorithm 1; the
// multipath-tcp.org kernel's mptcp_ecf.c). It takes the default's choice,
// the lowest-RTT subflow with window space, unless that is slower than
// the fastest subflow, whose window is full; then, with k the data
// waiting to be sent (View.Unsent), the fastest subflow's window cwnd_f
// and round-trip time RTT_f, the slower one's cwnd_s and RTT_s, and
// δ = max(σ_f, σ_s) their RTT variations (RTTVAR), it waits for the
// fastest subflow when
//
//	(1 + k/cwnd_f)·RTT_f < (1 + waiting·β)·(RTT_s + δ)   and
//	(k/cwnd_s)·RTT_s ≥ 2·RTT_f + δ
//
// that is, when the fastest subflow would deliver the queued data (after
// the window it has in flight) before the slower one delivers its first
// window, and the slower one is too slow to help; k is at least one
// window of the subflow in question (as the kernel's x_f and x_s). waiting
// is 1 after the scheduler decided to wait and 0 once it used a slower
// subflow; β = 1/4 is the hysteresis the paper and the kernel use. Backup
// subflows count only when there is no other subflow. It keeps
// per-connection state (waiting): each connection gets its own instance
// (NewConn).
func ECF() Scheduler { return &ecf{} }

type ecf struct {
	waiting bool
}

var _ ConnScheduler = (*ecf)(nil)

// ecfRBeta is 1/β (mptcp_ecf_r_beta).
const ecfRBeta = 4

func (e *ecf) NewConn() ConnScheduler { return &ecf{} }

func (e *ecf) Pick(subflows []SubflowStatus) int { return e.PickView(&View{Subflows: subflows}) }

func (e *ecf) PickView(v *View) int {
	subs := v.Subflows
	b := Default().Pick(subs)
	f := fastest(subs)
	if b < 0 || f < 0 || b == f {
		return b
	}
	fs, bs := &subs[f], &subs[b]
	if fs.RTT <= 0 || bs.RTT <= fs.RTT {
		return b // not measured yet, or as fast: no reason to wait
	}
	rttF, rttS := micros(fs.RTT), micros(bs.RTT)
	delta := micros(max(fs.RTTVar, bs.RTTVar))
	cwndF, cwndS := int64(max(fs.Cwnd, 1)), int64(max(bs.Cwnd, 1))
	k := int64(max(v.Unsent, 0))
	xf := max(k, cwndF)
	// n·RTT_f < (1 + waiting·β)(RTT_s + δ), with n = 1 + x_f/cwnd_f,
	// multiplied out by cwnd_f and 1/β.
	lhs := satMul(rttF, xf+cwndF)
	rhs := satMul(cwndF, rttS+delta)
	margin := int64(0)
	if e.waiting {
		margin = 1
	}
	if satMul(ecfRBeta, lhs) < satMul(ecfRBeta+margin, rhs) {
		xs := max(k, cwndS)
		if satMul(rttS, xs) >= satMul(cwndS, 2*rttF+delta) {
			e.waiting = true
			return -1
		}
	} else {
		e.waiting = false
	}
	return b
}

// micros is d in microseconds (the kernel's unit), bounded so that the
// products stay far from overflow.
func micros(d time.Duration) int64 {
	return min(max(int64(d/time.Microsecond), 0), 1<<40)
}
