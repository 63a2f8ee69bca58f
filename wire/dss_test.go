package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
)

const (
	mpaDSSData64 = DSSDataACK | DSSDataACK64 | DSSMapping | DSSDSN64 // a data segment's DSS, as Linux sends it
	mpaDSSAck32  = DSSDataACK | DSSMapping | DSSDSN64                // the same before the peer sent a 64-bit DSN
)

// DSS test cases. Those named "linux" are option bytes Linux 6.18 sent over
// loopback (net.mptcp.checksum_enabled 0 and 1), with the two NOPs it pads
// checksum-less mappings with; the others follow RFC 8684 §3.3, Figure 9.
var dssCases = []mpaCase[DSS]{
	{
		name: "linux data ack, 64-bit",
		in:   mpaHex("1e0c2003 ea1c683af758ab1c"),
		want: DSS{Flags: DSSDataACK | DSSDataACK64, DataACK: 0xea1c683af758ab1c},
	},
	{
		name: "linux data, 32-bit ack, 64-bit dsn",
		in:   mpaHex("1e16200d a4c77a57 ea1c683af758ab1c 00000bb9 0bb8 0101"),
		want: DSS{Flags: mpaDSSAck32, DataACK: 0xa4c77a57, DSN: 0xea1c683af758ab1c, SSN: 3001, DataLen: 3000},
	},
	{
		name: "linux bare DATA_FIN, 32-bit ack",
		in:   mpaHex("1e16201d a4c77a57 ea1c683af758d9fc 00000000 0001 0101"),
		want: DSS{Flags: mpaDSSAck32 | DSSDataFIN, DataACK: 0xa4c77a57, DSN: 0xea1c683af758d9fc, SSN: 0, DataLen: 1},
	},
	{
		name: "linux data, 64-bit ack and dsn",
		in:   mpaHex("1e1a200f ea1c683af758d9fd e3de15f9a4c77a57 00000001 0002 0101"),
		want: DSS{Flags: mpaDSSData64, DataACK: 0xea1c683af758d9fd, DSN: 0xe3de15f9a4c77a57, SSN: 1, DataLen: 2},
	},
	{
		name: "linux bare DATA_FIN, 64-bit ack",
		in:   mpaHex("1e1a201f ea1c683af758d9fd e3de15f9a4c77a59 00000000 0001 0101"),
		want: DSS{Flags: mpaDSSData64 | DSSDataFIN, DataACK: 0xea1c683af758d9fd, DSN: 0xe3de15f9a4c77a59, DataLen: 1},
	},
	{
		name: "linux checksum data, 32-bit ack",
		in:   mpaHex("1e18200d 2e9f65e7 5df26d25a8920228 00000bb9 0bb8 90da"),
		want: DSS{Flags: mpaDSSAck32, DataACK: 0x2e9f65e7, DSN: 0x5df26d25a8920228, SSN: 3001, DataLen: 3000, HasChecksum: true, Checksum: 0x90da},
	},
	{
		name: "linux checksum bare DATA_FIN, 32-bit ack",
		in:   mpaHex("1e18201d 2e9f65e7 5df26d25a8923108 00000000 0001 5b4c"),
		want: DSS{Flags: mpaDSSAck32 | DSSDataFIN, DataACK: 0x2e9f65e7, DSN: 0x5df26d25a8923108, DataLen: 1, HasChecksum: true, Checksum: 0x5b4c},
	},
	{
		name: "linux checksum data, 64-bit",
		in:   mpaHex("1e1c200f 5df26d25a8923109 75e32d0b2e9f65e7 00000001 0002 591c"),
		want: DSS{Flags: mpaDSSData64, DataACK: 0x5df26d25a8923109, DSN: 0x75e32d0b2e9f65e7, SSN: 1, DataLen: 2, HasChecksum: true, Checksum: 0x591c},
	},
	{
		name: "linux checksum bare DATA_FIN, 64-bit",
		in:   mpaHex("1e1c201f 5df26d25a8923109 75e32d0b2e9f65e9 00000000 0001 c887"),
		want: DSS{Flags: mpaDSSData64 | DSSDataFIN, DataACK: 0x5df26d25a8923109, DSN: 0x75e32d0b2e9f65e9, DataLen: 1, HasChecksum: true, Checksum: 0xc887},
	},
	{
		name: "data ack, 32-bit",
		in:   mpaHex("1e082001 deadbeef"),
		want: DSS{Flags: DSSDataACK, DataACK: 0xdeadbeef},
	},
	{
		name: "mapping, 32-bit dsn",
		in:   mpaHex("1e0e2004 00001000 00000001 05b4"),
		want: DSS{Flags: DSSMapping, DSN: 0x1000, SSN: 1, DataLen: 1460},
	},
	{
		name: "mapping, 32-bit dsn, checksum",
		in:   mpaHex("1e102004 00001000 00000001 05b4 1234"),
		want: DSS{Flags: DSSMapping, DSN: 0x1000, SSN: 1, DataLen: 1460, HasChecksum: true, Checksum: 0x1234},
	},
	{
		name: "mapping, 64-bit dsn",
		in:   mpaHex("1e12200c 0000000100000000 00000001 05b4"),
		want: DSS{Flags: DSSMapping | DSSDSN64, DSN: 1 << 32, SSN: 1, DataLen: 1460},
	},
	{
		name: "32-bit ack and dsn",
		in:   mpaHex("1e122005 11111111 22222222 00000003 0004"),
		want: DSS{Flags: DSSDataACK | DSSMapping, DataACK: 0x11111111, DSN: 0x22222222, SSN: 3, DataLen: 4},
	},
	{
		name: "64-bit ack, 32-bit dsn, checksum",
		in:   mpaHex("1e182007 0102030405060708 0a0b0c0d 00000001 0010 ffff"),
		want: DSS{Flags: DSSDataACK | DSSDataACK64 | DSSMapping, DataACK: 0x0102030405060708, DSN: 0x0a0b0c0d, SSN: 1, DataLen: 16, HasChecksum: true, Checksum: 0xffff},
	},
	{
		name: "infinite mapping",
		in:   mpaHex("1e1a200f 0000000000000010 0000000000000020 00000000 0000 0101"),
		want: DSS{Flags: mpaDSSData64, DataACK: 0x10, DSN: 0x20},
	},
	{
		name: "infinite mapping, checksum field present",
		in:   mpaHex("1e1c200f 0000000000000010 0000000000000020 00000000 0000 0000"),
		want: DSS{Flags: mpaDSSData64, DataACK: 0x10, DSN: 0x20, HasChecksum: true},
	},
	{
		name: "no flags",
		in:   mpaHex("1e042000"),
		want: DSS{},
	},
	{
		name: "DATA_FIN without a mapping kept",
		in:   mpaHex("1e082011 00000005"),
		want: DSS{Flags: DSSDataFIN | DSSDataACK, DataACK: 5},
	},
	{
		name: "a without A occupies nothing",
		in:   mpaHex("1e042002"),
		want: DSS{Flags: DSSDataACK64},
	},
	{
		name: "m without M occupies nothing",
		in:   mpaHex("1e082009 00000001"),
		want: DSS{Flags: DSSDSN64 | DSSDataACK, DataACK: 1},
	},
	{
		name: "a without A, 32-bit mapping",
		in:   mpaHex("1e0e2006 00000007 00000008 0009"),
		want: DSS{Flags: DSSDataACK64 | DSSMapping, DSN: 7, SSN: 8, DataLen: 9},
	},
	{
		name: "all reserved bits kept",
		in:   mpaHex("1e042fe0"),
		want: DSS{Flags: DSSReservedFlags},
	},
	{
		name: "some reserved bits with a 64-bit ack",
		in:   mpaHex("1e0c2a23 ffffffffffffffff"),
		want: DSS{Flags: 0xa23, DataACK: ^uint64(0)},
	},
}

