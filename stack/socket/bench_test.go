package socket_test

import (
	"io"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/tcp"
)

// BenchmarkConnWrite measures net.Conn throughput through two Hosts on a
// SimLoop in real time, over an ideal link: the cost of the runtime
// (goroutine hand-offs, copies) on top of the stacks. One iteration
// writes 64 KiB, which the other end reads.
func BenchmarkConnWrite(b *testing.B) {
	s := newSimNet(b, impair.Config{}, tcp.Config{})
	defer s.close(b)
	c1, c2, l := s.pipe(b)
	defer l.Close()
	done := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, c2)
		done <- n
	}()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := c1.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c1.Close()
	n := <-done
	b.ReportMetric(float64(n)*8/time.Since(start).Seconds()/1e6, "Mbit/s")
	c2.Close()
}
