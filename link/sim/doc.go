// Package sim is a discrete-event network simulator for gomptcp. It runs
// link.Node stacks on hosts joined by point-to-point links and routers, on
// a virtual clock, reproducibly bit for bit from a seed.
//
// # Topology
//
// A Network holds Hosts and Routers. Each has Interfaces with addresses;
// Connect joins two interfaces with a Link, whose two directions (AB from
// the first interface to the second, BA back) are modelled by
// impair.Impairer values: rate and drop-tail queue, propagation delay and
// jitter, random loss (Bernoulli and Gilbert–Elliott), reordering,
// duplication, bit corruption and an MTU (1500 bytes unless configured;
// nothing fragments). Several paths can share a bottleneck by crossing the
// same router link.
//
// A Host runs a link.Node. The Node chooses the interface to send on; the
// packet crosses that interface's link. A Host is a weak host: it accepts a
// packet addressed to any of its addresses, whichever interface it arrives
// on. Before delivery it drops malformed packets and packets whose IPv4
// header, TCP or UDP checksum does not verify (so corruption is caught as
// on a real host), and its interfaces tell the Node so
// (Interface.ChecksumsVerified). It never forwards.
//
// Interfaces offer transmit checksum offload: SendOffload computes a TCP
// packet's checksum as it enters the link. Each checksum is then computed
// once: a link direction vouches for the checksums of the packets it
// delivers while all it carries had their checksums computed by the
// simulator and nothing on it can change a byte (no middleware, no
// corruption), and the receiving host does not verify them again.
//
// # Segmentation offload
//
// With Config.Offload, a host's interface whose link direction has no
// middleware is a TCP segmentation offload NIC (stack.SegmentOffloader):
// a Stack hands it the consecutive segments of a burst as one
// super-packet. A link direction with no random process carries it whole,
// as one event (impair.Impairer.ProcessSuperAt): queued and counted as its
// segments, transmitted in the time they take back to back, and delivered
// at once, as a receiver's GRO would coalesce them, to the next router,
// which forwards it whole, or to the host, whose Node gets it whole if it
// is a SuperReceiver (a Stack is) and as its segments otherwise. Wherever
// it cannot go whole (a random process, a queue without room for all its
// segments, a link that is down, middleware) the simulator cuts it into
// its segments, each a packet with its own headers and checksums, which go
// on one by one exactly as if the Stack had sent them so. A burst of
// segments then costs a few events instead of a few per segment; what
// changes is that its segments never interleave with other packets in a
// queue, and that the receiver acknowledges the burst once (Linux's GRO
// does the same), so that a sender that does not pace sends bursts as long
// as its super-packets (a Stack keeps those to about 1 ms of data,
// tcp.Conn.TSOSegs).
//
// A Router forwards by longest prefix match over static routes; connected
// prefixes of its interfaces are routed automatically. It drops IPv4
// packets whose header checksum does not verify, and it decrements the
// IPv4 TTL (updating the header checksum, RFC 1624) or the IPv6 hop limit
// and drops packets that would expire; it does not send ICMP.
//
// Middleware (link.Middleware: middleboxes, pcap taps, extra impairment)
// goes on any link direction, either where packets enter it (AddIngress,
// before the queue) or where they leave it (AddEgress, on arrival at the
// far interface).
//
// # Time and determinism
//
// Time is virtual: it starts at Config.Start (clock.Epoch by default) and
// jumps from event to event. Events at the same virtual time run in the
// order they were scheduled. Each link direction draws its random
// decisions from its own generators, seeded from Config.Seed and the
// link's position, so two runs with the same seed and the same sequence of
// calls produce identical packets, timings and statistics.
//
// Nodes are driven as the link package describes: Receive, Timer and
// LinkEvent are called synchronously from the event loop, and each Node's
// Deadline is read after every call into it, after every callback
// scheduled with At or AfterFunc (the place for application actions, such as
// opening a connection), and whenever a run starts. A packet sent during a call into a Node is
// processed by its link at once, but arrives at the far end in an event of
// its own, never inside the sender's call. The Network also implements
// clock.Clock on virtual time.
//
// NextEventTime tells when the next event is due, so that a driver that
// keeps virtual time in step with a clock can sleep until then.
//
// The Network is not safe for concurrent use: build it, then drive it with
// Run, RunUntil, RunFor or Step from one goroutine.
package sim