func TestDSS(t *testing.T) {
	for _, tc := range dssCases {
		t.Run(tc.name, func(t *testing.T) {
			mpaCheckValid(t, SubtypeDSS, ParseDSS, tc.in, tc.want)
		})
	}
}

// mpaDSSLen is RFC 8684 §3.3's length formula, written out independently of
// the table ParseDSS uses: 4 + (A ? (a?8:4) : 0) + (M ? (m?8:4) + 4 + 2 +
// (csum?2:0) : 0).
func mpaDSSLen(f DSSFlags, csum bool) int {
	n := 4
	if f&DSSDataACK != 0 {
		if f&DSSDataACK64 != 0 {
			n += 8
		} else {
			n += 4
		}
	}
	if f&DSSMapping != 0 {
		if f&DSSDSN64 != 0 {
			n += 8
		} else {
			n += 4
		}
		n += 4 + 2
		if csum {
			n += 2
		}
	}
	return n
}

// Every flag combination accepts exactly its length (and, with a mapping,
// that plus 2); every other length is ErrBadLength.
func TestDSSLengths(t *testing.T) {
	lengths := []int{64, 128, 255}
	for l := 0; l <= 48; l++ {
		lengths = append(lengths, l)
	}
	for fb := 0; fb < 256; fb++ {
		for _, hi := range []byte{0x0, 0xf} {
			f := DSSFlags(hi)<<8 | DSSFlags(fb)
			plain, withCsum := mpaDSSLen(f, false), mpaDSSLen(f, true)
			for _, l := range lengths {
				opt := make([]byte, max(l, 4))
				opt[0], opt[1], opt[2], opt[3] = OptionKindMPTCP, byte(l), 0x20|hi, byte(fb)
				if l == plain || l == withCsum {
					v, n, err := ParseDSS(opt)
					if err != nil || n != l {
						t.Fatalf("flags %#x length %d: n=%d err=%v", f, l, n, err)
					}
					if v.Flags != f || v.HasChecksum != (l != plain) || v.Len() != l {
						t.Errorf("flags %#x length %d: parsed %+v, Len %d", f, l, v, v.Len())
					}
					continue
				}
				mpaCheckBadLength(t, SubtypeDSS, ParseDSS, opt)
			}
		}
	}
}

