package middlebox_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
)

// benchBox runs m over full-sized TCP segments of one flow, each a copy of
// the template so that in-place rewrites do not accumulate.
func benchBox(b *testing.B, m link.Middleware, flags func(s *pkttest.TCPSpec)) {
	spec := pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 1, Ack: 1, ACK: true,
		Options: []layers.TCPOption{nop, nop, ts, dssAck}, Payload: payload(1400)}
	if flags != nil {
		flags(&spec)
	}
	var segs [][]byte
	for i := range 64 {
		spec.Seq = uint32(1 + i*1400)
		segs = append(segs, pkttest.TCP(spec))
	}
	buf := make([]byte, 2048)
	out := link.EmitFunc(func([]byte) {})
	now := t0
	i := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(segs[0])))
	for b.Loop() {
		p := buf[:copy(buf, segs[i%len(segs)])]
		now = now.Add(time.Microsecond)
		m.Process(now, p, out)
		if d := m.Deadline(); !d.IsZero() && !d.After(now) {
			m.Poll(now, out)
		}
		i++
	}
}

func BenchmarkStripper(b *testing.B) { benchBox(b, middlebox.NewStripper(middlebox.StripAll), nil) }

func BenchmarkNAT(b *testing.B) {
	n, err := middlebox.NewNAT(middlebox.NATConfig{Inside: netip.MustParsePrefix("10.0.0.0/8"), Public: public})
	if err != nil {
		b.Fatal(err)
	}
	benchBox(b, n, nil)
}

func BenchmarkSeqRandomizer(b *testing.B) {
	benchBox(b, middlebox.NewSeqRandomizer(1), func(s *pkttest.TCPSpec) {
		s.Options = append(s.Options, sack(1, 2, 3, 4))
	})
}

func BenchmarkSplitter(b *testing.B) { benchBox(b, middlebox.NewSplitter(500), nil) }

func BenchmarkCoalescer(b *testing.B) {
	benchBox(b, middlebox.NewCoalescer(middlebox.CoalescerConfig{Hold: 10 * time.Microsecond}), nil)
}
