//go:build linux

package pm

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// dialNS returns a Client inside ns, or skips when the kernel has no
// mptcp_pm family.
func dialNS(t *testing.T, ns *kerneltest.Netns) *Client {
	t.Helper()
	c, err := Dial(ns.NetlinkConfig(t))
	if errors.Is(err, ErrFamilyNotFound) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sortEndpoints(eps []Endpoint) {
	slices.SortFunc(eps, func(a, b Endpoint) int { return int(a.ID) - int(b.ID) })
}

var cmpAddr = cmpopts.EquateComparable(netip.Addr{})

// TestKernelEndpointsAndLimits drives the in-kernel path manager of a fresh
// namespace and checks every change against "ip mptcp".
func TestKernelEndpointsAndLimits(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	addVeth(t, ns)
	c := dialNS(t, ns)
	ctx := context.Background()
	v1 := ns.IfIndex(t, "gmtv1")

	check := func(step string, want []Endpoint) {
		t.Helper()
		got, err := c.Endpoints(ctx)
		if err != nil {
			t.Fatalf("%s: Endpoints: %v", step, err)
		}
		sortEndpoints(got)
		if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
			t.Errorf("%s: Endpoints (-want +got):\n%s", step, diff)
		}
		ip := ipEndpoints(t, ns)
		sortEndpoints(ip)
		if diff := cmp.Diff(want, ip, cmpAddr); diff != "" {
			t.Errorf("%s: ip mptcp endpoint show (-want +got):\n%s", step, diff)
		}
	}
	check("fresh namespace", []Endpoint{})

	add := []Endpoint{
		{ID: 5, Addr: netip.MustParseAddr("10.0.2.2"), Flags: FlagSubflow | FlagBackup, IfIndex: v1},
		{ID: 6, Addr: netip.MustParseAddr("10.0.1.1"), Port: 41234, Flags: FlagSignal},
		{ID: 7, Addr: netip.MustParseAddr("fd00::1"), Port: 44321, Flags: FlagSignal},
		{ID: 8, Addr: netip.MustParseAddr("10.0.3.3"), Flags: FlagSubflow | FlagFullmesh},
		{Addr: netip.MustParseAddr("fd00:2::2"), Flags: FlagSubflow},
	}
	for _, e := range add {
		if err := c.AddEndpoint(ctx, e); err != nil {
			t.Fatalf("AddEndpoint(%v): %v", e, err)
		}
	}
	want := slices.Clone(add)
	want[4].ID = 9 // the kernel picks the ID after the highest one in use
	check("after add", want)

	// The signal endpoints with a port make the kernel listen on them.
	ss := ns.Exec(t, "ss", "-ltnH")
	for _, l := range []string{"10.0.1.1:41234", "[fd00::1]:44321"} {
		if !strings.Contains(ss, l) {
			t.Errorf("no listener on %s; ss -ltn:\n%s", l, ss)
		}
	}

	// Laminar endpoints exist since Linux 6.18.
	lam := Endpoint{ID: 20, Addr: netip.MustParseAddr("10.0.4.4"), Flags: FlagSubflow | FlagLaminar}
	if err := c.AddEndpoint(ctx, lam); err != nil {
		t.Logf("kernel refuses laminar endpoints (older than 6.18?): %v", err)
	} else {
		want = append(want, lam)
		check("after adding a laminar endpoint", want)
	}

	got, err := c.GetEndpoint(ctx, 5)
	if err != nil {
		t.Fatalf("GetEndpoint(5): %v", err)
	}
	if diff := cmp.Diff(want[0], got, cmpAddr); diff != "" {
		t.Errorf("GetEndpoint(5) (-want +got):\n%s", diff)
	}
	_, err = c.GetEndpoint(ctx, 200)
	var perr *Error
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("GetEndpoint(200) = %v, want the kernel's \"not found\"", err)
	}

	// Duplicates and invalid flag combinations are refused by the kernel
	// with an explanation.
	if err := c.AddEndpoint(ctx, Endpoint{ID: 5, Addr: netip.MustParseAddr("10.0.9.9"), Flags: FlagSubflow}); err == nil {
		t.Error("AddEndpoint with a duplicate ID succeeded")
	} else if !errors.As(err, &perr) || perr.Message == "" {
		t.Errorf("duplicate ID: error %v without a kernel message", err)
	}
	if err := c.AddEndpoint(ctx, Endpoint{Addr: netip.MustParseAddr("10.0.9.9"), Flags: FlagSignal | FlagFullmesh}); err == nil {
		t.Error("AddEndpoint with signal and fullmesh succeeded")
	} else if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("signal+fullmesh: %v, want EINVAL", err)
	}

	// SET_FLAGS sets backup and fullmesh to the given values.
	if err := c.SetFlags(ctx, 5, netip.AddrPort{}, FlagFullmesh); err != nil {
		t.Fatalf("SetFlags(5, fullmesh): %v", err)
	}
	want[0].Flags = FlagSubflow | FlagFullmesh
	if err := c.SetFlags(ctx, 0, netip.AddrPortFrom(netip.MustParseAddr("10.0.3.3"), 0), FlagBackup|FlagFullmesh); err != nil {
		t.Fatalf("SetFlags(10.0.3.3, backup fullmesh): %v", err)
	}
	want[3].Flags = FlagSubflow | FlagBackup | FlagFullmesh
	check("after set flags", want)

	if err := c.DeleteEndpoint(ctx, 5, netip.Addr{}); err != nil {
		t.Fatalf("DeleteEndpoint(5): %v", err)
	}
	want = want[1:]
	check("after delete", want)
	if err := c.DeleteEndpoint(ctx, 5, netip.Addr{}); err == nil {
		t.Error("deleting endpoint 5 twice succeeded")
	}

	if err := c.FlushEndpoints(ctx); err != nil {
		t.Fatalf("FlushEndpoints: %v", err)
	}
	check("after flush", []Endpoint{})
	if ss := ns.Exec(t, "ss", "-ltnH"); strings.Contains(ss, ":41234") {
		t.Errorf("listener still open after flush:\n%s", ss)
	}

	// Limits. The first request carries a deadline, which the client sets
	// on the socket and clears afterwards.
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	l, err := c.Limits(dctx)
	cancel()
	if err != nil {
		t.Fatalf("Limits: %v", err)
	}
	if want := (Limits{Subflows: 2, AddAddrAccepted: 0}); l != want {
		t.Errorf("default Limits = %+v, want %+v", l, want)
	}
	if ipl := ipLimits(t, ns); ipl != l {
		t.Errorf("ip mptcp limits show = %+v, Limits = %+v", ipl, l)
	}
	steps := []struct {
		set  func() error
		want Limits
	}{
		{func() error { return c.SetLimits(ctx, Limits{Subflows: 5, AddAddrAccepted: 3}) }, Limits{5, 3}},
		{func() error { return c.SetSubflowsLimit(ctx, 8) }, Limits{8, 3}},
		{func() error { return c.SetAddAddrAcceptedLimit(ctx, 0) }, Limits{8, 0}},
	}
	for i, s := range steps {
		if err := s.set(); err != nil {
			t.Fatalf("limits step %d: %v", i, err)
		}
		l, err := c.Limits(ctx)
		if err != nil {
			t.Fatalf("Limits: %v", err)
		}
		if l != s.want {
			t.Errorf("limits step %d: Limits = %+v, want %+v", i, l, s.want)
		}
		if ipl := ipLimits(t, ns); ipl != s.want {
			t.Errorf("limits step %d: ip mptcp limits show = %+v, want %+v", i, ipl, s.want)
		}
	}
	err = c.SetSubflowsLimit(ctx, 9)
	if !errors.Is(err, syscall.EINVAL) || !errors.As(err, &perr) || !strings.Contains(perr.Message, "maximum") {
		t.Errorf("SetSubflowsLimit(9) = %v, want EINVAL with the kernel's message", err)
	}
}

