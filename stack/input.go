package stack

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// ChecksumVerifier is implemented by NICs whose driver verifies, before it
// delivers a packet, the checksums the Stack would otherwise verify again:
// the IPv4 header checksum (RFC 791 §3.1) and the TCP checksum over the
// pseudo-header of the packet's own addresses (RFC 9293 §3.1, RFC 8200
// §8.1), dropping every packet on which one fails, as a NIC with receive
// checksum offload does (Linux's CHECKSUM_UNNECESSARY). For packets that
// arrive on a NIC whose ChecksumsVerified reports true the Stack skips
// those two computations; the structural checks stay. The hosts of
// link/sim verify every packet this way: their interfaces report true.
type ChecksumVerifier interface {
	ChecksumsVerified() bool
}

// checksumsVerified reports whether nic's driver verified the checksums.
func checksumsVerified(nic link.NIC) bool {
	v, ok := nic.(ChecksumVerifier)
	return ok && v.ChecksumsVerified()
}

// input checks an IP packet, parses its TCP segment into s.rx and
// demultiplexes it. verified says the driver verified the checksums.
func (s *Stack) input(now time.Time, pkt []byte, verified bool) {
	s.stats.PacketsIn++
	if len(pkt) == 0 {
		s.stats.Malformed++
		return
	}
	var (
		src, dst netip.Addr
		seg      []byte
	)
	switch pkt[0] >> 4 {
	case 4:
		ip := wire.IPv4(pkt)
		if ip.Check() != nil {
			s.stats.Malformed++
			return
		}
		if !verified && !ip.ChecksumValid() { // RFC 791 §3.1: discard on a bad header checksum
			s.stats.BadIPChecksum++
			return
		}
		if ip.MoreFragments() || ip.FragmentOffset() != 0 {
			s.stats.Fragments++
			return
		}
		if ip.Protocol() != wire.IPProtocolTCP {
			s.stats.NotTCP++
			return
		}
		src, dst, seg = ip.Src(), ip.Dst(), ip.Payload()
	case 6:
		ip := wire.IPv6(pkt)
		if ip.Check() != nil {
			s.stats.Malformed++
			return
		}
		u, err := ip.UpperLayer()
		if err != nil {
			s.stats.Malformed++
			return
		}
		if u.IsFragment() {
			s.stats.Fragments++
			return
		}
		if u.RoutingSegmentsLeft != 0 {
			// RFC 8200 §4.4: the destination is not the final one, and
			// a host does not forward.
			s.stats.BadAddress++
			return
		}
		if u.Protocol != wire.IPProtocolTCP {
			s.stats.NotTCP++
			return
		}
		src, dst, seg = ip.Src(), ip.Dst(), u.Payload
	default:
		s.stats.Malformed++
		return
	}
	if src.Is4In6() || dst.Is4In6() {
		// The pseudo-header the driver used (the packet's own addresses)
		// may not be the one of the unmapped addresses checked here.
		verified = false
	}
	src, dst = src.Unmap(), dst.Unmap()
	if s.owner(dst) == nil {
		s.stats.NotLocal++
		return
	}
	t := wire.TCP(seg)
	if t.Check() != nil {
		s.stats.Malformed++
		return
	}
	if !verified && !wire.TCPChecksumValid(src, dst, seg) { // RFC 9293 §3.1 MUST-2/MUST-3
		s.stats.BadChecksum++
		return
	}
	// RFC 9293 §3.9.2.1 (MUST-57) and §3.10.7.2: segments from broadcast,
	// multicast or unspecified addresses are not answered; port 0 is
	// reserved.
	if !validAddr(src) || t.SrcPort() == 0 || t.DstPort() == 0 {
		s.stats.BadAddress++
		return
	}
	rx := &s.rx
	if wire.ParseTCPOptions(t.Options(), &rx.Options) != nil {
		// RFC 9293 §3.1 MUST-7 asks to cope with illegal option
		// lengths; the segment is dropped, as the options it carries
		// (timestamps, SACK) cannot be trusted.
		s.stats.BadOptions++
		return
	}
	rx.SrcPort, rx.DstPort = t.SrcPort(), t.DstPort()
	rx.Seq, rx.Ack = t.Seq(), t.Ack()
	rx.Flags = tcp.Flags(t.Flags())
	rx.Window = t.Window()
	rx.Payload = t.Payload()
	s.stats.SegmentsIn++

	id := tcp.ConnID{Local: netip.AddrPortFrom(dst, rx.DstPort), Remote: netip.AddrPortFrom(src, rx.SrcPort)}
	if c := s.lookup(id); c != nil {
		// RFC 9293 §3.10.7.4 note and RFC 6191: a new SYN may reopen a
		// connection in TIME-WAIT when a listener wants it.
		if rx.Flags&(tcp.FlagSYN|tcp.FlagACK|tcp.FlagRST) == tcp.FlagSYN && c.tcp.State() == tcp.StateTimeWait {
			if l := s.listenerAt(dst, rx.DstPort); l != nil && c.tcp.TimeWaitReuse(rx) {
				s.stats.TimeWaitReuses++
				s.service(now, c) // dispatches EventClosed: c leaves the tables
				s.toListener(now, l, id)
				return
			}
		}
		c.tcp.Input(now, rx)
		s.markDirty(&c.entry)
		return
	}
	if t := s.lookupTuple(id); t != nil {
		s.muxInput(now, t, id)
		return
	}
	if l := s.listenerAt(dst, rx.DstPort); l != nil {
		s.toListener(now, l, id)
		return
	}
	// RFC 9293 §3.10.7.1: no connection: answer with a RST.
	s.stats.NoPort++
	if r, ok := tcp.ResetFor(rx); ok {
		if s.reply(id, &r) {
			s.stats.ResetsSent++
		}
	}
}

