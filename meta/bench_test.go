package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// BenchmarkTransfer moves 1 MiB each way over a clean network, handshakes
// and close included.
func BenchmarkTransfer(b *testing.B) {
	up, down := pattern(1<<20, 1), pattern(1<<20, 2)
	for _, joins := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("subflows=%d", joins+1), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(up) + len(down)))
			for b.Loop() {
				h := newHarness(b, 1, pathCfg{delay: 5 * time.Millisecond})
				cc, sc := testConfig(1, h.cli), testConfig(2, h.srv)
				h.listen(sc)
				x := &transfer{h: h, up: up, down: down, joins: clientAddr[1 : 1+joins], closeOnEOF: true}
				x.cli = h.dial(cc, clientAddr[0])
				h.run(time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
				if len(x.gotUp) != len(up) || len(x.gotDown) != len(down) {
					b.Fatal("short transfer")
				}
			}
		})
	}
}

// BenchmarkWriteOptions is the cost of the options of one data segment.
func BenchmarkWriteOptions(b *testing.B) {
	for _, csum := range []bool{false, true} {
		b.Run(fmt.Sprintf("checksum=%v", csum), func(b *testing.B) {
			cc, sc := segConfig(1), segConfig(2)
			cc.Checksum = csum
			cli, srv, _, now := handshake(b, cc, sc)
			srv.Write([]byte("x"))
			d := one(b, srv, now)
			cli.Input(now, cliID, &d)
			cli.Write(make([]byte, 4000))
			segs := drain(b, cli, now)
			if len(segs) == 0 {
				b.Fatal("no data")
			}
			sf := cli.subflows[0]
			info := tcp.OutInfo{Kind: tcp.KindData, HasChunk: true, ChunkID: sf.tx[sf.txHead].id, ChunkLen: 4000}
			seg := segs[0].seg
			b.ReportAllocs()
			for b.Loop() {
				seg.Options.NumMPTCP = 0
				sf.WriteOptions(&seg, info, 28)
			}
			if seg.Options.NumMPTCP != 1 {
				b.Fatal("no DSS written")
			}
		})
	}
}

// BenchmarkDeliverOutOfOrder is the data-level reassembly of 64 segments
// arriving in reverse order.
func BenchmarkDeliverOutOfOrder(b *testing.B) {
	cli, _, _, _ := handshake(b, segConfig(1), segConfig(2))
	data := pattern(64*1400, 3)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		base := cli.rcvNxt
		for i := 63; i >= 0; i-- {
			cli.deliver(base+uint64(i*1400), data[i*1400:(i+1)*1400])
		}
		cli.rbuf, cli.rOff = cli.rbuf[:0], 0
	}
}
