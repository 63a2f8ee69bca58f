package impair

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"time"

	"github.com/gomptcp/mptcp/link"
)

// Stats counts what happened to the packets offered to an Impairer.
type Stats struct {
	Packets, Bytes                   uint64 // offered to Process
	DeliveredPackets, DeliveredBytes uint64 // emitted, duplicates included
	DroppedQueue                     uint64 // the queue was full
	DroppedLoss                      uint64 // random loss, Bernoulli or burst
	DroppedMTU                       uint64 // larger than the MTU
	DroppedDown                      uint64 // offered while down, or lost when the link went down
	Duplicated                       uint64 // extra copies made
	Reordered                        uint64 // packets held back for reordering
	Corrupted                        uint64 // packets with a flipped bit
	QueuePackets, QueueBytes         int    // in the queue now
	MaxQueuePackets, MaxQueueBytes   int    // the most ever in the queue
}

// Impairer is a link direction as a link.Middleware; see the package
// documentation for the model. It is not safe for concurrent use.
type Impairer struct {
	cfg  Config
	down bool // set by SetUp(false)

	// Time: nanoseconds since base, which is the first time seen.
	base    time.Time
	started bool
	last    int64 // latest time seen; time never goes back

	outages    []span
	nextOutage int // first outage whose start has not been processed

	queue      ring  // FIFO of packets waiting for and in transmission
	queueBytes int   // sum of their lengths
	headEnd    int64 // when the head of queue finishes transmission

	// Packets propagating: those in order, whose arrival times never
	// decrease, in a FIFO; those held back for reordering in a heap.
	inOrder     flightRing
	late        flightHeap
	seq         uint64 // tie-breaker between the two
	lastArrival int64  // arrival of the last in-order packet

	bad bool // Gilbert–Elliott state

	rLoss, rBurst, rJitter, rReorder, rDup, rCorrupt *rand.Rand

	pool  pool
	stats Stats
}

var _ link.Middleware = (*Impairer)(nil)

type span struct{ from, until int64 }

// Stream identifiers for the random processes.
const (
	streamLoss uint64 = iota + 1
	streamBurst
	streamJitter
	streamReorder
	streamDup
	streamCorrupt
)

// New returns an Impairer for cfg, which it copies.
func New(cfg Config) (*Impairer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Impairer{cfg: cfg.clone()}
	stream := func(id uint64) *rand.Rand {
		a := splitmix(cfg.Seed ^ id*0x9e3779b97f4a7c15)
		return rand.New(rand.NewPCG(a, splitmix(a+id)))
	}
	m.rLoss = stream(streamLoss)
	m.rBurst = stream(streamBurst)
	m.rJitter = stream(streamJitter)
	m.rReorder = stream(streamReorder)
	m.rDup = stream(streamDup)
	m.rCorrupt = stream(streamCorrupt)
	return m, nil
}

// splitmix is the SplitMix64 finaliser, used to spread seeds.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Config returns a copy of the current configuration.
func (m *Impairer) Config() Config { return m.cfg.clone() }

// Stats returns the counters.
func (m *Impairer) Stats() Stats {
	s := m.stats
	s.QueuePackets, s.QueueBytes = m.queue.len(), m.queueBytes
	return s
}

// SetConfig changes the configuration at time now. Packets already in the
// queue keep their place (a lower queue limit only refuses new ones); the
// packet in transmission finishes at the old rate; packets already
// propagating keep their arrival times. New outages that cover now take the
// link down at once. cfg.Seed is ignored: the random streams keep running.
func (m *Impairer) SetConfig(now time.Time, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	t := m.clock(now)
	m.advance(t, nil)
	wasDown := m.isDown(t)
	m.cfg = cfg.clone()
	m.installOutages(t)
	if !wasDown && m.isDown(t) {
		m.dropAll(t)
	}
	return nil
}

// SetUp takes the link down or brings it back up at time now. Going down
// loses the packets in the queue and those propagating. Outages apply on
// top: the link is up only when SetUp(true) and outside every outage.
func (m *Impairer) SetUp(now time.Time, up bool) {
	t := m.clock(now)
	m.advance(t, nil)
	if !up && !m.isDown(t) {
		m.dropAll(t)
	}
	m.down = !up
}

// Up reports whether the link is up at now.
func (m *Impairer) Up(now time.Time) bool { return !m.isDown(m.clock(now)) }

