//go:build linux

package kerneltest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
)

// TwoPaths is a client and a server namespace joined by two veth pairs:
// path k (0 or 1) links ClientAddrs[k] (10.77.k+1.1) and ServerAddrs[k]
// (10.77.k+1.2), on interfaces named gmt0 and gmt1 in each namespace. A
// source route sends the traffic of ClientAddrs[1] over path 1 whatever
// its destination, and reverse path filtering is off, so a subflow
// ClientAddrs[1] → ServerAddrs[0] takes the second path.
//
// As NewTwoPaths configures it, the client has a "subflow" endpoint on
// ClientAddrs[1] and a limit of one additional subflow, so a connection to
// ServerAddrs[0] gets a second subflow over the second path; the server
// accepts up to two additional subflows. NewTwoPathsBare leaves the path
// managers as a fresh namespace has them.
type TwoPaths struct {
	Client, Server *Netns
	ClientAddrs    [2]netip.Addr
	ServerAddrs    [2]netip.Addr
}

// NewTwoPaths builds the topology with the MPTCP endpoints and limits
// described on TwoPaths; it is removed when the test ends.
func NewTwoPaths(t testing.TB) *TwoPaths {
	t.Helper()
	return newTwoPaths(t, true)
}

// NewTwoPathsBare builds the namespaces, paths, addresses and routes of
// TwoPaths and leaves MPTCP endpoints and limits to the caller; it is
// removed when the test ends.
func NewTwoPathsBare(t testing.TB) *TwoPaths {
	t.Helper()
	return newTwoPaths(t, false)
}

// newTwoPaths builds the topology with one ip process for each namespace.
func newTwoPaths(t testing.TB, configurePM bool) *TwoPaths {
	t.Helper()
	p := &TwoPaths{Client: NewNetns(t), Server: NewNetns(t)}
	var client, server [][]string
	for k := range 2 {
		p.ClientAddrs[k] = netip.AddrFrom4([4]byte{10, 77, byte(k + 1), 1})
		p.ServerAddrs[k] = netip.AddrFrom4([4]byte{10, 77, byte(k + 1), 2})
		dev := fmt.Sprintf("gmt%d", k)
		// Created directly inside the namespaces: the names cannot clash
		// with anything outside them.
		client = append(client, vethCmds(dev, p.Server, dev)...)
		client = append(client, addrCmds(dev, netip.PrefixFrom(p.ClientAddrs[k], 24))...)
		server = append(server, []string{"link", "set", dev, "up"})
		server = append(server, addrCmds(dev, netip.PrefixFrom(p.ServerAddrs[k], 24))...)
	}
	// The second address's traffic leaves over path 1, and the server must
	// accept it there although it may target the path-0 address.
	client = append(client,
		[]string{"rule", "add", "from", p.ClientAddrs[1].String(), "table", "100"},
		[]string{"route", "add", "default", "dev", "gmt1", "table", "100"})
	if configurePM {
		client = append(client,
			[]string{"mptcp", "limits", "set", "subflow", "1", "add_addr_accepted", "0"},
			[]string{"mptcp", "endpoint", "add", p.ClientAddrs[1].String(), "subflow"})
		server = append(server, []string{"mptcp", "limits", "set", "subflow", "2", "add_addr_accepted", "0"})
	}
	p.Client.ipBatch(t, client...)
	p.Server.ipBatch(t, server...)
	var rpFilter []string
	for _, c := range []string{"all", "default", "gmt0", "gmt1"} {
		rpFilter = append(rpFilter, "net/ipv4/conf/"+c+"/rp_filter")
	}
	p.Client.writeSysctls(t, rpFilter, "0")
	p.Server.writeSysctls(t, rpFilter, "0")
	return p
}

// Conn is a live MPTCP connection.
type Conn struct {
	Listener *net.TCPListener // in the server's namespace
	Client   *net.TCPConn     // in the client's namespace
	Server   *net.TCPConn     // accepted from Listener
}

