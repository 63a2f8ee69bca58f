package stack

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// SegmentOffloader is implemented by NICs with TCP segmentation offload
// (TSO, Linux's GSO): one packet of many segments' payload goes to the NIC,
// which cuts it into segments. A Stack that sends several segments of a
// connection in a row through such a NIC (one burst of its congestion
// window) hands them over as one packet: one call, and with link/tun one
// system call, instead of one per segment.
type SegmentOffloader interface {
	// GSOMax is the size of the largest packet SendGSO takes now, or 0
	// when it takes none (a middleware that must see every packet, say):
	// segments then go one by one to Send.
	GSOMax() int
	// SendGSO sends pkt, an IPv4 or IPv6 packet with a TCP segment whose
	// payload is longer than mss, as segments of mss payload bytes (the
	// last one may be shorter), each with pkt's headers and TCP options,
	// its own sequence number, lengths and checksums, and the IPv4
	// Identification of pkt incremented by one for each segment after
	// the first. PSH is on the last segment only (FIN and CWR are never
	// given). pkt's IPv4 header checksum is complete; its TCP checksum
	// field holds the sum of the pseudo-header (RFC 9293 §3.1, with the
	// length of pkt's whole TCP segment) folded to 16 bits and not
	// complemented, as Linux's CHECKSUM_PARTIAL expects. pkt is borrowed
	// until SendGSO returns.
	SendGSO(pkt []byte, mss int) error
}

// gsoPacket gathers consecutive segments of one connection for a
// SegmentOffloader: equal headers and options but for the sequence number,
// every segment's payload mss bytes but the last's, PSH on any of them
// set on the packet (the NIC sets it on the last segment). Only flush gathers
// (the segments of a burst); it sends what it gathered before it returns,
// and a segment that does not fit sends it at once, so that no packet
// ever overtakes another.
type gsoPacket struct {
	buf      []byte // headroom + maxPayload; the IP header starts at start, the payload at headroom
	start    int
	iphl, tl int
	n        int // payload bytes
	segs     int
	mss      int // payload bytes of each segment but the last
	nic      link.NIC
	off      SegmentOffloader
	max      int // bytes: the NIC's GSOMax
	src, dst netip.Addr
	tos      uint8
	ipID     uint16 // IPv4 Identification of the first segment
	full     bool   // the last segment was short: nothing more
	limit    int    // segments at most (tcp.Conn.TSOSegs), 0 for no limit
}

// A connection's segments of a given payload size go out in a super-packet
// only once one of at least that size has gone alone (Conn.solo,
// muxTuple.solo), so that the receiver's first full-sized segment is an
// ordinary packet. Without that, Linux 6.18's MPTCP could deadlock: with
// two subflows busy both ways, interop's TestLarge stalled in 6 of 24 runs
// (and TestSegmentationOffload once, with super-packets only before its
// second subflow joined). `ss -tmM` showed the connection socket in
// FIN-WAIT-2 with 135,424 bytes of receive memory against a 131,072-byte
// buffer, its next expected data sequence number inside the mapping of a
// subflow that held 17,832 bytes unread: out-of-order data had filled the
// connection's memory, and the in-order data that would fill the hole was
// never moved up from the subflow. Linux derives the ratio of payload to
// memory it assumes when it sizes the receive window from the first
// segment of each larger size it receives (tcp_measure_rcv_mss); from a
// super-packet the ratio is far better than that of the packets that
// follow, so the window it then offers lets out-of-order data take more
// memory than the buffer holds. With the first segment of each size alone,
// 194 runs of TestLarge (30 under the race detector) and whole interop
// suites passed with super-packets on every subflow.

