package stack

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/gomptcp/mptcp/link"
)

// localAddr is one of the Stack's addresses and the NIC that has it.
type localAddr struct {
	prefix netip.Prefix // address and prefix length, address unmapped
	nic    link.NIC
}

// route sends packets for dst through nic.
type route struct {
	dst netip.Prefix // masked, address unmapped
	nic link.NIC
}

// AddNIC makes nic one of the Stack's NICs: its addresses become local
// addresses and their prefixes connected routes. A driver's NICs (the
// interfaces of a link/sim Host, the NICs of a link/tun Stack) must all be
// added before they carry traffic. It fails if nic, or another NIC with the
// same Index, was added already.
func (s *Stack) AddNIC(nic link.NIC) error {
	if nic == nil {
		return fmt.Errorf("%w: nil NIC", ErrInvalid)
	}
	for _, n := range s.nics {
		if n == nic || n.Index() == nic.Index() {
			return fmt.Errorf("%w: NIC %s (index %d) added twice", ErrInvalid, nic.Name(), nic.Index())
		}
	}
	s.nics = append(s.nics, nic)
	s.refreshAddrs()
	return nil
}

// NICs returns the Stack's NICs in the order they were added. The slice
// must not be modified.
func (s *Stack) NICs() []link.NIC { return s.nics }

// NIC returns the NIC with the given index, or nil.
func (s *Stack) NIC(index int) link.NIC {
	for _, n := range s.nics {
		if n.Index() == index {
			return n
		}
	}
	return nil
}

// AddRoute sends packets for destinations in dst through nic, which must
// be one of the Stack's NICs. 0.0.0.0/0 and ::/0 are default routes. Among
// routes of the same prefix length, connected prefixes come first, then
// routes in the order they were added.
func (s *Stack) AddRoute(dst netip.Prefix, nic link.NIC) error {
	if !dst.IsValid() {
		return fmt.Errorf("%w: invalid route prefix %v", ErrInvalid, dst)
	}
	if !slices.Contains(s.nics, nic) {
		return fmt.Errorf("%w: route %v through a NIC the Stack does not have", ErrInvalid, dst)
	}
	s.routes = append(s.routes, route{dst: unmapPrefix(dst).Masked(), nic: nic})
	return nil
}

// RemoveRoute removes a route given to AddRoute and reports whether it was
// there.
func (s *Stack) RemoveRoute(dst netip.Prefix, nic link.NIC) bool {
	r := route{dst: unmapPrefix(dst).Masked(), nic: nic}
	i := slices.Index(s.routes, r)
	if i < 0 {
		return false
	}
	s.routes = slices.Delete(s.routes, i, i+1)
	return true
}

// Addrs returns the Stack's addresses (of all its NICs, up or down), with
// their prefix lengths, in NIC order.
func (s *Stack) Addrs() []netip.Prefix {
	out := make([]netip.Prefix, len(s.addrs))
	for i, a := range s.addrs {
		out[i] = a.prefix
	}
	return out
}

// IsLocal reports whether a is one of the Stack's addresses.
func (s *Stack) IsLocal(a netip.Addr) bool { return s.owner(a.Unmap()) != nil }

// owner returns the NIC that has address a (unmapped), or nil.
func (s *Stack) owner(a netip.Addr) link.NIC {
	for i := range s.addrs {
		if s.addrs[i].prefix.Addr() == a {
			return s.addrs[i].nic
		}
	}
	return nil
}

// refreshAddrs rebuilds the address cache from the NICs.
func (s *Stack) refreshAddrs() {
	s.addrs = s.addrs[:0]
	for _, n := range s.nics {
		for _, p := range n.Addrs() {
			p = unmapPrefix(p)
			if p.IsValid() {
				s.addrs = append(s.addrs, localAddr{prefix: p, nic: n})
			}
		}
	}
}

