package wire

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fittedOptions is o as it reads back after Append: what Fit leaves out is
// gone, and the Dropped counters are zero.
func fittedOptions(o *TCPOptions) TCPOptions {
	sack, mptcp, unknown := o.Fit()
	w := *o
	w.NumSACKBlocks = sack
	clear(w.SACKBlocks[sack:])
	w.NumMPTCP = mptcp
	clear(w.MPTCP[mptcp:])
	w.NumUnknown = unknown
	clear(w.Unknown[unknown:])
	w.DroppedMPTCP, w.DroppedUnknown = 0, 0
	return w
}

func mptcpOpts(opts ...string) (n int, a [MaxMPTCPOptions][]byte) {
	for i, s := range opts {
		a[i], _ = hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	}
	return len(opts), a
}

func unknownOpts(opts ...string) (n int, a [MaxUnknownOptions][]byte) {
	for i, s := range opts {
		a[i], _ = hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	}
	return len(opts), a
}

func withMPTCP(o TCPOptions, opts ...string) TCPOptions {
	o.NumMPTCP, o.MPTCP = mptcpOpts(opts...)
	return o
}

func withUnknown(o TCPOptions, opts ...string) TCPOptions {
	o.NumUnknown, o.Unknown = unknownOpts(opts...)
	return o
}

// optionsOf returns the option area of a captured packet.
func optionsOf(t testing.TB, pktHex string) []byte {
	t.Helper()
	_, _, seg := tcpOfPacket(t, unhex(t, pktHex))
	if err := seg.Check(); err != nil {
		t.Fatal(err)
	}
	return seg.Options()
}

