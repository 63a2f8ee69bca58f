package mptcp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
	"github.com/gomptcp/mptcp/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// twoPaths is a client and a server, each with two interfaces, joined by
// two simulated links (10.0.1.0/24 and 10.0.2.0/24), run by a SimLoop.
type twoPaths struct {
	net    *sim.Network
	loop   *socket.SimLoop
	client *mptcp.Stack
	server *mptcp.Stack
	links  [2]*sim.Link
}

var (
	clientAddr = [2]netip.Addr{netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("10.0.2.1")}
	serverAddr = [2]netip.Addr{netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("10.0.2.2")}
)

func newTwoPaths(tb testing.TB, paths [2]impair.Config, ccfg, scfg mptcp.Config) *twoPaths {
	tb.Helper()
	n := sim.New(sim.Config{Seed: 1})
	tp := &twoPaths{net: n}
	var ifs [2][2]*sim.Interface
	var sts [2]*stack.Stack
	for h, name := range []string{"client", "server"} {
		st, err := stack.New(stack.Config{Rand: rand.NewChaCha8([32]byte{byte(h + 1)})})
		if err != nil {
			tb.Fatal(err)
		}
		host := n.AddHost(name, st)
		for p := range 2 {
			addr := clientAddr[p]
			if h == 1 {
				addr = serverAddr[p]
			}
			ifs[h][p] = host.AddInterface("eth"+string(rune('0'+p)), netip.PrefixFrom(addr, 24))
			if err := st.AddNIC(ifs[h][p]); err != nil {
				tb.Fatal(err)
			}
		}
		sts[h] = st
	}
	for p := range 2 {
		l, err := n.Connect(ifs[0][p], ifs[1][p], sim.Symmetric(paths[p]))
		if err != nil {
			tb.Fatal(err)
		}
		tp.links[p] = l
	}
	tp.loop = socket.NewSimLoop(n, socket.SimConfig{})
	var err error
	ccfg.Rand = rand.NewChaCha8([32]byte{10})
	scfg.Rand = rand.NewChaCha8([32]byte{11})
	if tp.client, err = mptcp.NewStack(tp.loop, sts[0], ccfg); err != nil {
		tb.Fatal(err)
	}
	if tp.server, err = mptcp.NewStack(tp.loop, sts[1], scfg); err != nil {
		tb.Fatal(err)
	}
	tp.loop.Start()
	return tp
}

func (tp *twoPaths) close(tb testing.TB) {
	tb.Helper()
	for _, err := range []error{tp.client.Close(), tp.server.Close(), tp.loop.Close()} {
		if err != nil {
			tb.Error(err)
		}
	}
}

// pipe dials the server's first address from the client and returns both
// ends.
func (tp *twoPaths) pipe(tb testing.TB) (c, s *mptcp.Conn, l *mptcp.Listener) {
	tb.Helper()
	l, err := tp.server.ListenMPTCP(netip.AddrPortFrom(netip.Addr{}, 8080), 0)
	if err != nil {
		tb.Fatal(err)
	}
	ch := make(chan *mptcp.Conn, 1)
	go func() {
		s, err := l.AcceptMPTCP()
		if err != nil {
			tb.Error(err)
		}
		ch <- s
	}()
	c, err = tp.client.DialMPTCP(context.Background(), netip.AddrPort{}, netip.AddrPortFrom(serverAddr[0], 8080))
	if err != nil {
		tb.Fatal(err)
	}
	s = <-ch
	if s == nil {
		tb.FailNow()
	}
	return c, s, l
}

