//go:build linux

package mptcpd

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/gomptcp/mptcp/kernel/pm"
)

// testLog sends a daemon's log to the test's log.
type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// runningDaemon is a Daemon running in a test namespace, with a recorder
// plugin last.
type runningDaemon struct {
	d    *Daemon
	rec  *recorder
	stop func()
}

// startDaemon runs a daemon inside ns with the named plugins and waits
// until they started. It is stopped when the test ends, or by stop.
func startDaemon(t *testing.T, ns *kerneltest.Netns, plugins map[string]Options, order ...string) *runningDaemon {
	t.Helper()
	nlc := ns.NetlinkConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	client, err := pm.Dial(nlc)
	if errors.Is(err, pm.ErrFamilyNotFound) {
		cancel()
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		cancel()
		t.Fatalf("pm.Dial: %v", err)
	}
	events, err := pm.Subscribe(ctx, nlc)
	if err != nil {
		cancel()
		client.Close()
		t.Fatalf("pm.Subscribe: %v", err)
	}
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	netmon, err := MonitorNet(ctx, nlc, log)
	if err != nil {
		cancel()
		events.Close()
		client.Close()
		t.Fatalf("MonitorNet: %v", err)
	}
	var ps []Plugin
	for _, name := range order {
		p, err := NewPlugin(name, plugins[name])
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	rec := &recorder{notify: make(chan struct{}, 1)}
	d, err := New(Config{Driver: NewKernelDriver(client), Plugins: append(ps, rec), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, events, netmon) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			events.Close()
			netmon.Close()
			client.Close()
		})
	}
	t.Cleanup(stop)
	r := &runningDaemon{d: d, rec: rec, stop: stop}
	r.wait(t, "the plugins to start", func(l string) bool { return strings.HasPrefix(l, "start ") })
	return r
}

// wait waits up to 10 s for a hook call of the recorder matching pred.
func (r *runningDaemon) wait(t *testing.T, what string, pred func(string) bool) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		if i := slices.IndexFunc(r.rec.lines(), pred); i >= 0 {
			return r.rec.lines()[i]
		}
		select {
		case <-r.rec.notify:
		case <-timeout:
			t.Fatalf("no %s within 10s; hooks:\n%s", what, strings.Join(r.rec.lines(), "\n"))
		}
	}
}

// waitSubflows waits until n subflows of the connection with the given
// token were reported established.
func (r *runningDaemon) waitSubflows(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	r.wait(t, "established subflows", func(string) bool {
		got = nil
		for _, l := range r.rec.lines() {
			if strings.HasPrefix(l, "sf established ") {
				got = append(got, l)
			}
		}
		return len(got) >= n
	})
	return got
}

// mibDelta returns how much a counter grew between two samples.
func mibDelta(before, after kernel.MIB, name string) int64 {
	a, _ := before.Get(name)
	b, _ := after.Get(name)
	return int64(b) - int64(a)
}

// clientSubflows returns the local and remote address of each subflow of
// the client's socket.
func clientSubflows(t *testing.T, c *kerneltest.Conn) []kernel.SubflowAddr {
	t.Helper()
	sfs, err := kernel.SubflowAddrs(c.Client)
	if err != nil {
		t.Fatalf("SubflowAddrs: %v", err)
	}
	return sfs
}

// paths returns "local addr -> remote addr" for each subflow, sorted.
func paths(sfs []kernel.SubflowAddr) []string {
	var out []string
	for _, s := range sfs {
		out = append(out, s.Local.Addr().Unmap().String()+" -> "+netip.AddrPortFrom(s.Remote.Addr().Unmap(), s.Remote.Port()).String())
	}
	slices.Sort(out)
	return out
}