func TestParseTCPOptions(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want TCPOptions
	}{
		{"empty", "", TCPOptions{}},
		{"NOPs", "01010101", TCPOptions{}},
		{"captured SYN", hex.EncodeToString(optionsOf(t, capV4SYN)), withMPTCP(TCPOptions{
			HasMSS: true, MSS: 65495, SACKPermitted: true, HasTimestamps: true, TSVal: 0x74c3f903,
			HasWindowScale: true, WindowScale: 10}, "1e040101")},
		{"captured SYN-ACK", hex.EncodeToString(optionsOf(t, capV4SYNACK)), withMPTCP(TCPOptions{
			HasMSS: true, MSS: 65495, SACKPermitted: true, HasTimestamps: true, TSVal: 0x0b4362ff, TSEcr: 0x74c3f903,
			HasWindowScale: true, WindowScale: 10}, "1e0c01013fdc75d2344a6b48")},
		{"captured ACK", hex.EncodeToString(optionsOf(t, capV4ACK)), withMPTCP(TCPOptions{
			HasTimestamps: true, TSVal: 0x74c3f903, TSEcr: 0x0b4362ff}, "1e1401010137394bbaa93ef13fdc75d2344a6b48")},
		{"captured MP_CAPABLE data", hex.EncodeToString(optionsOf(t, capV4Data)), withMPTCP(TCPOptions{
			HasTimestamps: true, TSVal: 0x74c3f903, TSEcr: 0x0b4362ff}, "1e1601010137394bbaa93ef13fdc75d2344a6b48000b")},
		{"captured DSS", hex.EncodeToString(optionsOf(t, capV6DSS)), withMPTCP(TCPOptions{
			HasTimestamps: true, TSVal: 0x63ab1ea3, TSEcr: 0xc2bf8431}, "1e1a200f417722c98426dbdb3f1a5d79b0b3ae1d00000001001e")},
		{"Linux SYN, MSS 1460, WS 7", "020405b4 0402080a 0001e240 00000000 01030307 1e040101", withMPTCP(TCPOptions{
			HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 123456,
			HasWindowScale: true, WindowScale: 7}, "1e040101")},
		{"SACK 1 block", "0101050a 00000001 00000002", TCPOptions{NumSACKBlocks: 1,
			SACKBlocks: [MaxSACKBlocks]SACKBlock{{1, 2}}}},
		{"TS + SACK 3 blocks", "0101080a 00000005 00000006 0101051a 00000001 00000002 00000003 00000004 fffffff0 00000010",
			TCPOptions{HasTimestamps: true, TSVal: 5, TSEcr: 6, NumSACKBlocks: 3,
				SACKBlocks: [MaxSACKBlocks]SACKBlock{{1, 2}, {3, 4}, {0xfffffff0, 0x10}}}},
		{"SACK 4 blocks", "0101 0522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008",
			TCPOptions{NumSACKBlocks: 4, SACKBlocks: [MaxSACKBlocks]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}},
		{"EOL ends the list", "020405b4 00 0201ffff", TCPOptions{HasMSS: true, MSS: 1460}},
		{"EOL first", "00 020405b4", TCPOptions{}},
		{"unaligned, no padding", "0303 0e 0402 020405dc", TCPOptions{HasWindowScale: true, WindowScale: 14,
			SACKPermitted: true, HasMSS: true, MSS: 1500}},
		{"repeated MSS, last wins", "02040100 02040200", TCPOptions{HasMSS: true, MSS: 0x200}},
		{"repeated SACK, last wins", "050a 00000001 00000002 0512 00000003 00000004 00000005 00000006",
			TCPOptions{NumSACKBlocks: 2, SACKBlocks: [MaxSACKBlocks]SACKBlock{{3, 4}, {5, 6}}}},
		{"unknown kinds kept raw", "220a0102030405060708 fe02 1312" + strings.Repeat("00", 16) + "0000",
			withUnknown(TCPOptions{}, "220a0102030405060708", "fe02", "1312"+strings.Repeat("00", 16))},
		{"MPTCP minimum length", "1e0350 01", withMPTCP(TCPOptions{}, "1e0350")},
		{"5 MPTCP options: 4 kept, 1 counted", "1e0350 1e0351 1e0352 1e0353 1e0354",
			func() TCPOptions {
				o := withMPTCP(TCPOptions{}, "1e0350", "1e0351", "1e0352", "1e0353")
				o.DroppedMPTCP = 1
				return o
			}()},
		{"6 unknown options: 4 kept, 2 counted", "fe02 fe02 fd02 fd02 fc02 fc0300",
			func() TCPOptions {
				o := withUnknown(TCPOptions{}, "fe02", "fe02", "fd02", "fd02")
				o.DroppedUnknown = 2
				return o
			}()},
	}
	for _, tt := range tests {
		in := unhex(t, tt.in)
		var got TCPOptions
		got.HasMSS, got.NumSACKBlocks = true, 3 // stale state must be cleared
		if err := ParseTCPOptions(in, &got); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

func TestParseTCPOptionsAliases(t *testing.T) {
	b := unhex(t, "1e0350 01")
	var o TCPOptions
	if err := ParseTCPOptions(b, &o); err != nil {
		t.Fatal(err)
	}
	b[2] = 0x77
	if o.MPTCP[0][2] != 0x77 {
		t.Error("raw MPTCP option does not alias the input")
	}
}

func TestParseTCPOptionsErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kind    uint8
		subtype MPTCPSubtype
		length  int
		err     error
	}{
		{"kind without length", "02", 2, 0, -1, ErrTruncated},
		{"length 0", "0200", 2, 0, 0, ErrBadLength},
		{"length 1", "fe01", 254, 0, 1, ErrBadLength},
		{"length past end", "0204ff", 2, 0, 4, ErrTruncated},
		{"MSS length 3", "020305", 2, 0, 3, ErrBadLength},
		{"MSS length 6", "020605b40000", 2, 0, 6, ErrBadLength},
		{"WS length 2", "0302", 3, 0, 2, ErrBadLength},
		{"WS length 4", "03040700", 3, 0, 4, ErrBadLength},
		{"SACK-permitted length 3", "040300", 4, 0, 3, ErrBadLength},
		{"SACK no block", "0502", 5, 0, 2, ErrBadLength},
		{"SACK half block", "0506 00000000", 5, 0, 6, ErrBadLength},
		{"SACK 9 bytes", "0509 00000000000000 00", 5, 0, 9, ErrBadLength},
		{"SACK 5 blocks", "052a" + strings.Repeat("00", 40), 5, 0, 42, ErrBadLength},
		{"TS length 8", "0808 000000000000", 8, 0, 8, ErrBadLength},
		{"TS length 12", "080c 0000000000000000 0000", 8, 0, 12, ErrBadLength},
		{"MPTCP length 2", "1e02 0101", 30, 0xff, 2, ErrBadLength},
		{"MPTCP truncated", "1e0c 2001 000000", 30, SubtypeDSS, 12, ErrTruncated},
		{"MPTCP without length", "0101 1e", 30, 0xff, -1, ErrTruncated},
		{"error after good options", "020405b4 0101080a 0000000100000002 0303", 3, 0, 3, ErrTruncated},
	}
	for _, tt := range tests {
		o := TCPOptions{HasMSS: true}
		err := ParseTCPOptions(unhex(t, tt.in), &o)
		var oe *OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%s: err = %v, want *OptionError", tt.name, err)
			continue
		}
		if !errors.Is(err, tt.err) || oe.Kind != tt.kind || oe.Length != tt.length || oe.Subtype != tt.subtype {
			t.Errorf("%s: got kind %d subtype %d length %d err %v; want kind %d subtype %d length %d err %v",
				tt.name, oe.Kind, oe.Subtype, oe.Length, oe.Err, tt.kind, tt.subtype, tt.length, tt.err)
		}
		if oe.Error() == "" {
			t.Errorf("%s: empty error text", tt.name)
		}
		if d := cmp.Diff(TCPOptions{}, o); d != "" {
			t.Errorf("%s: options not zeroed after error:\n%s", tt.name, d)
		}
	}
}

