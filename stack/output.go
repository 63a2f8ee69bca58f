package stack

import (
	"encoding/binary"
	"net/netip"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// ChecksumOffloader is implemented by NICs with transmit checksum
// offload: SendOffload is NIC.Send for a packet whose TCP checksum the NIC
// computes and writes into the packet (RFC 9293 §3.1, over the
// pseudo-header of the packet's own addresses), as a NIC does for the
// packets its driver marks so (Linux's CHECKSUM_PARTIAL). The Stack leaves
// the TCP checksums of the packets it sends through such a NIC to the NIC.
// link/sim's interfaces are ChecksumOffloaders: a checksum the simulator
// computes itself is computed once, not once to send and once more to
// verify.
type ChecksumOffloader interface {
	SendOffload(pkt []byte) error
}

// offloader returns nic as a ChecksumOffloader, or nil, and keeps it as a
// SegmentOffloader in s.txGSO (or nil). The answer for the
// NIC used last is kept: a type assertion to an interface is not free.
func (s *Stack) offloader(nic link.NIC) ChecksumOffloader {
	if nic != s.txNIC {
		s.txNIC = nic
		s.txOff, _ = nic.(ChecksumOffloader)
		s.txGSO, _ = nic.(SegmentOffloader)
	}
	return s.txOff
}

// ipv4Header writes the 20-byte IPv4 header of a TCP segment (RFC 791
// §3.1) at the start of pkt: DF set (nothing fragments: the MSS fits the
// MTU), the next Identification, the Stack's TTL, and the Header Checksum,
// computed from the field values rather than read back from the bytes
// just written. Their sum in 16-bit words is taken with the addresses as
// 32-bit words, the same sum modulo 0xffff (2^16 ≡ 1).
func (s *Stack) ipv4Header(pkt []byte, src, dst netip.Addr, total uint16, tos uint8) {
	s.ipv4HeaderID(pkt, src, dst, total, tos, s.nextIPID())
}

// ipv4HeaderID is ipv4Header with Identification id.
func (s *Stack) ipv4HeaderID(pkt []byte, src, dst netip.Addr, total uint16, tos uint8, id uint16) {
	const (
		verIHL = 4<<4 | wire.IPv4MinHeaderLen/4
		df     = 0x4000
	)
	s4, d4 := src.As4(), dst.As4()
	sa, da := binary.BigEndian.Uint32(s4[:]), binary.BigEndian.Uint32(d4[:])
	sum := uint64(verIHL)<<8 + uint64(tos) + uint64(total) + uint64(id) + df + uint64(s.ttl)<<8 + wire.IPProtocolTCP +
		uint64(sa) + uint64(da)
	h := pkt[:wire.IPv4MinHeaderLen]
	binary.BigEndian.PutUint32(h[0:4], uint32(verIHL)<<24|uint32(tos)<<16|uint32(total))
	binary.BigEndian.PutUint32(h[4:8], uint32(id)<<16|df) // fragment offset 0
	binary.BigEndian.PutUint32(h[8:12], uint32(s.ttl)<<24|uint32(wire.IPProtocolTCP)<<16|uint32(wire.ChecksumFold(sum)))
	binary.BigEndian.PutUint32(h[12:16], sa)
	binary.BigEndian.PutUint32(h[16:20], da)
}

// send transmits a segment of c.
func (s *Stack) send(c *Conn, seg *tcp.Segment) {
	s.solo, s.tsoConn = &c.solo, c.tcp
	s.emit(c.nic, c.tcp.ID().Local.Addr(), c.tcp.ID().Remote.Addr(), seg, c.mss, c.tos)
	s.solo, s.tsoConn = nil, nil
}

// emit builds the IP packet of seg from src to dst in s.out and sends it
// through nic. The payload is expected at s.out[headroom:] (where Poll
// writes it) and copied there otherwise; the TCP and IP headers are
// written right in front of it, straight from seg (whose SACK blocks may
// be trimmed to fit the MTU). mss, if positive, clamps the MSS option of a
// SYN; tos is the IPv4 Type of Service or IPv6 Traffic Class byte, whose
// DSCP part (RFC 2474) is used (the ECN bits, RFC 3168, are left zero). It
// reports whether the NIC took the packet.
func (s *Stack) emit(nic link.NIC, src, dst netip.Addr, seg *tcp.Segment, mss int, tos uint8) bool {
	tos &^= 3
	if s.gso.segs > 0 {
		if s.gsoTake(nic, src, dst, seg, tos) {
			s.stats.SegmentsOut++
			return true
		}
		s.gsoSend()
	}
	n := len(seg.Payload)
	if n > maxPayload-wire.IPv6HeaderLen-wire.TCPMaxHeaderLen {
		s.stats.DroppedTooBig++
		return false
	}
	if n > 0 && &seg.Payload[0] != &s.out[headroom] {
		copy(s.out[headroom:], seg.Payload)
	}
	o := &seg.Options
	if seg.Flags&tcp.FlagSYN != 0 && o.HasMSS && mss > 0 && int(o.MSS) > mss {
		o.MSS = uint16(mss) // RFC 9293 §3.7.1: MSS from the MTU
	}
	v6 := dst.Is6()
	iphl := wire.IPv4MinHeaderLen
	if v6 {
		iphl = wire.IPv6HeaderLen
	}
	// The options are encoded first, aside, which tells their length.
	opts := o.Append(s.opts[:0])
	tl := wire.TCPMinHeaderLen + len(opts)
	mtu := nic.MTU()
	if mtu > 0 {
		// SACK blocks on a full-sized data segment can push it past the
		// MTU; they are advisory (RFC 2018 §4: as many as fit), so they
		// give way before the payload does.
		for iphl+tl+n > mtu && o.NumSACKBlocks > 0 {
			o.NumSACKBlocks--
			opts = o.Append(s.opts[:0])
			tl = wire.TCPMinHeaderLen + len(opts)
			s.stats.SACKBlocksTrimmed++
		}
		if iphl+tl+n > mtu {
			if !v6 {
				s.nextIPID() // consumed as when the packet was built first
			}
			s.stats.DroppedTooBig++
			return false
		}
	}
	start := headroom - tl - iphl
	pkt := s.out[start : headroom+n]
	if v6 {
		ip := wire.IPv6(pkt)
		binary.BigEndian.PutUint32(pkt[0:4], 6<<28|uint32(tos)<<20) // version, traffic class; flow label 0
		ip.SetPayloadLen(uint16(tl + n))
		ip.SetNextHeader(wire.IPProtocolTCP)
		ip.SetHopLimit(s.ttl)
		ip.SetSrc(src)
		ip.SetDst(dst)
	} else {
		s.ipv4Header(pkt, src, dst, uint16(iphl+tl+n), tos)
	}
	t := wire.TCP(pkt[iphl:])
	t.SetSrcPort(seg.SrcPort)
	t.SetDstPort(seg.DstPort)
	t.SetSeq(seg.Seq)
	t.SetAck(seg.Ack)
	t[12] = uint8(tl/4) << 4 // Data Offset
	t.SetFlags(wire.TCPFlags(seg.Flags))
	t.SetWindow(seg.Window)
	t.SetUrgent(0)
	copy(t[wire.TCPMinHeaderLen:], opts)
	if n > 0 && s.gsoStart(nic, src, dst, seg, tos, pkt, iphl, tl) {
		s.stats.SegmentsOut++
		return true
	}
	if err := s.sendPacket(nic, pkt, t, src, dst); err != nil {
		s.stats.SendErrors++
		return false
	}
	s.stats.SegmentsOut++
	return true
}

// sendPacket hands nic the IP packet pkt of TCP segment t: as it is to a
// ChecksumOffloader, else with its TCP checksum filled in.
func (s *Stack) sendPacket(nic link.NIC, pkt []byte, t wire.TCP, src, dst netip.Addr) error {
	if off := s.offloader(nic); off != nil {
		return off.SendOffload(pkt)
	}
	t.SetChecksum(src, dst)
	return nic.Send(pkt)
}