// Process offers a packet to the link at time now. It never emits: packets
// leave through Poll, at the earliest at now.
func (m *Impairer) Process(now time.Time, pkt []byte, _ link.Emitter) {
	t := m.clock(now)
	m.advance(t, nil)
	n := len(pkt)
	m.stats.Packets++
	m.stats.Bytes += uint64(n)
	switch {
	case m.isDown(t):
		m.stats.DroppedDown++
		return
	case m.cfg.MTU > 0 && n > m.cfg.MTU:
		m.stats.DroppedMTU++
		return
	case m.lost():
		m.stats.DroppedLoss++
		return
	}
	if m.cfg.Rate == 0 && m.queue.len() == 0 {
		m.transmitted(t, m.pool.copy(pkt))
		return
	}
	// With no rate, packets only queue behind ones sent at an earlier rate.
	if m.cfg.Rate > 0 && (m.cfg.QueuePackets > 0 && m.queue.len() >= m.cfg.QueuePackets ||
		m.cfg.QueueBytes > 0 && m.queueBytes+n > m.cfg.QueueBytes) {
		m.stats.DroppedQueue++
		return
	}
	if m.queue.len() == 0 {
		m.headEnd = t + m.serialization(n)
	}
	m.queue.push(m.pool.copy(pkt))
	m.queueBytes += n
	m.stats.MaxQueuePackets = max(m.stats.MaxQueuePackets, m.queue.len())
	m.stats.MaxQueueBytes = max(m.stats.MaxQueueBytes, m.queueBytes)
}

// Poll emits, in order of arrival, the packets that have arrived by now.
func (m *Impairer) Poll(now time.Time, out link.Emitter) {
	m.advance(m.clock(now), out)
}

// Deadline returns when the next packet arrives or finishes transmission,
// or when the next outage starts while packets are on their way.
func (m *Impairer) Deadline() time.Time {
	t, ok := m.next()
	if !ok {
		return time.Time{}
	}
	return m.base.Add(time.Duration(t))
}

func (m *Impairer) next() (int64, bool) {
	t, ok := int64(math.MaxInt64), false
	if m.queue.len() > 0 {
		t, ok = m.headEnd, true
	}
	if f, ok2 := m.nextFlight(); ok2 && f.arrival < t {
		t, ok = f.arrival, true
	}
	if ok && m.nextOutage < len(m.outages) && m.outages[m.nextOutage].from < t {
		t = m.outages[m.nextOutage].from
	}
	return t, ok
}

// clock converts now to nanoseconds since base, never going back.
func (m *Impairer) clock(now time.Time) int64 {
	if !m.started {
		m.started = true
		m.base = now
		m.installOutages(0)
		return 0
	}
	t := int64(now.Sub(m.base))
	if t < m.last {
		return m.last
	}
	m.last = t
	return t
}

func (m *Impairer) installOutages(t int64) {
	m.outages = m.outages[:0]
	for _, o := range m.cfg.Outages {
		m.outages = append(m.outages, span{int64(o.From.Sub(m.base)), int64(o.Until.Sub(m.base))})
	}
	m.nextOutage = 0
	for m.nextOutage < len(m.outages) && m.outages[m.nextOutage].from <= t {
		m.nextOutage++
	}
}

func (m *Impairer) isDown(t int64) bool {
	if m.down {
		return true
	}
	for _, o := range m.outages {
		if o.from > t {
			break
		}
		if t < o.until {
			return true
		}
	}
	return false
}

// advance runs the link's internal events up to t in time order: arrivals
// (emitted to out, or left for later when out is nil), ends of
// transmission, and starts of outages. On equal times, arrivals come first
// and outages last.
func (m *Impairer) advance(t int64, out link.Emitter) {
	for {
		const (
			none = iota
			arrive
			txEnd
			outage
		)
		at, what := int64(math.MaxInt64), none
		if out != nil {
			if f, ok := m.nextFlight(); ok {
				at, what = f.arrival, arrive
			}
		}
		if m.queue.len() > 0 && m.headEnd < at {
			at, what = m.headEnd, txEnd
		}
		if m.nextOutage < len(m.outages) && m.outages[m.nextOutage].from < at {
			at, what = m.outages[m.nextOutage].from, outage
		}
		if what == none || at > t {
			return
		}
		switch what {
		case arrive:
			f := m.popFlight()
			m.stats.DeliveredPackets++
			m.stats.DeliveredBytes += uint64(len(f.pkt))
			out.Emit(f.pkt)
			m.pool.put(f.pkt)
		case txEnd:
			pkt := m.queue.pop()
			m.queueBytes -= len(pkt)
			if m.queue.len() > 0 {
				m.headEnd = at + m.serialization(len(m.queue.peek()))
			}
			m.transmitted(at, pkt)
		case outage:
			m.nextOutage++
			if !m.down {
				m.dropAll(at)
			}
		}
	}
}

