package cc

import (
	"math"
	"time"
)

// Shared machinery of the coupled multipath controllers (lia.go, olia.go,
// balia.go, wvegas.go).

// maxCwnd caps the windows of the coupled controllers: 2^30 bytes, the
// largest receive window a peer can offer (65535 << 14, RFC 7323 §2.3), so
// a larger congestion window could never be used.
const maxCwnd = 1 << 30

// maxMSS is the largest MSS the 16-bit MSS option can carry
// (RFC 9293 §3.7.1).
const maxMSS = 1<<16 - 1

// stepSlack absorbs float64 rounding when fractional window increases add
// up to a whole segment (for example MSS/cwnd added cwnd/MSS times).
const stepSlack = 1e-9

// clampMSS keeps an MSS within [1, maxMSS], so that no window arithmetic
// divides by zero or overflows whatever the caller passes.
func clampMSS(mss int) int { return min(max(mss, 1), maxMSS) }

// window is the byte-based window state of a coupled controller. Without
// coupling it runs Reno exactly as reno.go does (RFC 5681 with appropriate
// byte counting, RFC 3465); with coupling the controller computes a window
// change per ACK in bytes (possibly fractional, possibly negative) and
// window applies it in whole segments, as the segment-based reference
// implementations do with their snd_cwnd_cnt counters.
type window struct {
	mss      int
	cwnd     int
	ssthresh int
	acc      int     // Reno: bytes acknowledged since cwnd last grew in congestion avoidance
	frac     float64 // coupled: window change owed but not yet applied, bytes, |frac| < mss
}

func newWindow(cfg Config) window {
	mss := clampMSS(cfg.MSS)
	iw := cfg.InitialWindow
	if iw <= 0 {
		iw = 10 // RFC 6928
	}
	return window{mss: mss, cwnd: min(iw*mss, maxCwnd), ssthresh: math.MaxInt32}
}

func (w *window) inSlowStart() bool { return w.cwnd < w.ssthresh }

// ackedBytes bounds the bytes an ACK reports: no ACK can cover more than a
// window, and the bound keeps the counters far from overflow.
func ackedBytes(n int) int { return min(n, maxCwnd) }

// slowStart is RFC 5681 §3.1 slow start with the RFC 3465 §2.2 limit of
// L = 2*SMSS per ACK.
func (w *window) slowStart(n int) {
	w.cwnd = min(w.cwnd+slowStartIncrease(ackedBytes(n), w.mss), maxCwnd)
}

// renoAvoidance is RFC 5681 §3.1 congestion avoidance with byte counting
// (RFC 3465 §2.1): one SMSS per cwnd bytes acknowledged.
func (w *window) renoAvoidance(n int) {
	w.acc = min(w.acc+ackedBytes(n), 2*maxCwnd)
	if w.acc >= w.cwnd {
		w.acc -= w.cwnd
		w.cwnd = min(w.cwnd+w.mss, maxCwnd)
	}
}

// grow adds a coupled window change of delta bytes and applies it in whole
// segments. Decreases (OLIA's alpha_r < 0) stop at minCwnd and keep the
// subflow in congestion avoidance; a change that hits either bound is
// dropped rather than banked.
func (w *window) grow(delta float64) {
	if math.IsNaN(delta) || math.IsInf(delta, 0) {
		return
	}
	m := float64(w.mss)
	w.frac += delta
	steps := math.Trunc(w.frac/m + math.Copysign(stepSlack, w.frac))
	if steps == 0 {
		return
	}
	w.frac -= steps * m
	next := float64(w.cwnd) + steps*m
	switch {
	case steps > 0 && next > maxCwnd:
		w.cwnd, w.frac = maxCwnd, 0
	case steps < 0 && next < float64(minCwnd(w.mss)):
		w.cwnd, w.frac = max(min(w.cwnd, minCwnd(w.mss)), w.mss), 0
	default:
		w.cwnd = int(next)
	}
	if steps < 0 {
		// A coupled decrease is congestion avoidance giving window to
		// other paths, not a reason to slow start back up.
		w.ssthresh = min(w.ssthresh, w.cwnd)
	}
}

