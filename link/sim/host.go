package sim

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/link"
)

// HostStats counts a host's packets.
type HostStats struct {
	Sent             uint64 // accepted by Interface.Send
	SendErrors       uint64 // refused by Interface.Send (link down, not connected)
	Received         uint64 // delivered to the Node
	DroppedChecksum  uint64 // IPv4 header, TCP or UDP checksum did not verify
	DroppedMalformed uint64 // not a well-formed IPv4 or IPv6 packet
	DroppedNotLocal  uint64 // not addressed to any of the host's addresses
}

// Host is an end system running a link.Node.
type Host struct {
	net   *Network
	node  link.Node
	timer event
	// The last deadline read from the Node and its offset: a Node's
	// deadline often stays the same across many calls.
	deadline   time.Time
	deadlineAt int64
	ifaces     []*Interface
	stats      HostStats
	name       string
}

// AddHost adds a host that runs node.
func (n *Network) AddHost(name string, node link.Node) *Host {
	h := &Host{net: n, name: name, node: node}
	h.timer.index = -1
	h.timer.host = h
	n.hosts = append(n.hosts, h)
	return h
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Node returns the host's Node.
func (h *Host) Node() link.Node { return h.node }

// Interfaces returns the host's interfaces in the order they were added.
func (h *Host) Interfaces() []*Interface { return h.ifaces }

// Stats returns the host's counters.
func (h *Host) Stats() HostStats { return h.stats }

// AddInterface adds an interface with the given addresses. It is not
// connected, and so down, until Connect joins it to a link.
func (h *Host) AddInterface(name string, addrs ...netip.Prefix) *Interface {
	i := newInterface(h.net, name, len(h.ifaces)+1, addrs)
	i.host = h
	h.ifaces = append(h.ifaces, i)
	return i
}

// owns reports whether a is one of the host's addresses (weak host model).
func (h *Host) owns(a netip.Addr) bool {
	for _, i := range h.ifaces {
		for _, p := range i.addrs {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// receive handles a packet arriving on i. known says that the packet's
// checksums are known to be right (see Dir.vouches), so that verifying
// them again can be skipped.
func (h *Host) receive(i *Interface, pkt []byte, known bool) {
	if !known {
		switch verify(pkt) {
		case verdictMalformed:
			h.stats.DroppedMalformed++
			return
		case verdictBadChecksum:
			h.stats.DroppedChecksum++
			return
		}
	}
	// The packet is well-formed: it passed verify, or it entered the
	// link through SendOffload, which checked it, and nothing changed it.
	if !h.owns(checkedDst(pkt)) {
		h.stats.DroppedNotLocal++
		return
	}
	h.stats.Received++
	if h.node == nil {
		return
	}
	h.node.Receive(h.net.Now(), i, pkt)
	h.refresh()
}

// linkEvent tells the Node about a change of i.
func (h *Host) linkEvent(i *Interface, ev link.Event) {
	if h.node == nil {
		return
	}
	h.node.LinkEvent(h.net.Now(), i, ev)
	h.refresh()
}

func (h *Host) fireTimer() {
	if h.node == nil {
		return
	}
	h.node.Timer(h.net.Now())
	h.refreshAfterTimer()
}

// refresh reads the Node's deadline and (re)schedules its timer.
func (h *Host) refresh() { h.rearm(false) }

// refreshAfterTimer is refresh after a Timer call: a deadline that is still
// not in the future is moved one nanosecond on, so that a Node that does
// not clear its deadline cannot stall virtual time.
func (h *Host) refreshAfterTimer() { h.rearm(true) }

func (h *Host) rearm(afterTimer bool) {
	if h.node == nil {
		return
	}
	d := h.node.Deadline()
	if d.IsZero() {
		h.net.cancel(&h.timer)
		return
	}
	if d != h.deadline {
		h.deadline, h.deadlineAt = d, h.net.offset(d)
	}
	at := max(h.deadlineAt, h.net.now)
	if afterTimer && at == h.net.now {
		at++
	}
	if h.net.pendingAt(&h.timer, at) {
		return
	}
	h.net.schedule(&h.timer, at)
}

// Interface is a network interface of a Host or Router. A Host's
// interfaces are the link.NICs its Node sends through.
type Interface struct {
	net    *Network
	host   *Host   // owner, if a host
	router *Router // owner, if a router
	name   string
	index  int
	addrs  []netip.Prefix
	out    *Dir // the direction leaving this interface, once connected
}

var _ link.NIC = (*Interface)(nil)

func newInterface(n *Network, name string, index int, addrs []netip.Prefix) *Interface {
	return &Interface{net: n, name: name, index: index, addrs: slices.Clone(addrs)}
}

// Name returns the interface's name.
func (i *Interface) Name() string { return i.name }

// Index returns the interface's position among its owner's, from 1.
func (i *Interface) Index() int { return i.index }

// String returns "owner/name".
func (i *Interface) String() string {
	owner := ""
	switch {
	case i.host != nil:
		owner = i.host.name
	case i.router != nil:
		owner = i.router.name
	}
	return fmt.Sprintf("%s/%s", owner, i.name)
}

// Host returns the host the interface belongs to, or nil.
func (i *Interface) Host() *Host { return i.host }

// Router returns the router the interface belongs to, or nil.
func (i *Interface) Router() *Router { return i.router }

// Addrs returns the interface's addresses. The slice must not be modified;
// AddAddr and RemoveAddr replace it rather than change it.
func (i *Interface) Addrs() []netip.Prefix { return i.addrs }

// Link returns the link the interface is connected to, or nil.
func (i *Interface) Link() *Link {
	if i.out == nil {
		return nil
	}
	return i.out.link
}

// Out returns the link direction leaving the interface, or nil if it is not
// connected.
func (i *Interface) Out() *Dir { return i.out }

// Up reports whether the interface is connected and its link is up.
func (i *Interface) Up() bool { return i.out != nil && i.out.link.up }

// MTU returns the MTU of the link direction leaving the interface, or 0 if
// the interface is not connected.
func (i *Interface) MTU() int {
	if i.out == nil {
		return 0
	}
	return i.out.mtu
}

// ChecksumsVerified reports true for a host's interface: the host drops
// packets whose IPv4 header, TCP or UDP checksum does not verify before
// its Node sees them (see the package documentation), so the Node need
// not verify them again (stack.ChecksumVerifier). It reports false for a
// router's interface.
func (i *Interface) ChecksumsVerified() bool { return i.host != nil }

// Send transmits an IP packet on the interface's link at the current
// virtual time. It copies pkt. It returns link.ErrDown if the interface is
// not connected or its link is down; a packet refused on a down link still
// crosses the direction's ingress middleware and counts in its
// DroppedDown.
func (i *Interface) Send(pkt []byte) error { return i.send(pkt, false) }

// SendOffload is Send with transmit checksum offload, as a NIC does for
// a packet its driver marks so (Linux's CHECKSUM_PARTIAL): the interface
// computes the TCP checksum over the pseudo-header of the packet's own
// addresses (RFC 9293 §3.1, RFC 8200 §8.1) and writes it into pkt before
// the packet enters the link; whatever the checksum field held is
// overwritten. A packet that is not a well-formed, unfragmented TCP
// packet with a valid IPv4 header checksum is sent as it is.
//
// Checksums the simulator computed itself are known to be right: as long
// as every packet crossing a link direction is one of these and nothing
// on the way can change a byte (no middleware, no corruption), the
// receiving host does not verify them again, so each packet's checksum
// is computed once instead of twice (stack.ChecksumOffloader).
func (i *Interface) SendOffload(pkt []byte) error { return i.send(pkt, fillTCPChecksum(pkt)) }

// send is Send; known says the packet's checksums are known to be right.
func (i *Interface) send(pkt []byte, known bool) error {
	if !i.Up() {
		if i.host != nil {
			i.host.stats.SendErrors++
		}
		if i.out != nil {
			i.out.input(pkt, known) // counted as dropped by the direction
		}
		return link.ErrDown
	}
	if i.host != nil {
		i.host.stats.Sent++
	}
	i.out.input(pkt, known)
	return nil
}

// AddAddr adds an address to the interface. A host's Node is told with a
// link.EventAddrAdded event at the current time; a router routes the
// prefix as connected.
func (i *Interface) AddAddr(p netip.Prefix) {
	if slices.Contains(i.addrs, p) {
		return
	}
	i.addrs = append(slices.Clip(i.addrs), p)
	if i.router != nil {
		i.router.addConnected(p, i)
	}
	i.notify(link.Event{Kind: link.EventAddrAdded, Addr: p})
}

// RemoveAddr removes an address from the interface and reports whether it
// was there. A host's Node is told with a link.EventAddrRemoved event.
func (i *Interface) RemoveAddr(p netip.Prefix) bool {
	k := slices.Index(i.addrs, p)
	if k < 0 {
		return false
	}
	i.addrs = slices.Delete(slices.Clone(i.addrs), k, k+1)
	if i.router != nil {
		i.router.removeConnected(p, i)
	}
	i.notify(link.Event{Kind: link.EventAddrRemoved, Addr: p})
	return true
}

// notify schedules a LinkEvent for the host's Node at the current time.
func (i *Interface) notify(ev link.Event) {
	if i.host == nil {
		return
	}
	h := i.host
	u := &userTimer{n: i.net, f: func(time.Time) { h.linkEvent(i, ev) }}
	u.ev.index = -1
	u.ev.fire = func() { u.f(u.n.Now()) }
	i.net.schedule(&u.ev, i.net.now)
}

// receive handles a packet arriving at the interface from its link;
// known says its checksums are known to be right.
func (i *Interface) receive(pkt []byte, known bool) {
	switch {
	case i.host != nil:
		i.host.receive(i, pkt, known)
	case i.router != nil:
		i.router.forward(i, pkt)
	}
}
