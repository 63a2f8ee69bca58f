package sim

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// maxSuper is the largest super-packet an interface takes with
// Config.Offload: the largest IP packet.
const maxSuper = 65535

// SuperReceiver is a link.Node that takes super-packets whole, as a host
// whose NIC coalesces consecutive TCP segments (Linux's GRO) hands them to
// its stack: pkt is an IPv4 or IPv6 packet with a TCP segment whose payload
// is that of consecutive segments of gso bytes each but the last, with the
// first one's headers and options (PSH if any had it). Its IPv4 header
// checksum is right; its TCP checksum field holds the pseudo-header sum,
// as Linux leaves a packet it coalesced (CHECKSUM_PARTIAL), and its
// payload is intact: only links that change no byte carry a super-packet
// whole. stack.Stack is one. With Config.Offload a host gives its Node a
// super-packet that crossed a link whole through ReceiveSuper if the Node
// is a SuperReceiver, and in segments otherwise.
type SuperReceiver interface {
	link.Node
	ReceiveSuper(now time.Time, nic link.NIC, pkt []byte, gso int)
}

// GSOMax implements stack.SegmentOffloader: with Config.Offload, the
// interface of a host whose link direction has no middleware takes
// super-packets of up to 65,535 bytes; otherwise none (0), and segments go
// one by one to Send.
func (i *Interface) GSOMax() int {
	if !i.net.offload || i.host == nil || i.out == nil || !i.out.plain {
		return 0
	}
	return maxSuper
}

// SendGSO implements stack.SegmentOffloader: pkt, a TCP super-packet, enters
// the link as the segments of mss payload bytes (the last may be shorter)
// that it stands for. Where the link carries them alike (see
// Config.Offload), it does so as one super-packet, its TCP checksum field
// left as the Stack gave it (the pseudo-header sum: nothing on such a path
// can change a byte, and a receiver's GRO leaves a coalesced packet so,
// CHECKSUM_PARTIAL); otherwise the interface cuts pkt into its segments,
// each with its checksums computed, and sends each. pkt is borrowed until
// SendGSO returns.
func (i *Interface) SendGSO(pkt []byte, mss int) error {
	sp, ok := parseSuper(pkt, mss)
	if !ok {
		return i.send(pkt, false) // not one: a packet as it is
	}
	if !i.Up() || i.out.mtu > 0 && sp.hl+sp.gso > i.out.mtu {
		return i.sendSegments(sp, pkt)
	}
	if i.host != nil {
		i.host.stats.Sent += uint64(sp.segs)
	}
	i.out.inputSuper(pkt, sp)
	return nil
}

// sendSegments sends the segments of pkt one by one.
func (i *Interface) sendSegments(sp super, pkt []byte) error {
	var err error
	i.net.segment(pkt, sp, func(seg []byte) {
		if e := i.send(seg, true); e != nil && err == nil {
			err = e
		}
	})
	return err
}

// super describes a super-packet: hl bytes of IP and TCP headers, then
// payload bytes that are segs segments of gso bytes each but the last,
// which take wire bytes on a link.
type super struct {
	iphl, hl           int
	payload, gso, segs int
	wire               int
}

// parseSuper checks that pkt is an IPv4 or IPv6 packet (without extension
// headers), not a fragment, holding a complete TCP segment with a payload,
// and describes it as a super-packet of gso-byte segments (one segment if
// gso is larger than the payload).
func parseSuper(pkt []byte, gso int) (super, bool) {
	var sp super
	if len(pkt) == 0 || gso < 1 {
		return sp, false
	}
	var l4 []byte
	switch pkt[0] >> 4 {
	case 4:
		ip := wire.IPv4(pkt)
		if ip.Check() != nil || ip.MoreFragments() || ip.FragmentOffset() != 0 || ip.Protocol() != wire.IPProtocolTCP ||
			ip.TotalLen() != len(pkt) {
			return sp, false
		}
		sp.iphl, l4 = ip.HeaderLen(), ip.Payload()
	case 6:
		ip := wire.IPv6(pkt)
		if ip.Check() != nil || ip.NextHeader() != wire.IPProtocolTCP || wire.IPv6HeaderLen+ip.PayloadLen() != len(pkt) {
			return sp, false
		}
		sp.iphl, l4 = wire.IPv6HeaderLen, ip.Payload()
	default:
		return sp, false
	}
	t := wire.TCP(l4)
	if t.Check() != nil || len(t.Payload()) == 0 {
		return sp, false
	}
	sp.hl = sp.iphl + t.HeaderLen()
	sp.payload, sp.gso = len(t.Payload()), min(gso, len(t.Payload()))
	sp.segs = (sp.payload + sp.gso - 1) / sp.gso
	sp.wire = sp.segs*sp.hl + sp.payload
	return sp, true
}

