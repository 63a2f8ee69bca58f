package middlebox_test

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
)

var t0 = clock.Epoch

var (
	cli  = netip.MustParseAddrPort("10.0.0.5:40001")
	srv  = netip.MustParseAddrPort("198.51.100.1:443")
	cli6 = netip.MustParseAddrPort("[2001:db8:1::5]:40001")
	srv6 = netip.MustParseAddrPort("[2001:db8:2::1]:443")
)

// MPTCP options as gopacket TCP options (RFC 8684 §3.1, §3.3).
var (
	mpCapableSYN = layers.TCPOption{OptionType: 30, OptionLength: 12,
		OptionData: []byte{0x01, 0x81, 1, 2, 3, 4, 5, 6, 7, 8}}
	dssAck = layers.TCPOption{OptionType: 30, OptionLength: 8, OptionData: []byte{0x20, 0x01, 0, 0, 0x10, 0}}
	mss    = layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}
	sackOK = layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}
	nop    = layers.TCPOption{OptionType: layers.TCPOptionKindNop}
	ts     = layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10,
		OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}}
)

func sack(blocks ...uint32) layers.TCPOption {
	var d []byte
	for _, b := range blocks {
		d = append(d, byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
	}
	return layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + len(d)), OptionData: d}
}

// collect records copies of emitted packets.
type collect struct{ got [][]byte }

func (c *collect) Emit(p []byte) { c.got = append(c.got, append([]byte(nil), p...)) }

// run passes each packet through m at time t0 and returns what came out.
func run(m link.Middleware, pkts ...[]byte) [][]byte {
	var c collect
	for _, p := range pkts {
		m.Process(t0, append([]byte(nil), p...), &c)
	}
	return c.got
}

func decode(t *testing.T, pkt []byte) pkttest.Decoded {
	t.Helper()
	d, err := pkttest.Decode(pkt)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return d
}

func checksumsOK(t *testing.T, pkt []byte) {
	t.Helper()
	ok, err := pkttest.ChecksumsOK(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("checksums do not verify:\n% x", pkt)
	}
}

// diffBytes returns the offsets at which a and b differ.
func diffBytes(a, b []byte) []int {
	var d []int
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			d = append(d, i)
		}
	}
	return d
}
