package interop

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/stack"
)

// ErrNoConn: Abort found no connection of the Stack with the Conn's
// addresses.
var ErrNoConn = errors.New("interop: no such connection on the stack")

// Abort ends c abortively: the engine resets every subflow, with
// MP_FASTCLOSE when the connection is MPTCP (RFC 8684 §3.5), as Linux does
// for a socket closed with SO_LINGER {on, 0}. mptcp.Conn has no such
// method, so Abort finds the connection on the Stack's loop by its
// initial subflow's addresses.
func Abort(s *mptcp.Stack, c *mptcp.Conn) error {
	local, lok := addrPort(c.LocalAddr())
	remote, rok := addrPort(c.RemoteAddr())
	if !lok || !rok {
		return ErrNoConn
	}
	found := false
	err := s.Host().Do(func(now time.Time, st *stack.Stack) {
		var mc *stack.MPConn
		st.MPConns(func(x *stack.MPConn) bool {
			if x.LocalAddr() == local && x.RemoteAddr() == remote {
				mc = x
				return false
			}
			return true
		})
		if mc != nil {
			found = true
			mc.Abort(now)
		}
	})
	if err != nil {
		return err
	}
	if !found {
		return ErrNoConn
	}
	return nil
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
