package stack

import (
	"fmt"
	"net/netip"
	"time"
)

// PMEventType is the kind of a PMEvent. The values are those of Linux's
// mptcp_pm generic netlink events (enum mptcp_event_type), so that one
// path manager can serve the kernel (package kernel/pm) and this stack.
type PMEventType uint8

// Event types.
const (
	PMEventCreated            PMEventType = 1  // MPTCP_EVENT_CREATED: a connection started its handshake
	PMEventEstablished        PMEventType = 2  // MPTCP_EVENT_ESTABLISHED: the handshake completed as MPTCP
	PMEventClosed             PMEventType = 3  // MPTCP_EVENT_CLOSED
	PMEventAnnounced          PMEventType = 6  // MPTCP_EVENT_ANNOUNCED: the peer announced an address (ADD_ADDR)
	PMEventRemoved            PMEventType = 7  // MPTCP_EVENT_REMOVED: the peer removed one (REMOVE_ADDR)
	PMEventSubflowEstablished PMEventType = 10 // MPTCP_EVENT_SUB_ESTABLISHED
	PMEventSubflowClosed      PMEventType = 11 // MPTCP_EVENT_SUB_CLOSED
	PMEventSubflowPriority    PMEventType = 13 // MPTCP_EVENT_SUB_PRIORITY: backup flag changed (MP_PRIO)
	PMEventListenerCreated    PMEventType = 15 // MPTCP_EVENT_LISTENER_CREATED
	PMEventListenerClosed     PMEventType = 16 // MPTCP_EVENT_LISTENER_CLOSED
)

var eventNames = map[PMEventType]string{
	PMEventCreated: "created", PMEventEstablished: "established", PMEventClosed: "closed",
	PMEventAnnounced: "announced", PMEventRemoved: "removed",
	PMEventSubflowEstablished: "sf_established", PMEventSubflowClosed: "sf_closed",
	PMEventSubflowPriority: "sf_priority", PMEventListenerCreated: "listener_created",
	PMEventListenerClosed: "listener_closed",
}

// String returns the event's name as `ip mptcp monitor` prints it.
func (t PMEventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("event%d", uint8(t))
}

// PMEvent is something that happened to an MPTCP connection, a subflow
// or an MPTCP listener of the Stack, with the attributes of the mptcp_pm
// event of the same type: what path managers react to.
type PMEvent struct {
	Type  PMEventType
	Time  time.Time
	Token uint32 // the connection's local token (RFC 8684 §3.1)
	// Local and Remote are the connection's (its initial subflow's) or
	// the subflow's addresses; for PMEventAnnounced, Remote is the
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
func (e PMEvent) String() string {
	s := fmt.Sprintf("[%s] token=%08x", e.Type, e.Token)
	switch e.Type {
	case PMEventAnnounced:
		s += fmt.Sprintf(" remid=%d daddr=%v", e.RemoteID, e.Remote)
	case PMEventRemoved:
		s += fmt.Sprintf(" remid=%d", e.RemoteID)
	case PMEventSubflowEstablished, PMEventSubflowClosed, PMEventSubflowPriority:
		s += fmt.Sprintf(" locid=%d remid=%d saddr=%v daddr=%v backup=%t", e.LocalID, e.RemoteID, e.Local, e.Remote, e.Backup)
	case PMEventListenerCreated, PMEventListenerClosed:
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
