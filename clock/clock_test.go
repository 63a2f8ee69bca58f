package clock

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestManualStartsAtEpoch(t *testing.T) {
	m := NewManual()
	if got := m.Now(); !got.Equal(Epoch) {
		t.Fatalf("Now() = %v, want %v", got, Epoch)
	}
	if Epoch.IsZero() || Epoch.Year() != 2000 {
		t.Fatalf("Epoch = %v", Epoch)
	}
}

type firing struct {
	Name string
	At   time.Duration // Now()-Epoch inside the callback
}

func TestManualFiringOrder(t *testing.T) {
	m := NewManual()
	var got []firing
	add := func(name string, d time.Duration) Timer {
		return m.AfterFunc(d, func() { got = append(got, firing{name, m.Now().Sub(Epoch)}) })
	}
	add("c", 30*time.Millisecond)
	add("a1", 10*time.Millisecond)
	add("b", 20*time.Millisecond)
	add("a2", 10*time.Millisecond) // same deadline as a1, scheduled later
	add("late", time.Second)
	add("now", 0)
	add("neg", -time.Second) // due at once, scheduled after "now"

	m.Advance(25 * time.Millisecond)
	want := []firing{{"now", 0}, {"neg", 0}, {"a1", 10 * time.Millisecond}, {"a2", 10 * time.Millisecond}, {"b", 20 * time.Millisecond}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("firings after Advance(25ms) (-want +got):\n%s", diff)
	}
	if d := m.Now().Sub(Epoch); d != 25*time.Millisecond {
		t.Fatalf("Now after Advance = %v past epoch, want 25ms", d)
	}
	if n := m.Pending(); n != 2 {
		t.Fatalf("Pending() = %d, want 2", n)
	}
	next, ok := m.Next()
	if !ok || next.Sub(Epoch) != 30*time.Millisecond {
		t.Fatalf("Next() = %v, %v; want epoch+30ms", next, ok)
	}
	m.Set(Epoch.Add(time.Second))
	want = append(want, firing{"c", 30 * time.Millisecond}, firing{"late", time.Second})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("firings after Set (-want +got):\n%s", diff)
	}
	if _, ok := m.Next(); ok {
		t.Fatal("Next() reports a timer after all fired")
	}
}

func TestManualTimersScheduledByCallbacks(t *testing.T) {
	m := NewManual()
	var got []time.Duration
	var tick func()
	tick = func() {
		got = append(got, m.Now().Sub(Epoch))
		if len(got) < 5 {
			m.AfterFunc(10*time.Millisecond, tick)
		}
	}
	m.AfterFunc(10*time.Millisecond, tick)
	m.Advance(35 * time.Millisecond)
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("periodic firings (-want +got):\n%s", diff)
	}
	m.Advance(time.Hour)
	if len(got) != 5 {
		t.Fatalf("got %d firings, want 5", len(got))
	}
}

func TestManualStopReset(t *testing.T) {
	m := NewManual()
	fired := map[string]int{}
	ta := m.AfterFunc(10*time.Millisecond, func() { fired["a"]++ })
	tb := m.AfterFunc(10*time.Millisecond, func() { fired["b"]++ })
	tc := m.AfterFunc(5*time.Millisecond, func() { fired["c"]++ })

	if !ta.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if ta.Stop() {
		t.Fatal("second Stop returned true")
	}
	if !tb.Reset(50 * time.Millisecond) {
		t.Fatal("Reset of a pending timer returned false")
	}
	m.Advance(20 * time.Millisecond)
	if diff := cmp.Diff(map[string]int{"c": 1}, fired); diff != "" {
		t.Fatalf("after 20ms (-want +got):\n%s", diff)
	}
	if tc.Stop() {
		t.Fatal("Stop of a fired timer returned true")
	}
	if tc.Reset(time.Millisecond) {
		t.Fatal("Reset of a fired timer returned true")
	}
	if ta.Reset(0) {
		t.Fatal("Reset of a stopped timer returned true")
	}
	m.Advance(0)
	if diff := cmp.Diff(map[string]int{"a": 1, "c": 1}, fired); diff != "" {
		t.Fatalf("after Advance(0) (-want +got):\n%s", diff)
	}
	m.Advance(30 * time.Millisecond) // now 50ms: b fires exactly at its deadline
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 1, "c": 2}, fired); diff != "" {
		t.Fatalf("after 50ms (-want +got):\n%s", diff)
	}
}

func TestManualResetOrdersAfterEqualDeadlines(t *testing.T) {
	m := NewManual()
	var got []string
	t1 := m.AfterFunc(10*time.Millisecond, func() { got = append(got, "1") })
	m.AfterFunc(10*time.Millisecond, func() { got = append(got, "2") })
	t1.Reset(10 * time.Millisecond) // same deadline, but now scheduled last
	m.Advance(10 * time.Millisecond)
	if diff := cmp.Diff([]string{"2", "1"}, got); diff != "" {
		t.Fatalf("order (-want +got):\n%s", diff)
	}
}

func TestManualSetBackwards(t *testing.T) {
	m := NewManual()
	fired := false
	m.AfterFunc(time.Second, func() { fired = true })
	m.Set(Epoch.Add(-time.Hour))
	if got := m.Now(); !got.Equal(Epoch.Add(-time.Hour)) {
		t.Fatalf("Now() = %v after moving back", got)
	}
	if fired {
		t.Fatal("timer fired when the clock moved back")
	}
	m.Advance(time.Hour)
	if fired {
		t.Fatal("timer fired before its deadline")
	}
	m.Advance(time.Second)
	if !fired {
		t.Fatal("timer did not fire at its deadline")
	}
}

func TestManualConcurrentUse(t *testing.T) {
	m := NewManual()
	var mu sync.Mutex
	count := 0
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				tm := m.AfterFunc(time.Duration(i*50+j)*time.Microsecond, func() {
					mu.Lock()
					count++
					mu.Unlock()
				})
				if j%10 == 0 {
					tm.Stop()
				}
				_ = m.Now()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100 {
			m.Advance(time.Microsecond)
		}
	}()
	wg.Wait()
	m.Advance(time.Second)
	// 8*50 timers, 8*5 of them stopped; some may have fired before Stop.
	if count < 8*45 || count > 8*50 {
		t.Fatalf("%d timers fired, want between %d and %d", count, 8*45, 8*50)
	}
	if n := m.Pending(); n != 0 {
		t.Fatalf("Pending() = %d after advancing past all deadlines", n)
	}
}

func TestReal(t *testing.T) {
	var c Clock = Real{}
	before := time.Now()
	if now := c.Now(); now.Before(before) {
		t.Fatalf("Real.Now() = %v, before %v", now, before)
	}
	done := make(chan struct{})
	tm := c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	if tm.Stop() {
		t.Fatal("Stop after firing returned true")
	}
	stopped := c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending real timer returned false")
	}
	done2 := make(chan struct{})
	tm2 := c.AfterFunc(time.Hour, func() { close(done2) })
	if !tm2.Reset(time.Millisecond) {
		t.Fatal("Reset of a pending real timer returned false")
	}
	<-done2
}
