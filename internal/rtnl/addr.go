package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Addr is an interface address as an RTM_NEWADDR or RTM_DELADDR message
// describes it.
type Addr struct {
	// Addr is IFA_LOCAL, the local address, or IFA_ADDRESS in a message
	// without IFA_LOCAL (IPv6 addresses have only that one). On a
	// point-to-point link IFA_ADDRESS is the peer's address and IFA_LOCAL
	// the local one. Its family is the message's: AF_INET or AF_INET6.
	Addr      netip.Addr
	PrefixLen int    // ifa_prefixlen
	IfIndex   int    // ifa_index; positive in every message ParseAddr accepts
	Flags     uint32 // IFA_FLAGS, or the 8 bits of ifa_flags without it: IFA_F_*
	Scope     uint8  // ifa_scope: RT_SCOPE_*
	Label     string // IFA_LABEL (IPv4 addresses only); "" without it
}

// ParseAddr decodes the payload of an RTM_NEWADDR or RTM_DELADDR message:
// a struct ifaddrmsg followed by IFA_* attributes. A message of a family
// other than AF_INET and AF_INET6 gives an error wrapping ErrFamily; other
// errors wrap ErrMalformed.
func ParseAddr(b []byte) (Addr, error) {
	if len(b) < SizeofIfAddrmsg {
		return Addr{}, malformed("address message: %d bytes, want at least %d", len(b), SizeofIfAddrmsg)
	}
	var alen int
	switch b[0] {
	case AFInet:
		alen = 4
	case AFInet6:
		alen = 16
	default:
		return Addr{}, fmt.Errorf("%w: address message of family %d", ErrFamily, b[0])
	}
	a := Addr{
		PrefixLen: int(b[1]),
		Flags:     uint32(b[2]),
		Scope:     b[3],
		IfIndex:   int(int32(binary.NativeEndian.Uint32(b[4:8]))),
	}
	if a.PrefixLen > alen*8 {
		return Addr{}, malformed("address message: prefix length %d for a %d-bit address", a.PrefixLen, alen*8)
	}
	if a.IfIndex <= 0 {
		return Addr{}, malformed("address message: interface index %d", a.IfIndex)
	}
	var local, address netip.Addr
	at := attrs{b: b[SizeofIfAddrmsg:]}
	for at.next() {
		switch at.typ {
		case IFAAddress, IFALocal:
			if len(at.v) != alen {
				at.err = fmt.Errorf("attribute %d: %d bytes, want %d", at.typ, len(at.v), alen)
				break
			}
			ip, _ := netip.AddrFromSlice(at.v)
			if at.typ == IFALocal {
				local = ip
			} else {
				address = ip
			}
		case IFAFlags:
			if f, ok := at.uint32("IFA_FLAGS"); ok {
				a.Flags = f
			}
		case IFALabel:
			a.Label, _ = at.name("IFA_LABEL")
		}
	}
	if at.err != nil {
		return Addr{}, malformed("address message: %v", at.err)
	}
	a.Addr = local
	if !a.Addr.IsValid() {
		a.Addr = address
	}
	if !a.Addr.IsValid() {
		return Addr{}, malformed("address message: no IFA_LOCAL or IFA_ADDRESS")
	}
	return a, nil
}

// Append appends a as a struct ifaddrmsg, of family AF_INET for an IPv4
// address and AF_INET6 otherwise, followed by IFA_ADDRESS and IFA_LOCAL
// (both Addr, as for any link that is not point-to-point), IFA_LABEL if
// Label is set, and IFA_FLAGS; ifa_flags holds the low 8 bits of Flags.
// It returns the extended buffer. a.Addr must be valid.
func (a Addr) Append(b []byte) []byte {
	fam := byte(AFInet6)
	if a.Addr.Is4() {
		fam = AFInet
	}
	b = append(b, fam, byte(a.PrefixLen), byte(a.Flags), a.Scope)
	b = binary.NativeEndian.AppendUint32(b, uint32(int32(a.IfIndex)))
	b = appendAttr(b, IFAAddress, a.Addr.AsSlice())
	b = appendAttr(b, IFALocal, a.Addr.AsSlice())
	if a.Label != "" {
		b = appendString(b, IFALabel, a.Label)
	}
	return appendUint32(b, IFAFlags, a.Flags)
}
