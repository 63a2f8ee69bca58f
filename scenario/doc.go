// Package scenario runs bulk transfers over gomptcp's host stack in the
// deterministic network simulator and summarises them, for tests that
// check properties of the protocol (exact delivery under impairments,
// goodput, fairness, agreement with congestion-control models) and for
// golden tables that change only when the behaviour does.
//
// # Describing a scenario
//
// A Scenario lists hosts, routers and the links between them, each link
// with its own impairment model per direction (link/impair: rate and
// drop-tail queue, delay and jitter, Bernoulli and Gilbert–Elliott loss,
// reordering, duplication, corruption, MTU). Link i carries the prefix
// 10.i+1.0.0/24, its A end being .1 and its B end .2; routers get static
// routes along the shortest paths and hosts a default route through each
// link that leads to a router, so several paths can share a bottleneck.
// Direct and Dumbbell build the two common shapes.
//
// Flows are bulk transfers between hosts, each with its own TCP
// configuration and congestion controller, a start time, and a size in
// bytes or a duration (or neither: it then runs until the run ends).
// Events change links at given times: down, up, a new rate, delay or loss,
// or a whole new configuration. The Seed seeds every random process: the
// links' impairments and each host's stack (initial sequence numbers,
// ports), so a scenario runs identically, bit for bit, every time.
//
// # The application
//
// Each flow's sender connects, writes a deterministic pseudo-random byte
// stream and closes; the receiver reads and checks each byte against the
// stream where it lands, until the end of the stream. Both are sans-IO
// like the stack they run on: they react to the stack's event callbacks
// (established, writable, readable, EOF, closed) and to simulator timers,
// inside the simulator's event loop, without goroutines.
//
// # Results
//
// Run returns a Result: per flow the bytes sent and read, when the first
// and last bytes were read and when the stream ended, whether delivery was
// exact, the first connection error, snapshots of both connections'
// tcp.Info (retransmissions, RTOs, fast recoveries, RTT, windows), and the
// bytes read at every sample interval; per link direction the simulator's
// counters (packets, drops by cause, largest queue); per host the
// simulator's and the stack's counters. Goodput is measured as the
// application sees it: bytes read by the receiver divided by the time from
// the first byte read to the last; Throughput gives the same over any
// interval, from the samples. Result.String renders stable text tables,
// which tests compare with golden files.
//
// The package also holds the models the tests compare with: Jain's
// fairness index and the average windows of RFC 9438 (CUBIC) §4.3 and §5.
//
// # Determinism
//
// Results depend only on the scenario. They do depend on every layer under
// it — the TCP engine, the stack, the simulator — which is the point of
// golden tables: a change of behaviour in any of them changes the numbers.
// The congestion controllers compute in floating point; Go fuses
// multiply-adds on some architectures (arm64, ppc64, s390x) but not on
// amd64, so golden files are those of amd64.
package scenario
