package stack

import "time"

// entry is what the Stack keeps of an engine it polls, a Conn or a
// MuxConn: its place in the timer heap and in the dirty list.
type entry struct {
	conn *Conn    // the engine is a Conn's,
	mux  *MuxConn // or a MuxConn's
	// deadline is the engine's next deadline, while it is in the timer
	// heap (heapIx >= 0).
	deadline time.Time
	heapIx   int
	dirty    bool // queued for a poll
	freed    bool // out of the tables for good
}

// timerHeap is a min-heap of entries by deadline. Each entry knows its
// index (heapIx, -1 when it is not in the heap), so moving or removing one
// is O(log n) and nothing allocates once the slice has grown.
type timerHeap []*entry

func (h timerHeap) less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIx = i
	h[j].heapIx = j
}

func (h *timerHeap) push(c *entry) {
	c.heapIx = len(*h)
	*h = append(*h, c)
	h.up(c.heapIx)
}

// pop removes and returns the earliest entry.
func (h *timerHeap) pop() *entry {
	c := (*h)[0]
	h.removeAt(0)
	return c
}

// remove takes c out of the heap if it is there.
func (h *timerHeap) remove(c *entry) {
	if c.heapIx >= 0 {
		h.removeAt(c.heapIx)
	}
}

func (h *timerHeap) removeAt(i int) {
	old := *h
	n := len(old) - 1
	c := old[i]
	if i != n {
		old.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	c.heapIx = -1
	if i != n {
		h.fix(i)
	}
}

// fix restores the order after the deadline at i changed.
func (h timerHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
