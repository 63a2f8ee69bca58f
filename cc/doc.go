// Package cc holds the congestion controllers of the subflow engine in
// package tcp, behind the small Controller interface.
//
// Controllers are registered by name and created with New. Uncoupled:
// "reno" (RFC 5681 with appropriate byte counting) and "cubic" (RFC 9438
// with HyStart++, RFC 9406, and the ACK-train detection of Linux's
// HyStart). Coupled, for the subflows of one MPTCP
// connection: "lia" (RFC 6356), "olia" (Khalili et al., IEEE/ACM ToN 2013),
// "balia" (Peng et al., IEEE/ACM ToN 2016) and "wvegas" (Cao et al.,
// ICNP 2012).
// Each one is an unexported type behind its constructor. The engine keeps
// loss recovery (RFC 6675, RFC 6582, RACK-TLP) to itself and tells the
// controller about the events that move the window: acknowledged bytes with
// an RTT sample (OnAck), a congestion event that starts recovery
// (OnCongestionEvent), the end of recovery (OnRecoveryExit) and a
// retransmission timeout (OnRTO).
//
// Coupled multipath controllers (LIA, OLIA, BALIA, wVegas) need the state of
// every subflow of a connection. For them the engine joins a Group and
// passes its Member in Config; the engine updates the member's SubflowState
// after every event, and a coupled controller reads the whole group with
// Group.Snapshot. Uncoupled controllers ignore the member.
package cc
