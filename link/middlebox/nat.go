package middlebox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// NATConfig configures a NAT.
type NATConfig struct {
	// Inside is the prefix of the hosts behind the NAT.
	Inside netip.Prefix
	// Public is the address inside hosts appear to have. It must be of
	// the same family as Inside.
	Public netip.Addr
	// PortMin and PortMax bound the public ports handed out; zero values
	// mean 1024 and 65535.
	PortMin, PortMax uint16
}

// NATStats counts what a NAT did.
type NATStats struct {
	Outbound uint64 // packets translated on their way out
	Inbound  uint64 // packets translated on their way in
	Mappings uint64 // mappings created
	// Dropped counts packets the NAT cannot translate: inbound packets
	// without a mapping, outbound packets that are not TCP or UDP or are
	// fragments, and new flows when every public port is taken.
	Dropped uint64
}

// NAT is a Middleware that translates addresses and ports between an inside
// prefix and one public address (NAPT, RFC 3022), for TCP and UDP. A
// packet from an inside address to an outside one gets the public address
// and a public port as its source; a packet to the public address gets the
// inside address and port of the mapping as its destination. Mappings are
// endpoint-independent (RFC 4787 §4.1, one public port per inside address
// and port, whatever the destination) and so is filtering (RFC 4787 §5:
// any outside host may send to a mapped port). Mappings do not expire and
// public ports are handed out in order from PortMin. Packets of the other
// address family, and packets that neither leave nor enter the inside
// prefix, pass unchanged. There is no hairpinning.
type NAT struct {
	cfg   NATConfig
	out   map[natKey]uint16         // inside endpoint → public port
	in    map[natKey]netip.AddrPort // public port → inside endpoint
	next  uint32                    // next public port to try
	stats NATStats
}

type natKey struct {
	proto uint8
	ep    netip.AddrPort // for in: the public address and port
}

var _ link.Middleware = (*NAT)(nil)

// ErrNATConfig is wrapped by NewNAT's errors.
var ErrNATConfig = errors.New("middlebox: invalid NAT config")

// NewNAT returns a NAT for cfg.
func NewNAT(cfg NATConfig) (*NAT, error) {
	if cfg.PortMin == 0 {
		cfg.PortMin = 1024
	}
	if cfg.PortMax == 0 {
		cfg.PortMax = 65535
	}
	switch {
	case !cfg.Inside.IsValid() || !cfg.Public.IsValid():
		return nil, fmt.Errorf("%w: Inside and Public must be set", ErrNATConfig)
	case cfg.Inside.Addr().Is4() != cfg.Public.Is4():
		return nil, fmt.Errorf("%w: Inside %v and Public %v are of different families", ErrNATConfig, cfg.Inside, cfg.Public)
	case cfg.Inside.Contains(cfg.Public):
		return nil, fmt.Errorf("%w: Public %v is inside %v", ErrNATConfig, cfg.Public, cfg.Inside)
	case cfg.PortMin > cfg.PortMax:
		return nil, fmt.Errorf("%w: PortMin %d > PortMax %d", ErrNATConfig, cfg.PortMin, cfg.PortMax)
	}
	cfg.Inside = cfg.Inside.Masked()
	return &NAT{cfg: cfg, out: map[natKey]uint16{}, in: map[natKey]netip.AddrPort{}, next: uint32(cfg.PortMin)}, nil
}

// Stats returns the counters.
func (n *NAT) Stats() NATStats { return n.stats }

// Mapping returns the public address and port of an inside endpoint, if
// it has one.
func (n *NAT) Mapping(proto uint8, inside netip.AddrPort) (netip.AddrPort, bool) {
	port, ok := n.out[natKey{proto, inside}]
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(n.cfg.Public, port), true
}

// Process translates pkt in place and emits it, or drops it.
func (n *NAT) Process(_ time.Time, pkt []byte, out link.Emitter) {
	if n.translate(pkt) {
		out.Emit(pkt)
	}
}

