package meta

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

var (
	cliID = tcp.ConnID{Local: netip.AddrPortFrom(clientAddr[0], 40001), Remote: serverAP}
	srvID = swap(cliID)
)

// segConfig is a configuration for segment-level tests: no delayed ACKs,
// so that every answer comes at once.
func segConfig(seed uint64) *Config {
	c := testConfig(seed, nil)
	c.Subflow.DisableDelayedAck = true
	c.Subflow.NoDelay = true
	return c
}

type out struct {
	id  tcp.ConnID
	seg tcp.Segment
}

// drain polls c at now and returns copies of everything it sends.
func drain(t testing.TB, c *Conn, now time.Time) []out {
	t.Helper()
	var r []out
	buf := make([]byte, 65536)
	for range 10000 {
		id, seg, ok := c.Poll(now, buf)
		if !ok {
			return r
		}
		r = append(r, out{id, copySeg(&seg)})
	}
	t.Fatal("endless output")
	return nil
}

// one polls exactly one segment.
func one(t testing.TB, c *Conn, now time.Time) tcp.Segment {
	t.Helper()
	segs := drain(t, c, now)
	if len(segs) != 1 {
		t.Fatalf("got %d segments, want 1: %v", len(segs), describe(segs))
	}
	return segs[0].seg
}

func describe(segs []out) []string {
	var s []string
	for _, o := range segs {
		m := opts(&o.seg)
		d := o.seg.Flags.String()
		if m.Has(wire.SubtypeDSS) {
			d += " " + m.DSS.String()
		}
		if m.Has(wire.SubtypeMPCapable) {
			d += " MPC " + m.MPCapable.Form.String()
		}
		s = append(s, d)
	}
	return s
}

// opts parses the MPTCP options of a segment.
func opts(s *tcp.Segment) *wire.MPTCPOptions {
	var m wire.MPTCPOptions
	_ = wire.ParseMPTCPOptions(&s.Options, &m)
	return &m
}

// handshake runs the MP_CAPABLE handshake between a new client and a
// listener and returns both connections after the third ACK.
func handshake(t testing.TB, cc, sc *Config) (cli, srv *Conn, l *Listener, now time.Time) {
	t.Helper()
	l, err := NewListener(sc, serverAP.Port(), 8)
	if err != nil {
		t.Fatal(err)
	}
	cli, err = Dial(t0, cc, cliID)
	if err != nil {
		t.Fatal(err)
	}
	syn := one(t, cli, t0)
	now = t0.Add(time.Millisecond)
	srv, _, _ = l.Input(now, srvID, &syn)
	if srv == nil {
		t.Fatal("listener refused the SYN")
	}
	synack := one(t, srv, now)
	now = now.Add(time.Millisecond)
	cli.Input(now, cliID, &synack)
	ack := one(t, cli, now)
	now = now.Add(time.Millisecond)
	srv.Input(now, srvID, &ack)
	if got, ok := l.Accept(); !ok || got != srv {
		t.Fatal("listener did not hand out the connection")
	}
	return cli, srv, l, now
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func netipAddrPort(a netip.Addr, p uint16) netip.AddrPort { return netip.AddrPortFrom(a, p) }
