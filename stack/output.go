package stack

import (
	"net/netip"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// send transmits a segment of c.
func (s *Stack) send(c *Conn, seg *tcp.Segment) {
	s.emit(c.nic, c.id.Local.Addr(), c.id.Remote.Addr(), seg, c.mss)
}

// emit builds the IP packet of seg from src to dst in s.out and sends it
// through nic. The payload is expected at s.out[headroom:] (where Poll
// writes it) and copied there otherwise; the TCP and IP headers are
// written right in front of it. mss, if positive, clamps the MSS option of
// a SYN. It reports whether the NIC took the packet.
func (s *Stack) emit(nic link.NIC, src, dst netip.Addr, seg *tcp.Segment, mss int) bool {
	n := len(seg.Payload)
	if n > maxPayload-wire.IPv6HeaderLen-wire.TCPMaxHeaderLen {
		s.stats.DroppedTooBig++
		return false
	}
	if n > 0 && &seg.Payload[0] != &s.out[headroom] {
		copy(s.out[headroom:], seg.Payload)
	}
	if seg.Flags&tcp.FlagSYN != 0 && seg.Options.HasMSS && mss > 0 && int(seg.Options.MSS) > mss {
		seg.Options.MSS = uint16(mss) // RFC 9293 §3.7.1: MSS from the MTU
	}
	h := &s.txHdr
	h.SrcPort, h.DstPort = seg.SrcPort, seg.DstPort
	h.Seq, h.Ack = seg.Seq, seg.Ack
	h.Flags = wire.TCPFlags(seg.Flags)
	h.Window = seg.Window
	h.Urgent = 0
	h.Options = seg.Options
	iphl := wire.IPv4MinHeaderLen
	if dst.Is6() {
		iphl = wire.IPv6HeaderLen
	}
	tl := h.Len()
	if mtu := nic.MTU(); mtu > 0 {
		// SACK blocks on a full-sized data segment can push it past the
		// MTU; they are advisory (RFC 2018 §4: as many as fit), so they
		// give way before the payload does.
		for iphl+tl+n > mtu && h.Options.NumSACKBlocks > 0 {
			h.Options.NumSACKBlocks--
			tl = h.Len()
			s.stats.SACKBlocksTrimmed++
		}
	}
	start := headroom - tl - iphl
	b := s.out[start:start]
	if dst.Is6() {
		s.ip6 = wire.IPv6Header{
			PayloadLen: tl + n,
			NextHeader: wire.IPProtocolTCP,
			HopLimit:   s.ttl,
			Src:        src,
			Dst:        dst,
		}
		b = s.ip6.Append(b)
	} else {
		s.ip4 = wire.IPv4Header{
			ID:           s.nextIPID(),
			DontFragment: true, // nothing fragments: the MSS fits the MTU
			TTL:          s.ttl,
			Protocol:     wire.IPProtocolTCP,
			Src:          src,
			Dst:          dst,
			PayloadLen:   tl + n,
		}
		b = s.ip4.Append(b)
	}
	h.Append(b)
	pkt := s.out[start : headroom+n]
	wire.TCP(pkt[iphl:]).SetChecksum(src, dst)
	if mtu := nic.MTU(); mtu > 0 && len(pkt) > mtu {
		s.stats.DroppedTooBig++
		return false
	}
	if err := nic.Send(pkt); err != nil {
		s.stats.SendErrors++
		return false
	}
	s.stats.SegmentsOut++
	return true
}