// Route returns the NIC and source address for a packet to dst. If src is
// valid it must be a local address of dst's family; the packet then leaves
// through src's NIC if that NIC is up and has a route to dst, and
// otherwise through the best route (a weak host sends from any of its
// addresses through any NIC). Without src, the NIC is the best route's
// and the source is chosen as the package documentation says.
func (s *Stack) Route(dst, src netip.Addr) (link.NIC, netip.Addr, error) {
	dst, src = dst.Unmap(), src.Unmap()
	if !validAddr(dst) {
		return nil, netip.Addr{}, fmt.Errorf("%w: destination %v", ErrInvalid, dst)
	}
	if src.IsValid() {
		if src.Is4() != dst.Is4() {
			return nil, netip.Addr{}, fmt.Errorf("%w: source %v and destination %v are of different families", ErrInvalid, src, dst)
		}
		own := s.owner(src)
		if own == nil {
			return nil, netip.Addr{}, fmt.Errorf("%w: %v", ErrAddrNotLocal, src)
		}
		if own.Up() && s.bestRoute(dst, own) != nil {
			return own, src, nil
		}
		nic := s.bestRoute(dst, nil)
		if nic == nil {
			return nil, netip.Addr{}, fmt.Errorf("%w: %v", ErrNoRoute, dst)
		}
		return nic, src, nil
	}
	nic := s.bestRoute(dst, nil)
	if nic == nil {
		return nil, netip.Addr{}, fmt.Errorf("%w: %v", ErrNoRoute, dst)
	}
	src = s.source(nic, dst)
	if !src.IsValid() {
		return nil, netip.Addr{}, fmt.Errorf("%w: for %v", ErrNoAddress, dst)
	}
	return nic, src, nil
}

// bestRoute returns the NIC of the longest prefix that contains dst among
// the connected prefixes and the routes, over NICs that are up (only
// through only, if it is not nil), or nil.
func (s *Stack) bestRoute(dst netip.Addr, only link.NIC) link.NIC {
	var best link.NIC
	bits := -1
	for i := range s.addrs {
		a := &s.addrs[i]
		if (only != nil && a.nic != only) || !a.nic.Up() {
			continue
		}
		if b := a.prefix.Bits(); b > bits && a.prefix.Masked().Contains(dst) {
			best, bits = a.nic, b
		}
	}
	for i := range s.routes {
		r := &s.routes[i]
		if (only != nil && r.nic != only) || !r.nic.Up() {
			continue
		}
		if b := r.dst.Bits(); b > bits && r.dst.Contains(dst) {
			best, bits = r.nic, b
		}
	}
	return best
}

// source chooses a source address for dst sent through nic, after RFC 6724
// §5: an address of dst's family, of the same scope (link-local or not)
// if possible (rule 2), on the outgoing NIC if possible (rule 5), sharing
// the longest prefix with dst (rule 8). It returns the zero Addr if the
// Stack has no address of dst's family.
func (s *Stack) source(nic link.NIC, dst netip.Addr) netip.Addr {
	var best netip.Addr
	bestScore := -1
	dstLL := dst.IsLinkLocalUnicast()
	for i := range s.addrs {
		a := s.addrs[i].prefix.Addr()
		if a.Is4() != dst.Is4() || !validAddr(a) {
			continue
		}
		score := commonPrefixLen(a, dst)
		if s.addrs[i].nic == nic {
			score += 1 << 8
		}
		if a.IsLinkLocalUnicast() == dstLL {
			score += 1 << 9
		}
		if score > bestScore {
			best, bestScore = a, score
		}
	}
	return best
}

// commonPrefixLen is the number of leading bits a and b (same family)
// share.
func commonPrefixLen(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	if a.Is4() {
		n = -96 // skip the IPv4-mapped prefix, which always matches
	}
	for i := range x {
		d := x[i] ^ y[i]
		if d == 0 {
			n += 8
			continue
		}
		for d&0x80 == 0 {
			n++
			d <<= 1
		}
		break
	}
	return max(n, 0)
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.IsValid() || !p.Addr().Is4In6() {
		return p
	}
	bits := p.Bits() - 96
	if bits < 0 {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(p.Addr().Unmap(), bits)
}
