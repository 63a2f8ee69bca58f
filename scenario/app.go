package scenario

import (
	"errors"
	"io"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// flowApp is the application of one flow: a bulk sender on one host and a
// receiver on another. Both are driven by the stacks' event callbacks and
// by simulator callbacks, inside the event loop; nothing blocks and
// nothing runs on another goroutine.
type flowApp struct {
	r    *Runner
	spec *Flow
	pat  pattern

	// Where: resolved addresses and the per-connection configuration.
	src    netip.Addr
	dst    netip.AddrPort
	cfg    tcp.Config
	sendSt *stack.Stack
	recvSt *stack.Stack

	// The connecting side's MPTCP connection (it opens the subflows).
	dialMP *stack.MPConn

	// Sender (the connecting side, or the accepting one for a Download).
	snd         flowConn
	sndMP       *stack.MPConn // snd, for an MPTCP flow
	subflowErrs int           // subflows that could not be opened
	start       time.Duration
	established time.Duration
	sent        int64
	stopWriting bool // Duration elapsed: close after what was written
	closed      bool // Close called

	// Receiver.
	rcv      flowConn
	rcvMP    *stack.MPConn // rcv, for an MPTCP flow
	received int64
	first    time.Duration
	last     time.Duration
	done     bool
	doneAt   time.Duration
	mismatch int64

	err     error
	samples []int64

	// The sender's subflows over time (series.go).
	series      []SubflowSeries
	seriesIdx   map[tcp.ConnID]int
	lastSampled time.Duration
}

// flowConn is a connection of either kind: *stack.Conn or *stack.MPConn.
type flowConn interface {
	Read(now time.Time, p []byte) (int, error)
	Write(now time.Time, p []byte) (int, error)
	Close(now time.Time) error
	Abort(now time.Time)
	Released() bool
}

func newFlowApp(r *Runner, idx int) *flowApp {
	f := &r.spec.Flows[idx]
	a := &flowApp{
		r: r, spec: f,
		pat:         newPattern(r.spec.Seed ^ uint64(idx+1)*0x9e3779b97f4a7c15),
		cfg:         f.Config,
		start:       f.Start,
		established: -1, first: -1, last: -1, mismatch: -1,
	}
	if f.CC != "" {
		a.cfg.CongestionControl = f.CC
	}
	return a
}

// listen opens the receiver's listener, before the run starts.
func (a *flowApp) listen() error {
	if a.spec.MPTCP {
		return a.listenMPTCP()
	}
	onEvent := a.receiverEvent
	if a.spec.Download {
		onEvent = a.senderEvent
	}
	_, err := a.recvSt.Listen(a.dst, &stack.ListenOptions{
		Config:   &a.cfg,
		OnEvent:  onEvent,
		OnAccept: a.accept,
	})
	return err
}

// dial connects the sender; it runs at the flow's start time.
func (a *flowApp) dial(now time.Time) {
	if a.spec.MPTCP {
		a.dialMPTCP(now)
		return
	}
	onEvent := a.senderEvent
	if a.spec.Download {
		onEvent = a.receiverEvent
	}
	c, err := a.sendSt.Dial(now, a.dst, &stack.DialOptions{
		Local:   netip.AddrPortFrom(a.src, 0),
		Config:  &a.cfg,
		OnEvent: onEvent,
	})
	if err != nil {
		a.fail(err)
		return
	}
	if a.spec.Download {
		a.rcv = c
	} else {
		a.snd = c
	}
}

func (a *flowApp) fail(err error) {
	if a.err == nil && err != nil {
		a.err = err
	}
}

// finished reports whether the flow can make no more progress: the
// receiver read the end of the stream, or a connection failed.
func (a *flowApp) finished() bool { return a.done || a.err != nil }

func (a *flowApp) senderEvent(now time.Time, c *stack.Conn, ev tcp.Event) {
	if a.snd == nil {
		a.snd = c // an accepted sender: events flow from the SYN on
	}
	if flowConn(c) != a.snd {
		return
	}
	switch ev.Kind {
	case tcp.EventEstablished:
		a.onEstablished(now)
	case tcp.EventWritable:
		a.pump(now)
	case tcp.EventClosed:
		a.fail(ev.Err)
	}
}

// onEstablished starts writing.
func (a *flowApp) onEstablished(now time.Time) {
	a.established = a.r.offset(now)
	if d := a.spec.Duration; a.spec.Bytes == 0 && d > 0 {
		a.r.net.AfterFunc(d, func() { a.stop(a.r.net.Now()) })
	}
	a.pump(now)
}

// pump writes the flow's stream until the send buffer is full or all is
// written, and closes once all is written.
func (a *flowApp) pump(now time.Time) {
	if a.closed {
		return
	}
	for !a.stopWriting {
		want := patternChunk
		if b := a.spec.Bytes; b > 0 {
			if a.sent >= b {
				a.stopWriting = true
				break
			}
			want = int(min(int64(want), b-a.sent))
		}
		n, err := a.snd.Write(now, a.pat.at(a.sent, want))
		a.sent += int64(n)
		if err != nil {
			a.fail(err)
			return
		}
		if n == 0 {
			return // the buffer is full: EventWritable resumes
		}
	}
	a.closed = true
	if err := a.snd.Close(now); err != nil {
		a.fail(err)
	}
}

// stop ends a flow bounded by time: what was written is still delivered,
// then the stream ends.
func (a *flowApp) stop(now time.Time) {
	a.stopWriting = true
	if a.snd != nil && !a.snd.Released() {
		a.pump(now)
	}
}

func (a *flowApp) accept(now time.Time, l *stack.Listener) {
	slot := &a.rcv
	if a.spec.Download {
		slot = &a.snd
	}
	for {
		c, ok := l.Accept()
		if !ok {
			return
		}
		if *slot == nil {
			*slot = c
			continue
		}
		if flowConn(c) != *slot {
			a.fail(errExtraConn)
			c.Abort(now)
		}
	}
}

var errExtraConn = errors.New("scenario: the listener got a second connection")

func (a *flowApp) receiverEvent(now time.Time, c *stack.Conn, ev tcp.Event) {
	if a.rcv == nil {
		a.rcv = c // events flow from the SYN on, before OnAccept
	}
	if flowConn(c) != a.rcv {
		return
	}
	switch ev.Kind {
	case tcp.EventReadable, tcp.EventEOF:
		a.drain(now)
	case tcp.EventClosed:
		a.drain(now)
		if !a.done {
			a.fail(ev.Err)
		}
	}
}

// drain reads and checks everything the receiver has.
func (a *flowApp) drain(now time.Time) {
	buf := a.r.buf
	for !a.done {
		n, err := a.rcv.Read(now, buf)
		if n > 0 {
			t := a.r.offset(now)
			if a.first < 0 {
				a.first = t
			}
			a.last = t
			if a.mismatch < 0 {
				if i := a.pat.check(a.received, buf[:n]); i >= 0 {
					a.mismatch = a.received + int64(i)
				}
			}
			a.received += int64(n)
		}
		switch {
		case errors.Is(err, io.EOF):
			a.done = true
			a.doneAt = a.r.offset(now)
			if err := a.rcv.Close(now); err != nil {
				a.fail(err)
			}
			return
		case err != nil:
			a.fail(err)
			return
		case n == 0:
			return
		}
	}
}

// result summarises the flow.
func (a *flowApp) result(interval time.Duration) FlowResult {
	f := FlowResult{
		Name:        a.spec.Name,
		CC:          a.cfg.CongestionControl,
		Want:        a.spec.Bytes,
		Start:       a.start,
		Established: a.established,
		Sent:        a.sent,
		Received:    a.received,
		FirstByte:   a.first,
		LastByte:    a.last,
		Done:        a.done,
		Completed:   a.doneAt,
		Mismatch:    a.mismatch,
		Err:         a.err,
		Samples:     append([]int64(nil), a.samples...),

		SampleInterval: interval,
		Series:         a.seriesResult(a.r.Elapsed()),
	}
	switch {
	case a.sndMP != nil:
		in := a.sndMP.Info()
		f.SenderMPTCP = &in
		f.Sender = initialInfo(&in)
		f.CC = f.Sender.CongestionControl
	case a.snd != nil:
		f.Sender = a.snd.(*stack.Conn).Info()
		f.CC = f.Sender.CongestionControl
	}
	switch {
	case a.rcvMP != nil:
		in := a.rcvMP.Info()
		f.ReceiverMPTCP = &in
		f.Receiver = initialInfo(&in)
	case a.rcv != nil:
		f.Receiver = a.rcv.(*stack.Conn).Info()
	}
	return f
}
