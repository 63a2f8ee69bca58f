// Package stack is gomptcp's host stack for TCP and MPTCP: the IP layer
// that joins the sans-IO TCP engines of package tcp and the MPTCP engines
// of package meta to the networks of package link.
//
// A Stack is a link.Node. Like the engines it drives, it never reads a
// clock, starts a goroutine or does I/O: a driver (the simulator in
// link/sim, or a real backend such as link/tun) calls Receive, Timer and
// LinkEvent from one goroutine with the current time, and the application
// calls Dial, Listen and the methods of Conn and Listener from that same
// goroutine, with the same notion of now. Package stack/socket runs a Stack
// on its own goroutine and offers net.Conn and net.Listener on top of it.
//
// # What it does
//
//   - Addresses and routes. The Stack sends through the NICs given to
//     AddNIC and owns their addresses (a weak host, RFC 1122 §3.3.4.2:
//     a packet for any local address is accepted on any NIC). Outgoing
//     connections pick their NIC by longest-prefix match over the
//     connected prefixes of the NICs' addresses and the routes given to
//     AddRoute (a /0 route is a default route); a connection bound to a
//     local address leaves through that address's NIC when that NIC has a
//     route to the destination, which is what keeps MPTCP subflows on
//     their own paths. Without a bound address the source address is the
//     NIC's address that shares the longest prefix with the destination.
//   - IPv4 (RFC 791) and IPv6 (RFC 8200) headers, built and checked with
//     package wire; the TCP checksum over the pseudo-header (RFC 9293
//     §3.1) is filled on output and verified on input, where a bad one
//     drops the segment and is counted, unless the NIC does that work: a
//     ChecksumOffloader fills the checksums of what the Stack sends, a
//     ChecksumVerifier's driver has verified those of what it delivers
//     (link/sim's interfaces are both, so that in the simulator each
//     checksum is computed once). Fragments, IPv6 packets with
//     Routing segments left, and segments from or to ports of zero or
//     multicast or unspecified addresses are dropped and counted.
//   - Demultiplexing by 4-tuple to connections and by local address and
//     port to listeners (an exact address first, then the wildcard); a
//     segment for no connection and no listener is answered with the RST
//     of RFC 9293 §3.10.7.1 (tcp.ResetFor) and counted. A SYN that hits a
//     connection in TIME-WAIT may open a new incarnation (RFC 6191).
//   - Ephemeral ports (RFC 6056 §3.3.1, simple port randomisation) drawn
//     from a generator seeded from Config.Rand, in Linux's default range.
//   - The engines' output: every connection with work is polled into one
//     reusable buffer and segment (tcp.Conn.PollInto) and the headers are
//     written in front of the payload in place, so the steady state
//     allocates nothing per segment. A Read or Write that cannot make
//     output ready (tcp.Conn.WindowUpdatePending, WriteNeedsPoll) polls
//     nothing. The MSS announced in SYNs is clamped to the NIC's MTU.
//   - Segmentation offload: through a SegmentOffloader NIC (link/tun's,
//     link/sim's with sim.Config.Offload) the consecutive segments of a
//     connection's burst, headers and options equal, go out as one
//     super-packet that the NIC cuts, once a segment of that size has gone
//     alone (Linux 6.18's MPTCP can deadlock otherwise, see gso.go) and
//     with at most tcp.Conn.TSOSegs segments (Linux's TSO autosizing); a
//     Batcher's driver hands over the packets of one read together, and
//     the Stack sends what they called for once they are all in.
//     ReceiveSuper takes a super-packet the NIC coalesced (GRO) as one
//     segment that counts as its parts for acknowledgment
//     (tcp.Segment.GSO).
//   - Timers: connections sit in a min-heap ordered by their
//     tcp.Conn.NextDeadline (a MuxConn by its engine's, or its path
//     manager's timer if that is earlier), so Deadline is the heap's top
//     and Timer polls only the connections that are due.
//   - Teardown: a connection leaves the Stack's tables when its engine
//     reports tcp.EventClosed (after TIME-WAIT, a reset or a timeout); the
//     Conn handle stays usable for reading what is left and for Err.
//
// # Application interface
//
// Dial opens a connection, Listen a listener; both take per-connection
// tcp.Config and tcp.Hooks (and, for Listen, the listener's SYN hook), so
// the MPTCP layer can make subflows through them. Every engine event
// (tcp.Event: established, readable, writable, EOF, closed, …) is handed
// to the connection's OnEvent callback, and Listener.OnAccept hears of
// connections ready to be accepted, so the layer above learns of
// readiness changes without polling. Callbacks run synchronously inside
// the Stack's calls; they may call into the Stack (Read, Write, Dial, …):
// the output they cause is sent before the outer call returns.
//
// Conn's methods that change a connection take now and send what they
// make ready at once. Code that works on the engine directly (Conn.TCP,
// say tcp.Conn.WriteChunk) calls Conn.Flush afterwards.
//
// # MPTCP
//
// EnableMPTCP turns on Multipath TCP (RFC 8684): DialMPTCP opens an
// MPConn, ListenMPTCP an MPListener that accepts MPTCP connections, plain
// TCP ones (RFC 8684 §3.7) and new subflows of its connections (MP_JOIN).
// An MPConn is a meta.Conn placed in the Stack as a MuxConn: an engine
// that owns several 4-tuples (its subflows), whose segments the Stack
// hands it and whose output, naming the 4-tuple of each segment, it sends
// through that 4-tuple's NIC. MuxConn and ListenMux are the general form,
// for any such engine.
//
// A PathManager decides the subflows and addresses of every connection
// from PMEvents, which follow Linux's mptcp_pm netlink events (created,
// established — once fully established, when subflows can join —,
// announced, removed, subflow established, closed and priority, closed,
// listener created and closed) and reach MPConfig.OnEvent first. A
// subflow closed event comes for joins that failed before they were
// established too, as in Linux, and says whether the subflow was closed
// on request (PMEvent.Requested) and how the peer reset it. Three events
// are the Stack's own: a local address that can carry subflows again
// (added, or its NIC up) or that left (PMEventLocalAddrAdded, Removed,
// from LinkEvent), and a path manager's timer (PMEventTimer). A path
// manager acts through the connection's Controller (AddSubflow,
// CloseSubflow, Announce, RemoveAddr, SetBackup); an MPConn is also a
// TimerController, whose SetTimer asks for a PMEventTimer: one more
// deadline of the connection in the timer heap, met by Stack.Timer like
// the engines' (no goroutine, no clock). KernelPM follows the rules of
// Linux's in-kernel path manager over endpoints (signal, subflow, backup,
// fullmesh) and limits, and opens failed subflows again with the backoff
// of PMBackoff; package pathmgr has more, and package stack/pmtest a fake
// Controller to test them with.
//
// An address announced with a port (MPConn.Announce, a signal endpoint
// with a port) is one where the Stack accepts MP_JOIN SYNs, as Linux
// does: through the MPListener there if there is one, otherwise through a
// listener of its own that, as Linux's, takes only joins of connections
// that announced that address and port and refuses anything else with
// MP_TCPRST "administratively prohibited" (MPStats counts them). It lives
// as long as an announcement holds it: until RemoveAddr or the end of
// the connections that made it. MPDialOptions.Meta and
// MPListenOptions.Meta adjust a connection's engine configuration (its
// scheduler, buffers, subflow TCP settings); SetTOS and SetSubflowTOS set
// the DSCP of its packets.
package stack
