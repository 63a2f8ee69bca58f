package tun

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// Datagrams of the benchmarks: as large as a 1500-byte MTU takes over IPv4,
// 44 of them (64768 bytes) per sendmsg with UDP_SEGMENT.
const (
	benchSeg   = 1500 - 20 - 8
	benchSegs  = 44
	benchBurst = benchSeg * benchSegs
	benchWin   = 256 // datagrams in flight at most, fewer than the device queue (500) holds
)

// BenchmarkKernelToNode measures a kernel UDP sender feeding a Node through
// a TUN device: one op is one sendmsg of 44 full-sized datagrams (UDP
// segmentation offload on the socket); the Node counts them. The sender
// keeps at most benchWin datagrams in flight, so nothing is lost.
func BenchmarkKernelToNode(b *testing.B) {
	for _, offload := range []bool{true, false} {
		b.Run(fmt.Sprintf("offload=%v", offload), func(b *testing.B) {
			ns := newNetNS(b)
			var got atomic.Int64
			progress := make(chan struct{}, 1)
			node := newEchoNode()
			node.udp = func(n int) {
				got.Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
			}
			dev := oneDevice("bk", offload)
			dev.Addrs, dev.KernelAddrs = []netip.Prefix{node4}, []netip.Prefix{kern4}
			s := openStack(b, ns, node, dev)
			c := udp(b, ns, netip.AddrPortFrom(kern4.Addr(), 0))
			dst := netip.AddrPortFrom(node4.Addr(), 9)
			payload := make([]byte, benchBurst)
			oob := gsoControl(benchSeg)

			timeout := time.NewTimer(wait)
			defer timeout.Stop()
			waitFor := func(target int64) {
				timeout.Reset(wait)
				for got.Load() < target {
					select {
					case <-progress:
					case <-timeout.C:
						b.Fatalf("the Node got %d of %d datagrams", got.Load(), target)
					}
				}
			}
			b.SetBytes(benchBurst)
			b.ReportAllocs()
			var sent int64
			for b.Loop() {
				waitFor(sent + benchSegs - benchWin)
				if _, _, err := c.WriteMsgUDPAddrPort(payload, oob, dst); err != nil {
					b.Fatal(err)
				}
				sent += benchSegs
			}
			waitFor(sent)
			secs := b.Elapsed().Seconds()
			st := s.NICs()[0].Stats()
			b.ReportMetric(float64(sent)/secs, "pkt/s")
			b.ReportMetric(float64(st.RxPackets)/float64(max(st.RxReads, 1)), "pkt/read")
		})
	}
}

// BenchmarkNodeToKernel measures a Node sending to a kernel UDP socket
// through a TUN device: one op is 44 full-sized datagrams sent by the Node
// in one round of its event loop, written in one batch (coalesced into UDP
// super-packets with offloads), and read by the kernel socket.
func BenchmarkNodeToKernel(b *testing.B) {
	for _, offload := range []bool{true, false} {
		b.Run(fmt.Sprintf("offload=%v", offload), func(b *testing.B) {
			ns := newNetNS(b)
			node := newEchoNode()
			dev := oneDevice("bn", offload)
			dev.Addrs, dev.KernelAddrs = []netip.Prefix{node4}, []netip.Prefix{kern4}
			s := openStack(b, ns, node, dev)
			nic := s.NICs()[0]
			c := udp(b, ns, netip.AddrPortFrom(kern4.Addr(), 0))
			if err := c.SetReadBuffer(8 << 20); err != nil {
				b.Fatal(err)
			}
			to := c.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort()
			to = netip.AddrPortFrom(kern4.Addr(), to.Port())
			pkt := udpDatagram(node4.Addr(), 9, to, []byte(strings.Repeat("d", benchSeg)))
			sendBurst := func(time.Time) {
				for range benchSegs {
					if err := nic.Send(pkt); err != nil {
						b.Error(err)
					}
				}
			}
			buf := make([]byte, 65536)
			read := func() {
				for range benchSegs {
					c.SetReadDeadline(time.Now().Add(wait))
					if n, err := c.Read(buf); err != nil || n != benchSeg {
						b.Fatalf("read %d bytes, %v", n, err)
					}
				}
			}
			b.SetBytes(benchBurst)
			b.ReportAllocs()
			s.Do(sendBurst) // one burst ahead, so that the Node and the reader overlap
			for b.Loop() {
				s.Do(sendBurst)
				read()
			}
			read()
			secs := b.Elapsed().Seconds()
			st := nic.Stats()
			b.ReportMetric(float64(b.N*benchSegs)/secs, "pkt/s")
			b.ReportMetric(float64(st.TxPackets)/float64(max(st.TxWrites, 1)), "pkt/write")
		})
	}
}

// udpDatagram builds an IPv4 UDP packet with the wire codecs.
func udpDatagram(src netip.Addr, sport uint16, dst netip.AddrPort, payload []byte) []byte {
	h := wire.IPv4Header{TTL: 64, Protocol: wire.IPProtocolUDP, Src: src, Dst: dst.Addr(), DontFragment: true, PayloadLen: 8 + len(payload)}
	pkt := h.Append(nil)
	udp := []byte{byte(sport >> 8), byte(sport), byte(dst.Port() >> 8), byte(dst.Port()), byte((8 + len(payload)) >> 8), byte(8 + len(payload)), 0, 0}
	udp = append(udp, payload...)
	sum := wire.ChecksumFold(wire.ChecksumAdd(wire.PseudoHeaderSum(wire.IPProtocolUDP, src, dst.Addr(), len(udp)), udp))
	if sum == 0 {
		sum = 0xffff
	}
	udp[6], udp[7] = byte(sum>>8), byte(sum)
	return append(pkt, udp...)
}
