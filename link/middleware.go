package link

import "time"

// Emitter receives the packets a Middleware lets through. pkt is borrowed
// until Emit returns.
type Emitter interface {
	Emit(pkt []byte)
}

// EmitFunc adapts a function to the Emitter interface.
type EmitFunc func(pkt []byte)

// Emit calls f(pkt).
func (f EmitFunc) Emit(pkt []byte) { f(pkt) }

// Middleware sees each IP packet crossing a point and decides what comes out.
// It is sans-IO: time comes in as now, packets go out through an Emitter,
// and Deadline tells the driver when to call Poll. A driver calls a
// Middleware from one goroutine, one call at a time, with a now that does
// not go backwards.
type Middleware interface {
	// Process handles a packet that crosses the point at time now. It may
	// emit it (modified in place or not) to out, emit other or more
	// packets, keep a copy to emit later from Poll, or emit nothing to drop
	// it. pkt is borrowed until Process returns; out may only be used
	// during the call.
	Process(now time.Time, pkt []byte, out Emitter)
	// Poll emits the held packets that are due at now. Afterwards Deadline
	// is zero or after now.
	Poll(now time.Time, out Emitter)
	// Deadline returns when Poll should next be called, or the zero Time if
	// nothing is held. The driver reads it after every Process and Poll.
	Deadline() time.Time
}

// Func is a stateless Middleware: it calls the function for each packet and
// holds nothing, so Poll does nothing and Deadline is always zero.
type Func func(now time.Time, pkt []byte, out Emitter)

// Process calls f.
func (f Func) Process(now time.Time, pkt []byte, out Emitter) { f(now, pkt, out) }

// Poll does nothing.
func (Func) Poll(time.Time, Emitter) {}

// Deadline returns the zero Time.
func (Func) Deadline() time.Time { return time.Time{} }

// Chain returns a Middleware that passes packets through ms in order: what
// ms[0] emits is processed by ms[1], and so on; what the last one emits goes
// to the chain's Emitter. Its Deadline is the earliest of theirs. A chain of
// no middleware passes packets unchanged.
//
// A chain is not re-entrant: an Emitter given to it must not feed packets
// back into the same chain during the call.
func Chain(ms ...Middleware) Middleware {
	c := &chain{stages: append([]Middleware(nil), ms...)}
	c.outs = make([]stageOut, len(ms))
	for i := range c.outs {
		c.outs[i] = stageOut{c: c, next: i + 1}
	}
	return c
}

type chain struct {
	stages []Middleware
	outs   []stageOut // outs[i] receives what stages[i] emits
	now    time.Time  // of the call in progress
	final  Emitter    // of the call in progress
}

type stageOut struct {
	c    *chain
	next int
}

func (s *stageOut) Emit(pkt []byte) {
	c := s.c
	if s.next == len(c.stages) {
		c.final.Emit(pkt)
		return
	}
	c.stages[s.next].Process(c.now, pkt, &c.outs[s.next])
}

func (c *chain) Process(now time.Time, pkt []byte, out Emitter) {
	if len(c.stages) == 0 {
		out.Emit(pkt)
		return
	}
	c.now, c.final = now, out
	c.stages[0].Process(now, pkt, &c.outs[0])
	c.final = nil
}

func (c *chain) Poll(now time.Time, out Emitter) {
	c.now, c.final = now, out
	for i, m := range c.stages {
		if d := m.Deadline(); !d.IsZero() && !d.After(now) {
			m.Poll(now, &c.outs[i])
		}
	}
	c.final = nil
}

func (c *chain) Deadline() time.Time {
	var earliest time.Time
	for _, m := range c.stages {
		if d := m.Deadline(); !d.IsZero() && (earliest.IsZero() || d.Before(earliest)) {
			earliest = d
		}
	}
	return earliest
}
