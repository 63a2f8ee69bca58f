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
	// The fields read on every call come first, together.

	// Time: nanoseconds since base, the origin (see NewAt).
	last int64 // latest time seen; time never goes back

	queue      ring  // FIFO of packets waiting for and in transmission
	queueBytes int   // sum of their lengths on the wire
	queuePkts  int   // and of their segments (a super-packet counts each)
	headEnd    int64 // when the head of queue finishes transmission

	// Packets propagating: those in order, whose arrival times never
	// decrease, in a FIFO; those held back for reordering in a heap.
	// nextArrival and nextLate tell, while any propagates, when the
	// first of them arrives and where it is, so that finding the next
	// event reads neither buffer.
	inOrder     flightRing
	late        flightHeap
	nextArrival int64
	nextLate    bool
	seq         uint64 // tie-breaker between the two
	lastArrival int64  // arrival of the last in-order packet

	down    bool // set by SetUp(false)
	bad     bool // Gilbert–Elliott state
	started bool // base is set

	// Copies of the fields of cfg that every packet needs.
	rate, delay  int64
	mtu          int
	queuePackets int
	queueLimit   int // QueueBytes
	// plain says that no random process is configured: no loss (of
	// either kind), jitter, reordering, duplication or corruption.
	plain bool

	outages    []span
	nextOutage int // first outage whose start has not been processed

	stats Stats

	// The origin, and for converting times without a monotonic clock
	// reading quickly, its Unix seconds and nanoseconds.
	base     time.Time
	baseSec  int64
	baseNsec int
	baseMono bool // base has a monotonic clock reading

	cfg Config

	rLoss, rBurst, rJitter, rReorder, rDup, rCorrupt *rand.Rand

	pool pool
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

