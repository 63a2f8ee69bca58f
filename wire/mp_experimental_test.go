package wire

import (
	"bytes"
	"testing"
)

// mpExperimentalLens lists the lengths an MP_EXPERIMENTAL may have: any
// from 3 on.
var mpExperimentalLens = func() []int {
	var l []int
	for i := mpExperimentalDataOff; i <= 0xff; i++ {
		l = append(l, i)
	}
	return l
}()

var mpExperimentalCases = []sigCase[MPExperimental]{
	{
		name: "header only",
		b:    []byte{30, 3, 0xf0},
		want: MPExperimental{},
		str:  "MP_EXPERIMENTAL bits=0x0 data=",
		lens: mpExperimentalLens,
	},
	{
		name: "bits and data",
		b:    []byte{30, 6, 0xf5, 0x0a, 0x0b, 0x0c},
		want: MPExperimental{Bits: 5, Data: []byte{0x0a, 0x0b, 0x0c}},
		str:  "MP_EXPERIMENTAL bits=0x5 data=0a0b0c",
		lens: mpExperimentalLens,
	},
}

var mpExperimentalBadCases = []sigBadCase{
	{"empty", nil, ErrTruncated},
	{"length 2", []byte{30, 2, 0xf0}, ErrBadLength},
	{"data past the buffer", []byte{30, 8, 0xf0, 1, 2}, ErrTruncated},
	{"MP_CAPABLE subtype", []byte{30, 4, 0x01, 0x81}, ErrWrongKind},
}

func TestMPExperimental(t *testing.T) {
	testSigCodec(t, SubtypeMPExperimental, ParseMPExperimental, mpExperimentalCases, mpExperimentalBadCases)
}

func FuzzParseMPExperimental(f *testing.F) {
	for _, s := range sigSeeds(mpExperimentalCases, mpExperimentalBadCases) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSig(t, ParseMPExperimental, data) })
}

func TestMPExperimentalAliasing(t *testing.T) {
	b := []byte{30, 4, 0xf0, 1, 30, 3, 0x51}
	e, _, err := ParseMPExperimental(b)
	if err != nil {
		t.Fatal(err)
	}
	b[3] = 2
	if !bytes.Equal(e.Data, []byte{2}) {
		t.Errorf("Data = % x, does not alias the parsed buffer", e.Data)
	}
	_ = append(e.Data, 0xff)
	if !bytes.Equal(b[4:], []byte{30, 3, 0x51}) {
		t.Errorf("appending to Data overwrote the next option: % x", b)
	}
}

func TestMPExperimentalAppendPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Append with 253 data bytes did not panic")
		}
	}()
	MPExperimental{Data: make([]byte, 253)}.Append(nil)
}

func TestMPExperimentalGopacket(t *testing.T) {
	// gopacket has no MP_EXPERIMENTAL decoder; it keeps the option's
	// bytes after the length byte.
	for _, c := range mpExperimentalCases {
		o, ok := sigGopacketOption(t, c.b)
		if !ok || len(o.OptionData) == 0 {
			t.Fatalf("gopacket did not keep % x", c.b)
		}
		if o.OptionData[0]&0x0f != c.want.Bits || !bytes.Equal(o.OptionData[1:], c.want.Data) {
			t.Errorf("gopacket kept % x, ours %v", o.OptionData, c.want)
		}
	}
}
