package pathmgr_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/pathmgr"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// net2 is a client and a server with two addresses each (10.0.1.x and
// 10.0.2.x), joined by one link per subnet.
type net2 struct {
	n      *sim.Network
	client *stack.Stack
	server *stack.Stack
	links  [2]*sim.Link
}

// net2Config is what a net2 may differ in: each end's path manager, the
// links, the subflows' TCP configuration and the client's OnEvent.
type net2Config struct {
	clientPM, serverPM stack.PathManager
	link               *impair.Config // default 20 Mbit/s, 5 ms each way
	subflow            tcp.Config
	onClientEvent      func(time.Time, stack.PMEvent)
}

func newNet2(t *testing.T, clientPM, serverPM stack.PathManager) *net2 {
	t.Helper()
	return newNet2With(t, net2Config{clientPM: clientPM, serverPM: serverPM})
}

func newNet2With(t *testing.T, cfg net2Config) *net2 {
	t.Helper()
	if cfg.link == nil {
		cfg.link = &impair.Config{Rate: 20e6, Delay: 5 * time.Millisecond}
	}
	n := sim.New(sim.Config{Seed: 5})
	var sts [2]*stack.Stack
	var ifs [2][2]*sim.Interface
	for h := range 2 {
		st, err := stack.New(stack.Config{Rand: rand.NewChaCha8([32]byte{byte(h + 1)})})
		if err != nil {
			t.Fatal(err)
		}
		host := n.AddHost([]string{"client", "server"}[h], st)
		for p := range 2 {
			ifs[h][p] = host.AddInterface([]string{"eth0", "eth1"}[p], netip.MustParsePrefix([]string{"10.0.1.", "10.0.2."}[p]+[]string{"1/24", "2/24"}[h]))
			if err := st.AddNIC(ifs[h][p]); err != nil {
				t.Fatal(err)
			}
		}
		mc := stack.MPConfig{Meta: meta.Config{Rand: rand.NewChaCha8([32]byte{byte(h + 7)}), Subflow: cfg.subflow},
			PathManager: cfg.clientPM, OnEvent: cfg.onClientEvent}
		if h == 1 {
			mc.PathManager, mc.OnEvent = cfg.serverPM, nil
		}
		if err := st.EnableMPTCP(mc); err != nil {
			t.Fatal(err)
		}
		sts[h] = st
	}
	w := &net2{n: n, client: sts[0], server: sts[1]}
	for p := range 2 {
		l, err := n.Connect(ifs[0][p], ifs[1][p], sim.Symmetric(*cfg.link))
		if err != nil {
			t.Fatal(err)
		}
		w.links[p] = l
	}
	return w
}