// The DSS value is on every data segment's path: it stays within 32 bytes.
func TestDSSCompact(t *testing.T) {
	if got := unsafe.Sizeof(DSS{}); got > 32 {
		t.Errorf("DSS is %d bytes, want at most 32", got)
	}
}

func TestDSSPredicates(t *testing.T) {
	tests := []struct {
		name                           string
		v                              DSS
		ack, mapping, fin, inf, barFin bool
	}{
		{"ack only", DSS{Flags: DSSDataACK}, true, false, false, false, false},
		{"data", dssCases[3].want, true, true, false, false, false},
		{"bare DATA_FIN", dssCases[4].want, true, true, true, false, true},
		{"infinite", dssCases[15].want, true, true, false, true, false},
		{"DATA_FIN on data", DSS{Flags: DSSMapping | DSSDataFIN, SSN: 100, DataLen: 10}, false, true, true, false, false},
		{"DATA_FIN of length 1 at a non-zero SSN", DSS{Flags: DSSMapping | DSSDataFIN, SSN: 1, DataLen: 1}, false, true, true, false, false},
		{"DATA_FIN without mapping", DSS{Flags: DSSDataFIN}, false, false, true, false, false},
		{"length 0 without mapping is not infinite", DSS{Flags: DSSDataACK}, true, false, false, false, false},
		{"lower-case bits alone", DSS{Flags: DSSDataACK64 | DSSDSN64}, false, false, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := []bool{tc.v.HasDataACK(), tc.v.HasMapping(), tc.v.DataFIN(), tc.v.IsInfiniteMapping(), tc.v.IsBareDataFIN()}
			want := []bool{tc.ack, tc.mapping, tc.fin, tc.inf, tc.barFin}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[HasDataACK HasMapping DataFIN IsInfiniteMapping IsBareDataFIN] (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDSSString(t *testing.T) {
	tests := []struct {
		v    DSS
		want string
	}{
		{dssCases[0].want, "DSS{ack=16869472906690210588}"},
		{dssCases[1].want, "DSS{ack32=2764536407 dsn=16869472906690210588 ssn=3001 len=3000}"},
		{dssCases[8].want, "DSS{ack=6769593198400647433 dsn=8494682848200975849 ssn=0 len=1 csum=0xc887 fin}"},
		{dssCases[10].want, "DSS{dsn32=4096 ssn=1 len=1460}"},
		{dssCases[15].want, "DSS{ack=16 dsn=32 ssn=0 len=0 infinite}"},
		{dssCases[17].want, "DSS{}"},
		{dssCases[18].want, "DSS{ack32=5 fin}"},
		{dssCases[19].want, "DSS{flags=0x2}"},
		{dssCases[22].want, "DSS{flags=0xfe0}"},
		{dssCases[23].want, "DSS{ack=18446744073709551615 flags=0xa23}"},
		{DSS{Flags: DSSDataFIN}, "DSS{fin}"},
	}
	for _, tc := range tests {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestDSSAppendNormalises(t *testing.T) {
	tests := []struct {
		name string
		v    DSS
		want []byte
	}{
		{
			"32-bit fields take the low bits",
			DSS{Flags: DSSDataACK | DSSMapping, DataACK: 0x1_0000_0002, DSN: 0xffff_0000_0003, SSN: 4, DataLen: 5},
			mpaHex("1e122005 00000002 00000003 00000004 0005"),
		},
		{
			"checksum without mapping not sent",
			DSS{Flags: DSSDataACK, DataACK: 1, HasChecksum: true, Checksum: 0xffff},
			mpaHex("1e082001 00000001"),
		},
		{
			"fields the flags leave out not sent",
			DSS{Flags: DSSMapping, DataACK: 9, DSN: 1, SSN: 2, DataLen: 3},
			mpaHex("1e0e2004 00000001 00000002 0003"),
		},
		{
			"bits above the 12 flag bits dropped",
			DSS{Flags: 0xf000 | DSSDataACK, DataACK: 1},
			mpaHex("1e082001 00000001"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.v.Append(nil)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("Append = %x, want %x", got, tc.want)
			}
			if tc.v.Len() != len(got) {
				t.Errorf("Len() = %d, len(Append) = %d", tc.v.Len(), len(got))
			}
		})
	}
}

// mpaFromGopacketDSS converts gopacket's decoding of a DSS option of length
// l into this package's value. gopacket keeps flags a and m unexported, so
// they are read off the widths of DataAck and DSN; it does not say whether a
// checksum is present, so that comes from l.
func mpaFromGopacketDSS(t *testing.T, g *layers.Dss, l int) DSS {
	t.Helper()
	var v DSS
	if g.F {
		v.Flags |= DSSDataFIN
	}
	if g.A {
		v.Flags |= DSSDataACK
		switch len(g.DataAck) {
		case 8:
			v.Flags |= DSSDataACK64
			v.DataACK = binary.BigEndian.Uint64(g.DataAck)
		case 4:
			v.DataACK = uint64(binary.BigEndian.Uint32(g.DataAck))
		default:
			t.Fatalf("gopacket Data ACK of %d bytes", len(g.DataAck))
		}
	}
	if g.M {
		v.Flags |= DSSMapping
		switch len(g.DSN) {
		case 8:
			v.Flags |= DSSDSN64
			v.DSN = binary.BigEndian.Uint64(g.DSN)
		case 4:
			v.DSN = uint64(binary.BigEndian.Uint32(g.DSN))
		default:
			t.Fatalf("gopacket DSN of %d bytes", len(g.DSN))
		}
		v.SSN = g.SSN
		v.DataLen = g.DataLength
		if v.Len() == l-2 {
			v.HasChecksum = true
			v.Checksum = g.Checksum
		}
	}
	return v
}

// mpaDSSVisibleToGopacket clears what gopacket does not decode: reserved
// bits, and a and m without A and M.
func mpaDSSVisibleToGopacket(v DSS) DSS {
	keep := DSSDataFIN | DSSDataACK | DSSMapping
	if v.Flags&DSSDataACK != 0 {
		keep |= DSSDataACK64
	}
	if v.Flags&DSSMapping != 0 {
		keep |= DSSDSN64
	}
	v.Flags &= keep
	return v
}

func TestDSSGopacket(t *testing.T) {
	for _, tc := range dssCases {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.in[:tc.in[1]]
			o, ok := mpaGopacketOption(t, opt)
			if !ok || o.OptionMPTCPDss == nil {
				t.Fatalf("gopacket did not decode %x as DSS", opt)
			}
			g := mpaFromGopacketDSS(t, o.OptionMPTCPDss, int(o.OptionLength))
			if diff := cmp.Diff(g, mpaDSSVisibleToGopacket(tc.want)); diff != "" {
				t.Errorf("gopacket and ParseDSS disagree (-gopacket +ours):\n%s", diff)
			}
		})
	}
	// Both accept the same lengths for every flags octet.
	for fb := 0; fb < 256; fb++ {
		for l := 3; l <= 40; l++ {
			opt := make([]byte, l)
			opt[0], opt[1], opt[2] = OptionKindMPTCP, byte(l), 0x20
			if l > 3 {
				opt[3] = byte(fb)
			}
			_, ok := mpaGopacketOption(t, opt)
			_, _, err := ParseDSS(opt)
			if ok != (err == nil) {
				t.Errorf("flags %#02x length %d: gopacket accepts %v, ParseDSS error %v", fb, l, ok, err)
			}
		}
	}
}

func FuzzDSS(f *testing.F) {
	for _, tc := range dssCases {
		f.Add(tc.in)
	}
	f.Add(mpaHex("1e0a2003 0000000000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := mpaFuzzRoundTrip(t, ParseDSS, data)
		if !ok {
			return
		}
		if want := mpaDSSLen(v.Flags, v.HasChecksum); v.Len() != want {
			t.Fatalf("Len() = %d, RFC 8684 §3.3 formula gives %d for %+v", v.Len(), want, v)
		}
		o, ok := mpaGopacketOption(t, data[:v.Len()])
		if !ok || o.OptionMPTCPDss == nil {
			t.Fatalf("gopacket rejects %x", data[:v.Len()])
		}
		if diff := cmp.Diff(mpaFromGopacketDSS(t, o.OptionMPTCPDss, v.Len()), mpaDSSVisibleToGopacket(v)); diff != "" {
			t.Fatalf("gopacket disagrees (-gopacket +ours):\n%s", diff)
		}
	})
}
