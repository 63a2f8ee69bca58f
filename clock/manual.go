package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Epoch is the time at which a Manual clock starts: 2000-01-01 00:00:00 UTC.
var Epoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// Manual is a clock that moves only when Advance or Set is called. Its
// timers fire synchronously on the goroutine that moves the clock, in order
// of deadline and, for equal deadlines, in the order in which they were
// scheduled (AfterFunc or Reset); while a timer's function runs, Now
// reports that timer's deadline. Timers that a function schedules fire in
// the same Advance if they fall due before its target.
//
// A Manual clock is safe for concurrent use, but the functions its timers
// run must not call Advance or Set themselves.
type Manual struct {
	moving sync.Mutex // serialises Advance and Set, so timers fire in order

	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

var _ Clock = (*Manual)(nil)

// NewManual returns a Manual clock reading Epoch.
func NewManual() *Manual { return NewManualAt(Epoch) }

// NewManualAt returns a Manual clock reading t.
func NewManualAt(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// AfterFunc schedules f to run when the clock reaches Now()+d. A d of zero or
// less makes f due at once; it runs at the next Advance or Set, even
// Advance(0).
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	t := &manualTimer{m: m, f: f, index: -1}
	m.mu.Lock()
	m.schedule(t, d)
	m.mu.Unlock()
	return t
}

// Advance moves the clock forward by d, running every timer that falls due
// on the way. A negative d moves the clock back like Set.
func (m *Manual) Advance(d time.Duration) {
	m.moving.Lock()
	defer m.moving.Unlock()
	m.mu.Lock()
	target := m.now.Add(d)
	m.mu.Unlock()
	m.runUntil(target)
}

// Set moves the clock to t, running every timer whose deadline is not after
// t. If t is before Now the clock moves back; timers are not rescheduled by
// that, and ones already due still run.
func (m *Manual) Set(t time.Time) {
	m.moving.Lock()
	defer m.moving.Unlock()
	m.runUntil(t)
}

// Next reports the deadline of the earliest pending timer, if any.
func (m *Manual) Next() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.timers) == 0 {
		return time.Time{}, false
	}
	return m.timers[0].when, true
}

// Pending reports how many timers are scheduled.
func (m *Manual) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

func (m *Manual) runUntil(target time.Time) {
	for {
		m.mu.Lock()
		if len(m.timers) == 0 || m.timers[0].when.After(target) {
			m.now = target
			m.mu.Unlock()
			return
		}
		t := heap.Pop(&m.timers).(*manualTimer)
		if t.when.After(m.now) {
			m.now = t.when
		}
		f := t.f
		m.mu.Unlock()
		f()
	}
}

// schedule (re)inserts t with deadline now+d. m.mu must be held.
func (m *Manual) schedule(t *manualTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.when = m.now.Add(d)
	m.seq++
	t.seq = m.seq
	heap.Push(&m.timers, t)
}

type manualTimer struct {
	m     *Manual
	f     func()
	when  time.Time
	seq   uint64
	index int // position in m.timers, -1 when not pending
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.m.timers, t.index)
	return true
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	pending := t.index >= 0
	if pending {
		heap.Remove(&t.m.timers, t.index)
	}
	t.m.schedule(t, d)
	return pending
}

// timerHeap orders timers by deadline, then by scheduling order.
type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if c := h[i].when.Compare(h[j].when); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
