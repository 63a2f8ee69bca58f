//go:build !linux

package pm

import (
	"context"

	"github.com/mdlayher/netlink"
)

// Dial returns ErrNotSupported: the kernel MPTCP path manager is Linux's.
func Dial(cfg *netlink.Config) (*Client, error) {
	return nil, ErrNotSupported
}

// Subscribe returns ErrNotSupported: the kernel MPTCP path manager is
// Linux's.
func Subscribe(ctx context.Context, cfg *netlink.Config) (*Monitor, error) {
	return nil, ErrNotSupported
}
