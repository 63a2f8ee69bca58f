package mptcp

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// EventType is the kind of an Event. The values are those of Linux's
// mptcp_pm generic netlink events (enum mptcp_event_type), so that one
// path manager can serve the kernel (package kernel/pm) and this stack.
type EventType uint8

// Event types.
const (
	EventCreated            EventType = 1  // MPTCP_EVENT_CREATED: a connection started its handshake
	EventEstablished        EventType = 2  // MPTCP_EVENT_ESTABLISHED: the handshake completed as MPTCP
	EventClosed             EventType = 3  // MPTCP_EVENT_CLOSED
	EventAnnounced          EventType = 6  // MPTCP_EVENT_ANNOUNCED: the peer announced an address (ADD_ADDR)
	EventRemoved            EventType = 7  // MPTCP_EVENT_REMOVED: the peer removed one (REMOVE_ADDR)
	EventSubflowEstablished EventType = 10 // MPTCP_EVENT_SUB_ESTABLISHED
	EventSubflowClosed      EventType = 11 // MPTCP_EVENT_SUB_CLOSED
	EventSubflowPriority    EventType = 13 // MPTCP_EVENT_SUB_PRIORITY: backup flag changed (MP_PRIO)
	EventListenerCreated    EventType = 15 // MPTCP_EVENT_LISTENER_CREATED
	EventListenerClosed     EventType = 16 // MPTCP_EVENT_LISTENER_CLOSED
)

var eventNames = map[EventType]string{
	EventCreated: "created", EventEstablished: "established", EventClosed: "closed",
	EventAnnounced: "announced", EventRemoved: "removed",
	EventSubflowEstablished: "sf_established", EventSubflowClosed: "sf_closed",
	EventSubflowPriority: "sf_priority", EventListenerCreated: "listener_created",
	EventListenerClosed: "listener_closed",
}

// String returns the event's name as `ip mptcp monitor` prints it.
func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("event%d", uint8(t))
}

// Event is something that happened to a connection, a subflow or a
// listener of the Stack, with the attributes of the mptcp_pm event of the
// same type.
type Event struct {
	Type  EventType
	Time  time.Time
	Token uint32 // the connection's local token (RFC 8684 §3.1)
	// Local and Remote are the connection's (its initial subflow's) or
	// the subflow's addresses; for EventAnnounced, Remote is the
	// announced address (with its port, if any); for listener events,
	// Local is the listening address.
	Local, Remote     netip.AddrPort
	LocalID, RemoteID uint8 // address IDs (RFC 8684 §3.4.1)
	Backup            bool  // the subflow is a backup (RFC 8684 §3.3.8)
	ServerSide        bool  // the connection was accepted by a listener
	// ResetReason is the MP_TCPRST reason (RFC 8684 §3.6) a closed
	// subflow received or sent, when it has one.
	ResetReason uint8
	// Err is why a subflow or connection closed (nil: orderly).
	Err error
}

// String formats the event as a line of `ip mptcp monitor`.
func (e Event) String() string {
	s := fmt.Sprintf("[%s] token=%08x", e.Type, e.Token)
	switch e.Type {
	case EventAnnounced:
		s += fmt.Sprintf(" remid=%d daddr=%v", e.RemoteID, e.Remote)
	case EventRemoved:
		s += fmt.Sprintf(" remid=%d", e.RemoteID)
	case EventSubflowEstablished, EventSubflowClosed, EventSubflowPriority:
		s += fmt.Sprintf(" locid=%d remid=%d saddr=%v daddr=%v backup=%t", e.LocalID, e.RemoteID, e.Local, e.Remote, e.Backup)
	case EventListenerCreated, EventListenerClosed:
		s = fmt.Sprintf("[%s] saddr=%v", e.Type, e.Local)
	default:
		s += fmt.Sprintf(" saddr=%v daddr=%v", e.Local, e.Remote)
		if e.ServerSide {
			s += " server-side"
		}
	}
	if e.Err != nil {
		s += " error=" + e.Err.Error()
	}
	return s
}

// Subscription receives the Stack's events on a channel. Events that find
// the channel full are counted in Lost and dropped, as the kernel drops
// netlink events for a reader that falls behind: the Stack never waits.
type Subscription struct {
	ch     chan Event
	lost   atomic.Uint64
	s      *Stack
	closed bool // under s.subMu
}

// Events returns the channel; it is closed by Close or by the Stack's
// Close.
func (sub *Subscription) Events() <-chan Event { return sub.ch }

// Lost is the number of events dropped because the channel was full.
func (sub *Subscription) Lost() uint64 { return sub.lost.Load() }

// Close ends the subscription and closes its channel.
func (sub *Subscription) Close() {
	sub.s.subMu.Lock()
	defer sub.s.subMu.Unlock()
	sub.closeLocked()
}

func (sub *Subscription) closeLocked() {
	if sub.closed {
		return
	}
	sub.closed = true
	delete(sub.s.subs, sub)
	close(sub.ch)
}

// Subscribe returns a subscription to every later event of the Stack,
// whose channel holds up to buffer events (at least 1).
func (s *Stack) Subscribe(buffer int) *Subscription {
	sub := &Subscription{ch: make(chan Event, max(buffer, 1)), s: s}
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if s.subsClosed {
		sub.closed = true
		close(sub.ch)
		return sub
	}
	s.subs[sub] = struct{}{}
	return sub
}

// subscriptions are kept apart from the loop-side state: they are
// touched by application goroutines too.
type subscriptions struct {
	subMu      sync.Mutex
	subs       map[*Subscription]struct{}
	subsClosed bool
}

// publish hands ev to every subscription; on the loop.
func (s *Stack) publish(ev Event) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		select {
		case sub.ch <- ev:
		default:
			sub.lost.Add(1)
		}
	}
}

// closeSubscriptions closes every subscription (Stack.Close).
func (s *Stack) closeSubscriptions() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.subsClosed = true
	for sub := range s.subs {
		sub.closeLocked()
	}
}
