package scenario

import (
	"fmt"
	"net/netip"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/sim"
)

// topology is a Scenario's network built in the simulator.
type topology struct {
	net     *sim.Network
	hosts   map[string]*sim.Host
	routers map[string]*sim.Router
	links   []*sim.Link
	// ends[i] are the interfaces at the A and B ends of link i.
	ends [][2]*sim.Interface
}

// linkPrefix is the prefix of link i: 10.i+1.0.0/24.
func linkPrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i + 1), 0, 0}), 24)
}

// linkAddr is the address of end 0 (A) or 1 (B) of link i, with the link's
// prefix length.
func linkAddr(i, end int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i + 1), 0, byte(end + 1)}), 24)
}

// build makes the network of a validated scenario. node returns the Node
// of each host.
func build(s *Scenario, node func(host string) link.Node) (*topology, error) {
	t := &topology{
		net:     sim.New(sim.Config{Seed: s.Seed, Offload: s.Offload}),
		hosts:   map[string]*sim.Host{},
		routers: map[string]*sim.Router{},
	}
	for _, h := range s.Hosts {
		t.hosts[h] = t.net.AddHost(h, node(h))
	}
	for _, r := range s.Routers {
		t.routers[r] = t.net.AddRouter(r)
	}
	for i := range s.Links {
		l := &s.Links[i]
		var ends [2]*sim.Interface
		for e, name := range []string{l.A, l.B} {
			addr := linkAddr(i, e)
			if h, ok := t.hosts[name]; ok {
				ends[e] = h.AddInterface(l.Name, addr)
			} else {
				ends[e] = t.routers[name].AddInterface(l.Name, addr)
			}
		}
		sl, err := t.net.Connect(ends[0], ends[1], sim.LinkConfig{AB: l.AB, BA: l.BA})
		if err != nil {
			return nil, fmt.Errorf("scenario: link %q: %w", l.Name, err)
		}
		t.links = append(t.links, sl)
		t.ends = append(t.ends, ends)
	}
	if err := t.route(s); err != nil {
		return nil, err
	}
	return t, nil
}

// route installs static routes on the routers: for each link's prefix, a
// router not attached to the link routes it through its neighbour router
// nearest (in hops) to a router attached to it, preferring the link listed
// first among equals.
func (t *topology) route(s *Scenario) error {
	isRouter := func(name string) bool { _, ok := t.routers[name]; return ok }
	for dst := range s.Links {
		dist := map[string]int{}
		var frontier []string
		for _, end := range []string{s.Links[dst].A, s.Links[dst].B} {
			if isRouter(end) {
				if _, seen := dist[end]; !seen {
					dist[end] = 0
					frontier = append(frontier, end)
				}
			}
		}
		for len(frontier) > 0 {
			var next []string
			for _, r := range frontier {
				for _, l := range s.Links {
					var peer string
					switch r {
					case l.A:
						peer = l.B
					case l.B:
						peer = l.A
					default:
						continue
					}
					if _, seen := dist[peer]; seen || !isRouter(peer) {
						continue
					}
					dist[peer] = dist[r] + 1
					next = append(next, peer)
				}
			}
			frontier = next
		}
		for _, name := range s.Routers {
			d, ok := dist[name]
			if !ok || d == 0 {
				continue
			}
			via := t.nextHop(s, name, dist, d)
			if err := t.routers[name].AddRoute(linkPrefix(dst), via); err != nil {
				return fmt.Errorf("scenario: routing %v at %q: %w", linkPrefix(dst), name, err)
			}
		}
	}
	return nil
}

// nextHop is router r's interface on the first link that leads to a router
// one hop nearer (distance d-1).
func (t *topology) nextHop(s *Scenario, r string, dist map[string]int, d int) *sim.Interface {
	for i, l := range s.Links {
		var peer string
		var end int
		switch r {
		case l.A:
			peer, end = l.B, 0
		case l.B:
			peer, end = l.A, 1
		default:
			continue
		}
		if pd, ok := dist[peer]; ok && pd == d-1 {
			if _, isRouter := t.routers[peer]; isRouter {
				return t.ends[i][end]
			}
		}
	}
	return nil // unreachable: d > 0 was reached through such a neighbour
}

// hostIface returns the interface of host on link i.
func (t *topology) hostIface(s *Scenario, host string, i int) *sim.Interface {
	if s.Links[i].A == host {
		return t.ends[i][0]
	}
	return t.ends[i][1]
}

// peerAddr returns the address of the other end of link i, seen from host.
func (t *topology) peerAddr(s *Scenario, host string, i int) netip.Addr {
	if s.Links[i].A == host {
		return linkAddr(i, 1).Addr()
	}
	return linkAddr(i, 0).Addr()
}