// transfer sends size bytes from the client to the server's first
// address and returns the client's connection once the server has read
// them all.
func (w *net2) transfer(t *testing.T, size int) *stack.MPConn {
	t.Helper()
	want := make([]byte, size)
	rand.NewChaCha8([32]byte{3}).Read(want)
	var got []byte
	buf := make([]byte, 32<<10)
	w.n.At(w.n.Now(), func(now time.Time) {
		_, err := w.server.ListenMPTCP(now, netip.MustParseAddrPort("0.0.0.0:80"), &stack.MPListenOptions{
			OnAccept: func(time.Time, *stack.MPListener) {},
			OnEvent: func(now time.Time, c *stack.MPConn, _ meta.Event) {
				for {
					n, _ := c.Read(now, buf)
					if n == 0 {
						return
					}
					got = append(got, buf[:n]...)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	var cli *stack.MPConn
	sent := 0
	w.n.At(w.n.Now(), func(now time.Time) {
		var err error
		cli, err = w.client.DialMPTCP(now, netip.MustParseAddrPort("10.0.1.2:80"), &stack.MPDialOptions{
			OnEvent: func(now time.Time, c *stack.MPConn, _ meta.Event) {
				for sent < len(want) {
					n, _ := c.Write(now, want[sent:])
					if n == 0 {
						return
					}
					sent += n
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	w.n.RunFor(10 * time.Second)
	if !bytes.Equal(got, want) {
		t.Fatalf("server read %d bytes, want the %d sent", len(got), len(want))
	}
	return cli
}

// TestFullmesh: with no address announced, the client meshes its two
// addresses with the server's initial one.
func TestFullmesh(t *testing.T) {
	w := newNet2(t, &pathmgr.Fullmesh{}, nil)
	c := w.transfer(t, 4<<20)
	in := c.Info()
	pairs := map[[2]netip.Addr]bool{}
	for _, sf := range in.Subflow {
		pairs[[2]netip.Addr{sf.ID.Local.Addr(), sf.ID.Remote.Addr()}] = true
		if sf.TCP.BytesAcked < 100<<10 {
			t.Errorf("subflow %v carried %d bytes", sf.ID, sf.TCP.BytesAcked)
		}
	}
	want := [][2]netip.Addr{
		{netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("10.0.1.2")},
		{netip.MustParseAddr("10.0.2.1"), netip.MustParseAddr("10.0.1.2")},
	}
	if len(pairs) != len(want) {
		t.Fatalf("subflows between %v, want %v", pairs, want)
	}
	for _, p := range want {
		if !pairs[p] {
			t.Errorf("no subflow %v", p)
		}
	}
}

// TestFullmeshLimit: MaxSubflows bounds the additional subflows.
func TestFullmeshLimit(t *testing.T) {
	w := newNet2(t, &pathmgr.Fullmesh{MaxSubflows: 1, Exclude: []netip.Addr{netip.MustParseAddr("10.0.2.1")}}, nil)
	c := w.transfer(t, 1<<20)
	if n := c.Info().SubflowsTotal; n != 1 {
		t.Errorf("%d subflows, want 1: the only other address is excluded", n)
	}
}

// TestNDiffPorts: four subflows between the same two addresses, each
// from its own port, all carrying data.
func TestNDiffPorts(t *testing.T) {
	w := newNet2(t, &pathmgr.NDiffPorts{N: 4}, nil)
	c := w.transfer(t, 4<<20)
	in := c.Info()
	if len(in.Subflow) != 4 {
		t.Fatalf("%d subflows, want 4", len(in.Subflow))
	}
	ports := map[uint16]bool{}
	for _, sf := range in.Subflow {
		if sf.ID.Local.Addr() != netip.MustParseAddr("10.0.1.1") || sf.ID.Remote != netip.MustParseAddrPort("10.0.1.2:80") {
			t.Errorf("subflow %v: not between the initial addresses", sf.ID)
		}
		ports[sf.ID.Local.Port()] = true
		if sf.TCP.BytesAcked < 50<<10 {
			t.Errorf("subflow %v carried %d bytes", sf.ID, sf.TCP.BytesAcked)
		}
	}
	if len(ports) != 4 {
		t.Errorf("local ports %v, want 4 different", ports)
	}
}

// TestFullmeshAnnounced: the server announces its second address; the
// client meshes both of its addresses with both of the server's.
func TestFullmeshAnnounced(t *testing.T) {
	signal := stack.NewKernelPM([]stack.PMEndpoint{{ID: 1, Addr: netip.MustParseAddr("10.0.2.2"), Flags: stack.EndpointSignal}}, stack.PMLimits{})
	w := newNet2(t, &pathmgr.Fullmesh{}, signal)
	c := w.transfer(t, 4<<20)
	in := c.Info()
	if len(in.Subflow) != 4 {
		for _, sf := range in.Subflow {
			t.Log(sf.ID)
		}
		t.Fatalf("%d subflows, want 4", len(in.Subflow))
	}
	if in.AddAddrAccepted != 1 {
		t.Errorf("AddAddrAccepted %d, want 1", in.AddAddrAccepted)
	}
}

// TestFullmeshPerPair: two subflows per address pair.
func TestFullmeshPerPair(t *testing.T) {
	w := newNet2(t, &pathmgr.Fullmesh{PerPair: 2}, nil)
	c := w.transfer(t, 2<<20)
	if n := len(c.Info().Subflow); n != 4 {
		t.Fatalf("%d subflows, want 4 (2 addresses × 1 peer address × 2)", n)
	}
}

// TestUserspace: no subflow is opened by the path manager.
func TestUserspace(t *testing.T) {
	w := newNet2(t, pathmgr.Userspace{}, nil)
	c := w.transfer(t, 1<<20)
	if n := c.Info().SubflowsTotal; n != 1 {
		t.Fatalf("%d subflows, want only the initial one", n)
	}
}