func payload(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestTwoSubflows: a subflow added over the second path with
// Conn.AddSubflow carries its share of a transfer in each direction, and
// both transfers are byte-exact.
func TestTwoSubflows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := impair.Config{Rate: 20e6, Delay: 10 * time.Millisecond}
		tp := newTwoPaths(t, [2]impair.Config{path, path}, mptcp.Config{}, mptcp.Config{})
		defer tp.close(t)
		sub := tp.client.Subscribe(64)
		c, s, l := tp.pipe(t)
		defer l.Close()
		// MP_JOIN needs the connection fully established: the server's
		// first DATA_ACK, on its answer to a first write.
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 5)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddSubflow(netip.AddrPortFrom(clientAddr[1], 0), netip.AddrPortFrom(serverAddr[1], 8080), false); err != nil {
			t.Fatal(err)
		}
		up, down := payload(3<<20, 1), payload(2<<20, 2)
		errc := make(chan error, 2)
		got := make(chan []byte, 1)
		go func() {
			_, err := c.Write(up)
			if err == nil {
				err = c.CloseWrite()
			}
			errc <- err
		}()
		go func() {
			b, err := io.ReadAll(s)
			if err == nil {
				_, err = s.Write(down)
			}
			if err == nil {
				err = s.CloseWrite()
			}
			got <- b
			errc <- err
		}()
		back, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		if b := <-got; !bytes.Equal(b, up) {
			t.Fatalf("server read %d bytes, not the %d written", len(b), len(up))
		}
		if !bytes.Equal(back, down) {
			t.Fatalf("client read %d bytes, not the %d written", len(back), len(down))
		}
		in, err := c.Info()
		if err != nil {
			t.Fatal(err)
		}
		if in.Subflows != 1 || len(in.Subflow) != 2 {
			t.Fatalf("Info: %d additional subflows, %d listed; want 1 and 2", in.Subflows, len(in.Subflow))
		}
		var delivered [2]uint64
		tp.client.Host().Do(func(time.Time, *stack.Stack) {
			for p, l := range tp.links {
				delivered[p] = l.AB().Stats().DeliveredBytes + l.BA().Stats().DeliveredBytes
			}
		})
		total := delivered[0] + delivered[1]
		for p := range delivered {
			if delivered[p] < total/4 {
				t.Errorf("path %d carried %d of %d bytes", p, delivered[p], total)
			}
		}
		c.Close()
		s.Close()
		var types []mptcp.EventType
		for len(sub.Events()) > 0 {
			types = append(types, (<-sub.Events()).Type)
		}
		want := []mptcp.EventType{mptcp.EventCreated, mptcp.EventEstablished, mptcp.EventSubflowEstablished}
		if len(types) < 3 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
			t.Errorf("events %v, want %v first", types, want)
		}
		var _ net.Conn = c
	})
}

// TestKernelPMSubflowEndpoint: a "subflow" endpoint makes the default path
// manager open a subflow from its address once the connection is fully
// established, reported by EventSubflowEstablished after EventCreated and
// EventEstablished.
func TestKernelPMSubflowEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := impair.Config{Rate: 20e6, Delay: 10 * time.Millisecond}
		tp := newTwoPaths(t, [2]impair.Config{path, path},
			mptcp.Config{Endpoints: []mptcp.Endpoint{{Addr: clientAddr[1], Flags: mptcp.FlagSubflow | mptcp.FlagBackup}}}, mptcp.Config{})
		defer tp.close(t)
		sub := tp.client.Subscribe(64)
		c, s, l := tp.pipe(t)
		defer l.Close()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("pong")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		var evs []mptcp.Event
		for len(sub.Events()) > 0 {
			evs = append(evs, <-sub.Events())
		}
		if len(evs) != 3 || evs[0].Type != mptcp.EventCreated || evs[1].Type != mptcp.EventEstablished || evs[2].Type != mptcp.EventSubflowEstablished {
			t.Fatalf("events %v", evs)
		}
		if e := evs[2]; e.Local.Addr() != clientAddr[1] || !e.Backup || e.Token != c.Token() || e.LocalID == 0 {
			t.Errorf("subflow event %v: want from %v, backup, token %08x, a nonzero local ID", e, clientAddr[1], c.Token())
		}
		sfs, err := c.Subflows()
		if err != nil || len(sfs) != 2 {
			t.Fatalf("Subflows: %v, %v", sfs, err)
		}
		c.Close()
		s.Close()
	})
}

