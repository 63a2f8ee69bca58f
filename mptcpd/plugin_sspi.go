package mptcpd

import (
	"context"
	"net/netip"
)

func init() {
	Register(Registration{
		Name:    "sspi",
		Summary: "single subflow per interface: one subflow over every interface a connection does not use yet",
		Mode:    ModeUserspace,
		Options: []OptionSpec{
			{Name: "bind", Default: "true", Doc: "bind each subflow to its interface, so that it leaves through it whatever the routing table says"},
		},
		New: newSSPI,
	})
}

// sspi opens, on each connection this host initiated, one subflow over
// every up interface the connection does not use yet, from the interface's
// first address of the right family to the peer's address. It does so when
// the connection is established, when a local address appears, and when
// the peer announces an address (in case it refused joins to its initial
// one). Subflows from a local address that goes away are closed.
type sspi struct {
	Base
	bind bool
}

func newSSPI(opts Options) (Plugin, error) {
	bind, err := opts.Bool("bind", true)
	if err != nil {
		return nil, err
	}
	return &sspi{bind: bind}, nil
}

func (p *sspi) Name() string { return "sspi" }

func (p *sspi) ConnectionEstablished(ctx context.Context, pm PathManager, c Connection) {
	p.fill(ctx, pm, c)
}

func (p *sspi) AddressAnnounced(ctx context.Context, pm PathManager, c Connection, _ RemoteAddr) {
	p.fill(ctx, pm, c)
}

func (p *sspi) LocalAddressAdded(ctx context.Context, pm PathManager, _ LocalAddr) {
	for _, c := range pm.Connections() {
		p.fill(ctx, pm, c)
	}
}

func (p *sspi) LocalAddressRemoved(ctx context.Context, pm PathManager, a LocalAddr) {
	closeSubflowsFrom(ctx, pm, a.Addr)
}

// fill opens the missing subflows of c.
func (p *sspi) fill(ctx context.Context, pm PathManager, c Connection) {
	if !initiated(c) {
		return
	}
	targets := c.JoinTargets()
	if len(targets) == 0 {
		return
	}
	remote := targets[0].Addr
	addrs := pm.LocalAddrs()
	for _, ifc := range pm.Interfaces() {
		if !ifc.Up || c.UsesInterface(ifc.Index) {
			continue
		}
		local, ok := firstAddrOn(addrs, ifc.Index, remote.Addr())
		if !ok {
			continue
		}
		e := Endpoint{Addr: netip.AddrPortFrom(local.Addr, 0)}
		if p.bind {
			e.IfIndex = ifc.Index
		}
		if pm.CreateSubflow(ctx, c.Token, e, remote) == nil {
			c.Subflows = append(c.Subflows, Subflow{Local: e.Addr, Remote: remote, IfIndex: ifc.Index, Pending: true})
		}
	}
}

// initiated reports whether c is an established connection this host
// initiated. The initiator opens the additional subflows: the other end is
// often unreachable (behind NAT or a firewall).
func initiated(c Connection) bool { return c.Established && !c.ServerSide }

// firstAddrOn returns the first (lowest ID) address on the interface with
// the family of remote.
func firstAddrOn(addrs []LocalAddr, ifindex int, remote netip.Addr) (LocalAddr, bool) {
	for _, a := range addrs {
		if a.IfIndex == ifindex && a.Addr.Is4() == remote.Is4() {
			return a, true
		}
	}
	return LocalAddr{}, false
}

// closeSubflowsFrom closes the established additional subflows that use a
// local address that went away.
func closeSubflowsFrom(ctx context.Context, pm PathManager, a netip.Addr) {
	for _, c := range pm.Connections() {
		for _, s := range c.Subflows {
			if !s.Pending && s.Local.Addr() == a {
				_ = pm.DestroySubflow(ctx, c.Token, s.Local, s.Remote)
			}
		}
	}
}
