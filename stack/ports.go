package stack

import (
	"net/netip"

	"github.com/gomptcp/mptcp/tcp"
)

// ephemeralFor returns a local port for a connection from src to remote:
// RFC 6056 §3.3.1 (simple port randomisation) starts at a random port of
// the range and takes the first one whose 4-tuple is free and that no
// listener on src holds.
func (s *Stack) ephemeralFor(src netip.Addr, remote netip.AddrPort) (uint16, bool) {
	return s.ephemeral(func(p uint16) bool {
		if s.listenerAt(src, p) != nil {
			return false
		}
		return !s.tupleTaken(tcp.ConnID{Local: netip.AddrPortFrom(src, p), Remote: remote})
	})
}

// ephemeralListen returns a port no connection and no listener uses.
func (s *Stack) ephemeralListen() (uint16, bool) {
	return s.ephemeral(func(p uint16) bool {
		if s.portUse[p] > 0 {
			return false
		}
		for k := range s.lists {
			if k.port == p {
				return false
			}
		}
		return true
	})
}

func (s *Stack) ephemeral(free func(uint16) bool) (uint16, bool) {
	first, last := uint32(s.cfg.EphemeralFirst), uint32(s.cfg.EphemeralLast)
	n := last - first + 1
	off := s.rng.Uint32N(n)
	for i := range n {
		p := uint16(first + (off+i)%n)
		if free(p) {
			return p, true
		}
	}
	return 0, false
}

// tupleTaken reports whether a connection or a MuxConn holds id.
func (s *Stack) tupleTaken(id tcp.ConnID) bool {
	if _, ok := s.conns[id]; ok {
		return true
	}
	_, ok := s.tuples[id]
	return ok
}
