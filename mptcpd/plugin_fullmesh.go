package mptcpd

import (
	"context"
	"net/netip"
)

func init() {
	Register(Registration{
		Name:    "fullmesh",
		Summary: "one subflow per pair of local address and peer address",
		Mode:    ModeUserspace,
		Options: []OptionSpec{
			{Name: "max-subflows", Default: "8", Doc: "most additional subflows per connection (1-255)"},
			{Name: "bind", Default: "false", Doc: "bind each subflow to the interface of its local address"},
		},
		New: newFullmesh,
	})
}

// fullmesh opens, on each connection this host initiated, a subflow from
// every usable local address to every peer address of the same family: the
// initial one and those the peer announced (RFC 8684 §3.4.1), up to a
// limit. It completes the mesh when the connection is established, when the
// peer announces an address and when a local address appears; it closes the
// subflows of a local address that goes away.
type fullmesh struct {
	Base
	max  int
	bind bool
}

func newFullmesh(opts Options) (Plugin, error) {
	max, err := opts.Int("max-subflows", 8, 1, 255)
	if err != nil {
		return nil, err
	}
	bind, err := opts.Bool("bind", false)
	if err != nil {
		return nil, err
	}
	return &fullmesh{max: max, bind: bind}, nil
}

func (p *fullmesh) Name() string { return "fullmesh" }

func (p *fullmesh) ConnectionEstablished(ctx context.Context, pm PathManager, c Connection) {
	p.mesh(ctx, pm, c)
}

func (p *fullmesh) AddressAnnounced(ctx context.Context, pm PathManager, c Connection, _ RemoteAddr) {
	p.mesh(ctx, pm, c)
}

func (p *fullmesh) LocalAddressAdded(ctx context.Context, pm PathManager, _ LocalAddr) {
	for _, c := range pm.Connections() {
		p.mesh(ctx, pm, c)
	}
}

func (p *fullmesh) LocalAddressRemoved(ctx context.Context, pm PathManager, a LocalAddr) {
	closeSubflowsFrom(ctx, pm, a.Addr)
}

func (p *fullmesh) mesh(ctx context.Context, pm PathManager, c Connection) {
	if !initiated(c) {
		return
	}
	targets := c.JoinTargets()
	for _, local := range pm.LocalAddrs() {
		for _, r := range targets {
			if len(c.Subflows) >= p.max {
				return
			}
			if local.Addr.Is4() != r.Addr.Addr().Is4() || c.HasPath(local.Addr, r.Addr) {
				continue
			}
			e := Endpoint{Addr: netip.AddrPortFrom(local.Addr, 0)}
			if p.bind {
				e.IfIndex = local.IfIndex
			}
			// A refused request still counts against the limit, so that a
			// persistent failure cannot loop.
			c.Subflows = append(c.Subflows, Subflow{Local: e.Addr, Remote: r.Addr, IfIndex: local.IfIndex, Pending: true})
			_ = pm.CreateSubflow(ctx, c.Token, e, r.Addr)
		}
	}
}