func TestKernelSSPI(t *testing.T) {
	p := newTwoPaths(t, true, false)
	ignore := goleak.IgnoreCurrent()
	r := startDaemon(t, p.Client, nil, "sspi")
	cBefore, sBefore := p.Client.MIB(t), p.Server.MIB(t)
	c := connect(t, p)
	sfs := r.waitSubflows(t, 1)
	want := []string{"10.77.1.1 -> " + c.ServerAddr().String(), "10.77.2.1 -> " + c.ServerAddr().String()}
	if got := paths(clientSubflows(t, c)); !slices.Equal(got, want) {
		t.Errorf("subflows = %v, want %v", got, want)
	}
	if ss := p.Client.Exec(t, "ss", "-tnH", "state", "established"); !strings.Contains(ss, "10.77.2.1%gmt1:") {
		t.Errorf("ss does not show a subflow bound to gmt1:\n%s", ss)
	}
	if len(sfs) != 1 || !strings.Contains(sfs[0], "(id 2)") {
		t.Errorf("subflow events = %v, want one from address ID 2", sfs)
	}
	cAfter, sAfter := p.Client.MIB(t), p.Server.MIB(t)
	if d := mibDelta(cBefore, cAfter, "MPJoinSynTx"); d != 1 {
		t.Errorf("client MPJoinSynTx grew by %d, want 1", d)
	}
	if d := mibDelta(sBefore, sAfter, "MPJoinAckRx"); d != 1 {
		t.Errorf("server MPJoinAckRx grew by %d, want 1", d)
	}
	if req, created, failed := r.d.Metrics().Subflows(); req != 1 || created != 1 || failed != 0 {
		t.Errorf("metrics: requested %d created %d failed %d", req, created, failed)
	}
	c.Client.Close()
	c.Server.Close()
	r.wait(t, "CLOSED", func(l string) bool { return strings.HasPrefix(l, "closed ") })
	r.stop()
	goleak.VerifyNone(t, ignore)
}

func TestKernelFullmesh(t *testing.T) {
	p := newTwoPaths(t, true, true)
	r := startDaemon(t, p.Client, nil, "fullmesh")
	cBefore := p.Client.MIB(t)
	c := connect(t, p)
	r.wait(t, "the server's announcement", func(l string) bool {
		return strings.HasPrefix(l, "announced ") && strings.Contains(l, "10.77.2.2:")
	})
	r.waitSubflows(t, 3)
	port := c.ServerAddr().Port()
	want := []string{}
	for _, l := range []string{"10.77.1.1", "10.77.2.1"} {
		for _, s := range []string{"10.77.1.2", "10.77.2.2"} {
			want = append(want, l+" -> "+netip.AddrPortFrom(netip.MustParseAddr(s), port).String())
		}
	}
	if got := paths(clientSubflows(t, c)); !slices.Equal(got, want) {
		t.Errorf("subflows = %v, want %v", got, want)
	}
	cAfter := p.Client.MIB(t)
	if d := mibDelta(cBefore, cAfter, "MPJoinSynTx"); d != 3 {
		t.Errorf("client MPJoinSynTx grew by %d, want 3", d)
	}
	if d := mibDelta(cBefore, cAfter, "AddAddr"); d != 1 {
		t.Errorf("client AddAddr grew by %d, want 1", d)
	}
}

func TestKernelNdiffports(t *testing.T) {
	p := newTwoPaths(t, true, false)
	r := startDaemon(t, p.Client, map[string]Options{"ndiffports": {"count": "3"}}, "ndiffports")
	cBefore, sBefore := p.Client.MIB(t), p.Server.MIB(t)
	c := connect(t, p)
	r.waitSubflows(t, 2)
	sfs := clientSubflows(t, c)
	ports := map[uint16]bool{}
	for _, s := range sfs {
		if s.Local.Addr().Unmap() != p.ClientAddrs[0] || netip.AddrPortFrom(s.Remote.Addr().Unmap(), s.Remote.Port()) != c.ServerAddr() {
			t.Errorf("subflow %v -> %v is not over the initial pair", s.Local, s.Remote)
		}
		ports[s.Local.Port()] = true
	}
	if len(sfs) != 3 || len(ports) != 3 {
		t.Errorf("subflows %v: want 3 with distinct source ports", sfs)
	}
	if d := mibDelta(cBefore, p.Client.MIB(t), "MPJoinSynTx"); d != 2 {
		t.Errorf("client MPJoinSynTx grew by %d, want 2", d)
	}
	if d := mibDelta(sBefore, p.Server.MIB(t), "MPJoinAckRx"); d != 2 {
		t.Errorf("server MPJoinAckRx grew by %d, want 2", d)
	}
}

