// Package mptcpd is a userspace path manager for Multipath TCP (RFC 8684):
// the core of the mptcpd daemon, usable as a library, and its plugins.
//
// A path manager decides which subflows a connection has (MP_JOIN,
// RFC 8684 §3.2), which local addresses are announced to the peer
// (ADD_ADDR and REMOVE_ADDR, §3.4) and which subflows are backups
// (MP_PRIO, §3.3.8). With net.mptcp.path_manager=userspace the Linux
// kernel leaves these decisions to a program that listens to its mptcp_pm
// events and answers with mptcp_pm commands; with the in-kernel path
// manager the program configures endpoints instead.
//
// # Daemon
//
// A Daemon keeps a view of the host: its usable local addresses and
// interfaces, from a NetSource (NetMonitor watches route netlink:
// RTM_NEWADDR, RTM_DELADDR, RTM_NEWLINK and RTM_DELLINK, after an initial
// dump), and its MPTCP connections with their peer addresses and subflows,
// from an EventSource (a kernel/pm Monitor). For every change it calls the
// hooks of its plugins, in order, from one goroutine:
//
//	c, _ := pm.Dial(nil)
//	events, _ := pm.Subscribe(ctx, nil)
//	net, _ := mptcpd.MonitorNet(ctx, nil, logger)
//	sspi, _ := mptcpd.NewPlugin("sspi", nil)
//	d, _ := mptcpd.New(mptcpd.Config{Driver: mptcpd.NewKernelDriver(c), Plugins: []mptcpd.Plugin{sspi}})
//	err := d.Run(ctx, events, net)
//
// Usable addresses are those of interfaces that are up and running and
// pass the AddrFilter (interface name patterns to include and exclude),
// except loopback addresses, link-local ones (unless allowed) and those
// that are tentative, deprecated or failed duplicate address detection.
// The daemon gives each a stable address ID (RFC 8684 §3.4.1).
//
// # Plugins and the PathManager interface
//
// A Plugin has a Name and a hook per event: connection created,
// established and closed; address announced and removed by the peer;
// subflow established, closed and priority changed; local address added
// and removed; interface up and down. Each hook receives the event and a
// PathManager, through which the plugin acts (Announce, Remove,
// CreateSubflow, DestroySubflow, SetBackup, and the in-kernel endpoints
// through EndpointManager) and reads the daemon's view (LocalAddrs,
// Interfaces, Connections). Plugins embed Base to implement only the hooks
// they need, may implement Starter and Stopper, and are registered by name
// with Register and created with NewPlugin, which checks their Options.
//
// PathManager is an interface so that the same plugins can drive
// gomptcp's own userspace MPTCP stack, whose path manager events mirror the
// kernel's mptcp_pm events: the stack implements the Driver commands for
// its connections, feeds its events and addresses to a Daemon, and the
// plugins neither know nor care. KernelDriver is the implementation for the
// Linux kernel; it wraps a kernel/pm Client.
//
// The plugins of this package:
//
//   - addr_adv: keeps the in-kernel path manager's endpoints in step with
//     the host's addresses (flags signal, subflow, backup, fullmesh).
//   - sspi: single subflow per interface, towards the peer's address.
//   - fullmesh: a subflow per local address and peer address (the initial
//     one and those announced).
//   - ndiffports: N subflows over the initial address pair, from different
//     source ports.
//   - backup: subflows over chosen interfaces get the backup priority with
//     MP_PRIO when established.
//
// Subflow-opening plugins act on connections this host initiated only, and
// respect the peer's refusal of joins to its initial address (the C flag of
// MP_CAPABLE, RFC 8684 §3.1).
//
// Metrics counts events, commands, subflows requested, created and failed,
// and announcements, and writes them in the Prometheus text format.
//
// NetMonitor exists only on Linux; everything else is portable, so plugins
// are tested anywhere against a fake PathManager.
package mptcpd
