package middlebox

import (
	"encoding/binary"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// SplitterStats counts what a Splitter did.
type SplitterStats struct {
	Split  uint64 // segments split
	Pieces uint64 // segments emitted in their place
}

// Splitter is a Middleware that cuts TCP segments carrying more than
// MaxPayload bytes of data into segments of at most MaxPayload bytes, as
// a segmentation offload engine or a re-segmenting proxy does. Every piece
// repeats the IP header and the TCP header with its options; sequence
// numbers advance with the data; SYN stays on the first piece and FIN and
// PSH go to the last. Segments with URG set, or whose IPv4 header or TCP
// checksum does not verify, are passed unchanged.
type Splitter struct {
	max   int
	buf   []byte
	stats SplitterStats
}

var _ link.Middleware = (*Splitter)(nil)

// NewSplitter returns a Splitter that keeps at most maxPayload data bytes
// per segment. maxPayload is at least 1.
func NewSplitter(maxPayload int) *Splitter { return &Splitter{max: max(maxPayload, 1)} }

// Stats returns the counters.
func (s *Splitter) Stats() SplitterStats { return s.stats }

// Process emits pkt, or the pieces it is cut into.
func (s *Splitter) Process(_ time.Time, pkt []byte, out link.Emitter) {
	p, ok := parse(pkt)
	if !ok {
		out.Emit(pkt)
		return
	}
	t, ok := p.tcp()
	if !ok || len(t.Payload()) <= s.max || t.Flags().Has(wire.FlagURG) || !p.checksumsOK() {
		out.Emit(pkt)
		return
	}
	hdr := p.l4off + t.HeaderLen() // IP and TCP headers
	data := t.Payload()
	flags := t.Flags()
	seq := t.Seq()
	s.stats.Split++
	for first := true; len(data) > 0; first = false {
		n := min(len(data), s.max)
		last := n == len(data)
		s.buf = append(append(s.buf[:0], pkt[:hdr]...), data[:n]...)
		f := flags &^ (wire.FlagFIN | wire.FlagPSH | wire.FlagSYN)
		if first {
			f |= flags & wire.FlagSYN
		}
		if last {
			f |= flags & (wire.FlagFIN | wire.FlagPSH)
		}
		pt := wire.TCP(s.buf[p.l4off:])
		pt.SetSeq(seq)
		pt.SetFlags(f)
		setLength(s.buf, p.v6, len(s.buf))
		pt.SetChecksum(p.src, p.dst)
		out.Emit(s.buf)
		s.stats.Pieces++
		if first && flags.Has(wire.FlagSYN) {
			seq++ // the SYN occupies one sequence number (RFC 9293 §3.4)
		}
		seq += uint32(n)
		data = data[n:]
	}
}

// setLength sets the length field of the IP header at the start of b for a
// packet of n bytes, and the IPv4 header checksum.
func setLength(b []byte, v6 bool, n int) {
	if v6 {
		binary.BigEndian.PutUint16(b[4:], uint16(n-wire.IPv6HeaderLen)) // RFC 8200 §3: Payload Length
		return
	}
	ip := wire.IPv4(b)
	ip.SetTotalLen(uint16(n))
	ip.SetChecksum()
}

// Poll does nothing.
func (s *Splitter) Poll(time.Time, link.Emitter) {}

// Deadline returns the zero Time.
func (s *Splitter) Deadline() time.Time { return time.Time{} }
