package mptcpd

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
)

// fakePM is a PathManager over a view the test sets up. It records the
// commands as strings and, like the Daemon, records requested subflows as
// pending in the connection's view.
type fakePM struct {
	addrs   []LocalAddr
	ifs     []Interface
	conns   map[uint32]*Connection
	em      *fakeEM
	fail    map[string]error // command name → error to return
	actions []string
}

func newFakePM() *fakePM {
	return &fakePM{conns: map[uint32]*Connection{}, fail: map[string]error{}}
}

var _ PathManager = (*fakePM)(nil)

func (f *fakePM) record(cmd, format string, a ...any) error {
	f.actions = append(f.actions, cmd+" "+fmt.Sprintf(format, a...))
	return f.fail[cmd]
}

func (f *fakePM) Announce(_ context.Context, token uint32, local Endpoint) error {
	return f.record("announce", "%08x %v", token, local)
}

func (f *fakePM) Remove(_ context.Context, token uint32, id uint8) error {
	return f.record("remove", "%08x id %d", token, id)
}

func (f *fakePM) CreateSubflow(_ context.Context, token uint32, local Endpoint, remote netip.AddrPort) error {
	err := f.record("create", "%08x %v -> %v", token, local, remote)
	if c := f.conns[token]; c != nil && err == nil {
		ifindex := local.IfIndex
		if ifindex == 0 {
			for _, a := range f.addrs {
				if a.Addr == local.Addr.Addr() {
					ifindex = a.IfIndex
				}
			}
		}
		c.Subflows = append(c.Subflows, Subflow{Local: local.Addr, Remote: remote, IfIndex: ifindex, Pending: true})
	}
	return err
}

func (f *fakePM) DestroySubflow(_ context.Context, token uint32, local, remote netip.AddrPort) error {
	return f.record("destroy", "%08x %v -> %v", token, local, remote)
}

func (f *fakePM) SetBackup(_ context.Context, token uint32, local, remote netip.AddrPort, backup bool) error {
	return f.record("backup", "%08x %v -> %v %v", token, local, remote, backup)
}

func (f *fakePM) EndpointManager() EndpointManager {
	if f.em == nil {
		return nil
	}
	return f.em
}

func (f *fakePM) LocalAddrs() []LocalAddr { return slices.Clone(f.addrs) }
func (f *fakePM) Interfaces() []Interface { return slices.Clone(f.ifs) }

func (f *fakePM) Interface(index int) (Interface, bool) {
	for _, i := range f.ifs {
		if i.Index == index {
			return i, true
		}
	}
	return Interface{}, false
}

func (f *fakePM) Connections() []Connection {
	var out []Connection
	for _, c := range f.conns {
		out = append(out, c.Clone())
	}
	slices.SortFunc(out, func(a, b Connection) int { return int(int64(a.Token) - int64(b.Token)) })
	return out
}

func (f *fakePM) Connection(token uint32) (Connection, bool) {
	c, ok := f.conns[token]
	if !ok {
		return Connection{}, false
	}
	return c.Clone(), true
}

// fakeEM is an EndpointManager over a list; IDs are given like the kernel
// does: after the highest in use.
type fakeEM struct {
	pm      *fakePM
	eps     []Endpoint
	listErr error
}

func (e *fakeEM) AddEndpoint(_ context.Context, ep Endpoint) (uint8, error) {
	if err := e.pm.record("add_endpoint", "%v", ep); err != nil {
		return 0, err
	}
	if ep.ID == 0 {
		for _, x := range e.eps {
			ep.ID = max(ep.ID, x.ID)
		}
		ep.ID++
	}
	e.eps = append(e.eps, ep)
	return ep.ID, nil
}

func (e *fakeEM) DeleteEndpoint(_ context.Context, id uint8, addr netip.Addr) error {
	if err := e.pm.record("delete_endpoint", "id %d %v", id, addr); err != nil {
		return err
	}
	e.eps = slices.DeleteFunc(e.eps, func(x Endpoint) bool { return x.ID == id })
	return nil
}

func (e *fakeEM) Endpoints(context.Context) ([]Endpoint, error) {
	return slices.Clone(e.eps), e.listErr
}