// dropAll loses the queue and the packets that would arrive after t.
func (m *Impairer) dropAll(t int64) {
	for m.queue.len() > 0 {
		m.pool.put(m.queue.pop())
		m.stats.DroppedDown++
	}
	m.queueBytes = 0
	// In-order packets arrive in order: drop from the tail.
	for m.inOrder.len() > 0 && m.inOrder.last().arrival > t {
		m.pool.put(m.inOrder.popLast().pkt)
		m.stats.DroppedDown++
	}
	kept := m.late[:0]
	for _, f := range m.late {
		if f.arrival <= t {
			kept = append(kept, f)
			continue
		}
		m.pool.put(f.pkt)
		m.stats.DroppedDown++
	}
	clear(m.late[len(kept):])
	m.late = kept
	m.late.init()
	m.lastArrival = min(m.lastArrival, t)
}

// serialization returns the time to transmit n bytes at the current rate.
func (m *Impairer) serialization(n int) int64 {
	r := m.cfg.Rate
	if r == 0 {
		return 0
	}
	// ceil(n × 8 × 10⁹ / r) in 128-bit arithmetic, saturating.
	hi, lo := bits.Mul64(uint64(n)*8, uint64(time.Second))
	if hi >= uint64(r) {
		return math.MaxInt64
	}
	q, rem := bits.Div64(hi, lo, uint64(r))
	if rem != 0 {
		q++
	}
	return int64(min(q, math.MaxInt64))
}

// lost draws the loss processes for one packet.
func (m *Impairer) lost() bool {
	lost := false
	if p := m.cfg.Loss; p > 0 && m.rLoss.Float64() < p {
		lost = true
	}
	if ge := &m.cfg.Burst; ge.P > 0 || m.bad {
		p, change := ge.LossGood, ge.P
		if m.bad {
			p, change = ge.LossBad, ge.R
		}
		if p > 0 && m.rBurst.Float64() < p {
			lost = true
		}
		if m.rBurst.Float64() < change {
			m.bad = !m.bad
		}
	}
	return lost
}

// transmitted starts pkt, which finished transmission at t, propagating.
func (m *Impairer) transmitted(t int64, pkt []byte) {
	if p := m.cfg.Corrupt; p > 0 && len(pkt) > 0 && m.rCorrupt.Float64() < p {
		bit := m.rCorrupt.IntN(len(pkt) * 8)
		pkt[bit/8] ^= 1 << (bit % 8)
		m.stats.Corrupted++
	}
	arrival := t + int64(m.cfg.Delay)
	if j := int64(m.cfg.Jitter); j > 0 {
		arrival += m.rJitter.Int64N(2*j+1) - j
		arrival = max(arrival, t)
	}
	held := false
	if p := m.cfg.Reorder; p > 0 && m.rReorder.Float64() < p {
		arrival += int64(m.cfg.ReorderDelay)
		m.stats.Reordered++
		held = true
	} else {
		arrival = max(arrival, m.lastArrival)
		m.lastArrival = arrival
	}
	m.propagate(held, arrival, pkt)
	if p := m.cfg.Duplicate; p > 0 && m.rDup.Float64() < p {
		m.propagate(held, arrival, m.pool.copy(pkt))
		m.stats.Duplicated++
	}
}

func (m *Impairer) propagate(held bool, arrival int64, pkt []byte) {
	m.seq++
	f := flight{arrival: arrival, seq: m.seq, pkt: pkt}
	if held {
		m.late.push(f)
	} else {
		m.inOrder.push(f)
	}
}

// nextFlight returns the propagating packet that arrives first.
func (m *Impairer) nextFlight() (flight, bool) {
	switch {
	case m.inOrder.len() == 0 && len(m.late) == 0:
		return flight{}, false
	case m.inOrder.len() == 0:
		return m.late[0], true
	case len(m.late) == 0:
		return m.inOrder.first(), true
	}
	a, b := m.inOrder.first(), m.late[0]
	if b.arrival < a.arrival || b.arrival == a.arrival && b.seq < a.seq {
		return b, true
	}
	return a, true
}

func (m *Impairer) popFlight() flight {
	f, _ := m.nextFlight()
	if m.inOrder.len() > 0 && m.inOrder.first().seq == f.seq {
		return m.inOrder.popFirst()
	}
	return m.late.pop()
}
