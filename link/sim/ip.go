package sim

import (
	"encoding/binary"
	"net/netip"

	"github.com/gomptcp/mptcp/wire"
)

// verdict is what a host makes of a packet.
type verdict uint8

const (
	verdictOK verdict = iota
	verdictMalformed
	verdictBadChecksum
)

// ipDst returns the destination address of an IPv4 or IPv6 packet and
// whether the packet is well-formed enough to route: a complete fixed
// header whose length fields fit in pkt.
func ipDst(pkt []byte) (netip.Addr, bool) {
	if len(pkt) == 0 {
		return netip.Addr{}, false
	}
	switch pkt[0] >> 4 {
	case 4:
		if ip := wire.IPv4(pkt); ip.Check() == nil {
			return ip.Dst(), true
		}
	case 6:
		if ip := wire.IPv6(pkt); ip.Check() == nil {
			return ip.Dst(), true
		}
	}
	return netip.Addr{}, false
}

// checkedDst returns the destination address of an IPv4 or IPv6 packet
// that ipDst accepts, without checking it again.
func checkedDst(pkt []byte) netip.Addr {
	if pkt[0]>>4 == 4 {
		return wire.IPv4(pkt).Dst()
	}
	return wire.IPv6(pkt).Dst()
}

// verify checks what a receiving host checks: the IPv4 header checksum
// (RFC 791 §3.1) and, for TCP and UDP that are not fragments, the transport
// checksum over the pseudo-header (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1).
// A UDP checksum of zero means "none" over IPv4 and is invalid over IPv6
// (RFC 8200 §8.1). IPv6 packets whose Routing header still has segments
// left are not checked further: the pseudo-header's destination is not
// the one in the header.
func verify(pkt []byte) verdict {
	if len(pkt) == 0 {
		return verdictMalformed
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
			return verdictMalformed
		}
		if !ipv4HeaderValid(ip) {
			return verdictBadChecksum
		}
		if ip.MoreFragments() || ip.FragmentOffset() != 0 {
			return verdictOK
		}
		proto, l4, src, dst = ip.Protocol(), ip.Payload(), ip.Src(), ip.Dst()
	case 6:
		ip := wire.IPv6(pkt)
		if ip.Check() != nil {
			return verdictMalformed
		}
		u, err := ip.UpperLayer()
		if err != nil {
			return verdictMalformed
		}
		if u.IsFragment() || u.RoutingSegmentsLeft != 0 {
			return verdictOK
		}
		proto, l4, src, dst, v6 = u.Protocol, u.Payload, ip.Src(), ip.Dst(), true
	default:
		return verdictMalformed
	}
	switch proto {
	case wire.IPProtocolTCP:
		if wire.TCP(l4).Check() != nil {
			return verdictMalformed
		}
		if !wire.TCPChecksumValid(src, dst, l4) {
			return verdictBadChecksum
		}
	case wire.IPProtocolUDP:
		if len(l4) < 8 { // RFC 768 header
			return verdictMalformed
		}
		if l4[6] == 0 && l4[7] == 0 {
			if v6 {
				return verdictBadChecksum
			}
			return verdictOK
		}
		if wire.ChecksumFold(wire.ChecksumAdd(wire.PseudoHeaderSum(proto, src, dst, len(l4)), l4)) != 0 {
			return verdictBadChecksum
		}
	}
	return verdictOK
}

// ipv4HeaderValid reports whether the header checksum of ip, which passed
// Check, verifies (RFC 791 §3.1). The common 20-byte header is summed as
// five 32-bit words, the same sum modulo 0xffff as its 16-bit words.
func ipv4HeaderValid(ip wire.IPv4) bool {
	if ip.HeaderLen() != wire.IPv4MinHeaderLen {
		return ip.ChecksumValid()
	}
	h := ip[:wire.IPv4MinHeaderLen]
	sum := uint64(binary.BigEndian.Uint32(h[0:4])) + uint64(binary.BigEndian.Uint32(h[4:8])) +
		uint64(binary.BigEndian.Uint32(h[8:12])) + uint64(binary.BigEndian.Uint32(h[12:16])) +
		uint64(binary.BigEndian.Uint32(h[16:20]))
	return wire.ChecksumFold(sum) == 0
}

// fillTCPChecksum computes the TCP checksum of an IP packet and writes it
// into the packet (transmit checksum offload). It reports whether it did:
// only for a well-formed, unfragmented TCP packet whose IPv4 header
// checksum verifies and which has no IPv6 Routing header with segments
// left (whose pseudo-header would need the final destination). What it
// fills, verify accepts.
func fillTCPChecksum(pkt []byte) bool {
	if len(pkt) == 0 {
		return false
	}
	var (
		l4       []byte
		src, dst netip.Addr
	)
	switch pkt[0] >> 4 {
	case 4:
		ip := wire.IPv4(pkt)
		if ip.Check() != nil || !ipv4HeaderValid(ip) || ip.MoreFragments() || ip.FragmentOffset() != 0 ||
			ip.Protocol() != wire.IPProtocolTCP {
			return false
		}
		l4, src, dst = ip.Payload(), ip.Src(), ip.Dst()
	case 6:
		ip := wire.IPv6(pkt)
		if ip.Check() != nil {
			return false
		}
		u, err := ip.UpperLayer()
		if err != nil || u.IsFragment() || u.RoutingSegmentsLeft != 0 || u.Protocol != wire.IPProtocolTCP {
			return false
		}
		l4, src, dst = u.Payload, ip.Src(), ip.Dst()
	default:
		return false
	}
	t := wire.TCP(l4)
	if t.Check() != nil {
		return false
	}
	t.SetChecksum(src, dst)
	return true
}

// decrementHopLimit decrements the IPv4 TTL or IPv6 hop limit of a packet
// that ipDst accepted. It returns false, leaving the packet alone, if the
// packet would expire (RFC 791 §3.2, RFC 8200 §3). The IPv4 header checksum
// is updated incrementally (RFC 1624 §3, eqn. 3), so a corrupted header
// stays detectably corrupted.
func decrementHopLimit(pkt []byte) bool {
	if pkt[0]>>4 == 6 {
		ip := wire.IPv6(pkt)
		if ip.HopLimit() <= 1 {
			return false
		}
		ip.SetHopLimit(ip.HopLimit() - 1)
		return true
	}
	ip := wire.IPv4(pkt)
	if ip.TTL() <= 1 {
		return false
	}
	old := binary.BigEndian.Uint16(pkt[8:10]) // TTL and Protocol share a 16-bit word
	ip.SetTTL(ip.TTL() - 1)
	sum := uint64(^ip.Checksum()) + uint64(^old) + uint64(binary.BigEndian.Uint16(pkt[8:10]))
	binary.BigEndian.PutUint16(pkt[10:12], wire.ChecksumFold(sum))
	return true
}