func TestKernelBackup(t *testing.T) {
	p := newTwoPaths(t, true, false)
	r := startDaemon(t, p.Client, map[string]Options{"backup": {"interfaces": "gmt1"}}, "sspi", "backup")
	// The server reports the MP_PRIO it receives as an SF_PRIO event.
	srvEvents, err := pm.Subscribe(context.Background(), p.Server.NetlinkConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srvEvents.Close()
	cBefore, sBefore := p.Client.MIB(t), p.Server.MIB(t)
	c := connect(t, p)
	r.waitSubflows(t, 1)
	timeout := time.After(10 * time.Second)
	for prio := false; !prio; {
		select {
		case ev := <-srvEvents.Events():
			if ev.Type == pm.EventSubPriority {
				prio = true
				if !ev.Backup || ev.DAddr != p.ClientAddrs[1] {
					t.Errorf("server SF_PRIO = %v, want backup=1 for the subflow from %v", ev, p.ClientAddrs[1])
				}
			}
		case <-timeout:
			t.Fatal("no SF_PRIO event on the server within 10s")
		}
	}
	if d := mibDelta(cBefore, p.Client.MIB(t), "MPPrioTx"); d != 1 {
		t.Errorf("client MPPrioTx grew by %d, want 1", d)
	}
	if d := mibDelta(sBefore, p.Server.MIB(t), "MPPrioRx"); d != 1 {
		t.Errorf("server MPPrioRx grew by %d, want 1", d)
	}
	// ss marks the local backup subflow with "b" (MPTCP_SUBFLOW_FLAG_BKUP_LOC)
	// and leaves the initial one alone.
	seen := 0
	sfs := p.Client.SSSubflows(t)
	for _, sf := range sfs {
		if sf.State != "ESTAB" {
			continue
		}
		seen++
		backup := strings.Contains(sf.Flags, "b")
		overGmt1 := strings.Contains(sf.Local, p.ClientAddrs[1].String())
		if backup != overGmt1 {
			t.Errorf("subflow %s flags %q (over gmt1: %v); ss subflows:\n%+v", sf.Local, sf.Flags, overGmt1, sfs)
		}
	}
	if seen != 2 {
		t.Errorf("%d established MPTCP subflows in ss output, want 2:\n%+v", seen, sfs)
	}
	if ok, failed := r.d.Metrics().Command("set_backup"); ok != 1 || failed != 0 {
		t.Errorf("set_backup commands: %d ok, %d failed", ok, failed)
	}
	c.Client.Close()
}

// ipEndpoints returns "ADDRESS FLAGS dev DEV" for each endpoint of ns.
func ipEndpoints(t *testing.T, ns *kerneltest.Netns) []string {
	t.Helper()
	var eps []string
	for _, e := range ns.MPTCPEndpoints(t) {
		s := e.Addr.String()
		for _, f := range []string{"signal", "subflow", "backup", "fullmesh"} {
			if e.Has(f) {
				s += " " + f
			}
		}
		if e.Dev != "" {
			s += " dev " + e.Dev
		}
		eps = append(eps, s)
	}
	slices.Sort(eps)
	return eps
}

func TestKernelAddrAdv(t *testing.T) {
	p := newTwoPaths(t, false, false)
	// The in-kernel path manager of the client may open one more subflow.
	p.Client.IP(t, "mptcp", "limits", "set", "subflow", "2")
	r := startDaemon(t, p.Client, map[string]Options{"addr_adv": {"flags": "subflow,backup"}}, "addr_adv")
	want := []string{"10.77.1.1 subflow backup dev gmt0", "10.77.2.1 subflow backup dev gmt1"}
	if got := ipEndpoints(t, p.Client); !slices.Equal(got, want) {
		t.Errorf("endpoints at start = %v, want %v", got, want)
	}

	p.Client.IP(t, "addr", "add", "10.77.3.1/24", "dev", "gmt0")
	r.wait(t, "10.77.3.1 to appear", func(l string) bool { return strings.HasPrefix(l, "addr added 10.77.3.1/24") })
	want = []string{"10.77.1.1 subflow backup dev gmt0", "10.77.2.1 subflow backup dev gmt1", "10.77.3.1 subflow backup dev gmt0"}
	if got := ipEndpoints(t, p.Client); !slices.Equal(got, want) {
		t.Errorf("endpoints after adding 10.77.3.1 = %v, want %v", got, want)
	}
	p.Client.IP(t, "addr", "del", "10.77.3.1/24", "dev", "gmt0")
	r.wait(t, "10.77.3.1 to go", func(l string) bool { return strings.HasPrefix(l, "addr removed 10.77.3.1/24") })
	want = want[:2]
	if got := ipEndpoints(t, p.Client); !slices.Equal(got, want) {
		t.Errorf("endpoints after deleting 10.77.3.1 = %v, want %v", got, want)
	}

	// The in-kernel path manager uses the endpoints: a connection from
	// 10.77.1.1 gets a backup subflow from 10.77.2.1.
	sBefore := p.Server.MIB(t)
	c := connect(t, p)
	r.waitSubflows(t, 1)
	want = []string{"10.77.1.1 -> " + c.ServerAddr().String(), "10.77.2.1 -> " + c.ServerAddr().String()}
	if got := paths(clientSubflows(t, c)); !slices.Equal(got, want) {
		t.Errorf("subflows = %v, want %v", got, want)
	}
	if d := mibDelta(sBefore, p.Server.MIB(t), "MPJoinSynBackupRx"); d != 1 {
		t.Errorf("server MPJoinSynBackupRx grew by %d, want 1", d)
	}

	// Stopping the daemon deletes the endpoints it added.
	r.stop()
	if got := ipEndpoints(t, p.Client); len(got) != 0 {
		t.Errorf("endpoints after stop = %v, want none", got)
	}
}

func TestKernelNetMonitor(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := MonitorNet(ctx, ns.NetlinkConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	next := func(what string) NetUpdate {
		t.Helper()
		select {
		case u, ok := <-m.Updates():
			if !ok {
				t.Fatalf("updates closed before %s: %v", what, m.Err())
			}
			return u
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10s", what)
		}
		return NetUpdate{}
	}
	// waitFor skips updates until one satisfies pred.
	waitFor := func(what string, pred func(NetUpdate) bool) NetUpdate {
		t.Helper()
		for {
			if u := next(what); pred(u) {
				return u
			}
		}
	}
	snap := next("snapshot")
	if snap.Kind != NetSnapshot || len(snap.Links) != 1 || snap.Links[0].Name != "lo" || snap.Links[0].Flags&IffLoopback == 0 {
		t.Fatalf("first update = %+v, want a snapshot with lo only", snap)
	}
	if !slices.ContainsFunc(snap.Addrs, func(a Addr) bool { return a.Addr == netip.MustParseAddr("127.0.0.1") }) {
		t.Errorf("snapshot addresses %v lack 127.0.0.1", snap.Addrs)
	}
	ns.IP(t, "link", "add", "gmtv0", "type", "veth", "peer", "name", "gmtv1")
	ns.IP(t, "link", "set", "gmtv0", "up")
	ns.IP(t, "link", "set", "gmtv1", "up")
	up := waitFor("gmtv0 up", func(u NetUpdate) bool {
		return u.Kind == LinkChanged && u.Link.Name == "gmtv0" && linkUp(u.Link.Flags)
	})
	ns.IP(t, "addr", "add", "192.0.2.1/24", "dev", "gmtv0")
	ns.IP(t, "addr", "add", "2001:db8::1/64", "dev", "gmtv0", "nodad")
	a4 := waitFor("192.0.2.1", func(u NetUpdate) bool { return u.Kind == AddrAdded && u.Addr.Addr.Is4() })
	if a4.Addr.Addr != netip.MustParseAddr("192.0.2.1") || a4.Addr.PrefixLen != 24 || a4.Addr.IfIndex != up.Link.Index {
		t.Errorf("IPv4 address = %+v", a4.Addr)
	}
	a6 := waitFor("2001:db8::1", func(u NetUpdate) bool {
		return u.Kind == AddrAdded && u.Addr.Addr == netip.MustParseAddr("2001:db8::1")
	})
	if a6.Addr.Flags&IfaFNoDAD == 0 || a6.Addr.Flags&IfaFTentative != 0 {
		t.Errorf("IPv6 address flags %#x, want nodad and not tentative", a6.Addr.Flags)
	}
	ns.IP(t, "addr", "del", "192.0.2.1/24", "dev", "gmtv0")
	waitFor("192.0.2.1 removed", func(u NetUpdate) bool {
		return u.Kind == AddrRemoved && u.Addr.Addr == netip.MustParseAddr("192.0.2.1")
	})
	ns.IP(t, "link", "del", "gmtv0")
	waitFor("gmtv0 removed", func(u NetUpdate) bool { return u.Kind == LinkRemoved && u.Link.Index == up.Link.Index })

	cancel()
	for range m.Updates() {
	}
	if err := m.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after cancel = %v, want context.Canceled", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
