package mptcp

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomptcp/mptcp/stack"
)

// Event is something that happened to a connection, a subflow or a
// listener of the Stack, with the attributes of the Linux mptcp_pm event
// of the same type (stack.PMEvent).
type Event = stack.PMEvent

// EventType is the kind of an Event; the values are Linux's (enum
// mptcp_event_type).
type EventType = stack.PMEventType

// Event types.
const (
	EventCreated            = stack.PMEventCreated
	EventEstablished        = stack.PMEventEstablished
	EventClosed             = stack.PMEventClosed
	EventAnnounced          = stack.PMEventAnnounced
	EventRemoved            = stack.PMEventRemoved
	EventSubflowEstablished = stack.PMEventSubflowEstablished
	EventSubflowClosed      = stack.PMEventSubflowClosed
	EventSubflowPriority    = stack.PMEventSubflowPriority
	EventListenerCreated    = stack.PMEventListenerCreated
	EventListenerClosed     = stack.PMEventListenerClosed
	// Not Linux's: a local address that can carry subflows again (added,
	// or its NIC up) or that left its NIC; subscriptions hear each once,
	// with Token 0.
	EventLocalAddrAdded   = stack.PMEventLocalAddrAdded
	EventLocalAddrRemoved = stack.PMEventLocalAddrRemoved
)

// PathManager decides the subflows and announcements of connections
// (stack.PathManager); it runs on the Stack's loop.
type PathManager = stack.PathManager

// Controller is a connection as a path manager sees it.
type Controller = stack.Controller

// TimerController is a Controller that can call its path manager back at
// a time (SetTimer, then an event of type stack.PMEventTimer).
type TimerController = stack.TimerController

// KernelPM is the default path manager, the rules of Linux's in-kernel one,
// which also opens failed subflows again (KernelPM.SetBackoff).
type KernelPM = stack.KernelPM

// Backoff is how a path manager opens failed subflows again
// (stack.PMBackoff; DefaultBackoff unless set: 1 s, doubling up to 60 s,
// counted again after 30 s up, no bound on the attempts). A negative
// Initial opens none again, as Linux's in-kernel path manager.
type Backoff = stack.PMBackoff

// DefaultBackoff is the backoff of the default path manager.
var DefaultBackoff = stack.DefaultPMBackoff

// NewKernelPM returns the in-kernel path manager's rules over endpoints
// and limits.
func NewKernelPM(endpoints []Endpoint, limits Limits) *KernelPM {
	return stack.NewKernelPM(endpoints, limits)
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

// subscriptions are touched by application goroutines and the loop.
type subscriptions struct {
	subMu      sync.Mutex
	subs       map[*Subscription]struct{}
	subsClosed bool
}

// publish hands ev to every subscription; on the loop
// (stack.MPConfig.OnEvent).
func (s *Stack) publish(_ time.Time, ev Event) {
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
