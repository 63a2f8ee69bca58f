package tun

import (
	"net/netip"

	"github.com/gomptcp/mptcp/wire"
)

// verdict is what the Stack makes of a packet read from a device.
type verdict uint8

const (
	verdictOK          verdict = iota
	verdictMalformed           // not a well-formed IPv4 or IPv6 packet
	verdictBadChecksum         // a checksum does not verify
)

// IP protocol numbers checked by inspect (IANA "Assigned Internet Protocol
// Numbers").
const (
	protoICMP   = 1
	protoICMPv6 = 58
)

// inspect checks a packet as a receiving host does and returns its
// destination address:
//   - the IPv4 header and its checksum (RFC 791 §3.1), or the IPv6 header
//     and its extension header chain (RFC 8200 §4);
//   - for TCP (RFC 9293 §3.1), UDP (RFC 768) and ICMPv6 (RFC 4443 §2.3) the
//     checksum over the pseudo-header (RFC 8200 §8.1 for IPv6), and for
//     ICMP the checksum over the message (RFC 792). A UDP checksum of zero
//     means "none" over IPv4 and is invalid over IPv6 (RFC 8200 §8.1).
//
// Fragments other than atomic ones, and IPv6 packets whose Routing header
// still has segments left (the pseudo-header's destination is then not the
// one in the header), are checked no further than their IP header. With
// sums false the transport checksums are not verified (the headers still
// are): the caller knows them right. inspect does not allocate and never
// panics, whatever pkt holds.
func inspect(pkt []byte, sums bool) (netip.Addr, verdict) {
	if len(pkt) == 0 {
		return netip.Addr{}, verdictMalformed
	}
	var (
		proto    uint8
		l4       []byte
		src, dst netip.Addr
		v6       bool
	)
	switch pkt[0] >> 4 {
	case 4:
		ip := wire.IPv4(pkt)
		if ip.Check() != nil {
			return netip.Addr{}, verdictMalformed
		}
		dst = ip.Dst()
		if !ip.ChecksumValid() {
			return dst, verdictBadChecksum
		}
		if ip.MoreFragments() || ip.FragmentOffset() != 0 {
			return dst, verdictOK
		}
		proto, l4, src = ip.Protocol(), ip.Payload(), ip.Src()
	case 6:
		ip := wire.IPv6(pkt)
		if ip.Check() != nil {
			return netip.Addr{}, verdictMalformed
		}
		dst = ip.Dst()
		u, err := ip.UpperLayer()
		if err != nil {
			return dst, verdictMalformed
		}
		if u.IsFragment() || u.RoutingSegmentsLeft != 0 {
			return dst, verdictOK
		}
		proto, l4, src, v6 = u.Protocol, u.Payload, ip.Src(), true
	default:
		return netip.Addr{}, verdictMalformed
	}
	switch proto {
	case wire.IPProtocolTCP:
		if wire.TCP(l4).Check() != nil {
			return dst, verdictMalformed
		}
		if sums && !wire.TCPChecksumValid(src, dst, l4) {
			return dst, verdictBadChecksum
		}
	case wire.IPProtocolUDP:
		if len(l4) < 8 { // RFC 768: the header is 8 bytes
			return dst, verdictMalformed
		}
		if !sums {
			break
		}
		if l4[6] == 0 && l4[7] == 0 {
			if v6 {
				return dst, verdictBadChecksum
			}
			return dst, verdictOK
		}
		if !pseudoSumValid(proto, src, dst, l4) {
			return dst, verdictBadChecksum
		}
	case protoICMP:
		if v6 {
			break // protocol 1 over IPv6 is not ICMP; leave it to the Node
		}
		if len(l4) < 4 { // RFC 792: type, code, checksum
			return dst, verdictMalformed
		}
		if sums && wire.ChecksumFold(wire.ChecksumAdd(0, l4)) != 0 {
			return dst, verdictBadChecksum
		}
	case protoICMPv6:
		if !v6 {
			break
		}
		if len(l4) < 4 { // RFC 4443 §2.1: type, code, checksum
			return dst, verdictMalformed
		}
		if sums && !pseudoSumValid(proto, src, dst, l4) {
			return dst, verdictBadChecksum
		}
	}
	return dst, verdictOK
}

// pseudoSumValid reports whether the one's-complement sum over the
// pseudo-header and b, checksum field included, folds to zero.
func pseudoSumValid(proto uint8, src, dst netip.Addr, b []byte) bool {
	return wire.ChecksumFold(wire.ChecksumAdd(wire.PseudoHeaderSum(proto, src, dst, len(b)), b)) == 0
}
