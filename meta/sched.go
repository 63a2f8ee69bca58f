package meta

import (
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// Packet scheduling. The engine hands a connection's data to its subflows
// in chunks, each of which becomes one DSS mapping (RFC 8684 §3.3.1); a
// scheduler decides which subflow carries each chunk, and may ask for a
// chunk to travel on several subflows at once (the receiver keeps the
// first copy of every byte and drops the others by data sequence number,
// RFC 8684 §3.3.6). Package sched holds the usual schedulers (Linux's
// default, round robin, redundant, BLEST, ECF) and a registry by name.
//
// There are two levels of interface. A Scheduler looks only at the
// subflows and may be shared: LowestRTT is one. A ConnScheduler has state
// of its own and sees the connection too (its data waiting to be sent, the
// peer's data-level window): the engine makes one instance per connection
// with NewConn and calls PickView instead of Pick. Config.Scheduler holds
// a single instance either way, which one Stack passes to all its
// connections.

// SubflowStatus is what a scheduler sees of a subflow that can take data.
// The engine lists a subflow only while it can send: fully established
// (RFC 8684 §3.2), not waiting out a retransmission timeout while another
// subflow works, and not stale while another is not (see
// Config.StaleLossCount).
type SubflowStatus struct {
	ID       tcp.ConnID
	Backup   bool          // we or the peer marked it backup (RFC 8684 §3.3.8)
	RTT      time.Duration // smoothed RTT (RFC 6298 SRTT), 0 until measured
	RTTVar   time.Duration // RTT variation (RFC 6298 RTTVAR)
	Cwnd     int           // congestion window, bytes
	Ssthresh int           // slow-start threshold, bytes; math.MaxInt32 before the first congestion event
	InFlight int           // bytes in flight (RFC 6675 pipe)
	Queued   int           // bytes written to the subflow and not sent yet
	MSS      int           // payload of a full segment

	// Copy is an output: Pick sets it to have the chunk sent on this
	// subflow too, besides the subflow it returns (redundant
	// scheduling). The engine clears it before every Pick and writes
	// each copy into the subflow's send buffer whatever its congestion
	// window; a copy that does not fit in the send buffer is not made.
	Copy bool
}

// Space is the congestion window left after what is in flight or queued.
func (s *SubflowStatus) Space() int { return s.Cwnd - s.InFlight - s.Queued }

// View is what a ConnScheduler sees for one decision: the connection and
// its subflows that can take data. The engine owns it and refreshes it
// before every call; a scheduler must not keep it, nor change anything in
// it but Limit and the subflows' Copy.
type View struct {
	// Now is the engine's time (schedulers never read a clock).
	Now time.Time
	// Subflows are the subflows that can take data; never empty.
	Subflows []SubflowStatus
	// Pending is the length of the data waiting to be placed now, from
	// which the chunk is cut (see ChunkLen): a range to reinject, or
	// new data within the peer's data-level window. Always positive.
	Pending int
	// Reinject reports that the pending data was sent before, on a
	// subflow that failed or stalled, and goes out again (RFC 8684
	// §3.3.6).
	Reinject bool
	// Unsent is the new data the application wrote and no subflow got
	// yet, whether the peer's window admits it or not: the
	// connection-level send queue.
	Unsent int
	// Window is the peer's data-level receive window (RFC 8684 §3.3.4),
	// counted from the oldest byte not acknowledged at the data level
	// (the DATA_ACK): what may be in flight at once.
	Window int
	// InFlight is the data sent and not yet acknowledged at the data
	// level.
	InFlight int
	// ChunkSize is the largest chunk the engine writes
	// (Config.ChunkSize).
	ChunkSize int
	// Limit is an output: a PickView that sets it above 0 cuts the
	// chunk to at most Limit bytes. The engine resets it to 0 before
	// every call.
	Limit int

	conn *Conn // the engine's connection, which cuts the chunks
}

// WindowLeft is what the peer's data-level window admits beyond what is
// in flight (never negative).
func (v *View) WindowLeft() int { return max(v.Window-v.InFlight, 0) }

// ChunkLen is the length of the chunk the engine cuts for subflow i:
// ChunkSize rounded down to whole segments of the subflow's MSS, at most
// Pending, and at most Limit when Limit is set. (With DSS checksums the
// engine also keeps a chunk small against the peer's window; ChunkLen of
// the View it hands over takes that into account.)
func (v *View) ChunkLen(i int) int {
	var n int
	if v.conn != nil {
		n = v.conn.chunkLen(v.Subflows[i].MSS, uint64(max(v.Pending, 0)))
	} else {
		n = v.ChunkSize
		if mss := v.Subflows[i].MSS; mss > 0 && n > mss {
			n -= n % mss
		}
		n = min(n, v.Pending)
	}
	if v.Limit > 0 {
		n = min(n, v.Limit)
	}
	return n
}

// Scheduler picks the subflow that carries the next chunk. The engine
// calls Pick repeatedly, adding each chunk it wrote to the Queued of the
// chosen status (and of the statuses marked Copy), until Pick returns -1
// or no data is left. A Scheduler that keeps no state between calls can
// serve many connections at once.
type Scheduler interface {
	// Pick returns the index in subflows of the subflow for the next
	// chunk, or -1 to send nothing more now. subflows is never empty.
	Pick(subflows []SubflowStatus) int
}

// ConnScheduler is a Scheduler with state of its own, which sees the
// whole connection (View). The engine calls NewConn once for every
// connection, on the instance in Config.Scheduler, and from then on only
// PickView of the instance NewConn returned: a single configured instance
// serves all the connections of a stack, each with fresh state.
type ConnScheduler interface {
	Scheduler
	// NewConn returns an instance with fresh state for one connection.
	NewConn() ConnScheduler
	// PickView returns the index in v.Subflows of the subflow for the
	// next chunk, or -1 to send nothing more now, as Pick does. It may
	// set v.Limit to cut the chunk shorter and the subflows' Copy to
	// duplicate it. (Pick, which a ConnScheduler must also have, is
	// PickView with a View that has only the subflows.)
	PickView(v *View) int
}

// LowestRTT returns the default scheduler, the rule of Linux's default
// scheduler (the multipath-tcp.org kernel's mptcp_sched.c, and upstream
// net/mptcp/protocol.c mptcp_subflow_get_send for backups): among the
// subflows with congestion window space, the one with the lowest smoothed
// RTT (an unmeasured one first); backup subflows only when no other
// subflow exists, whether or not the others have space. It keeps no
// state.
func LowestRTT() Scheduler { return lowestRTT{} }

type lowestRTT struct{}

var _ Scheduler = lowestRTT{}

func (lowestRTT) Pick(subflows []SubflowStatus) int {
	anyRegular := false
	for i := range subflows {
		if !subflows[i].Backup {
			anyRegular = true
			break
		}
	}
	best := -1
	for i := range subflows {
		s := &subflows[i]
		if s.Backup && anyRegular || s.Space() <= 0 {
			continue
		}
		if best < 0 || s.RTT < subflows[best].RTT {
			best = i
		}
	}
	return best
}

// connScheduler is a connection's scheduler: the configured one, or the
// instance its NewConn made for the connection. It stays in Conn.sched
// once made, and holds the View handed to PickView (a View on the stack
// would escape through the interface call).
type connScheduler struct {
	s      Scheduler
	cs     ConnScheduler // s, when it is one
	view   View
	copies bool // the scheduler had chunks copied (SubflowStatus.Copy)
}

func (w *connScheduler) Pick(subflows []SubflowStatus) int { return w.s.Pick(subflows) }

// scheduler returns the connection's scheduler, making it at the first
// call: a ConnScheduler gets its own instance (NewConn).
func (c *Conn) scheduler() *connScheduler {
	if w, ok := c.sched.(*connScheduler); ok {
		return w
	}
	w := &connScheduler{s: c.sched}
	if w.s == nil {
		w.s = LowestRTT()
	}
	if cs, ok := w.s.(ConnScheduler); ok {
		if n := cs.NewConn(); n != nil {
			w.s, w.cs = n, n
		} else {
			w.s = LowestRTT() // a NewConn that gives nothing: the default
		}
	}
	c.sched = w
	return w
}

// pick asks the connection's scheduler for the next chunk's subflow, with
// the Copy marks and the Limit cleared.
func (w *connScheduler) pick(v *View) int {
	for i := range v.Subflows {
		v.Subflows[i].Copy = false
	}
	v.Limit = 0
	if w.cs != nil {
		return w.cs.PickView(v)
	}
	return w.s.Pick(v.Subflows)
}

// carried is the length of the longest prefix of [start, end) that
// working subflows (taking data, no retransmission timeout pending) hold
// in chunks they have not delivered yet: once the scheduler had chunks
// copied, the data of a subflow that failed may be on its way on another
// one already, and need not be reinjected (RFC 8684 §3.3.6 leaves the
// choice of what to retransmit to the sender). A subflow that fails in
// turn has its own data reinjected.
func (c *Conn) carried(start, end uint64) uint64 {
	at := start
	for dsnLT(at, end) {
		next := at
		for _, sf := range c.subflows {
			if !sf.sendable() || sf.failing() {
				continue
			}
			for i := sf.txHead; i < len(sf.tx); i++ {
				ch := &sf.tx[i]
				if chEnd := ch.dsn + uint64(ch.n); !ch.subAcked && dsnLEQ(ch.dsn, at) && dsnLT(at, chEnd) {
					next = dsnMax(next, dsnMin(chEnd, end))
				}
			}
		}
		if next == at {
			break
		}
		at = next
	}
	return at - start
}
