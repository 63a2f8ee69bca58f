package tcp

// Wrap-safe comparison of 32-bit sequence numbers (RFC 9293 §3.4: all
// arithmetic is modulo 2^32). a < b when the signed distance from b to a is
// negative.

func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGT(a, b uint32) bool  { return int32(a-b) > 0 }
func seqGEQ(a, b uint32) bool { return int32(a-b) >= 0 }

func seqMax(a, b uint32) uint32 {
	if seqGT(a, b) {
		return a
	}
	return b
}

func seqMin(a, b uint32) uint32 {
	if seqLT(a, b) {
		return a
	}
	return b
}

// seqInWindow reports lo <= x < lo+n.
func seqInWindow(x, lo, n uint32) bool { return x-lo < n }
