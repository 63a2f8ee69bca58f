package tcp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// Example connects a client to a listener through an ideal in-memory
// link, sends a message and closes, driving both engines by hand.
func Example() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := &tcp.Config{ISNKey: [16]byte{42}}
	cli := netip.MustParseAddrPort("192.0.2.1:50000")
	srv := netip.MustParseAddrPort("192.0.2.2:80")

	l, _ := tcp.NewListener(cfg, 80, 8)
	c, _ := tcp.Dial(now, cfg, tcp.ConnID{Local: cli, Remote: srv}, nil)
	var s *tcp.Conn
	buf := make([]byte, 2048)

	// exchange moves segments both ways until both engines are quiet.
	exchange := func() {
		for moved := true; moved; {
			moved = false
			for {
				seg, ok := c.Poll(now, buf)
				if !ok {
					break
				}
				moved = true
				if s == nil {
					s, _, _ = l.Input(now, tcp.ConnID{Local: srv, Remote: cli}, &seg)
				} else {
					s.Input(now, &seg)
				}
			}
			for s != nil {
				seg, ok := s.Poll(now, buf)
				if !ok {
					break
				}
				moved = true
				c.Input(now, &seg)
			}
		}
	}

	exchange()
	accepted, _ := l.Accept()
	fmt.Println(c.State(), accepted.State())

	c.Write([]byte("hello, subflow"))
	c.Close()
	exchange()
	n, _ := s.Read(buf)
	fmt.Printf("%q %v %v\n", buf[:n], c.State(), s.State())

	s.Close()
	exchange()
	fmt.Println(c.State(), s.State())
	now = c.NextDeadline() // the end of TIME-WAIT
	exchange()
	fmt.Println(c.State())
	// Output:
	// ESTABLISHED ESTABLISHED
	// "hello, subflow" FIN-WAIT-2 CLOSE-WAIT
	// TIME-WAIT CLOSED
	// CLOSED
}
