package pcap

import (
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gomptcp/mptcp/link"
)

// DefaultSnapLen is the snapshot length of a Tap whose Options leave it 0:
// large enough for any IP packet.
const DefaultSnapLen = 65535

// Options configure a Tap.
type Options struct {
	// SnapLen is the most bytes of each packet written (0: DefaultSnapLen).
	SnapLen int
	// Filter, if not nil, selects the packets written; all packets are
	// passed through regardless.
	Filter func(pkt []byte) bool
}

// Tap is a link.Middleware that writes the packets crossing it to a pcap
// stream and passes them on unchanged. It is not safe for concurrent use;
// give each Tap its own writer.
type Tap struct {
	w       *pcapgo.Writer
	snapLen int
	filter  func([]byte) bool
	packets uint64
	err     error
}

var _ link.Middleware = (*Tap)(nil)

// NewTap writes a pcap file header to w and returns a Tap that appends
// packet records to it.
func NewTap(w io.Writer, opts Options) (*Tap, error) {
	snap := opts.SnapLen
	if snap <= 0 {
		snap = DefaultSnapLen
	}
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(uint32(snap), layers.LinkTypeRaw); err != nil {
		return nil, err
	}
	return &Tap{w: pw, snapLen: snap, filter: opts.Filter}, nil
}

// Process writes pkt with timestamp now and emits it unchanged. After a
// write error the Tap stops writing (see Err) but keeps passing packets.
func (t *Tap) Process(now time.Time, pkt []byte, out link.Emitter) {
	t.write(now, pkt)
	out.Emit(pkt)
}

func (t *Tap) write(now time.Time, pkt []byte) {
	if t.err != nil || t.filter != nil && !t.filter(pkt) {
		return
	}
	if now.IsZero() {
		// pcapgo stamps a zero time with the wall clock; keep captures
		// deterministic by writing the Unix epoch instead.
		now = time.Unix(0, 0)
	}
	data := pkt
	if len(data) > t.snapLen {
		data = data[:t.snapLen]
	}
	ci := gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(data), Length: len(pkt)}
	if err := t.w.WritePacket(ci, data); err != nil {
		t.err = err
		return
	}
	t.packets++
}

// Poll does nothing: a Tap holds no packets.
func (t *Tap) Poll(time.Time, link.Emitter) {}

// Deadline returns the zero Time.
func (t *Tap) Deadline() time.Time { return time.Time{} }

// Packets reports how many packets were written.
func (t *Tap) Packets() uint64 { return t.packets }

// Err returns the first write error, if any.
func (t *Tap) Err() error { return t.err }
