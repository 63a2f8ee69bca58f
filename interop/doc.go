// Package interop tests gomptcp's MPTCP stack against the Linux kernel's.
//
// # Test bed
//
// A Topology (New) is a network namespace for the kernel, holding one TUN
// device per path, with gomptcp's stack (package mptcp over link/tun) on
// the far side of the devices: path k is 198.18.k.0/24 (or 2001:db8:k::/64
// with Options.IPv6), the kernel's address on it .1, ours .2. Each path
// may carry a link/impair Impairer each way on our side of its device
// (Options.Impair: rate, delay, loss; SetPathUp takes a path down). The
// kernel's side of a connection is cmd/linuxpeer, built once per test
// binary and run in the namespace (Topology.StartPeer); it prints a JSON
// summary that ParsePeerEvent reads. Our side is RunSession over an
// mptcp.Conn (or a plain TCP connection of the same stack). Both send the
// deterministic payload of package interop/payload, check every byte
// they receive and hash both directions with SHA-256, so each transfer is
// byte-exact in both directions or fails. The kernel's view of a live
// connection comes from inet_diag (Topology.KernelConns: its mptcp_info
// and subflows), its MPTcpExt counters from the namespace
// (Topology.KernelMIB); ours from Conn.Info and the Stack's MIB. A tcpdump
// capture of the namespace (Topology.StartCapture) is decoded twice: with
// package trace (AnalyzeCapture: the connections' keys, checksum flag,
// fallback, join HMAC verdicts, DSS checksum verdicts, the MPTCP options)
// and, when it is installed, with tshark (TShark: Wireshark's own MPTCP
// dissector and expert analysis).
//
// Everything is created with a "gmt" prefix and the process id and is
// removed when the test ends. Tests skip (Require) unless they run as root
// with the ip tool, MPTCP in the kernel and /dev/net/tun.
//
// # Matrix
//
// Every scenario runs with each side dialling (the kernel connects to our
// listener, or we to its): one subflow; 2 and 4 subflows from "subflow"
// endpoints; the kernel announcing an address (ADD_ADDR from a "signal"
// endpoint) that we join, and the reverse; REMOVE_ADDR sent by either side
// in the middle of a transfer; a backup subflow (MP_JOIN flag B) and an
// MP_PRIO switch in the middle of a transfer; MP_FASTCLOSE from either
// side; DSS checksums requested by either side (the kernel with
// net.mptcp.checksum_enabled=1), on one subflow and on two; fallback to TCP
// against a kernel with MPTCP disabled; a path that stops carrying packets
// in the middle of a transfer; IPv6; plain TCP on both sides over a path
// losing 1% of the packets each way; 20 MiB each way at once; one byte
// each way with either DATA_FIN first. Paths are rate-limited where a
// scenario needs every subflow busy or a transfer long enough to act in
// its middle.
//
// Every case checks: the bytes and their SHA-256 digests both ways, as
// each side saw them; the changes of the kernel's MPTcpExt counters and
// our counters that the scenario implies (MPJoinAckRx for the joins made,
// AddAddr and EchoAdd, RmAddr, MPPrioRx, MPFastcloseRx…); no movement of
// the error counters (DataCsumErr, DSSNotMatching, the join HMAC failures,
// MP_FAIL…) nor, unless the scenario falls back, of the fallback and
// infinite mapping ones; and that tshark decodes the capture without a
// malformed packet or an error-level or MPTCP expert item, and finds the
// same MPTCP options as package trace. BenchmarkTransfer measures the
// goodput of 20 MiB one-way transfers over one and two paths.
//
// -interop.pcap DIR keeps every case's capture; otherwise a failing case
// logs the notable segments of its capture (handshakes, DATA_FINs,
// resets, options other than plain DSS).
package interop
