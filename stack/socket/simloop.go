package socket

import (
	"errors"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link/sim"
)

// ErrLoopClosed is returned by SimLoop.Do after Close.
var ErrLoopClosed = errors.New("socket: loop closed")

// DefaultTick is SimConfig.Tick's default.
const DefaultTick = time.Millisecond

// SimConfig configures a SimLoop.
type SimConfig struct {
	// Clock is the time virtual time follows (default clock.Real, which
	// is the fake clock inside a testing/synctest bubble).
	Clock clock.Clock
	// Tick is how long the loop waits before it runs the simulation
	// again when a Node keeps a deadline that has already passed (a
	// Node that does not clear its deadline after Timer), instead of
	// spinning. It does not bound how late anything happens: the loop
	// sleeps until the simulation's next event (sim.Network's
	// NextEventTime) and runs it at its exact virtual time. Default
	// DefaultTick.
	Tick time.Duration
}

// SimLoop runs a link/sim Network on a goroutine of its own, keeping its
// virtual time in step with a clock: a Loop for the Hosts of the Stacks on
// the Network. Once started, the Network must only be used through Do.
type SimLoop struct {
	net  *sim.Network
	clk  clock.Clock
	tick time.Duration

	mu      sync.Mutex
	calls   []func(time.Time)
	started bool
	closed  bool

	wake   chan struct{} // capacity 1
	done   chan struct{}
	exited chan struct{}
}

var _ Loop = (*SimLoop)(nil)

// NewSimLoop returns a SimLoop for n; Start starts it.
func NewSimLoop(n *sim.Network, cfg SimConfig) *SimLoop {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	return &SimLoop{
		net:    n,
		clk:    cfg.Clock,
		tick:   cfg.Tick,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// Start starts the goroutine. The Network's virtual time then advances
// with the clock from where it stands.
func (l *SimLoop) Start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return
	}
	l.started = true
	go l.run()
}

// Do runs f on the loop, inside the simulation at the current virtual
// time (as a Network.At callback); it does not wait for f. Calls queued
// before Start run once the loop starts. After Close it returns
// ErrLoopClosed; calls queued before Close still run.
func (l *SimLoop) Do(f func(now time.Time)) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrLoopClosed
	}
	l.calls = append(l.calls, f)
	l.mu.Unlock()
	signal(l.wake)
	return nil
}

// Close stops the goroutine, after running the calls already queued, and
// waits for it to exit. The Network can be used again (from one goroutine)
// afterwards. Close is idempotent.
func (l *SimLoop) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.exited
		return nil
	}
	l.closed = true
	started := l.started
	l.mu.Unlock()
	if !started {
		close(l.exited)
		return nil
	}
	close(l.done)
	<-l.exited
	return nil
}

func (l *SimLoop) run() {
	defer close(l.exited)
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	wall0, virt0 := l.clk.Now(), l.net.Now()
	virtNow := func() time.Time { return virt0.Add(l.clk.Now().Sub(wall0)) }
	poke := func() { signal(l.wake) }
	for {
		now := virtNow()
		l.net.RunUntil(now)
		l.runCalls()
		next := l.nextEvent(l.net.Now())
		select {
		case <-l.done:
			l.runCalls()
			return
		default:
		}
		if !next.IsZero() {
			wait := next.Sub(virtNow())
			if timer == nil {
				timer = l.clk.AfterFunc(wait, poke)
			} else {
				timer.Reset(wait)
			}
		} else if timer != nil {
			timer.Stop()
		}
		select {
		case <-l.done:
			l.runCalls()
			return
		case <-l.wake:
		}
	}
}

// runCalls runs the queued calls inside the simulation at its current
// time.
func (l *SimLoop) runCalls() {
	l.mu.Lock()
	calls := l.calls
	l.calls = nil
	l.mu.Unlock()
	if len(calls) == 0 {
		return
	}
	for _, f := range calls {
		l.net.At(l.net.Now(), f)
	}
	l.net.RunUntil(l.net.Now())
}

// nextEvent returns when the simulation must run next, after now, which
// it has run up to: the time of its next event; or the zero time when
// nothing is pending.
func (l *SimLoop) nextEvent(now time.Time) time.Time {
	next, ok := l.net.NextEventTime()
	if !ok {
		return time.Time{}
	}
	for _, h := range l.net.Hosts() {
		if nd := h.Node(); nd != nil {
			if d := nd.Deadline(); !d.IsZero() && !d.After(now) {
				// A deadline RunUntil(now) did not clear: the
				// simulator moved it on by a nanosecond; come back a
				// tick later rather than spin.
				return now.Add(l.tick)
			}
		}
	}
	if !next.After(now) {
		next = now.Add(time.Nanosecond) // cannot happen after RunUntil(now); never wait for nothing
	}
	return next
}
