package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// ChecksumAdd adds the bytes of b, taken as big-endian 16-bit words, to the
// running one's-complement sum (RFC 1071 §4.1) and returns the new sum. An
// odd final byte is padded with a zero byte, so only the last chunk of a
// multi-part sum may have odd length. Fold the result with ChecksumFold.
//
// The running sum is any uint64 that is congruent, modulo 0xffff, to the
// one's-complement sum of the words added so far; callers may also add
// small values (a protocol number, a length) to it directly.
//
// Internally the bytes are summed as 64-bit little-endian words with
// end-around carry (the byte-order independence and parallel summation of
// RFC 1071 §2 (B) and (C)), folded to 16 bits and byte-swapped once at the
// end, so the inner loop is one add-with-carry per 8 bytes.
func ChecksumAdd(sum uint64, b []byte) uint64 {
	var acc, carry uint64
	for len(b) >= 64 {
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[0:8]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:16]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:24]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:32]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[32:40]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[40:48]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[48:56]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[56:64]), carry)
		b = b[64:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b), carry)
		b = b[8:]
	}
	// The tail adds at most 0xffffffff + 0xffff + 0xff, so it cannot
	// overflow once the pending carry has been folded in.
	acc, carry = bits.Add64(acc, carry, 0)
	acc += carry
	var tail uint64
	if len(b) >= 4 {
		tail += uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		tail += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		// In little-endian order the byte at an even offset is the low
		// byte of its word; the missing byte is zero (RFC 1071 §4.1).
		tail += uint64(b[0])
	}
	acc, carry = bits.Add64(acc, tail, 0)
	acc += carry
	// Fold to 16 bits with end-around carry. A non-zero value stays
	// non-zero, so the result matches a word-by-word big-endian sum.
	lo, c := bits.Add32(uint32(acc), uint32(acc>>32), 0)
	lo += c
	s := (lo & 0xffff) + lo>>16
	s = (s & 0xffff) + s>>16
	sum, carry = bits.Add64(sum, uint64(bits.ReverseBytes16(uint16(s))), 0)
	return sum + carry
}

// ChecksumFold folds a running sum to 16 bits and returns its one's
// complement: the value that goes into a checksum field (RFC 1071 §4.1).
func ChecksumFold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + sum>>16
	}
	return ^uint16(sum)
}

// PseudoHeaderSum returns the running sum of the pseudo-header that the TCP
// and UDP checksums cover, for an upper-layer packet of the given protocol
// and length (header plus data):
//   - IPv4 (RFC 9293 §3.1): source, destination, zero, protocol, TCP length
//     (16 bits), used when both addresses are IPv4 (Is4);
//   - IPv6 (RFC 8200 §8.1): source, destination, upper-layer packet length
//     (32 bits), three zero bytes, next header, used otherwise. An IPv4
//     address paired with an IPv6 one enters in its IPv4-mapped form.
//
// The caller passes the final destination: with an IPv6 Routing header
// that is the last address of the route (RFC 8200 §8.1).
func PseudoHeaderSum(proto uint8, src, dst netip.Addr, length int) uint64 {
	var sum uint64
	if src.Is4() && dst.Is4() {
		s, d := src.As4(), dst.As4()
		sum = uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
		return sum + uint64(proto) + uint64(uint16(length))
	}
	s, d := src.As16(), dst.As16()
	sum = ChecksumAdd(0, s[:])
	sum = ChecksumAdd(sum, d[:])
	l := uint32(length)
	return sum + uint64(l>>16) + uint64(l&0xffff) + uint64(proto)
}

// TCPChecksum returns the value for the checksum field of the TCP segment
// seg (header and data) sent from src to dst (RFC 9293 §3.1): the checksum
// over the pseudo-header and the segment, computed as if the checksum field
// (bytes 16–17) were zero. It does not allocate.
func TCPChecksum(src, dst netip.Addr, seg []byte) uint16 {
	sum := PseudoHeaderSum(IPProtocolTCP, src, dst, len(seg))
	if len(seg) < tcpChecksumOff+2 {
		return ChecksumFold(ChecksumAdd(sum, seg))
	}
	sum = ChecksumAdd(sum, seg[:tcpChecksumOff])
	sum = ChecksumAdd(sum, seg[tcpChecksumOff+2:])
	return ChecksumFold(sum)
}

