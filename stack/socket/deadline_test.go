package socket

import (
	"testing"
	"time"

	"github.com/gomptcp/mptcp/clock"
)

// lateClock is a clock whose timers cannot be stopped once armed: Stop
// reports false, as for a callback already running on another goroutine,
// and the test runs the callbacks when it chooses.
type lateClock struct {
	now   time.Time
	funcs []func()
}

type lateTimer struct{}

func (lateTimer) Stop() bool               { return false }
func (lateTimer) Reset(time.Duration) bool { return false }

func (c *lateClock) Now() time.Time { return c.now }
func (c *lateClock) AfterFunc(_ time.Duration, f func()) clock.Timer {
	c.funcs = append(c.funcs, f)
	return lateTimer{}
}

func expiredNow(d *deadline) bool {
	select {
	case <-d.expired():
		return true
	default:
		return false
	}
}

// TestDeadlineLateTimer: the timer of a deadline that a later call replaced
// may still run (Stop does not wait for a callback already started); it
// must not expire the new deadline. (net.Conn's ConcurrentMethods test hit
// it: a 10 ms deadline's timer ran after SetDeadline(zero) and timed out a
// Write that had no deadline any more.)
func TestDeadlineLateTimer(t *testing.T) {
	for _, next := range []time.Duration{0, time.Hour} {
		clk := &lateClock{now: time.Unix(1000, 0)}
		var d deadline
		d.init(clk)
		d.set(clk.now.Add(10 * time.Millisecond))
		if next == 0 {
			d.set(time.Time{})
		} else {
			d.set(clk.now.Add(next))
		}
		clk.funcs[0]() // the first deadline's timer, late
		if expiredNow(&d) {
			t.Errorf("next deadline %v: expired by the timer of the one it replaced", next)
		}
		if next > 0 {
			clk.funcs[1]()
			if !expiredNow(&d) {
				t.Errorf("next deadline %v: its own timer did not expire it", next)
			}
		}
	}
}
