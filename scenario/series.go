package scenario

import (
	"net/netip"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// SubflowSeries is the sender's view, over time, of one subflow of an
// MPTCP flow, or of the one connection of a TCP flow: its counters at
// every sample interval from the first at which it existed to the last,
// and once more at the end of the run. A subflow that closed during the
// run keeps the samples it had.
type SubflowSeries struct {
	// ID is the subflow's 4-tuple, from the sender's side.
	ID tcp.ConnID
	// Link is the scenario link the sender's address is on.
	Link string
	// Backup reports that the sender marked the subflow backup when it
	// was first seen.
	Backup bool
	// Samples are in increasing order of At.
	Samples []SubflowSample
}

// SubflowSample is one subflow at one time.
type SubflowSample struct {
	At time.Duration // from the start of the run
	// Acked counts the payload bytes the peer acknowledged on this
	// subflow (tcp.Info.BytesAcked): what it delivered, reinjected data
	// included.
	Acked uint64
	// Cwnd is the congestion window in bytes.
	Cwnd int
	// SRTT is the smoothed round-trip time (RFC 6298), 0 before the
	// first measurement.
	SRTT time.Duration
}

// Last returns the latest sample, or the zero sample if there is none.
func (s *SubflowSeries) Last() SubflowSample {
	if len(s.Samples) == 0 {
		return SubflowSample{}
	}
	return s.Samples[len(s.Samples)-1]
}

// AckedAt returns the bytes acknowledged by time at: those of the latest
// sample no later than at, 0 before the first sample (the subflow did not
// exist yet).
func (s *SubflowSeries) AckedAt(at time.Duration) uint64 {
	var v uint64
	for _, x := range s.Samples {
		if x.At > at {
			break
		}
		v = x.Acked
	}
	return v
}

// EventMark is a link Event as it was applied during the run.
type EventMark struct {
	At    time.Duration // from the start of the run
	Event Event
}

// Label describes the change without its time, e.g. "p1 down" or
// "bn rate=10Mbit/s".
func (m EventMark) Label() string {
	return strings.TrimPrefix(m.Event.String(), m.Event.At.String()+" ")
}

// recordSeries samples the flow's sending connection at offset at.
func (a *flowApp) recordSeries(at time.Duration) {
	for _, sf := range a.sendSnapshot() {
		a.addSample(sf.id, sf.backup, SubflowSample{At: at, Acked: sf.info.BytesAcked, Cwnd: sf.info.Cwnd, SRTT: sf.info.RTT})
	}
}

// sendSubflow is one subflow of the sender at a sampling time.
type sendSubflow struct {
	id     tcp.ConnID
	backup bool
	info   tcp.Info
}

// sendSnapshot lists the sender's live subflows (its one connection for a
// TCP flow), none before it dialed.
func (a *flowApp) sendSnapshot() []sendSubflow {
	switch {
	case a.sndMP != nil:
		in := a.sndMP.Info()
		out := make([]sendSubflow, 0, len(in.Subflow))
		for _, sf := range in.Subflow {
			out = append(out, sendSubflow{id: sf.ID, backup: sf.Backup, info: sf.TCP})
		}
		return out
	case a.snd != nil:
		c := a.snd.(*stack.Conn)
		return []sendSubflow{{id: c.ID(), info: c.Info()}}
	}
	return nil
}

func (a *flowApp) addSample(id tcp.ConnID, backup bool, s SubflowSample) {
	i, ok := a.seriesIdx[id]
	if !ok {
		if a.seriesIdx == nil {
			a.seriesIdx = map[tcp.ConnID]int{}
		}
		i = len(a.series)
		a.seriesIdx[id] = i
		a.series = append(a.series, SubflowSeries{ID: id, Link: a.r.linkOf(id.Local.Addr()), Backup: backup})
	}
	a.series[i].Samples = append(a.series[i].Samples, s)
}

// seriesResult copies the series, with a last sample at offset now for
// the live subflows when now is later than the latest sampling time.
func (a *flowApp) seriesResult(now time.Duration) []SubflowSeries {
	out := make([]SubflowSeries, len(a.series))
	for i, s := range a.series {
		out[i] = s
		out[i].Samples = append([]SubflowSample(nil), s.Samples...)
	}
	if now <= a.lastSampled {
		return out
	}
	for _, sf := range a.sendSnapshot() {
		smp := SubflowSample{At: now, Acked: sf.info.BytesAcked, Cwnd: sf.info.Cwnd, SRTT: sf.info.RTT}
		if i, ok := a.seriesIdx[sf.id]; ok {
			out[i].Samples = append(out[i].Samples, smp)
			continue
		}
		out = append(out, SubflowSeries{ID: sf.id, Link: a.r.linkOf(sf.id.Local.Addr()), Backup: sf.backup,
			Samples: []SubflowSample{smp}})
	}
	return out
}

// sampleSeries records every flow's subflows at the current time; it runs
// with the delivered-bytes samples.
func (r *Runner) sampleSeries() {
	at := r.Elapsed()
	for _, a := range r.flows {
		a.recordSeries(at)
		a.lastSampled = at
	}
}

// markEvent records a link event as it is applied.
func (r *Runner) markEvent(e Event) {
	r.marks = append(r.marks, EventMark{At: r.Elapsed(), Event: e})
}

// linkOf names the scenario link whose prefix holds a, or "".
func (r *Runner) linkOf(a netip.Addr) string {
	for i, l := range r.spec.Links {
		if linkPrefix(i).Contains(a) {
			return l.Name
		}
	}
	return ""
}
