package wire

import (
	"encoding/binary"
	"testing"
)

var mpFastCloseCases = []sigCase[MPFastClose]{
	{
		name: "key",
		b:    []byte{30, 12, 0x70, 0, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10},
		want: MPFastClose{ReceiverKey: 0xfedcba9876543210},
		str:  "MP_FASTCLOSE key=0xfedcba9876543210",
		lens: []int{12},
	},
	{
		// From Linux 6.18 on a RST after close with SO_LINGER 0.
		name: "Linux",
		b:    []byte{30, 12, 0x70, 0, 0xf9, 0x09, 0x6e, 0x56, 0x9a, 0xb3, 0x53, 0x80},
		want: MPFastClose{ReceiverKey: 0xf9096e569ab35380},
		str:  "MP_FASTCLOSE key=0xf9096e569ab35380",
		lens: []int{12},
	},
	{
		name: "reserved bits kept",
		b:    []byte{30, 12, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 0, 1},
		want: MPFastClose{Reserved: 0xfff, ReceiverKey: 1},
		str:  "MP_FASTCLOSE key=0x0000000000000001 rsv=0xfff",
		lens: []int{12},
	},
}

var mpFastCloseBadCases = []sigBadCase{
	{"empty", nil, ErrTruncated},
	{"key cut short", []byte{30, 12, 0x70, 0, 1, 2, 3, 4}, ErrTruncated},
	{"length 4", []byte{30, 4, 0x70, 0}, ErrBadLength},
	{"length 20", append([]byte{30, 20, 0x70, 0}, make([]byte, 16)...), ErrBadLength},
	{"MP_TCPRST subtype", []byte{30, 12, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8}, ErrWrongKind},
}

func TestMPFastClose(t *testing.T) {
	testSigCodec(t, SubtypeMPFastClose, ParseMPFastClose, mpFastCloseCases, mpFastCloseBadCases)
}

func FuzzParseMPFastClose(f *testing.F) {
	for _, s := range sigSeeds(mpFastCloseCases, mpFastCloseBadCases) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSig(t, ParseMPFastClose, data) })
}

func TestMPFastCloseGopacket(t *testing.T) {
	for _, c := range mpFastCloseCases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := sigGopacketOption(t, c.b)
			if !ok || o.OptionMTCPMPFastClose == nil {
				t.Fatalf("gopacket did not decode % x as MP_FASTCLOSE", c.b)
			}
			k := o.OptionMTCPMPFastClose.ReceivKey
			if len(k) != KeyLen || binary.BigEndian.Uint64(k) != c.want.ReceiverKey {
				t.Errorf("gopacket key % x, ours %#x", k, c.want.ReceiverKey)
			}
		})
	}
}