// New returns an Impairer for cfg, which it copies. Its time origin is
// the first time it is given (see NewAt).
func New(cfg Config) (*Impairer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Impairer{}
	m.setConfig(cfg)
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

// NewAt returns an Impairer for cfg, which it copies, whose clock starts
// at origin: times before it count as origin, and the methods with an At
// suffix take and return times as durations since origin. An Impairer
// made by New has as its origin the first time given to any of its
// methods, or the zero Time if that is a call to a method with an At
// suffix.
func NewAt(cfg Config, origin time.Time) (*Impairer, error) {
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	m.start(origin)
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
	s.QueuePackets, s.QueueBytes = m.queuePkts, m.queueBytes
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
	m.setConfig(cfg)
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

// setConfig installs a copy of cfg.
func (m *Impairer) setConfig(cfg Config) {
	m.cfg = cfg.clone()
	m.rate, m.delay, m.mtu = cfg.Rate, int64(cfg.Delay), cfg.MTU
	m.queuePackets, m.queueLimit = cfg.QueuePackets, cfg.QueueBytes
	m.plain = cfg.Loss == 0 && cfg.Burst.P == 0 && cfg.Jitter == 0 && cfg.Reorder == 0 &&
		cfg.Duplicate == 0 && cfg.Corrupt == 0
}

// Up reports whether the link is up at now.
func (m *Impairer) Up(now time.Time) bool { return !m.isDown(m.clock(now)) }

// Process offers a packet to the link at time now. It never emits: packets
// leave through Poll, at the earliest at now.
func (m *Impairer) Process(now time.Time, pkt []byte, _ link.Emitter) {
	m.process(m.clock(now), pkt)
}

// ProcessAt is Process at the time t after the origin.
func (m *Impairer) ProcessAt(t time.Duration, pkt []byte) {
	m.process(m.clockAt(t), pkt)
}

func (m *Impairer) process(t int64, pkt []byte) {
	m.advance(t, nil)
	n := len(pkt)
	m.stats.Packets++
	m.stats.Bytes += uint64(n)
	switch {
	case m.isDown(t):
		m.stats.DroppedDown++
		return
	case m.mtu > 0 && n > m.mtu:
		m.stats.DroppedMTU++
		return
	case m.lost():
		m.stats.DroppedLoss++
		return
	}
	if !m.room(1, n) {
		m.stats.DroppedQueue++
		return
	}
	m.enqueue(t, qpkt{pkt: m.pool.copy(pkt), wire: n, segs: 1})
}

// room reports whether the queue takes segs more packets of wire bytes in
// all. With no rate, packets only queue behind ones sent at an earlier
// rate, without limit.
func (m *Impairer) room(segs, wire int) bool {
	return m.rate == 0 || (m.queuePackets == 0 || m.queuePkts+segs <= m.queuePackets) &&
		(m.queueLimit == 0 || m.queueBytes+wire <= m.queueLimit)
}

// enqueue queues q, a copy the Impairer owns, or with no rate and nothing
// queued sends it at once.
func (m *Impairer) enqueue(t int64, q qpkt) {
	if m.rate == 0 && m.queue.size == 0 {
		m.transmitted(t, q)
		return
	}
	if m.queue.len() == 0 {
		m.headEnd = t + m.serialization(q.wire)
	}
	m.queue.push(q)
	m.queueBytes += q.wire
	m.queuePkts += q.segs
	m.stats.MaxQueuePackets = max(m.stats.MaxQueuePackets, m.queuePkts)
	m.stats.MaxQueueBytes = max(m.stats.MaxQueueBytes, m.queueBytes)
}

// SuperEmitter is a link.Emitter that also takes super-packets, which
// ProcessSuperAt lets into an Impairer: Poll and PollAt give each to
// EmitSuper with its segment size, or to Emit as one packet if their
// Emitter is not a SuperEmitter. pkt is borrowed, as for Emit.
type SuperEmitter interface {
	link.Emitter
	EmitSuper(pkt []byte, gso int)
}

// ProcessSuperAt offers pkt, a super-packet of segs TCP segments of gso
// payload bytes each but the last (stack.SegmentOffloader), that take wire
// bytes on the link in all, at the time t after the origin, to travel as
// one: it is queued and counted as segs packets of wire bytes, transmitted
// in the time its segments take back to back, and it arrives whole (as a
// receiver's GRO would deliver them), through SuperEmitter.EmitSuper. It
// reports false, having done nothing, when the link would treat its
// segments differently: when a random process is configured (loss of
// either kind, jitter, reordering, duplication, corruption), when the
// link is down, or when the queue lacks room for all of them. The caller
// then offers the segments one by one. Checking that each segment fits
// the MTU is the caller's part.
func (m *Impairer) ProcessSuperAt(t time.Duration, pkt []byte, gso, segs, wire int) bool {
	now := m.clockAt(t)
	m.advance(now, nil)
	if !m.plain || m.bad || segs < 1 || gso < 1 || m.isDown(now) || !m.room(segs, wire) {
		return false
	}
	m.stats.Packets += uint64(segs)
	m.stats.Bytes += uint64(wire)
	m.enqueue(now, qpkt{pkt: m.pool.copy(pkt), wire: wire, segs: segs, gso: gso})
	return true
}

// Poll emits, in order of arrival, the packets that have arrived by now.
func (m *Impairer) Poll(now time.Time, out link.Emitter) {
	m.advance(m.clock(now), out)
}

// PollAt is Poll at the time t after the origin.
func (m *Impairer) PollAt(t time.Duration, out link.Emitter) {
	m.advance(m.clockAt(t), out)
}

// Deadline returns when the next packet arrives or finishes transmission,
// or when the next outage starts while packets are on their way.
func (m *Impairer) Deadline() time.Time {
	t, ok := m.NextAt()
	if !ok {
		return time.Time{}
	}
	return m.base.Add(t)
}

// NextAt is Deadline as the time after the origin; it reports false
// where Deadline returns the zero Time. Before the Impairer has an origin,
// nothing is due.
func (m *Impairer) NextAt() (time.Duration, bool) {
	t, ok := time.Duration(math.MaxInt64), false
	if m.queue.size > 0 {
		t, ok = time.Duration(m.headEnd), true
	}
	if m.flying() && time.Duration(m.nextArrival) < t {
		t, ok = time.Duration(m.nextArrival), true
	}
	if ok && m.nextOutage < len(m.outages) && time.Duration(m.outages[m.nextOutage].from) < t {
		t = time.Duration(m.outages[m.nextOutage].from)
	}
	return t, ok
}

// start sets the origin.
func (m *Impairer) start(origin time.Time) {
	m.started = true
	m.base = origin
	m.baseSec, m.baseNsec = origin.Unix(), origin.Nanosecond()
	m.baseMono = origin != origin.Round(0)
	m.installOutages(0)
}

// clock converts now to nanoseconds since base, never going back.
func (m *Impairer) clock(now time.Time) int64 {
	if !m.started {
		m.start(now)
		return 0
	}
	// Without a monotonic clock reading in base, now.Sub(base) is the
	// difference of the wall clock readings: for times within a few
	// centuries of base (all of them in practice) it is computed here,
	// several times faster. Sub handles the rest, and the monotonic
	// readings.
	var t int64
	if ds := now.Unix() - m.baseSec; !m.baseMono && ds > -1<<32 && ds < 1<<32 {
		t = ds*int64(time.Second) + int64(now.Nanosecond()-m.baseNsec)
	} else {
		t = int64(now.Sub(m.base))
	}
	if t < m.last {
		return m.last
	}
	m.last = t
	return t
}

// clockAt is clock for a time given as a duration since base.
func (m *Impairer) clockAt(d time.Duration) int64 {
	if !m.started {
		m.start(time.Time{})
	}
	m.last = max(int64(d), m.last)
	return m.last
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
		if out != nil && m.flying() {
			at, what = m.nextArrival, arrive
		}
		if m.queue.size > 0 && m.headEnd < at {
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
			m.stats.DeliveredPackets += uint64(f.segs)
			m.stats.DeliveredBytes += uint64(f.wire)
			m.emit(out, &f)
			m.pool.put(f.pkt)
		case txEnd:
			q := m.queue.pop()
			m.queueBytes -= q.wire
			m.queuePkts -= q.segs
			if m.queue.size > 0 {
				m.headEnd = at + m.serialization(m.queue.peek().wire)
			}
			m.transmitted(at, q)
		case outage:
			m.nextOutage++
			if !m.down {
				m.dropAll(at)
			}
		}
	}
}

// emit hands a packet that arrived to out: a super-packet through
// SuperEmitter when out is one (ordinary packets skip the check).
func (m *Impairer) emit(out link.Emitter, f *flight) {
	if f.gso > 0 {
		if se, ok := out.(SuperEmitter); ok {
			se.EmitSuper(f.pkt, f.gso)
			return
		}
	}
	out.Emit(f.pkt)
}

// dropAll loses the queue and the packets that would arrive after t.
func (m *Impairer) dropAll(t int64) {
	for m.queue.len() > 0 {
		q := m.queue.pop()
		m.pool.put(q.pkt)
		m.stats.DroppedDown += uint64(q.segs)
	}
	m.queueBytes, m.queuePkts = 0, 0
	// In-order packets arrive in order: drop from the tail.
	for m.inOrder.len() > 0 && m.inOrder.last().arrival > t {
		f := m.inOrder.popLast()
		m.pool.put(f.pkt)
		m.stats.DroppedDown += uint64(f.segs)
	}
	kept := m.late[:0]
	for _, f := range m.late {
		if f.arrival <= t {
			kept = append(kept, f)
			continue
		}
		m.pool.put(f.pkt)
		m.stats.DroppedDown += uint64(f.segs)
	}
	clear(m.late[len(kept):])
	m.late = kept
	m.late.init()
	m.lastArrival = min(m.lastArrival, t)
	m.updateNextArrival()
}

// serialization returns the time to transmit n bytes at the current rate.
func (m *Impairer) serialization(n int) int64 {
	r := m.rate
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
	if m.plain && !m.bad {
		return false
	}
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

// transmitted starts q, which finished transmission at t, propagating.
func (m *Impairer) transmitted(t int64, q qpkt) {
	if m.plain {
		arrival := max(t+m.delay, m.lastArrival)
		m.lastArrival = arrival
		m.propagate(false, arrival, q)
		return
	}
	pkt := q.pkt
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
	m.propagate(held, arrival, q)
	if p := m.cfg.Duplicate; p > 0 && m.rDup.Float64() < p {
		q.pkt = m.pool.copy(pkt)
		m.propagate(held, arrival, q)
		m.stats.Duplicated++
	}
}

func (m *Impairer) propagate(held bool, arrival int64, q qpkt) {
	m.seq++
	f := flight{arrival: arrival, seq: m.seq, pkt: q.pkt, wire: q.wire, segs: q.segs, gso: q.gso}
	if held {
		m.late.push(f)
		m.updateNextArrival()
		return
	}
	m.inOrder.push(f)
	// Behind other in-order packets, it arrives after them: the first
	// to arrive stays the same.
	if m.inOrder.size == 1 {
		m.updateNextArrival()
	}
}

// flying reports whether packets are propagating.
func (m *Impairer) flying() bool { return m.inOrder.size+len(m.late) > 0 }

// updateNextArrival finds the propagating packet that arrives first, by
// arrival time and then by order of transmission, for nextArrival and
// nextLate.
func (m *Impairer) updateNextArrival() {
	switch {
	case len(m.late) == 0:
		if m.inOrder.size > 0 {
			m.nextArrival = m.inOrder.first().arrival
		}
		m.nextLate = false
	case m.inOrder.size == 0:
		m.nextArrival, m.nextLate = m.late[0].arrival, true
	default:
		a, b := m.inOrder.first(), &m.late[0]
		if b.arrival < a.arrival || b.arrival == a.arrival && b.seq < a.seq {
			m.nextArrival, m.nextLate = b.arrival, true
		} else {
			m.nextArrival, m.nextLate = a.arrival, false
		}
	}
}

// popFlight removes the propagating packet that arrives first; there
// must be one.
func (m *Impairer) popFlight() flight {
	var f flight
	if m.nextLate {
		f = m.late.pop()
	} else {
		f = m.inOrder.popFirst()
	}
	m.updateNextArrival()
	return f
}