// mptcpPair opens an MPTCP listener on server inside ns and connects to it
// from the address client; the connection is fully established. It
// returns the client and server sockets and the server's address.
func mptcpPair(t *testing.T, ns *kerneltest.Netns, server, client string) (net.Conn, net.Conn, netip.AddrPort) {
	t.Helper()
	// The listener stays open: MP_JOINs arrive on it.
	ln := ns.ListenMPTCP(t, netip.MustParseAddrPort(server))
	c := ns.ConnectMPTCP(t, ln, netip.MustParseAddr(client), netip.Addr{})
	return c.Client, c.Server, c.ServerAddr()
}

func localPort(c net.Conn) uint16 { return c.LocalAddr().(*net.TCPAddr).AddrPort().Port() }

func subscribeNS(t *testing.T, ns *kerneltest.Netns) (*Monitor, *recorder) {
	t.Helper()
	m, err := Subscribe(context.Background(), ns.NetlinkConfig(t))
	if errors.Is(err, ErrFamilyNotFound) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, record(m)
}

// TestKernelEvents makes an MPTCP connection with an extra subflow in a
// fresh namespace (in-kernel path manager) and checks that Subscribe
// reports the events "ip mptcp monitor" reports.
func TestKernelEvents(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	addVeth(t, ns)
	c := dialNS(t, ns)
	ctx := context.Background()
	m, rec := subscribeNS(t, ns)

	// Synchronize with ip mptcp monitor: add and remove a listening
	// endpoint until ip reports something, so both monitors are listening
	// before the connection starts.
	ipm := startIPMonitor(t, ns)
	probe := Endpoint{ID: 100, Addr: netip.MustParseAddr("10.0.1.1"), Port: 45999, Flags: FlagSignal}
	synced := false
	for range 20 {
		if err := c.AddEndpoint(ctx, probe); err != nil {
			t.Fatalf("AddEndpoint(probe): %v", err)
		}
		_, synced = ipm.next(500 * time.Millisecond)
		if err := c.DeleteEndpoint(ctx, probe.ID, netip.Addr{}); err != nil {
			t.Fatalf("DeleteEndpoint(probe): %v", err)
		}
		if synced {
			break
		}
	}
	if !synced {
		t.Fatal("ip mptcp monitor printed nothing")
	}
	rec.wait(t, "LISTENER_CREATED for the probe", func(ev Event) bool {
		return ev.Type == EventListenerCreated && ev.SPort == probe.Port && ev.SAddr == probe.Addr
	})
	rec.wait(t, "LISTENER_CLOSED for the probe", func(ev Event) bool {
		return ev.Type == EventListenerClosed && ev.SPort == probe.Port
	})

	// The client creates one extra subflow from 10.0.2.2.
	sub := Endpoint{ID: 3, Addr: netip.MustParseAddr("10.0.2.2"), Flags: FlagSubflow}
	if err := c.AddEndpoint(ctx, sub); err != nil {
		t.Fatalf("AddEndpoint: %v", err)
	}
	cl, sc, srv := mptcpPair(t, ns, "10.0.1.1:0", "10.0.1.1")
	cport := localPort(cl)

	created := rec.wait(t, "client CREATED", func(ev Event) bool {
		return ev.Type == EventCreated && !ev.ServerSide && ev.SPort == cport && ev.DPort == srv.Port()
	})
	ctok := created.Token
	if created.SAddr != netip.MustParseAddr("10.0.1.1") || created.DAddr != srv.Addr() || created.Family != afINET {
		t.Errorf("client CREATED = %v", created)
	}
	screated := rec.wait(t, "server CREATED", func(ev Event) bool {
		return ev.Type == EventCreated && ev.ServerSide && ev.SPort == srv.Port() && ev.DPort == cport
	})
	stok := screated.Token
	rec.wait(t, "client ESTABLISHED", func(ev Event) bool { return ev.Type == EventEstablished && ev.Token == ctok })
	sf := rec.wait(t, "client SF_ESTABLISHED", func(ev Event) bool { return ev.Type == EventSubEstablished && ev.Token == ctok })
	if sf.SAddr != sub.Addr || sf.LocalID != sub.ID || sf.DAddr != srv.Addr() || sf.DPort != srv.Port() || sf.Backup {
		t.Errorf("client SF_ESTABLISHED = %v, want from %v id %d to %v", sf, sub.Addr, sub.ID, srv)
	}
	ssf := rec.wait(t, "server SF_ESTABLISHED", func(ev Event) bool {
		return ev.Type == EventSubEstablished && ev.Token == stok && ev.DPort == sf.SPort
	})
	if ssf.DAddr != sub.Addr || ssf.RemoteID != sub.ID {
		t.Errorf("server SF_ESTABLISHED = %v", ssf)
	}
	// ss sees the extra subflow too.
	if out := ns.Exec(t, "ss", "-tnH", "state", "established"); !strings.Contains(out, "10.0.2.2:"+strconv.Itoa(int(sf.SPort))) {
		t.Errorf("ss does not show the subflow from 10.0.2.2:%d:\n%s", sf.SPort, out)
	}

	cl.Close()
	sc.Close()
	rec.wait(t, "client CLOSED", func(ev Event) bool { return ev.Type == EventClosed && ev.Token == ctok })
	rec.wait(t, "server CLOSED", func(ev Event) bool { return ev.Type == EventClosed && ev.Token == stok })

	// Collect ip's lines up to both CLOSED events.
	var ipLines []monitorLine
	closed := 0
	for closed < 2 {
		l, ok := ipm.next(10 * time.Second)
		if !ok {
			t.Fatalf("ip mptcp monitor: no CLOSED lines; got %v", ipLines)
		}
		ml, err := parseMonitorLine(l)
		if err != nil {
			t.Fatalf("ip mptcp monitor line %q: %v", l, err)
		}
		tok := ml.fields["token"]
		if tok != hex8(ctok) && tok != hex8(stok) {
			continue
		}
		ipLines = append(ipLines, ml)
		if ml.typ == "CLOSED" {
			closed++
		}
	}
	ipm.stop()

	var ours []monitorLine
	for _, ev := range rec.all() {
		if ev.Token != ctok && ev.Token != stok || !ev.Present.Has(AttrToken) {
			continue
		}
		ml, err := parseMonitorLine(ev.String())
		if err != nil {
			t.Fatalf("our line %q: %v", ev, err)
		}
		ours = append(ours, ml)
	}
	// Compare event by event; "flags" and "server_side" are left out
	// because iproute2 versions print them differently.
	for _, ml := range append(ours, ipLines...) {
		delete(ml.fields, "flags")
		delete(ml.fields, "server_side")
		delete(ml.fields, "deny_join_id0")
	}
	if diff := cmp.Diff(ipLines, ours, cmp.AllowUnexported(monitorLine{})); diff != "" {
		t.Errorf("events (-ip mptcp monitor +Subscribe):\n%s", diff)
	}
	if len(ours) < 6 {
		t.Errorf("only %d events for the connection", len(ours))
	}
	if err := m.Close(); err != nil {
		t.Errorf("Monitor.Close: %v", err)
	}
}