// reduce applies a multiplicative decrease to ssthresh bytes, at least
// 2*SMSS (RFC 5681 §3.1 equation (4)), and sets cwnd to it.
func (w *window) reduce(ssthresh int) {
	w.ssthresh = min(max(ssthresh, minCwnd(w.mss)), maxCwnd)
	w.cwnd = w.ssthresh
	w.acc, w.frac = 0, 0
}

// recoveryExit leaves fast recovery with cwnd = ssthresh (RFC 6582 §3.2
// step 3, RFC 6675 §5).
func (w *window) recoveryExit() { w.cwnd = max(min(w.ssthresh, maxCwnd), w.mss) }

// rto applies RFC 5681 §3.1 after a retransmission timeout: ssthresh as
// given (kept on a repeated timeout) and cwnd = LW = 1 SMSS.
func (w *window) rto(e Loss, ssthresh int) {
	if !e.Repeat {
		w.ssthresh = min(max(ssthresh, minCwnd(w.mss)), maxCwnd)
	}
	w.cwnd = w.mss
	w.acc, w.frac = 0, 0
}

// setMSS keeps the windows in bytes; cwnd never drops below one segment.
func (w *window) setMSS(mss int) {
	if mss <= 0 {
		return
	}
	w.mss = clampMSS(mss)
	w.cwnd = max(w.cwnd, w.mss)
	if w.frac <= -float64(w.mss) || w.frac >= float64(w.mss) {
		w.frac = 0
	}
}

// renoSsthresh is RFC 5681 §3.1 equation (4) before the 2*SMSS floor that
// reduce applies: FlightSize/2.
func renoSsthresh(e Loss) int { return max(e.InFlight, 0) / 2 }

// pathState is one subflow as a coupled controller sees it.
type pathState struct {
	cwnd   float64 // bytes, > 0
	rtt    float64 // nanoseconds, > 0
	mss    float64 // bytes, > 0
	loss   float64 // OLIA's l_r, bytes (filled in by olia only)
	member *Member
}

// segments is the window in whole segments.
func (p *pathState) segments() float64 { return math.Floor(p.cwnd / p.mss) }

// gather collects into buf (reusing its storage) the subflows that take part
// in the coupling: first the own subflow with the controller's live window
// and RTT (nanoseconds), then every other member of the group that is
// established, has a window and has a measured RTT. Members without an RTT
// cannot be weighted by the formulas and are left out, as the reference
// implementations leave out subflows with srtt = 0. The own subflow's
// published state is not used: it is older than the controller's. Without
// a group, or with an unknown own RTT, only the own subflow is returned.
func gather(buf []pathState, m *Member, cwnd, mss int, rtt float64) []pathState {
	buf = append(buf[:0], pathState{cwnd: float64(max(cwnd, 1)), rtt: rtt, mss: float64(mss), member: m})
	if m == nil || m.group == nil || rtt <= 0 {
		return buf
	}
	for _, x := range m.group.members {
		if x == m {
			continue
		}
		s := &x.state
		if !s.Established || s.Cwnd <= 0 || s.SRTT <= 0 {
			continue
		}
		buf = append(buf, pathState{cwnd: float64(s.Cwnd), rtt: float64(s.SRTT), mss: float64(clampMSS(s.MSS)), member: x})
	}
	return buf
}

// coupledPeers reports whether m's group holds another member that could
// take part in the coupling once RTTs are known: established with a window.
func coupledPeers(m *Member) bool {
	if m == nil || m.group == nil {
		return false
	}
	for _, x := range m.group.members {
		if x != m && x.state.Established && x.state.Cwnd > 0 {
			return true
		}
	}
	return false
}

// ownRTT is the RTT the formulas use for the own subflow: the smoothed RTT
// (the reference implementations use srtt), else this ACK's sample, else
// the last one published to the group; 0 if none is known.
func ownRTT(a Ack, m *Member) time.Duration {
	switch {
	case a.SRTT > 0:
		return a.SRTT
	case a.RTT > 0:
		return a.RTT
	case m != nil:
		return m.state.SRTT
	}
	return 0
}

// newPaths returns the initial path buffer, sized for typical groups so
// that OnAck does not allocate.
func newPaths() []pathState { return make([]pathState, 0, 8) }
