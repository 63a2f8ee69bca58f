package wire

import "testing"

var mpTCPRSTCases = []sigCase[MPTCPRST]{
	{
		name: "transient lack of resources",
		b:    []byte{30, 4, 0x81, 0x02},
		want: MPTCPRST{T: true, Reason: TCPRSTLackOfResources},
		str:  "MP_TCPRST reason=lack of resources flags=T",
		lens: []int{4},
	},
	{
		// From Linux 6.18, beside the MP_FASTCLOSE of an abort.
		name: "Linux unspecified",
		b:    []byte{30, 4, 0x80, 0x00},
		want: MPTCPRST{Reason: TCPRSTUnspecified},
		str:  "MP_TCPRST reason=unspecified error",
		lens: []int{4},
	},
	{
		name: "middlebox interference",
		b:    []byte{30, 4, 0x80, 0x06},
		want: MPTCPRST{Reason: TCPRSTMiddleboxInterference},
		str:  "MP_TCPRST reason=middlebox interference",
		lens: []int{4},
	},
	{
		name: "unassigned flags and reason kept",
		b:    []byte{30, 4, 0x8e, 0x7f},
		want: MPTCPRST{U: true, V: true, W: true, Reason: 0x7f},
		str:  "MP_TCPRST reason=reason 0x7f flags=UVW",
		lens: []int{4},
	},
}

var mpTCPRSTBadCases = []sigBadCase{
	{"empty", nil, ErrTruncated},
	{"reason missing", []byte{30, 4, 0x81}, ErrTruncated},
	{"length 3", []byte{30, 3, 0x81}, ErrBadLength},
	{"length 5", []byte{30, 5, 0x81, 1, 0}, ErrBadLength},
	{"MP_EXPERIMENTAL subtype", []byte{30, 4, 0xf1, 1}, ErrWrongKind},
}

func TestMPTCPRST(t *testing.T) {
	testSigCodec(t, SubtypeMPTCPRST, ParseMPTCPRST, mpTCPRSTCases, mpTCPRSTBadCases)
}

func FuzzParseMPTCPRST(f *testing.F) {
	for _, s := range sigSeeds(mpTCPRSTCases, mpTCPRSTBadCases) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSig(t, ParseMPTCPRST, data) })
}

func TestTCPRSTReasonString(t *testing.T) {
	for _, c := range []struct {
		r    TCPRSTReason
		want string
	}{
		{TCPRSTUnspecified, "unspecified error"},
		{TCPRSTMPTCPError, "MPTCP-specific error"},
		{TCPRSTLackOfResources, "lack of resources"},
		{TCPRSTAdminProhibited, "administratively prohibited"},
		{TCPRSTTooMuchOutstandingData, "too much outstanding data"},
		{TCPRSTUnacceptablePerformance, "unacceptable performance"},
		{TCPRSTMiddleboxInterference, "middlebox interference"},
		{7, "reason 0x07"},
		{0xff, "reason 0xff"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("TCPRSTReason(%d).String() = %q, want %q", uint8(c.r), got, c.want)
		}
	}
	// The codes are those of RFC 8684 §3.6.
	for code, r := range []TCPRSTReason{
		TCPRSTUnspecified, TCPRSTMPTCPError, TCPRSTLackOfResources, TCPRSTAdminProhibited,
		TCPRSTTooMuchOutstandingData, TCPRSTUnacceptablePerformance, TCPRSTMiddleboxInterference,
	} {
		if int(r) != code {
			t.Errorf("%v has code %d, want %d", r, r, code)
		}
	}
}

func TestMPTCPRSTGopacket(t *testing.T) {
	for _, c := range mpTCPRSTCases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := sigGopacketOption(t, c.b)
			if !ok || o.OptionMPTCPMPTcpRst == nil {
				t.Fatalf("gopacket did not decode % x as MP_TCPRST", c.b)
			}
			g := o.OptionMPTCPMPTcpRst
			if g.U != c.want.U || g.V != c.want.V || g.W != c.want.W || g.T != c.want.T || TCPRSTReason(g.Reason) != c.want.Reason {
				t.Errorf("gopacket U=%v V=%v W=%v T=%v reason=%d, ours %v", g.U, g.V, g.W, g.T, g.Reason, c.want)
			}
		})
	}
}
