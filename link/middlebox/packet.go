package middlebox

import (
	"encoding/binary"
	"net/netip"

	"github.com/gomptcp/mptcp/wire"
)

// packet locates the transport header of an IPv4 or IPv6 packet.
type packet struct {
	pkt      []byte
	v6       bool
	src, dst netip.Addr
	proto    uint8
	l4off    int    // where the transport header starts in pkt
	l4       []byte // the transport header and data, aliasing pkt
}

// parse takes an unfragmented IPv4 or IPv6 packet apart. It returns false
// for anything else: malformed headers, fragments, or an IPv6 Routing
// header that hides the final destination (the pseudo-header would be
// unknown, RFC 8200 §8.1).
func parse(b []byte) (packet, bool) {
	if len(b) == 0 {
		return packet{}, false
	}
	switch b[0] >> 4 {
	case 4:
		ip := wire.IPv4(b)
		if ip.Check() != nil || ip.MoreFragments() || ip.FragmentOffset() != 0 {
			return packet{}, false
		}
		return packet{pkt: b, src: ip.Src(), dst: ip.Dst(), proto: ip.Protocol(), l4off: ip.HeaderLen(), l4: ip.Payload()}, true
	case 6:
		ip := wire.IPv6(b)
		if ip.Check() != nil {
			return packet{}, false
		}
		u, err := ip.UpperLayer()
		if err != nil || u.IsFragment() || u.RoutingSegmentsLeft != 0 {
			return packet{}, false
		}
		return packet{pkt: b, v6: true, src: ip.Src(), dst: ip.Dst(), proto: u.Protocol, l4off: u.Offset, l4: u.Payload}, true
	}
	return packet{}, false
}

// tcp returns the packet's TCP segment, if it carries a well-formed one.
func (p *packet) tcp() (wire.TCP, bool) {
	if p.proto != wire.IPProtocolTCP {
		return nil, false
	}
	t := wire.TCP(p.l4)
	if t.Check() != nil {
		return nil, false
	}
	return t, true
}

// Offsets of the checksum fields.
const (
	tcpChecksumOff  = 16 // RFC 9293 §3.1
	udpChecksumOff  = 6  // RFC 768
	ipv4ChecksumOff = 10 // RFC 791 §3.1
)

// checksumDelta is the one's-complement difference between two equally
// long byte strings that start at the same even offset of a checksummed
// area: adding it to a checksum's complement accounts for old becoming new
// (RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m')).
func checksumDelta(old, new []byte) uint64 {
	return uint64(wire.ChecksumFold(wire.ChecksumAdd(0, old))) + wire.ChecksumAdd(0, new)
}

// applyDelta updates the checksum field at b[off:off+2] by delta.
func applyDelta(b []byte, off int, delta uint64) {
	hc := binary.BigEndian.Uint16(b[off:])
	binary.BigEndian.PutUint16(b[off:], wire.ChecksumFold(uint64(^hc)+delta))
}

// rewrite replaces seg[off:off+len(new)] by new and updates the checksum
// field at csumOff of seg, which must lie outside the rewritten bytes. The
// bytes are compared on even boundaries, so off may be odd.
func rewrite(seg []byte, off int, new []byte, csumOff int) {
	start := off &^ 1
	end := min(off+len(new)+(off+len(new))&1, len(seg))
	var before [64]byte
	old := before[:0]
	if end-start <= len(before) {
		old = append(old, seg[start:end]...)
	} else {
		old = append([]byte(nil), seg[start:end]...)
	}
	copy(seg[off:], new)
	applyDelta(seg, csumOff, checksumDelta(old, seg[start:end]))
}

// put32 rewrites a 32-bit big-endian field of a TCP segment and updates its
// checksum.
func put32(seg []byte, off int, v uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	rewrite(seg, off, b[:], tcpChecksumOff)
}

// checksumsOK reports whether the IPv4 header checksum, if any, and the TCP
// checksum of p verify.
func (p *packet) checksumsOK() bool {
	if !p.v6 && !wire.IPv4(p.pkt).ChecksumValid() {
		return false
	}
	return wire.TCPChecksumValid(p.src, p.dst, p.l4)
}

// flowKey identifies a TCP or UDP flow regardless of direction: the two
// endpoints in a fixed order. fwd tells which order the packet had.
type flowKey struct {
	proto uint8
	a, b  netip.AddrPort
}

func flowOf(proto uint8, src, dst netip.AddrPort) (k flowKey, fwd bool) {
	if src.Compare(dst) <= 0 {
		return flowKey{proto, src, dst}, true
	}
	return flowKey{proto, dst, src}, false
}

// buffers recycles byte slices, so that middleboxes that build packets
// allocate nothing in the steady state.
type buffers struct{ free [][]byte }

func (b *buffers) get(n int) []byte {
	for i := len(b.free) - 1; i >= 0; i-- {
		if cap(b.free[i]) >= n {
			s := b.free[i]
			b.free[i] = b.free[len(b.free)-1]
			b.free = b.free[:len(b.free)-1]
			return s[:0]
		}
	}
	return make([]byte, 0, max(n, 2048))
}

func (b *buffers) put(s []byte) { b.free = append(b.free, s[:0]) }
