package seqnum

// Value is a 32-bit sequence number (RFC 9293 §3.4).
type Value uint32

// Size is a distance between, or a window of, 32-bit sequence numbers.
type Size uint32

// LessThan reports whether v comes before w: w - v, taken modulo 2^32, lies
// in [1, 2^31] (RFC 9293 §3.4, RFC 1982 §3.2).
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v == w or v comes before w.
func (v Value) LessThanEq(w Value) bool { return v == w || v.LessThan(w) }

// InRange reports whether a <= v < b in sequence space: v lies in the
// half-open interval that starts at a and ends just before b. An empty
// interval (a == b) contains nothing.
func (v Value) InRange(a, b Value) bool { return v-a < b-a }

// InWindow reports whether v lies in the window of size s that starts at
// first: first <= v < first+s (RFC 9293 §3.10.7.4 acceptability tests).
func (v Value) InWindow(first Value, s Size) bool { return Size(v-first) < s }

// Add returns v advanced by s.
func (v Value) Add(s Size) Value { return v + Value(s) }

// Sub returns v moved back by s.
func (v Value) Sub(s Size) Value { return v - Value(s) }

// Size returns the distance from v forward to w, (w - v) modulo 2^32.
func (v Value) Size(w Value) Size { return Size(w - v) }

// Max returns the later of v and w.
func Max(v, w Value) Value {
	if v.LessThan(w) {
		return w
	}
	return v
}

// Min returns the earlier of v and w.
func Min(v, w Value) Value {
	if v.LessThan(w) {
		return v
	}
	return w
}

// Value64 is a 64-bit sequence number, such as an MPTCP data sequence
// number (RFC 8684 §3.3).
type Value64 uint64

// Size64 is a distance between, or a window of, 64-bit sequence numbers.
type Size64 uint64

// LessThan reports whether v comes before w: w - v, taken modulo 2^64, lies
// in [1, 2^63].
func (v Value64) LessThan(w Value64) bool { return int64(v-w) < 0 }

// LessThanEq reports whether v == w or v comes before w.
func (v Value64) LessThanEq(w Value64) bool { return v == w || v.LessThan(w) }

// InRange reports whether a <= v < b in sequence space.
func (v Value64) InRange(a, b Value64) bool { return v-a < b-a }

// InWindow reports whether first <= v < first+s.
func (v Value64) InWindow(first Value64, s Size64) bool { return Size64(v-first) < s }

// Add returns v advanced by s.
func (v Value64) Add(s Size64) Value64 { return v + Value64(s) }

// Sub returns v moved back by s.
func (v Value64) Sub(s Size64) Value64 { return v - Value64(s) }

// Size returns the distance from v forward to w, (w - v) modulo 2^64.
func (v Value64) Size(w Value64) Size64 { return Size64(w - v) }

// Low32 returns the low 32 bits of v, the part a 4-octet DSN or DATA_ACK
// carries (RFC 8684 §3.3).
func (v Value64) Low32() Value { return Value(v) }

// Max64 returns the later of v and w.
func Max64(v, w Value64) Value64 {
	if v.LessThan(w) {
		return w
	}
	return v
}

// Min64 returns the earlier of v and w.
func Min64(v, w Value64) Value64 {
	if v.LessThan(w) {
		return v
	}
	return w
}

// Expand returns the 64-bit sequence number whose low 32 bits are low and
// which is nearest to ref. RFC 8684 §3.3 lets a DSS option carry only the
// low 32 bits of a data sequence number or DATA_ACK; the receiver expands
// them against a 64-bit reference it tracks (for a DSN, the next expected
// data sequence number; for a DATA_ACK, the last data sent but not yet
// acknowledged).
//
// The result lies in [ref - 2^31, ref + 2^31): when two candidates are
// equally near (low is exactly 2^31 away from ref's low bits), the lower
// one is chosen. Arithmetic wraps modulo 2^64 like the rest of Value64.
func Expand(ref Value64, low Value) Value64 {
	d := int32(low - ref.Low32())
	return ref + Value64(int64(d))
}
