package socket

import (
	"sync"
	"time"

	"github.com/gomptcp/mptcp/clock"
)

// deadline is a settable point in time with a channel that is closed once
// it has passed, so that blocked calls can select on it and a new deadline
// applies to calls already waiting.
type deadline struct {
	mu    sync.Mutex
	clk   clock.Clock
	timer clock.Timer
	gen   uint64        // set calls so far: a timer of an earlier one does nothing
	ch    chan struct{} // closed when the deadline has passed
}

func (d *deadline) init(clk clock.Clock) {
	d.clk = clk
	d.ch = make(chan struct{})
}

// set arms the deadline for t; the zero time disarms it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		// Stop does not wait for a callback already running: that one
		// finds gen moved on.
		d.timer.Stop()
		d.timer = nil
	}
	if isClosed(d.ch) {
		d.ch = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	wait := t.Sub(d.clk.Now())
	if wait <= 0 {
		close(d.ch)
		return
	}
	ch, gen := d.ch, d.gen
	d.timer = d.clk.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen && d.ch == ch && !isClosed(ch) {
			close(ch)
		}
	})
}

// expired returns the channel that is closed once the deadline passes.
func (d *deadline) expired() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// stop cancels a pending timer.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
