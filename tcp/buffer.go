package tcp

import (
	"math/bits"
	"sync"
)

// Buffers are power-of-two byte rings taken from per-size pools, so that a
// connection can release its buffers whenever they run empty (an idle
// connection holds none) without allocating again on the next burst.

const (
	minBufShift = 12 // 4 KiB
	maxBufShift = 30 // 1 GiB
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

func bufClass(size int) int {
	if size <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(size-1)) - minBufShift
}

func getBuf(size int) *[]byte {
	cl := bufClass(size)
	if p, ok := bufPools[cl].Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 1<<(cl+minBufShift))
	return &b
}

func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	bufPools[bufClass(len(*p))].Put(p)
}

// ring is a byte ring buffer addressed by logical offset from its head.
type ring struct {
	p    *[]byte
	head int
}

func (r *ring) capacity() int {
	if r.p == nil {
		return 0
	}
	return len(*r.p)
}

// reserve makes room for need bytes, keeping the used bytes from the head.
func (r *ring) reserve(need, used int) {
	if need <= r.capacity() {
		return
	}
	np := getBuf(need)
	if r.p != nil && used > 0 {
		r.readAt(0, (*np)[:used])
	}
	putBuf(r.p)
	r.p, r.head = np, 0
}

// writeAt copies data to the logical offset off (off+len(data) must not
// exceed the capacity).
func (r *ring) writeAt(off int, data []byte) {
	b := *r.p
	mask := len(b) - 1
	i := (r.head + off) & mask
	n := copy(b[i:], data)
	copy(b, data[n:])
}

// readAt copies len(dst) bytes from logical offset off into dst.
func (r *ring) readAt(off int, dst []byte) {
	b := *r.p
	mask := len(b) - 1
	i := (r.head + off) & mask
	n := copy(dst, b[i:])
	copy(dst[n:], b)
}

// advance drops n bytes from the head.
func (r *ring) advance(n int) {
	if r.p != nil {
		r.head = (r.head + n) & (len(*r.p) - 1)
	}
}

func (r *ring) release() {
	putBuf(r.p)
	r.p, r.head = nil, 0
}
