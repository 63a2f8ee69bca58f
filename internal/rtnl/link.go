package rtnl

import "encoding/binary"

// Link is a network interface as an RTM_NEWLINK or RTM_DELLINK message
// describes it.
type Link struct {
	// Family is ifi_family: AF_UNSPEC for the messages about the device
	// itself; a per-family message (AF_BRIDGE for a bridge port, AF_INET6
	// for IPv6 link settings) carries another family.
	Family uint8
	Type   uint16 // ifi_type: ARPHRD_*
	Index  int    // ifi_index; positive in every message ParseLink accepts
	Flags  uint32 // ifi_flags: IFF_*
	// Change is ifi_change: in a notification the flags that changed, in
	// a request the flags that Flags sets or clears.
	Change uint32
	Name   string // IFLA_IFNAME; "" without it
	MTU    uint32 // IFLA_MTU; 0 without it
}

// ParseLink decodes the payload of an RTM_NEWLINK or RTM_DELLINK message:
// a struct ifinfomsg followed by IFLA_* attributes. Errors wrap
// ErrMalformed.
func ParseLink(b []byte) (Link, error) {
	if len(b) < SizeofIfInfomsg {
		return Link{}, malformed("link message: %d bytes, want at least %d", len(b), SizeofIfInfomsg)
	}
	l := Link{
		Family: b[0],
		Type:   binary.NativeEndian.Uint16(b[2:4]),
		Index:  int(int32(binary.NativeEndian.Uint32(b[4:8]))),
		Flags:  binary.NativeEndian.Uint32(b[8:12]),
		Change: binary.NativeEndian.Uint32(b[12:16]),
	}
	if l.Index <= 0 {
		return Link{}, malformed("link message: interface index %d", l.Index)
	}
	a := attrs{b: b[SizeofIfInfomsg:]}
	for a.next() {
		switch a.typ {
		case IFLAIfName:
			l.Name, _ = a.name("IFLA_IFNAME")
		case IFLAMTU:
			l.MTU, _ = a.uint32("IFLA_MTU")
		}
	}
	if a.err != nil {
		return Link{}, malformed("link message: %v", a.err)
	}
	return l, nil
}

// Append appends l as a struct ifinfomsg followed by IFLA_IFNAME if Name
// is set and IFLA_MTU if MTU is, and returns the extended buffer.
func (l Link) Append(b []byte) []byte {
	b = append(b, l.Family, 0)
	b = binary.NativeEndian.AppendUint16(b, l.Type)
	b = binary.NativeEndian.AppendUint32(b, uint32(int32(l.Index)))
	b = binary.NativeEndian.AppendUint32(b, l.Flags)
	b = binary.NativeEndian.AppendUint32(b, l.Change)
	if l.Name != "" {
		b = appendString(b, IFLAIfName, l.Name)
	}
	if l.MTU != 0 {
		b = appendUint32(b, IFLAMTU, l.MTU)
	}
	return b
}
