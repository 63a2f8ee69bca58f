// Package seqnum implements wrap-safe sequence number arithmetic.
//
// Value is a 32-bit TCP sequence number (RFC 9293 §3.4): comparisons are
// made modulo 2^32, so that x < y when y lies less than 2^31 ahead of x,
// in the style of RFC 1982 serial number arithmetic and Linux's before()
// and after(). Value64 is the same for the 64-bit data sequence numbers of
// MPTCP (RFC 8684 §3.3). Size is a distance or window length in either
// space.
//
// Two values exactly half the space apart (2^31 for Value) have no defined
// order in RFC 1982 §3.2; here each of them is LessThan the other, as with
// Linux's before(). Protocol code never compares values that far apart
// because windows are smaller than half the space.
//
// Expand recovers a full 64-bit data sequence number from the 32 low bits
// that a DSS option may carry (RFC 8684 §3.3): it returns the 64-bit value
// with those low bits that is nearest to a 64-bit reference, such as the
// next expected data sequence number.
package seqnum