// TestNetConn runs golang.org/x/net/nettest's conformance tests on an
// MPTCP connection with two subflows over the simulator, in real time.
func TestNetConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		path := impair.Config{Delay: 100 * time.Microsecond}
		tp := newTwoPaths(t, [2]impair.Config{path, path}, mptcp.Config{}, mptcp.Config{})
		c, s, l := tp.pipe(t)
		// Fully established once data went both ways: then a second
		// subflow joins, so the tests run over two.
		if _, err := c.Write([]byte{1}); err != nil {
			return nil, nil, nil, err
		}
		if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
			return nil, nil, nil, err
		}
		if _, err := s.Write([]byte{2}); err != nil {
			return nil, nil, nil, err
		}
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			return nil, nil, nil, err
		}
		if _, err := c.AddSubflow(netip.AddrPortFrom(clientAddr[1], 0), netip.AddrPortFrom(serverAddr[1], 8080), false); err != nil {
			return nil, nil, nil, err
		}
		stop = func() {
			c.Close()
			s.Close()
			l.Close()
			tp.close(t)
		}
		return c, s, stop, nil
	})
}

// TestSubflowSettings: per-subflow settings apply to a subflow the
// connection has and fail with ErrNoSubflow otherwise.
func TestSubflowSettings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := impair.Config{Delay: time.Millisecond}
		tp := newTwoPaths(t, [2]impair.Config{path, path}, mptcp.Config{}, mptcp.Config{})
		defer tp.close(t)
		c, s, l := tp.pipe(t)
		defer l.Close()
		sfs, err := c.Subflows()
		if err != nil || len(sfs) != 1 {
			t.Fatalf("Subflows: %v, %v", sfs, err)
		}
		id := sfs[0].ID
		if err := c.SetTOS(0x28); err != nil {
			t.Error(err)
		}
		if err := c.SetSubflowTOS(id, 0xb8); err != nil {
			t.Error(err)
		}
		if err := c.SetSubflowNoDelay(id, true); err != nil {
			t.Error(err)
		}
		if err := c.SetSubflowCongestionControl(id, "olia"); err != nil {
			t.Error(err)
		}
		if sfs, _ := c.Subflows(); sfs[0].TCP.CongestionControl != "olia" {
			t.Errorf("subflow controller %q, want olia", sfs[0].TCP.CongestionControl)
		}
		if err := c.SetSubflowCongestionControl(id, "no-such"); err == nil {
			t.Error("an unknown controller was accepted")
		}
		bogus := id
		bogus.Local = netip.AddrPortFrom(bogus.Local.Addr(), bogus.Local.Port()+1)
		if err := c.SetSubflowTOS(bogus, 0); !errors.Is(err, mptcp.ErrNoSubflow) {
			t.Errorf("SetSubflowTOS on no subflow: %v", err)
		}
		if err := c.SetSubflowNoDelay(bogus, true); !errors.Is(err, mptcp.ErrNoSubflow) {
			t.Errorf("SetSubflowNoDelay on no subflow: %v", err)
		}
		if err := c.SetSubflowCongestionControl(bogus, "reno"); !errors.Is(err, mptcp.ErrNoSubflow) {
			t.Errorf("SetSubflowCongestionControl on no subflow: %v", err)
		}
		c.Close()
		s.Close()
	})
}

