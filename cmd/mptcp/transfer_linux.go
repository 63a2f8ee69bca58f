package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/gomptcp/mptcp/internal/rtnl"
)

// transferLinkExists reports whether the network namespace at netns (the
// process's if empty) has a network device called name, asking rtnetlink
// (RTM_GETLINK by name: ENODEV if there is none).
func transferLinkExists(netns, name string) (bool, error) {
	cfg := &netlink.Config{}
	if netns != "" {
		f, err := os.Open(netns)
		if err != nil {
			return false, fmt.Errorf("network namespace: %w", err)
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return false, fmt.Errorf("rtnetlink: %w", err)
	}
	defer c.Close()
	_, err = c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   rtnl.Link{Name: name}.Append(nil),
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENODEV):
		return false, nil
	}
	return false, fmt.Errorf("looking up device %s: %w", name, err)
}