// Every proper prefix of every single option is an error, and a prefix of
// a captured option area parses exactly when it ends on an option boundary.
func TestTCPOptionsTruncatedPrefixes(t *testing.T) {
	single := []string{
		"020405b4", "030307", "0402", "050a0000000100000002",
		"0522" + strings.Repeat("00000001", 8), "080a0000000100000002",
		"1e040101", "1e0c01013fdc75d2344a6b48", "1e1a200f417722c98426dbdb3f1a5d79b0b3ae1d00000001001e",
		"220a0102030405060708", "fe02",
	}
	var o TCPOptions
	for _, s := range single {
		b := unhex(t, s)
		if err := ParseTCPOptions(b, &o); err != nil {
			t.Errorf("%s: %v", s, err)
		}
		for n := 1; n < len(b); n++ {
			if err := ParseTCPOptions(b[:n], &o); !errors.Is(err, ErrTruncated) {
				t.Errorf("%s cut to %d bytes: err = %v, want ErrTruncated", s, n, err)
			}
		}
	}
	for _, c := range capturedPackets {
		opts := optionsOf(t, c.hex)
		boundary := map[int]bool{0: true}
		it := NewOptionIter(opts)
		off := 0
		for _, opt, ok := it.Next(); ok; _, opt, ok = it.Next() {
			off += len(opt)
			boundary[off] = true
		}
		for n := 0; n <= len(opts); n++ {
			err := ParseTCPOptions(opts[:n], &o)
			if boundary[n] != (err == nil) {
				t.Errorf("%s: prefix %d: err = %v, boundary = %v", c.name, n, err, boundary[n])
			}
		}
	}
}

// Linux's own option areas come back byte for byte: Append follows
// tcp_options_write and Linux's MPTCP padding.
func TestTCPOptionsCapturedRoundTrip(t *testing.T) {
	for _, c := range capturedPackets {
		in := optionsOf(t, c.hex)
		var o TCPOptions
		if err := ParseTCPOptions(in, &o); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out := o.Append(nil)
		if d := cmp.Diff(hex.EncodeToString(in), hex.EncodeToString(out)); d != "" {
			t.Errorf("%s: Append differs from Linux (-linux +ours):\n%s", c.name, d)
		}
		if o.Len() != len(out) {
			t.Errorf("%s: Len() = %d, Append wrote %d", c.name, o.Len(), len(out))
		}
	}
}

