//go:build linux

package pm

import (
	"context"
	"fmt"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Dial opens a generic netlink socket and returns a Client for the kernel's
// MPTCP path manager. cfg may be nil; cfg.NetNS (a network namespace file
// descriptor) makes the client act on another network namespace. The error
// wraps ErrFamilyNotFound when the kernel lacks mptcp_pm.
func Dial(cfg *netlink.Config) (*Client, error) {
	conn, err := dial(cfg)
	if err != nil {
		return nil, err
	}
	return NewClient(conn)
}

// Subscribe opens a generic netlink socket joined to the mptcp_pm_events
// multicast group and returns a Monitor delivering the events until ctx ends
// or Close is called. cfg is as for Dial.
func Subscribe(ctx context.Context, cfg *netlink.Config) (*Monitor, error) {
	conn, err := dial(cfg)
	if err != nil {
		return nil, err
	}
	return NewMonitor(ctx, conn)
}

func dial(cfg *netlink.Config) (*genetlink.Conn, error) {
	conn, err := genetlink.Dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("opening a generic netlink socket: %w", err)
	}
	// Ask for the kernel's error messages (Linux 4.12+); without them
	// errors carry only an errno, so a failure here is not fatal.
	_ = conn.SetOption(netlink.ExtendedAcknowledge, true)
	return conn, nil
}
