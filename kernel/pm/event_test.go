package pm

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
)

// present builds an EventAttrs set.
func present(attrs ...EventAttr) EventAttrs {
	var s EventAttrs
	for _, a := range attrs {
		s.add(a)
	}
	return s
}

var (
	addr1 = netip.MustParseAddr("10.0.1.1")
	addr2 = netip.MustParseAddr("10.0.2.2")
	addr6 = netip.MustParseAddr("fd00::1")
	addr7 = netip.MustParseAddr("fd00::7")
)

// eventCase is an event as the kernel encodes it (attribute order of
// net/mptcp/pm_netlink.c), the Event it decodes to and its "ip mptcp
// monitor" line.
type eventCase struct {
	name  string
	typ   EventType
	attrs []netlink.Attribute
	want  Event
	line  string
}

func tokenAndAddrs(tok uint32, locID, remID uint8, sport, dport uint16) []netlink.Attribute {
	return []netlink.Attribute{
		attr(uint16(AttrToken), u32(tok)),
		attr(uint16(AttrFamily), u16(afINET)),
		attr(uint16(AttrLocID), u8(locID)),
		attr(uint16(AttrRemID), u8(remID)),
		attr(uint16(AttrSaddr4), ip4("10.0.2.2")),
		attr(uint16(AttrDaddr4), ip4("10.0.1.1")),
		attr(uint16(AttrSport), net16(sport)),
		attr(uint16(AttrDport), net16(dport)),
	}
}

var subflowPresent = []EventAttr{AttrToken, AttrFamily, AttrLocID, AttrRemID, AttrSaddr4, AttrDaddr4, AttrSport, AttrDport, AttrBackup}