// translate rewrites pkt and reports whether to pass it on.
func (n *NAT) translate(pkt []byte) bool {
	if len(pkt) == 0 || (pkt[0]>>4 == 4) != n.cfg.Public.Is4() {
		return true // not our family
	}
	src, dst, ok := addrs(pkt)
	if !ok {
		return true // malformed: not ours to judge
	}
	outbound := n.cfg.Inside.Contains(src) && !n.cfg.Inside.Contains(dst)
	inbound := dst == n.cfg.Public
	if !outbound && !inbound {
		return true
	}
	p, ok := parse(pkt)
	if !ok || p.proto != wire.IPProtocolTCP && p.proto != wire.IPProtocolUDP || !portsOK(&p) {
		n.stats.Dropped++
		return false
	}
	csumOff := tcpChecksumOff
	if p.proto == wire.IPProtocolUDP {
		csumOff = udpChecksumOff
	}
	if outbound {
		sport := binary.BigEndian.Uint16(p.l4[0:])
		port, ok := n.mapPort(p.proto, netip.AddrPortFrom(src, sport))
		if !ok {
			n.stats.Dropped++
			return false
		}
		n.rewriteEndpoint(&p, true, netip.AddrPortFrom(n.cfg.Public, port), csumOff)
		n.stats.Outbound++
		return true
	}
	dport := binary.BigEndian.Uint16(p.l4[2:])
	inside, ok := n.in[natKey{p.proto, netip.AddrPortFrom(n.cfg.Public, dport)}]
	if !ok {
		n.stats.Dropped++
		return false
	}
	n.rewriteEndpoint(&p, false, inside, csumOff)
	n.stats.Inbound++
	return true
}

// addrs returns the source and destination of an IPv4 or IPv6 packet with
// a complete fixed header.
func addrs(pkt []byte) (src, dst netip.Addr, ok bool) {
	switch pkt[0] >> 4 {
	case 4:
		if ip := wire.IPv4(pkt); ip.Check() == nil {
			return ip.Src(), ip.Dst(), true
		}
	case 6:
		if ip := wire.IPv6(pkt); ip.Check() == nil {
			return ip.Src(), ip.Dst(), true
		}
	}
	return src, dst, false
}

// portsOK reports whether the transport header is long enough to rewrite.
func portsOK(p *packet) bool {
	if p.proto == wire.IPProtocolTCP {
		_, ok := p.tcp()
		return ok
	}
	return len(p.l4) >= 8 // RFC 768 header
}

func (n *NAT) mapPort(proto uint8, inside netip.AddrPort) (uint16, bool) {
	k := natKey{proto, inside}
	if port, ok := n.out[k]; ok {
		return port, true
	}
	span := uint32(n.cfg.PortMax) - uint32(n.cfg.PortMin) + 1
	for range span {
		port := uint16(n.next)
		n.next++
		if n.next > uint32(n.cfg.PortMax) {
			n.next = uint32(n.cfg.PortMin)
		}
		pk := natKey{proto, netip.AddrPortFrom(n.cfg.Public, port)}
		if _, taken := n.in[pk]; taken {
			continue
		}
		n.out[k] = port
		n.in[pk] = inside
		n.stats.Mappings++
		return port, true
	}
	return 0, false
}

// rewriteEndpoint sets the source (src true) or destination address and
// port of p to ep, updating the IPv4 header checksum and the transport
// checksum, whose pseudo-header holds the address (RFC 1624, RFC 3022 §4.2).
func (n *NAT) rewriteEndpoint(p *packet, src bool, ep netip.AddrPort, csumOff int) {
	addrOff, addrLen, portOff := 12, 4, 0 // IPv4 source (RFC 791 §3.1); source port
	if p.v6 {
		addrOff, addrLen = 8, 16 // RFC 8200 §3
	}
	if !src {
		addrOff += addrLen // the destination follows the source
		portOff = 2
	}
	var buf [16]byte
	a := ep.Addr()
	na := buf[:0]
	if p.v6 {
		b := a.As16()
		na = append(na, b[:]...)
	} else {
		b := a.As4()
		na = append(na, b[:]...)
	}
	oa := p.pkt[addrOff : addrOff+len(na)]
	// The transport checksum covers the address through the pseudo-header
	// and the port directly. A UDP checksum of zero means none (RFC 768)
	// and stays zero.
	udpNone := p.proto == wire.IPProtocolUDP && p.l4[csumOff] == 0 && p.l4[csumOff+1] == 0
	var port [2]byte
	binary.BigEndian.PutUint16(port[:], ep.Port())
	delta := checksumDelta(oa, na) + checksumDelta(p.l4[portOff:portOff+2], port[:])
	if !udpNone {
		applyDelta(p.l4, csumOff, delta)
		if p.proto == wire.IPProtocolUDP && p.l4[csumOff] == 0 && p.l4[csumOff+1] == 0 {
			p.l4[csumOff], p.l4[csumOff+1] = 0xff, 0xff // RFC 768: zero is sent as all ones
		}
	}
	copy(p.l4[portOff:], port[:])
	if !p.v6 {
		applyDelta(p.pkt, ipv4ChecksumOff, checksumDelta(oa, na))
	}
	copy(oa, na)
}

// Poll does nothing.
func (n *NAT) Poll(time.Time, link.Emitter) {}

// Deadline returns the zero Time.
func (n *NAT) Deadline() time.Time { return time.Time{} }
