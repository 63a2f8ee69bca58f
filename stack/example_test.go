package stack_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// Example runs a client and a server Stack on a simulated link: the
// server answers a greeting, the client reads it, and both close.
func Example() {
	n := sim.New(sim.Config{Seed: 1})
	cli, _ := stack.New(stack.Config{Rand: seeded(1)})
	srv, _ := stack.New(stack.Config{Rand: seeded(2)})
	ci := n.AddHost("client", cli).AddInterface("eth0", netip.MustParsePrefix("192.0.2.1/24"))
	si := n.AddHost("server", srv).AddInterface("eth0", netip.MustParsePrefix("192.0.2.2/24"))
	cli.AddNIC(ci)
	srv.AddNIC(si)
	n.Connect(ci, si, sim.Symmetric(impair.Config{Rate: 10_000_000, Delay: 10 * time.Millisecond}))

	buf := make([]byte, 100)
	srv.Listen(netip.MustParseAddrPort("192.0.2.2:80"), &stack.ListenOptions{
		OnEvent: func(now time.Time, c *stack.Conn, ev tcp.Event) {
			switch ev.Kind {
			case tcp.EventEstablished:
				c.Write(now, []byte("hello from "+c.LocalAddr().String()))
				c.CloseWrite(now)
			case tcp.EventEOF:
				c.Close(now)
			}
		},
	})
	n.At(n.Now(), func(now time.Time) {
		cli.Dial(now, netip.MustParseAddrPort("192.0.2.2:80"), &stack.DialOptions{
			OnEvent: func(now time.Time, c *stack.Conn, ev tcp.Event) {
				switch ev.Kind {
				case tcp.EventReadable:
					k, _ := c.Read(now, buf)
					fmt.Printf("%v: %q\n", n.Since(), buf[:k])
				case tcp.EventEOF:
					c.Close(now)
				case tcp.EventClosed:
					fmt.Printf("%v: closed, err=%v\n", n.Since(), ev.Err)
				}
			},
		})
	})
	n.RunFor(2 * time.Minute)
	fmt.Println("connections left:", cli.NumConns(), srv.NumConns())
	// Output:
	// 40.1976ms: "hello from 192.0.2.2:80"
	// 60.3224ms: closed, err=<nil>
	// connections left: 0 0
}