// segment cuts pkt, described by sp, into its segments, as a NIC with TCP
// segmentation offload does (see stack.SegmentOffloader): each has pkt's
// headers with its own sequence number and lengths, the IPv4
// Identification of pkt's plus its position, PSH and FIN only on the last,
// CWR only on the first, and its checksums computed. Each is borrowed by
// f until f returns.
func (n *Network) segment(pkt []byte, sp super, f func(seg []byte)) {
	// The buffer is n's while no other segment runs: f may send a
	// super-packet that is cut in turn.
	buf := n.segBuf
	n.segBuf = nil
	if cap(buf) < sp.hl+sp.gso {
		buf = make([]byte, sp.hl+sp.gso)
	}
	defer func() { n.segBuf = buf }()
	t0 := wire.TCP(pkt[sp.iphl:sp.hl])
	seq0, flags := t0.Seq(), t0.Flags()
	v4 := pkt[0]>>4 == 4
	var (
		src, dst netip.Addr
		id       uint16
	)
	if v4 {
		ip := wire.IPv4(pkt)
		src, dst, id = ip.Src(), ip.Dst(), ip.ID()
	} else {
		ip := wire.IPv6(pkt)
		src, dst = ip.Src(), ip.Dst()
	}
	for k := range sp.segs {
		off := k * sp.gso
		size := min(sp.gso, sp.payload-off)
		seg := buf[:sp.hl+size]
		copy(seg, pkt[:sp.hl])
		copy(seg[sp.hl:], pkt[sp.hl+off:sp.hl+off+size])
		if v4 {
			ip := wire.IPv4(seg)
			ip.SetTotalLen(uint16(len(seg)))
			ip.SetID(id + uint16(k))
			ip.SetChecksum()
		} else {
			binary.BigEndian.PutUint16(seg[4:6], uint16(len(seg)-wire.IPv6HeaderLen)) // Payload Length
		}
		t := wire.TCP(seg[sp.iphl:])
		t.SetSeq(seq0 + uint32(off))
		fl := flags
		if k < sp.segs-1 {
			fl &^= wire.FlagPSH | wire.FlagFIN
		}
		if k > 0 {
			fl &^= wire.FlagCWR
		}
		t.SetFlags(fl)
		t.SetChecksum(src, dst)
		f(seg)
	}
}

// inputSuper feeds a super-packet into the direction: whole if its
// impairer takes it so (impair.Impairer.ProcessSuperAt), otherwise as its
// segments, each with its checksums computed.
func (d *Dir) inputSuper(pkt []byte, sp super) {
	if d.plain && !d.busy && (d.mtu == 0 || sp.hl+sp.gso <= d.mtu) &&
		d.imp.ProcessSuperAt(time.Duration(d.net.now-d.origin), pkt, sp.gso, sp.segs, sp.wire) {
		d.reschedule()
		return
	}
	d.net.segment(pkt, sp, func(seg []byte) { d.input(seg, true) })
}

// EmitSuper delivers a super-packet that left the direction whole to the
// far interface (impair.SuperEmitter).
func (d *Dir) EmitSuper(pkt []byte, gso int) { d.to.receiveSuper(pkt, gso) }

// receiveSuper handles a super-packet arriving at the interface whole.
func (i *Interface) receiveSuper(pkt []byte, gso int) {
	sp, ok := parseSuper(pkt, gso)
	if !ok {
		return // cannot be: parseSuper accepted it when it entered
	}
	switch {
	case i.host != nil:
		i.host.receiveSuper(i, pkt, sp)
	case i.router != nil:
		i.router.forwardSuper(i, pkt, sp)
	}
}

// receiveSuper is receive for a super-packet: a SuperReceiver Node gets it
// whole, any other its segments, in one batch if it is a link.Batcher.
// There is nothing to verify: a super-packet crosses only links that change
// no byte, and routers, which check and update its IPv4 header.
func (h *Host) receiveSuper(i *Interface, pkt []byte, sp super) {
	sr, whole := h.node.(SuperReceiver)
	if !whole {
		b, batch := h.node.(link.Batcher)
		if batch {
			b.StartBatch()
		}
		h.net.segment(pkt, sp, func(seg []byte) { h.receive(i, seg, true) })
		if batch {
			b.EndBatch(h.net.Now())
			h.refresh()
		}
		return
	}
	if !h.owns(checkedDst(pkt)) {
		h.stats.DroppedNotLocal += uint64(sp.segs)
		return
	}
	h.stats.Received += uint64(sp.segs)
	sr.ReceiveSuper(h.net.Now(), i, pkt, sp.gso)
	h.refresh()
}

// forwardSuper is forward for a super-packet: it goes on whole where the
// next link takes it so.
func (r *Router) forwardSuper(in *Interface, pkt []byte, sp super) {
	if pkt[0]>>4 == 4 && !wire.IPv4(pkt).ChecksumValid() {
		r.stats.BadChecksum += uint64(sp.segs)
		return
	}
	dst := checkedDst(pkt)
	if r.owns(dst) {
		r.stats.Local += uint64(sp.segs)
		return
	}
	out := r.Lookup(dst)
	if out == nil || out.out == nil {
		r.stats.NoRoute += uint64(sp.segs)
		return
	}
	if !decrementHopLimit(pkt) {
		r.stats.TTLExceeded += uint64(sp.segs)
		return
	}
	r.stats.Forwarded += uint64(sp.segs)
	out.out.inputSuper(pkt, sp) // in segments if the link is down, each counted as dropped
}
