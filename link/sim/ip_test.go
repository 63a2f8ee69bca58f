package sim

import (
	"net/netip"
	"testing"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/wire"
)

func TestDecrementHopLimit(t *testing.T) {
	p4 := pkttest.UDP(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"), []byte("x"))
	for ttl := 64; ttl > 1; ttl-- {
		if !decrementHopLimit(p4) {
			t.Fatalf("TTL %d: dropped", ttl)
		}
		ip := wire.IPv4(p4)
		if int(ip.TTL()) != ttl-1 || !ip.ChecksumValid() {
			t.Fatalf("after decrementing %d: TTL %d, checksum valid %v", ttl, ip.TTL(), ip.ChecksumValid())
		}
	}
	if decrementHopLimit(p4) || wire.IPv4(p4).TTL() != 1 {
		t.Fatal("TTL 1 was decremented")
	}
	p6 := pkttest.UDP(netip.MustParseAddrPort("[2001:db8::1]:1"), netip.MustParseAddrPort("[2001:db8::2]:2"), nil)
	if !decrementHopLimit(p6) || wire.IPv6(p6).HopLimit() != 63 {
		t.Fatal("IPv6 hop limit not decremented")
	}
	p6[7] = 1
	if decrementHopLimit(p6) {
		t.Fatal("hop limit 1 was decremented")
	}
}

// FuzzPacket feeds arbitrary bytes to the checks a host and a router make
// and to transmit checksum offload. None may panic; a router's decrement
// keeps a valid IPv4 header checksum valid; a packet the host accepts is
// one wire accepts; the 20-byte IPv4 header check agrees with wire's; what
// offload fills, differing at most in the TCP checksum field, the host
// accepts, and what it does not fill it leaves alone; the host's quick
// reading of the destination agrees with the router's checked one.
func FuzzPacket(f *testing.F) {
	f.Add(pkttest.UDP(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"), []byte("x")))
	f.Add(pkttest.TCP(pkttest.TCPSpec{Src: netip.MustParseAddrPort("[2001:db8::1]:1"), Dst: netip.MustParseAddrPort("[2001:db8::2]:2"), SYN: true}))
	f.Add([]byte{0x45, 0, 0, 20})
	f.Add([]byte{0x60})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if len(pkt) > 0 && pkt[0]>>4 == 4 && wire.IPv4(pkt).Check() == nil {
			if ip := wire.IPv4(pkt); ipv4HeaderValid(ip) != ip.ChecksumValid() {
				t.Fatalf("ipv4HeaderValid %v, wire %v", ipv4HeaderValid(ip), ip.ChecksumValid())
			}
		}
		filled := append([]byte(nil), pkt...)
		if fillTCPChecksum(filled) {
			if verify(filled) != verdictOK {
				t.Fatalf("offload filled a packet the host rejects: %v", verify(filled))
			}
			diff := 0
			for i := range pkt {
				if pkt[i] != filled[i] {
					diff++
				}
			}
			if diff > 2 {
				t.Fatalf("offload changed %d bytes", diff)
			}
		} else if string(filled) != string(pkt) {
			t.Fatal("offload changed a packet it did not fill")
		}
		v := verify(pkt)
		dst, ok := ipDst(pkt)
		if v != verdictMalformed && !ok {
			t.Fatalf("verify accepted a packet ipDst rejects")
		}
		if !ok {
			return
		}
		if got := checkedDst(pkt); got != dst {
			t.Fatalf("checkedDst = %v, ipDst = %v", got, dst)
		}
		if len(pkt) > 0 && pkt[0]>>4 == 4 {
			ip := wire.IPv4(pkt)
			valid, ttl := ip.ChecksumValid(), ip.TTL()
			if decrementHopLimit(pkt) {
				if ip.TTL() != ttl-1 || ip.ChecksumValid() != valid {
					t.Fatalf("decrement: TTL %d→%d, checksum valid %v→%v", ttl, ip.TTL(), valid, ip.ChecksumValid())
				}
			}
		} else {
			decrementHopLimit(pkt)
		}
		if d2, _ := ipDst(pkt); d2 != dst {
			t.Fatal("decrement changed the destination")
		}
	})
}
