package pathmgr_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/pathmgr"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/pmtest"
	"github.com/gomptcp/mptcp/tcp"
)

var (
	base       = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	errTimeout = errors.New("subflow timed out")
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// step is one event of a table: at is its time after base, ev makes it
// (and may change the fake first), want is what the path manager did.
type step struct {
	at   time.Duration
	ev   func(c *pmtest.Controller, now time.Time) stack.PMEvent
	want []string
}

func simple(t stack.PMEventType) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		return stack.PMEvent{Type: t, Time: now, Token: c.Tok, Local: c.Initial.Local, Remote: c.Initial.Remote}
	}
}

func announced(id uint8, a string) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		return stack.PMEvent{Type: stack.PMEventAnnounced, Time: now, Token: c.Tok, RemoteID: id, Remote: netip.MustParseAddrPort(a)}
	}
}

func removed(id uint8) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		return stack.PMEvent{Type: stack.PMEventRemoved, Time: now, Token: c.Tok, RemoteID: id}
	}
}

// nth returns the n-th live subflow from l to r (n from 0, in the order
// they were opened).
func nth(c *pmtest.Controller, l, r string, n int) tcp.ConnID {
	for _, id := range c.Live {
		if id.Local.Addr() == mustAddr(l) && id.Remote.Addr() == mustAddr(r) && id != c.Initial {
			if n == 0 {
				return id
			}
			n--
		}
	}
	return tcp.ConnID{}
}

func up(l, r string, n int) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent { return c.Established(now, nth(c, l, r, n)) }
}

func down(l, r string, n int, err error, requested bool) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		ev := c.Closed(now, nth(c, l, r, n), err)
		ev.Requested = requested
		return ev
	}
}

func addrEvent(t stack.PMEventType, a string) func(*pmtest.Controller, time.Time) stack.PMEvent {
	return func(c *pmtest.Controller, now time.Time) stack.PMEvent {
		if t == stack.PMEventLocalAddrRemoved {
			c.RemoveAddrs(mustAddr(a))
		} else if !c.IsLocal(mustAddr(a)) {
			c.AddAddrs(netip.PrefixFrom(mustAddr(a), 24))
		}
		return stack.PMEvent{Type: t, Time: now, Token: c.Tok, Local: netip.AddrPortFrom(mustAddr(a), 0)}
	}
}

func run(t *testing.T, pm stack.PathManager, c *pmtest.Controller, steps []step) {
	t.Helper()
	for i, s := range steps {
		now := base.Add(s.at)
		ev := s.ev(c, now)
		pm.HandleEvent(now, c, ev)
		if diff := cmp.Diff(s.want, c.Take()); diff != "" {
			t.Fatalf("step %d (%v at +%v): actions (-want +got):\n%s", i, ev.Type, s.at, diff)
		}
	}
}

// fake is a connection from 10.0.1.1 to 10.0.1.2:80 on a stack that also
// has 10.0.2.1.
func fake() *pmtest.Controller {
	return pmtest.New(base, tcp.ConnID{Local: netip.MustParseAddrPort("10.0.1.1:50000"), Remote: netip.MustParseAddrPort("10.0.1.2:80")},
		netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("10.0.2.1/24"))
}

