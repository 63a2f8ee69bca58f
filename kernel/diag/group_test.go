package diag

import (
	"net/netip"
	"testing"

	"github.com/gomptcp/mptcp/kernel"
)

func TestGroup(t *testing.T) {
	ap := netip.MustParseAddrPort
	msk := func(st kernel.TCPState, local, remote string, token uint32) Socket {
		return Socket{Header: Header{Family: AFInet, State: st, Local: ap(local), Remote: ap(remote)},
			Info: &kernel.MPTCPInfo{Token: token}}
	}
	sf := func(st kernel.TCPState, local, remote, ulp string, token uint32, withMPTCP bool) Subflow {
		s := Subflow{Header: Header{Family: AFInet, State: st, Local: ap(local), Remote: ap(remote)}, ULP: ulp}
		if withMPTCP {
			s.MPTCP = &SubflowInfo{TokenLoc: token}
		}
		return s
	}
	socks := []Socket{
		msk(kernel.TCPListen, "10.0.0.1:80", "0.0.0.0:0", 0),
		msk(kernel.TCPEstablished, "10.0.0.1:80", "10.0.0.2:4000", 0xaa),
		msk(kernel.TCPEstablished, "10.0.0.1:80", "10.0.0.3:4000", 0xbb),
	}
	subflows := []Subflow{
		sf(kernel.TCPEstablished, "10.0.1.1:80", "10.0.1.2:4001", "mptcp", 0xaa, true),
		sf(kernel.TCPEstablished, "10.0.0.1:80", "10.0.0.2:4000", "mptcp", 0xaa, true),
		sf(kernel.TCPEstablished, "10.0.0.1:80", "10.0.0.3:4000", "mptcp", 0xbb, true),
		sf(kernel.TCPEstablished, "10.0.0.1:80", "10.0.0.9:4000", "mptcp", 0xcc, true), // no such socket
		sf(kernel.TCPEstablished, "10.0.0.1:80", "10.0.0.2:4000", "tls", 0xaa, false),  // not a subflow
		sf(kernel.TCPListen, "10.0.0.1:80", "0.0.0.0:0", "mptcp", 0, false),            // the listener's
		sf(kernel.TCPListen, "10.0.0.1:81", "0.0.0.0:0", "mptcp", 0, false),            // another port
		sf(kernel.TCPSynSent, "10.0.0.1:5", "10.0.0.2:6", "mptcp", 0, false),           // no MPTCP state yet
	}
	got := Group(socks, subflows)
	if len(got) != 3 {
		t.Fatalf("%d sockets", len(got))
	}
	// Sorted by state: the two connections, then the listener.
	if got[0].Info.Token != 0xaa || len(got[0].Subflows) != 2 || got[0].Subflows[0].Local != ap("10.0.0.1:80") {
		t.Errorf("connection aa: %+v", got[0])
	}
	if got[1].Info.Token != 0xbb || len(got[1].Subflows) != 1 {
		t.Errorf("connection bb: %+v", got[1])
	}
	if got[2].State != kernel.TCPListen || len(got[2].Subflows) != 1 || got[2].Subflows[0].Local.Port() != 80 {
		t.Errorf("listener: %+v", got[2])
	}
	if len(socks[1].Subflows) != 0 {
		t.Error("Group modified its input")
	}
}