// TestAnnounceAndPriority: the server's "signal" endpoint is announced
// with ADD_ADDR; the client, accepting one announced address, opens a
// subflow to it over the second path. Then the client marks that subflow
// backup (MP_PRIO, seen by the server), removes it, and data still flows.
func TestAnnounceAndPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := impair.Config{Rate: 20e6, Delay: 5 * time.Millisecond}
		tp := newTwoPaths(t, [2]impair.Config{path, path},
			mptcp.Config{Limits: &mptcp.Limits{Subflows: 2, AddAddrAccepted: 1}},
			mptcp.Config{Endpoints: []mptcp.Endpoint{{Addr: serverAddr[1], Flags: mptcp.FlagSignal}}})
		defer tp.close(t)
		csub, ssub := tp.client.Subscribe(64), tp.server.Subscribe(64)
		c, s, l := tp.pipe(t)
		defer l.Close()
		echo := func(msg string) {
			t.Helper()
			if _, err := c.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, len(msg))
			if _, err := io.ReadFull(s, b); err != nil || string(b) != msg {
				t.Fatalf("read %q, %v", b, err)
			}
			if _, err := s.Write(b); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, b); err != nil {
				t.Fatal(err)
			}
		}
		echo("one")
		time.Sleep(time.Second)
		events := func(sub *mptcp.Subscription) []mptcp.Event {
			var evs []mptcp.Event
			for len(sub.Events()) > 0 {
				evs = append(evs, <-sub.Events())
			}
			return evs
		}
		find := func(evs []mptcp.Event, typ mptcp.EventType) *mptcp.Event {
			for i := range evs {
				if evs[i].Type == typ {
					return &evs[i]
				}
			}
			return nil
		}
		cev := events(csub)
		ann := find(cev, mptcp.EventAnnounced)
		if ann == nil || ann.Remote.Addr() != serverAddr[1] || ann.RemoteID == 0 {
			t.Fatalf("client events %v: want an announcement of %v", cev, serverAddr[1])
		}
		est := find(cev, mptcp.EventSubflowEstablished)
		if est == nil || est.Remote.Addr() != serverAddr[1] || est.Local.Addr() != clientAddr[1] || est.RemoteID != ann.RemoteID {
			t.Fatalf("client events %v: want a subflow from %v to the announced address", cev, clientAddr[1])
		}
		id := tcp.ConnID{Local: est.Local, Remote: est.Remote}
		if err := c.SetBackup(id, true); err != nil {
			t.Fatal(err)
		}
		echo("two")
		time.Sleep(time.Second)
		if pr := find(events(ssub), mptcp.EventSubflowPriority); pr == nil || !pr.Backup {
			t.Errorf("server saw no MP_PRIO backup: %v", pr)
		}
		sfs, _ := c.Subflows()
		for _, sf := range sfs {
			if sf.ID == id && !sf.Backup {
				t.Errorf("subflow %v not backup: %+v", id, sf)
			}
		}
		if err := c.RemoveSubflow(id); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if cl := find(events(csub), mptcp.EventSubflowClosed); cl == nil || cl.Remote != id.Remote {
			t.Errorf("no subflow-closed event for %v", id)
		}
		echo("three")
		if sfs, _ := c.Subflows(); len(sfs) != 1 {
			t.Errorf("%d subflows after the removal, want 1", len(sfs))
		}
		if err := c.RemoveSubflow(id); !errors.Is(err, mptcp.ErrNoSubflow) {
			t.Errorf("removing it again: %v, want ErrNoSubflow", err)
		}
		c.Close()
		s.Close()
	})
}

// TestAbort: Abort sends MP_FASTCLOSE; the peer's reads fail with a reset
// and both stacks count the fast close.
func TestAbort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := impair.Config{Delay: time.Millisecond}
		tp := newTwoPaths(t, [2]impair.Config{path, path}, mptcp.Config{}, mptcp.Config{})
		defer tp.close(t)
		c, s, l := tp.pipe(t)
		defer l.Close()
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if err := c.Abort(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Read(make([]byte, 1)); err == nil || errors.Is(err, io.EOF) {
			t.Errorf("peer read after the fast close: %v, want a reset", err)
		}
		if _, err := c.Write([]byte("x")); err == nil {
			t.Error("write after Abort succeeded")
		}
		if tx, rx := tp.client.MIB().Get(meta.MPFastcloseTx), tp.server.MIB().Get(meta.MPFastcloseRx); tx != 1 || rx != 1 {
			t.Errorf("MPFastcloseTx %d, MPFastcloseRx %d, want 1 and 1", tx, rx)
		}
		s.Close()
	})
}
