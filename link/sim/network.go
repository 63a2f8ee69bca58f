package sim

import (
	"math"
	"time"

	"github.com/gomptcp/mptcp/clock"
)

// Config configures a Network.
type Config struct {
	// Seed seeds every random process of the simulation.
	Seed uint64
	// Start is the virtual time at which the simulation starts; the zero
	// value means clock.Epoch.
	Start time.Time
	// Offload models TCP segmentation offload and its receive-side
	// counterpart, as Linux hosts use them on real NICs (TSO/GSO and GRO):
	// a host's interface whose link direction has no middleware takes a
	// Node's super-packets (it is a stack.SegmentOffloader), and a link
	// direction with no random process (loss, jitter, reordering,
	// duplication, corruption) carries each whole, as one event: queued
	// and counted as its segments, transmitted in the time they take back
	// to back, delivered at once to the next router or to the host, whose
	// Node gets it whole if it is a SuperReceiver. Where that cannot be,
	// the super-packet is cut into its segments, which go on one by one.
	// It trades the interleaving of segments within a burst (the
	// segments of a super-packet never mix with other packets in a
	// queue, and arrive together) for far fewer events. Off, every
	// segment is a packet of its own from end to end.
	Offload bool
}

// Network is a simulated network and its event loop.
type Network struct {
	seed  uint64
	start time.Time
	now   int64 // nanoseconds since start

	startSec  int64 // start as Unix seconds and nanoseconds, for offset
	startNsec int

	events  eventHeap
	seq     uint64
	count   uint64 // events run
	running bool
	firing  *event // the event running now

	hosts   []*Host
	routers []*Router
	links   []*Link

	offload bool   // Config.Offload
	segBuf  []byte // segment's, while no segment runs
}

// New returns an empty Network.
func New(cfg Config) *Network {
	start := cfg.Start
	if start.IsZero() {
		start = clock.Epoch
	}
	return &Network{seed: cfg.Seed, start: start, startSec: start.Unix(), startNsec: start.Nanosecond(), offload: cfg.Offload}
}

var _ clock.Clock = (*Network)(nil)

// Now returns the current virtual time. The Network keeps it as a count of
// nanoseconds since the start, and makes the Time only when asked: most
// events (a packet ending its transmission) read none.
func (n *Network) Now() time.Time { return n.start.Add(time.Duration(n.now)) }

// setNow moves the clock to t nanoseconds since the start.
func (n *Network) setNow(t int64) { n.now = t }

// Start returns the virtual time at which the simulation started.
func (n *Network) Start() time.Time { return n.start }

// Since returns the virtual time elapsed since the start.
func (n *Network) Since() time.Duration { return time.Duration(n.now) }

// Events reports how many events have run.
func (n *Network) Events() uint64 { return n.count }

// Pending reports how many events are scheduled.
func (n *Network) Pending() int { return len(n.events) }

// NextEventTime returns the virtual time of the earliest pending event
// (a packet reaching the end of a link's queue or its far end, a Node's
// timer, a callback of At or AfterFunc) and true, or the zero Time and
// false when nothing is pending. It first reads every Node's Deadline,
// as a run does, so that work given to a Node since the last run counts.
// A driver that keeps virtual time in step with a clock (stack/socket's
// SimLoop) sleeps until then and runs the simulation up to that time, so
// every event happens at its exact virtual time. Like Run, it must not be
// called from inside the simulation: that panics.
func (n *Network) NextEventTime() (time.Time, bool) {
	n.enter()
	defer n.leave()
	if len(n.events) == 0 {
		return time.Time{}, false
	}
	return n.start.Add(time.Duration(n.events[0].at)), true
}

// Hosts returns the hosts in the order they were added.
func (n *Network) Hosts() []*Host { return n.hosts }

// Routers returns the routers in the order they were added.
func (n *Network) Routers() []*Router { return n.routers }

// Links returns the links in the order they were made.
func (n *Network) Links() []*Link { return n.links }

// AfterFunc runs f in the event loop when d of virtual time has passed. It
// implements clock.Clock; after f returns, every Node's Deadline is read
// again.
func (n *Network) AfterFunc(d time.Duration, f func()) clock.Timer {
	u := &userTimer{n: n, f: func(time.Time) { f() }}
	u.ev.fire = u.fire
	u.ev.index = -1
	n.schedule(&u.ev, n.now+max(int64(d), 0))
	return u
}

// At runs f in the event loop at virtual time t (at once if t has passed)
// with the current time. After f returns, every Node's Deadline is read
// again. The returned Timer can cancel or move the call.
func (n *Network) At(t time.Time, f func(now time.Time)) clock.Timer {
	u := &userTimer{n: n, f: f}
	u.ev.fire = u.fire
	u.ev.index = -1
	n.schedule(&u.ev, max(n.offset(t), n.now))
	return u
}

// Run runs events until none is left. With Nodes whose timers never stop,
// it does not return; use RunUntil or RunFor instead. Like RunUntil, RunFor
// and Step, it first reads every Node's Deadline, and it must not be called
// from inside the simulation (from a Node or a callback): that panics.
func (n *Network) Run() {
	n.enter()
	defer n.leave()
	for len(n.events) > 0 {
		n.step()
	}
}

// RunUntil runs every event scheduled up to and including t, then sets the
// clock to t (if t is later than now).
func (n *Network) RunUntil(t time.Time) {
	n.enter()
	defer n.leave()
	end := n.offset(t)
	for len(n.events) > 0 && n.events[0].at <= end {
		n.step()
	}
	if end > n.now {
		n.setNow(end)
	}
}

// RunFor runs the simulation for d of virtual time.
func (n *Network) RunFor(d time.Duration) { n.RunUntil(n.Now().Add(d)) }

