//go:build linux

package mptcpd

import (
	"net/netip"
	"testing"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
)

// newTwoPaths builds kerneltest's two-path topology. The client's path
// manager is the userspace one when userspacePM is set; the server keeps
// the in-kernel path manager with room for 8 additional subflows and 8
// accepted addresses, and announces ServerAddrs[1] when signal is set.
func newTwoPaths(t *testing.T, userspacePM, signal bool) *kerneltest.TwoPaths {
	t.Helper()
	p := kerneltest.NewTwoPathsBare(t)
	p.Server.IP(t, "mptcp", "limits", "set", "subflow", "8", "add_addr_accepted", "8")
	if signal {
		p.Server.IP(t, "mptcp", "endpoint", "add", p.ServerAddrs[1].String(), "dev", "gmt1", "signal")
	}
	if userspacePM {
		p.Client.SelectUserspacePM(t)
	}
	return p
}

// connect opens an MPTCP listener on all the server's addresses, as servers
// do (joins may go to any of them), and connects to ServerAddrs[0] from
// ClientAddrs[0]. Everything is closed when the test ends.
func connect(t *testing.T, p *kerneltest.TwoPaths) *kerneltest.Conn {
	t.Helper()
	ln := p.Server.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	return p.Client.ConnectMPTCP(t, ln, p.ClientAddrs[0], p.ServerAddrs[0])
}
