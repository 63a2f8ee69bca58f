package sim

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/wire"
)

// FuzzSegment feeds arbitrary bytes and segment sizes to parseSuper and
// segment, as SendGSO does. Neither may panic; what parseSuper accepts
// segment cuts into the number of segments it counted, each a packet the
// host accepts (verify), each at most gso bytes of payload, whose payloads
// make up the super-packet's and whose wire lengths add up to its count.
func FuzzSegment(f *testing.F) {
	for _, ap := range [][2]string{{"10.0.0.1:1", "10.0.0.2:2"}, {"[2001:db8::1]:1", "[2001:db8::2]:2"}} {
		src, dst := netip.MustParseAddrPort(ap[0]), netip.MustParseAddrPort(ap[1])
		f.Add(pkttest.TCP(pkttest.TCPSpec{Src: src, Dst: dst, Seq: 1, ACK: true, PSH: true, Payload: bytes.Repeat([]byte("abc"), 700)}), 1000)
		f.Add(pkttest.TCP(pkttest.TCPSpec{Src: src, Dst: dst, Seq: 1, ACK: true, FIN: true, Payload: []byte("x")}), 1)
	}
	f.Add([]byte{0x45, 0, 0, 20}, 5)
	f.Add(pkttest.TCP(pkttest.TCPSpec{Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:2"), ACK: true, Payload: []byte("xyz")}), int(^uint(0)>>1))
	f.Fuzz(func(t *testing.T, pkt []byte, gso int) {
		sp, ok := parseSuper(pkt, gso)
		if !ok {
			return
		}
		if sp.segs > 4096 {
			return // valid, but slow to check
		}
		n := &Network{}
		var payload []byte
		segs, wireLen := 0, 0
		n.segment(pkt, sp, func(seg []byte) {
			segs++
			wireLen += len(seg)
			if v := verify(seg); v != verdictOK {
				t.Fatalf("segment %d: the host rejects it (%v)", segs, v)
			}
			var l4 []byte
			if seg[0]>>4 == 4 {
				l4 = wire.IPv4(seg).Payload()
			} else {
				l4 = wire.IPv6(seg).Payload()
			}
			p := wire.TCP(l4).Payload()
			if len(p) == 0 || len(p) > gso {
				t.Fatalf("segment %d: %d bytes of payload, gso %d", segs, len(p), gso)
			}
			payload = append(payload, p...)
		})
		var l4 []byte
		if pkt[0]>>4 == 4 {
			l4 = wire.IPv4(pkt).Payload()
		} else {
			l4 = wire.IPv6(pkt).Payload()
		}
		if segs != sp.segs || wireLen != sp.wire || !bytes.Equal(payload, wire.TCP(l4).Payload()) {
			t.Fatalf("%d segments of %d bytes on the wire (counted %d, %d); payload equal %v",
				segs, wireLen, sp.segs, sp.wire, bytes.Equal(payload, wire.TCP(l4).Payload()))
		}
	})
}
