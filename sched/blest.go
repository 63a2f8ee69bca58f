package sched

import (
	"math"
	"time"
)

// BLEST returns the BLocking ESTimation scheduler (S. Ferlin, Ö. Alay,
// O. Mehani, R. Boreli, "BLEST: Blocking Estimation-based MPTCP Scheduler
// for Heterogeneous Networks", IFIP Networking 2016; the multipath-tcp.org
// kernel's mptcp_blest.c, whose estimates it follows). It takes the
// default's choice, the lowest-RTT subflow with window space, unless that
// is slower than the fastest subflow, whose window is full. Then it
// estimates how long the chunk would stay in flight on the slow subflow,
// and how many bytes X the fast subflow would send meanwhile (its window
// growing as Reno's, doubling per round trip in its initial slow start);
// if λ·X exceeds what the peer's data-level receive window (View.Window)
// leaves after the slow subflow's bytes in flight and queued and the
// chunk, sending on the slow subflow would keep the fast one from sending
// (head-of-line blocking in the receive window), and BLEST waits instead.
//
// λ corrects the estimate (paper §III-B): it starts at 1.2 and, at most
// once per smallest RTT of the slow subflow, goes up by 0.04 when the
// connection was limited by the peer's window since the last update (the
// window admitted less new data than was waiting: the blocking BLEST
// avoids) and down by 0.01 otherwise, within [1.0, 1.3], the kernel's
// defaults. Backup subflows count only when there is no other subflow.
// It keeps per-connection state (λ, each subflow's smallest and largest
// smoothed RTT): each connection gets its own instance (NewConn).
func BLEST() Scheduler { return newBLEST() }

// λ in thousandths: the kernel's module parameters (lambda 12,
// min_lambda 10, max_lambda 13 in tenths; dyn_lambda_bad 40,
// dyn_lambda_good 10 in thousandths).
const (
	blestLambda     = 1200
	blestLambdaMin  = 1000
	blestLambdaMax  = 1300
	blestLambdaBad  = 40
	blestLambdaGood = 10
)

type blest struct {
	lambda     int64 // λ·1000
	blocked    bool  // the peer's window limited new data since the last update
	lastUpdate time.Time
	rtts       perSubflow[rttRange]
}

// rttRange is the smallest and largest smoothed RTT a subflow had.
type rttRange struct{ min, max time.Duration }

var _ ConnScheduler = (*blest)(nil)

func newBLEST() *blest { return &blest{lambda: blestLambda} }

func (b *blest) NewConn() ConnScheduler { return newBLEST() }

// Pick decides without the connection's window, which counts as
// unlimited: it is the default scheduler's choice.
func (b *blest) Pick(subflows []SubflowStatus) int {
	return b.PickView(&View{Subflows: subflows, Window: math.MaxInt32})
}

func (b *blest) PickView(v *View) int {
	subs := v.Subflows
	b.rtts.prune(subs)
	regular := anyRegular(subs)
	for i := range subs {
		s := &subs[i]
		if s.RTT <= 0 || s.Backup && regular {
			continue
		}
		r := b.rtts.get(s.ID)
		if r.min == 0 || s.RTT < r.min {
			r.min = s.RTT
		}
		r.max = max(r.max, s.RTT)
	}
	if !v.Reinject && v.Unsent > v.Pending {
		b.blocked = true
	}
	best := Default().Pick(subs)
	fast := fastest(subs)
	if best < 0 || fast < 0 || best == fast {
		return best
	}
	slow, fs := &subs[best], &subs[fast]
	if fs.RTT <= 0 || slow.RTT <= fs.RTT {
		return best // not measured yet, or as fast: nothing to estimate
	}
	b.updateLambda(v.Now, b.rtts.get(slow.ID).min)
	fastBytes := b.estimateBytes(fs, b.lingerTime(slow))
	slowBytes := int64(v.ChunkLen(best)) + int64(max(slow.InFlight, 0)) + int64(max(slow.Queued, 0))
	avail := max(int64(v.Window)-slowBytes, 0)
	if fastBytes > avail {
		return -1 // the slow subflow would block the fast one: wait
	}
	return best
}

// updateLambda adapts λ once per period (blestsched_update_lambda).
func (b *blest) updateLambda(now time.Time, period time.Duration) {
	if b.lastUpdate.IsZero() {
		b.lastUpdate = now
		return
	}
	if now.Sub(b.lastUpdate) < period {
		return
	}
	if b.blocked {
		b.lambda += blestLambdaBad
	} else {
		b.lambda -= blestLambdaGood
	}
	b.lambda = min(max(b.lambda, blestLambdaMin), blestLambdaMax)
	b.blocked = false
	b.lastUpdate = now
}

// lingerTime estimates how long a chunk sent now on s stays in flight
// (blestsched_estimate_linger_time): its largest RTT when its window is
// full, else between its smallest and largest RTT in proportion to how
// full the window is, never less than its current RTT.
func (b *blest) lingerTime(s *SubflowStatus) time.Duration {
	r := b.rtts.get(s.ID)
	inflight := segs(s.InFlight, s.MSS) + 1 // with the new one
	cwnd := max(segs(s.Cwnd, s.MSS), 1)
	est := r.max
	if inflight < cwnd {
		est = r.min + time.Duration(satMul(int64(r.max-r.min), inflight)/cwnd)
	}
	return max(s.RTT, est)
}

// estimateBytes is how many bytes s sends in d, times λ
// (blestsched_estimate_bytes): over d / average RTT rounds, rounded up,
// its window doubles per round in its initial slow start and grows by one
// segment per round (Reno) after.
func (b *blest) estimateBytes(s *SubflowStatus, d time.Duration) int64 {
	r := b.rtts.get(s.ID)
	avg := (r.min + r.max) / 2
	rounds := int64(1)
	if avg > 0 {
		rounds = min(int64(d/avg)+1, 1<<20)
	}
	cwnd := segs(s.Cwnd, s.MSS)
	var packets int64
	if s.Ssthresh >= math.MaxInt32 {
		// Initial slow start: cwnd + 2·cwnd + 4·cwnd + …
		packets = satMul(cwnd, 1<<min(rounds, 16)-1)
	} else {
		ca := max(cwnd, segs(s.Ssthresh, s.MSS)+1) // out of slow start already
		packets = satMul(ca+(rounds-1)/2, rounds)
	}
	return satMul(satMul(packets, int64(max(s.MSS, 1))), b.lambda) / 1000
}
