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

	// The events below are not Linux's: mptcp_pm has no counterpart (a
	// daemon such as mptcpd learns of addresses from rtnetlink, and the
	// kernel's path managers keep their timers to themselves). Their
	// values stay clear of Linux's.

	// PMEventLocalAddrAdded: a local address (Local, port 0) can carry
	// subflows again: it was added to a NIC, or its NIC came up
	// (link.EventAddrAdded, link.EventUp). MPConfig.OnEvent hears it
	// once, with Token 0; the path manager once per fully established
	// connection, with that connection's Token.
	PMEventLocalAddrAdded PMEventType = 128
	// PMEventLocalAddrRemoved: a local address (Local) left its NIC
	// (link.EventAddrRemoved); delivered as PMEventLocalAddrAdded. A NIC
	// that goes down removes no address: the subflows over it fail by
	// their own timeouts (RFC 9293 §3.8.3), and a path manager may open
	// them again.
	PMEventLocalAddrRemoved PMEventType = 129
	// PMEventTimer: the time a path manager asked for with
	// TimerController.SetTimer has come. Only the path manager hears
	// it, not MPConfig.OnEvent.
	PMEventTimer PMEventType = 130
)

var eventNames = map[PMEventType]string{
	PMEventCreated: "created", PMEventEstablished: "established", PMEventClosed: "closed",
	PMEventAnnounced: "announced", PMEventRemoved: "removed",
	PMEventSubflowEstablished: "sf_established", PMEventSubflowClosed: "sf_closed",
	PMEventSubflowPriority: "sf_priority", PMEventListenerCreated: "listener_created",
	PMEventListenerClosed: "listener_closed",
	PMEventLocalAddrAdded: "local_addr_added", PMEventLocalAddrRemoved: "local_addr_removed",
	PMEventTimer: "timer",
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
	// subflow received, when Reset says it received one.
	ResetReason uint8
	// Reset reports, for PMEventSubflowClosed, that the peer reset the
	// subflow with MP_TCPRST (RFC 8684 §3.6), whose reason is ResetReason
	// and whose T flag is ResetTransient: set, the condition is
	// temporary and the subflow may be opened again; clear, it is
	// permanent and the subflow is not expected to be opened again.
	Reset, ResetTransient bool
	// Requested reports, for PMEventSubflowClosed, that the subflow was
	// closed on request rather than by a failure: CloseSubflow,
	// RemoveAddr of its local address, a REMOVE_ADDR from the peer for
	// its remote one (RFC 8684 §3.4.2), Abort, or the end of the
	// connection.
	Requested bool
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
		if e.Reset {
			s += fmt.Sprintf(" reset_reason=%d", e.ResetReason)
			if e.ResetTransient {
				s += " reset_flags=0x1"
			}
		}
		if e.Requested {
			s += " requested"
		}
	case PMEventListenerCreated, PMEventListenerClosed:
		s = fmt.Sprintf("[%s] saddr=%v", e.Type, e.Local)
	case PMEventLocalAddrAdded, PMEventLocalAddrRemoved:
		if e.Token == 0 {
			s = fmt.Sprintf("[%s]", e.Type)
		}
		s += fmt.Sprintf(" saddr=%v", e.Local.Addr())
	case PMEventTimer:
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
