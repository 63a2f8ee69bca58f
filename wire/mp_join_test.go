package wire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
)

// mpaHMAC returns the 20 bytes of a hex dump as an MP_JOIN ACK HMAC.
func mpaHMAC(s string) (h [20]byte) {
	b := mpaHex(s)
	if len(b) != len(h) {
		panic("HMAC literal is not 20 bytes: " + s)
	}
	copy(h[:], b)
	return h
}

// MP_JOIN test cases. Those named "linux" are option bytes Linux 6.18 sent
// over loopback for a second subflow (the backup one from an endpoint with
// the backup flag); the others follow RFC 8684 §3.2, Figures 5–7.
var mpJoinCases = []mpaCase[MPJoin]{
	{
		name: "linux syn",
		in:   mpaHex("1e0c1001 8d112613 da954d72"),
		want: MPJoin{Form: MPJoinSYN, AddrID: 1, Token: 0x8d112613, Random: 0xda954d72},
	},
	{
		name: "linux syn backup",
		in:   mpaHex("1e0c1101 77f0592b 233e560c"),
		want: MPJoin{Form: MPJoinSYN, Flags: MPJoinBackup, AddrID: 1, Token: 0x77f0592b, Random: 0x233e560c},
	},
	{
		name: "linux synack",
		in:   mpaHex("1e101000 3f410501cab9c2d7 fd752ced"),
		want: MPJoin{Form: MPJoinSYNACK, TruncatedHMAC: 0x3f410501cab9c2d7, Random: 0xfd752ced},
	},
	{
		name: "linux synack to backup syn",
		in:   mpaHex("1e101000 18862e29461ac7bf d071c445"),
		want: MPJoin{Form: MPJoinSYNACK, TruncatedHMAC: 0x18862e29461ac7bf, Random: 0xd071c445},
	},
	{
		name: "linux ack",
		in:   mpaHex("1e181000 c80105d3846dc3261ad49cddf5e56ab856ecaf77"),
		want: MPJoin{Form: MPJoinACK, HMAC: mpaHMAC("c80105d3846dc3261ad49cddf5e56ab856ecaf77")},
	},
	{
		name: "linux ack 2",
		in:   mpaHex("1e181000 054354ebc157141cf99e1063623126c9b4064576"),
		want: MPJoin{Form: MPJoinACK, HMAC: mpaHMAC("054354ebc157141cf99e1063623126c9b4064576")},
	},
	{
		name: "synack backup, address id 255, trailing bytes",
		in:   mpaHex("1e1011ff ffffffffffffffff 00000001 0101"),
		want: MPJoin{Form: MPJoinSYNACK, Flags: MPJoinBackup, AddrID: 255, TruncatedHMAC: ^uint64(0), Random: 1},
	},
	{
		name: "syn reserved bits kept",
		in:   mpaHex("1e0c1e07 00000000 ffffffff"),
		want: MPJoin{Form: MPJoinSYN, Flags: 0x0e, AddrID: 7, Random: 0xffffffff},
	},
	{
		name: "ack reserved bits kept",
		in:   mpaHex("1e181fa5 0000000000000000000000000000000000000001"),
		want: MPJoin{Form: MPJoinACK, Flags: 0x0f, AddrID: 0xa5, HMAC: mpaHMAC("0000000000000000000000000000000000000001")},
	},
}

func TestMPJoin(t *testing.T) {
	for _, tc := range mpJoinCases {
		t.Run(tc.name, func(t *testing.T) {
			mpaCheckValid(t, SubtypeMPJoin, ParseMPJoin, tc.in, tc.want)
		})
	}
}

func TestMPJoinBadLength(t *testing.T) {
	for l := 0; l <= 255; l++ {
		if l == MPJoinLenSYN || l == MPJoinLenSYNACK || l == MPJoinLenACK {
			continue
		}
		opt := make([]byte, max(l, 4))
		copy(opt, mpaHex("1e001001"))
		opt[1] = byte(l)
		mpaCheckBadLength(t, SubtypeMPJoin, ParseMPJoin, opt)
	}
}

