package impair

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Config describes one link direction. The zero Config is a perfect link:
// no delay, unlimited rate, no loss.
type Config struct {
	// Rate is the transmission rate in bits per second; 0 means unlimited
	// (no serialization delay and no queue).
	Rate int64
	// Delay is the propagation delay.
	Delay time.Duration
	// Jitter spreads each packet's propagation delay uniformly over
	// [Delay-Jitter, Delay+Jitter], but never below zero and never so that
	// the packet overtakes an earlier one.
	Jitter time.Duration
	// QueuePackets and QueueBytes limit the transmit queue, the packet in
	// transmission included (drop-tail). 0 means no limit. They apply only
	// with a Rate.
	QueuePackets int
	QueueBytes   int
	// MTU is the largest packet carried, in bytes; larger ones are dropped.
	// 0 means no limit.
	MTU int
	// Loss is the probability that a packet is lost (Bernoulli loss).
	Loss float64
	// Burst adds Gilbert–Elliott bursty loss when Burst.P > 0.
	Burst GilbertElliott
	// Reorder is the probability that a packet is held back by an extra
	// ReorderDelay, so that later packets overtake it.
	Reorder      float64
	ReorderDelay time.Duration
	// Duplicate is the probability that a packet is delivered twice.
	Duplicate float64
	// Corrupt is the probability that one bit of a packet is flipped.
	Corrupt float64
	// Outages are intervals during which the link is down.
	Outages []Outage
	// Seed seeds the random streams. It is used by New only; SetConfig
	// keeps the streams running.
	Seed uint64
}

// GilbertElliott is the two-state Gilbert–Elliott loss model. For each
// packet, the packet is lost with the loss probability of the current
// state, then the state changes with probability P (Good to Bad) or R (Bad
// to Good). In the long run a fraction P/(P+R) of packets see the Bad
// state, and a stay in the Bad state lasts 1/R packets on average.
type GilbertElliott struct {
	P        float64 // probability of moving from Good to Bad
	R        float64 // probability of moving from Bad to Good
	LossGood float64 // loss probability in the Good state (often 0)
	LossBad  float64 // loss probability in the Bad state (often 1)
}

// Outage is an interval [From, Until) during which the link is down.
type Outage struct {
	From, Until time.Time
}

// ErrConfig is wrapped by every error about an invalid Config.
var ErrConfig = errors.New("impair: invalid config")

func cfgErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

func checkProb(name string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return cfgErr("%s = %v, want a probability in [0, 1]", name, p)
	}
	return nil
}

// Validate reports whether c is usable: no negative quantities,
// probabilities in [0, 1], outages that end after they start.
func (c *Config) Validate() error {
	switch {
	case c.Rate < 0:
		return cfgErr("Rate = %d, want >= 0", c.Rate)
	case c.Delay < 0:
		return cfgErr("Delay = %v, want >= 0", c.Delay)
	case c.Jitter < 0:
		return cfgErr("Jitter = %v, want >= 0", c.Jitter)
	case c.QueuePackets < 0:
		return cfgErr("QueuePackets = %d, want >= 0", c.QueuePackets)
	case c.QueueBytes < 0:
		return cfgErr("QueueBytes = %d, want >= 0", c.QueueBytes)
	case c.MTU < 0:
		return cfgErr("MTU = %d, want >= 0", c.MTU)
	case c.ReorderDelay < 0:
		return cfgErr("ReorderDelay = %v, want >= 0", c.ReorderDelay)
	case c.Jitter > math.MaxInt64/4:
		return cfgErr("Jitter = %v is too large", c.Jitter)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"Loss", c.Loss}, {"Reorder", c.Reorder}, {"Duplicate", c.Duplicate}, {"Corrupt", c.Corrupt},
		{"Burst.P", c.Burst.P}, {"Burst.R", c.Burst.R}, {"Burst.LossGood", c.Burst.LossGood}, {"Burst.LossBad", c.Burst.LossBad},
	} {
		if err := checkProb(p.name, p.v); err != nil {
			return err
		}
	}
	for i, o := range c.Outages {
		if !o.From.Before(o.Until) {
			return cfgErr("Outages[%d] ends (%v) before it starts (%v)", i, o.Until, o.From)
		}
	}
	return nil
}

// clone returns a copy of c that shares no memory with it, outages sorted.
func (c *Config) clone() Config {
	d := *c
	d.Outages = slices.Clone(c.Outages)
	slices.SortStableFunc(d.Outages, func(a, b Outage) int { return a.From.Compare(b.From) })
	return d
}
