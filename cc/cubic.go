package cc

import (
	"math"
	"time"
)

func init() { Register("cubic", NewCubic) }

// CUBIC constants (RFC 9438 §4.1, §5).
const (
	cubicBeta = 0.7 // β_cubic, multiplicative decrease factor
	cubicC    = 0.4 // C, scaling constant
)

// alphaCubic is α_cubic = 3(1-β)/(1+β) of the Reno-friendly region
// (RFC 9438 §4.3).
var alphaCubic = 3 * (1 - cubicBeta) / (1 + cubicBeta)

// cubic is CUBIC (RFC 9438) with fast convergence, the Reno-friendly
// region and HyStart++ (RFC 9406) in slow start. Windows are kept in
// segments as float64.
type cubic struct {
	mss      int
	cwnd     float64 // segments
	ssthresh float64 // segments

	wMax       float64   // W_max: window just before the last reduction, after fast convergence
	cwndPrior  float64   // cwnd before the last reduction (§4.3)
	k          float64   // K, seconds
	epochStart time.Time // t_epoch; zero when a new epoch is to start
	wEst       float64   // W_est of the Reno-friendly region
	afterRTO   bool      // the next epoch is the first congestion avoidance after an RTO (§4.8)

	hs hystart
}

// HyStart++ constants (RFC 9406 §4.3).
const (
	hsMinRTTThresh  = 4 * time.Millisecond
	hsMaxRTTThresh  = 16 * time.Millisecond
	hsMinRTTDivisor = 8
	hsNRTTSample    = 8
	hsCSSGrowthDiv  = 4
	hsCSSRounds     = 5
)

// ACK-train detection, as Linux's CUBIC has it beside the delay
// detection (tcp_cubic.c, HYSTART_ACK_TRAIN).
const (
	// hsACKDelta is the largest gap between two ACKs of one train
	// (hystart_ack_delta_us).
	hsACKDelta = 2 * time.Millisecond
	// hsACKDelay is added to the minimum RTT before halving it into the
	// train length that ends slow start: Linux's hystart_ack_delay, 1 ms
	// once four 64 KiB GSO packets take longer than that at the pacing
	// rate (so above 2 Gbit/s only is it less).
	hsACKDelay = time.Millisecond
	// hsLowWindow is the smallest window, in segments, at which the
	// ACK-train detection runs (hystart_low_window).
	hsLowWindow = 16
)

// hystart is the state of HyStart++ (RFC 9406), which leaves slow start
// when the RTT starts to grow instead of waiting for a loss, and of the
// ACK-train detection, which leaves it when the ACKs of one round arrive
// back to back for longer than half the minimum RTT: the window then
// fills about half the path's bandwidth-delay product, the next round
// fills it, and the round after that would overflow the bottleneck's
// queue. The delay detection alone misses that when the sender does not
// pace: the first ACKs of each round, which give the round's minimum RTT,
// come back from an empty queue, so the rounds' minimum RTTs never grow,
// and a window restarting from its initial size on a path with a queue of
// one BDP overshoots it by about half, losing segments through a long
// recovery.
type hystart struct {
	started         bool
	round           uint64
	roundStart      time.Time     // the first ACK of the round
	lastACK         time.Time     // the last ACK of the train begun at roundStart
	trainDone       bool          // a gap broke the train of this round
	lastRoundMinRTT time.Duration // 0 means infinity
	curRoundMinRTT  time.Duration
	samples         int
	css             bool // in Conservative Slow Start
	cssBaseline     time.Duration
	cssRounds       int
}

// slowStart grows the window, cwnd segments, for an ACK in slow start
// under HyStart++ (RFC 9406 §4.2) and the ACK-train detection, and returns
// the increase in bytes.
func (h *hystart) slowStart(a Ack, mss int, cwnd float64) (inc int, exit bool) {
	if !h.started || a.Round != h.round {
		h.roundStart, h.lastACK, h.trainDone = a.Now, a.Now, false
		h.started, h.round = true, a.Round
		h.lastRoundMinRTT, h.curRoundMinRTT, h.samples = h.curRoundMinRTT, 0, 0
		if h.css {
			h.cssRounds++
			if h.cssRounds >= hsCSSRounds {
				// CSS lasted CSS_ROUNDS rounds: enter congestion
				// avoidance with ssthresh = cwnd.
				h.css = false
				return 0, true
			}
		}
	} else if !h.trainDone {
		if a.Now.Sub(h.lastACK) > hsACKDelta {
			h.trainDone = true
		} else {
			h.lastACK = a.Now
			if cwnd >= hsLowWindow && a.MinRTT > 0 && a.Now.Sub(h.roundStart) > (a.MinRTT+hsACKDelay)/2 {
				return 0, true // enter congestion avoidance with ssthresh = cwnd
			}
		}
	}
	if a.RTT > 0 {
		if h.curRoundMinRTT == 0 || a.RTT < h.curRoundMinRTT {
			h.curRoundMinRTT = a.RTT
		}
		h.samples++
	}
	inc = slowStartIncrease(a.BytesAcked, mss)
	if h.samples >= hsNRTTSample && h.curRoundMinRTT > 0 {
		if !h.css && h.lastRoundMinRTT > 0 {
			thresh := min(max(h.lastRoundMinRTT/hsMinRTTDivisor, hsMinRTTThresh), hsMaxRTTThresh)
			if h.curRoundMinRTT >= h.lastRoundMinRTT+thresh {
				h.css, h.cssBaseline, h.cssRounds = true, h.curRoundMinRTT, 0
			}
		} else if h.css && h.curRoundMinRTT < h.cssBaseline {
			// The RTT increase was spurious: resume slow start.
			h.css = false
		}
	}
	if h.css {
		inc /= hsCSSGrowthDiv
	}
	return inc, false
}

