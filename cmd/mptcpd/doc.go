// Command mptcpd is a Multipath TCP (RFC 8684) path manager daemon for the
// Linux kernel, built on package mptcpd.
//
// It watches the kernel's MPTCP path manager events (the mptcp_pm generic
// netlink family) and the host's interfaces and addresses (route netlink),
// and runs plugins that open subflows, announce addresses and configure
// the in-kernel path manager's endpoints. With the userspace path manager
// (net.mptcp.path_manager=userspace, which --set-path-manager selects for
// the daemon's lifetime) the plugins decide every subflow; addr_adv serves
// the in-kernel path manager instead.
//
// Settings come from flags and from a configuration file (--config) of
// "key = value" lines; flags win. See "mptcpd -h", "mptcpd --list-plugins",
// mptcpd.conf (an example configuration) and mptcpd.service (a systemd
// unit) in this directory.
//
// Exit status: 0 after SIGINT or SIGTERM, 1 on a runtime failure (missing
// privileges, a kernel without MPTCP), 2 on bad flags or configuration.
package main
