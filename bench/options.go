package bench

import (
	"errors"
	"time"
)

// Options are common to the end-to-end benchmarks.
type Options struct {
	// Runs is the number of repetitions; every subject of a case is
	// measured once per run, back to back.
	Runs int
	// Duration is how long each transfer sends, Warmup the part of it
	// left out of goodput and CPU time.
	Duration, Warmup time.Duration
	// Seed seeds the path emulation (the same in every pairing of a run;
	// run r adds 1000·r).
	Seed uint64
	// Logf, if set, is told of progress.
	Logf func(format string, args ...any)
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

func (o *Options) validate() error {
	switch {
	case o.Runs < 1:
		return errors.New("bench: at least one run")
	case o.Duration <= 0 || o.Warmup < 0 || o.Warmup >= o.Duration:
		return errors.New("bench: the warm-up must be shorter than the duration")
	}
	return nil
}

func (o *Options) seed(run int) uint64 { return o.Seed + 1000*uint64(run) }

// ms converts to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