// reset forgets the round history, after a loss or timeout.
func (h *hystart) reset() { *h = hystart{} }

var _ Controller = (*cubic)(nil)

// NewCubic returns an RFC 9438 CUBIC controller.
func NewCubic(cfg Config) Controller {
	iw := cfg.InitialWindow
	if iw <= 0 {
		iw = 10
	}
	return &cubic{mss: cfg.MSS, cwnd: float64(iw), ssthresh: math.MaxInt32}
}

func (c *cubic) Name() string       { return "cubic" }
func (c *cubic) Cwnd() int          { return int(c.cwnd * float64(c.mss)) }
func (c *cubic) PacingRate() uint64 { return 0 }

func (c *cubic) Ssthresh() int {
	if c.ssthresh >= math.MaxInt32/float64(c.mss) {
		return math.MaxInt32
	}
	return int(c.ssthresh * float64(c.mss))
}

func (c *cubic) SetMSS(mss int) {
	if mss <= 0 || mss == c.mss {
		return
	}
	// Keep the windows in bytes.
	f := float64(c.mss) / float64(mss)
	c.cwnd *= f
	if c.ssthresh < math.MaxInt32 {
		c.ssthresh *= f
	}
	c.wMax *= f
	c.cwndPrior *= f
	c.wEst *= f
	c.mss = mss
}

// wCubic is W_cubic(t) = C*(t-K)^3 + W_max (RFC 9438 §4.2, Figure 1).
func (c *cubic) wCubic(t float64) float64 {
	d := t - c.k
	return cubicC*d*d*d + c.wMax
}

func (c *cubic) OnAck(a Ack) {
	if a.BytesAcked <= 0 || !a.CwndLimited {
		return // RFC 9438 §4.2: not when the sender is not cwnd-limited (RFC 7661)
	}
	acked := float64(a.BytesAcked) / float64(c.mss)
	if c.cwnd < c.ssthresh {
		// Slow start as in RFC 5681 (RFC 9438 §4.10), with HyStart++
		// (RFC 9406).
		inc, exit := c.hs.slowStart(a, c.mss, c.cwnd)
		if exit {
			c.ssthresh = c.cwnd
			return
		}
		c.cwnd += float64(inc) / float64(c.mss)
		return
	}
	if c.epochStart.IsZero() {
		c.startEpoch(a.Now)
	}
	rtt := a.SRTT
	if rtt <= 0 {
		rtt = a.RTT
	}
	t := a.Now.Sub(c.epochStart).Seconds()

	// RFC 9438 §4.3, Reno-friendly region.
	alpha := alphaCubic
	if c.wEst >= c.cwndPrior {
		alpha = 1
	}
	c.wEst += alpha * acked / c.cwnd
	if c.wCubic(t) < c.wEst {
		c.cwnd = c.wEst
		return
	}
	// RFC 9438 §4.4/§4.5: concave and convex regions. The target is
	// W_cubic(t+RTT), kept within [cwnd, 1.5*cwnd].
	target := c.wCubic(t + rtt.Seconds())
	target = min(max(target, c.cwnd), 1.5*c.cwnd)
	c.cwnd += (target - c.cwnd) / c.cwnd * acked
}

// startEpoch begins a congestion avoidance stage (RFC 9438 §4.2, §4.8).
func (c *cubic) startEpoch(now time.Time) {
	c.epochStart = now
	c.wEst = c.cwnd
	if c.afterRTO || c.wMax <= c.cwnd {
		// §4.8: after an RTO, K = 0 and W_max is the window at the start
		// of congestion avoidance. The same holds when no reduction has
		// happened yet.
		c.k = 0
		c.wMax = c.cwnd
		c.afterRTO = false
		if c.cwndPrior == 0 {
			c.cwndPrior = c.cwnd
		}
		return
	}
	// §4.2, Figure 2: K = cubic_root((W_max - cwnd_epoch)/C).
	c.k = math.Cbrt((c.wMax - c.cwnd) / cubicC)
}

// reduce applies the multiplicative decrease of RFC 9438 §4.6 with fast
// convergence (§4.7) and returns the new ssthresh.
func (c *cubic) reduce() float64 {
	c.cwndPrior = c.cwnd
	if c.cwnd < c.wMax {
		c.wMax = c.cwnd * (1 + cubicBeta) / 2
	} else {
		c.wMax = c.cwnd
	}
	return max(c.cwnd*cubicBeta, 2)
}

func (c *cubic) OnCongestionEvent(e Loss) {
	c.hs.reset()
	c.ssthresh = c.reduce()
	c.cwnd = c.ssthresh
	c.epochStart = time.Time{}
}

func (c *cubic) OnRecoveryExit(time.Time) {
	c.cwnd = c.ssthresh
}

// OnRTO follows RFC 9438 §4.8: ssthresh as for a loss (kept on a repeated
// timeout), cwnd = 1 segment, and the next congestion avoidance stage starts
// with K = 0.
func (c *cubic) OnRTO(e Loss) {
	c.hs.reset()
	if !e.Repeat {
		c.ssthresh = c.reduce()
	}
	c.cwnd = 1
	c.epochStart = time.Time{}
	c.afterRTO = true
}
