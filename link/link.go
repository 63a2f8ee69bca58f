package link

import (
	"errors"
	"net/netip"
	"time"
)

// Node is a protocol stack driven by a backend. A driver calls its methods
// from one goroutine, one at a time; see the package documentation.
type Node interface {
	// Receive handles an IP packet that arrived on nic at time now. pkt is
	// borrowed until Receive returns.
	Receive(now time.Time, nic NIC, pkt []byte)
	// Timer runs the Node's timers that are due at now. The driver calls it
	// once now is not before Deadline(), and may call it at other times.
	Timer(now time.Time)
	// LinkEvent tells the Node that nic changed state.
	LinkEvent(now time.Time, nic NIC, ev Event)
	// Deadline returns when Timer should next be called, or the zero Time
	// if the Node has no timer pending. The driver reads it after every call
	// into the Node.
	Deadline() time.Time
}

// Batcher is implemented by Nodes that can hold back what they send while
// a driver hands them a batch of packets read together (the packets of one
// read of a TUN device with offloads, say), as a NIC driver's polling loop
// does: between StartBatch and EndBatch, Receive only takes the packets in,
// and EndBatch sends what they called for: one acknowledgment for several
// segments of a connection, and the segments that several acknowledgments
// allowed in one burst. Drivers that deliver packets one at a time need
// not call them.
type Batcher interface {
	StartBatch()
	EndBatch(now time.Time)
}

// NIC is a network interface that a Node transmits through.
type NIC interface {
	// Send transmits one IP packet. It copies pkt before returning; the
	// caller keeps ownership. An error means the packet was not sent
	// (ErrDown, or a backend's I/O error); packets lost further on are not
	// reported.
	Send(pkt []byte) error
	// MTU is the largest IP packet, in bytes, that the NIC's link carries.
	// Larger packets are dropped: nothing fragments.
	MTU() int
	// Addrs returns the NIC's addresses with their prefix lengths. The
	// slice belongs to the NIC and must not be modified.
	Addrs() []netip.Prefix
	// Up reports whether the link is up.
	Up() bool
	// Name is a short human-readable name such as "eth0".
	Name() string
	// Index is a positive number identifying the NIC among its host's NICs.
	Index() int
}

// EventKind says what happened to a NIC.
type EventKind uint8

// Kinds of Event.
const (
	// EventUp: the link came up.
	EventUp EventKind = iota + 1
	// EventDown: the link went down; packets sent now are lost.
	EventDown
	// EventAddrAdded: Event.Addr was added to the NIC.
	EventAddrAdded
	// EventAddrRemoved: Event.Addr was removed from the NIC.
	EventAddrRemoved
)

func (k EventKind) String() string {
	switch k {
	case EventUp:
		return "up"
	case EventDown:
		return "down"
	case EventAddrAdded:
		return "addr-added"
	case EventAddrRemoved:
		return "addr-removed"
	}
	return "unknown"
}

// Event is a change of a NIC's state.
type Event struct {
	Kind EventKind
	Addr netip.Prefix // for EventAddrAdded and EventAddrRemoved
}

// ErrDown is returned by NIC.Send when the link is down.
var ErrDown = errors.New("link: link is down")
