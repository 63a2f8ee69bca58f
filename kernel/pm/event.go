package pm

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mdlayher/netlink"
)

// EventType is the kind of an mptcp_pm event: the generic netlink command
// number of the multicast message (enum mptcp_event_type).
type EventType uint8

// Event types.
const (
	// EventCreated: a connection was created (MP_CAPABLE, RFC 8684 §3.1,
	// sent or received); it may take a while to be established.
	EventCreated EventType = 1 // MPTCP_EVENT_CREATED
	// EventEstablished: the connection is established and may open
	// subflows.
	EventEstablished EventType = 2 // MPTCP_EVENT_ESTABLISHED
	// EventClosed: the connection is gone.
	EventClosed EventType = 3 // MPTCP_EVENT_CLOSED
	// EventAnnounced: the peer announced an address with ADD_ADDR
	// (RFC 8684 §3.4.1).
	EventAnnounced EventType = 6 // MPTCP_EVENT_ANNOUNCED
	// EventRemoved: the peer withdrew an address with REMOVE_ADDR
	// (RFC 8684 §3.4.2).
	EventRemoved EventType = 7 // MPTCP_EVENT_REMOVED
	// EventSubEstablished: a subflow joined the connection with MP_JOIN
	// (RFC 8684 §3.2).
	EventSubEstablished EventType = 10 // MPTCP_EVENT_SUB_ESTABLISHED
	// EventSubClosed: a subflow was closed; Error holds its socket error and
	// ResetReason the MP_TCPRST reason (RFC 8684 §3.6), if any.
	EventSubClosed EventType = 11 // MPTCP_EVENT_SUB_CLOSED
	// EventSubPriority: a subflow's backup priority changed (MP_PRIO,
	// RFC 8684 §3.3.8).
	EventSubPriority EventType = 13 // MPTCP_EVENT_SUB_PRIORITY
	// EventListenerCreated: the path manager opened a listening socket (an
	// endpoint with a port).
	EventListenerCreated EventType = 15 // MPTCP_EVENT_LISTENER_CREATED
	// EventListenerClosed: the path manager closed a listening socket.
	EventListenerClosed EventType = 16 // MPTCP_EVENT_LISTENER_CLOSED
)

var eventNames = map[EventType]string{
	EventCreated:         "CREATED",
	EventEstablished:     "ESTABLISHED",
	EventClosed:          "CLOSED",
	EventAnnounced:       "ANNOUNCED",
	EventRemoved:         "REMOVED",
	EventSubEstablished:  "SF_ESTABLISHED",
	EventSubClosed:       "SF_CLOSED",
	EventSubPriority:     "SF_PRIO",
	EventListenerCreated: "LISTENER_CREATED",
	EventListenerClosed:  "LISTENER_CLOSED",
}

// Known reports whether t is an event type this package knows.
func (t EventType) Known() bool {
	_, ok := eventNames[t]
	return ok
}

// String returns the name "ip mptcp monitor" prints ("CREATED",
// "SF_ESTABLISHED", …), or "UNKNOWN n".
func (t EventType) String() string {
	if s, ok := eventNames[t]; ok {
		return s
	}
	return "UNKNOWN " + strconv.Itoa(int(t))
}

// EventAttr is an event attribute number (enum mptcp_event_attr).
type EventAttr uint16

// Event attributes.
const (
	AttrToken       EventAttr = 1  // MPTCP_ATTR_TOKEN: u32
	AttrFamily      EventAttr = 2  // MPTCP_ATTR_FAMILY: u16
	AttrLocID       EventAttr = 3  // MPTCP_ATTR_LOC_ID: u8
	AttrRemID       EventAttr = 4  // MPTCP_ATTR_REM_ID: u8
	AttrSaddr4      EventAttr = 5  // MPTCP_ATTR_SADDR4: 4 bytes
	AttrSaddr6      EventAttr = 6  // MPTCP_ATTR_SADDR6: 16 bytes
	AttrDaddr4      EventAttr = 7  // MPTCP_ATTR_DADDR4: 4 bytes
	AttrDaddr6      EventAttr = 8  // MPTCP_ATTR_DADDR6: 16 bytes
	AttrSport       EventAttr = 9  // MPTCP_ATTR_SPORT: u16, network byte order
	AttrDport       EventAttr = 10 // MPTCP_ATTR_DPORT: u16, network byte order
	AttrBackup      EventAttr = 11 // MPTCP_ATTR_BACKUP: u8
	AttrError       EventAttr = 12 // MPTCP_ATTR_ERROR: u8
	AttrFlags       EventAttr = 13 // MPTCP_ATTR_FLAGS: u16
	AttrTimeout     EventAttr = 14 // MPTCP_ATTR_TIMEOUT: u32
	AttrIfIdx       EventAttr = 15 // MPTCP_ATTR_IF_IDX: s32
	AttrResetReason EventAttr = 16 // MPTCP_ATTR_RESET_REASON: u32
	AttrResetFlags  EventAttr = 17 // MPTCP_ATTR_RESET_FLAGS: u32
	AttrServerSide  EventAttr = 18 // MPTCP_ATTR_SERVER_SIDE: u8 (deprecated by EventFlagServerSide)

	maxEventAttr = AttrServerSide
)

