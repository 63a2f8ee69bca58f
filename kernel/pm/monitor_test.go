package pm

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// collect reads events until the channel closes or the test times out.
func collect(t *testing.T, m *Monitor) []Event {
	t.Helper()
	var evs []Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-timeout:
			t.Fatalf("events channel still open after %d events", len(evs))
		}
	}
}

// TestMonitorDecodesEveryEvent sends every event of eventCases through a
// genltest connection, in batches, and checks the decoded stream.
func TestMonitorDecodesEveryEvent(t *testing.T) {
	var (
		steps []step
		want  []Event
		batch []genetlink.Message
	)
	for i, tt := range eventCases {
		batch = append(batch, genetlink.Message{
			Header: genetlink.Header{Command: uint8(tt.typ), Version: 1},
			Data:   marshal(tt.attrs...),
		})
		want = append(want, tt.want)
		if i%3 == 2 {
			steps = append(steps, step{msgs: batch})
			batch = nil
		}
	}
	steps = append(steps, step{msgs: batch})
	end := errors.New("script over")

	m := startMonitor(context.Background(), genltest.Dial(eventScript(steps, end)))
	got := collect(t, m)
	if diff := cmp.Diff(want, got, cmpEvent); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if err := m.Err(); !errors.Is(err, end) {
		t.Errorf("Err = %v, want the socket error %v", err, end)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	goleak.VerifyNone(t)
}

// TestMonitorKeepsGoing checks that a malformed event and dropped events are
// reported as events and do not stop the monitor.
func TestMonitorKeepsGoing(t *testing.T) {
	closed := genetlink.Message{
		Header: genetlink.Header{Command: uint8(EventClosed)},
		Data:   marshal(attr(uint16(AttrToken), u32(7))),
	}
	bad := genetlink.Message{
		Header: genetlink.Header{Command: uint8(EventCreated)},
		Data:   marshal(attr(uint16(AttrToken), u16(7))),
	}
	end := errors.New("script over")
	steps := []step{
		{msgs: []genetlink.Message{bad}},
		{err: os.NewSyscallError("recvmsg", syscall.ENOBUFS)},
		{msgs: []genetlink.Message{closed}},
	}
	m := startMonitor(context.Background(), genltest.Dial(eventScript(steps, end)))
	defer m.Close()
	got := collect(t, m)
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3: %v", len(got), got)
	}
	if got[0].Type != EventCreated || !errors.Is(got[0].Err, ErrMalformed) {
		t.Errorf("event 0 = %v, want a malformed CREATED", got[0])
	}
	if got[1].Type != 0 || !errors.Is(got[1].Err, ErrEventsLost) {
		t.Errorf("event 1 = %v, want ErrEventsLost", got[1])
	}
	if got[2].Type != EventClosed || got[2].Token != 7 || got[2].Err != nil {
		t.Errorf("event 2 = %v, want CLOSED token 7", got[2])
	}
	if !errors.Is(m.Err(), end) {
		t.Errorf("Err = %v, want %v", m.Err(), end)
	}
}

// TestNewMonitorJoinsEventsGroup checks the subscription on a fake socket
// that behaves like a kernel socket: Receive blocks until Close.
func TestNewMonitorJoinsEventsGroup(t *testing.T) {
	sock := newFakeSocket(testFamily)
	m, err := NewMonitor(context.Background(), sock.conn())
	if err != nil {
		t.Fatal(err)
	}
	sock.mu.Lock()
	joined := append([]uint32(nil), sock.joined...)
	sock.mu.Unlock()
	if diff := cmp.Diff([]uint32{9}, joined); diff != "" {
		t.Errorf("joined groups (-want +got):\n%s", diff)
	}

	h := netlink.Header{Type: netlink.HeaderType(testFamily.ID)}
	sock.batches <- []netlink.Message{
		genlMessage(h, uint8(EventCreated), marshal(attr(uint16(AttrToken), u32(1)))),
		genlMessage(h, uint8(EventClosed), marshal(attr(uint16(AttrToken), u32(1)))),
	}
	for _, want := range []EventType{EventCreated, EventClosed} {
		select {
		case ev := <-m.Events():
			if ev.Type != want || ev.Token != 1 {
				t.Errorf("event %v, want %v token 1", ev, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event", want)
		}
	}

	// The reading goroutine is blocked in Receive now; Close must end it.
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, ok := <-m.Events(); ok {
		t.Error("Events still open after Close")
	}
	if err := m.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	goleak.VerifyNone(t)
}

func TestMonitorContextCancel(t *testing.T) {
	sock := newFakeSocket(testFamily)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := NewMonitor(ctx, sock.conn())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if evs := collect(t, m); len(evs) != 0 {
		t.Errorf("unexpected events %v", evs)
	}
	if err := m.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	m.Close()
	goleak.VerifyNone(t)
}

func TestMonitorContextAlreadyDone(t *testing.T) {
	sock := newFakeSocket(testFamily)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := NewMonitor(ctx, sock.conn())
	if err != nil {
		t.Fatal(err)
	}
	if evs := collect(t, m); len(evs) != 0 {
		t.Errorf("unexpected events %v", evs)
	}
	if err := m.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	goleak.VerifyNone(t)
}

// TestMonitorUnreadEvents checks that Close does not wait for a reader.
func TestMonitorUnreadEvents(t *testing.T) {
	sock := newFakeSocket(testFamily)
	m, err := NewMonitor(context.Background(), sock.conn())
	if err != nil {
		t.Fatal(err)
	}
	h := netlink.Header{Type: netlink.HeaderType(testFamily.ID)}
	var batch []netlink.Message
	for i := range 100 {
		batch = append(batch, genlMessage(h, uint8(EventClosed), marshal(attr(uint16(AttrToken), u32(uint32(i))))))
	}
	sock.batches <- batch
	// Wait until the goroutine has filled the channel and is blocked
	// sending.
	deadline := time.After(10 * time.Second)
	for len(m.events) < cap(m.events) {
		select {
		case <-deadline:
			t.Fatal("events channel never filled")
		case <-time.After(time.Millisecond):
		}
	}
	done := make(chan error)
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on an unread event")
	}
	goleak.VerifyNone(t)
}

func TestNewMonitorWithoutEventsGroup(t *testing.T) {
	f := testFamily
	f.Groups = f.Groups[:1]
	sock := newFakeSocket(f)
	_, err := NewMonitor(context.Background(), sock.conn())
	if err == nil {
		t.Fatal("NewMonitor succeeded without an events group")
	}
	select {
	case <-sock.closed:
	default:
		t.Error("NewMonitor did not close the socket after failing")
	}
}

func TestNewMonitorWithoutPrivileges(t *testing.T) {
	sock := newFakeSocket(testFamily)
	sock.joinErr = os.NewSyscallError("setsockopt", syscall.EPERM)
	_, err := NewMonitor(context.Background(), sock.conn())
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("NewMonitor error = %v, want a permission error", err)
	}
	for _, s := range []string{"mptcp_pm_events", "missing privileges", "CAP_NET_ADMIN"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestNewMonitorFamilyNotFound(t *testing.T) {
	conn := genltest.Dial(func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(syscall.ENOENT))
	})
	if _, err := NewMonitor(context.Background(), conn); !errors.Is(err, ErrFamilyNotFound) {
		t.Errorf("NewMonitor error = %v, want ErrFamilyNotFound", err)
	}
}
