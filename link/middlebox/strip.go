package middlebox

import (
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// StripMode selects the segments a Stripper works on.
type StripMode uint8

const (
	// StripSYN strips MPTCP options from segments with SYN set (SYN and
	// SYN/ACK), as middleboxes that drop unknown options on connection
	// setup do; MPTCP then falls back to TCP (RFC 8684 §3.1, §3.7).
	StripSYN StripMode = iota
	// StripAll strips MPTCP options from every segment, which an MPTCP
	// connection must detect after setup (RFC 8684 §3.7).
	StripAll
)

// StripperStats counts what a Stripper did.
type StripperStats struct {
	Segments uint64 // TCP segments that had MPTCP options stripped
	Options  uint64 // MPTCP options overwritten
}

// Stripper is a Middleware that overwrites MPTCP options (kind 30) with
// NOP options, keeping the header length, and updates the TCP checksum.
type Stripper struct {
	mode  StripMode
	stats StripperStats
}

var _ link.Middleware = (*Stripper)(nil)

// NewStripper returns a Stripper in the given mode.
func NewStripper(mode StripMode) *Stripper { return &Stripper{mode: mode} }

// Stats returns the counters.
func (s *Stripper) Stats() StripperStats { return s.stats }

// Process strips pkt in place and emits it.
func (s *Stripper) Process(_ time.Time, pkt []byte, out link.Emitter) {
	s.strip(pkt)
	out.Emit(pkt)
}

func (s *Stripper) strip(pkt []byte) {
	p, ok := parse(pkt)
	if !ok {
		return
	}
	t, ok := p.tcp()
	if !ok || s.mode == StripSYN && !t.Flags().Has(wire.FlagSYN) {
		return
	}
	n := 0
	it := wire.NewOptionIter(t.Options())
	off := wire.TCPMinHeaderLen
	for kind, opt, ok := it.Next(); ok; kind, opt, ok = it.Next() {
		if kind == wire.OptionKindMPTCP {
			rewrite(t, off, nops[:len(opt)], tcpChecksumOff)
			n++
		}
		off += len(opt)
	}
	// A malformed option ends the walk (it.Err); options before it are
	// stripped, the rest is left as it is.
	if n > 0 {
		s.stats.Segments++
		s.stats.Options += uint64(n)
	}
}

// nops is a run of NOP options (RFC 9293 §3.2) as long as an option area.
var nops = func() (b [wire.TCPMaxOptionsLen]byte) {
	for i := range b {
		b[i] = wire.OptionKindNOP
	}
	return b
}()

// Poll does nothing.
func (s *Stripper) Poll(time.Time, link.Emitter) {}

// Deadline returns the zero Time.
func (s *Stripper) Deadline() time.Time { return time.Time{} }
