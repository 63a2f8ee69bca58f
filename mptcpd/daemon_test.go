package mptcpd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// fakeDriver records the commands it receives.
type fakeDriver struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]error
}

func (f *fakeDriver) record(cmd, format string, a ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, cmd+" "+fmt.Sprintf(format, a...))
	return f.fail[cmd]
}

func (f *fakeDriver) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeDriver) Announce(_ context.Context, token uint32, local Endpoint) error {
	return f.record("announce", "%08x %v", token, local)
}

func (f *fakeDriver) Remove(_ context.Context, token uint32, id uint8) error {
	return f.record("remove", "%08x id %d", token, id)
}

func (f *fakeDriver) CreateSubflow(_ context.Context, token uint32, local Endpoint, remote netip.AddrPort) error {
	return f.record("create", "%08x %v -> %v", token, local, remote)
}

func (f *fakeDriver) DestroySubflow(_ context.Context, token uint32, local, remote netip.AddrPort) error {
	return f.record("destroy", "%08x %v -> %v", token, local, remote)
}

func (f *fakeDriver) SetBackup(_ context.Context, token uint32, local, remote netip.AddrPort, backup bool) error {
	return f.record("backup", "%08x %v -> %v %v", token, local, remote, backup)
}

// fakeKernel is a driver with endpoints.
type fakeKernel struct {
	fakeDriver
}

func (f *fakeKernel) AddEndpoint(_ context.Context, e Endpoint) (uint8, error) {
	return 42, f.record("add_endpoint", "%v", e)
}

func (f *fakeKernel) DeleteEndpoint(_ context.Context, id uint8, addr netip.Addr) error {
	return f.record("delete_endpoint", "id %d %v", id, addr)
}

func (f *fakeKernel) Endpoints(context.Context) ([]Endpoint, error) {
	return nil, f.record("list_endpoints", "")
}

// recorder is a plugin writing down every hook call.
type recorder struct {
	name string
	mu   sync.Mutex
	log  []string
	// startErr makes Start fail.
	startErr error
	// notify, when not nil, receives a token after each hook call.
	notify chan struct{}
}

func (r *recorder) add(format string, a ...any) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf(format, a...))
	r.mu.Unlock()
	if r.notify != nil {
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
}

// lines returns the hook calls so far, leaving them in place.
func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log
	r.log = nil
	return l
}

func (r *recorder) Name() string {
	if r.name == "" {
		return "recorder"
	}
	return r.name
}

func (r *recorder) Start(_ context.Context, p PathManager) error {
	r.add("start %d addrs", len(p.LocalAddrs()))
	return r.startErr
}

func (r *recorder) Stop(ctx context.Context, _ PathManager) {
	r.add("stop (ctx err %v)", ctx.Err())
}

func (r *recorder) ConnectionCreated(_ context.Context, _ PathManager, c Connection) {
	r.add("created %08x %v->%v", c.Token, c.Local, c.Remote)
}

func (r *recorder) ConnectionEstablished(_ context.Context, _ PathManager, c Connection) {
	r.add("established %08x ifindex %d", c.Token, c.IfIndex)
}

func (r *recorder) ConnectionClosed(_ context.Context, _ PathManager, c Connection) {
	r.add("closed %08x (%d subflows)", c.Token, len(c.Subflows))
}

func (r *recorder) AddressAnnounced(_ context.Context, _ PathManager, c Connection, a RemoteAddr) {
	r.add("announced %08x id %d %v", c.Token, a.ID, a.Addr)
}

func (r *recorder) AddressRemoved(_ context.Context, _ PathManager, c Connection, a RemoteAddr) {
	r.add("removed %08x id %d %v", c.Token, a.ID, a.Addr)
}

func (r *recorder) SubflowEstablished(_ context.Context, _ PathManager, c Connection, s Subflow) {
	r.add("sf established %08x %v", c.Token, s)
}

func (r *recorder) SubflowClosed(_ context.Context, _ PathManager, c Connection, s Subflow) {
	r.add("sf closed %08x %v error %d", c.Token, s, s.Error)
}

func (r *recorder) SubflowPriority(_ context.Context, _ PathManager, c Connection, s Subflow) {
	r.add("sf priority %08x %v", c.Token, s)
}

func (r *recorder) LocalAddressAdded(_ context.Context, _ PathManager, a LocalAddr) {
	r.add("addr added %v", a)
}

func (r *recorder) LocalAddressRemoved(_ context.Context, _ PathManager, a LocalAddr) {
	r.add("addr removed %v", a)
}

func (r *recorder) InterfaceUp(_ context.Context, _ PathManager, i Interface) { r.add("up %v", i) }

func (r *recorder) InterfaceDown(_ context.Context, _ PathManager, i Interface) { r.add("down %v", i) }

const upRunning = IffUp | IffRunning

func link(index int, name string, flags uint32) Link {
	return Link{Index: index, Name: name, Flags: flags}
}

func addr(s string, ifindex int) Addr {
	p := netip.MustParsePrefix(s)
	a := Addr{Addr: p.Addr(), PrefixLen: p.Bits(), IfIndex: ifindex}
	if p.Addr().IsLinkLocalUnicast() {
		a.Scope = ScopeLink
	}
	return a
}

