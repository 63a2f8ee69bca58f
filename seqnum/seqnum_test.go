package seqnum

import (
	"math"
	"testing"
	"testing/quick"
)

const half32 = 1 << 31

func TestValueCompare(t *testing.T) {
	tests := []struct {
		v, w     Value
		lt, lteq bool
	}{
		{0, 0, false, true},
		{0, 1, true, true},
		{1, 0, false, false},
		{math.MaxUint32, 0, true, true}, // wraps
		{0, math.MaxUint32, false, false},
		{math.MaxUint32 - 10, 5, true, true},
		{5, math.MaxUint32 - 10, false, false},
		{0, half32 - 1, true, true},
		{half32 - 1, 0, false, false},
		{100, 100 + half32 - 1, true, true},
		{100 + half32 - 1, 100, false, false},
		{0, half32 + 1, false, false}, // more than half ahead: behind
		{half32 + 1, 0, true, true},
		// Exactly half apart: undefined by RFC 1982; both directions are "less".
		{0, half32, true, true},
		{half32, 0, true, true},
	}
	for _, tc := range tests {
		if got := tc.v.LessThan(tc.w); got != tc.lt {
			t.Errorf("Value(%d).LessThan(%d) = %v, want %v", tc.v, tc.w, got, tc.lt)
		}
		if got := tc.v.LessThanEq(tc.w); got != tc.lteq {
			t.Errorf("Value(%d).LessThanEq(%d) = %v, want %v", tc.v, tc.w, got, tc.lteq)
		}
	}
}

func TestValueRangeWindow(t *testing.T) {
	tests := []struct {
		v, a, b Value
		in      bool
	}{
		{5, 5, 10, true},
		{9, 5, 10, true},
		{10, 5, 10, false},
		{4, 5, 10, false},
		{5, 5, 5, false}, // empty
		{math.MaxUint32, math.MaxUint32 - 1, 3, true},
		{0, math.MaxUint32 - 1, 3, true},
		{2, math.MaxUint32 - 1, 3, true},
		{3, math.MaxUint32 - 1, 3, false},
		{math.MaxUint32 - 2, math.MaxUint32 - 1, 3, false},
		{half32, 0, half32 + 1, true}, // ranges may exceed half the space
	}
	for _, tc := range tests {
		if got := tc.v.InRange(tc.a, tc.b); got != tc.in {
			t.Errorf("Value(%d).InRange(%d, %d) = %v, want %v", tc.v, tc.a, tc.b, got, tc.in)
		}
		if got := tc.v.InWindow(tc.a, tc.a.Size(tc.b)); got != tc.in {
			t.Errorf("Value(%d).InWindow(%d, %d) = %v, want %v", tc.v, tc.a, tc.a.Size(tc.b), got, tc.in)
		}
	}
	if Value(7).InWindow(7, 0) {
		t.Error("a zero window contains its first value")
	}
	if !Value(6).InWindow(math.MaxUint32, math.MaxUint32) {
		t.Error("window of size 2^32-1 misses a value")
	}
}

func TestValueArithmetic(t *testing.T) {
	tests := []struct {
		v    Value
		s    Size
		add  Value
		sub  Value
		size Size // v.Size(add)
	}{
		{0, 0, 0, 0, 0},
		{10, 5, 15, 5, 5},
		{math.MaxUint32, 1, 0, math.MaxUint32 - 1, 1},
		{math.MaxUint32 - 2, 10, 7, math.MaxUint32 - 12, 10},
		{3, 10, 13, math.MaxUint32 - 6, 10},
		{0, math.MaxUint32, math.MaxUint32, 1, math.MaxUint32},
	}
	for _, tc := range tests {
		if got := tc.v.Add(tc.s); got != tc.add {
			t.Errorf("Value(%d).Add(%d) = %d, want %d", tc.v, tc.s, got, tc.add)
		}
		if got := tc.v.Sub(tc.s); got != tc.sub {
			t.Errorf("Value(%d).Sub(%d) = %d, want %d", tc.v, tc.s, got, tc.sub)
		}
		if got := tc.v.Size(tc.add); got != tc.size {
			t.Errorf("Value(%d).Size(%d) = %d, want %d", tc.v, tc.add, got, tc.size)
		}
	}
	if got := Max(math.MaxUint32, 3); got != 3 {
		t.Errorf("Max(2^32-1, 3) = %d, want 3", got)
	}
	if got := Min(math.MaxUint32, 3); got != math.MaxUint32 {
		t.Errorf("Min(2^32-1, 3) = %d, want 2^32-1", got)
	}
	if got := Max(8, 8); got != 8 {
		t.Errorf("Max(8, 8) = %d", got)
	}
}

