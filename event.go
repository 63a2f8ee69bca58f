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
)

// PathManager decides the subflows and announcements of connections
// (stack.PathManager); it runs on the Stack's loop.
type PathManager = stack.PathManager

// Controller is a connection as a path manager sees it.
type Controller = stack.Controller

// KernelPM is the default path manager, the rules of Linux's in-kernel one.
type KernelPM = stack.KernelPM

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
