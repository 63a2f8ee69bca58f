package wire

import "testing"

var mpFailCases = []sigCase[MPFail]{
	{
		name: "DSN",
		b:    []byte{30, 12, 0x60, 0, 0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d},
		want: MPFail{DSN: 0xdeadbeefcafef00d},
		str:  "MP_FAIL dsn=16045690984503111693",
		lens: []int{12},
	},
	{
		name: "zero DSN",
		b:    []byte{30, 12, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		want: MPFail{},
		str:  "MP_FAIL dsn=0",
		lens: []int{12},
	},
	{
		name: "reserved bits kept",
		b:    []byte{30, 12, 0x6a, 0xbc, 0, 0, 0, 0, 0, 0, 0x10, 0x01},
		want: MPFail{Reserved: 0xabc, DSN: 0x1001},
		str:  "MP_FAIL dsn=4097 rsv=0xabc",
		lens: []int{12},
	},
}

var mpFailBadCases = []sigBadCase{
	{"empty", nil, ErrTruncated},
	{"DSN cut short", []byte{30, 12, 0x60, 0, 1, 2, 3, 4, 5, 6, 7}, ErrTruncated},
	{"length 8", []byte{30, 8, 0x60, 0, 1, 2, 3, 4}, ErrBadLength},
	{"length 13", []byte{30, 13, 0x60, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, ErrBadLength},
	{"MP_FASTCLOSE subtype", []byte{30, 12, 0x70, 0, 1, 2, 3, 4, 5, 6, 7, 8}, ErrWrongKind},
}

func TestMPFail(t *testing.T) {
	testSigCodec(t, SubtypeMPFail, ParseMPFail, mpFailCases, mpFailBadCases)
}

func FuzzParseMPFail(f *testing.F) {
	for _, s := range sigSeeds(mpFailCases, mpFailBadCases) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSig(t, ParseMPFail, data) })
}

func TestMPFailGopacket(t *testing.T) {
	for _, c := range mpFailCases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := sigGopacketOption(t, c.b)
			if !ok || o.OptionMTCPMPFail == nil {
				t.Fatalf("gopacket did not decode % x as MP_FAIL", c.b)
			}
			if o.OptionMTCPMPFail.DSN != c.want.DSN {
				t.Errorf("gopacket DSN %d, ours %d", o.OptionMTCPMPFail.DSN, c.want.DSN)
			}
		})
	}
}