// EventAttrs is a set of event attributes: bit n set means attribute n.
type EventAttrs uint32

// Has reports whether a is in the set.
func (s EventAttrs) Has(a EventAttr) bool { return a <= maxEventAttr && s&(1<<a) != 0 }

func (s *EventAttrs) add(a EventAttr) { *s |= 1 << a }

// EventFlags are the MPTCP_PM_EV_FLAG_* bits of MPTCP_ATTR_FLAGS.
type EventFlags uint16

// Event flags.
const (
	// EventFlagDenyJoinID0: the peer set the C flag of MP_CAPABLE
	// (RFC 8684 §3.1): it accepts no MP_JOIN to its initial address and
	// port.
	EventFlagDenyJoinID0 EventFlags = 1 << 0 // MPTCP_PM_EV_FLAG_DENY_JOIN_ID0
	// EventFlagServerSide: this host accepted the connection (Linux 6.18;
	// earlier kernels send the MPTCP_ATTR_SERVER_SIDE attribute instead).
	EventFlagServerSide EventFlags = 1 << 1 // MPTCP_PM_EV_FLAG_SERVER_SIDE
)

// UnknownAttr is an event attribute this package does not know, kept as
// received.
type UnknownAttr struct {
	Type uint16
	Data []byte
}

// Event is one mptcp_pm event. Which fields are meaningful depends on Type;
// Present tells which attributes the kernel sent.
type Event struct {
	Type    EventType
	Present EventAttrs

	Token    uint32 // connection token (RFC 8684 §3.1, §3.2)
	Family   uint16 // AF_INET (2) or AF_INET6 (10)
	LocalID  uint8  // local address ID (RFC 8684 §3.4.1)
	RemoteID uint8  // remote address ID
	// SAddr and SPort are the local address and port of the connection or
	// subflow; DAddr and DPort the remote ones (for EventAnnounced, the
	// announced address and port).
	SAddr, DAddr netip.Addr
	SPort, DPort uint16
	Backup       bool       // the subflow is a backup subflow
	IfIndex      int        // interface the subflow is bound to
	Error        uint8      // socket error (errno) of a closed subflow
	Flags        EventFlags // MPTCP_PM_EV_FLAG_*
	Timeout      uint32     // timeout attribute (seconds)
	ResetReason  uint32     // MP_TCPRST reason code (RFC 8684 §3.6)
	ResetFlags   uint32     // MP_TCPRST flags (RFC 8684 §3.6)
	// ServerSide reports that this host accepted the connection, from
	// either EventFlagServerSide or the older MPTCP_ATTR_SERVER_SIDE.
	ServerSide bool

	// Unknown holds attributes newer than this package, in order.
	Unknown []UnknownAttr
	// Err is set when the event could not be decoded completely (the other
	// fields hold what was decoded), or when the kernel dropped events
	// (ErrEventsLost); Type is then 0.
	Err error
}

// decodeEvent decodes the attributes b of an event of type t. On malformed
// input it returns the attributes decoded so far with an error wrapping
// ErrMalformed. Unknown attribute types are kept in Event.Unknown.
func decodeEvent(t EventType, b []byte) (Event, error) {
	ev := Event{Type: t}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ev, malformed("%s event: %v", t, err)
	}
	for ad.Next() {
		data := attrData(ad)
		a := EventAttr(ad.Type())
		want := eventAttrLen(a)
		if want < 0 {
			ev.Unknown = append(ev.Unknown, UnknownAttr{Type: ad.Type(), Data: ad.Bytes()})
			continue
		}
		if len(data) != want {
			return ev, malformed("%s event: attribute %d: %d bytes, want %d", t, a, len(data), want)
		}
		ev.Present.add(a)
		switch a {
		case AttrToken:
			ev.Token = binary.NativeEndian.Uint32(data)
		case AttrFamily:
			ev.Family = binary.NativeEndian.Uint16(data)
		case AttrLocID:
			ev.LocalID = data[0]
		case AttrRemID:
			ev.RemoteID = data[0]
		case AttrSaddr4:
			ev.SAddr = netip.AddrFrom4([4]byte(data))
		case AttrSaddr6:
			ev.SAddr = netip.AddrFrom16([16]byte(data))
		case AttrDaddr4:
			ev.DAddr = netip.AddrFrom4([4]byte(data))
		case AttrDaddr6:
			ev.DAddr = netip.AddrFrom16([16]byte(data))
		case AttrSport:
			// Event ports are in network byte order, unlike the port of
			// the address nest.
			ev.SPort = be16(data)
		case AttrDport:
			ev.DPort = be16(data)
		case AttrBackup:
			ev.Backup = data[0] != 0
		case AttrError:
			ev.Error = data[0]
		case AttrFlags:
			ev.Flags = EventFlags(binary.NativeEndian.Uint16(data))
		case AttrTimeout:
			ev.Timeout = binary.NativeEndian.Uint32(data)
		case AttrIfIdx:
			ev.IfIndex = int(int32(binary.NativeEndian.Uint32(data)))
		case AttrResetReason:
			ev.ResetReason = binary.NativeEndian.Uint32(data)
		case AttrResetFlags:
			ev.ResetFlags = binary.NativeEndian.Uint32(data)
		case AttrServerSide:
			ev.ServerSide = ev.ServerSide || data[0] != 0
		}
	}
	if err := ad.Err(); err != nil {
		return ev, malformed("%s event: %v", t, err)
	}
	if ev.Flags&EventFlagServerSide != 0 {
		ev.ServerSide = true
	}
	return ev, nil
}

