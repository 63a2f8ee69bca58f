package wire

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// ADD_ADDR layout (RFC 8684 §3.4.1, Figure 15):
//
//	+-------+--------+-------+-----+-+------------+
//	| Kind  | Length |Subtype|(rsv)|E| Address ID |
//	+-------+--------+-------+-----+-+------------+
//	| Address (IPv4: 4 octets / IPv6: 16 octets)  |
//	+---------------------------------------------+
//	| Port (2 octets, optional)                   |
//	+---------------------------------------------+
//	| Truncated HMAC (8 octets, if E=0)           |
//	+---------------------------------------------+
const (
	addAddrFlagsOff = 2 // subtype, 3 reserved bits, E
	addAddrIDOff    = 3
	addAddrAddrOff  = 4

	addAddrEchoFlag = 0x01
	addAddrRsvMask  = 0x0e
	addAddrRsvShift = 1

	addAddrPortLen = 2

	// Option lengths: base (echo, no port), plus port, plus HMAC.
	addAddrLenV4     = addAddrAddrOff + 4  // 8
	addAddrLenV6     = addAddrAddrOff + 16 // 20
	addAddrLenV4Port = addAddrLenV4 + addAddrPortLen
	addAddrLenV6Port = addAddrLenV6 + addAddrPortLen
)

// AddAddr is the ADD_ADDR option (RFC 8684 §3.4.1, version 1 format): it
// announces an additional address, optionally with a port, on which the
// sender can be reached. With E (Echo) clear it carries a truncated HMAC
// (see AddAddrHMAC); the receiver echoes it with E set and no HMAC.
//
// The address family follows from the option's length. Checking the HMAC
// is the receiver's business (HMACValid); the parser only decodes it.
type AddAddr struct {
	// Reserved holds the three "(rsv)" bits between the subtype and E as
	// received (RFC 8684 sends zero). Keeping them makes parsing lossless.
	Reserved uint8
	// Echo is the E flag: this option acknowledges an ADD_ADDR.
	Echo bool
	// AddrID is the Address ID of the announced address.
	AddrID uint8
	// Addr is the announced address. An IPv4 address (Addr.Is4) is sent
	// in 4 bytes, anything else (IPv4-mapped IPv6 included) in 16; the
	// zone is not sent.
	Addr netip.Addr
	// HasPort reports whether the option carries a port; Port is its value.
	HasPort bool
	Port    uint16
	// HMAC is the truncated HMAC, big-endian, present when Echo is false.
	// It is zero in a parsed echo and ignored by Append when Echo is set.
	HMAC uint64
}

var _ MPTCPOption = AddAddr{}

// Subtype returns SubtypeAddAddr.
func (a AddAddr) Subtype() MPTCPSubtype { return SubtypeAddAddr }

// Len returns the encoded length: 8 (IPv4) or 20 (IPv6), plus 2 with a
// port, plus 8 for the HMAC unless Echo is set.
func (a AddAddr) Len() int {
	l := addAddrLenV6
	if a.Addr.Is4() {
		l = addAddrLenV4
	}
	if a.HasPort {
		l += addAddrPortLen
	}
	if !a.Echo {
		l += TruncatedHMACLen
	}
	return l
}

// Append appends the encoded option to b. It panics if Addr is not a valid
// IP address, since no ADD_ADDR can carry it.
func (a AddAddr) Append(b []byte) []byte {
	if !a.Addr.IsValid() {
		panic("wire: ADD_ADDR with an invalid IP address")
	}
	flags := byte(SubtypeAddAddr)<<4 | (a.Reserved<<addAddrRsvShift)&addAddrRsvMask
	if a.Echo {
		flags |= addAddrEchoFlag
	}
	b = append(b, OptionKindMPTCP, byte(a.Len()), flags, a.AddrID)
	if a.Addr.Is4() {
		ip := a.Addr.As4()
		b = append(b, ip[:]...)
	} else {
		ip := a.Addr.As16()
		b = append(b, ip[:]...)
	}
	if a.HasPort {
		b = binary.BigEndian.AppendUint16(b, a.Port)
	}
	if !a.Echo {
		b = binary.BigEndian.AppendUint64(b, a.HMAC)
	}
	return b
}

