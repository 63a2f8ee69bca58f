package tcp

import "fmt"

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	EventEstablished   EventKind = iota // the handshake completed
	EventReadable                       // new in-order data can be read
	EventEOF                            // the peer's FIN arrived in order: Read returns io.EOF after the data
	EventWritable                       // send buffer space was freed
	EventChunkAcked                     // a chunk written with WriteChunk was cumulatively acknowledged (ChunkID)
	EventRetransmit                     // a segment was retransmitted (Seq, Len)
	EventRTO                            // the retransmission timer fired (Count: RTOs in a row)
	EventResetReceived                  // an acceptable RST arrived (State: the state it arrived in)
	EventResetSent                      // we sent a RST that ended the connection (Reason)
	EventTimeWait                       // the connection entered TIME-WAIT
	EventClosed                         // the connection reached CLOSED (Err: why, nil after an orderly close)
)

var eventNames = [...]string{
	"established", "readable", "eof", "writable", "chunk-acked", "retransmit",
	"rto", "reset-received", "reset-sent", "time-wait", "closed",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is something that happened to a connection.
type Event struct {
	Kind    EventKind
	Seq     uint32      // EventRetransmit: first sequence number
	Len     int         // EventRetransmit: payload length
	Count   int         // EventRTO: consecutive timeouts
	ChunkID uint64      // EventChunkAcked
	Reason  ResetReason // EventResetSent
	State   State       // EventResetReceived: state the RST arrived in
	Err     error       // EventClosed
}

// maxQueuedEvents bounds the event queue of a connection whose owner does
// not drain it. Readable/Writable are coalesced; beyond the bound the
// oldest retransmission events are dropped first.
const maxQueuedEvents = 256

func (c *Conn) emit(e Event) {
	pending := c.events[c.evHead:]
	switch e.Kind {
	case EventReadable, EventWritable:
		for i := range pending {
			if pending[i].Kind == e.Kind {
				return
			}
		}
	}
	if len(pending) >= maxQueuedEvents {
		for i := range pending {
			if pending[i].Kind == EventRetransmit {
				copy(pending[i:], pending[i+1:])
				c.events = c.events[:len(c.events)-1]
				break
			}
		}
		if len(c.events)-c.evHead >= maxQueuedEvents {
			return
		}
	}
	c.events = append(c.events, e)
}

// PendingEvents is the number of events NextEvent would return now.
func (c *Conn) PendingEvents() int { return len(c.events) - c.evHead }

// NextEvent returns the oldest queued event.
func (c *Conn) NextEvent() (Event, bool) {
	if c.evHead >= len(c.events) {
		return Event{}, false
	}
	e := c.events[c.evHead]
	c.evHead++
	if c.evHead == len(c.events) {
		c.evHead = 0
		c.events = c.events[:0]
		if cap(c.events) > 4 {
			c.events = nil
		}
	}
	return e, true
}
