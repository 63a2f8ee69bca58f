package clock

import "time"

// Clock tells the time and runs functions later.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc arranges for f to run once, after d has elapsed. A d of zero
	// or less makes f due at once. Where f runs depends on the clock: Real
	// runs it on a goroutine of its own, Manual on the goroutine that moves
	// the clock past the deadline.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the function from running. It reports whether the call
	// stopped the timer; false means the timer had already fired or been
	// stopped.
	Stop() bool
	// Reset makes the timer due d from now, whether or not it had fired or
	// been stopped. It reports whether the timer was pending before.
	Reset(d time.Duration) bool
}

// Real is the system clock: Now is time.Now and AfterFunc is
// time.AfterFunc. The zero value is ready to use.
type Real struct{}

var _ Clock = Real{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc calls time.AfterFunc: f runs on its own goroutine.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
