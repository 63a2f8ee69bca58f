package scenario

import (
	"math"
	"time"
)

// JainIndex is Jain's fairness index of the allocations x:
// (Σx)² / (n·Σx²). It is 1 when all are equal and 1/n when one takes
// everything; it is 0 for no allocations or when all are zero.
func JainIndex(x ...float64) float64 {
	var sum, sq float64
	for _, v := range x {
		sum += v
		sq += v * v
	}
	if len(x) == 0 || sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(x)) * sq)
}

// CUBIC's constants (RFC 9438 §4.6, §5.1).
const (
	CubicBeta = 0.7 // β_cubic
	CubicC    = 0.4 // C
)

// CubicAlpha is α_cubic = 3(1-β_cubic)/(1+β_cubic), the additive increase
// of CUBIC's Reno-friendly region (RFC 9438 §4.3).
const CubicAlpha = 3 * (1 - CubicBeta) / (1 + CubicBeta)

// AIMDAvgWindow is the average congestion window, in segments, of
// AIMD(alpha, beta) under a packet loss rate p (RFC 9438 §4.3, Figure 3,
// after [FHP00]): sqrt(α(1+β) / (2(1-β)p)). AIMD(1, 0.5) is Reno;
// AIMD(α_cubic, β_cubic), the Reno-friendly region of CUBIC, has the same
// average.
func AIMDAvgWindow(alpha, beta, p float64) float64 {
	return math.Sqrt(alpha * (1 + beta) / (2 * (1 - beta) * p))
}

// CubicAvgWindow is the average congestion window, in segments, of CUBIC's
// window increase function under the deterministic loss model of RFC 9438
// §5 (one loss every 1/p packets), Figure 5:
// ∜(C(3+β)/(4(1-β))) · RTT^¾ / p^¾, with RTT in seconds.
func CubicAvgWindow(c, beta float64, rtt time.Duration, p float64) float64 {
	return math.Pow(c*(3+beta)/(4*(1-beta)), 0.25) * math.Pow(rtt.Seconds()/p, 0.75)
}

// CubicPrediction is the average window, in segments, that RFC 9438 §5.1
// gives for CUBIC with the recommended constants: the larger of the
// window of its cubic function (CubicAvgWindow) and that of its
// Reno-friendly region (AIMDAvgWindow with α_cubic and β_cubic), since
// CUBIC follows whichever is larger (§4.3). reno reports whether the
// Reno-friendly region is the larger.
func CubicPrediction(rtt time.Duration, p float64) (window float64, reno bool) {
	wc := CubicAvgWindow(CubicC, CubicBeta, rtt, p)
	we := AIMDAvgWindow(CubicAlpha, CubicBeta, p)
	if we >= wc {
		return we, true
	}
	return wc, false
}

// WindowRate converts an average window of segments of mss payload bytes
// over a round-trip time to a rate in bits per second.
func WindowRate(window float64, mss int, rtt time.Duration) float64 {
	return window * float64(mss) * 8 / rtt.Seconds()
}