// TCPChecksumValid reports whether the checksum field of the TCP segment seg
// sent from src to dst verifies: the sum over the pseudo-header and the
// whole segment, checksum field included, folds to zero (RFC 1071 §1).
func TCPChecksumValid(src, dst netip.Addr, seg []byte) bool {
	sum := PseudoHeaderSum(IPProtocolTCP, src, dst, len(seg))
	return ChecksumFold(ChecksumAdd(sum, seg)) == 0
}

// FillChecksums sets the checksums of the IP packet pkt, which holds an IPv4
// or IPv6 header followed by a TCP segment: the IPv4 header checksum
// (RFC 791 §3.1) and the TCP checksum over the pseudo-header (RFC 9293
// §3.1, RFC 8200 §8.1). Length fields must already be right. It returns an
// error if the headers do not check, if the packet does not carry TCP, if it
// is an IPv4 or IPv6 fragment other than a whole (atomic) one, or if an IPv6
// Routing header hides the final destination. It does not allocate on
// success.
func FillChecksums(pkt []byte) error {
	src, dst, seg, err := tcpInPacket(pkt)
	if err != nil {
		return err
	}
	if len(pkt) > 0 && pkt[0]>>4 == 4 {
		IPv4(pkt).SetChecksum()
	}
	TCP(seg).SetChecksum(src, dst)
	return nil
}

// VerifyChecksums checks the IPv4 header checksum, if pkt is IPv4, and the
// TCP checksum of the segment pkt carries. It returns an error wrapping
// ErrBadChecksum if either does not verify, and the errors of FillChecksums
// for packets it cannot take apart.
func VerifyChecksums(pkt []byte) error {
	src, dst, seg, err := tcpInPacket(pkt)
	if err != nil {
		return err
	}
	if pkt[0]>>4 == 4 && !IPv4(pkt).ChecksumValid() {
		return &HeaderError{Proto: "IPv4", Err: ErrBadChecksum}
	}
	if !TCPChecksumValid(src, dst, seg) {
		return &HeaderError{Proto: "TCP", Err: ErrBadChecksum}
	}
	return nil
}

// tcpInPacket finds the addresses of the pseudo-header and the TCP segment
// in an IPv4 or IPv6 packet.
func tcpInPacket(pkt []byte) (src, dst netip.Addr, seg []byte, err error) {
	if len(pkt) == 0 {
		return src, dst, nil, &HeaderError{Proto: "IP", Err: ErrTruncated}
	}
	switch pkt[0] >> 4 {
	case 4:
		ip := IPv4(pkt)
		if err := ip.Check(); err != nil {
			return src, dst, nil, err
		}
		if ip.MoreFragments() || ip.FragmentOffset() != 0 {
			return src, dst, nil, &HeaderError{Proto: "IPv4", Err: ErrBadValue, Detail: "fragment"}
		}
		if ip.Protocol() != IPProtocolTCP {
			return src, dst, nil, &HeaderError{Proto: "IPv4", Err: ErrWrongKind, Detail: "not TCP"}
		}
		seg = ip.Payload()
		src, dst = ip.Src(), ip.Dst()
	case 6:
		ip := IPv6(pkt)
		if err := ip.Check(); err != nil {
			return src, dst, nil, err
		}
		up, err := ip.UpperLayer()
		if err != nil {
			return src, dst, nil, err
		}
		if up.IsFragment() {
			return src, dst, nil, &HeaderError{Proto: "IPv6", Err: ErrBadValue, Detail: "fragment"}
		}
		if up.RoutingSegmentsLeft != 0 {
			return src, dst, nil, &HeaderError{Proto: "IPv6", Err: ErrBadValue, Detail: "routing header with segments left: final destination unknown"}
		}
		if up.Protocol != IPProtocolTCP {
			return src, dst, nil, &HeaderError{Proto: "IPv6", Err: ErrWrongKind, Detail: "not TCP"}
		}
		seg = up.Payload
		src, dst = ip.Src(), ip.Dst()
	default:
		return src, dst, nil, &HeaderError{Proto: "IP", Err: ErrBadVersion}
	}
	if err := TCP(seg).Check(); err != nil {
		return src, dst, nil, err
	}
	return src, dst, seg, nil
}