func TestTCPOptionsAppend(t *testing.T) {
	tests := []struct {
		name string
		o    TCPOptions
		want string
	}{
		{"none", TCPOptions{}, ""},
		{"Linux SYN", withMPTCP(TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true,
			TSVal: 0x01020304, HasWindowScale: true, WindowScale: 7}, "1e040101"),
			"020405b4 0402080a 01020304 00000000 01030307 1e040101"},
		{"SYN without TS", TCPOptions{HasMSS: true, MSS: 536, SACKPermitted: true, HasWindowScale: true, WindowScale: 2},
			"02040218 01010402 01030302"},
		{"SYN without SACK", TCPOptions{HasMSS: true, MSS: 1400, HasTimestamps: true, TSVal: 1, TSEcr: 2},
			"02040578 0101080a 00000001 00000002"},
		{"SACK-permitted alone", TCPOptions{SACKPermitted: true}, "01010402"},
		{"window scale alone", TCPOptions{HasWindowScale: true, WindowScale: 14}, "0103030e"},
		{"TS + 2 SACK blocks", TCPOptions{HasTimestamps: true, TSVal: 9, TSEcr: 8, NumSACKBlocks: 2,
			SACKBlocks: [MaxSACKBlocks]SACKBlock{{1, 2}, {3, 4}}},
			"0101080a 00000009 00000008 01010512 00000001 00000002 00000003 00000004"},
		{"TS + DSS", withMPTCP(TCPOptions{HasTimestamps: true, TSVal: 1, TSEcr: 2},
			"1e142005 00000001 00000002 00000003 0064abcd"),
			"0101080a 00000001 00000002 1e142005 00000001 00000002 00000003 0064abcd"},
		{"MPTCP padded", withMPTCP(TCPOptions{}, "1e0350", "1e0a401f 01020304 0506"),
			"1e035001 1e0a401f 01020304 05060101"},
		{"unknown after MPTCP, padded", withUnknown(withMPTCP(TCPOptions{}, "1e0350"), "fe02", "220a0102030405060708"),
			"1e035001 fe020101 220a0102 03040506 07080101"},
	}
	for _, tt := range tests {
		got := tt.o.Append([]byte{0xee})
		if got[0] != 0xee {
			t.Errorf("%s: Append overwrote the prefix", tt.name)
		}
		got = got[1:]
		if want := strings.ReplaceAll(tt.want, " ", ""); hex.EncodeToString(got) != want {
			t.Errorf("%s: Append = %x, want %s", tt.name, got, want)
		}
		if tt.o.Len() != len(got) {
			t.Errorf("%s: Len() = %d, Append wrote %d", tt.name, tt.o.Len(), len(got))
		}
		var back TCPOptions
		if err := ParseTCPOptions(got, &back); err != nil {
			t.Fatalf("%s: re-parse: %v", tt.name, err)
		}
		if d := cmp.Diff(tt.o, back, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", tt.name, d)
		}
	}
}

func TestTCPOptionsFit(t *testing.T) {
	blocks4 := [MaxSACKBlocks]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	dss20 := "1e142005" + strings.Repeat("00", 16)
	dss28 := "1e1c200f" + strings.Repeat("00", 24)
	tests := []struct {
		name                 string
		o                    TCPOptions
		sack, mptcp, unknown int
		wantLen              int
	}{
		{"TS + 4 SACK blocks: 3 fit, as in Linux", TCPOptions{HasTimestamps: true, NumSACKBlocks: 4, SACKBlocks: blocks4},
			3, 0, 0, 40},
		{"4 SACK blocks alone fit", TCPOptions{NumSACKBlocks: 4, SACKBlocks: blocks4}, 4, 0, 0, 36},
		{"TS + DSS leave no room for SACK", withMPTCP(TCPOptions{HasTimestamps: true, NumSACKBlocks: 2, SACKBlocks: blocks4}, dss20),
			0, 1, 0, 32},
		{"TS + 12-byte MPTCP leave room for 1 block", withMPTCP(TCPOptions{HasTimestamps: true, NumSACKBlocks: 4, SACKBlocks: blocks4},
			"1e0c2003"+strings.Repeat("00", 8)), 1, 1, 0, 36},
		{"MPTCP dropped from the last", withMPTCP(TCPOptions{HasTimestamps: true}, dss28, "1e0350"),
			0, 1, 0, 40},
		{"unknown dropped before MPTCP", withUnknown(withMPTCP(TCPOptions{HasMSS: true, HasTimestamps: true, HasWindowScale: true},
			"1e0c0101"+strings.Repeat("00", 8)), "220a"+strings.Repeat("00", 8)),
			0, 1, 0, 32},
		{"oversized raw option never fits", withMPTCP(TCPOptions{}, "1e29"+strings.Repeat("00", 39)), 0, 0, 0, 0},
		{"counts out of range are clamped", TCPOptions{NumSACKBlocks: 9, SACKBlocks: blocks4, NumMPTCP: -1},
			4, 0, 0, 36},
		{"unknown options take room from SACK", func() TCPOptions {
			o := withUnknown(TCPOptions{NumSACKBlocks: 4, SACKBlocks: blocks4}, "fe02", "fe02", "fe02", "fe02")
			o.NumUnknown = 7
			return o
		}(), 2, 0, 4, 36},
	}
	for _, tt := range tests {
		sack, mptcp, unknown := tt.o.Fit()
		if sack != tt.sack || mptcp != tt.mptcp || unknown != tt.unknown {
			t.Errorf("%s: Fit() = %d, %d, %d; want %d, %d, %d", tt.name, sack, mptcp, unknown, tt.sack, tt.mptcp, tt.unknown)
		}
		b := tt.o.Append(nil)
		if len(b) != tt.wantLen || tt.o.Len() != len(b) || len(b) > TCPMaxOptionsLen || len(b)%4 != 0 {
			t.Errorf("%s: Append wrote %d bytes, Len() = %d, want %d", tt.name, len(b), tt.o.Len(), tt.wantLen)
		}
		var back TCPOptions
		if err := ParseTCPOptions(b, &back); err != nil {
			t.Errorf("%s: re-parse: %v", tt.name, err)
		}
		if back.NumSACKBlocks != sack || back.NumMPTCP != mptcp || back.NumUnknown != unknown {
			t.Errorf("%s: read back %d SACK blocks, %d MPTCP, %d unknown", tt.name, back.NumSACKBlocks, back.NumMPTCP, back.NumUnknown)
		}
	}
}

