package wire

import (
	"bytes"
	"testing"
)

// removeAddrLens lists the lengths a REMOVE_ADDR may have: 3+n, n ≥ 1.
var removeAddrLens = func() []int {
	var l []int
	for i := removeAddrIDsOff + 1; i <= 0xff; i++ {
		l = append(l, i)
	}
	return l
}()

var removeAddrMax = func() []byte {
	b := []byte{30, 40, 0x40}
	for i := range MaxRemoveAddrIDs {
		b = append(b, byte(100+i))
	}
	return b
}()

var removeAddrCases = []sigCase[RemoveAddr]{
	{
		// From Linux 6.18 after "ip mptcp endpoint delete id 5".
		name: "Linux one ID",
		b:    []byte{30, 4, 0x40, 5},
		want: RemoveAddr{IDs: []uint8{5}},
		str:  "REMOVE_ADDR ids=[5]",
		lens: removeAddrLens,
	},
	{
		name: "three IDs",
		b:    []byte{30, 6, 0x40, 1, 0, 255},
		want: RemoveAddr{IDs: []uint8{1, 0, 255}},
		str:  "REMOVE_ADDR ids=[1 0 255]",
		lens: removeAddrLens,
	},
	{
		name: "reserved bits kept",
		b:    []byte{30, 5, 0x4a, 8, 9},
		want: RemoveAddr{Reserved: 0xa, IDs: []uint8{8, 9}},
		str:  "REMOVE_ADDR ids=[8 9] rsv=0xa",
		lens: removeAddrLens,
	},
	{
		name: "as many IDs as fit in a TCP header",
		b:    removeAddrMax,
		want: RemoveAddr{IDs: removeAddrMax[3:]},
		str: "REMOVE_ADDR ids=[100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 " +
			"119 120 121 122 123 124 125 126 127 128 129 130 131 132 133 134 135 136]",
		lens: removeAddrLens,
	},
}

var removeAddrBadCases = []sigBadCase{
	{"empty", nil, ErrTruncated},
	{"no address ID", []byte{30, 3, 0x40}, ErrBadLength},
	{"length 0", []byte{30, 0, 0x40, 1}, ErrBadLength},
	{"IDs past the buffer", []byte{30, 7, 0x40, 1, 2, 3}, ErrTruncated},
	{"MP_PRIO subtype", []byte{30, 4, 0x50, 1}, ErrWrongKind},
}

func TestRemoveAddr(t *testing.T) {
	testSigCodec(t, SubtypeRemoveAddr, ParseRemoveAddr, removeAddrCases, removeAddrBadCases)
}

func FuzzParseRemoveAddr(f *testing.F) {
	for _, s := range sigSeeds(removeAddrCases, removeAddrBadCases) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSig(t, ParseRemoveAddr, data) })
}

func TestRemoveAddrAliasing(t *testing.T) {
	b := []byte{30, 5, 0x40, 1, 2, 30, 3, 0x51}
	r, _, err := ParseRemoveAddr(b)
	if err != nil {
		t.Fatal(err)
	}
	// IDs aliases the buffer ...
	b[3] = 7
	if r.IDs[0] != 7 {
		t.Errorf("IDs does not alias the parsed buffer")
	}
	// ... but appending to it cannot overwrite the options that follow.
	_ = append(r.IDs, 99)
	if !bytes.Equal(b[5:], []byte{30, 3, 0x51}) {
		t.Errorf("appending to IDs overwrote the next option: % x", b)
	}
}

func TestRemoveAddrAppendPanics(t *testing.T) {
	for _, ids := range [][]uint8{nil, make([]uint8, 253)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Append with %d IDs did not panic", len(ids))
				}
			}()
			RemoveAddr{IDs: ids}.Append(nil)
		}()
	}
	// 252 IDs is the most a length byte can describe.
	if b := (RemoveAddr{IDs: make([]uint8, 252)}).Append(nil); len(b) != 255 || b[1] != 255 {
		t.Errorf("252 IDs: encoded %d bytes, length byte %d", len(b), b[1])
	}
}

func TestRemoveAddrGopacket(t *testing.T) {
	for _, c := range removeAddrCases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := sigGopacketOption(t, c.b)
			if !ok || o.OptionMTCPRemAddr == nil {
				t.Fatalf("gopacket did not decode % x as REMOVE_ADDR", c.b)
			}
			if !bytes.Equal(o.OptionMTCPRemAddr.AddrIDs, c.want.IDs) {
				t.Errorf("gopacket IDs %v, ours %v", o.OptionMTCPRemAddr.AddrIDs, c.want.IDs)
			}
		})
	}
}
