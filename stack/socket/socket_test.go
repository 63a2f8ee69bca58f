package socket_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
	"github.com/gomptcp/mptcp/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// simNet is two Hosts on one simulated link, run by a SimLoop.
type simNet struct {
	net          *sim.Network
	loop         *socket.SimLoop
	a, b         *socket.Host
	link         *sim.Link
	aAddr, bAddr netip.Addr
}

func newSimNet(tb testing.TB, lc impair.Config, tcfg tcp.Config) *simNet {
	tb.Helper()
	n := sim.New(sim.Config{Seed: 1})
	mk := func(name string, seed byte, p netip.Prefix) (*stack.Stack, *sim.Interface) {
		st, err := stack.New(stack.Config{TCP: tcfg, Rand: rand.NewChaCha8([32]byte{seed})})
		if err != nil {
			tb.Fatal(err)
		}
		i := n.AddHost(name, st).AddInterface("eth0", p)
		if err := st.AddNIC(i); err != nil {
			tb.Fatal(err)
		}
		return st, i
	}
	sa, ia := mk("a", 1, netip.MustParsePrefix("10.0.0.1/24"))
	sb, ib := mk("b", 2, netip.MustParsePrefix("10.0.0.2/24"))
	l, err := n.Connect(ia, ib, sim.Symmetric(lc))
	if err != nil {
		tb.Fatal(err)
	}
	s := &simNet{net: n, link: l, aAddr: ia.Addrs()[0].Addr(), bAddr: ib.Addrs()[0].Addr()}
	s.loop = socket.NewSimLoop(n, socket.SimConfig{})
	s.a = socket.New(s.loop, sa, socket.Config{})
	s.b = socket.New(s.loop, sb, socket.Config{})
	s.loop.Start()
	return s
}

func (s *simNet) close(tb testing.TB) {
	tb.Helper()
	for _, err := range []error{s.a.Close(), s.b.Close(), s.loop.Close()} {
		if err != nil {
			tb.Error(err)
		}
	}
}

// pipe returns a connection from a to b and its accepted end.
func (s *simNet) pipe(tb testing.TB) (c1, c2 net.Conn, l net.Listener) {
	tb.Helper()
	l, err := s.b.Listen("tcp", ":0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	c1, err = s.a.Dial("tcp", netip.AddrPortFrom(s.bAddr, uint16(port)).String())
	if err != nil {
		tb.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return c1, r.c, l
}

// TestNetConn runs golang.org/x/net/nettest's conformance tests on a
// connection between two Hosts over the simulator, in real time.
func TestNetConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		// In real time: the loop runs every packet at its exact virtual
		// time, so the 1000 round trips of PingPong take 1000 × 200 µs
		// plus the scheduling latency of the machine.
		s := newSimNet(t, impair.Config{Delay: 100 * time.Microsecond}, tcp.Config{})
		c1, c2, l := s.pipe(t)
		stop = func() {
			c1.Close()
			c2.Close()
			l.Close()
			s.close(t)
		}
		return c1, c2, stop, nil
	})
}

