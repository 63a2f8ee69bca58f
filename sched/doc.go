// Package sched holds MPTCP packet schedulers for the meta engine: the
// policies that decide which subflow carries each chunk of a connection's
// data (RFC 8684 §3.3 leaves the choice to the sender). The interfaces are
// package meta's, re-exported here:
//
//   - a Scheduler looks only at the subflows that can take data
//     (SubflowStatus: smoothed RTT and its variation, congestion window
//     and slow-start threshold, bytes in flight and queued, MSS, backup
//     priority) and returns the index of one, or -1 to wait;
//   - a ConnScheduler also keeps state and sees the connection (View: the
//     data waiting to be sent, the peer's data-level window, what is in
//     flight at the data level, the engine's time); the engine makes one
//     instance per connection with NewConn, so one configured instance
//     serves a whole stack.
//
// Either may mark other subflows' Copy to have a chunk sent on them too
// (the receiver keeps the first copy of every byte), and a ConnScheduler
// may cut a chunk shorter with View.Limit.
//
// The schedulers, with their sources:
//
//   - Default: the lowest-RTT subflow with room in its congestion window,
//     backup subflows only when there is no other (Linux's default).
//   - RoundRobin: subflows in turn, a given number of segments each (the
//     multipath-tcp.org kernel's "roundrobin", mptcp_rr.c).
//   - Redundant: every chunk on every subflow that can take it (the
//     multipath-tcp.org kernel's "redundant", mptcp_redundant.c).
//   - BLEST: the default, except that a slower subflow is not used when
//     the data it would carry is estimated to block the faster one in the
//     peer's receive window (Ferlin, Alay, Mehani, Boreli: "BLEST:
//     Blocking Estimation-based MPTCP Scheduler for Heterogeneous
//     Networks", IFIP Networking 2016; mptcp_blest.c).
//   - ECF: the default, except that the sender waits for the fastest
//     subflow when that finishes the queued data earlier than a slower
//     one would (Lim, Nahum, Towsley, Gibbens: "ECF: An MPTCP Path
//     Scheduler to Manage Heterogeneous Paths", CoNEXT 2017;
//     mptcp_ecf.c).
//
// New and Names give them by the names Linux uses ("default",
// "roundrobin", "redundant", "blest", "ecf"), for command lines and
// configuration files.
//
// Schedulers are sans-IO like the engine: they never read a clock (the
// View carries the engine's time) and draw no random numbers, so runs in
// the simulator are reproducible. None of them is safe for concurrent
// use; the engine calls a connection's scheduler from the goroutine that
// drives the connection.
package sched
