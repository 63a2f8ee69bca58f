package meta_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
)

// Example connects a client to a listener in memory, with segments handed
// over directly, and sends a message.
func Example() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := func(seed byte) *meta.Config {
		return &meta.Config{Rand: rand.NewChaCha8([32]byte{seed})}
	}
	l, _ := meta.NewListener(cfg(1), 80, 16)
	cid := tcp.ConnID{
		Local:  netip.MustParseAddrPort("192.0.2.1:40000"),
		Remote: netip.MustParseAddrPort("198.51.100.2:80"),
	}
	sid := tcp.ConnID{Local: cid.Remote, Remote: cid.Local}
	cli, _ := meta.Dial(now, cfg(2), cid)
	var srv *meta.Conn
	cli.Write([]byte("hello, multipath"))
	cli.CloseWrite()

	buf := make([]byte, 65536)
	var got []byte
	for range 100 {
		// Client → server: the first segment goes to the listener.
		for {
			_, seg, ok := cli.Poll(now, buf)
			if !ok {
				break
			}
			if srv == nil {
				srv, _, _ = l.Input(now, sid, &seg)
			} else {
				srv.Input(now, sid, &seg)
			}
		}
		if srv == nil {
			continue
		}
		for {
			_, seg, ok := srv.Poll(now, buf)
			if !ok {
				break
			}
			cli.Input(now, cid, &seg)
		}
		n, err := srv.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
		now = now.Add(time.Millisecond)
	}
	fmt.Printf("%s (MPTCP: %v, token %v)\n", got, !srv.Fallback(), srv.Token() != 0)
	// Output: hello, multipath (MPTCP: true, token true)
}
