// Package tcp is a sans-IO TCP engine: the subflow engine of the MPTCP
// stack, and a complete TCP on its own.
//
// A Conn is one connection. It never reads a clock, starts a goroutine or
// does I/O. The caller feeds it received segments (Input), application calls
// (Write, WriteChunk, Read, Close, CloseWrite, Abort) and the current time,
// and drains from it segments to transmit (Poll), events (NextEvent) and the
// time it next needs to be polled (NextDeadline), in the manner of
// smoltcp's poll/poll_at:
//
//	c.Input(now, &seg) // and/or c.Write(p), c.Read(p), c.Close(), …
//	for {
//		out, ok := c.Poll(now, buf) // also fires the timers due at now
//		if !ok {
//			break
//		}
//		send(out) // encode headers and options, transmit
//	}
//	for ev, ok := c.NextEvent(); ok; ev, ok = c.NextEvent() {
//		handle(ev)
//	}
//	wakeAt := c.NextDeadline() // poll again then if nothing arrives
//
// PollInto is Poll building the segment in a Segment the caller keeps
// (say, one for all its connections), which saves copying it around. After
// Read, only a pending window update (WindowUpdatePending) can make output
// ready, and a Write while WriteNeedsPoll reports false cannot, so a
// caller may skip polling then. Times are kept inside as integer
// nanoseconds since the connection was made, the monotonic clock reading
// used when the caller's times carry one.
//
// Received payload is copied once into the receive ring (in place, also
// when out of order) and once more by Read; written data is copied once
// into the send ring and from there into the caller's Poll buffer. Rings
// and the retransmission queue come from pools and are given back
// whenever they drain, and connections with equal configurations share
// one copy of it, so an idle connection holds about 1.3 kB (the Conn, its
// congestion controller and a few queued-event slots).
//
// Segments are independent of IP addresses: the stack above demultiplexes by
// 4-tuple and hands a Listener the SYNs for a listening port. A Listener
// turns a valid SYN into a new Conn in SYN-RECEIVED; a SYN hook can refuse
// it, give it Hooks and (SetSYNConfigHook) a Config of its own.
//
// The engine implements RFC 9293 (state machine, RST rules), RFC 5961
// (challenge ACKs with throttling), RFC 6528 (ISNs), RFC 7323 (window
// scaling, timestamps, PAWS), RFC 2018 and RFC 2883 (SACK, D-SACK), RFC 6675
// (SACK loss recovery), RFC 8985 (RACK-TLP), RFC 6582 (NewReno, without
// SACK), RFC 6298 (RTO), RFC 9293 §3.8.6.3 (delayed ACKs), zero-window
// probing, keepalive, Nagle's algorithm and receive-buffer auto-tuning.
// Congestion control is delegated to package cc.
//
// For MPTCP, Hooks see and extend every segment in both directions, Events
// report what happened to the connection, WriteChunk carries payload chosen
// by the layer above with its segment boundaries kept, SendAck asks for a
// pure ACK to carry the layer's options, and Info returns a copy-out
// snapshot like Linux's tcp_info.
//
// A Conn is not safe for concurrent use.
package tcp
