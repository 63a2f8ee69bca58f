package pmtest_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/pmtest"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestController: the fake opens subflows from the given or the route's
// address on consecutive ports, refuses what the engine and the stack
// would, and logs every action.
func TestController(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ap := netip.MustParseAddrPort
	c := pmtest.New(base, tcp.ConnID{Local: ap("10.0.1.1:50000"), Remote: ap("10.0.1.2:80")},
		netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("10.0.2.1/24"))
	c.MaxSubflows = 3
	a, err := c.AddSubflow(base, ap("10.0.2.1:0"), ap("10.0.1.2:80"), true)
	if err != nil || a.Local != ap("10.0.2.1:40001") {
		t.Fatalf("AddSubflow: %v %v", a, err)
	}
	b, err := c.AddSubflow(base, netip.AddrPort{}, ap("10.0.9.2:80"), false)
	if err != nil || b.Local != ap("10.0.1.1:40002") {
		t.Fatalf("AddSubflow from the route's address: %v %v", b, err)
	}
	if _, err := c.AddSubflow(base, ap("10.0.1.1:0"), ap("10.0.1.2:80"), false); !errors.Is(err, meta.ErrTooManySubflows) {
		t.Errorf("a fourth subflow: %v, want ErrTooManySubflows", err)
	}
	if _, err := c.AddSubflow(base, ap("10.0.7.1:0"), ap("10.0.1.2:80"), false); !errors.Is(err, stack.ErrAddrNotLocal) {
		t.Errorf("from a foreign address: %v, want ErrAddrNotLocal", err)
	}
	if id, _ := c.Announce(base, ap("10.0.2.1:7100")); id != 1 {
		t.Errorf("the address of the first join announced with ID %d, want 1", id)
	}
	if err := c.RemoveAddr(base, 1); err != nil || len(c.Live) != 2 {
		t.Errorf("RemoveAddr(1): %v, live %v", err, c.Live)
	}
	if err := c.CloseSubflow(base, b, wire.TCPRSTUnspecified); err != nil || len(c.Live) != 1 {
		t.Errorf("CloseSubflow: %v, live %v", err, c.Live)
	}
	c.SetTimer(base.Add(1500 * time.Millisecond))
	c.SetTimer(time.Time{})
	want := []string{
		"add 10.0.2.1:40001 > 10.0.1.2:80 backup",
		"add 10.0.1.1:40002 > 10.0.9.2:80",
		"add 10.0.1.1 > 10.0.1.2:80: meta: subflow limit reached",
		"add 10.0.7.1 > 10.0.1.2:80: stack: address is not local",
		"announce 10.0.2.1:7100 id 1",
		"remove id 1",
		"close 10.0.1.1:40002 > 10.0.9.2:80 reason 0",
		"timer +1.5s",
		"timer off",
	}
	if diff := cmp.Diff(want, c.Take()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if ev := c.Closed(base, a, errors.New("x")); ev.Type != stack.PMEventSubflowClosed || ev.LocalID != 1 || ev.Local != a.Local {
		t.Errorf("Closed: %+v", ev)
	}
}