func TestValue64(t *testing.T) {
	const half64 = 1 << 63
	compare := []struct {
		v, w Value64
		lt   bool
	}{
		{0, 1, true},
		{1, 0, false},
		{math.MaxUint64, 0, true},
		{0, math.MaxUint64, false},
		{0, half64 - 1, true},
		{0, half64 + 1, false},
		{1 << 32, 1<<32 + 1, true},
		{1<<32 - 1, 1 << 32, true},
	}
	for _, tc := range compare {
		if got := tc.v.LessThan(tc.w); got != tc.lt {
			t.Errorf("Value64(%d).LessThan(%d) = %v, want %v", tc.v, tc.w, got, tc.lt)
		}
		if got := tc.v.LessThanEq(tc.w); got != tc.lt {
			t.Errorf("Value64(%d).LessThanEq(%d) = %v, want %v", tc.v, tc.w, got, tc.lt)
		}
	}
	if !Value64(5).LessThanEq(5) {
		t.Error("LessThanEq is not reflexive")
	}
	if !Value64(1).InRange(math.MaxUint64, 2) || Value64(2).InRange(math.MaxUint64, 2) {
		t.Error("InRange across the 64-bit wrap")
	}
	if !Value64(0).InWindow(math.MaxUint64, 2) || Value64(1).InWindow(math.MaxUint64, 2) {
		t.Error("InWindow across the 64-bit wrap")
	}
	v := Value64(math.MaxUint64 - 1)
	if got := v.Add(3); got != 1 {
		t.Errorf("Add across wrap = %d, want 1", got)
	}
	if got := Value64(1).Sub(3); got != math.MaxUint64-1 {
		t.Errorf("Sub across wrap = %d", got)
	}
	if got := v.Size(1); got != 3 {
		t.Errorf("Size across wrap = %d, want 3", got)
	}
	if got := Value64(0x1234_5678_9abc_def0).Low32(); got != 0x9abc_def0 {
		t.Errorf("Low32 = %#x", got)
	}
	if Max64(math.MaxUint64, 2) != 2 || Min64(math.MaxUint64, 2) != math.MaxUint64 {
		t.Error("Max64/Min64 across wrap")
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name string
		ref  Value64
		low  Value
		want Value64
	}{
		{"same", 0x5_0000_1000, 0x1000, 0x5_0000_1000},
		{"slightly ahead", 0x5_0000_1000, 0x2000, 0x5_0000_2000},
		{"slightly behind", 0x5_0000_1000, 0x0800, 0x5_0000_0800},
		{"ahead across 2^32 boundary", 0x5_ffff_ff00, 0x0000_0100, 0x6_0000_0100},
		{"behind across 2^32 boundary", 0x6_0000_0100, 0xffff_ff00, 0x5_ffff_ff00},
		{"just under half ahead", 0x5_0000_0000, 0x7fff_ffff, 0x5_7fff_ffff},
		{"half: lower candidate", 0x5_0000_0000, 0x8000_0000, 0x4_8000_0000},
		{"half from the other side", 0x5_8000_0000, 0x0000_0000, 0x5_0000_0000},
		{"just over half behind", 0x5_0000_0000, 0x8000_0001, 0x4_8000_0001},
		{"zero ref, behind wraps 64 bits", 0, 0xffff_fff0, 0xffff_ffff_ffff_fff0},
		{"top of space, ahead wraps 64 bits", 0xffff_ffff_ffff_fff0, 0x10, 0x10},
		{"low ref", 0x10, 0x20, 0x20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Expand(tc.ref, tc.low); got != tc.want {
				t.Errorf("Expand(%#x, %#x) = %#x, want %#x", tc.ref, tc.low, got, tc.want)
			}
		})
	}
}

// expandBrute is Expand's specification: among the values with the given
// low bits in the three 2^32-blocks around ref, the one at the smallest
// distance, the lower on a tie.
func expandBrute(ref Value64, low Value) Value64 {
	base := ref&^0xffff_ffff | Value64(low)
	best := base
	bestDist := uint64(math.MaxUint64)
	for _, c := range []Value64{base - 1<<32, base, base + 1<<32} {
		var dist uint64
		if c.LessThan(ref) {
			dist = uint64(ref - c)
		} else {
			dist = uint64(c - ref)
		}
		if dist < bestDist || dist == bestDist && c.LessThan(best) {
			best, bestDist = c, dist
		}
	}
	return best
}

var quickCfg = &quick.Config{MaxCount: 20000}

