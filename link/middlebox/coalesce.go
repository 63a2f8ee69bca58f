package middlebox

import (
	"bytes"
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// CoalescerConfig configures a Coalescer.
type CoalescerConfig struct {
	// MaxSize is the largest IP packet the Coalescer builds, in bytes;
	// 0 means 65535.
	MaxSize int
	// Hold is how long a segment waits for a follower to merge with. With
	// 0 only segments that arrive at the same instant are merged.
	Hold time.Duration
	// AnyOptions merges segments even when their TCP options differ,
	// keeping the options of the first: like a middlebox that coalesces
	// without regard to options, which loses MPTCP DSS mappings (RFC 8684
	// §3.3 must cope with it). Without it, options must be identical, as
	// receive offload engines require.
	AnyOptions bool
}

// CoalescerStats counts what a Coalescer did.
type CoalescerStats struct {
	Merged  uint64 // segments appended to an earlier one
	Emitted uint64 // segments built from two or more
}

// Coalescer is a Middleware that merges consecutive TCP data segments of a
// flow direction into larger ones, like receive offload (GRO/LRO) or a
// proxy. A data segment with only ACK (and perhaps PSH) set is held for up
// to Hold; a following segment of the same flow direction is appended to
// it if its sequence number continues it, its acknowledgment number and
// window are equal, its options are equal (unless AnyOptions), and the
// result fits MaxSize. Anything else of that flow first releases what is
// held, so the order within a flow is kept. IPv6 packets with extension
// headers, segments whose checksums do not verify, and non-TCP packets
// pass unchanged.
type Coalescer struct {
	cfg   CoalescerConfig
	held  []*heldSegment // in the order they were started
	spare []*heldSegment // recycled
	bufs  buffers
	stats CoalescerStats
}

type heldSegment struct {
	src, dst netip.AddrPort
	buf      []byte
	v6       bool
	l4off    int
	since    time.Time
	merged   int // segments appended
}

var _ link.Middleware = (*Coalescer)(nil)

// NewCoalescer returns a Coalescer for cfg.
func NewCoalescer(cfg CoalescerConfig) *Coalescer {
	if cfg.MaxSize <= 0 || cfg.MaxSize > 65535 {
		cfg.MaxSize = 65535
	}
	cfg.Hold = max(cfg.Hold, 0)
	return &Coalescer{cfg: cfg}
}

// Stats returns the counters.
func (c *Coalescer) Stats() CoalescerStats { return c.stats }

// Process merges pkt into a held segment, holds it, or emits it.
func (c *Coalescer) Process(now time.Time, pkt []byte, out link.Emitter) {
	p, ok := parse(pkt)
	if !ok {
		out.Emit(pkt)
		return
	}
	t, ok := p.tcp()
	if !ok {
		out.Emit(pkt)
		return
	}
	src := netip.AddrPortFrom(p.src, t.SrcPort())
	dst := netip.AddrPortFrom(p.dst, t.DstPort())
	i := slices.IndexFunc(c.held, func(h *heldSegment) bool { return h.src == src && h.dst == dst })
	eligible := t.Flags()&^wire.FlagPSH == wire.FlagACK && len(t.Payload()) > 0 &&
		(!p.v6 || p.l4off == wire.IPv6HeaderLen) && p.checksumsOK()
	if i >= 0 {
		h := c.held[i]
		if eligible && c.merge(h, &p, t) {
			return
		}
		c.release(i, out)
	}
	if !eligible {
		out.Emit(pkt)
		return
	}
	end := p.l4off + len(p.l4) // drop link-layer padding
	var h *heldSegment
	if n := len(c.spare); n > 0 {
		h, c.spare = c.spare[n-1], c.spare[:n-1]
	} else {
		h = new(heldSegment)
	}
	*h = heldSegment{src: src, dst: dst, v6: p.v6, l4off: p.l4off, since: now}
	h.buf = append(c.bufs.get(end), pkt[:end]...)
	c.held = append(c.held, h)
}

// merge appends the segment t of p to h if the rules allow.
func (c *Coalescer) merge(h *heldSegment, p *packet, t wire.TCP) bool {
	ht := wire.TCP(h.buf[h.l4off:])
	data := t.Payload()
	if p.v6 != h.v6 || t.Seq() != ht.Seq()+uint32(len(ht.Payload())) || t.Ack() != ht.Ack() ||
		t.Window() != ht.Window() || len(h.buf)+len(data) > c.cfg.MaxSize ||
		!c.cfg.AnyOptions && !bytes.Equal(t.Options(), ht.Options()) {
		return false
	}
	h.buf = append(h.buf, data...)
	ht = wire.TCP(h.buf[h.l4off:])
	ht.SetFlags(ht.Flags() | t.Flags()&wire.FlagPSH)
	h.merged++
	c.stats.Merged++
	return true
}

// release emits held segment i and forgets it.
func (c *Coalescer) release(i int, out link.Emitter) {
	h := c.held[i]
	c.held = slices.Delete(c.held, i, i+1)
	if h.merged > 0 {
		setLength(h.buf, h.v6, len(h.buf))
		src, dst := h.src.Addr(), h.dst.Addr()
		wire.TCP(h.buf[h.l4off:]).SetChecksum(src, dst)
		c.stats.Emitted++
	}
	out.Emit(h.buf)
	c.bufs.put(h.buf)
	*h = heldSegment{}
	c.spare = append(c.spare, h)
}

// Poll releases the segments held for Hold by now, oldest first.
func (c *Coalescer) Poll(now time.Time, out link.Emitter) {
	for i := 0; i < len(c.held); {
		if c.held[i].since.Add(c.cfg.Hold).After(now) {
			i++
			continue
		}
		c.release(i, out)
	}
}

// Deadline returns when the oldest held segment is due.
func (c *Coalescer) Deadline() time.Time {
	if len(c.held) == 0 {
		return time.Time{}
	}
	return c.held[0].since.Add(c.cfg.Hold) // held[0] started first
}
