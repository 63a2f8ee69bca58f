package mptcpd

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// KernelDriver drives the Linux kernel's MPTCP path manager through a
// kernel/pm Client: the userspace path manager's per-connection commands
// (net.mptcp.path_manager=userspace) as a Driver, and the in-kernel path
// manager's endpoints as an EndpointManager.
type KernelDriver struct {
	c *pm.Client
}

var (
	_ Driver          = (*KernelDriver)(nil)
	_ EndpointManager = (*KernelDriver)(nil)
)

// NewKernelDriver returns a driver using c; the caller keeps ownership of c.
func NewKernelDriver(c *pm.Client) *KernelDriver { return &KernelDriver{c: c} }

func toPMEndpoint(e Endpoint) pm.Endpoint {
	return pm.Endpoint{
		ID:      e.ID,
		Addr:    e.Addr.Addr(),
		Port:    e.Addr.Port(),
		Flags:   pm.EndpointFlags(e.Flags),
		IfIndex: e.IfIndex,
	}
}

func fromPMEndpoint(e pm.Endpoint) Endpoint {
	return Endpoint{
		ID:      e.ID,
		Addr:    netip.AddrPortFrom(e.Addr.Unmap(), e.Port),
		Flags:   EndpointFlags(e.Flags),
		IfIndex: e.IfIndex,
	}
}

// Announce implements Driver (MPTCP_PM_CMD_ANNOUNCE).
func (k *KernelDriver) Announce(ctx context.Context, token uint32, local Endpoint) error {
	return k.c.Announce(ctx, token, toPMEndpoint(local))
}

// Remove implements Driver (MPTCP_PM_CMD_REMOVE).
func (k *KernelDriver) Remove(ctx context.Context, token uint32, id uint8) error {
	return k.c.Remove(ctx, token, id)
}

// CreateSubflow implements Driver (MPTCP_PM_CMD_SUBFLOW_CREATE). Of the
// flags only FlagBackup is passed on: the kernel refuses FlagSignal here.
func (k *KernelDriver) CreateSubflow(ctx context.Context, token uint32, local Endpoint, remote netip.AddrPort) error {
	local.Flags &= FlagBackup
	return k.c.CreateSubflow(ctx, token, toPMEndpoint(local), remote)
}

// DestroySubflow implements Driver (MPTCP_PM_CMD_SUBFLOW_DESTROY).
func (k *KernelDriver) DestroySubflow(ctx context.Context, token uint32, local, remote netip.AddrPort) error {
	return k.c.DestroySubflow(ctx, token, local, remote)
}

// SetBackup implements Driver (MPTCP_PM_CMD_SET_FLAGS with a token).
func (k *KernelDriver) SetBackup(ctx context.Context, token uint32, local, remote netip.AddrPort, backup bool) error {
	return k.c.SetSubflowBackup(ctx, token, local, remote, backup)
}

// AddEndpoint implements EndpointManager (MPTCP_PM_CMD_ADD_ADDR). When e.ID
// is 0 the kernel picks the ID, which is then read back.
func (k *KernelDriver) AddEndpoint(ctx context.Context, e Endpoint) (uint8, error) {
	if err := k.c.AddEndpoint(ctx, toPMEndpoint(e)); err != nil {
		return 0, err
	}
	if e.ID != 0 {
		return e.ID, nil
	}
	eps, err := k.c.Endpoints(ctx)
	if err != nil {
		return 0, err
	}
	for _, ep := range eps {
		if ep.Addr.Unmap() == e.Addr.Addr() && ep.Port == e.Addr.Port() {
			return ep.ID, nil
		}
	}
	return 0, fmt.Errorf("endpoint %s added but missing from the kernel's list", e.Addr.Addr())
}

// DeleteEndpoint implements EndpointManager (MPTCP_PM_CMD_DEL_ADDR).
func (k *KernelDriver) DeleteEndpoint(ctx context.Context, id uint8, addr netip.Addr) error {
	return k.c.DeleteEndpoint(ctx, id, addr)
}

// Endpoints implements EndpointManager (MPTCP_PM_CMD_GET_ADDR dump).
func (k *KernelDriver) Endpoints(ctx context.Context) ([]Endpoint, error) {
	eps, err := k.c.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, len(eps))
	for i, e := range eps {
		out[i] = fromPMEndpoint(e)
	}
	return out, nil
}
