package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
)

// Result is what a run of a Scenario produced. Times are offsets from the
// start of the run.
type Result struct {
	Name   string
	Seed   uint64
	End    time.Duration // virtual time at which the run stopped
	Events uint64        // simulator events run
	Flows  []FlowResult
	Links  []LinkResult
	Hosts  []HostResult
	// Marks are the link events applied, in order.
	Marks []EventMark
}

// FlowResult is the outcome of one flow.
type FlowResult struct {
	Name string
	CC   string
	// Want is Flow.Bytes (0 for a flow bounded by time or by the run).
	Want int64
	// Start is when the sender connected; Established when its
	// connection reached ESTABLISHED (-1 if it never did).
	Start, Established time.Duration
	// Sent counts the bytes the sender's stack accepted; Received the
	// bytes the receiver read, each checked against the flow's stream.
	Sent, Received int64
	// FirstByte and LastByte are when the receiver read its first and
	// last bytes (-1 if it read none).
	FirstByte, LastByte time.Duration
	// Done reports that the receiver read the end of the stream (the
	// sender's FIN) after all the bytes the sender wrote; Completed is
	// then when (from the start of the run, not of the flow).
	Done      bool
	Completed time.Duration
	// Mismatch is the stream offset of the first byte that differed from
	// the flow's stream, or -1.
	Mismatch int64
	// Err is the first connection error either end saw, if any.
	Err error
	// Sender and Receiver are snapshots of the two connections at the end
	// of the run (their retransmission counters, RTT, windows, …).
	// For an MPTCP flow they sum the counters of the subflows alive at
	// the end and take the rest (RTT, windows, congestion controller)
	// from the first of them; SenderMPTCP and ReceiverMPTCP hold the
	// connection-level snapshots.
	Sender, Receiver tcp.Info
	// SenderMPTCP and ReceiverMPTCP are set for MPTCP flows.
	SenderMPTCP, ReceiverMPTCP *meta.Info
	// Samples[k] is Received at (k+1)·SampleInterval.
	Samples        []int64
	SampleInterval time.Duration
	// Series holds the sender's subflows (its connection, for a TCP
	// flow) over time, sampled with Samples, in the order they appeared.
	Series []SubflowSeries
}

// Exact reports whether the flow delivered exactly what was sent, in
// order and intact: it completed, every byte read matched the stream, the
// receiver read as many bytes as the sender wrote, and a flow of Want
// bytes delivered that many.
func (f *FlowResult) Exact() bool {
	return f.Done && f.Mismatch < 0 && f.Received == f.Sent && (f.Want == 0 || f.Received == f.Want)
}

// Goodput is the application-level throughput in bits per second: bytes
// read by the receiver, divided by the time from the first byte read to
// the last. It is 0 when fewer than two reads happened at distinct times.
func (f *FlowResult) Goodput() float64 {
	if f.FirstByte < 0 || f.LastByte <= f.FirstByte {
		return 0
	}
	return float64(f.Received) * 8 / (f.LastByte - f.FirstByte).Seconds()
}

// CompletionTime is the time from the flow's start to the end of its
// stream at the receiver, or -1 if it did not complete.
func (f *FlowResult) CompletionTime() time.Duration {
	if !f.Done {
		return -1
	}
	return f.Completed - f.Start
}

// ReceivedAt is the number of bytes received by time at, from the samples
// (at is rounded down to a multiple of the sample interval).
func (f *FlowResult) ReceivedAt(at time.Duration) int64 {
	if f.SampleInterval <= 0 {
		return 0
	}
	k := int(at/f.SampleInterval) - 1
	switch {
	case k < 0:
		return 0
	case k >= len(f.Samples):
		if len(f.Samples) == 0 {
			return 0
		}
		return f.Samples[len(f.Samples)-1]
	}
	return f.Samples[k]
}

