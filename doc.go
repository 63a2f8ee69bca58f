// Package mptcp is gomptcp: Multipath TCP (RFC 8684, MPTCP v1) in Go.
//
// The module holds a userspace MPTCP v1 stack that interoperates with the
// Linux kernel's MPTCP, pluggable path managers, schedulers and coupled
// congestion control, link backends (a deterministic network simulator and
// Linux TUN devices), and Go tooling for the kernel's own MPTCP.
//
// The packages, bottom up:
//
//   - wire: TCP/IP headers, TCP options, every RFC 8684 MPTCP option, and the
//     MPTCP crypto (keys, tokens, IDSNs, HMACs, DSS checksum).
//   - clock, seqnum: injected clocks; wrap-safe sequence numbers.
//   - tcp, cc: the sans-IO TCP subflow engine; congestion control.
//   - link: the contract between the stack and a network (Node, NIC,
//     Middleware); link/sim, the deterministic simulator; link/impair,
//     link/middlebox, link/pcap.
//   - link/tun: the Linux TUN backend.
//   - stack, stack/socket: the sans-IO host stack, TCP and MPTCP;
//     net.Conn and net.Listener over it.
//   - meta: the MPTCP connection-level engine (RFC 8684 §3).
//   - pathmgr, sched: path managers beyond the default one (fullmesh,
//     ndiffports, userspace); packet schedulers (default, roundrobin,
//     redundant, blest, ecf).
//   - scenario: simulator scenarios and their golden tables.
//   - trace: decoding of TCP/MPTCP packet captures.
//   - kernel, kernel/diag, kernel/pm: the Linux kernel's MPTCP: socket
//     info, MIB counters, sysctls, inet_diag, the mptcp_pm netlink family;
//     mptcpd, a path-manager daemon for it.
//
// The command cmd/mptcp is the single command-line entry point.
//
// # This package
//
// Package mptcp itself is the Go API of the userspace stack, shaped like
// package net: a Stack (NewStack, over a stack.Stack that a socket.Loop
// drives: link/tun's on a real network, socket.SimLoop in the simulator)
// with a Config that mirrors Linux's net.mptcp sysctls; Dialer and
// ListenConfig; Conn, a net.Conn with the MPTCP view (Info with the fields
// of struct mptcp_info, Subflows) and controls (AddSubflow, RemoveSubflow,
// SetBackup, Announce, RemoveAddr, per-subflow TOS, no-delay and
// congestion control); Listener; and Subscribe, a stream of Events that
// mirror Linux's mptcp_pm events. See Example.
package mptcp
