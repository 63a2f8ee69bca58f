package sched_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/sched"
	"github.com/gomptcp/mptcp/tcp"
)

// limiter is a ConnScheduler that counts what the engine does with it and
// cuts every chunk to limit bytes.
type limiter struct {
	limit    int
	newConns *int
	picks    int
	conns    *[]*limiter
}

func (l *limiter) NewConn() sched.ConnScheduler {
	*l.newConns++
	c := &limiter{limit: l.limit, newConns: l.newConns, conns: l.conns}
	*l.conns = append(*l.conns, c)
	return c
}

func (l *limiter) Pick(subflows []sched.SubflowStatus) int {
	return l.PickView(&sched.View{Subflows: subflows})
}

func (l *limiter) PickView(v *sched.View) int {
	l.picks++
	k := sched.Default().Pick(v.Subflows)
	v.Limit = l.limit
	return k
}

// TestEngineUsesConnScheduler runs two connections made with one
// meta.Config, in memory, and checks what the engine does with the
// configured ConnScheduler: one NewConn per connection, every decision
// through PickView of the connection's own instance, never through the
// configured one, and chunks cut to the View.Limit it sets (no segment
// carries more).
func TestEngineUsesConnScheduler(t *testing.T) {
	now := t0
	var newConns int
	var conns []*limiter
	proto := &limiter{limit: 1000, newConns: &newConns, conns: &conns}
	cliCfg := &meta.Config{Rand: rand.NewChaCha8([32]byte{1}), Scheduler: proto}
	l, err := meta.NewListener(&meta.Config{Rand: rand.NewChaCha8([32]byte{2})}, 80, 16)
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for i := range 2 {
		cid := tcp.ConnID{
			Local:  netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(40000+i)),
			Remote: netip.MustParseAddrPort("198.51.100.2:80"),
		}
		sid := tcp.ConnID{Local: cid.Remote, Remote: cid.Local}
		cli, err := meta.Dial(now, cliCfg, cid)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := cli.Write(msg); n != len(msg) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
		var srv *meta.Conn
		var got []byte
		buf := make([]byte, 65536)
		largest := 0
		for range 2000 {
			for {
				_, seg, ok := cli.Poll(now, buf)
				if !ok {
					break
				}
				largest = max(largest, len(seg.Payload))
				if srv == nil {
					srv, _, _ = l.Input(now, sid, &seg)
				} else {
					srv.Input(now, sid, &seg)
				}
			}
			if srv != nil {
				for {
					_, seg, ok := srv.Poll(now, buf)
					if !ok {
						break
					}
					cli.Input(now, cid, &seg)
				}
				n, _ := srv.Read(buf)
				got = append(got, buf[:n]...)
			}
			if len(got) == len(msg) {
				break
			}
			now = now.Add(time.Millisecond)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("connection %d: received %d of %d bytes (or different ones)", i, len(got), len(msg))
		}
		if largest > proto.limit {
			t.Errorf("connection %d: a segment carried %d bytes, beyond the scheduler's limit %d", i, largest, proto.limit)
		}
		if newConns != i+1 || len(conns) != i+1 || conns[i].picks == 0 {
			t.Fatalf("after connection %d: %d NewConn calls, this connection's instance picked %d times", i, newConns, conns[len(conns)-1].picks)
		}
	}
	if proto.picks != 0 {
		t.Errorf("the configured instance picked %d times; only the connections' own should", proto.picks)
	}
}
