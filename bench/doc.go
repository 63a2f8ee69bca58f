// Package bench is gomptcp's benchmark harness: end-to-end measurements of
// the MPTCP stack on emulated network paths, each compared side by side, in
// the same run, with the Linux kernel's MPTCP or with gVisor's netstack.
// cmd/mptcpbench runs them and writes the tables of docs/BENCHMARKS.md.
//
// The harness is a module of its own so that its heavy dependencies (gVisor)
// stay out of the library's.
//
// # Emulated paths
//
// Path k is 198.18.k.0/24 (RFC 2544's benchmarking range): the client's
// address on it is .1, the server's .2. Every path direction crosses
// exactly one link/impair Impairer with the configuration of its PathSpec
// (rate with a drop-tail queue, propagation delay, loss), seeded the same
// way in every pairing, so that the pairings of a run see identical paths:
//
//   - Linux ↔ Linux: the client and the server each have a network
//     namespace with one TUN device per path; the harness forwards packets
//     between the two devices of a path, through one Impairer per
//     direction, on goroutines of its own (Emulator).
//   - gomptcp ↔ Linux (either way round): the kernel's namespace has one
//     TUN device per path and gomptcp's stack runs on the other side of
//     the devices (link/tun), with the Impairers as the NIC's transmit and
//     receive middleware.
//   - gomptcp ↔ gomptcp: both stacks run on TUN devices of a third
//     namespace whose kernel forwards between the two devices of a path
//     (policy routing by input device); each stack's transmit middleware
//     is the Impairer of the direction it sends.
//
// The rate is emulated by the Impairer, not by the kernel's tbf: a qdisc
// shapes a device's egress only, and a gomptcp end writes into the
// kernel's ingress, so tbf could not shape the gomptcp-to-Linux direction
// without an extra forwarding hop that the other pairings would not have.
// With one emulator everywhere, the paths are the same by construction.
//
// Linux ends are sockets of this process created in their namespace (a
// socket stays in the namespace it was created in), with the kernel's
// MPTCP endpoints and limits set with ip(8) and a source-address routing
// rule per path, so that each subflow takes its own path.
//
// # What is measured
//
// See docs/BENCHMARKS.md: aggregation, failover, single-subflow throughput
// over TUN against gVisor's netstack, CPU seconds per GB, connection setup
// time, memory per idle connection and simulator speed. Runs are repeated
// and summarised by medians; ratios are taken within each run, between
// measurements made back to back on the same paths.
//
// Everything the harness creates (namespaces, devices) is named with the
// prefix "gmb" and the process id and is removed by Env.Close, also when a
// benchmark fails.
package bench