// TestTransfer moves data both ways at once over a 10 Mbit/s, 20 ms RTT
// link with loss, in fake time, and checks the bytes and the time taken.
func TestTransfer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lc := impair.Config{Rate: 10_000_000, Delay: 10 * time.Millisecond, QueuePackets: 100, Loss: 0.01}
		s := newSimNet(t, lc, tcp.Config{})
		defer s.close(t)
		c1, c2, l := s.pipe(t)
		defer l.Close()
		up := make([]byte, 1<<20)
		down := make([]byte, 300_000)
		rand.NewChaCha8([32]byte{1}).Read(up)
		rand.NewChaCha8([32]byte{2}).Read(down)
		start := time.Now()
		var wg sync.WaitGroup
		var got1, got2 []byte
		var err1, err2 error
		wg.Go(func() {
			if _, err := c1.Write(up); err != nil {
				t.Error(err)
			}
			if err := c1.(*socket.Conn).CloseWrite(); err != nil {
				t.Error(err)
			}
			got1, err1 = io.ReadAll(c1)
		})
		wg.Go(func() {
			if _, err := c2.Write(down); err != nil {
				t.Error(err)
			}
			if err := c2.(*socket.Conn).CloseWrite(); err != nil {
				t.Error(err)
			}
			got2, err2 = io.ReadAll(c2)
		})
		wg.Wait()
		elapsed := time.Since(start)
		if err1 != nil || err2 != nil {
			t.Fatalf("ReadAll: %v, %v", err1, err2)
		}
		if !bytes.Equal(got1, down) || !bytes.Equal(got2, up) {
			t.Errorf("got %d and %d bytes, want %d and %d, equal", len(got1), len(got2), len(down), len(up))
		}
		// 1 MiB at 10 Mbit/s takes 0.84 s on the wire; with slow start
		// and loss it takes longer, but not many times that.
		if elapsed < 840*time.Millisecond || elapsed > 5*time.Second {
			t.Errorf("transfer took %v of fake time", elapsed)
		}
		in, err := c1.(*socket.Conn).Info()
		if err != nil || in.TotalRetrans == 0 {
			t.Errorf("info %v, retransmissions %d: a 1%% lossy link should cause some", err, in.TotalRetrans)
		}
		for _, c := range []net.Conn{c1, c2} {
			if err := c.Close(); err != nil {
				t.Error(err)
			}
			if err := c.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close: %v", err)
			}
		}
	})
}

// TestDeadlines checks that Read and Write time out at their deadlines in
// fake time, that a deadline moved while a call waits applies to it, and
// that the connection works afterwards.
func TestDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNet(t, impair.Config{Delay: 5 * time.Millisecond}, tcp.Config{SendBufferSize: 64 << 10, RecvBufferSize: 64 << 10, DisableAutoTune: true})
		defer s.close(t)
		c1, c2, l := s.pipe(t)
		defer l.Close()
		defer c1.Close()
		defer c2.Close()

		isTimeout := func(err error) bool {
			var ne net.Error
			return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
		}
		start := time.Now()
		c1.SetReadDeadline(start.Add(300 * time.Millisecond))
		n, err := c1.Read(make([]byte, 10))
		if n != 0 || !isTimeout(err) {
			t.Errorf("Read: %d, %v; want a timeout", n, err)
		}
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Errorf("Read timed out after %v, want 300ms", d)
		}

		// Nobody reads c2: Write fills both buffers and times out.
		start = time.Now()
		c1.SetWriteDeadline(start.Add(2 * time.Second))
		n, err = c1.Write(make([]byte, 1<<20))
		if !isTimeout(err) || n < 64<<10 || n >= 1<<20 {
			t.Errorf("Write: %d, %v; want a timeout after more than the send buffer", n, err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Write timed out after %v, want 2s", d)
		}

		// A deadline moved into the past wakes a blocked Read.
		c2.SetReadDeadline(time.Time{})
		c1.SetReadDeadline(time.Time{})
		done := make(chan error)
		go func() {
			_, err := c1.Read(make([]byte, 1))
			done <- err
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Read returned early: %v", err)
		default:
		}
		c1.SetReadDeadline(time.Now().Add(-time.Second))
		if err := <-done; !isTimeout(err) {
			t.Errorf("Read after the deadline moved: %v", err)
		}

		// The connection still works: drain what c1 wrote, then echo.
		c1.SetDeadline(time.Time{})
		total := 0
		buf := make([]byte, 32<<10)
		c2.SetReadDeadline(time.Now().Add(10 * time.Second))
		for total < n {
			m, err := c2.Read(buf)
			if err != nil {
				t.Fatalf("draining after %d of %d bytes: %v", total, n, err)
			}
			total += m
		}
		if _, err := c2.Write([]byte("pong")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c1, buf[:4]); err != nil || string(buf[:4]) != "pong" {
			t.Errorf("after the timeouts: %q, %v", buf[:4], err)
		}
	})
}

