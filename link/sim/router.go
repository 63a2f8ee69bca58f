package sim

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/gomptcp/mptcp/wire"
)

// RouterStats counts a router's packets.
type RouterStats struct {
	Forwarded   uint64 // sent on towards their destination
	NoRoute     uint64 // no route matched the destination
	TTLExceeded uint64 // the TTL or hop limit would have reached zero
	Malformed   uint64 // not a well-formed IPv4 or IPv6 packet
	BadChecksum uint64 // the IPv4 header checksum did not verify
	Local       uint64 // addressed to the router itself (it runs no Node)
}

// Router forwards packets between its interfaces by longest prefix match.
type Router struct {
	net    *Network
	name   string
	ifaces []*Interface
	routes []route // longest prefix first; equal lengths in insertion order
	stats  RouterStats
}

type route struct {
	dst       netip.Prefix
	via       *Interface
	connected bool
}

// AddRouter adds a router with no interfaces.
func (n *Network) AddRouter(name string) *Router {
	r := &Router{net: n, name: name}
	n.routers = append(n.routers, r)
	return r
}

// Name returns the router's name.
func (r *Router) Name() string { return r.name }

// Interfaces returns the router's interfaces in the order they were added.
func (r *Router) Interfaces() []*Interface { return r.ifaces }

// Stats returns the router's counters.
func (r *Router) Stats() RouterStats { return r.stats }

// AddInterface adds an interface with the given addresses, whose prefixes
// are then routed through it (connected routes).
func (r *Router) AddInterface(name string, addrs ...netip.Prefix) *Interface {
	i := newInterface(r.net, name, len(r.ifaces)+1, addrs)
	i.router = r
	r.ifaces = append(r.ifaces, i)
	for _, p := range addrs {
		r.addConnected(p, i)
	}
	return i
}

// ErrRoute is wrapped by the errors of AddRoute.
var ErrRoute = errors.New("sim: bad route")

// AddRoute routes packets for dst out through via, one of the router's
// interfaces. The longest matching prefix wins; among equal prefixes, the
// route added first.
func (r *Router) AddRoute(dst netip.Prefix, via *Interface) error {
	if !dst.IsValid() {
		return fmt.Errorf("%w: invalid prefix %v", ErrRoute, dst)
	}
	if via == nil || via.router != r {
		return fmt.Errorf("%w: %v is not an interface of router %s", ErrRoute, via, r.name)
	}
	r.insert(route{dst: dst.Masked(), via: via})
	return nil
}

func (r *Router) insert(rt route) {
	i := 0
	for i < len(r.routes) && r.routes[i].dst.Bits() >= rt.dst.Bits() {
		i++
	}
	r.routes = slices.Insert(r.routes, i, rt)
}

func (r *Router) addConnected(p netip.Prefix, i *Interface) {
	r.insert(route{dst: p.Masked(), via: i, connected: true})
}

func (r *Router) removeConnected(p netip.Prefix, i *Interface) {
	dst := p.Masked()
	for k, rt := range r.routes {
		if rt.connected && rt.via == i && rt.dst == dst {
			r.routes = slices.Delete(r.routes, k, k+1)
			return
		}
	}
}

// Lookup returns the interface a packet for dst leaves through, or nil.
func (r *Router) Lookup(dst netip.Addr) *Interface {
	for _, rt := range r.routes {
		if rt.dst.Contains(dst) {
			return rt.via
		}
	}
	return nil
}

// owns reports whether a is one of the router's addresses.
func (r *Router) owns(a netip.Addr) bool {
	for _, i := range r.ifaces {
		for _, p := range i.addrs {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// forward routes a packet that arrived on in.
func (r *Router) forward(in *Interface, pkt []byte) {
	dst, ok := ipDst(pkt)
	if !ok {
		r.stats.Malformed++
		return
	}
	if pkt[0]>>4 == 4 && !wire.IPv4(pkt).ChecksumValid() {
		r.stats.BadChecksum++ // RFC 1812 §5.2.2: a router verifies the header checksum
		return
	}
	if r.owns(dst) {
		r.stats.Local++
		return
	}
	out := r.Lookup(dst)
	if out == nil || out.out == nil {
		r.stats.NoRoute++
		return
	}
	if !decrementHopLimit(pkt) {
		r.stats.TTLExceeded++
		return
	}
	r.stats.Forwarded++
	out.out.input(pkt, false)
}
