// Package trace reads packet captures (pcap and pcapng) of TCP and MPTCP
// traffic and decodes every TCP segment with its TCP and MPTCP options
// using package wire. It also follows MPTCP connections across their
// subflows: the keys exchanged in MP_CAPABLE, the tokens and initial data
// sequence numbers derived from them (RFC 8684 §3.1), and whether the
// MP_JOIN and ADD_ADDR HMACs seen on the wire verify against those keys
// (RFC 8684 §3.2, §3.4.1).
//
// It is the engine of "mptcp decode" and of the capture-based tests.
package trace