// ServerAddr returns the address and port the client connected to.
func (c *Conn) ServerAddr() netip.AddrPort {
	ap := c.Client.RemoteAddr().(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Connect opens an MPTCP listener on ServerAddrs[0] (an ephemeral port),
// dials it from the client namespace, exchanges a byte each way and waits
// (up to 10 s) until both ends have two subflows. The sockets are closed
// when the test ends.
func (p *TwoPaths) Connect(t testing.TB) *Conn {
	t.Helper()
	ln := p.Server.ListenMPTCP(t, netip.AddrPortFrom(p.ServerAddrs[0], 0))
	c := p.Client.ConnectMPTCP(t, ln, netip.Addr{}, netip.Addr{})
	if err := WaitSubflows(c.Client, 2, 10*time.Second); err != nil {
		t.Fatalf("kerneltest: client: %v", err)
	}
	if err := WaitSubflows(c.Server, 2, 10*time.Second); err != nil {
		t.Fatalf("kerneltest: server: %v", err)
	}
	return c
}

// ListenMPTCP opens an MPTCP listener inside the namespace on addr: port 0
// picks an ephemeral port, and the unspecified address (0.0.0.0 or ::)
// listens on all the namespace's addresses of its family, as servers do so
// that joins may arrive on any of them. It is closed when the test ends.
func (n *Netns) ListenMPTCP(t testing.TB, addr netip.AddrPort) *net.TCPListener {
	t.Helper()
	return n.listen(t, addr, true)
}

// ConnectMPTCP dials ln with an MPTCP socket of this namespace, from the
// address from (the kernel chooses if it is the zero Addr) to the address
// to (ln's own address if it is the zero Addr) at ln's port, accepts the
// connection and exchanges a byte each way, so that it is fully
// established. It fails the test if the connection fell back to TCP. The
// sockets are closed when the test ends; ln stays open for joins.
func (n *Netns) ConnectMPTCP(t testing.TB, ln *net.TCPListener, from, to netip.Addr) *Conn {
	t.Helper()
	c := &Conn{Listener: ln}
	c.Client, c.Server = n.connect(t, ln, from, to, true)
	if mp, err := c.Client.MultipathTCP(); err != nil || !mp {
		t.Fatalf("kerneltest: the client connection is not MPTCP (%v, %v)", mp, err)
	}
	if err := exchange(c.Client, c.Server); err != nil {
		t.Fatalf("kerneltest: exchanging data: %v", err)
	}
	return c
}

func (n *Netns) listen(t testing.TB, addr netip.AddrPort, mptcp bool) *net.TCPListener {
	t.Helper()
	var ln net.Listener
	err := n.Do(func() error {
		// Go's listeners use MPTCP by default: say what is wanted.
		var lc net.ListenConfig
		lc.SetMultipathTCP(mptcp)
		var err error
		ln, err = lc.Listen(context.Background(), network(addr.Addr()), addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("kerneltest: %s listen on %v: %v", proto(mptcp), addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

// connect dials ln from this namespace (see ConnectMPTCP for from and to)
// and accepts, closing both sockets when the test ends.
func (n *Netns) connect(t testing.TB, ln *net.TCPListener, from, to netip.Addr, mptcp bool) (client, server *net.TCPConn) {
	t.Helper()
	lap := ln.Addr().(*net.TCPAddr).AddrPort()
	if !to.IsValid() {
		to = lap.Addr().Unmap()
	}
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		conn, err := ln.AcceptTCP()
		if err != nil {
			conn = nil
		}
		accepted <- conn
	}()
	err := n.Do(func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		if from.IsValid() {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
		}
		d.SetMultipathTCP(mptcp)
		conn, err := d.Dial(network(to), netip.AddrPortFrom(to, lap.Port()).String())
		if err != nil {
			return err
		}
		client = conn.(*net.TCPConn)
		return nil
	})
	if err != nil {
		t.Fatalf("kerneltest: %s dial: %v", proto(mptcp), err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatalf("kerneltest: %s accept: nothing within 10s", proto(mptcp))
	}
	if server == nil {
		t.Fatalf("kerneltest: %s accept failed", proto(mptcp))
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// network returns "tcp4" or "tcp6" for a, so that an unspecified address
// stands for one family only.
func network(a netip.Addr) string {
	if a.Is4() {
		return "tcp4"
	}
	return "tcp6"
}

func proto(mptcp bool) string {
	if mptcp {
		return "MPTCP"
	}
	return "TCP"
}

// exchange sends one byte each way.
func exchange(a, b *net.TCPConn) error {
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	defer a.SetDeadline(time.Time{})
	defer b.SetDeadline(time.Time{})
	buf := make([]byte, 1)
	if _, err := a.Write([]byte{'x'}); err != nil {
		return err
	}
	if _, err := io.ReadFull(b, buf); err != nil {
		return err
	}
	if _, err := b.Write([]byte{'y'}); err != nil {
		return err
	}
	_, err := io.ReadFull(a, buf)
	return err
}

// WaitSubflows polls MPTCP_SUBFLOW_ADDRS until c has n subflows or the
// timeout passes. Subflows are created asynchronously by the kernel's path
// manager, so a test has nothing better to wait on.
func WaitSubflows(c *net.TCPConn, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		addrs, err := kernel.SubflowAddrs(c)
		if err != nil {
			return err
		}
		if len(addrs) == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d subflows after %v, want %d: %v", len(addrs), timeout, n, addrs)
		}
		<-tick.C
	}
}

// PlainTCP opens a plain TCP listener in the server namespace and a
// connection to it from the client namespace, closed when the test ends.
func (p *TwoPaths) PlainTCP(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	return p.tcpPair(t, false)
}

// Fallback dials a plain TCP listener of the server namespace with an
// MPTCP socket: the connection falls back to TCP (RFC 8684 §3.7). It
// returns the client's socket and the accepted one.
func (p *TwoPaths) Fallback(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	return p.tcpPair(t, true)
}

func (p *TwoPaths) tcpPair(t testing.TB, clientMPTCP bool) (client, server *net.TCPConn) {
	t.Helper()
	ln := p.Server.listen(t, netip.AddrPortFrom(p.ServerAddrs[0], 0), false)
	return p.Client.connect(t, ln, netip.Addr{}, netip.Addr{}, clientMPTCP)
}
