// Package link is the boundary between gomptcp's protocol stack and the
// networks it runs on: the discrete-event simulator in link/sim and real
// backends such as Linux TUN devices.
//
// # The contract
//
// A Node is a protocol stack seen from below. It is sans-IO: it never reads
// a clock, starts a goroutine or blocks. A driver (the simulator, or a real
// backend's event loop) owns time and calls the Node from a single
// goroutine, one call at a time, passing the current time to each call:
//
//   - Receive(now, nic, pkt) for every IP packet that arrives on nic;
//   - Timer(now) once now has reached Deadline();
//   - LinkEvent(now, nic, ev) when a NIC goes up or down or gains or loses
//     an address.
//
// After every call into a Node (including the driver's own calls on behalf
// of the application, such as "open a connection"), the driver reads
// Deadline again and arms its timer accordingly. Timer may be called late
// or spuriously; a Node checks its own timers against now. The simulator
// runs all of this synchronously inside its event loop on virtual time,
// which is what makes its runs reproducible bit for bit; a real backend
// runs the same calls from one event-loop goroutine on wall-clock time.
//
// A NIC is what a Node transmits through. Send(pkt) takes one whole IP
// packet (IPv4 or IPv6, no link-layer header).
//
// # Packet ownership
//
// Packet bytes are always borrowed, never handed over: whoever receives a
// []byte in a call may read it, and modify it in place, only until that
// call returns. A NIC copies what it must keep before Send returns, so the
// sender may reuse its buffer at once; a Node copies what it keeps out of
// Receive. This lets every layer work from a few reusable buffers: the
// simulator's links keep packets in pooled buffers and the steady state
// allocates nothing per packet.
//
// # Middleware
//
// A Middleware sees each IP packet crossing a point (a simulated link
// direction, or a NIC of a real backend) and may pass it, drop it, modify
// it, duplicate it or hold it back to release it later. Its Process method
// takes a packet and emits zero or more packets to an Emitter; its Poll
// method releases held packets whose time has come; Deadline tells the
// driver when to call Poll next. Middleware is sans-IO like a Node, so the
// same value works in the simulator (virtual time) and over a real backend
// (Driver, wall-clock time). Chain composes middleware; Func turns a
// stateless function into one.
//
// Packages built on this one: link/impair (rate, delay, jitter, queue,
// loss, reordering, duplication, corruption, outages), link/pcap (a pcap
// tap), link/middlebox (MPTCP option stripping, NAT, sequence number
// randomisation, segment splitting and coalescing) and link/sim (the
// simulator).
package link