// gsoStart begins gathering with seg, whose packet pkt (IP header of iphl
// bytes, TCP header of tl) emit just built, when seg can be followed by
// more of its connection's segments in one packet for nic. It reports
// whether it took seg.
func (s *Stack) gsoStart(nic link.NIC, src, dst netip.Addr, seg *tcp.Segment, tos uint8, pkt []byte, iphl, tl int) bool {
	if !s.flushing || seg.Flags&^tcp.FlagPSH != tcp.FlagACK {
		return false
	}
	n := len(seg.Payload)
	if s.solo == nil || n > *s.solo {
		// Segments of this size go in a super-packet only once one has
		// gone alone (see the comment above).
		if s.solo != nil {
			*s.solo = n
		}
		return false
	}
	s.offloader(nic)
	off := s.txGSO
	if off == nil {
		return false
	}
	max := off.GSOMax()
	if max < len(pkt)+n {
		return false
	}
	g := &s.gso
	if g.buf == nil {
		g.buf = make([]byte, headroom+maxPayload)
	}
	g.start = headroom - iphl - tl
	copy(g.buf[g.start:], pkt)
	g.iphl, g.tl, g.n, g.segs, g.mss = iphl, tl, n, 1, n
	g.nic, g.off, g.max = nic, off, max
	g.src, g.dst, g.tos = src, dst, tos
	g.full = false
	switch {
	case s.tsoConn != nil:
		g.limit = s.tsoConn.TSOSegs()
	case s.tsoMux != nil:
		g.limit = s.tsoMux.TSOSegs(s.tsoID)
	default:
		g.limit = 0
	}
	if !dst.Is6() {
		g.ipID = wire.IPv4(pkt).ID()
	}
	return true
}

// gsoTake adds seg to the gathered packet if it continues it.
func (s *Stack) gsoTake(nic link.NIC, src, dst netip.Addr, seg *tcp.Segment, tos uint8) bool {
	g := &s.gso
	n := len(seg.Payload)
	if g.full || g.limit > 0 && g.segs >= g.limit || nic != g.nic || src != g.src || dst != g.dst || tos != g.tos || n == 0 || n > g.mss ||
		seg.Flags&^tcp.FlagPSH != tcp.FlagACK || headroom+g.n+n-g.start > g.max {
		return false
	}
	t := wire.TCP(g.buf[g.start+g.iphl : headroom])
	if seg.Seq != t.Seq()+uint32(g.n) || seg.Ack != t.Ack() || seg.Window != t.Window() ||
		seg.SrcPort != t.SrcPort() || seg.DstPort != t.DstPort() {
		return false
	}
	if !bytes.Equal(seg.Options.Append(s.opts[:0]), t[wire.TCPMinHeaderLen:]) {
		return false
	}
	copy(g.buf[headroom+g.n:], seg.Payload)
	g.n += n
	g.segs++
	if seg.Flags&tcp.FlagPSH != 0 {
		// PSH goes on the last segment (RFC 9293 §3.9.1: it asks
		// for delivery of what precedes it as well).
		t.SetFlags(t.Flags() | wire.TCPFlags(tcp.FlagPSH))
	}
	g.full = n < g.mss
	return true
}

// gsoSend sends the gathered packet: as it is if it holds one segment,
// else through SendGSO.
func (s *Stack) gsoSend() {
	g := &s.gso
	pkt := g.buf[g.start : headroom+g.n]
	segs, nic, gsoff := g.segs, g.nic, g.off
	g.segs, g.nic, g.off = 0, nil, nil
	t := wire.TCP(pkt[g.iphl:])
	var err error
	if segs == 1 {
		err = s.sendPacket(nic, pkt, t, g.src, g.dst)
	} else {
		if g.dst.Is6() {
			wire.IPv6(pkt).SetPayloadLen(uint16(len(pkt) - g.iphl))
		} else {
			s.ipv4HeaderID(pkt, g.src, g.dst, uint16(len(pkt)), g.tos, g.ipID)
			for range segs - 1 {
				s.nextIPID() // the NIC numbers the segments on
			}
		}
		sum := wire.PseudoHeaderSum(wire.IPProtocolTCP, g.src, g.dst, len(pkt)-g.iphl)
		binary.BigEndian.PutUint16(t[16:18], ^wire.ChecksumFold(sum)) // the checksum field (RFC 9293 §3.1)
		err = gsoff.SendGSO(pkt, g.mss)
	}
	if err != nil {
		s.stats.SegmentsOut -= uint64(segs)
		s.stats.SendErrors += uint64(segs)
	}
}
