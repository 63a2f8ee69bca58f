package mptcpd

import (
	"fmt"
	"net/netip"
	"path"
)

// AddrFilter chooses the interfaces and addresses the daemon uses. Loopback
// interfaces and addresses, and addresses that are tentative, deprecated or
// failed duplicate address detection, are never used.
type AddrFilter struct {
	// Include lists interface name patterns (path.Match syntax: "eth*",
	// "wl?0"); when not empty, only matching interfaces are used.
	Include []string
	// Exclude lists interface name patterns never used; it wins over
	// Include.
	Exclude []string
	// LinkLocal allows link-local addresses (IPv6 fe80::/10, IPv4
	// 169.254.0.0/16), which are skipped by default: they are only
	// reachable on their own link.
	LinkLocal bool
}

// Validate checks the patterns.
func (f AddrFilter) Validate() error {
	for _, list := range [][]string{f.Include, f.Exclude} {
		for _, p := range list {
			if p == "" {
				return fmt.Errorf("empty interface pattern")
			}
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("interface pattern %q: %w", p, err)
			}
		}
	}
	return nil
}

// InterfaceAllowed reports whether the interface passes the name filters
// and is not a loopback interface.
func (f AddrFilter) InterfaceAllowed(l Link) bool {
	if l.Flags&IffLoopback != 0 {
		return false
	}
	if matchAny(f.Exclude, l.Name) {
		return false
	}
	return len(f.Include) == 0 || matchAny(f.Include, l.Name)
}

// AddrAllowed reports whether the address itself may be used, leaving its
// interface aside.
func (f AddrFilter) AddrAllowed(a Addr) bool {
	ip := a.Addr.Unmap()
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsLoopback(), ip.IsMulticast():
		return false
	case a.Scope == ScopeHost:
		return false
	case a.Flags&(IfaFTentative|IfaFDeprecated|IfaFDADFailed) != 0:
		return false
	case ip.IsLinkLocalUnicast() && !f.LinkLocal:
		return false
	}
	return true
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// linkUp reports whether an interface's addresses are usable: it is up and
// running.
func linkUp(flags uint32) bool {
	return flags&(IffUp|IffRunning) == IffUp|IffRunning
}

// addrKey identifies an address on an interface.
type addrKey struct {
	addr    netip.Addr
	ifindex int
}
