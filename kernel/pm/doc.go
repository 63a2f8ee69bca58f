// Package pm is a client for the Linux kernel's MPTCP path manager: the
// "mptcp_pm" generic netlink family (Linux 5.6+), the interface behind
// "ip mptcp".
//
// A Client configures the in-kernel path manager of a network namespace
// (endpoints and limits) and drives the userspace path manager of single
// connections (announcing and removing addresses with ADD_ADDR and
// REMOVE_ADDR, RFC 8684 §3.4; opening and closing subflows with MP_JOIN,
// RFC 8684 §3.2; changing a subflow's priority with MP_PRIO, RFC 8684
// §3.3.8):
//
//	c, err := pm.Dial(nil)
//	if err != nil { … }
//	defer c.Close()
//	err = c.AddEndpoint(ctx, pm.Endpoint{Addr: netip.MustParseAddr("10.0.2.2"), Flags: pm.FlagSubflow})
//	eps, err := c.Endpoints(ctx)
//
// A Monitor delivers the kernel's connection and subflow events (created,
// established, closed, announced, removed, subflow established, closed and
// priority changed, listener created and closed) as typed Event values, on
// its own socket:
//
//	m, err := pm.Subscribe(ctx, nil)
//	if err != nil { … }
//	defer m.Close()
//	for ev := range m.Events() {
//		fmt.Println(ev) // formatted like "ip mptcp monitor"
//	}
//
// Requests need CAP_NET_ADMIN, except reading endpoints and limits, and so
// does receiving events. Errors
// are *Error values carrying the errno, the kernel's extended
// acknowledgement message and a hint for the common causes (missing
// privileges, a kernel too old for a command); ErrFamilyNotFound reports a
// kernel without MPTCP.
//
// Byte order: the port of an address nest is in host byte order, the ports
// of events in network byte order; both are plain numbers here. The
// encoders and decoders of every request, reply and event are separate from
// the socket code, so they are tested against fake netlink connections
// (genltest) and fuzzed. Dial and Subscribe return ErrNotSupported on
// systems other than Linux; NewClient and NewMonitor accept any
// *genetlink.Conn.
package pm