// lookup returns the connection of id, or nil. The last connection found
// is remembered, since segments come in trains.
func (s *Stack) lookup(id tcp.ConnID) *Conn {
	if c := s.lastConn; c != nil && c.tcp.ID() == id {
		return c
	}
	c := s.conns[id]
	if c != nil {
		s.lastConn = c
	}
	return c
}

// toListener hands s.rx, for connection id, to listener l.
func (s *Stack) toListener(now time.Time, l *Listener, id tcp.ConnID) {
	if l.muxIn != nil {
		s.toMuxListener(now, l, id)
		return
	}
	rx := &s.rx
	nic, _, err := s.Route(id.Remote.Addr(), id.Local.Addr())
	if err != nil {
		s.stats.DroppedNoRoute++
		return
	}
	mss := mtuMSS(nic, id.Remote.Addr().Is6())
	// Our NIC cannot carry segments larger than its MTU allows: lower the
	// peer's MSS to that before the engine takes it (RFC 9293 §3.7.1,
	// the effective send MSS is bounded by our own MTU too).
	if rx.Flags&tcp.FlagSYN != 0 && rx.Options.HasMSS && mss > 0 && int(rx.Options.MSS) > mss {
		rx.Options.MSS = uint16(mss)
	}
	tc, r, hasReply := l.tl.Input(now, id, rx)
	if tc != nil {
		c := &Conn{s: s, tcp: tc, nic: nic, mss: mss, parent: l, onEvent: l.onEvent}
		c.entry = entry{conn: c, heapIx: -1}
		s.register(c)
		l.children = append(l.children, c)
		s.stats.PassiveOpens++
		s.markDirty(&c.entry)
	}
	if hasReply && s.emit(nic, id.Local.Addr(), id.Remote.Addr(), &r, 0, 0) {
		s.stats.ListenerResets++
	}
}

// reply sends a segment that belongs to no connection (a RST) for id.
func (s *Stack) reply(id tcp.ConnID, seg *tcp.Segment) bool {
	nic, _, err := s.Route(id.Remote.Addr(), id.Local.Addr())
	if err != nil {
		s.stats.DroppedNoRoute++
		return false
	}
	return s.emit(nic, id.Local.Addr(), id.Remote.Addr(), seg, 0, 0)
}