func withFlags(a Addr, flags uint32) Addr { a.Flags = flags; return a }

// hostSnapshot is a host with eth0 (10.0.1.1) and wlan0 (10.0.2.1).
var hostSnapshot = NetUpdate{
	Kind:  NetSnapshot,
	Links: []Link{link(1, "lo", upRunning|IffLoopback), link(2, "eth0", upRunning), link(3, "wlan0", upRunning)},
	Addrs: []Addr{addr("127.0.0.1/8", 1), addr("10.0.1.1/24", 2), addr("10.0.2.1/24", 3)},
}

// newTestDaemon returns a daemon over a fake driver, with the recorder
// plugin after the given ones, and the host snapshot applied.
func newTestDaemon(t *testing.T, drv Driver, filter AddrFilter, plugins ...Plugin) (*Daemon, *recorder) {
	t.Helper()
	rec := &recorder{}
	d, err := New(Config{Driver: drv, Plugins: append(plugins, rec), Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	d.handleNet(context.Background(), hostSnapshot, false)
	return d, rec
}

func TestDaemonAddresses(t *testing.T) {
	d, rec := newTestDaemon(t, &fakeDriver{}, AddrFilter{Exclude: []string{"docker*"}})
	ctx := context.Background()
	steps := []struct {
		name   string
		update NetUpdate
		want   []string
	}{
		{"an excluded interface", NetUpdate{Kind: LinkChanged, Link: link(4, "docker0", upRunning)}, nil},
		{"an address on it", NetUpdate{Kind: AddrAdded, Addr: addr("172.17.0.1/16", 4)}, nil},
		{"a tentative address", NetUpdate{Kind: AddrAdded, Addr: withFlags(addr("2001:db8::1/64", 2), IfaFTentative)}, nil},
		{"a link-local address", NetUpdate{Kind: AddrAdded, Addr: addr("fe80::1/64", 2)}, nil},
		{"a loopback address", NetUpdate{Kind: AddrAdded, Addr: addr("::1/128", 1)}, nil},
		{"duplicate address detection done", NetUpdate{Kind: AddrAdded, Addr: withFlags(addr("2001:db8::1/64", 2), IfaFPermanent)},
			[]string{"addr added 2001:db8::1/64 id 3 dev eth0"}},
		{"deprecated", NetUpdate{Kind: AddrAdded, Addr: withFlags(addr("2001:db8::1/64", 2), IfaFDeprecated)},
			[]string{"addr removed 2001:db8::1/64 id 3 dev eth0"}},
		{"the same again", NetUpdate{Kind: AddrAdded, Addr: withFlags(addr("2001:db8::1/64", 2), IfaFDeprecated)}, nil},
		{"valid again", NetUpdate{Kind: AddrAdded, Addr: addr("2001:db8::1/64", 2)},
			[]string{"addr added 2001:db8::1/64 id 3 dev eth0"}},
		{"eth0 loses its carrier", NetUpdate{Kind: LinkChanged, Link: link(2, "eth0", IffUp)}, []string{
			"addr removed 10.0.1.1/24 id 1 dev eth0",
			"addr removed 2001:db8::1/64 id 3 dev eth0",
			"down eth0 (index 2, down)",
		}},
		{"eth0 back, with the same IDs", NetUpdate{Kind: LinkChanged, Link: link(2, "eth0", upRunning)}, []string{
			"up eth0 (index 2, up)",
			"addr added 10.0.1.1/24 id 1 dev eth0",
			"addr added 2001:db8::1/64 id 3 dev eth0",
		}},
		{"a new address", NetUpdate{Kind: AddrAdded, Addr: addr("10.0.2.9/24", 3)}, []string{"addr added 10.0.2.9/24 id 4 dev wlan0"}},
		{"an address goes", NetUpdate{Kind: AddrRemoved, Addr: addr("10.0.2.1/24", 3)}, []string{"addr removed 10.0.2.1/24 id 2 dev wlan0"}},
		{"an interface goes", NetUpdate{Kind: LinkRemoved, Link: link(3, "wlan0", upRunning)}, []string{
			"addr removed 10.0.2.9/24 id 4 dev wlan0",
			"down wlan0 (index 3, down)",
		}},
		{"a resynchronization", NetUpdate{Kind: NetSnapshot,
			Links: []Link{link(2, "eth0", upRunning), link(5, "eth1", upRunning)},
			Addrs: []Addr{addr("10.0.1.1/24", 2), addr("10.0.5.1/24", 5)}}, []string{
			"addr removed 2001:db8::1/64 id 3 dev eth0",
			"up eth1 (index 5, up)",
			"addr added 10.0.5.1/24 id 5 dev eth1",
		}},
		{"an address that came back keeps its ID", NetUpdate{Kind: AddrAdded, Addr: addr("10.0.2.1/24", 5)},
			[]string{"addr added 10.0.2.1/24 id 2 dev eth1"}},
	}
	for _, s := range steps {
		d.handleNet(ctx, s.update, true)
		if diff := cmp.Diff(s.want, rec.take()); diff != "" {
			t.Errorf("%s: hooks (-want +got):\n%s", s.name, diff)
		}
	}
	got := d.PathManager().LocalAddrs()
	want := []LocalAddr{
		{ID: 1, Addr: netip.MustParseAddr("10.0.1.1"), PrefixLen: 24, IfIndex: 2, IfName: "eth0"},
		{ID: 2, Addr: netip.MustParseAddr("10.0.2.1"), PrefixLen: 24, IfIndex: 5, IfName: "eth1"},
		{ID: 5, Addr: netip.MustParseAddr("10.0.5.1"), PrefixLen: 24, IfIndex: 5, IfName: "eth1"},
	}
	if diff := cmp.Diff(want, got, cmpAddrs); diff != "" {
		t.Errorf("LocalAddrs (-want +got):\n%s", diff)
	}
	ifs := d.PathManager().Interfaces()
	if len(ifs) != 2 || ifs[0].Name != "eth0" || ifs[1].Name != "eth1" || !ifs[0].Up {
		t.Errorf("Interfaces = %v, want eth0 and eth1 up", ifs)
	}
	if _, ok := d.PathManager().Interface(1); ok {
		t.Error("Interface(lo) found; loopback interfaces are not the daemon's")
	}
	m := d.Metrics()
	if m.netResyncs.Load() != 1 || m.addrAdded.Load() != 9 || m.addrRemoved.Load() != 6 || m.ifUp.Load() != 4 || m.ifDown.Load() != 2 {
		t.Errorf("metrics: resyncs %d added %d removed %d up %d down %d", m.netResyncs.Load(), m.addrAdded.Load(),
			m.addrRemoved.Load(), m.ifUp.Load(), m.ifDown.Load())
	}
}

func TestDaemonFilters(t *testing.T) {
	snap := NetUpdate{
		Kind: NetSnapshot,
		Links: []Link{link(2, "eth0", upRunning), link(3, "eth1", upRunning), link(4, "wlan0", upRunning),
			link(5, "tun0", IffUp)},
		Addrs: []Addr{addr("10.0.1.1/24", 2), addr("fe80::1/64", 2), addr("169.254.3.3/16", 3), addr("10.0.3.1/24", 4),
			addr("10.0.5.1/24", 5)},
	}
	tests := []struct {
		filter AddrFilter
		want   []string
	}{
		{AddrFilter{}, []string{"10.0.1.1", "10.0.3.1"}},
		{AddrFilter{LinkLocal: true}, []string{"10.0.1.1", "fe80::1", "169.254.3.3", "10.0.3.1"}},
		{AddrFilter{Include: []string{"eth*"}, LinkLocal: true}, []string{"10.0.1.1", "fe80::1", "169.254.3.3"}},
		{AddrFilter{Include: []string{"eth*"}, Exclude: []string{"eth1"}}, []string{"10.0.1.1"}},
		{AddrFilter{Exclude: []string{"*"}}, nil},
	}
	for _, tt := range tests {
		d, err := New(Config{Driver: &fakeDriver{}, Filter: tt.filter})
		if err != nil {
			t.Fatal(err)
		}
		d.handleNet(context.Background(), snap, false)
		var got []string
		for _, a := range d.PathManager().LocalAddrs() {
			got = append(got, a.Addr.String())
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("filter %+v (-want +got):\n%s", tt.filter, diff)
		}
	}
}

// ev builds an mptcp_pm event for token 0x1a2b3c4d from 10.0.1.1:40000 to
// 192.0.2.1:443.
func ev(typ pm.EventType, mod ...func(*pm.Event)) pm.Event {
	e := pm.Event{Type: typ, Token: 0x1a2b3c4d, Family: 2,
		SAddr: netip.MustParseAddr("10.0.1.1"), DAddr: netip.MustParseAddr("192.0.2.1"), SPort: 40000, DPort: 443}
	for _, m := range mod {
		m(&e)
	}
	return e
}

func sub(saddr string, sport uint16, daddr string, dport uint16) func(*pm.Event) {
	return func(e *pm.Event) {
		e.SAddr, e.SPort = netip.MustParseAddr(saddr), sport
		e.DAddr, e.DPort = netip.MustParseAddr(daddr), dport
	}
}

func TestDaemonConnectionLifecycle(t *testing.T) {
	drv := &fakeDriver{}
	sspi, _ := NewPlugin("sspi", nil)
	d, rec := newTestDaemon(t, drv, AddrFilter{}, sspi)
	ctx := context.Background()
	const tok = 0x1a2b3c4d
	steps := []struct {
		name  string
		event pm.Event
		hooks []string
		calls []string
	}{
		{"created", ev(pm.EventCreated), []string{"created 1a2b3c4d 10.0.1.1:40000->192.0.2.1:443"}, nil},
		{"established: sspi opens a subflow over wlan0", ev(pm.EventEstablished),
			[]string{"established 1a2b3c4d ifindex 2"},
			[]string{"create 1a2b3c4d 10.0.2.1 id 2 ifindex 3 -> 192.0.2.1:443"}},
		{"the subflow is established", ev(pm.EventSubEstablished, sub("10.0.2.1", 51000, "192.0.2.1", 443),
			func(e *pm.Event) { e.LocalID = 2; e.IfIndex = 3 }),
			[]string{"sf established 1a2b3c4d 10.0.2.1:51000 (id 2) -> 192.0.2.1:443 (id 0)"}, nil},
		{"the peer announces an address without a port", ev(pm.EventAnnounced, sub("0.0.0.0", 0, "192.0.2.2", 0),
			func(e *pm.Event) { e.RemoteID = 1 }),
			[]string{"announced 1a2b3c4d id 1 192.0.2.2:443"}, nil},
		{"the subflow becomes a backup", ev(pm.EventSubPriority, sub("10.0.2.1", 51000, "192.0.2.1", 443),
			func(e *pm.Event) { e.LocalID = 2; e.Backup = true }),
			[]string{"sf priority 1a2b3c4d 10.0.2.1:51000 (id 2) -> 192.0.2.1:443 (id 0) backup"}, nil},
		{"an event about another connection", ev(pm.EventSubEstablished, func(e *pm.Event) { e.Token = 0xdead }), nil, nil},
		{"the peer withdraws its address", ev(pm.EventRemoved, func(e *pm.Event) { e.RemoteID = 1 }),
			[]string{"removed 1a2b3c4d id 1 192.0.2.2:443"}, nil},
		{"a listener event", pm.Event{Type: pm.EventListenerCreated, SAddr: netip.MustParseAddr("10.0.1.1"), SPort: 80}, nil, nil},
	}
	for _, s := range steps {
		d.handleEvent(ctx, s.event)
		if diff := cmp.Diff(s.hooks, rec.take()); diff != "" {
			t.Errorf("%s: hooks (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.calls, drv.take()); diff != "" {
			t.Errorf("%s: driver calls (-want +got):\n%s", s.name, diff)
		}
	}
	c, ok := d.PathManager().Connection(tok)
	if !ok {
		t.Fatal("connection unknown")
	}
	want := Connection{
		Token: tok, Local: netip.MustParseAddrPort("10.0.1.1:40000"), Remote: netip.MustParseAddrPort("192.0.2.1:443"),
		IfIndex: 2, Established: true,
		RemoteAddrs: []RemoteAddr{{0, netip.MustParseAddrPort("192.0.2.1:443")}},
		Subflows: []Subflow{{LocalID: 2, Local: netip.MustParseAddrPort("10.0.2.1:51000"),
			Remote: netip.MustParseAddrPort("192.0.2.1:443"), Backup: true, IfIndex: 3}},
	}
	if diff := cmp.Diff(want, c, cmpAddrs); diff != "" {
		t.Errorf("Connection (-want +got):\n%s", diff)
	}
	if !c.UsesInterface(3) || !c.UsesInterface(2) || c.UsesInterface(4) {
		t.Errorf("UsesInterface: wrong for %+v", c)
	}

	// The subflow and then the connection close.
	d.handleEvent(ctx, ev(pm.EventSubClosed, sub("10.0.2.1", 51000, "192.0.2.1", 443), func(e *pm.Event) { e.Error = 104 }))
	d.handleEvent(ctx, ev(pm.EventSubClosed, func(e *pm.Event) { e.Error = 104 }))
	if c, _ := d.PathManager().Connection(tok); len(c.Subflows) != 0 || !c.InitialClosed || c.UsesInterface(2) {
		t.Errorf("after the subflows closed: %+v", c)
	}
	d.handleEvent(ctx, ev(pm.EventClosed))
	if diff := cmp.Diff([]string{
		"sf closed 1a2b3c4d 10.0.2.1:51000 (id 0) -> 192.0.2.1:443 (id 0) error 104",
		"sf closed 1a2b3c4d 10.0.1.1:40000 (id 0) -> 192.0.2.1:443 (id 0) error 104",
		"closed 1a2b3c4d (0 subflows)",
	}, rec.take()); diff != "" {
		t.Errorf("closing hooks (-want +got):\n%s", diff)
	}
	if cs := d.PathManager().Connections(); len(cs) != 0 {
		t.Errorf("Connections after CLOSED = %v", cs)
	}
	m := d.Metrics()
	if req, created, failed := m.Subflows(); req != 1 || created != 1 || failed != 0 {
		t.Errorf("Subflows() = %d, %d, %d, want 1, 1, 0", req, created, failed)
	}
	for typ, n := range map[pm.EventType]uint64{pm.EventCreated: 1, pm.EventSubEstablished: 2, pm.EventSubClosed: 2, pm.EventClosed: 1} {
		if got := m.Events(typ); got != n {
			t.Errorf("Events(%v) = %d, want %d", typ, got, n)
		}
	}
	if ok, failed := m.Command("create_subflow"); ok != 1 || failed != 0 {
		t.Errorf("Command(create_subflow) = %d, %d", ok, failed)
	}
}

func TestDaemonRequestedSubflowFails(t *testing.T) {
	drv := &fakeDriver{}
	fm, _ := NewPlugin("fullmesh", nil)
	d, rec := newTestDaemon(t, drv, AddrFilter{}, fm)
	ctx := context.Background()
	d.handleEvent(ctx, ev(pm.EventEstablished))
	if diff := cmp.Diff([]string{"create 1a2b3c4d 10.0.2.1 id 2 -> 192.0.2.1:443"}, drv.take()); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
	c, _ := d.PathManager().Connection(0x1a2b3c4d)
	if len(c.Subflows) != 1 || !c.Subflows[0].Pending || c.Subflows[0].IfIndex != 3 {
		t.Fatalf("pending subflow missing: %+v", c.Subflows)
	}
	// The join is refused: the kernel reports the subflow closed.
	d.handleEvent(ctx, ev(pm.EventSubClosed, sub("10.0.2.1", 51000, "192.0.2.1", 443), func(e *pm.Event) { e.Error = 111 }))
	hooks := rec.take()
	if len(hooks) != 2 || !strings.Contains(hooks[1], "10.0.2.1:51000 (id 0) -> 192.0.2.1:443 (id 0) pending error 111") {
		t.Errorf("hooks = %q, want the pending subflow closed with error 111", hooks)
	}
	if req, created, failed := d.Metrics().Subflows(); req != 1 || created != 0 || failed != 1 {
		t.Errorf("Subflows() = %d, %d, %d, want 1, 0, 1", req, created, failed)
	}
	// A refused command counts as a failure too, and leaves no pending
	// subflow.
	drv.fail = map[string]error{"create": errors.New("refused")}
	d.handleNet(ctx, NetUpdate{Kind: AddrAdded, Addr: addr("10.0.2.2/24", 3)}, true)
	if c, _ := d.PathManager().Connection(0x1a2b3c4d); len(c.Subflows) != 0 {
		t.Errorf("subflows after a refused request: %+v", c.Subflows)
	}
	if req, _, failed := d.Metrics().Subflows(); req != 3 || failed != 3 {
		t.Errorf("Subflows() requested %d failed %d, want 3 and 3", req, failed)
	}
	if ok, failed := d.Metrics().Command("create_subflow"); ok != 1 || failed != 2 {
		t.Errorf("Command(create_subflow) = %d, %d, want 1, 2", ok, failed)
	}
}

func TestDaemonCommands(t *testing.T) {
	drv := &fakeKernel{}
	d, _ := newTestDaemon(t, drv, AddrFilter{})
	ctx := context.Background()
	p := d.PathManager()
	d.handleEvent(ctx, ev(pm.EventEstablished))
	const tok = 0x1a2b3c4d
	remote := netip.MustParseAddrPort("192.0.2.1:443")
	local := func(s string) Endpoint { return Endpoint{Addr: netip.MustParseAddrPort(s)} }

	if err := p.CreateSubflow(ctx, tok, local("10.0.1.1:0"), remote); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateSubflow(ctx, tok, local("[::ffff:10.0.2.1]:0"), remote); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateSubflow(ctx, tok, Endpoint{ID: 9, Addr: netip.MustParseAddrPort("10.0.2.1:0"), Flags: FlagBackup}, remote); err != nil {
		t.Fatal(err)
	}
	if err := p.Announce(ctx, tok, local("10.0.1.1:0")); err == nil || !strings.Contains(err.Error(), "ID 0") {
		t.Errorf("announcing the initial address: %v, want an error about ID 0", err)
	}
	if err := p.Announce(ctx, tok, local("10.0.2.1:8080")); err != nil {
		t.Fatal(err)
	}
	if err := p.Announce(ctx, 0xbad, local("10.9.9.9:0")); err != nil {
		t.Fatal(err)
	}
	c, _ := p.Connection(tok)
	if diff := cmp.Diff([]Endpoint{{ID: 2, Addr: netip.MustParseAddrPort("10.0.2.1:8080")}}, c.Announced, cmpAddrs); diff != "" {
		t.Errorf("Announced (-want +got):\n%s", diff)
	}
	if len(c.Subflows) != 3 || !c.Subflows[2].Backup || c.Subflows[0].LocalID != 0 || c.Subflows[1].LocalID != 2 {
		t.Errorf("pending subflows: %+v", c.Subflows)
	}
	if err := p.Remove(ctx, tok, 2); err != nil {
		t.Fatal(err)
	}
	if c, _ := p.Connection(tok); len(c.Announced) != 0 {
		t.Errorf("Announced after Remove = %v", c.Announced)
	}
	if err := p.SetBackup(ctx, tok, netip.MustParseAddrPort("10.0.1.1:40000"), remote, true); err != nil {
		t.Fatal(err)
	}
	if err := p.DestroySubflow(ctx, tok, netip.MustParseAddrPort("10.0.1.1:40000"), remote); err != nil {
		t.Fatal(err)
	}
	em := p.EndpointManager()
	if em == nil {
		t.Fatal("EndpointManager() = nil for a driver with endpoints")
	}
	if id, err := em.AddEndpoint(ctx, Endpoint{Addr: netip.MustParseAddrPort("10.0.1.1:0"), Flags: FlagSignal}); err != nil || id != 42 {
		t.Errorf("AddEndpoint = %d, %v", id, err)
	}
	if err := em.DeleteEndpoint(ctx, 42, netip.MustParseAddr("10.0.1.1")); err != nil {
		t.Error(err)
	}
	if _, err := em.Endpoints(ctx); err != nil {
		t.Error(err)
	}
	want := []string{
		"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.1:443",
		"create 1a2b3c4d 10.0.2.1 id 2 -> 192.0.2.1:443",
		"create 1a2b3c4d 10.0.2.1 id 9 backup -> 192.0.2.1:443",
		"announce 1a2b3c4d 10.0.2.1:8080 id 2",
		"announce 00000bad 10.9.9.9 id 3",
		"remove 1a2b3c4d id 2",
		"backup 1a2b3c4d 10.0.1.1:40000 -> 192.0.2.1:443 true",
		"destroy 1a2b3c4d 10.0.1.1:40000 -> 192.0.2.1:443",
		"add_endpoint 10.0.1.1 id 0 signal",
		"delete_endpoint id 42 10.0.1.1",
		"list_endpoints ",
	}
	if diff := cmp.Diff(want, drv.take()); diff != "" {
		t.Errorf("driver calls (-want +got):\n%s", diff)
	}
	m := d.Metrics()
	for cmd, n := range map[string][2]uint64{"announce": {2, 1}, "remove": {1, 0}, "create_subflow": {3, 0},
		"set_backup": {1, 0}, "destroy_subflow": {1, 0}, "add_endpoint": {1, 0}, "delete_endpoint": {1, 0}, "list_endpoints": {1, 0}} {
		if ok, failed := m.Command(cmd); ok != n[0] || failed != n[1] {
			t.Errorf("Command(%s) = %d, %d, want %d, %d", cmd, ok, failed, n[0], n[1])
		}
	}
	if m.announcements.Load() != 2 {
		t.Errorf("announcements = %d, want 2", m.announcements.Load())
	}

	d2, _ := newTestDaemon(t, &fakeDriver{}, AddrFilter{})
	if d2.PathManager().EndpointManager() != nil {
		t.Error("EndpointManager() != nil for a driver without endpoints")
	}
}

func TestDaemonEventErrors(t *testing.T) {
	d, rec := newTestDaemon(t, &fakeDriver{}, AddrFilter{})
	ctx := context.Background()
	d.handleEvent(ctx, pm.Event{Err: pm.ErrEventsLost})
	d.handleEvent(ctx, pm.Event{Err: pm.ErrEventsLost})
	d.handleEvent(ctx, pm.Event{Type: pm.EventCreated, Token: 7, Err: errors.New("malformed")})
	if h := rec.take(); len(h) != 0 {
		t.Errorf("hooks for broken events: %v", h)
	}
	if cs := d.PathManager().Connections(); len(cs) != 0 {
		t.Errorf("a partly decoded event made a connection: %v", cs)
	}
	if lost, bad := d.Metrics().eventsLost.Load(), d.Metrics().eventErrors.Load(); lost != 2 || bad != 1 {
		t.Errorf("lost %d malformed %d, want 2 and 1", lost, bad)
	}
}

func TestNewErrors(t *testing.T) {
	r := &recorder{}
	for _, cfg := range []Config{
		{},
		{Driver: &fakeDriver{}, Plugins: []Plugin{r, r}},
		{Driver: &fakeDriver{}, Plugins: []Plugin{nil}},
		{Driver: &fakeDriver{}, Filter: AddrFilter{Exclude: []string{"["}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestIDTable(t *testing.T) {
	var tbl idTable
	present := map[netip.Addr]bool{}
	isPresent := func(a netip.Addr) bool { return present[a] }
	a := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }
	for i := range 255 {
		present[a(i)] = true
		if id := tbl.get(a(i), isPresent); int(id) != i+1 {
			t.Fatalf("address %d got ID %d, want %d", i, id, i+1)
		}
	}
	if id := tbl.get(a(7), isPresent); id != 8 {
		t.Errorf("known address got ID %d, want 8", id)
	}
	if id := tbl.get(a(300), isPresent); id != 0 {
		t.Errorf("ID %d given with all IDs in use, want 0", id)
	}
	// Addresses that are gone give their IDs up, only once IDs run out.
	present[a(10)], present[a(20)] = false, false
	if id := tbl.get(a(301), isPresent); id != 11 {
		t.Errorf("reused ID %d, want 11", id)
	}
	if id := tbl.peek(a(10)); id != 0 {
		t.Errorf("the old address kept ID %d", id)
	}
	if id := tbl.get(a(302), isPresent); id != 21 {
		t.Errorf("reused ID %d, want 21", id)
	}
}

// chanEvents and chanNet are sources fed by the test.
type chanEvents struct {
	c   chan pm.Event
	err error
}

func (s *chanEvents) Events() <-chan pm.Event { return s.c }
func (s *chanEvents) Err() error              { return s.err }

type chanNet struct {
	c   chan NetUpdate
	err error
}

func (s *chanNet) Updates() <-chan NetUpdate { return s.c }
func (s *chanNet) Err() error                { return s.err }

func TestDaemonRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	drv := &fakeDriver{}
	first, second := &recorder{name: "first"}, &recorder{name: "second"}
	sspi, _ := NewPlugin("sspi", nil)
	d, err := New(Config{Driver: drv, Plugins: []Plugin{first, sspi, second}})
	if err != nil {
		t.Fatal(err)
	}
	events := &chanEvents{c: make(chan pm.Event)}
	net := &chanNet{c: make(chan NetUpdate)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, events, net) }()

	// Changes before the snapshot are applied quietly, and the snapshot
	// replaces them.
	net.c <- NetUpdate{Kind: LinkChanged, Link: link(8, "eth8", upRunning)}
	net.c <- hostSnapshot
	events.c <- ev(pm.EventEstablished)
	net.c <- NetUpdate{Kind: LinkChanged, Link: link(9, "eth9", upRunning)}
	net.c <- NetUpdate{Kind: AddrAdded, Addr: addr("10.0.9.1/24", 9)}
	// An unbuffered send returns once the daemon took the update; this
	// one makes sure the previous update was handled.
	events.c <- ev(pm.EventSubPriority)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v after cancel, want nil", err)
	}
	wantFirst := []string{
		"start 2 addrs",
		"established 1a2b3c4d ifindex 2",
		"up eth9 (index 9, up)",
		"addr added 10.0.9.1/24 id 3 dev eth9",
		"sf priority 1a2b3c4d 10.0.1.1:40000 (id 0) -> 192.0.2.1:443 (id 0)",
		"stop (ctx err <nil>)",
	}
	if diff := cmp.Diff(wantFirst, first.take()); diff != "" {
		t.Errorf("first plugin (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantFirst, second.take()); diff != "" {
		t.Errorf("second plugin (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		"create 1a2b3c4d 10.0.2.1 id 2 ifindex 3 -> 192.0.2.1:443",
		"create 1a2b3c4d 10.0.9.1 id 3 ifindex 9 -> 192.0.2.1:443",
	}
	if diff := cmp.Diff(wantCalls, drv.take()); diff != "" {
		t.Errorf("driver calls (-want +got):\n%s", diff)
	}
	if err := d.Run(context.Background(), events, net); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestDaemonRunSourceErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	sockErr := errors.New("socket gone")
	tests := []struct {
		name string
		run  func(ev *chanEvents, net *chanNet)
		want string
	}{
		{"events closed", func(ev *chanEvents, net *chanNet) {
			net.c <- hostSnapshot
			ev.err = sockErr
			close(ev.c)
		}, "path manager events: socket gone"},
		{"address monitor closed", func(ev *chanEvents, net *chanNet) {
			net.c <- hostSnapshot
			close(net.c)
		}, "address monitor: source closed"},
		{"address monitor closed before the snapshot", func(ev *chanEvents, net *chanNet) {
			net.err = sockErr
			close(net.c)
		}, "address monitor: socket gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			d, err := New(Config{Driver: &fakeDriver{}, Plugins: []Plugin{r}})
			if err != nil {
				t.Fatal(err)
			}
			events, net := &chanEvents{c: make(chan pm.Event)}, &chanNet{c: make(chan NetUpdate)}
			done := make(chan error, 1)
			go func() { done <- d.Run(context.Background(), events, net) }()
			tt.run(events, net)
			err = <-done
			if err == nil || err.Error() != tt.want {
				t.Errorf("Run = %v, want %q", err, tt.want)
			}
			if tt.want == "path manager events: socket gone" && !errors.Is(err, sockErr) {
				t.Errorf("Run error %v does not wrap the source's", err)
			}
			log := r.take()
			if started := slices.Contains(log, "start 2 addrs"); started != slices.ContainsFunc(log, func(s string) bool {
				return strings.HasPrefix(s, "stop")
			}) {
				t.Errorf("start and stop do not pair: %v", log)
			}
		})
	}
}

func TestDaemonRunStartFails(t *testing.T) {
	defer goleak.VerifyNone(t)
	ok1, bad, never := &recorder{name: "a"}, &recorder{name: "b", startErr: errors.New("boom")}, &recorder{name: "c"}
	d, err := New(Config{Driver: &fakeDriver{}, Plugins: []Plugin{ok1, bad, never}})
	if err != nil {
		t.Fatal(err)
	}
	net := &chanNet{c: make(chan NetUpdate, 1)}
	net.c <- hostSnapshot
	err = d.Run(context.Background(), &chanEvents{c: make(chan pm.Event)}, net)
	if err == nil || err.Error() != "starting plugin b: boom" {
		t.Errorf("Run = %v, want the start error of b", err)
	}
	if diff := cmp.Diff([]string{"start 2 addrs", "stop (ctx err <nil>)"}, ok1.take()); diff != "" {
		t.Errorf("a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"start 2 addrs"}, bad.take()); diff != "" {
		t.Errorf("b (-want +got):\n%s", diff)
	}
	if got := never.take(); len(got) != 0 {
		t.Errorf("c was called: %v", got)
	}

	// Canceled before the snapshot: a clean stop.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d2, _ := New(Config{Driver: &fakeDriver{}})
	if err := d2.Run(ctx, &chanEvents{c: make(chan pm.Event)}, &chanNet{c: make(chan NetUpdate)}); err != nil {
		t.Errorf("Run with a canceled context = %v", err)
	}
}

// TestDaemonRunSourcesStopWithContext checks that sources closing because
// the daemon's context ended (as pm.Monitor and NetMonitor do) make a clean
// stop, whichever Run notices first.
func TestDaemonRunSourcesStopWithContext(t *testing.T) {
	defer goleak.VerifyNone(t)
	for range 50 {
		d, err := New(Config{Driver: &fakeDriver{}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		events := &chanEvents{c: make(chan pm.Event), err: context.Canceled}
		net := &chanNet{c: make(chan NetUpdate, 1), err: context.Canceled}
		net.c <- hostSnapshot
		stopEvents := context.AfterFunc(ctx, func() { close(events.c) })
		stopNet := context.AfterFunc(ctx, func() { close(net.c) })
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx, events, net) }()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		stopEvents()
		stopNet()
	}
}

// BenchmarkDaemonConnection measures the daemon's handling of one
// connection's life (created, established with sspi opening a subflow,
// subflow established, closed) against a driver that does nothing.
func BenchmarkDaemonConnection(b *testing.B) {
	sspi, _ := NewPlugin("sspi", nil)
	d, err := New(Config{Driver: nopDriver{}, Plugins: []Plugin{sspi}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d.handleNet(ctx, hostSnapshot, false)
	evs := []pm.Event{
		ev(pm.EventCreated), ev(pm.EventEstablished),
		ev(pm.EventSubEstablished, sub("10.0.2.1", 51000, "192.0.2.1", 443)),
		ev(pm.EventSubClosed, sub("10.0.2.1", 51000, "192.0.2.1", 443)),
		ev(pm.EventClosed),
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range evs {
			d.handleEvent(ctx, e)
		}
	}
	if req, created, _ := d.Metrics().Subflows(); req == 0 || req != created {
		b.Fatalf("requested %d, created %d", req, created)
	}
}

type nopDriver struct{}

func (nopDriver) Announce(context.Context, uint32, Endpoint) error { return nil }
func (nopDriver) Remove(context.Context, uint32, uint8) error      { return nil }
func (nopDriver) CreateSubflow(context.Context, uint32, Endpoint, netip.AddrPort) error {
	return nil
}
func (nopDriver) DestroySubflow(context.Context, uint32, netip.AddrPort, netip.AddrPort) error {
	return nil
}
func (nopDriver) SetBackup(context.Context, uint32, netip.AddrPort, netip.AddrPort, bool) error {
	return nil
}

// TestDaemonIDsExhausted: with every address ID taken by a present
// address, a further address has none and cannot open subflows.
func TestDaemonIDsExhausted(t *testing.T) {
	drv := &fakeDriver{}
	d, err := New(Config{Driver: drv})
	if err != nil {
		t.Fatal(err)
	}
	snap := NetUpdate{Kind: NetSnapshot, Links: []Link{link(2, "eth0", upRunning)}}
	for i := range 256 {
		snap.Addrs = append(snap.Addrs, addr(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String()+"/16", 2))
	}
	ctx := context.Background()
	d.handleNet(ctx, snap, false)
	addrs := d.PathManager().LocalAddrs()
	if len(addrs) != 256 || addrs[0].ID != 0 || addrs[0].Addr != netip.MustParseAddr("10.1.0.255") || addrs[255].ID != 255 {
		t.Fatalf("LocalAddrs: %d, first %v, last %v", len(addrs), addrs[0], addrs[len(addrs)-1])
	}
	d.handleEvent(ctx, ev(pm.EventEstablished, sub("10.1.0.1", 40000, "192.0.2.1", 443)))
	p := d.PathManager()
	remote := netip.MustParseAddrPort("192.0.2.1:443")
	err = p.CreateSubflow(ctx, 0x1a2b3c4d, Endpoint{Addr: netip.MustParseAddrPort("10.1.0.255:0")}, remote)
	if err == nil || !strings.Contains(err.Error(), "no address ID is free") {
		t.Errorf("CreateSubflow from an address without ID: %v", err)
	}
	if err := p.CreateSubflow(ctx, 0x1a2b3c4d, Endpoint{Addr: netip.MustParseAddrPort("10.1.0.1:0")}, remote); err != nil {
		t.Errorf("CreateSubflow from the initial address: %v", err)
	}
	if diff := cmp.Diff([]string{"create 1a2b3c4d 10.1.0.1 id 0 -> 192.0.2.1:443"}, drv.take()); diff != "" {
		t.Errorf("driver calls (-want +got):\n%s", diff)
	}
	if _, failed := d.Metrics().Command("create_subflow"); failed != 1 {
		t.Errorf("failed create_subflow commands = %d, want 1", failed)
	}
}