// TestDialErrors covers a refused connection, a dial cancelled by its
// context, and bad arguments.
func TestDialErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNet(t, impair.Config{Delay: 10 * time.Millisecond}, tcp.Config{})
		defer s.close(t)
		_, err := s.a.Dial("tcp", netip.AddrPortFrom(s.bAddr, 7).String())
		var oe *net.OpError
		if !errors.Is(err, tcp.ErrConnectionRefused) || !errors.As(err, &oe) || oe.Op != "dial" {
			t.Errorf("dial to a closed port: %v", err)
		}

		// Lose everything: the SYN goes unanswered until the context ends.
		if err := s.a.Do(func(now time.Time, _ *stack.Stack) {
			if err := s.link.AB().Configure(impair.Config{Loss: 1}); err != nil {
				t.Error(err)
			}
		}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = s.a.DialContext(ctx, "tcp", netip.AddrPortFrom(s.bAddr, 80).String())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 1500*time.Millisecond {
			t.Errorf("dial with a 1.5 s context: %v after %v", err, time.Since(start))
		}
		st, err := s.a.Stats()
		if err != nil || st.SegmentsOut != 3 || st.ActiveOpens != 2 {
			t.Errorf("stats %+v, %v: want the first SYN, the second SYN and its retransmission after 1 s", st, err)
		}
		var n int
		s.a.Do(func(_ time.Time, st *stack.Stack) { n = st.NumConns() })
		if n != 0 {
			t.Errorf("%d connections left after the cancelled dial", n)
		}

		for _, tt := range []struct{ network, address string }{
			{"udp", "10.0.0.2:80"},
			{"tcp", "example.com:80"},
			{"tcp", "10.0.0.2"},
			{"tcp", "10.0.0.2:http"},
			{"tcp6", "10.0.0.2:80"},
			{"tcp4", "[2001:db8::1]:80"},
		} {
			if _, err := s.a.Dial(tt.network, tt.address); err == nil {
				t.Errorf("Dial(%q, %q) succeeded", tt.network, tt.address)
			}
		}
		if _, err := s.a.Dial("tcp", "192.0.2.1:80"); !errors.Is(err, stack.ErrNoRoute) {
			t.Errorf("unroutable: %v", err)
		}
		if _, err := s.a.Listen("tcp", "10.0.0.9:80"); !errors.Is(err, stack.ErrAddrNotLocal) {
			t.Errorf("Listen on a foreign address: %v", err)
		}
	})
}

// TestCloseUnblocks checks that Close on a Conn, a Listener and the Host
// wakes the goroutines blocked on them, and that reset reaches the peer.
func TestCloseUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNet(t, impair.Config{Delay: time.Millisecond}, tcp.Config{})
		c1, c2, l := s.pipe(t)

		errs := make(chan error, 3)
		go func() { _, err := c1.Read(make([]byte, 1)); errs <- err }()
		go func() { _, err := l.Accept(); errs <- err }()
		go func() { _, err := c2.Read(make([]byte, 1)); errs <- err }()
		synctest.Wait()
		if err := c1.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for range 3 {
			err := <-errs
			switch {
			case errors.Is(err, net.ErrClosed):
				got["closed"] = true
			case err == io.EOF:
				got["eof"] = true
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if !got["closed"] || !got["eof"] {
			t.Errorf("errors seen: %v; want net.ErrClosed for c1 and the listener, EOF for c2", got)
		}
		if _, err := c1.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Close: %v", err)
		}
		if err := c1.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("SetDeadline after Close: %v", err)
		}

		// Host.Close resets c2 and wakes a blocked Read.
		go func() { _, err := c2.Read(make([]byte, 1)); errs <- err }()
		synctest.Wait()
		if err := s.b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errs; !errors.Is(err, net.ErrClosed) && err != io.EOF {
			t.Errorf("Read on a closed Host: %v", err)
		}
		if _, err := s.b.Listen("tcp", ":80"); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Listen on a closed Host: %v", err)
		}
		if _, err := s.b.Dial("tcp", "10.0.0.1:80"); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Dial on a closed Host: %v", err)
		}
		s.close(t)
		if err := s.loop.Do(func(time.Time) {}); !errors.Is(err, socket.ErrLoopClosed) {
			t.Errorf("Do on a closed loop: %v", err)
		}
	})
}