func TestOptionIter(t *testing.T) {
	type item struct {
		Kind uint8
		Opt  string
	}
	tests := []struct {
		name string
		in   string
		want []item
		err  error
	}{
		{"empty", "", nil, nil},
		{"list with EOL", "0101 020405b4 1e0350 00 ffff",
			[]item{{1, "01"}, {1, "01"}, {2, "020405b4"}, {30, "1e0350"}, {0, "00"}}, nil},
		{"odd lengths are not its business", "0205ff0000 0203ff", []item{{2, "0205ff0000"}, {2, "0203ff"}}, nil},
		{"bad length", "0101 0201", []item{{1, "01"}, {1, "01"}}, ErrBadLength},
		{"past the end", "0303 07 0809", []item{{3, "030307"}}, ErrTruncated},
		{"no length byte", "01 08", []item{{1, "01"}}, ErrTruncated},
	}
	for _, tt := range tests {
		var got []item
		it := NewOptionIter(unhex(t, tt.in))
		for kind, opt, ok := it.Next(); ok; kind, opt, ok = it.Next() {
			got = append(got, item{kind, hex.EncodeToString(opt)})
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
		if !errors.Is(it.Err(), tt.err) || (tt.err == nil) != (it.Err() == nil) {
			t.Errorf("%s: Err() = %v, want %v", tt.name, it.Err(), tt.err)
		}
		if _, _, ok := it.Next(); ok {
			t.Errorf("%s: Next after the end returned an option", tt.name)
		}
	}
}

func TestTCPOptionsAllocs(t *testing.T) {
	syn := optionsOf(t, capV4SYN)
	dss := optionsOf(t, capV4DSS)
	var o TCPOptions
	buf := make([]byte, 0, TCPMaxOptionsLen)
	allocs := testing.AllocsPerRun(100, func() {
		for _, in := range [][]byte{syn, dss} {
			if err := ParseTCPOptions(in, &o); err != nil {
				t.Fatal(err)
			}
			buf = o.Append(buf[:0])
		}
		it := NewOptionIter(dss)
		for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
		}
	})
	if allocs != 0 {
		t.Errorf("parse + append + iterate: %v allocs, want 0", allocs)
	}
}

func FuzzTCPOptions(f *testing.F) {
	for _, c := range capturedPackets {
		f.Add(optionsOf(f, c.hex))
	}
	for _, h := range tcpHeaderCases() {
		f.Add(h.Options.Append(nil))
	}
	for _, s := range []string{"", "00", "0101080a0000000100000002050a0000000100000002",
		"1e0350 1e0351 1e0352 1e0353 1e0354 fe02", "0202", "052a"} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var o TCPOptions
		if err := ParseTCPOptions(b, &o); err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) || !(errors.Is(err, ErrTruncated) || errors.Is(err, ErrBadLength)) {
				t.Fatalf("error %v is not an *OptionError wrapping ErrTruncated or ErrBadLength", err)
			}
			if d := cmp.Diff(TCPOptions{}, o); d != "" {
				t.Fatalf("options not zeroed after error:\n%s", d)
			}
			return
		}
		out := o.Append(nil)
		if len(out) != o.Len() || len(out) > TCPMaxOptionsLen || len(out)%4 != 0 {
			t.Fatalf("Append wrote %d bytes, Len() = %d", len(out), o.Len())
		}
		var back TCPOptions
		if err := ParseTCPOptions(out, &back); err != nil {
			t.Fatalf("re-parse of %x: %v", out, err)
		}
		if d := cmp.Diff(fittedOptions(&o), back, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip of %x (-want +got):\n%s", b, d)
		}
		// Emission is canonical: a second round is byte-identical.
		if again := back.Append(nil); string(again) != string(out) {
			t.Fatalf("second Append %x differs from first %x", again, out)
		}
	})
}
