package interop

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/trace"
	"github.com/gomptcp/mptcp/wire"
)

// CaptureReport is what a capture shows of the MPTCP connections in it,
// decoded with package trace: the wire-level view of a test, independent
// of both stacks' own accounts.
type CaptureReport struct {
	Segments int
	// Conns are the MPTCP connections (MP_CAPABLE SYNs seen), with their
	// subflows, keys, checksum flag, fallback and join HMAC verdicts.
	Conns []*trace.Conn
	// DSSChecksums counts the verdicts on the DSS checksums of the
	// mappings that were captured whole.
	DSSChecksums map[trace.Verdict]int
	// Options counts the MPTCP options seen, by subtype name ("DSS",
	// "MP_JOIN", …); Malformed the options that did not parse.
	Options   map[string]int
	Malformed int
	// DataFINFrom lists the sender of every DSS option with the DATA_FIN
	// flag, in capture order.
	DataFINFrom []netip.Addr
	// lastDataFrom is the time of each sender's last segment with
	// payload, firstDataFINFrom the time of its first DATA_FIN.
	lastDataFrom, firstDataFINFrom map[netip.Addr]time.Time
	// Resets counts segments with RST; ResetsBeforeDataFIN those seen
	// before the first DATA_FIN of either side (a subflow reset while the
	// connection still carried data, rather than at its teardown).
	Resets, ResetsBeforeDataFIN int
	// Lines has one line for each segment that is a SYN, FIN or RST or
	// carries an MPTCP option other than a plain DSS, for the logs.
	Lines []string
}

// AnalyzeCapture decodes the pcap or pcapng file at path.
func AnalyzeCapture(path string) (*CaptureReport, error) {
	r, err := trace.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return analyze(r)
}

// frameReader is trace.Reader's Next.
type frameReader interface {
	Next() (trace.Frame, error)
}

func analyze(r frameReader) (*CaptureReport, error) {
	rep := &CaptureReport{DSSChecksums: map[trace.Verdict]int{}, Options: map[string]int{},
		lastDataFrom: map[netip.Addr]time.Time{}, firstDataFINFrom: map[netip.Addr]time.Time{}}
	tr := trace.NewTracker()
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, err
		}
		s, err := trace.Decode(f)
		if errors.Is(err, trace.ErrNotTCP) {
			continue
		}
		if err != nil {
			return rep, err
		}
		rep.Segments++
		if s.PayloadLen > 0 {
			rep.lastDataFrom[s.Src.Addr()] = s.Time
		}
		tr.Add(s)
		if s.DSSChecksum != trace.Unchecked {
			rep.DSSChecksums[s.DSSChecksum]++
		}
		if s.Flags&wire.FlagRST != 0 {
			rep.Resets++
			if len(rep.DataFINFrom) == 0 {
				rep.ResetsBeforeDataFIN++
			}
		}
		notable := s.Flags&(wire.FlagSYN|wire.FlagFIN|wire.FlagRST) != 0
		for _, o := range s.MPTCP {
			if o.Err != nil || o.Value == nil {
				rep.Malformed++
				notable = true
				continue
			}
			rep.Options[o.Value.Subtype().String()]++
			d, ok := o.Value.(wire.DSS)
			if ok && d.DataFIN() {
				rep.DataFINFrom = append(rep.DataFINFrom, s.Src.Addr())
				if _, seen := rep.firstDataFINFrom[s.Src.Addr()]; !seen {
					rep.firstDataFINFrom[s.Src.Addr()] = s.Time
				}
			}
			if !ok || d.DataFIN() {
				notable = true
			}
		}
		if notable {
			rep.Lines = append(rep.Lines, SegmentLine(s))
		}
	}
	rep.Conns = tr.Conns()
	return rep, nil
}

// SegmentLine formats a segment on one line: frame, addresses, flags,
// sequence numbers, length and MPTCP options.
func SegmentLine(s *trace.Segment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s > %s [%v] seq %d ack %d win %d len %d", s.Frame, s.Src, s.Dst, s.Flags, s.Seq, s.Ack, s.Window, s.PayloadLen)
	for _, o := range s.MPTCP {
		if o.Err != nil || o.Value == nil {
			fmt.Fprintf(&b, " <malformed %x: %v>", o.Raw, o.Err)
			continue
		}
		fmt.Fprintf(&b, " <%v>", o.Value)
	}
	if s.DSSChecksum != trace.Unchecked {
		fmt.Fprintf(&b, " csum:%v", s.DSSChecksum)
	}
	return b.String()
}

// Tail returns the last n of the report's lines, for a failure's log.
func (rep *CaptureReport) Tail(n int) string {
	lines := rep.Lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
