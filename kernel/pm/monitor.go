package pm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Monitor delivers the kernel's mptcp_pm events, read on its own netlink
// socket joined to the mptcp_pm_events multicast group, the way "ip mptcp
// monitor" does. One goroutine reads the socket; Close stops it.
type Monitor struct {
	conn   *genetlink.Conn
	events chan Event
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when the reading goroutine returns

	stopAfter func() bool // unregisters the context watcher
	ctx       context.Context

	closeOnce sync.Once
	closeErr  error

	mu  sync.Mutex
	err error
}

// NewMonitor subscribes conn to the mptcp_pm events and returns a Monitor
// reading them until ctx ends or Close is called. The Monitor owns conn from
// then on; a failing NewMonitor closes it. Subscribe is the usual way to get
// a Monitor.
func NewMonitor(ctx context.Context, conn *genetlink.Conn) (*Monitor, error) {
	fam, err := resolveFamily(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	group, ok := fam.groups[EventsGroup]
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("the %s family has no %q multicast group", FamilyName, EventsGroup)
	}
	if err := conn.JoinGroup(group); err != nil {
		conn.Close()
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("joining the %s multicast group: %w (missing privileges: "+
				"receiving MPTCP path manager events needs CAP_NET_ADMIN; run as root)", EventsGroup, err)
		}
		return nil, fmt.Errorf("joining the %s multicast group: %w", EventsGroup, err)
	}
	return startMonitor(ctx, conn), nil
}

// startMonitor starts reading events from conn, already subscribed.
func startMonitor(ctx context.Context, conn *genetlink.Conn) *Monitor {
	m := &Monitor{
		conn:   conn,
		events: make(chan Event, 16),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		ctx:    ctx,
	}
	go m.run()
	m.stopAfter = context.AfterFunc(ctx, func() { m.shutdown() })
	return m
}

// Events returns the channel of events. It is closed when the monitor stops:
// after Close, when its context ends, or on a socket error (see Err).
// Undecodable messages and dropped events arrive as Events with Err set;
// they do not stop the monitor.
func (m *Monitor) Events() <-chan Event { return m.events }

// Err returns why the monitor stopped once Events is closed: nil after
// Close, the context's error when its context ended, or the socket error.
func (m *Monitor) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Close stops the monitor, closes its socket and waits for its goroutine to
// return. It is safe to call more than once and concurrently, and needed
// even after the monitor stopped on its own.
func (m *Monitor) Close() error {
	m.stopAfter()
	return m.shutdown()
}

// shutdown implements Close; the context watcher calls it directly.
func (m *Monitor) shutdown() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		if m.err == nil {
			m.err = m.ctx.Err()
		}
		m.mu.Unlock()
		close(m.done)
		m.closeErr = m.conn.Close()
		<-m.exited
	})
	return m.closeErr
}

func (m *Monitor) closing() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

func (m *Monitor) run() {
	defer close(m.exited)
	defer close(m.events)
	for {
		gmsgs, _, err := m.conn.Receive()
		if m.closing() {
			return
		}
		if err != nil {
			var oerr *netlink.OpError
			switch {
			case errors.Is(err, syscall.ENOBUFS):
				// The kernel dropped events; the socket stays usable.
				if !m.send(Event{Err: ErrEventsLost}) {
					return
				}
				continue
			case !errors.As(err, &oerr):
				// Not a socket error: genetlink could not unpack a
				// message (shorter than its header).
				if !m.send(Event{Err: fmt.Errorf("%w: %v", ErrMalformed, err)}) {
					return
				}
				continue
			}
			m.mu.Lock()
			m.err = err
			m.mu.Unlock()
			return
		}
		for _, gm := range gmsgs {
			ev, err := decodeEvent(EventType(gm.Header.Command), gm.Data)
			ev.Err = err
			if !m.send(ev) {
				return
			}
		}
	}
}

// send delivers ev unless the monitor is closing.
func (m *Monitor) send(ev Event) bool {
	select {
	case m.events <- ev:
		return true
	case <-m.done:
		return false
	}
}
