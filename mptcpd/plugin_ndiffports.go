package mptcpd

import (
	"context"
	"net/netip"
)

func init() {
	Register(Registration{
		Name:    "ndiffports",
		Summary: "N subflows over the initial address pair, from different source ports",
		Mode:    ModeUserspace,
		Options: []OptionSpec{
			{Name: "count", Default: "2", Doc: "subflows over the initial address pair, the initial subflow included (1-32)"},
		},
		New: newNdiffports,
	})
}

// ndiffports opens, on each connection this host initiated, additional
// subflows between the addresses of the initial subflow until there are
// count of them; each gets its own source port, so that networks that
// balance flows by their 5-tuple (ECMP) spread them over their paths.
type ndiffports struct {
	Base
	count int
}

func newNdiffports(opts Options) (Plugin, error) {
	n, err := opts.Int("count", 2, 1, 32)
	if err != nil {
		return nil, err
	}
	return &ndiffports{count: n}, nil
}

func (p *ndiffports) Name() string { return "ndiffports" }

func (p *ndiffports) ConnectionEstablished(ctx context.Context, pm PathManager, c Connection) {
	// RFC 8684 §3.1: with the C flag the peer accepts no subflow to the
	// address and port of the initial subflow, the only pair used here.
	if !initiated(c) || c.DenyJoinID0 {
		return
	}
	local := netip.AddrPortFrom(c.Local.Addr(), 0)
	for range p.count - c.CountPaths(c.Local.Addr(), c.Remote) {
		if pm.CreateSubflow(ctx, c.Token, Endpoint{Addr: local}, c.Remote) != nil {
			return
		}
	}
}
