package mptcp_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
)

// Example runs an MPTCP client and server in the simulator: two hosts
// joined by two links, a subflow endpoint on the client's second address,
// and a transfer that the default path manager spreads over both paths.
// Over TUN devices (link/tun) the same code talks to real networks.
func Example() {
	n := sim.New(sim.Config{Seed: 1})
	var st [2]*stack.Stack
	var nics [2][2]*sim.Interface
	for h := range 2 {
		st[h], _ = stack.New(stack.Config{Rand: rand.NewChaCha8([32]byte{byte(h)})})
		host := n.AddHost(fmt.Sprint("host", h), st[h])
		for p := range 2 {
			nics[h][p] = host.AddInterface(fmt.Sprint("eth", p), netip.MustParsePrefix(fmt.Sprintf("10.0.%d.%d/24", p+1, h+1)))
			st[h].AddNIC(nics[h][p])
		}
	}
	for p := range 2 {
		n.Connect(nics[0][p], nics[1][p], sim.Symmetric(impair.Config{Rate: 50e6, Delay: 5 * time.Millisecond}))
	}
	loop := socket.NewSimLoop(n, socket.SimConfig{})
	client, _ := mptcp.NewStack(loop, st[0], mptcp.Config{
		Endpoints: []mptcp.Endpoint{{Addr: netip.MustParseAddr("10.0.2.1"), Flags: mptcp.FlagSubflow}},
	})
	server, _ := mptcp.NewStack(loop, st[1], mptcp.Config{})
	loop.Start()
	defer loop.Close()
	defer server.Close()
	defer client.Close()

	l, _ := server.Listen("tcp", ":80")
	go func() {
		c, _ := l.Accept()
		io.Copy(c, c) // echo
		c.Close()
	}()
	c, err := client.DialMPTCP(context.Background(), netip.AddrPort{}, netip.MustParseAddrPort("10.0.1.2:80"))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := make([]byte, 1<<20)
	go func() {
		c.Write(msg)
		c.CloseWrite()
	}()
	got, _ := io.ReadAll(c)
	// (After the end of the stream the subflows may be closing already:
	// SubflowsTotal counts all the connection had.)
	info, _ := c.Info()
	fmt.Println("echoed", len(got), "bytes over", info.SubflowsTotal, "subflows")
	// Output: echoed 1048576 bytes over 2 subflows
}