// TestKernelMonitorCancel checks that canceling the context of a Monitor
// blocked on a real socket stops it.
func TestKernelMonitorCancel(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := Subscribe(ctx, ns.NetlinkConfig(t))
	if errors.Is(err, ErrFamilyNotFound) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-m.Events():
		if ok {
			t.Error("event after cancel in an idle namespace")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Events not closed 10s after cancel")
	}
	if err := m.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	m.Close()
}

func hex8(v uint32) string {
	s := strconv.FormatUint(uint64(v), 16)
	return strings.Repeat("0", 8-len(s)) + s
}

// TestKernelUserspacePM drives one connection with the userspace path
// manager commands in a namespace with net.mptcp.path_manager=userspace.
func TestKernelUserspacePM(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	addVeth(t, ns)
	ns.SelectUserspacePM(t)
	c := dialNS(t, ns)
	ctx := context.Background()
	// A listener on the events is what makes the userspace path manager
	// accept joins.
	_, rec := subscribeNS(t, ns)

	cl, sc, srv := mptcpPair(t, ns, "10.0.1.1:0", "10.0.1.1")
	cport := localPort(cl)
	ctok := rec.wait(t, "client ESTABLISHED", func(ev Event) bool {
		return ev.Type == EventEstablished && !ev.ServerSide && ev.SPort == cport
	}).Token
	stok := rec.wait(t, "server ESTABLISHED", func(ev Event) bool {
		return ev.Type == EventEstablished && ev.ServerSide && ev.DPort == cport
	}).Token

	// Announce 10.0.2.2 with ID 7: the server hears ADD_ADDR.
	local := Endpoint{ID: 7, Addr: netip.MustParseAddr("10.0.2.2")}
	if err := c.Announce(ctx, ctok, local); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	ann := rec.wait(t, "server ANNOUNCED", func(ev Event) bool { return ev.Type == EventAnnounced && ev.Token == stok })
	if ann.RemoteID != 7 || ann.DAddr != local.Addr {
		t.Errorf("ANNOUNCED = %v, want remid 7 daddr %v", ann, local.Addr)
	}
	eps, err := c.ConnectionEndpoints(ctx, ctok)
	if err != nil {
		t.Fatalf("ConnectionEndpoints: %v", err)
	}
	if !slices.ContainsFunc(eps, func(e Endpoint) bool {
		return e.ID == 7 && e.Addr == local.Addr && e.Flags&FlagSignal != 0
	}) {
		t.Errorf("ConnectionEndpoints = %v, want 10.0.2.2 id 7 signal", eps)
	}

	// Open a subflow from the announced address.
	if err := c.CreateSubflow(ctx, ctok, local, srv); err != nil {
		t.Fatalf("CreateSubflow: %v", err)
	}
	sf := rec.wait(t, "client SF_ESTABLISHED", func(ev Event) bool { return ev.Type == EventSubEstablished && ev.Token == ctok })
	if sf.SAddr != local.Addr || sf.LocalID != 7 || sf.DPort != srv.Port() {
		t.Errorf("SF_ESTABLISHED = %v", sf)
	}
	rec.wait(t, "server SF_ESTABLISHED", func(ev Event) bool { return ev.Type == EventSubEstablished && ev.Token == stok })
	sfLocal := netip.AddrPortFrom(local.Addr, sf.SPort)
	subflowShown := func() bool {
		return strings.Contains(ns.Exec(t, "ss", "-tnH", "state", "established"), sfLocal.String())
	}
	if !subflowShown() {
		t.Errorf("ss does not show the subflow %v", sfLocal)
	}
	// ss prints the token without leading zeros.
	if out := ns.Exec(t, "ss", "-MnHi"); !strings.Contains(out, "token:"+strconv.FormatUint(uint64(ctok), 16)) || !strings.Contains(out, "subflows:1") {
		t.Errorf("ss -M does not show token %x with one extra subflow:\n%s", ctok, out)
	}

	// Make it a backup subflow: the server receives MP_PRIO.
	if err := c.SetSubflowBackup(ctx, ctok, sfLocal, srv, true); err != nil {
		t.Fatalf("SetSubflowBackup: %v", err)
	}
	prio := rec.wait(t, "server SF_PRIO", func(ev Event) bool { return ev.Type == EventSubPriority && ev.Token == stok })
	if !prio.Backup || prio.DPort != sf.SPort {
		t.Errorf("SF_PRIO = %v, want backup=1 for the subflow from port %d", prio, sf.SPort)
	}

	// Close the subflow, then withdraw the address.
	if err := c.DestroySubflow(ctx, ctok, sfLocal, srv); err != nil {
		t.Fatalf("DestroySubflow: %v", err)
	}
	rec.wait(t, "client SF_CLOSED", func(ev Event) bool {
		return ev.Type == EventSubClosed && ev.Token == ctok && ev.SPort == sf.SPort
	})
	if subflowShown() {
		t.Errorf("ss still shows the destroyed subflow %v", sfLocal)
	}
	if err := c.DestroySubflow(ctx, ctok, sfLocal, srv); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("destroying the subflow twice: %v, want ESRCH", err)
	}
	if err := c.Announce(ctx, ctok, Endpoint{ID: 8, Addr: netip.MustParseAddr("10.0.3.3")}); err != nil {
		t.Fatalf("second Announce: %v", err)
	}
	rec.wait(t, "server ANNOUNCED id 8", func(ev Event) bool {
		return ev.Type == EventAnnounced && ev.Token == stok && ev.RemoteID == 8
	})
	if err := c.Remove(ctx, ctok, 8); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	rec.wait(t, "server REMOVED", func(ev Event) bool {
		return ev.Type == EventRemoved && ev.Token == stok && ev.RemoteID == 8
	})

	// A wrong token is refused with the kernel's explanation.
	err = c.Remove(ctx, ctok^0xffffffff, 7)
	var perr *Error
	if !errors.As(err, &perr) || !strings.Contains(perr.Message, "token") {
		t.Errorf("Remove with a bad token = %v, want the kernel's \"invalid token\"", err)
	}

	cl.Close()
	sc.Close()
	rec.wait(t, "client CLOSED", func(ev Event) bool { return ev.Type == EventClosed && ev.Token == ctok })
}
