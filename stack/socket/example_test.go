package socket_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
)

// Example connects two Hosts over a simulated link run in real time and
// exchanges a message through net.Conn.
func Example() {
	n := sim.New(sim.Config{Seed: 1})
	sa, _ := stack.New(stack.Config{Rand: rand.Reader})
	sb, _ := stack.New(stack.Config{Rand: rand.Reader})
	ia := n.AddHost("a", sa).AddInterface("eth0", netip.MustParsePrefix("192.0.2.1/24"))
	ib := n.AddHost("b", sb).AddInterface("eth0", netip.MustParsePrefix("192.0.2.2/24"))
	sa.AddNIC(ia)
	sb.AddNIC(ib)
	n.Connect(ia, ib, sim.Symmetric(impair.Config{Delay: time.Millisecond}))

	loop := socket.NewSimLoop(n, socket.SimConfig{})
	a := socket.New(loop, sa, socket.Config{})
	b := socket.New(loop, sb, socket.Config{})
	loop.Start()
	defer loop.Close()
	defer a.Close()
	defer b.Close()

	l, _ := b.Listen("tcp", ":7")
	go func() { // an echo server
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	c, err := a.Dial("tcp", "192.0.2.2:7")
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write([]byte("ping"))
	c.(*socket.Conn).CloseWrite()
	reply, err := io.ReadAll(c)
	fmt.Printf("%q %v\n", reply, err)
	c.Close()
	l.Close()
	// Output: "ping" <nil>
}
