//go:build !linux

package mptcpd

import (
	"context"
	"errors"
	"log/slog"

	"github.com/mdlayher/netlink"
)

// ErrNotLinux is returned by MonitorNet on systems other than Linux.
var ErrNotLinux = errors.New("mptcpd: route netlink monitoring is only available on Linux")

// NetMonitor watches the host's interfaces and addresses over route
// netlink; it exists only on Linux.
type NetMonitor struct{}

// MonitorNet returns ErrNotLinux.
func MonitorNet(ctx context.Context, cfg *netlink.Config, log *slog.Logger) (*NetMonitor, error) {
	return nil, ErrNotLinux
}

// Updates returns nil.
func (m *NetMonitor) Updates() <-chan NetUpdate { return nil }

// Err returns ErrNotLinux.
func (m *NetMonitor) Err() error { return ErrNotLinux }

// Close does nothing.
func (m *NetMonitor) Close() error { return nil }
