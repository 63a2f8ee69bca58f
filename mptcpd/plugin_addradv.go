package mptcpd

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"
)

func init() {
	Register(Registration{
		Name:    "addr_adv",
		Summary: "keep the in-kernel path manager's endpoints in step with the host's addresses",
		Mode:    ModeKernel,
		Options: []OptionSpec{
			{Name: "flags", Default: "subflow", Doc: "flags of the endpoints added: signal, subflow, backup, fullmesh (comma-separated; fullmesh excludes signal)"},
			{Name: "keep-on-exit", Default: "false", Doc: "leave the endpoints added in place when the daemon stops"},
		},
		New: newAddrAdv,
	})
}

// addrAdv adds an in-kernel endpoint for every usable local address that
// has none, with the configured flags, and deletes the endpoints it added
// when their address goes away. Endpoints that existed before (configured
// by the administrator) are left alone.
type addrAdv struct {
	Base
	flags EndpointFlags
	keep  bool
	em    EndpointManager
	// owned maps the addresses of the endpoints this plugin added to their
	// IDs; foreign lists the addresses of endpoints it found.
	owned   map[netip.Addr]uint8
	foreign map[netip.Addr]bool
}

func newAddrAdv(opts Options) (Plugin, error) {
	flags, err := ParseEndpointFlags(opts.String("flags", "subflow"))
	if err != nil {
		return nil, err
	}
	keep, err := opts.Bool("keep-on-exit", false)
	if err != nil {
		return nil, err
	}
	return &addrAdv{flags: flags, keep: keep, owned: map[netip.Addr]uint8{}, foreign: map[netip.Addr]bool{}}, nil
}

func (p *addrAdv) Name() string { return "addr_adv" }

// Start reads the existing endpoints and adds those missing for the
// current addresses.
func (p *addrAdv) Start(ctx context.Context, pm PathManager) error {
	p.em = pm.EndpointManager()
	if p.em == nil {
		return errors.New("the path manager has no endpoints (the in-kernel path manager is needed)")
	}
	eps, err := p.em.Endpoints(ctx)
	if err != nil {
		return err
	}
	for _, e := range eps {
		p.foreign[e.Addr.Addr()] = true
	}
	for _, a := range pm.LocalAddrs() {
		p.add(ctx, a)
	}
	return nil
}

func (p *addrAdv) add(ctx context.Context, a LocalAddr) {
	if p.foreign[a.Addr] {
		return
	}
	if _, ok := p.owned[a.Addr]; ok {
		return
	}
	id, err := p.em.AddEndpoint(ctx, Endpoint{Addr: netip.AddrPortFrom(a.Addr, 0), Flags: p.flags, IfIndex: a.IfIndex})
	if err == nil {
		p.owned[a.Addr] = id
	}
}

func (p *addrAdv) LocalAddressAdded(ctx context.Context, pm PathManager, a LocalAddr) {
	if p.em != nil {
		p.add(ctx, a)
	}
}

func (p *addrAdv) LocalAddressRemoved(ctx context.Context, pm PathManager, a LocalAddr) {
	id, ok := p.owned[a.Addr]
	if !ok || p.em == nil {
		return
	}
	// The same address may remain on another interface.
	for _, other := range pm.LocalAddrs() {
		if other.Addr == a.Addr {
			return
		}
	}
	delete(p.owned, a.Addr)
	_ = p.em.DeleteEndpoint(ctx, id, a.Addr)
}

// Stop deletes the endpoints the plugin added, unless told to keep them.
func (p *addrAdv) Stop(ctx context.Context, pm PathManager) {
	if p.keep || p.em == nil {
		return
	}
	addrs := slices.SortedFunc(maps.Keys(p.owned), func(a, b netip.Addr) int { return cmp.Compare(p.owned[a], p.owned[b]) })
	for _, a := range addrs {
		_ = p.em.DeleteEndpoint(ctx, p.owned[a], a)
		delete(p.owned, a)
	}
}