var eventCases = []eventCase{
	{
		name: "created, client side",
		typ:  EventCreated,
		attrs: []netlink.Attribute{
			attr(uint16(AttrToken), u32(0x260ff3aa)),
			attr(uint16(AttrFamily), u16(afINET)),
			attr(uint16(AttrLocID), u8(0)),
			attr(uint16(AttrRemID), u8(0)),
			attr(uint16(AttrSaddr4), ip4("10.0.1.1")),
			attr(uint16(AttrDaddr4), ip4("10.0.1.1")),
			attr(uint16(AttrSport), net16(38954)),
			attr(uint16(AttrDport), net16(5000)),
		},
		want: Event{
			Type:    EventCreated,
			Present: present(AttrToken, AttrFamily, AttrLocID, AttrRemID, AttrSaddr4, AttrDaddr4, AttrSport, AttrDport),
			Token:   0x260ff3aa, Family: afINET, SAddr: addr1, DAddr: addr1, SPort: 38954, DPort: 5000,
		},
		line: "[         CREATED] token=260ff3aa remid=0 locid=0 saddr4=10.0.1.1 daddr4=10.0.1.1 sport=38954 dport=5000",
	},
	{
		name: "created, server side (attribute and flag)",
		typ:  EventCreated,
		attrs: append(tokenAndAddrs(0x7c69de87, 0, 0, 5000, 38954),
			attr(uint16(AttrServerSide), u8(1)),
			attr(uint16(AttrFlags), u16(uint16(EventFlagServerSide))),
		),
		want: Event{
			Type:    EventCreated,
			Present: present(AttrToken, AttrFamily, AttrLocID, AttrRemID, AttrSaddr4, AttrDaddr4, AttrSport, AttrDport, AttrServerSide, AttrFlags),
			Token:   0x7c69de87, Family: afINET, SAddr: addr2, DAddr: addr1, SPort: 5000, DPort: 38954,
			Flags: EventFlagServerSide, ServerSide: true,
		},
		line: "[         CREATED] token=7c69de87 remid=0 locid=0 saddr4=10.0.2.2 daddr4=10.0.1.1 sport=5000 dport=38954 server_side",
	},
	{
		name: "created, server side on an older kernel (attribute only)",
		typ:  EventCreated,
		attrs: []netlink.Attribute{
			attr(uint16(AttrToken), u32(1)),
			attr(uint16(AttrServerSide), u8(1)),
		},
		want: Event{Type: EventCreated, Present: present(AttrToken, AttrServerSide), Token: 1, ServerSide: true},
		line: "[         CREATED] token=00000001 server_side",
	},
	{
		name: "established, IPv6, peer denies joins to its initial address",
		typ:  EventEstablished,
		attrs: []netlink.Attribute{
			attr(uint16(AttrToken), u32(0xdeadbeef)),
			attr(uint16(AttrFamily), u16(afINET6)),
			attr(uint16(AttrSaddr6), ip6("fd00::1")),
			attr(uint16(AttrDaddr6), ip6("fd00::7")),
			attr(uint16(AttrSport), net16(443)),
			attr(uint16(AttrDport), net16(65535)),
			attr(uint16(AttrFlags), u16(uint16(EventFlagDenyJoinID0|1<<9))),
		},
		want: Event{
			Type:    EventEstablished,
			Present: present(AttrToken, AttrFamily, AttrSaddr6, AttrDaddr6, AttrSport, AttrDport, AttrFlags),
			Token:   0xdeadbeef, Family: afINET6, SAddr: addr6, DAddr: addr7, SPort: 443, DPort: 65535,
			Flags: EventFlagDenyJoinID0 | 1<<9,
		},
		line: "[     ESTABLISHED] token=deadbeef saddr6=fd00::1 daddr6=fd00::7 sport=443 dport=65535 deny_join_id0 flags=0x200",
	},
	{
		name:  "closed",
		typ:   EventClosed,
		attrs: []netlink.Attribute{attr(uint16(AttrToken), u32(0x260ff3aa))},
		want:  Event{Type: EventClosed, Present: present(AttrToken), Token: 0x260ff3aa},
		line:  "[          CLOSED] token=260ff3aa",
	},
	{
		name: "announced with a port",
		typ:  EventAnnounced,
		attrs: []netlink.Attribute{
			attr(uint16(AttrToken), u32(0x11223344)),
			attr(uint16(AttrRemID), u8(7)),
			attr(uint16(AttrFamily), u16(afINET6)),
			attr(uint16(AttrDaddr6), ip6("fd00::7")),
			attr(uint16(AttrDport), net16(8080)),
		},
		want: Event{
			Type:    EventAnnounced,
			Present: present(AttrToken, AttrRemID, AttrFamily, AttrDaddr6, AttrDport),
			Token:   0x11223344, RemoteID: 7, Family: afINET6, DAddr: addr7, DPort: 8080,
		},
		line: "[       ANNOUNCED] token=11223344 remid=7 daddr6=fd00::7 dport=8080",
	},
	{
		name:  "removed",
		typ:   EventRemoved,
		attrs: []netlink.Attribute{attr(uint16(AttrToken), u32(0x11223344)), attr(uint16(AttrRemID), u8(7))},
		want:  Event{Type: EventRemoved, Present: present(AttrToken, AttrRemID), Token: 0x11223344, RemoteID: 7},
		line:  "[         REMOVED] token=11223344 remid=7",
	},
	{
		name: "subflow established, bound to an interface",
		typ:  EventSubEstablished,
		attrs: append(tokenAndAddrs(0x260ff3aa, 1, 0, 42901, 5000),
			attr(uint16(AttrBackup), u8(0)),
			attr(uint16(AttrIfIdx), u32(3)),
		),
		want: Event{
			Type:    EventSubEstablished,
			Present: present(append(subflowPresent, AttrIfIdx)...),
			Token:   0x260ff3aa, Family: afINET, LocalID: 1, SAddr: addr2, DAddr: addr1, SPort: 42901, DPort: 5000, IfIndex: 3,
		},
		line: "[  SF_ESTABLISHED] token=260ff3aa remid=0 locid=1 saddr4=10.0.2.2 daddr4=10.0.1.1 sport=42901 dport=5000 backup=0 ifindex=3",
	},
	{
		name: "subflow closed with an error and a reset",
		typ:  EventSubClosed,
		attrs: append(tokenAndAddrs(0x7c69de87, 0, 1, 45827, 38954),
			attr(uint16(AttrBackup), u8(0)),
			attr(uint16(AttrError), u8(111)),
			attr(uint16(AttrResetReason), u32(1)),
			attr(uint16(AttrResetFlags), u32(1)),
		),
		want: Event{
			Type:    EventSubClosed,
			Present: present(append(subflowPresent, AttrError, AttrResetReason, AttrResetFlags)...),
			Token:   0x7c69de87, Family: afINET, RemoteID: 1, SAddr: addr2, DAddr: addr1, SPort: 45827, DPort: 38954,
			Error: 111, ResetReason: 1, ResetFlags: 1,
		},
		line: "[       SF_CLOSED] token=7c69de87 remid=1 locid=0 saddr4=10.0.2.2 daddr4=10.0.1.1 sport=45827 dport=38954 backup=0 error=111 reset_reason=1 reset_flags=0x1",
	},
	{
		name:  "subflow priority",
		typ:   EventSubPriority,
		attrs: append(tokenAndAddrs(0x260ff3aa, 1, 0, 42901, 5000), attr(uint16(AttrBackup), u8(1))),
		want: Event{
			Type:    EventSubPriority,
			Present: present(subflowPresent...),
			Token:   0x260ff3aa, Family: afINET, LocalID: 1, SAddr: addr2, DAddr: addr1, SPort: 42901, DPort: 5000, Backup: true,
		},
		line: "[         SF_PRIO] token=260ff3aa remid=0 locid=1 saddr4=10.0.2.2 daddr4=10.0.1.1 sport=42901 dport=5000 backup=1",
	},
	{
		name: "listener created",
		typ:  EventListenerCreated,
		attrs: []netlink.Attribute{
			attr(uint16(AttrFamily), u16(afINET)),
			attr(uint16(AttrSport), net16(1234)),
			attr(uint16(AttrSaddr4), ip4("10.0.1.1")),
		},
		want: Event{
			Type: EventListenerCreated, Present: present(AttrFamily, AttrSport, AttrSaddr4),
			Family: afINET, SPort: 1234, SAddr: addr1,
		},
		line: "[LISTENER_CREATED] saddr4=10.0.1.1 sport=1234",
	},
	{
		name: "listener closed, IPv6",
		typ:  EventListenerClosed,
		attrs: []netlink.Attribute{
			attr(uint16(AttrFamily), u16(afINET6)),
			attr(uint16(AttrSport), net16(4321)),
			attr(uint16(AttrSaddr6), ip6("fd00::1")),
		},
		want: Event{
			Type: EventListenerClosed, Present: present(AttrFamily, AttrSport, AttrSaddr6),
			Family: afINET6, SPort: 4321, SAddr: addr6,
		},
		line: "[ LISTENER_CLOSED] saddr6=fd00::1 sport=4321",
	},
	{
		name: "timeout attribute",
		typ:  EventAnnounced,
		attrs: []netlink.Attribute{
			attr(uint16(AttrToken), u32(2)),
			attr(uint16(AttrTimeout), u32(120)),
		},
		want: Event{Type: EventAnnounced, Present: present(AttrToken, AttrTimeout), Token: 2, Timeout: 120},
		line: "[       ANNOUNCED] token=00000002 timeout=120",
	},
	{
		name: "unknown event type and attribute",
		typ:  42,
		attrs: []netlink.Attribute{
			attr(uint16(AttrToken), u32(3)),
			attr(99, []byte{0xab, 0xcd}),
		},
		want: Event{Type: 42, Present: present(AttrToken), Token: 3, Unknown: []UnknownAttr{{Type: 99, Data: []byte{0xab, 0xcd}}}},
		line: "[UNKNOWN 42] token=00000003 attr99=abcd",
	},
	{
		name: "known event with a newer attribute",
		typ:  EventClosed,
		attrs: []netlink.Attribute{
			attr(uint16(AttrToken), u32(4)),
			attr(uint16(maxEventAttr)+1, []byte{1, 2, 3, 4}),
		},
		want: Event{Type: EventClosed, Present: present(AttrToken), Token: 4,
			Unknown: []UnknownAttr{{Type: uint16(maxEventAttr) + 1, Data: []byte{1, 2, 3, 4}}}},
		line: "[          CLOSED] token=00000004 attr19=01020304",
	},
}

