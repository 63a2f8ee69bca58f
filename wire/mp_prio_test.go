package wire

import "testing"

var mpPrioLens = []int{3, 4}

var mpPrioCases = []sigCase[MPPrio]{
	{
		// From Linux 6.18 after "ip mptcp endpoint change ... backup".
		name: "Linux backup",
		b:    []byte{30, 3, 0x51},
		want: MPPrio{Backup: true},
		str:  "MP_PRIO backup",
		lens: mpPrioLens,
	},
	{
		name: "regular",
		b:    []byte{30, 3, 0x50},
		want: MPPrio{},
		str:  "MP_PRIO regular",
		lens: mpPrioLens,
	},
	{
		name: "RFC 6824 form with address ID",
		b:    []byte{30, 4, 0x51, 2},
		want: MPPrio{Backup: true, HasAddrID: true, AddrID: 2},
		str:  "MP_PRIO backup id=2",
		lens: mpPrioLens,
	},
	{
		name: "reserved bits kept",
		b:    []byte{30, 3, 0x5e},
		want: MPPrio{Reserved: 7},
		str:  "MP_PRIO regular rsv=0x7",
		lens: mpPrioLens,
	},
}

var mpPrioBadCases = []sigBadCase{
	{"empty", nil, ErrTruncated},
	{"length 5", []byte{30, 5, 0x51, 2, 0}, ErrBadLength},
	{"length 2", []byte{30, 2, 0x51}, ErrBadLength},
	{"address ID missing", []byte{30, 4, 0x51}, ErrTruncated},
	{"MP_FAIL subtype", []byte{30, 3, 0x61}, ErrWrongKind},
}

func TestMPPrio(t *testing.T) {
	testSigCodec(t, SubtypeMPPrio, ParseMPPrio, mpPrioCases, mpPrioBadCases)
}

func FuzzParseMPPrio(f *testing.F) {
	for _, s := range sigSeeds(mpPrioCases, mpPrioBadCases) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSig(t, ParseMPPrio, data) })
}

func TestMPPrioGopacket(t *testing.T) {
	for _, c := range mpPrioCases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := sigGopacketOption(t, c.b)
			if !ok || o.OptionMPTCPMpPrio == nil {
				t.Fatalf("gopacket did not decode % x as MP_PRIO", c.b)
			}
			g := o.OptionMPTCPMpPrio
			if g.Backup != c.want.Backup || g.AddrID != c.want.AddrID {
				t.Errorf("gopacket backup=%v id=%d, ours %v", g.Backup, g.AddrID, c.want)
			}
		})
	}
}
