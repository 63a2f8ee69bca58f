package mptcpd

import (
	"context"
	"errors"
)

func init() {
	Register(Registration{
		Name:    "backup",
		Summary: "mark subflows over chosen interfaces as backup (MP_PRIO)",
		Mode:    ModeUserspace,
		Options: []OptionSpec{
			{Name: "interfaces", Doc: "interfaces whose subflows are backup subflows: names or patterns like wwan* (required)"},
		},
		New: newBackup,
	})
}

// backup gives the backup priority (RFC 8684 §3.3.8: MP_PRIO with the B
// flag) to every subflow that runs over one of the chosen interfaces, when
// it is established; the initial subflow included, when the connection is
// established. The peer then sends over them only when no other subflow is
// available.
type backup struct {
	Base
	patterns []string
}

func newBackup(opts Options) (Plugin, error) {
	pats := opts.List("interfaces")
	if len(pats) == 0 {
		return nil, errors.New("option interfaces is required (the interfaces whose subflows are backup subflows)")
	}
	if err := (AddrFilter{Include: pats}).Validate(); err != nil {
		return nil, err
	}
	return &backup{patterns: pats}, nil
}

func (p *backup) Name() string { return "backup" }

func (p *backup) isBackup(pm PathManager, ifindex int) bool {
	ifc, ok := pm.Interface(ifindex)
	return ok && matchAny(p.patterns, ifc.Name)
}

func (p *backup) ConnectionEstablished(ctx context.Context, pm PathManager, c Connection) {
	if !c.Backup && p.isBackup(pm, c.IfIndex) {
		_ = pm.SetBackup(ctx, c.Token, c.Local, c.Remote, true)
	}
}

func (p *backup) SubflowEstablished(ctx context.Context, pm PathManager, c Connection, s Subflow) {
	if !s.Backup && p.isBackup(pm, s.IfIndex) {
		_ = pm.SetBackup(ctx, c.Token, s.Local, s.Remote, true)
	}
}