var cmpEvent = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}),
	cmpopts.EquateErrors(),
}

func TestDecodeEvent(t *testing.T) {
	for _, tt := range eventCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeEvent(tt.typ, marshal(tt.attrs...))
			if err != nil {
				t.Fatalf("decodeEvent: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpEvent); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tt.line {
				t.Errorf("String:\n got %q\nwant %q", s, tt.line)
			}
		})
	}
}

func TestDecodeEventMalformed(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		partial Event // what was decoded before the bad attribute
	}{
		{"token of 2 bytes", marshal(attr(uint16(AttrToken), u16(1))), Event{Type: EventClosed}},
		{"IPv4 address of 16 bytes", marshal(attr(uint16(AttrToken), u32(9)), attr(uint16(AttrSaddr4), ip6("fd00::1"))),
			Event{Type: EventClosed, Present: present(AttrToken), Token: 9}},
		{"IPv6 address of 4 bytes", marshal(attr(uint16(AttrDaddr6), ip4("10.0.0.1"))), Event{Type: EventClosed}},
		{"empty port", marshal(attr(uint16(AttrSport), nil)), Event{Type: EventClosed}},
		{"long backup", marshal(attr(uint16(AttrBackup), u32(1))), Event{Type: EventClosed}},
		{"attribute longer than the message", []byte{0x20, 0, 1, 0, 1, 2, 3, 4}, Event{Type: EventClosed}},
		{"truncated header", []byte{8, 0, 1}, Event{Type: EventClosed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeEvent(EventClosed, tt.b)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
			if diff := cmp.Diff(tt.partial, got, cmpEvent); diff != "" {
				t.Errorf("partial event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventTypeString(t *testing.T) {
	tests := []struct {
		t     EventType
		want  string
		known bool
	}{
		{EventCreated, "CREATED", true},
		{EventSubEstablished, "SF_ESTABLISHED", true},
		{EventSubClosed, "SF_CLOSED", true},
		{EventSubPriority, "SF_PRIO", true},
		{EventListenerClosed, "LISTENER_CLOSED", true},
		{0, "UNKNOWN 0", false},
		{4, "UNKNOWN 4", false},
		{255, "UNKNOWN 255", false},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("EventType(%d).String() = %q, want %q", uint8(tt.t), got, tt.want)
		}
		if got := tt.t.Known(); got != tt.known {
			t.Errorf("EventType(%d).Known() = %v, want %v", uint8(tt.t), got, tt.known)
		}
	}
}

func TestEventAttrsHas(t *testing.T) {
	s := present(AttrToken, AttrServerSide)
	for a := EventAttr(0); a <= 40; a++ {
		want := a == AttrToken || a == AttrServerSide
		if got := s.Has(a); got != want {
			t.Errorf("Has(%d) = %v, want %v", a, got, want)
		}
	}
}

func TestEventStringError(t *testing.T) {
	ev := Event{Err: ErrEventsLost}
	if got, want := ev.String(), "[ERROR] "+ErrEventsLost.Error(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	ev = Event{Type: EventClosed, Present: present(AttrToken), Token: 1, Err: ErrMalformed}
	if got, want := ev.String(), "[          CLOSED] token=00000001 ("+ErrMalformed.Error()+")"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
