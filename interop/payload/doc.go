// Package payload is the deterministic byte stream that the two ends of an
// interop transfer send each other, so that each can check every byte it
// receives without a copy of what was sent: the outputs of the SplitMix64
// generator (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014) started from a seed, each written as 8
// little-endian bytes. It is the format of cmd/linuxpeer's --send-bytes
// and of "mptcp connect/listen", so gomptcp's stack and the Linux kernel's
// verify each other.
//
// New returns the stream of a seed as an io.Reader; NewChecker returns an
// io.Writer that compares what it is given with the stream and remembers
// the offset of the first byte that differs. Neither depends on how the
// bytes are split into calls.
package payload
