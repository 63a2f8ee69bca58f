package link_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// chanEmitter forwards copies of emitted packets to a channel.
type chanEmitter chan string

func (c chanEmitter) Emit(p []byte) { c <- string(p) }

func recv(t *testing.T, c chanEmitter) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no packet from the driver")
		return ""
	}
}

// syncDriver waits until the driver is idle.
func syncDriver(t *testing.T, d *link.Driver) {
	t.Helper()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestDriverManualClock(t *testing.T) {
	clk := clock.NewManual()
	imp, err := impair.New(impair.Config{Delay: 20 * time.Millisecond, Rate: 10_000_000})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chanEmitter, 16)
	d := link.NewDriver(clk, imp, out, 0)
	defer d.Close()

	p := make([]byte, 1500)
	copy(p, "first")
	if err := d.Input(p); err != nil {
		t.Fatal(err)
	}
	copy(p, "XXXXX") // the driver copied the packet
	syncDriver(t, d)
	if clk.Pending() != 1 {
		t.Fatalf("driver armed %d timers, want 1", clk.Pending())
	}
	next, _ := clk.Next()
	if got := next.Sub(clock.Epoch); got != 1200*time.Microsecond {
		t.Fatalf("first wake-up at %v, want 1.2ms (end of transmission)", got)
	}
	clk.Advance(21 * time.Millisecond)
	// The timer woke the driver; once it is idle it has moved the packet
	// to the wire and re-armed for its arrival at 21.2ms.
	syncDriver(t, d)
	if next, ok := clk.Next(); !ok || next.Sub(clock.Epoch) != 21200*time.Microsecond {
		t.Fatalf("driver re-armed for %v (%v), want 21.2ms", next.Sub(clock.Epoch), ok)
	}
	select {
	case s := <-out:
		t.Fatalf("packet %q delivered before 21.2ms", s[:5])
	default:
	}
	clk.Advance(200 * time.Microsecond)
	if got := recv(t, out); got[:5] != "first" {
		t.Fatalf("delivered %q", got[:5])
	}
	syncDriver(t, d)
	if clk.Pending() != 0 {
		t.Fatalf("%d timers armed with nothing in flight", clk.Pending())
	}

	// Do runs on the driver goroutine, ordered with Input: change the
	// delay, then send.
	if err := d.Do(func(now time.Time) {
		if err := imp.SetConfig(now, impair.Config{}); err != nil {
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.Input([]byte("second")); err != nil {
		t.Fatal(err)
	}
	syncDriver(t, d)
	clk.Advance(0)
	if got := recv(t, out); got != "second" {
		t.Fatalf("delivered %q", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Input(p); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("Input after Close: %v", err)
	}
	if err := d.Do(func(time.Time) {}); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	if err := d.Sync(); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDriverRealClock(t *testing.T) {
	imp, err := impair.New(impair.Config{Delay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chanEmitter, 100)
	d := link.NewDriver(clock.Real{}, imp, out, 0)
	defer d.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if err := d.Input([]byte{byte(g), byte(i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Every packet comes out, and each goroutine's packets keep their order.
	next := make([]int, 4)
	for range 40 {
		p := recv(t, out)
		g, i := int(p[0]), int(p[1])
		if i != next[g] {
			t.Fatalf("goroutine %d: packet %d arrived, want %d", g, i, next[g])
		}
		next[g]++
	}
}

func TestDriverBacklog(t *testing.T) {
	clk := clock.NewManual()
	block := make(chan struct{})
	started := make(chan struct{})
	out := make(chanEmitter, 10)
	d := link.NewDriver(clk, link.Func(func(now time.Time, p []byte, out link.Emitter) { out.Emit(p) }), out, 2)
	defer d.Close()
	// Hold the goroutine inside Do so that packets pile up.
	if err := d.Do(func(time.Time) { close(started); <-block }); err != nil {
		t.Fatal(err)
	}
	<-started
	for i := range 2 {
		if err := d.Input([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Input([]byte{9}); !errors.Is(err, link.ErrBacklogFull) {
		t.Fatalf("Input with a full backlog: %v", err)
	}
	if got := d.Dropped(); got != 1 {
		t.Fatalf("Dropped() = %d", got)
	}
	close(block)
	for i := range 2 {
		if got := recv(t, out); got != string([]byte{byte(i)}) {
			t.Fatalf("packet %d: got %q", i, got)
		}
	}
}
