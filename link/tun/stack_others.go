//go:build !linux

package tun

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link"
)

// Stack runs a link.Node on TUN devices. Only Linux has them: elsewhere
// Open returns ErrUnsupported.
type Stack struct{}

// Open returns ErrUnsupported.
func Open(cfg Config) (*Stack, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrUnsupported
}

// NICs returns nil.
func (s *Stack) NICs() []*NIC { return nil }

// Start returns ErrUnsupported.
func (s *Stack) Start(node link.Node) error { return ErrUnsupported }

// Do returns ErrUnsupported.
func (s *Stack) Do(f func(now time.Time)) error { return ErrUnsupported }

// Close returns nil.
func (s *Stack) Close() error { return nil }

// NIC is a TUN device as a link.NIC. Only Linux has them.
type NIC struct{}

var _ link.NIC = (*NIC)(nil)

// Send returns ErrUnsupported.
func (n *NIC) Send(pkt []byte) error { return ErrUnsupported }

// AddAddr returns ErrUnsupported.
func (n *NIC) AddAddr(p netip.Prefix) error { return ErrUnsupported }

// RemoveAddr returns false.
func (n *NIC) RemoveAddr(p netip.Prefix) bool { return false }

// MTU returns 0.
func (n *NIC) MTU() int { return 0 }

// Addrs returns nil.
func (n *NIC) Addrs() []netip.Prefix { return nil }

// KernelAddrs returns nil.
func (n *NIC) KernelAddrs() []netip.Prefix { return nil }

// Up returns false.
func (n *NIC) Up() bool { return false }

// Name returns "".
func (n *NIC) Name() string { return "" }

// Index returns 0.
func (n *NIC) Index() int { return 0 }

// IfIndex returns 0.
func (n *NIC) IfIndex() int { return 0 }

// Offloads returns false.
func (n *NIC) Offloads() bool { return false }

// Stats returns zero counters.
func (n *NIC) Stats() Stats { return Stats{} }

// String returns "".
func (n *NIC) String() string { return "" }
