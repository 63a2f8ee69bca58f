package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// pmFakeSource is an event source fed by the test.
type pmFakeSource struct {
	ch     chan pm.Event
	err    error
	closed bool
}

func (s *pmFakeSource) Events() <-chan pm.Event { return s.ch }
func (s *pmFakeSource) Err() error              { return s.err }
func (s *pmFakeSource) Close() error            { s.closed = true; return nil }

// pmEvents returns realistic events, built through their attribute sets.
func pmEvents() []pm.Event {
	set := func(attrs ...pm.EventAttr) pm.EventAttrs {
		var s pm.EventAttrs
		for _, a := range attrs {
			s |= 1 << a
		}
		return s
	}
	a1, a2 := netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("10.0.2.2")
	return []pm.Event{
		{Type: pm.EventCreated, Present: set(pm.AttrToken, pm.AttrFamily, pm.AttrLocID, pm.AttrRemID, pm.AttrSaddr4, pm.AttrDaddr4, pm.AttrSport, pm.AttrDport, pm.AttrFlags),
			Token: 0x260ff3aa, Family: 2, SAddr: a1, DAddr: a1, SPort: 5000, DPort: 38954, Flags: pm.EventFlagServerSide, ServerSide: true},
		{Type: pm.EventSubEstablished, Present: set(pm.AttrToken, pm.AttrFamily, pm.AttrLocID, pm.AttrRemID, pm.AttrSaddr4, pm.AttrDaddr4, pm.AttrSport, pm.AttrDport, pm.AttrBackup, pm.AttrIfIdx),
			Token: 0x260ff3aa, Family: 2, LocalID: 1, SAddr: a2, DAddr: a1, SPort: 42901, DPort: 5000, IfIndex: 3},
		{Type: pm.EventClosed, Present: set(pm.AttrToken), Token: 0x260ff3aa},
		{Type: 42, Present: set(pm.AttrToken), Token: 1, Unknown: []pm.UnknownAttr{{Type: 99, Data: []byte{0xab}}}},
	}
}

func TestParseMonitorArgs(t *testing.T) {
	tests := []struct {
		args string
		want monitorCmd
	}{
		{"", monitorCmd{}},
		{"--json", monitorCmd{json: true}},
		{"-j", monitorCmd{json: true}},
		{"--count 3 --timeout 1.5s", monitorCmd{count: 3, timeout: 1500 * time.Millisecond}},
		{"-count=0 -timeout=0", monitorCmd{}},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		got, err := parseMonitorArgs(strings.Fields(tt.args), &stderr)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.args, got, tt.want)
		}
	}
	for _, bad := range []string{"now", "--count -1", "--timeout -1s", "--timeout soon", "--count x", "--bogus", "--json extra"} {
		var stderr bytes.Buffer
		if _, err := parseMonitorArgs(strings.Fields(bad), &stderr); !errors.Is(err, errUsage) {
			t.Errorf("%q: error %v, want a usage error", bad, err)
		}
	}
}

func TestMonitorText(t *testing.T) {
	src := &pmFakeSource{ch: make(chan pm.Event, 10)}
	for _, ev := range pmEvents() {
		src.ch <- ev
	}
	src.ch <- pm.Event{Err: pm.ErrEventsLost}
	close(src.ch)
	var stdout, stderr bytes.Buffer
	if err := monitorLoop(context.Background(), src, monitorCmd{}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	want := "[         CREATED] token=260ff3aa remid=0 locid=0 saddr4=10.0.1.1 daddr4=10.0.1.1 sport=5000 dport=38954 server_side\n" +
		"[  SF_ESTABLISHED] token=260ff3aa remid=0 locid=1 saddr4=10.0.2.2 daddr4=10.0.1.1 sport=42901 dport=5000 backup=0 ifindex=3\n" +
		"[          CLOSED] token=260ff3aa\n" +
		"[UNKNOWN 42] token=00000001 attr99=ab\n"
	if stdout.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if !strings.Contains(stderr.String(), "events lost") {
		t.Errorf("stderr %q lacks the lost-events warning", stderr.String())
	}
}

func TestMonitorJSONAndCount(t *testing.T) {
	src := &pmFakeSource{ch: make(chan pm.Event, 10)}
	for _, ev := range pmEvents() {
		src.ch <- ev
	}
	var stdout, stderr bytes.Buffer
	if err := monitorLoop(context.Background(), src, monitorCmd{json: true, count: 2}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"CREATED","token":"260ff3aa","remid":0,"locid":0,"saddr":"10.0.1.1","daddr":"10.0.1.1","sport":5000,"dport":38954,"server_side":true}` + "\n" +
		`{"type":"SF_ESTABLISHED","token":"260ff3aa","remid":0,"locid":1,"saddr":"10.0.2.2","daddr":"10.0.1.1","sport":42901,"dport":5000,"backup":false,"ifindex":3}` + "\n"
	if stdout.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if len(src.ch) != 2 {
		t.Errorf("%d events left unread, want 2 (stopped after --count 2)", len(src.ch))
	}
}

func TestMonitorUnknownJSON(t *testing.T) {
	ev := pmEvents()[3]
	ev.Flags = 1 | 1<<5
	ev.Err = errors.New("bad attribute")
	var b bytes.Buffer
	if err := printPMEvent(&b, ev, true); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"UNKNOWN 42","token":"00000001","deny_join_id0":true,"flags":"0x20","unknown":[{"type":99,"data":"ab"}],"decode_error":"bad attribute"}` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}

func TestMonitorEnds(t *testing.T) {
	// The source fails: the error is returned.
	boom := errors.New("socket gone")
	src := &pmFakeSource{ch: make(chan pm.Event), err: boom}
	close(src.ch)
	var stdout, stderr bytes.Buffer
	if err := monitorLoop(context.Background(), src, monitorCmd{}, &stdout, &stderr); !errors.Is(err, boom) {
		t.Errorf("error = %v, want %v", err, boom)
	}

	// The context ends (timeout or interrupt): a normal exit.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src = &pmFakeSource{ch: make(chan pm.Event)}
	if err := monitorLoop(ctx, src, monitorCmd{}, &stdout, &stderr); err != nil {
		t.Errorf("error = %v after the context ended, want nil", err)
	}
}

func TestRunMonitorTimeout(t *testing.T) {
	old := subscribePM
	t.Cleanup(func() { subscribePM = old })
	src := &pmFakeSource{ch: make(chan pm.Event)}
	subscribePM = func(ctx context.Context) (pmEventSource, error) { return src, nil }
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runMonitor([]string{"--timeout", "10ms"}, &stdout, &stderr) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runMonitor: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("--timeout did not stop the monitor")
	}
	if !src.closed {
		t.Error("event source not closed")
	}

	subscribePM = func(ctx context.Context) (pmEventSource, error) { return nil, pm.ErrNotSupported }
	if code := run([]string{"monitor"}, &stdout, &stderr); code != 1 {
		t.Errorf("subscribe failure: exit %d, want 1", code)
	}
}

// FuzzParseMonitorArgs: any argument list parses to bounds or a usage
// error.
func FuzzParseMonitorArgs(f *testing.F) {
	for _, s := range []string{"", "--json --count 3", "--timeout 2s", "-count=-1", "extra"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseMonitorArgs(strings.Fields(s), io.Discard)
		if err != nil {
			if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("%q: error %v is not a usage error", s, err)
			}
			return
		}
		if c.count < 0 || c.timeout < 0 {
			t.Fatalf("%q: negative bound %+v", s, c)
		}
	})
}
