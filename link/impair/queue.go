package impair

import "math/bits"

// qpkt is a queued packet: pkt, or with gso > 0 a super-packet of segs
// segments of gso payload bytes each but the last (ProcessSuperAt); wire is
// the bytes it takes on the link.
type qpkt struct {
	pkt             []byte
	wire, segs, gso int
}

// ring is a FIFO of packets. Its buffer's length is zero or a power of
// two, so that positions wrap with a mask rather than a division.
type ring struct {
	buf        []qpkt
	head, size int
}

func (r *ring) len() int { return r.size }

func (r *ring) grow() {
	nb := make([]qpkt, max(16, 2*len(r.buf)))
	mask := len(r.buf) - 1
	for i := range r.size {
		nb[i] = r.buf[(r.head+i)&mask]
	}
	r.buf, r.head = nb, 0
}

func (r *ring) push(p qpkt) {
	if r.size == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.size)&(len(r.buf)-1)] = p
	r.size++
}

func (r *ring) peek() *qpkt { return &r.buf[r.head&(len(r.buf)-1)] }

func (r *ring) pop() qpkt {
	i := r.head & (len(r.buf) - 1)
	p := r.buf[i]
	r.buf[i] = qpkt{}
	r.head = (i + 1) & (len(r.buf) - 1)
	r.size--
	return p
}

// flightRing is a FIFO of flights; its buffer's length is zero or a power
// of two, as ring's.
type flightRing struct {
	buf        []flight
	head, size int
}

func (r *flightRing) len() int { return r.size }

func (r *flightRing) grow() {
	nb := make([]flight, max(16, 2*len(r.buf)))
	mask := len(r.buf) - 1
	for i := range r.size {
		nb[i] = r.buf[(r.head+i)&mask]
	}
	r.buf, r.head = nb, 0
}

func (r *flightRing) push(f flight) {
	if r.size == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.size)&(len(r.buf)-1)] = f
	r.size++
}

// first returns the flight at the head; the ring must not be empty.
func (r *flightRing) first() *flight { return &r.buf[r.head&(len(r.buf)-1)] }

func (r *flightRing) last() *flight { return &r.buf[(r.head+r.size-1)&(len(r.buf)-1)] }

func (r *flightRing) popFirst() flight {
	i := r.head & (len(r.buf) - 1)
	f := r.buf[i]
	r.buf[i] = flight{}
	r.head = (i + 1) & (len(r.buf) - 1)
	r.size--
	return f
}

func (r *flightRing) popLast() flight {
	i := (r.head + r.size - 1) & (len(r.buf) - 1)
	f := r.buf[i]
	r.buf[i] = flight{}
	r.size--
	return f
}

// flight is a propagating packet; segs and gso as in qpkt (segs is 1 and
// gso 0 for an ordinary packet).
type flight struct {
	arrival   int64
	seq       uint64
	pkt       []byte
	wire      int
	segs, gso int
}

// flightHeap is a min-heap of flights by (arrival, seq).
type flightHeap []flight

func (h flightHeap) less(i, j int) bool {
	if h[i].arrival != h[j].arrival {
		return h[i].arrival < h[j].arrival
	}
	return h[i].seq < h[j].seq
}

func (h *flightHeap) push(f flight) {
	*h = append(*h, f)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *flightHeap) pop() flight {
	s := *h
	f := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = flight{}
	s = s[:n]
	s.down(0)
	*h = s
	return f
}

func (h flightHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h flightHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// pool recycles packet buffers by power-of-two capacity class, so that the
// steady state allocates nothing.
type pool struct {
	free [maxClass + 1][][]byte
}

const (
	minClass = 11 // 2 KiB
	maxClass = 17 // 128 KiB
)

func class(n int) int {
	c := bits.Len(uint(n - 1))
	if n <= 1<<minClass {
		c = minClass
	}
	return c
}

// copy returns a pooled buffer holding a copy of p.
func (pl *pool) copy(p []byte) []byte {
	c := class(len(p))
	if c > maxClass {
		return append([]byte(nil), p...)
	}
	var b []byte
	if f := pl.free[c]; len(f) > 0 {
		b = f[len(f)-1]
		pl.free[c] = f[:len(f)-1]
	} else {
		b = make([]byte, 0, 1<<c)
	}
	return append(b[:0], p...)
}

// put recycles a buffer obtained from copy.
func (pl *pool) put(b []byte) {
	c := bits.Len(uint(cap(b))) - 1
	if c < minClass || c > maxClass || cap(b) != 1<<c {
		return
	}
	pl.free[c] = append(pl.free[c], b[:0])
}