// TestResetReachesPeer closes a connection with unread data, which resets
// it (RFC 9293 §3.10.4): the peer's Read fails with a reset error.
func TestResetReachesPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNet(t, impair.Config{Delay: time.Millisecond}, tcp.Config{})
		defer s.close(t)
		c1, c2, l := s.pipe(t)
		defer l.Close()
		if _, err := c1.Write([]byte("unread")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if err := c2.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := c1.Read(make([]byte, 10))
		if !errors.Is(err, tcp.ErrConnectionReset) {
			t.Errorf("Read after the peer reset: %v", err)
		}
		c1.Close()
	})
}

// TestListenAddresses checks Listen's address forms and Addr.
func TestListenAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNet(t, impair.Config{}, tcp.Config{})
		defer s.close(t)
		for _, tt := range []struct{ network, address, want string }{
			{"tcp", ":8080", ":8080"},
			{"tcp4", ":8081", "0.0.0.0:8081"},
			{"tcp", "10.0.0.2:8082", "10.0.0.2:8082"},
			{"tcp4", "0.0.0.0:8083", "0.0.0.0:8083"},
		} {
			l, err := s.b.Listen(tt.network, tt.address)
			if err != nil {
				t.Errorf("Listen(%q, %q): %v", tt.network, tt.address, err)
				continue
			}
			if got := l.Addr().String(); got != tt.want {
				t.Errorf("Listen(%q, %q).Addr() = %q, want %q", tt.network, tt.address, got, tt.want)
			}
			c, err := s.a.Dial("tcp", "10.0.0.2"+tt.want[len(tt.want)-5:])
			if err != nil {
				t.Errorf("dial %s: %v", tt.want, err)
			} else {
				c.Close()
			}
			l.Close()
		}
	})
}

// TestSimLoopPacing checks that virtual time follows the clock: Do runs
// at the virtual time that corresponds to the fake time of the call.
func TestSimLoopPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNet(t, impair.Config{}, tcp.Config{})
		defer s.close(t)
		virt := func() time.Time {
			var v time.Time
			if err := s.a.Do(func(now time.Time, _ *stack.Stack) { v = now }); err != nil {
				t.Fatal(err)
			}
			return v
		}
		v0 := virt()
		time.Sleep(3 * time.Second)
		if d := virt().Sub(v0); d != 3*time.Second {
			t.Errorf("virtual time advanced %v over 3 s", d)
		}
		if v0.Before(sim.New(sim.Config{}).Now()) {
			t.Errorf("virtual time %v before the simulation's start", v0)
		}
	})
}

// TestSimLoopExactTimes checks, in fake time, that an application sees
// packets at their exact virtual times: a ping over a link with a 3.7 ms
// delay arrives 3.7 ms after it was written, and its echo 7.4 ms after,
// rather than at the next millisecond.
func TestSimLoopExactTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSimNet(t, impair.Config{Delay: 3700 * time.Microsecond}, tcp.Config{})
		defer s.close(t)
		c1, c2, l := s.pipe(t)
		defer l.Close()
		defer c1.Close()
		defer c2.Close()
		for range 3 {
			start := time.Now()
			var atPeer time.Duration
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 4)
				if _, err := io.ReadFull(c2, buf); err != nil {
					t.Error(err)
					return
				}
				atPeer = time.Since(start)
				if _, err := c2.Write(buf); err != nil {
					t.Error(err)
				}
			}()
			if _, err := c1.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c1, buf); err != nil {
				t.Fatal(err)
			}
			back := time.Since(start)
			<-done
			if atPeer != 3700*time.Microsecond || back != 7400*time.Microsecond {
				t.Fatalf("ping read after %v, echo after %v; want 3.7ms and 7.4ms", atPeer, back)
			}
			time.Sleep(2345 * time.Microsecond) // start the next one off the millisecond grid
		}
	})
}
