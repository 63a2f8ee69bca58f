package middlebox

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// SeqRandomizer is a Middleware that, like firewalls that randomise initial
// sequence numbers, adds a random offset to the sequence numbers of each
// TCP flow direction and subtracts it from the acknowledgment numbers and
// SACK blocks (RFC 2018 §3) going the other way, so that both ends keep
// working in their own sequence spaces. The offsets of a flow are drawn
// when its first segment is seen, from a generator seeded by NewSeqRandomizer;
// flows are never forgotten. Place one SeqRandomizer on both directions of
// a path. Timestamps and MPTCP's data-level numbers are left alone (DSS
// subflow sequence numbers are relative to the subflow's initial sequence
// number, RFC 8684 §3.3.1, and so are unaffected).
type SeqRandomizer struct {
	rng   *rand.Rand
	flows map[flowKey]*[2]uint32 // offsets for the a→b and b→a directions
	stats SeqRandomizerStats
}

// SeqRandomizerStats counts what a SeqRandomizer did.
type SeqRandomizerStats struct {
	Flows    uint64 // flows seen
	Segments uint64 // segments rewritten
}

var _ link.Middleware = (*SeqRandomizer)(nil)

// NewSeqRandomizer returns a SeqRandomizer whose offsets come from a PCG
// generator seeded with seed.
func NewSeqRandomizer(seed uint64) *SeqRandomizer {
	return &SeqRandomizer{rng: rand.New(rand.NewPCG(seed, 0x5eb5eb5eb5eb5eb5)), flows: map[flowKey]*[2]uint32{}}
}

// Stats returns the counters.
func (r *SeqRandomizer) Stats() SeqRandomizerStats { return r.stats }

// Offsets returns the offsets applied to the sequence numbers sent from src
// to dst and from dst to src, if the flow has been seen.
func (r *SeqRandomizer) Offsets(src, dst netip.AddrPort) (fwd, rev uint32, ok bool) {
	k, f := flowOf(wire.IPProtocolTCP, src, dst)
	o, ok := r.flows[k]
	if !ok {
		return 0, 0, false
	}
	if f {
		return o[0], o[1], true
	}
	return o[1], o[0], true
}

// Process rewrites pkt in place and emits it.
func (r *SeqRandomizer) Process(_ time.Time, pkt []byte, out link.Emitter) {
	r.rewrite(pkt)
	out.Emit(pkt)
}

func (r *SeqRandomizer) rewrite(pkt []byte) {
	p, ok := parse(pkt)
	if !ok {
		return
	}
	t, ok := p.tcp()
	if !ok {
		return
	}
	src := netip.AddrPortFrom(p.src, t.SrcPort())
	dst := netip.AddrPortFrom(p.dst, t.DstPort())
	k, fwd := flowOf(wire.IPProtocolTCP, src, dst)
	o := r.flows[k]
	if o == nil {
		o = &[2]uint32{r.rng.Uint32(), r.rng.Uint32()}
		r.flows[k] = o
		r.stats.Flows++
	}
	out, back := o[0], o[1]
	if !fwd {
		out, back = back, out
	}
	r.stats.Segments++
	put32(t, 4, t.Seq()+out) // RFC 9293 §3.1: Sequence Number
	if t.Flags().Has(wire.FlagACK) {
		put32(t, 8, t.Ack()-back) // Acknowledgment Number
	}
	it := wire.NewOptionIter(t.Options())
	off := wire.TCPMinHeaderLen
	for kind, opt, ok := it.Next(); ok; kind, opt, ok = it.Next() {
		if kind == wire.OptionKindSACK {
			// RFC 2018 §3: kind, length, then left and right edges.
			for e := 2; e+4 <= len(opt); e += 4 {
				put32(t, off+e, binary.BigEndian.Uint32(opt[e:])-back)
			}
		}
		off += len(opt)
	}
}

// Poll does nothing.
func (r *SeqRandomizer) Poll(time.Time, link.Emitter) {}

// Deadline returns the zero Time.
func (r *SeqRandomizer) Deadline() time.Time { return time.Time{} }
