package trace

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// ErrNotTCP is returned by Decode for frames that hold no TCP segment
// (another protocol, a non-first IP fragment, or a link layer that is not
// understood).
var ErrNotTCP = errors.New("not a TCP segment")

// Segment is a decoded TCP segment.
type Segment struct {
	Frame    int
	Time     time.Time
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    wire.TCPFlags
	Window   uint16
	// PayloadLen is the segment's payload length as the IP header gives
	// it; Payload holds the captured part of it, which is shorter when the
	// capture's snap length cut the frame.
	PayloadLen int
	Payload    []byte
	// Options is the parsed TCP option area; OptionsErr is set when it is
	// malformed (Options then holds what was parsed before the error).
	Options    wire.TCPOptions
	OptionsErr error
	// MPTCP holds the segment's MPTCP options in order of appearance.
	MPTCP []Option
	// DSSChecksum is the verdict on the DSS checksum (RFC 8684 §3.3.1)
	// of the mapping the segment carries, set by Tracker.Add when the
	// mapping starts and ends in this segment and its payload was
	// captured in full.
	DSSChecksum Verdict
}

// Option is one MPTCP option of a segment.
type Option struct {
	Raw []byte // the option's bytes, kind to end
	// Value is the parsed option. It is set when Err is nil, and also for
	// an MP_CAPABLE of another version (Err wraps wire.ErrBadVersion).
	Value wire.MPTCPOption
	Err   error
}

// Truncated reports whether the capture holds less payload than the
// segment carried.
func (s *Segment) Truncated() bool { return len(s.Payload) < s.PayloadLen }

// Decode decodes the TCP segment in a frame. The Segment owns its memory:
// it does not alias the frame.
func Decode(f Frame) (*Segment, error) {
	if f.IP == nil {
		return nil, ErrNotTCP
	}
	pkt := append([]byte(nil), f.IP...)
	var (
		src, dst netip.Addr
		l4       []byte
		l4Len    int // the transport segment's length per the IP header
	)
	switch pkt[0] >> 4 {
	case 4:
		ip := wire.IPv4(pkt)
		if len(pkt) >= wire.IPv4MinHeaderLen && ip.TotalLen() > len(pkt) && ip.TotalLen() <= f.OrigLen {
			// Cut by the snap length: check the header against what was
			// captured, keep the length the packet had.
			full := ip.TotalLen()
			ip.SetTotalLen(uint16(len(pkt)))
			if err := ip.Check(); err != nil {
				return nil, fmt.Errorf("frame %d: %w", f.Number, err)
			}
			l4Len = full - ip.HeaderLen()
		} else {
			if err := ip.Check(); err != nil {
				return nil, fmt.Errorf("frame %d: %w", f.Number, err)
			}
			l4Len = ip.TotalLen() - ip.HeaderLen()
		}
		if ip.Protocol() != 6 || ip.FragmentOffset() != 0 {
			return nil, ErrNotTCP
		}
		src, dst, l4 = ip.Src(), ip.Dst(), ip.Payload()
	case 6:
		ip := wire.IPv6(pkt)
		full := -1
		if len(pkt) >= wire.IPv6HeaderLen && wire.IPv6HeaderLen+ip.PayloadLen() > len(pkt) {
			full = ip.PayloadLen()
			ip.SetPayloadLen(uint16(len(pkt) - wire.IPv6HeaderLen))
		}
		if err := ip.Check(); err != nil {
			return nil, fmt.Errorf("frame %d: %w", f.Number, err)
		}
		if full < 0 {
			full = ip.PayloadLen()
		}
		u, err := ip.UpperLayer()
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", f.Number, err)
		}
		if u.Protocol != 6 || (u.HasFragment && (u.FragmentOffset != 0 || u.MoreFragments)) {
			return nil, ErrNotTCP
		}
		src, dst, l4 = ip.Src(), ip.Dst(), u.Payload
		l4Len = full - (u.Offset - wire.IPv6HeaderLen)
	default:
		return nil, ErrNotTCP
	}
	t := wire.TCP(l4)
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("frame %d: %w", f.Number, err)
	}
	s := &Segment{
		Frame:      f.Number,
		Time:       f.Time,
		Src:        netip.AddrPortFrom(src, t.SrcPort()),
		Dst:        netip.AddrPortFrom(dst, t.DstPort()),
		Seq:        t.Seq(),
		Ack:        t.Ack(),
		Flags:      t.Flags(),
		Window:     t.Window(),
		PayloadLen: max(l4Len-t.HeaderLen(), 0),
		Payload:    t.Payload(),
	}
	s.OptionsErr = wire.ParseTCPOptions(t.Options(), &s.Options)
	for _, raw := range s.Options.MPTCP[:min(s.Options.NumMPTCP, len(s.Options.MPTCP))] {
		v, _, err := wire.ParseMPTCPOption(raw)
		if err != nil && !errors.Is(err, wire.ErrBadVersion) {
			v = nil
		}
		s.MPTCP = append(s.MPTCP, Option{Raw: raw, Value: v, Err: err})
	}
	return s, nil
}