// eventAttrLen returns the payload length of a known event attribute, or -1.
func eventAttrLen(a EventAttr) int {
	switch a {
	case AttrLocID, AttrRemID, AttrBackup, AttrError, AttrServerSide:
		return 1
	case AttrFamily, AttrSport, AttrDport, AttrFlags:
		return 2
	case AttrToken, AttrSaddr4, AttrDaddr4, AttrTimeout, AttrIfIdx, AttrResetReason, AttrResetFlags:
		return 4
	case AttrSaddr6, AttrDaddr6:
		return 16
	}
	return -1
}

// String formats ev as one line the way "ip mptcp monitor" does:
// "[         CREATED] token=1a2b3c4d remid=0 locid=0 saddr4=10.0.1.2 …".
// Unknown attributes follow as "attrN=HEX".
func (ev Event) String() string {
	var b strings.Builder
	if ev.Err != nil && ev.Type == 0 {
		return "[ERROR] " + ev.Err.Error()
	}
	if !ev.Type.Known() {
		fmt.Fprintf(&b, "[UNKNOWN %d]", uint8(ev.Type))
	} else {
		fmt.Fprintf(&b, "[%16s]", ev.Type)
	}
	p := ev.Present
	if p.Has(AttrToken) {
		fmt.Fprintf(&b, " token=%08x", ev.Token)
	}
	if p.Has(AttrRemID) {
		fmt.Fprintf(&b, " remid=%d", ev.RemoteID)
	}
	if p.Has(AttrLocID) {
		fmt.Fprintf(&b, " locid=%d", ev.LocalID)
	}
	if p.Has(AttrSaddr4) {
		fmt.Fprintf(&b, " saddr4=%s", ev.SAddr)
	}
	if p.Has(AttrDaddr4) {
		fmt.Fprintf(&b, " daddr4=%s", ev.DAddr)
	}
	if p.Has(AttrSaddr6) {
		fmt.Fprintf(&b, " saddr6=%s", ev.SAddr)
	}
	if p.Has(AttrDaddr6) {
		fmt.Fprintf(&b, " daddr6=%s", ev.DAddr)
	}
	if p.Has(AttrSport) {
		fmt.Fprintf(&b, " sport=%d", ev.SPort)
	}
	if p.Has(AttrDport) {
		fmt.Fprintf(&b, " dport=%d", ev.DPort)
	}
	if p.Has(AttrBackup) {
		fmt.Fprintf(&b, " backup=%d", b2i(ev.Backup))
	}
	if p.Has(AttrError) {
		fmt.Fprintf(&b, " error=%d", ev.Error)
	}
	if p.Has(AttrTimeout) {
		fmt.Fprintf(&b, " timeout=%d", ev.Timeout)
	}
	if p.Has(AttrIfIdx) {
		fmt.Fprintf(&b, " ifindex=%d", ev.IfIndex)
	}
	if p.Has(AttrResetReason) {
		fmt.Fprintf(&b, " reset_reason=%d", ev.ResetReason)
	}
	if p.Has(AttrResetFlags) {
		fmt.Fprintf(&b, " reset_flags=0x%x", ev.ResetFlags)
	}
	flags := ev.Flags
	if ev.ServerSide {
		flags &^= EventFlagServerSide
		b.WriteString(" server_side")
	}
	if flags&EventFlagDenyJoinID0 != 0 {
		flags &^= EventFlagDenyJoinID0
		b.WriteString(" deny_join_id0")
	}
	if flags != 0 {
		fmt.Fprintf(&b, " flags=0x%x", uint16(flags))
	}
	for _, u := range ev.Unknown {
		fmt.Fprintf(&b, " attr%d=%x", u.Type, u.Data)
	}
	if ev.Err != nil {
		fmt.Fprintf(&b, " (%v)", ev.Err)
	}
	return b.String()
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
