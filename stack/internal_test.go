package stack

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestTimerHeap checks the heap against a scan after random pushes,
// moves and removals.
func TestTimerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h timerHeap
	conns := make([]*entry, 64)
	for i := range conns {
		conns[i] = &entry{heapIx: -1}
	}
	for range 20000 {
		c := conns[rng.IntN(len(conns))]
		switch rng.IntN(3) {
		case 0, 1:
			c.deadline = base.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			if c.heapIx >= 0 {
				h.fix(c.heapIx)
			} else {
				h.push(c)
			}
		case 2:
			h.remove(c)
		}
		var min time.Time
		n := 0
		for _, x := range conns {
			if x.heapIx >= 0 {
				n++
				if h[x.heapIx] != x {
					t.Fatal("heapIx out of date")
				}
				if min.IsZero() || x.deadline.Before(min) {
					min = x.deadline
				}
			}
		}
		if n != len(h) || (n > 0 && !h[0].deadline.Equal(min)) {
			t.Fatalf("heap of %d (tracked %d): top %v, minimum %v", len(h), n, h[0].deadline, min)
		}
	}
	for len(h) > 0 {
		prev := h[0].deadline
		h.pop()
		if len(h) > 0 && h[0].deadline.Before(prev) {
			t.Fatal("pop out of order")
		}
	}
}

func TestCommonPrefixLen(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"10.0.0.1", "10.0.0.1", 32},
		{"10.0.0.1", "10.0.0.2", 30},
		{"10.0.0.1", "138.0.0.1", 0},
		{"2001:db8::1", "2001:db8::1", 128},
		{"2001:db8::1", "2001:db9::1", 31},
	}
	for _, tt := range tests {
		if got := commonPrefixLen(netip.MustParseAddr(tt.a), netip.MustParseAddr(tt.b)); got != tt.want {
			t.Errorf("commonPrefixLen(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"2001:db8::/32", "2001:db8::/32"},
	} {
		if got := unmapPrefix(netip.MustParsePrefix(tt.in)); got != netip.MustParsePrefix(tt.want) {
			t.Errorf("unmapPrefix(%s) = %v, want %s", tt.in, got, tt.want)
		}
	}
	if unmapPrefix(netip.MustParsePrefix("::ffff:0:0/64")).IsValid() {
		t.Error("a mapped prefix shorter than 96 bits unmapped")
	}
}
