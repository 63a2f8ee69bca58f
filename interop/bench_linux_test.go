package interop

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp"
)

// BenchmarkTransfer measures the goodput of one-way 20 MiB transfers
// between our stack on TUN devices and the kernel's MPTCP: "Up" from us to
// the kernel, "Down" from the kernel to us, over one path and over two
// (a second subflow from our "subflow" endpoint). Each iteration is a new
// connection. The time runs from the dial's return to the kernel's
// DATA_ACK of the last byte going up (our DATA_FIN is left out: it waits
// for a timer, see the package documentation), and to the end of stream
// going down. join-share is the share of the data the second subflow
// carried.
func BenchmarkTransfer(b *testing.B) {
	const size = 20 << 20
	for _, paths := range []int{1, 2} {
		for _, dir := range []string{"Up", "Down"} {
			b.Run(fmt.Sprintf("%s/paths=%d", dir, paths), func(b *testing.B) {
				var cfg mptcp.Config
				if paths == 2 {
					cfg.Endpoints = []mptcp.Endpoint{{Addr: netip.AddrFrom4([4]byte{198, 18, 1, 2}), Flags: mptcp.FlagSubflow}}
				}
				tp := New(b, Options{Paths: paths, Config: cfg})
				up, down := int64(size), int64(0)
				if dir == "Down" {
					up, down = 0, size
				}
				var elapsed time.Duration
				var joinBytes, allBytes uint64
				b.ReportAllocs()
				for b.Loop() {
					po := PeerOptions{Listen: true, Addr: fmt.Sprintf("0.0.0.0:%d", port),
						SendBytes: down, Seed: 2, ExpectBytes: up, PeerSeed: 1}
					if dir == "Up" {
						// Linux refuses joins once it has sent its DATA_FIN
						// (MPJoinRejected): it has nothing to send, so keep
						// it from closing at once.
						po.Delay = time.Second
					}
					peer := tp.StartPeer(b, po)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					c, err := tp.Stack.DialMPTCP(ctx, netip.AddrPort{}, tp.ListenAddr(0, port))
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					var info mptcp.Info
					var acked time.Duration
					start := time.Now()
					o := SessionOptions{SendBytes: up, Seed: 1, ExpectBytes: down, PeerSeed: 2, Chunk: 256 << 10,
						BeforeClose: func() { info, _ = c.Info() }}
					if dir == "Down" {
						// Our DATA_FIN would close the kernel's side to
						// joins (MPJoinRejected): send it last.
						o.Close = ClosePeerFirst
					}
					if dir == "Up" {
						o.Close = CloseOursFirst
						o.Midway = func() {
							// Up to the kernel's DATA_ACK of the last byte.
							for {
								in, err := c.Info()
								if err != nil || in.BytesAcked >= size {
									break
								}
								time.Sleep(time.Millisecond)
							}
							acked = time.Since(start)
						}
					}
					r := RunSession(c, o)
					if err := r.Verify(&o); err != nil {
						b.Fatal(err)
					}
					s, err := peer.Wait(b, 30*time.Second)
					if err != nil || s == nil || s.Error != "" {
						b.Fatalf("kernel side: %v %+v", err, s)
					}
					if dir == "Up" {
						elapsed += acked
					} else {
						elapsed += r.ReceiveDuration
					}
					for _, sf := range info.Subflow {
						n := sf.TCP.BytesAcked + sf.TCP.BytesReceived
						allBytes += n
						if sf.Join {
							joinBytes += n
						}
					}
				}
				b.ReportMetric(float64(size*8*b.N)/elapsed.Seconds()/1e6, "Mbit/s")
				if paths == 2 && allBytes > 0 {
					b.ReportMetric(float64(joinBytes)/float64(allBytes), "join-share")
				}
			})
		}
	}
}