// Step runs the next event, if any, and reports whether there was one.
func (n *Network) Step() bool {
	n.enter()
	defer n.leave()
	if len(n.events) == 0 {
		return false
	}
	n.step()
	return true
}

// enter starts a run. It reads every Node's Deadline, since Nodes may have
// been given work before the run.
func (n *Network) enter() {
	if n.running {
		panic("sim: Run, RunUntil, RunFor, Step or NextEventTime called from inside the simulation")
	}
	n.running = true
	n.refreshAll()
}

func (n *Network) leave() { n.running = false }

// step runs the earliest event. The event stays in the heap while it runs:
// if it reschedules itself (the common case for links and hosts), one
// sift moves it; otherwise it is removed afterwards.
func (n *Network) step() {
	top := &n.events[0]
	e, seq := top.e, top.seq
	if top.at > n.now {
		n.setNow(top.at)
	}
	n.count++
	n.firing = e
	switch {
	case e.dir != nil:
		e.dir.fire()
	case e.host != nil:
		e.host.fireTimer()
	default:
		e.fire()
	}
	n.firing = nil
	if e.index >= 0 && e.seq == seq {
		n.events.remove(e.index)
	}
}

// pendingAt reports whether e is scheduled at at and will still be after
// the event running now, so that rescheduling it there can be skipped.
func (n *Network) pendingAt(e *event, at int64) bool {
	return e.index >= 0 && e.at == at && e != n.firing
}

// offset converts t to nanoseconds since the start, saturating.
func (n *Network) offset(t time.Time) int64 {
	// Times within a few centuries of the start (all of them in
	// practice) without a monotonic clock reading take the short way;
	// t.Sub, which handles the rest, is several times slower when
	// neither time has a monotonic reading.
	if ds := t.Unix() - n.startSec; ds > -1<<32 && ds < 1<<32 && t == t.Round(0) {
		return ds*int64(time.Second) + int64(t.Nanosecond()-n.startNsec)
	}
	d := t.Sub(n.start)
	if d == math.MinInt64 {
		return math.MinInt64 + 1
	}
	return int64(d)
}

// schedule (re)schedules e at virtual offset at. Each (re)scheduling takes
// a new sequence number, so events at equal times run in scheduling order.
func (n *Network) schedule(e *event, at int64) {
	n.seq++
	e.at, e.seq = at, n.seq
	if e.index >= 0 {
		n.events.fix(e.index)
		return
	}
	n.events.push(e)
}

func (n *Network) cancel(e *event) bool {
	if e.index < 0 {
		return false
	}
	n.events.remove(e.index)
	return true
}

// refreshAll re-reads every Node's deadline.
func (n *Network) refreshAll() {
	for _, h := range n.hosts {
		h.refresh()
	}
}

// userTimer is an At or AfterFunc call.
type userTimer struct {
	n  *Network
	f  func(now time.Time)
	ev event
}

func (u *userTimer) fire() {
	u.f(u.n.Now())
	u.n.refreshAll()
}

func (u *userTimer) Stop() bool {
	if &u.ev == u.n.firing { // stopping itself while it runs: it has fired
		u.n.cancel(&u.ev)
		return false
	}
	return u.n.cancel(&u.ev)
}

func (u *userTimer) Reset(d time.Duration) bool {
	pending := u.ev.index >= 0 && &u.ev != u.n.firing
	u.n.schedule(&u.ev, u.n.now+max(int64(d), 0))
	return pending
}

// event is an entry of the event heap. Objects that need events embed one
// and reschedule it, so that the steady state allocates nothing. An event
// runs its link direction's or host's handler, called directly as most
// events are theirs, or else fire.
type event struct {
	at    int64
	seq   uint64
	index int // in the heap, -1 when not scheduled
	dir   *Dir
	host  *Host
	fire  func()
}

// eventHeap is a min-heap of events by (at, seq), 4-ary, with the keys
// stored in the heap itself: sifting compares neighbouring entries of one
// array rather than chasing a pointer per comparison, and a 4-ary heap is
// half as deep. (at, seq) is unique, so the order events run in does not
// depend on the heap's shape.
type eventHeap []heapEntry

type heapEntry struct {
	at  int64
	seq uint64
	e   *event
}

func (a *heapEntry) less(b *heapEntry) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

func (h *eventHeap) push(e *event) {
	*h = append(*h, heapEntry{e.at, e.seq, e})
	e.index = len(*h) - 1
	h.up(e.index)
}

func (h *eventHeap) remove(i int) {
	s := *h
	n := len(s) - 1
	e := s[i].e
	if i != n {
		s[i] = s[n]
		s[i].e.index = i
	}
	s[n] = heapEntry{}
	*h = s[:n]
	if i != n {
		h.fix(i)
	}
	e.index = -1
}

// fix restores the order after the key of the entry at i changed; it
// takes the new key from the event.
func (h *eventHeap) fix(i int) {
	s := *h
	s[i].at, s[i].seq = s[i].e.at, s[i].e.seq
	if !h.down(i) {
		h.up(i)
	}
}

func (h eventHeap) up(i int) {
	x := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !x.less(&h[p]) {
			break
		}
		h[i] = h[p]
		h[i].e.index = i
		i = p
	}
	h[i] = x
	x.e.index = i
}

func (h eventHeap) down(i int) bool {
	start := i
	x := h[i]
	n := len(h)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < min(c+4, n); k++ {
			if h[k].less(&h[m]) {
				m = k
			}
		}
		if !h[m].less(&x) {
			break
		}
		h[i] = h[m]
		h[i].e.index = i
		i = m
	}
	h[i] = x
	x.e.index = i
	return i > start
}
