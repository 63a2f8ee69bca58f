// Package interop tests gomptcp's MPTCP stack against the Linux kernel's.
//
// # Test bed
//
// A Topology (New) is a network namespace for the kernel, holding one TUN
// device per path, with gomptcp's stack (package mptcp over link/tun) on
// the far side of the devices: path k is 198.18.k.0/24, the kernel's
// address on it 198.18.k.1, ours 198.18.k.2. The kernel's side of a
// connection is cmd/linuxpeer, built once per test binary and run in the
// namespace (Topology.StartPeer); it prints a JSON summary that
// ParsePeerEvent reads. Our side is RunSession over an mptcp.Conn. Both
// send the deterministic payload of package interop/payload and check
// every byte they receive, so each transfer is byte-exact in both
// directions or fails. The kernel's view of a live connection comes from
// inet_diag (Topology.KernelConns: its mptcp_info and subflows), its
// MPTcpExt counters from the namespace (Topology.KernelMIB); ours from
// Conn.Info and the Stack's MIB. A tcpdump capture of the namespace
// (Topology.StartCapture) is decoded with package trace (AnalyzeCapture):
// the connections' keys, checksum flag, fallback, join HMAC verdicts and
// DSS checksum verdicts are a third, wire-level view.
//
// Everything is created with a "gmt" prefix and the process id and is
// removed when the test ends. Tests skip (Require) unless they run as root
// with the ip tool, MPTCP in the kernel and /dev/net/tun.
//
// # Matrix
//
// The tests cover: MP_CAPABLE with either side dialling; DSS checksums
// requested by either side, with either side dialling, every checksum on
// the wire verified; a second subflow over the second path opened with
// MP_JOIN by the side that dialled (our "subflow" endpoint towards the
// kernel's listener, the kernel's endpoint towards ours), both subflows
// carrying data; fallback to TCP against a kernel with MPTCP disabled;
// 20 MiB each way at once; one byte each way with either DATA_FIN first;
// MP_FASTCLOSE from either side. BenchmarkTransfer measures the goodput of
// 20 MiB one-way transfers over one and two paths.
//
// Cases that fail because of known bugs are kept and skipped with the
// symptom and its evidence; -interop.known runs them. -interop.pcap DIR
// keeps every case's capture; otherwise a failing case logs the notable
// segments of its capture (handshakes, DATA_FINs, resets, options other
// than plain DSS).
package interop