// LongestStall is the longest time between from and to (and no later than
// the end of the stream) during which the receiver read nothing, from the
// samples: a failover's cost, say.
func (f *FlowResult) LongestStall(from, to time.Duration) time.Duration {
	var longest, run time.Duration
	for k := 1; k < len(f.Samples); k++ {
		at := time.Duration(k+1) * f.SampleInterval
		if at <= from {
			continue
		}
		if at > to || f.Done && at > f.Completed {
			break
		}
		if f.Samples[k] == f.Samples[k-1] {
			run += f.SampleInterval
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// Throughput is the rate in bits per second at which the receiver read
// bytes between from and to, from the samples.
func (f *FlowResult) Throughput(from, to time.Duration) float64 {
	from = from.Truncate(f.SampleInterval)
	to = to.Truncate(f.SampleInterval)
	if to <= from {
		return 0
	}
	return float64(f.ReceivedAt(to)-f.ReceivedAt(from)) * 8 / (to - from).Seconds()
}

// LinkResult holds the counters of one link direction.
type LinkResult struct {
	Link     string
	From, To string // node names
	Stats    impair.Stats
}

// Flow returns the result of the named flow, or nil.
func (r *Result) Flow(name string) *FlowResult {
	for i := range r.Flows {
		if r.Flows[i].Name == name {
			return &r.Flows[i]
		}
	}
	return nil
}

// Link returns the counters of the named link's direction leaving node
// from, or nil.
func (r *Result) Link(name, from string) *LinkResult {
	for i := range r.Links {
		if r.Links[i].Link == name && r.Links[i].From == from {
			return &r.Links[i]
		}
	}
	return nil
}

// FlowTable renders one row per flow: bytes read, completion time,
// goodput, the sender's retransmitted segments, RTOs and fast recoveries,
// and whether delivery was exact.
func (r *Result) FlowTable() *Table {
	t := &Table{Header: []string{"flow", "cc", "bytes", "time", "goodput", "retrans", "rtos", "recov", "exact"}}
	for i := range r.Flows {
		f := &r.Flows[i]
		done := "-"
		if f.Done {
			done = formatSeconds(f.CompletionTime())
		}
		t.Add(f.Name, f.CC, strconv.FormatInt(f.Received, 10), done, formatRate(f.Goodput()),
			strconv.FormatUint(f.Sender.TotalRetrans, 10), strconv.FormatUint(f.Sender.RTOs, 10),
			strconv.FormatUint(f.Sender.Recoveries, 10), f.verdict())
	}
	return t
}

// verdict is "ok" for an exact flow, or why not.
func (f *FlowResult) verdict() string {
	switch {
	case f.Mismatch >= 0:
		return fmt.Sprintf("corrupt@%d", f.Mismatch)
	case f.Err != nil:
		return "error"
	case !f.Done:
		return "incomplete"
	case !f.Exact():
		return "short"
	}
	return "ok"
}

// LinkTable renders one row per link direction that carried packets: the
// packets offered and delivered and those dropped by the queue, by random
// loss and while down, and the largest queue seen.
func (r *Result) LinkTable() *Table {
	t := &Table{Header: []string{"link", "dir", "pkts", "delivered", "drop-queue", "drop-loss", "drop-down", "max-queue"}}
	for _, l := range r.Links {
		s := l.Stats
		if s.Packets == 0 {
			continue
		}
		u := func(v uint64) string { return strconv.FormatUint(v, 10) }
		t.Add(l.Link, l.From+">"+l.To, u(s.Packets), u(s.DeliveredPackets), u(s.DroppedQueue), u(s.DroppedLoss),
			u(s.DroppedDown), strconv.Itoa(s.MaxQueuePackets))
	}
	return t
}

// MPTCPTable renders one row per MPTCP flow, from the sender's view:
// subflows ever created and alive at the end, whether the connection fell
// back to TCP, whether DSS checksums were on, the chunks and bytes
// reinjected, and the bytes each live subflow had acknowledged.
func (r *Result) MPTCPTable() *Table {
	t := &Table{Header: []string{"flow", "subflows", "alive", "fallback", "csum", "reinj", "reinj-bytes", "acked-per-subflow"}}
	for i := range r.Flows {
		f := &r.Flows[i]
		in := f.SenderMPTCP
		if in == nil {
			continue
		}
		var per []string
		for _, sf := range in.Subflow {
			per = append(per, strconv.FormatUint(sf.TCP.BytesAcked, 10))
		}
		if len(per) == 0 {
			per = []string{"-"}
		}
		t.Add(f.Name, strconv.Itoa(in.SubflowsTotal), strconv.Itoa(len(in.Subflow)),
			strconv.FormatBool(in.Flags&meta.InfoFlagFallback != 0), strconv.FormatBool(in.CsumEnabled),
			strconv.FormatUint(in.Retransmits, 10), strconv.FormatUint(in.BytesRetrans, 10), strings.Join(per, "/"))
	}
	return t
}

// String renders the result as text: a heading, the flow table, the MPTCP
// table when a flow is MPTCP, and the link table.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s seed %d end %s\n\n", r.Name, r.Seed, formatSeconds(r.End))
	b.WriteString(r.FlowTable().String())
	b.WriteByte('\n')
	if mt := r.MPTCPTable(); len(mt.Rows) > 0 {
		b.WriteString(mt.String())
		b.WriteByte('\n')
	}
	b.WriteString(r.LinkTable().String())
	return b.String()
}
