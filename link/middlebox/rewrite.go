package middlebox

import (
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// RewriterConfig selects the segments a Rewriter changes.
type RewriterConfig struct {
	// Skip is the number of TCP segments with payload passed unchanged
	// before rewriting starts.
	Skip int
	// Count bounds the segments rewritten after that (0: every one).
	Count int
}

// RewriterStats counts what a Rewriter did.
type RewriterStats struct {
	DataSegments uint64 // TCP segments with payload seen
	Rewritten    uint64 // segments whose payload was changed
}

// Rewriter is a Middleware that changes the payload of TCP segments and
// fixes their checksum, as application-level gateways that rewrite
// addresses in payloads do: TCP accepts the segment, and only MPTCP's DSS
// checksum (RFC 8684 §3.3.1) can tell, which then triggers MP_FAIL and
// the fallback of §3.7. It inverts the first payload byte of each segment
// it selects. Segments whose checksum does not verify on arrival are
// passed unchanged, so they stay detectably corrupted.
type Rewriter struct {
	cfg   RewriterConfig
	stats RewriterStats
}

var _ link.Middleware = (*Rewriter)(nil)

// NewRewriter returns a Rewriter.
func NewRewriter(cfg RewriterConfig) *Rewriter { return &Rewriter{cfg: cfg} }

// Stats returns the counters.
func (r *Rewriter) Stats() RewriterStats { return r.stats }

// Process rewrites pkt in place when it is selected, and emits it.
func (r *Rewriter) Process(_ time.Time, pkt []byte, out link.Emitter) {
	r.rewrite(pkt)
	out.Emit(pkt)
}

func (r *Rewriter) rewrite(pkt []byte) {
	p, ok := parse(pkt)
	if !ok {
		return
	}
	t, ok := p.tcp()
	if !ok || len(t.Payload()) == 0 {
		return
	}
	r.stats.DataSegments++
	if r.stats.DataSegments <= uint64(r.cfg.Skip) {
		return
	}
	if r.cfg.Count > 0 && r.stats.Rewritten >= uint64(r.cfg.Count) {
		return
	}
	if !wire.TCPChecksumValid(p.src, p.dst, p.l4) {
		return
	}
	t.Payload()[0] ^= 0xff
	t.SetChecksum(p.src, p.dst)
	r.stats.Rewritten++
}

// Poll does nothing: a Rewriter holds no packets.
func (r *Rewriter) Poll(time.Time, link.Emitter) {}

// Deadline is always zero.
func (r *Rewriter) Deadline() time.Time { return time.Time{} }