// TestFullmeshEvents runs Fullmesh over event sequences on a fake
// connection.
func TestFullmeshEvents(t *testing.T) {
	tests := []struct {
		name  string
		pm    *pathmgr.Fullmesh
		steps []step
	}{
		{"retry with backoff", &pathmgr.Fullmesh{}, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
			{time.Second, up("10.0.2.1", "10.0.1.2", 0), nil},
			{5 * time.Second, down("10.0.2.1", "10.0.1.2", 0, errTimeout, false), []string{"timer +6s"}},
			{6 * time.Second, simple(stack.PMEventTimer), []string{"add 10.0.2.1:40002 > 10.0.1.2:80"}},
			{7 * time.Second, down("10.0.2.1", "10.0.1.2", 0, errTimeout, false), []string{"timer +9s"}},
			{9 * time.Second, simple(stack.PMEventTimer), []string{"add 10.0.2.1:40003 > 10.0.1.2:80"}},
		}},
		{"announced, removed", &pathmgr.Fullmesh{}, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
			{time.Second, announced(4, "10.0.9.2:0"),
				[]string{"add 10.0.1.1:40002 > 10.0.9.2:80", "add 10.0.2.1:40003 > 10.0.9.2:80"}},
			{2 * time.Second, down("10.0.1.1", "10.0.9.2", 0, errTimeout, false), []string{"timer +3s"}},
			// The peer withdraws it: no retry is left to wait for.
			{2500 * time.Millisecond, removed(4), []string{"timer off"}},
			{3 * time.Second, down("10.0.2.1", "10.0.9.2", 0, errTimeout, true), nil},
		}},
		{"requested stays closed until the address comes back", &pathmgr.Fullmesh{}, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
			{time.Second, down("10.0.2.1", "10.0.1.2", 0, errTimeout, true), nil},
			{2 * time.Second, announced(4, "10.0.9.2:7100"),
				[]string{"add 10.0.1.1:40002 > 10.0.9.2:7100", "add 10.0.2.1:40003 > 10.0.9.2:7100"}},
			{3 * time.Second, addrEvent(stack.PMEventLocalAddrAdded, "10.0.2.1"), []string{"add 10.0.2.1:40004 > 10.0.1.2:80"}},
		}},
		{"address leaves", &pathmgr.Fullmesh{}, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
			{time.Second, addrEvent(stack.PMEventLocalAddrRemoved, "10.0.2.1"), []string{"remove id 1"}},
			{2 * time.Second, addrEvent(stack.PMEventLocalAddrAdded, "10.0.3.1"), []string{"add 10.0.3.1:40002 > 10.0.1.2:80"}},
			{3 * time.Second, addrEvent(stack.PMEventLocalAddrAdded, "10.0.2.1"), []string{"add 10.0.2.1:40003 > 10.0.1.2:80"}},
		}},
		{"an address back retries all waiting", &pathmgr.Fullmesh{}, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
			{time.Second, announced(4, "10.0.9.2:0"),
				[]string{"add 10.0.1.1:40002 > 10.0.9.2:80", "add 10.0.2.1:40003 > 10.0.9.2:80"}},
			{2 * time.Second, down("10.0.1.1", "10.0.9.2", 0, errTimeout, false), []string{"timer +3s"}},
			{2500 * time.Millisecond, addrEvent(stack.PMEventLocalAddrAdded, "10.0.3.1"), []string{
				"add 10.0.3.1:40004 > 10.0.1.2:80", "add 10.0.1.1:40005 > 10.0.9.2:80", "add 10.0.3.1:40006 > 10.0.9.2:80", "timer off"}},
		}},
		{"per pair, limit", &pathmgr.Fullmesh{PerPair: 2, MaxSubflows: 3}, []step{
			{0, simple(stack.PMEventEstablished),
				[]string{"add 10.0.1.1:40001 > 10.0.1.2:80", "add 10.0.2.1:40002 > 10.0.1.2:80", "add 10.0.2.1:40003 > 10.0.1.2:80"}},
			{time.Second, down("10.0.2.1", "10.0.1.2", 1, errTimeout, false), []string{"timer +2s"}},
			{2 * time.Second, simple(stack.PMEventTimer), []string{"add 10.0.2.1:40004 > 10.0.1.2:80"}},
		}},
		{"Linux: no retry", &pathmgr.Fullmesh{Backoff: stack.PMBackoff{Initial: -1}}, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.2.1:40001 > 10.0.1.2:80"}},
			{time.Second, down("10.0.2.1", "10.0.1.2", 0, errTimeout, false), nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.pm, fake(), tt.steps) })
	}
}

// TestNDiffPortsEvents runs NDiffPorts over event sequences on a fake
// connection.
func TestNDiffPortsEvents(t *testing.T) {
	const l, r = "10.0.1.1", "10.0.1.2"
	tests := []struct {
		name   string
		pm     *pathmgr.NDiffPorts
		server bool
		steps  []step
	}{
		{"replace with backoff", &pathmgr.NDiffPorts{N: 3}, false, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.1.1:40001 > 10.0.1.2:80", "add 10.0.1.1:40002 > 10.0.1.2:80"}},
			{time.Second, up(l, r, 0), nil},
			{2 * time.Second, down(l, r, 0, errTimeout, false), []string{"timer +3s"}},
			// Another fails while the replacement waits: it fills both.
			{2500 * time.Millisecond, down(l, r, 0, errTimeout, false), nil},
			{3 * time.Second, simple(stack.PMEventTimer), []string{"add 10.0.1.1:40003 > 10.0.1.2:80", "add 10.0.1.1:40004 > 10.0.1.2:80"}},
			{4 * time.Second, down(l, r, 1, errTimeout, false), []string{"timer +6s"}},
			{6 * time.Second, simple(stack.PMEventTimer), []string{"add 10.0.1.1:40005 > 10.0.1.2:80"}},
		}},
		{"closed on request lowers the count", &pathmgr.NDiffPorts{N: 3}, false, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.1.1:40001 > 10.0.1.2:80", "add 10.0.1.1:40002 > 10.0.1.2:80"}},
			{time.Second, down(l, r, 0, errTimeout, true), nil},
			{2 * time.Second, down(l, r, 0, nil, false), nil}, // in order
			{3 * time.Second, addrEvent(stack.PMEventLocalAddrAdded, l),
				[]string{"add 10.0.1.1:40003 > 10.0.1.2:80", "add 10.0.1.1:40004 > 10.0.1.2:80"}},
		}},
		{"an address back retries at once", &pathmgr.NDiffPorts{N: 2}, false, []step{
			{0, simple(stack.PMEventEstablished), []string{"add 10.0.1.1:40001 > 10.0.1.2:80"}},
			{time.Second, down(l, r, 0, errTimeout, false), []string{"timer +2s"}},
			{1500 * time.Millisecond, addrEvent(stack.PMEventLocalAddrAdded, "10.0.3.1"), []string{"add 10.0.1.1:40002 > 10.0.1.2:80", "timer off"}},
			// Nothing waits: another address changes nothing.
			{2 * time.Second, addrEvent(stack.PMEventLocalAddrAdded, "10.0.4.1"), nil},
		}},
		{"server side does nothing", &pathmgr.NDiffPorts{N: 3}, true, []step{
			{0, simple(stack.PMEventEstablished), nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake()
			c.Server = tt.server
			run(t, tt.pm, c, tt.steps)
		})
	}
}
