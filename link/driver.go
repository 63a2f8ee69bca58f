package link

import (
	"errors"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/clock"
)

// Errors returned by Driver.
var (
	ErrClosed      = errors.New("link: driver closed")
	ErrBacklogFull = errors.New("link: driver backlog full")
)

// DefaultBacklog is the number of packets a Driver queues for its goroutine
// when NewDriver is given a backlog of zero.
const DefaultBacklog = 1024

// Driver runs a Middleware in real time: one goroutine owns the
// Middleware, feeds it the packets given to Input, calls Poll when its
// Deadline passes on the injected clock, and hands what it emits to an
// Emitter. It is how the middleware of this module (impairment, pcap tap,
// middleboxes) is used over a real backend.
type Driver struct {
	clk     clock.Clock
	mw      Middleware
	out     Emitter
	backlog int

	mu      sync.Mutex
	items   []item   // waiting for the goroutine
	free    [][]byte // recycled packet buffers
	closed  bool
	dropped uint64

	wake   chan struct{} // capacity 1: "items or a deadline are waiting"
	done   chan struct{}
	exited chan struct{}
}

type item struct {
	pkt     []byte
	fn      func(now time.Time)
	barrier chan struct{} // closed when the goroutine is next idle
}

// NewDriver starts a Driver. Packets the Middleware emits go to out, on the
// Driver's goroutine; out borrows them until Emit returns. backlog bounds
// the packets Input queues for the goroutine (0 means DefaultBacklog).
// Close stops the goroutine.
func NewDriver(clk clock.Clock, mw Middleware, out Emitter, backlog int) *Driver {
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	d := &Driver{
		clk:     clk,
		mw:      mw,
		out:     out,
		backlog: backlog,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go d.loop()
	return d
}

// Input hands a packet to the Middleware. It copies pkt and returns at once;
// the goroutine processes it at the clock's time when it gets to it. It
// returns ErrBacklogFull, dropping the packet, if backlog packets are
// already waiting, and ErrClosed after Close. Input is safe for concurrent
// use.
func (d *Driver) Input(pkt []byte) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	if len(d.items) >= d.backlog {
		d.dropped++
		d.mu.Unlock()
		return ErrBacklogFull
	}
	var buf []byte
	for i := len(d.free) - 1; i >= 0; i-- {
		if cap(d.free[i]) >= len(pkt) {
			buf = d.free[i]
			d.free[i] = d.free[len(d.free)-1]
			d.free = d.free[:len(d.free)-1]
			break
		}
	}
	if buf == nil {
		buf = make([]byte, 0, max(len(pkt), 2048))
	}
	d.items = append(d.items, item{pkt: append(buf[:0], pkt...)})
	d.mu.Unlock()
	d.poke()
	return nil
}

// Do runs f on the Driver's goroutine, after the packets already given to
// Input, with the clock's current time. It is how other goroutines change
// the Middleware's settings safely. It does not wait for f to run.
func (d *Driver) Do(f func(now time.Time)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.items = append(d.items, item{fn: f})
	d.poke()
	return nil
}

// Sync waits until the Driver's goroutine has handled everything given to
// Input and Do before the call, polled the Middleware and armed its timer.
// It returns ErrClosed if the Driver is closed before that.
func (d *Driver) Sync() error {
	c := make(chan struct{})
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.items = append(d.items, item{barrier: c})
	d.mu.Unlock()
	d.poke()
	select {
	case <-c:
		return nil
	case <-d.exited:
		return ErrClosed
	}
}

// Dropped reports how many packets Input dropped because the backlog was
// full.
func (d *Driver) Dropped() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// Close stops the goroutine and waits for it to exit. Packets still held by
// the Middleware or waiting in the backlog are discarded. Close is
// idempotent.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		<-d.exited
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	close(d.done)
	<-d.exited
	return nil
}

func (d *Driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Driver) loop() {
	defer close(d.exited)
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var batch []item
	var barriers []chan struct{}
	for {
		select {
		case <-d.done:
			return
		case <-d.wake:
		}
		for {
			d.mu.Lock()
			batch, d.items = d.items, batch[:0]
			d.mu.Unlock()

			now := d.clk.Now()
			for i, it := range batch {
				switch {
				case it.barrier != nil:
					barriers = append(barriers, it.barrier)
				case it.fn != nil:
					it.fn(now)
				default:
					d.mw.Process(now, it.pkt, d.out)
				}
				batch[i] = item{pkt: it.pkt}
			}
			if dl := d.mw.Deadline(); !dl.IsZero() && !dl.After(now) {
				d.mw.Poll(now, d.out)
			}

			d.mu.Lock()
			for _, it := range batch {
				if it.pkt != nil {
					d.free = append(d.free, it.pkt[:0])
				}
			}
			clear(batch)
			pending := len(d.items) > 0
			d.mu.Unlock()
			if pending {
				continue
			}

			dl := d.mw.Deadline()
			if dl.IsZero() {
				if timer != nil {
					timer.Stop()
				}
				break
			}
			wait := dl.Sub(d.clk.Now())
			if wait <= 0 {
				continue // due already: poll again without sleeping
			}
			if timer == nil {
				timer = d.clk.AfterFunc(wait, d.poke)
			} else {
				timer.Reset(wait)
			}
			break
		}
		for _, c := range barriers {
			close(c)
		}
		clear(barriers)
		barriers = barriers[:0]
	}
}
