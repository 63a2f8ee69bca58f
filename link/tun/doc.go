// Package tun runs a link.Node on Linux TUN devices, one device per path,
// so that gomptcp's stack talks to the host's own network stack (and,
// through it, to anything the host can route to).
//
// # Use
//
//	s, err := tun.Open(tun.Config{Devices: []tun.DeviceConfig{
//		{Name: "gmt0", Addrs: []netip.Prefix{a1}, KernelAddrs: []netip.Prefix{k1}},
//		{Name: "gmt1", Addrs: []netip.Prefix{a2}, KernelAddrs: []netip.Prefix{k2}},
//	}})
//	node := newNode(s.NICs()) // the Node learns its NICs from the Stack
//	err = s.Start(node)
//	s.Do(func(now time.Time) { /* call into the Node */ })
//	err = s.Close()
//
// Open creates each device (or, with DeviceConfig.Attach, attaches to an
// existing one, as "ip tuntap add dev NAME mode tun" makes it), sets its
// MTU, assigns the KernelAddrs and brings it up, all over rtnetlink, in
// the network namespace Config.NetNS if one is given. KernelAddrs are the
// host's addresses on the link; Addrs are the Node's own, which the kernel
// reaches through the routes KernelAddrs give it.
//
// # Threads
//
// One event-loop goroutine owns the Node and the middleware and calls them
// as package link describes, on Config.Clock: Receive for each packet read,
// Timer when the Node's Deadline passes, LinkEvent for link changes; it
// reads the Node's Deadline after each round of calls and sleeps until the
// earliest deadline of the Node and the middleware, a packet, a Do call or
// a link change wakes it. One reader goroutine per device reads batches of
// packets into buffers it gets back from the loop once the loop has handled
// them, so the steady state allocates nothing per packet; when the loop
// falls behind, a reader runs out of buffers and stops reading, and the
// kernel queues and then drops, as with a slow NIC. What the Node sends
// during a round is copied into a per-device write batch and written at
// the end of the round (or when the batch is full) in one call. A monitor
// goroutine reads rtnetlink link notifications. Close stops them all and
// returns once they have exited.
//
// link.Driver is not used: it runs a Middleware, not a Node, on a goroutine
// of its own, so it would add a goroutine hop and a copy per packet per
// middleware. The Stack drives the middleware sans-IO on its own loop,
// like the Node.
//
// # Weak host
//
// A packet read from any device is accepted if it is addressed to any
// address of any of the Stack's NICs, and the Node learns on which NIC it
// arrived. Before delivery the Stack drops malformed packets and packets
// whose IPv4 header, TCP, UDP, ICMP or ICMPv6 checksum does not verify,
// as a host does (and as link/sim does). Packets for other addresses (the
// kernel's multicast chatter, say) are dropped and counted.
//
// # Links
//
// The monitor watches each device's flags over rtnetlink (RTMGRP_LINK):
// a link is up while it is administratively up and has a carrier (IFF_UP
// and IFF_LOWER_UP; "ip link set dev X down" or "carrier off" take it
// down).
// Changes reach the Node as link.EventUp and link.EventDown; NIC.Up
// follows, and Send returns link.ErrDown while the link is down. The kernel
// drops IPv6 addresses when a link goes down, so the Stack assigns the
// KernelAddrs again when it comes back. NIC.AddAddr and NIC.RemoveAddr
// change the Node's addresses and send link.EventAddrAdded and
// link.EventAddrRemoved. A device's MTU may shrink while the Stack runs;
// it cannot grow past its value at Open, which sized the buffers.
//
// # Offloads
//
// Unless DeviceConfig.DisableOffloads is set, a device is opened with
// IFF_VNET_HDR: every packet crossing it carries a struct virtio_net_hdr,
// and wireguard's tun package enables TUN_F_CSUM, TUN_F_TSO4 and
// TUN_F_TSO6 (and TUN_F_USO4 and TUN_F_USO6 where the kernel has them,
// Linux 6.2 on) with TUNSETOFFLOAD. Then:
//
//   - Reads (kernel to Node): the kernel may hand over one TCP or UDP
//     super-packet of up to 64 KiB (GSO) instead of many MTU-sized ones,
//     and checksums it has left partial (CHECKSUM_PARTIAL). The tun package
//     splits a super-packet into MTU-sized packets in one read and fills in
//     every checksum, so the Node sees ordinary packets with complete
//     checksums (the NIC verifies the transport checksums of a packet read
//     alone, not those the tun package has just computed). One read system
//     call thus moves up to 45 full-sized TCP segments instead of one.
//   - Writes (Node to kernel): each packet goes out in a write of its own,
//     behind an empty virtio-net header, with the Node's checksums, which
//     the kernel verifies. A NIC is a stack.SegmentOffloader (TSO) unless
//     DeviceConfig.DisableTSO or a TxMiddleware is set: a Stack hands it
//     the consecutive full-sized segments of a connection's burst as one
//     super-packet, written at once behind a header that asks the kernel
//     to segment it (VIRTIO_NET_HDR_GSO_TCPV4 or _TCPV6) and to fill in
//     the checksums; the kernel takes it as one packet. With
//     DeviceConfig.CoalesceWrites the tun package instead coalesces the
//     TCP segments of a flow that are consecutive in one write batch (and
//     UDP datagrams of equal size, with USO) into super-packets (GRO),
//     after checking their checksums.
//   - Batches: the packets of one read go to a Node that is a
//     link.Batcher between StartBatch and EndBatch, so that a Stack
//     answers them together: one acknowledgment for the segments of a
//     super-packet, as Linux's GRO makes it.
//
// The write buffers are as large as the largest IP packet so that
// coalescing has room; memory the kernel never touches stays unbacked.
// Without offloads every read and write system call moves one packet.
//
// # Middleware
//
// DeviceConfig.RxMiddleware sees every packet read from a device before it
// is checked and delivered; DeviceConfig.TxMiddleware sees every packet the
// Node sends on it before it is written. Both run on the event loop with
// the loop's time, and their deadlines arm the loop's timer, so
// link/impair's delay, loss, rate and reordering work over TUN as in the
// simulator. Change their settings from Stack.Do.
package tun