func TestExpandProperties(t *testing.T) {
	prop := func(ref uint64, low uint32, nearWrap bool) bool {
		r := Value64(ref)
		if nearWrap { // concentrate around 2^32 block edges
			r = r&^0xffff_ffff | Value64(uint32(ref)>>24) | 0xffff_ff00*Value64(ref&1)
		}
		got := Expand(r, Value(low))
		if got.Low32() != Value(low) {
			return false
		}
		if d := int64(got - r); d < -half32 || d >= half32 {
			return false
		}
		return got == expandBrute(r, Value(low))
	}
	if err := quick.Check(prop, quickCfg); err != nil {
		t.Fatal(err)
	}
	identity := func(ref uint64) bool { return Expand(Value64(ref), Value64(ref).Low32()) == Value64(ref) }
	if err := quick.Check(identity, quickCfg); err != nil {
		t.Fatal(err)
	}
	// A value that was sent within 2^31-1 of the reference expands back to itself.
	roundTrip := func(ref uint64, delta int32) bool {
		if delta == math.MinInt32 {
			delta++
		}
		v := Value64(ref) + Value64(int64(delta))
		return Expand(Value64(ref), v.Low32()) == v
	}
	if err := quick.Check(roundTrip, quickCfg); err != nil {
		t.Fatal(err)
	}
}

func TestValueProperties(t *testing.T) {
	trichotomy := func(v, w uint32) bool {
		a, b := Value(v), Value(w)
		if a-b == half32 {
			return a.LessThan(b) && b.LessThan(a)
		}
		n := 0
		if a.LessThan(b) {
			n++
		}
		if b.LessThan(a) {
			n++
		}
		if a == b {
			n++
		}
		return n == 1
	}
	if err := quick.Check(trichotomy, quickCfg); err != nil {
		t.Error("trichotomy:", err)
	}
	// Near the wrap point: v and v+d for small d.
	nearWrap := func(off uint16, d uint16) bool {
		v := Value(math.MaxUint32 - uint32(off))
		w := v.Add(Size(d))
		if d == 0 {
			return !v.LessThan(w) && v.LessThanEq(w)
		}
		return v.LessThan(w) && !w.LessThan(v) && v.Size(w) == Size(d) && w.Sub(Size(d)) == v
	}
	if err := quick.Check(nearWrap, quickCfg); err != nil {
		t.Error("near wrap:", err)
	}
	rangeAgrees := func(v, a uint32, n uint32) bool {
		n %= half32 // short ranges: InRange agrees with the comparisons
		x, lo := Value(v), Value(a)
		hi := lo.Add(Size(n))
		want := lo.LessThanEq(x) && x.LessThan(hi)
		return x.InRange(lo, hi) == want && x.InWindow(lo, Size(n)) == want
	}
	if err := quick.Check(rangeAgrees, quickCfg); err != nil {
		t.Error("InRange:", err)
	}
	transitive := func(v uint32, d1, d2 uint16) bool {
		a := Value(v)
		b := a.Add(Size(d1) + 1)
		c := b.Add(Size(d2) + 1)
		return a.LessThan(b) && b.LessThan(c) && a.LessThan(c)
	}
	if err := quick.Check(transitive, quickCfg); err != nil {
		t.Error("transitivity of short steps:", err)
	}
	maxMin := func(v, w uint32) bool {
		a, b := Value(v), Value(w)
		mx, mn := Max(a, b), Min(a, b)
		return (mx == a || mx == b) && (mn == a || mn == b) && mn.LessThanEq(mx) || a-b == half32
	}
	if err := quick.Check(maxMin, quickCfg); err != nil {
		t.Error("Max/Min:", err)
	}
}

func FuzzExpand(f *testing.F) {
	f.Add(uint64(0), uint32(0))
	f.Add(uint64(0x5_ffff_ff00), uint32(0x100))
	f.Add(uint64(0x5_0000_0000), uint32(0x8000_0000))
	f.Add(uint64(math.MaxUint64), uint32(0))
	f.Fuzz(func(t *testing.T, ref uint64, low uint32) {
		got := Expand(Value64(ref), Value(low))
		if want := expandBrute(Value64(ref), Value(low)); got != want {
			t.Fatalf("Expand(%#x, %#x) = %#x, want %#x", ref, low, got, want)
		}
	})
}

func BenchmarkExpand(b *testing.B) {
	b.ReportAllocs()
	ref := Value64(0x5_ffff_ff00)
	var sink Value64
	for b.Loop() {
		sink += Expand(ref, Value(sink))
	}
	_ = sink
}
