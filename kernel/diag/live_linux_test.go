//go:build linux

package diag_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/diag"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
)

// listIn lists the sockets of a namespace.
func listIn(t *testing.T, ns *kerneltest.Netns, states diag.StateSet) []diag.Socket {
	t.Helper()
	var socks []diag.Socket
	err := ns.Do(func() error {
		var err error
		socks, err = diag.List(states)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return socks
}

// ssAddr formats an address the way ss -n does.
func ssAddr(ap netip.AddrPort, listener bool) string {
	a := ap.Addr()
	host := a.String()
	if a.Is6() && !a.Is4In6() {
		host = "[" + host + "]"
	} else if a.Is4In6() {
		host = "[" + host + "]"
	}
	if listener && ap.Port() == 0 {
		return host + ":*"
	}
	return host + ":" + strconv.Itoa(int(ap.Port()))
}

func TestLiveList(t *testing.T) {
	kerneltest.Require(t)
	p := kerneltest.NewTwoPaths(t)
	c := p.Connect(t)
	ci, err := kernel.Info(c.Client)
	if err != nil {
		t.Fatal(err)
	}
	si, err := kernel.Info(c.Server)
	if err != nil {
		t.Fatal(err)
	}

	client := listIn(t, p.Client, diag.Connected)
	if len(client) != 1 {
		t.Fatalf("client namespace: %d MPTCP sockets, want 1: %+v", len(client), client)
	}
	cs := client[0]
	if cs.State != kernel.TCPEstablished || cs.Info == nil || cs.Info.Token != ci.Token || cs.Local.String() != c.Client.LocalAddr().String() {
		t.Errorf("client socket %+v, want ESTAB token %#x local %v", cs, ci.Token, c.Client.LocalAddr())
	}
	if len(cs.Subflows) != 2 {
		t.Fatalf("client socket has %d subflows, want 2", len(cs.Subflows))
	}
	var locals []netip.Addr
	for _, sf := range cs.Subflows {
		locals = append(locals, sf.Local.Addr())
		if sf.MPTCP == nil || sf.MPTCP.TokenLoc != ci.Token {
			t.Errorf("client subflow %v: %+v", sf.Local, sf.MPTCP)
		}
		if sf.TCPInfo == nil || sf.TCPInfo.State != kernel.TCPEstablished {
			t.Errorf("client subflow %v: tcp_info %+v", sf.Local, sf.TCPInfo)
		}
	}
	slices.SortFunc(locals, netip.Addr.Compare)
	if !slices.Equal(locals, p.ClientAddrs[:]) {
		t.Errorf("client subflow addresses %v, want %v", locals, p.ClientAddrs)
	}

	server := listIn(t, p.Server, diag.AllStates)
	if len(server) != 2 {
		t.Fatalf("server namespace: %d MPTCP sockets, want a connection and a listener: %+v", len(server), server)
	}
	est, lst := server[0], server[1]
	if est.State != kernel.TCPEstablished || lst.State != kernel.TCPListen {
		t.Fatalf("server states %v, %v", est.State, lst.State)
	}
	if est.Info.Token != si.Token || len(est.Subflows) != 2 {
		t.Errorf("server connection: token %#x (want %#x), %d subflows", est.Info.Token, si.Token, len(est.Subflows))
	}
	if len(lst.Subflows) != 1 || lst.Subflows[0].State != kernel.TCPListen || lst.Subflows[0].MPTCP != nil {
		t.Errorf("listener subflows: %+v", lst.Subflows)
	}
	if got := listIn(t, p.Server, diag.Listening); len(got) != 1 || got[0].State != kernel.TCPListen {
		t.Errorf("Listening: %+v", got)
	}

	// Compare with ss in both namespaces.
	for _, ns := range []*kerneltest.Netns{p.Client, p.Server} {
		ours := listIn(t, ns, diag.AllStates)
		compareWithSS(t, ns, ours)
	}
}

// compareWithSS checks the sockets listed in a namespace with ss.
func compareWithSS(t *testing.T, ns *kerneltest.Netns, ours []diag.Socket) {
	t.Helper()
	var conns []kerneltest.SSConn
	var subflows []kerneltest.SSSubflow
	for _, s := range ours {
		listener := s.State == kernel.TCPListen
		tok := ""
		if s.Info != nil && s.Info.Token != 0 {
			tok = fmt.Sprintf("%x", s.Info.Token)
		}
		conns = append(conns, kerneltest.SSConn{State: s.State.String(), Local: ssAddr(s.Local, listener), Peer: ssAddr(s.Remote, listener), Token: tok})
		for _, sf := range s.Subflows {
			e := kerneltest.SSSubflow{State: sf.State.String(), Local: ssAddr(sf.Local, listener), Peer: ssAddr(sf.Remote, listener)}
			if m := sf.MPTCP; m != nil {
				e.Flags = m.Flags.String()
				e.TokenRem, e.IDRem = fmt.Sprintf("%04x", m.TokenRem), strconv.Itoa(int(m.IDRem))
				e.TokenLoc, e.IDLoc = fmt.Sprintf("%04x", m.TokenLoc), strconv.Itoa(int(m.IDLoc))
				e.Seq, e.SfSeq = fmt.Sprintf("%x", m.MapSeq), fmt.Sprintf("%x", m.MapSfSeq)
				e.SSNOff, e.MapLen = fmt.Sprintf("%x", m.SSNOffset), fmt.Sprintf("%x", m.MapDataLen)
			}
			subflows = append(subflows, e)
		}
	}
	ns.CompareSS(t, conns, subflows)
}

// TestLiveListBothFamilies lists an IPv4 and an IPv6 MPTCP listener.
func TestLiveListBothFamilies(t *testing.T) {
	kerneltest.Require(t)
	ns := kerneltest.NewNetns(t)
	var lns []net.Listener
	err := ns.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
			ln, err := lc.Listen(context.Background(), "tcp", addr)
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		return nil
	})
	for _, ln := range lns {
		t.Cleanup(func() { ln.Close() })
	}
	if err != nil {
		t.Skipf("IPv4 and IPv6 loopback listeners: %v", err)
	}
	got := listIn(t, ns, diag.Listening)
	if len(got) != 2 {
		t.Fatalf("%d listeners, want 2: %+v", len(got), got)
	}
	fams := map[uint8]string{}
	for _, s := range got {
		fams[s.Family] = s.Local.String()
		if len(s.Subflows) != 1 {
			t.Errorf("listener %v: %d subflows, want its TCP listener", s.Local, len(s.Subflows))
		}
	}
	if fams[diag.AFInet] != lns[0].Addr().String() || fams[diag.AFInet6] != lns[1].Addr().String() {
		t.Errorf("listeners by family %v, want %v and %v", fams, lns[0].Addr(), lns[1].Addr())
	}
	if got := listIn(t, ns, diag.Connected); len(got) != 0 {
		t.Errorf("Connected lists %d sockets in a namespace with only listeners", len(got))
	}
}