func TestMPJoinBackup(t *testing.T) {
	tests := []struct {
		v    MPJoin
		want bool
	}{
		{MPJoin{Form: MPJoinSYN, Flags: MPJoinBackup}, true},
		{MPJoin{Form: MPJoinSYNACK, Flags: 0x0f}, true},
		{MPJoin{Form: MPJoinSYN, Flags: 0x0e}, false},
		{MPJoin{Form: MPJoinACK, Flags: MPJoinBackup}, false}, // reserved in the ACK
	}
	for _, tc := range tests {
		if got := tc.v.Backup(); got != tc.want {
			t.Errorf("%v.Backup() = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestMPJoinString(t *testing.T) {
	tests := []struct {
		v    MPJoin
		want string
	}{
		{mpJoinCases[0].want, "MP_JOIN{syn id=1 token=0x8d112613 rand=0xda954d72}"},
		{mpJoinCases[1].want, "MP_JOIN{syn id=1 backup token=0x77f0592b rand=0x233e560c}"},
		{mpJoinCases[2].want, "MP_JOIN{synack id=0 thmac=0x3f410501cab9c2d7 rand=0xfd752ced}"},
		{mpJoinCases[4].want, "MP_JOIN{ack hmac=c80105d3846dc3261ad49cddf5e56ab856ecaf77}"},
		{mpJoinCases[7].want, "MP_JOIN{syn id=7 rsv=0xe token=0x0 rand=0xffffffff}"},
		{mpJoinCases[8].want, "MP_JOIN{ack rsv=0xfa5 hmac=0000000000000000000000000000000000000001}"},
		{MPJoin{Form: 5, AddrID: 3}, "MP_JOIN{form(5) id=3 token=0x0 rand=0x0}"},
	}
	for _, tc := range tests {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestMPJoinAppendNormalises(t *testing.T) {
	tests := []struct {
		name string
		v    MPJoin
		want []byte
	}{
		{"flags high bits dropped", MPJoin{Form: MPJoinSYN, Flags: 0xf1, AddrID: 2, Token: 3, Random: 4}, mpaHex("1e0c1102 00000003 00000004")},
		{"fields outside the form ignored", MPJoin{Form: MPJoinSYNACK, Token: 9, TruncatedHMAC: 5, Random: 6, HMAC: [20]byte{1}}, mpaHex("1e101000 0000000000000005 00000006")},
		{"form out of range", MPJoin{Form: 3, Token: 1, Random: 2}, mpaHex("1e0c1000 00000001 00000002")},
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

// mpaFromGopacketMPJoin converts gopacket's decoding of an MP_JOIN option of
// length l into this package's value. gopacket exposes neither the reserved
// bits nor the ACK's reserved octet; the caller masks them out of ours.
func mpaFromGopacketMPJoin(t *testing.T, g *layers.MPJoin, l int) MPJoin {
	t.Helper()
	v := MPJoin{AddrID: g.AddrID, Random: g.SendRandNum, Token: g.ReceivToken}
	if g.Backup {
		v.Flags = MPJoinBackup
	}
	switch l {
	case MPJoinLenSYN:
		v.Form = MPJoinSYN
	case MPJoinLenSYNACK:
		v.Form = MPJoinSYNACK
		if len(g.SendHMAC) != 8 {
			t.Fatalf("gopacket SYN/ACK HMAC has %d bytes", len(g.SendHMAC))
		}
		v.TruncatedHMAC = binary.BigEndian.Uint64(g.SendHMAC)
	case MPJoinLenACK:
		v.Form = MPJoinACK
		if len(g.SendHMAC) != 20 {
			t.Fatalf("gopacket ACK HMAC has %d bytes", len(g.SendHMAC))
		}
		copy(v.HMAC[:], g.SendHMAC)
	default:
		t.Fatalf("gopacket accepted MP_JOIN of length %d", l)
	}
	return v
}

// mpaJoinVisibleToGopacket clears what gopacket does not decode: the
// reserved bits, and in the ACK the reserved octet.
func mpaJoinVisibleToGopacket(v MPJoin) MPJoin {
	v.Flags &= MPJoinBackup
	if v.Form == MPJoinACK {
		v.Flags, v.AddrID = 0, 0
	}
	return v
}

func TestMPJoinGopacket(t *testing.T) {
	for _, tc := range mpJoinCases {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.in[:tc.in[1]]
			o, ok := mpaGopacketOption(t, opt)
			if !ok || o.OptionMPTCPMpJoin == nil {
				t.Fatalf("gopacket did not decode %x as MP_JOIN", opt)
			}
			g := mpaFromGopacketMPJoin(t, o.OptionMPTCPMpJoin, int(o.OptionLength))
			if diff := cmp.Diff(g, mpaJoinVisibleToGopacket(tc.want)); diff != "" {
				t.Errorf("gopacket and ParseMPJoin disagree (-gopacket +ours):\n%s", diff)
			}
		})
	}
	for l := 3; l <= 40; l++ {
		opt := make([]byte, l)
		copy(opt, mpaHex("1e001001"))
		opt[1] = byte(l)
		_, ok := mpaGopacketOption(t, opt)
		_, _, err := ParseMPJoin(opt)
		if ok != (err == nil) {
			t.Errorf("length %d: gopacket accepts %v, ParseMPJoin error %v", l, ok, err)
		}
	}
}

func FuzzMPJoin(f *testing.F) {
	for _, tc := range mpJoinCases {
		f.Add(tc.in)
	}
	f.Add(mpaHex("1e0d1001 0000000000000000 00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := mpaFuzzRoundTrip(t, ParseMPJoin, data)
		if !ok {
			return
		}
		o, ok := mpaGopacketOption(t, data[:v.Len()])
		if !ok || o.OptionMPTCPMpJoin == nil {
			t.Fatalf("gopacket rejects %x", data[:v.Len()])
		}
		if diff := cmp.Diff(mpaFromGopacketMPJoin(t, o.OptionMPTCPMpJoin, v.Len()), mpaJoinVisibleToGopacket(v)); diff != "" {
			t.Fatalf("gopacket disagrees (-gopacket +ours):\n%s", diff)
		}
	})
}