// ParseAddAddr parses the ADD_ADDR option at the start of b and returns it
// with its length. Valid lengths are 8, 10, 16 and 18 for IPv4 and 20, 22,
// 28 and 30 for IPv6 (echo, echo with port, HMAC, port with HMAC); an
// option whose length does not fit its E flag is rejected with ErrBadLength.
func ParseAddAddr(b []byte) (AddAddr, int, error) {
	l, err := checkMPTCP(b, SubtypeAddAddr)
	if err != nil {
		return AddAddr{}, 0, err
	}
	echo := b[addAddrFlagsOff]&addAddrEchoFlag != 0
	body := l // length without the HMAC
	if !echo {
		body -= TruncatedHMACLen
	}
	var a AddAddr
	switch body {
	case addAddrLenV4, addAddrLenV4Port:
		a.Addr = netip.AddrFrom4([4]byte(b[addAddrAddrOff : addAddrAddrOff+4]))
	case addAddrLenV6, addAddrLenV6Port:
		a.Addr = netip.AddrFrom16([16]byte(b[addAddrAddrOff : addAddrAddrOff+16]))
	default:
		detail := "want 8, 10, 20 or 22 with E=1"
		if !echo {
			detail = "want 16, 18, 28 or 30 with E=0"
		}
		return AddAddr{}, 0, mptcpErr(SubtypeAddAddr, l, ErrBadLength, detail)
	}
	a.Reserved = (b[addAddrFlagsOff] & addAddrRsvMask) >> addAddrRsvShift
	a.Echo = echo
	a.AddrID = b[addAddrIDOff]
	if body == addAddrLenV4Port || body == addAddrLenV6Port {
		a.HasPort = true
		a.Port = binary.BigEndian.Uint16(b[body-addAddrPortLen:])
	}
	if !echo {
		a.HMAC = binary.BigEndian.Uint64(b[body:])
	}
	return a, l, nil
}

// ComputeHMAC returns the truncated HMAC this ADD_ADDR carries when sent by
// the host whose key is senderKey to the host whose key is receiverKey:
// AddAddrHMAC(senderKey, receiverKey, AddrID, Addr, Port), with port 0 when
// HasPort is false. It panics if Addr is not a valid IP address.
func (a AddAddr) ComputeHMAC(senderKey, receiverKey uint64) uint64 {
	return AddAddrHMAC(senderKey, receiverKey, a.AddrID, a.Addr, a.Port)
}

// HMACValid reports whether a received ADD_ADDR (Echo false) carries the
// HMAC computed with the peer's key as senderKey and the local key as
// receiverKey (RFC 8684 §3.4.1). The comparison takes constant time. An
// echo carries no HMAC and never verifies: RFC 8684 §3.4.1 does not
// authenticate echoes, so a receiver matches them against the ADD_ADDRs it
// sent instead.
func (a AddAddr) HMACValid(senderKey, receiverKey uint64) bool {
	if a.Echo || !a.Addr.IsValid() {
		return false
	}
	var want, got [TruncatedHMACLen]byte
	binary.BigEndian.PutUint64(want[:], a.ComputeHMAC(senderKey, receiverKey))
	binary.BigEndian.PutUint64(got[:], a.HMAC)
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// String returns a compact form such as
// "ADD_ADDR id=1 addr=192.0.2.1 port=8080 hmac=0x0123456789abcdef".
func (a AddAddr) String() string {
	var s strings.Builder
	s.WriteString("ADD_ADDR")
	if a.Echo {
		s.WriteString(" echo")
	}
	fmt.Fprintf(&s, " id=%d addr=%s", a.AddrID, a.Addr)
	if a.HasPort {
		fmt.Fprintf(&s, " port=%d", a.Port)
	}
	if !a.Echo {
		fmt.Fprintf(&s, " hmac=%#016x", a.HMAC)
	}
	if a.Reserved != 0 {
		fmt.Fprintf(&s, " rsv=%#x", a.Reserved)
	}
	return s.String()
}
