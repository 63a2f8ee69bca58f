package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// This file also holds the helpers shared by the tests of the MPTCP
// signalling options (ADD_ADDR, REMOVE_ADDR, MP_PRIO, MP_FAIL,
// MP_FASTCLOSE, MP_TCPRST, MP_EXPERIMENTAL).

// sigCase is a well-formed option: its bytes, the value they decode to, the
// value's String, and the option lengths the parser accepts for the flags
// in these bytes.
type sigCase[T any] struct {
	name string
	b    []byte
	want T
	str  string
	lens []int
}

// sigBadCase is a malformed option and the sentinel error it must give.
type sigBadCase struct {
	name string
	b    []byte
	err  error
}

type sigValue interface {
	MPTCPOption
	fmt.Stringer
}

var sigCmpOpts = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

// sigSeeds returns the bytes of every case, for fuzz corpora.
func sigSeeds[T any](good []sigCase[T], bad []sigBadCase) [][]byte {
	var seeds [][]byte
	for _, c := range good {
		seeds = append(seeds, c.b)
	}
	for _, c := range bad {
		seeds = append(seeds, c.b)
	}
	return seeds
}

// testSigCodec checks a parser and its value type against the tables:
// decoding, encoding, String, every truncated prefix, every option length,
// wrong kinds and subtypes, the malformed cases, and allocations.
func testSigCodec[T sigValue](t *testing.T, st MPTCPSubtype, parse func([]byte) (T, int, error), good []sigCase[T], bad []sigBadCase) {
	t.Helper()
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, n, err := parse(c.b)
			if err != nil {
				t.Fatalf("parse(% x): %v", c.b, err)
			}
			if n != len(c.b) {
				t.Errorf("parse returned n = %d, want %d", n, len(c.b))
			}
			if d := cmp.Diff(c.want, got, sigCmpOpts); d != "" {
				t.Errorf("parse mismatch (-want +got):\n%s", d)
			}
			if s := got.String(); s != c.str {
				t.Errorf("String() = %q, want %q", s, c.str)
			}
			if got.Subtype() != st {
				t.Errorf("Subtype() = %v, want %v", got.Subtype(), st)
			}

			// Trailing bytes (further options) are not part of it.
			long := append(slices.Clone(c.b), OptionKindNOP, OptionKindMSS, 4, 5, 0xb4)
			got2, n2, err := parse(long)
			if err != nil || n2 != len(c.b) {
				t.Errorf("parse with trailing bytes: n = %d, err = %v; want %d, nil", n2, err, len(c.b))
			} else if d := cmp.Diff(got, got2, sigCmpOpts); d != "" {
				t.Errorf("parse with trailing bytes differs (-alone +followed):\n%s", d)
			}

			// Encoding reproduces the bytes and appends to b.
			if enc := c.want.Append(nil); !bytes.Equal(enc, c.b) {
				t.Errorf("Append(nil) = % x, want % x", enc, c.b)
			}
			if l := c.want.Len(); l != len(c.b) {
				t.Errorf("Len() = %d, want %d", l, len(c.b))
			}
			prefix := []byte{0xde, 0xad, 0xbe}
			buf := append(make([]byte, 0, 64), prefix...)
			enc := got.Append(buf)
			if !bytes.Equal(enc[:len(prefix)], prefix) || !bytes.Equal(enc[len(prefix):], c.b) {
				t.Errorf("Append(% x) = % x, want the prefix followed by % x", prefix, enc, c.b)
			}

			// Every truncated prefix is an error.
			for i := range len(c.b) {
				v, n, err := parse(c.b[:i])
				var oe *OptionError
				if !errors.Is(err, ErrTruncated) || !errors.As(err, &oe) {
					t.Errorf("parse(b[:%d]) error = %v, want an *OptionError wrapping ErrTruncated", i, err)
					continue
				}
				if oe.Kind != OptionKindMPTCP || oe.Subtype != st {
					t.Errorf("parse(b[:%d]) error names kind %d subtype %v, want %d %v", i, oe.Kind, oe.Subtype, OptionKindMPTCP, st)
				}
				var zero T
				if n != 0 || cmp.Diff(zero, v, sigCmpOpts) != "" {
					t.Errorf("parse(b[:%d]) returned n = %d and %v alongside an error", i, n, v)
				}
			}

			// Every option length other than the allowed ones is rejected.
			for l := range 256 {
				b := make([]byte, max(l, len(c.b)))
				copy(b, c.b)
				b[1] = byte(l)
				_, n, err := parse(b)
				switch {
				case slices.Contains(c.lens, l):
					if err != nil || n != l {
						t.Errorf("length %d: n = %d, err = %v; want %d, nil", l, n, err, l)
					}
				case !errors.Is(err, ErrBadLength):
					t.Errorf("length %d: err = %v, want ErrBadLength", l, err)
				}
			}

			// Another option kind, or another MPTCP subtype.
			b := slices.Clone(c.b)
			b[0] = OptionKindMSS
			if _, _, err := parse(b); !errors.Is(err, ErrWrongKind) {
				t.Errorf("kind 2: err = %v, want ErrWrongKind", err)
			}
			for other := range MPTCPSubtype(16) {
				if other == st {
					continue
				}
				b := slices.Clone(c.b)
				b[2] = byte(other)<<4 | b[2]&0x0f
				if _, _, err := parse(b); !errors.Is(err, ErrWrongKind) {
					t.Errorf("subtype %v: err = %v, want ErrWrongKind", other, err)
				}
			}
		})
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			v, n, err := parse(c.b)
			var oe *OptionError
			if !errors.Is(err, c.err) || !errors.As(err, &oe) {
				t.Fatalf("parse(% x) error = %v, want an *OptionError wrapping %v", c.b, err, c.err)
			}
			if err.Error() == "" {
				t.Error("empty error message")
			}
			var zero T
			if n != 0 || cmp.Diff(zero, v, sigCmpOpts) != "" {
				t.Errorf("returned n = %d and %v alongside an error", n, v)
			}
		})
	}
	if len(good) > 0 {
		t.Run("allocs", func(t *testing.T) {
			c := good[len(good)-1]
			var v T
			var err error
			buf := make([]byte, 0, 64)
			if a := testing.AllocsPerRun(100, func() { v, _, err = parse(c.b) }); a != 0 || err != nil {
				t.Errorf("parse: %v allocations, err = %v; want 0, nil", a, err)
			}
			if a := testing.AllocsPerRun(100, func() { buf = v.Append(buf[:0]) }); a != 0 {
				t.Errorf("Append: %v allocations, want 0", a)
			}
		})
	}
}

// fuzzSig is the body of the fuzz targets: a parsed option re-encodes to
// exactly the bytes it was parsed from, and parses again to the same value.
func fuzzSig[T sigValue](t *testing.T, parse func([]byte) (T, int, error), data []byte) {
	v, n, err := parse(data)
	if err != nil {
		var oe *OptionError
		if !errors.As(err, &oe) {
			t.Fatalf("error %v is not an *OptionError", err)
		}
		return
	}
	if n < 3 || n > len(data) {
		t.Fatalf("n = %d for %d bytes", n, len(data))
	}
	enc := v.Append(nil)
	if !bytes.Equal(enc, data[:n]) {
		t.Fatalf("re-encoded % x, parsed from % x", enc, data[:n])
	}
	if v.Len() != n {
		t.Fatalf("Len() = %d, parsed length %d", v.Len(), n)
	}
	v2, n2, err := parse(enc)
	if err != nil || n2 != n {
		t.Fatalf("re-parse: n = %d, err = %v", n2, err)
	}
	if enc2 := v2.Append(nil); !bytes.Equal(enc2, enc) {
		t.Fatalf("re-parsed value encodes to % x, not % x", enc2, enc)
	}
	if v.String() == "" {
		t.Fatal("empty String()")
	}
}

// sigTCPSegment builds a TCP segment by hand: a 20-byte header with the
// given ports, sequence numbers and flags, followed by opts padded with NOPs
// to a multiple of 4 bytes.
func sigTCPSegment(t *testing.T, sport, dport uint16, seq, ack uint32, flags byte, opts []byte) []byte {
	t.Helper()
	opts = slices.Clone(opts)
	for len(opts)%4 != 0 {
		opts = append(opts, OptionKindNOP)
	}
	if len(opts) > 40 {
		t.Fatalf("%d option bytes do not fit in a TCP header", len(opts))
	}
	seg := make([]byte, 20, 20+len(opts))
	binary.BigEndian.PutUint16(seg[0:], sport)
	binary.BigEndian.PutUint16(seg[2:], dport)
	binary.BigEndian.PutUint32(seg[4:], seq)
	binary.BigEndian.PutUint32(seg[8:], ack)
	seg[12] = byte((20+len(opts))/4) << 4 // data offset
	seg[13] = flags
	binary.BigEndian.PutUint16(seg[14:], 65535) // window
	return append(seg, opts...)
}

// TCP flags used by the test segments.
const (
	sigFlagSYN = 0x02
	sigFlagRST = 0x04
	sigFlagACK = 0x10
)

// sigGopacketOption decodes opt, one MPTCP option, inside a hand-built TCP
// header with gopacket's layers.TCP, and returns the MPTCP option gopacket
// reports. ok is false if gopacket did not decode one.
func sigGopacketOption(t *testing.T, opt []byte) (o layers.TCPOption, ok bool) {
	t.Helper()
	var tcp layers.TCP
	if err := tcp.DecodeFromBytes(sigTCPSegment(t, 40000, 80, 1, 1, sigFlagACK, opt), gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	for _, o := range tcp.Options {
		if o.OptionType == layers.TCPOptionKindMultipathTCP {
			return o, true
		}
	}
	return layers.TCPOption{}, false
}

// sigTsharkFields writes the TCP segments, each in an IPv4 packet from
// 10.0.0.1 to 10.0.0.2 or back (fromB), to a capture file, has tshark
// dissect it with MPTCP analysis on, and returns the values of fields for
// each frame (several occurrences joined by commas). It skips the test if
// tshark is not installed.
func sigTsharkFields(t *testing.T, segs [][]byte, fromB []bool, fields []string) [][]string {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed; the Wireshark oracle is skipped")
	}
	path := filepath.Join(t.TempDir(), "mptcp.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeIPv4); err != nil {
		t.Fatal(err)
	}
	a, b := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	for i, seg := range segs {
		src, dst := a, b
		if fromB != nil && fromB[i] {
			src, dst = b, a
		}
		ip := make([]byte, 20, 20+len(seg))
		ip[0] = 0x45                                            // version 4, 20-byte header
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(seg))) // total length
		ip[8] = 64                                              // TTL
		ip[9] = 6                                               // TCP
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		binary.BigEndian.PutUint16(ip[10:], ChecksumFold(ChecksumAdd(0, ip)))
		pkt := append(ip, seg...)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(pkt), Length: len(pkt)}
		if err := w.WritePacket(ci, pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	args := []string{"-r", path, "-o", "mptcp.analyze_mptcp:TRUE", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, fl := range fields {
		args = append(args, "-e", fl)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(segs) {
		t.Fatalf("tshark printed %d frames, want %d:\n%s", len(lines), len(segs), out)
	}
	var rows [][]string
	for _, l := range lines {
		row := strings.Split(l, "\t")
		if len(row) != len(fields) {
			t.Fatalf("tshark printed %d fields, want %d: %q", len(row), len(fields), l)
		}
		rows = append(rows, row)
	}
	return rows
}

func sigAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

var (
	addAddrEchoLens = []int{8, 10, 20, 22}
	addAddrHMACLens = []int{16, 18, 28, 30}
)

var addAddrCases = []sigCase[AddAddr]{
	{
		name: "IPv4 echo",
		b:    []byte{30, 8, 0x31, 5, 10, 0, 0, 3},
		want: AddAddr{Echo: true, AddrID: 5, Addr: sigAddr("10.0.0.3")},
		str:  "ADD_ADDR echo id=5 addr=10.0.0.3",
		lens: addAddrEchoLens,
	},
	{
		name: "IPv4 echo port",
		b:    []byte{30, 10, 0x31, 5, 10, 0, 0, 3, 0x1f, 0x90},
		want: AddAddr{Echo: true, AddrID: 5, Addr: sigAddr("10.0.0.3"), HasPort: true, Port: 8080},
		str:  "ADD_ADDR echo id=5 addr=10.0.0.3 port=8080",
		lens: addAddrEchoLens,
	},
	{
		name: "IPv4 HMAC",
		b:    []byte{30, 16, 0x30, 1, 192, 0, 2, 1, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
		want: AddAddr{AddrID: 1, Addr: sigAddr("192.0.2.1"), HMAC: 0x0123456789abcdef},
		str:  "ADD_ADDR id=1 addr=192.0.2.1 hmac=0x0123456789abcdef",
		lens: addAddrHMACLens,
	},
	{
		name: "IPv4 port HMAC",
		b:    []byte{30, 18, 0x30, 12, 198, 51, 100, 2, 0x10, 0xe1, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10},
		want: AddAddr{AddrID: 12, Addr: sigAddr("198.51.100.2"), HasPort: true, Port: 4321, HMAC: 0xfedcba9876543210},
		str:  "ADD_ADDR id=12 addr=198.51.100.2 port=4321 hmac=0xfedcba9876543210",
		lens: addAddrHMACLens,
	},
	{
		name: "IPv6 echo",
		b: []byte{30, 20, 0x31, 7,
			0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		want: AddAddr{Echo: true, AddrID: 7, Addr: sigAddr("2001:db8::1")},
		str:  "ADD_ADDR echo id=7 addr=2001:db8::1",
		lens: addAddrEchoLens,
	},
	{
		name: "IPv6 echo port",
		b: []byte{30, 22, 0x31, 7,
			0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x50},
		want: AddAddr{Echo: true, AddrID: 7, Addr: sigAddr("2001:db8::1"), HasPort: true, Port: 80},
		str:  "ADD_ADDR echo id=7 addr=2001:db8::1 port=80",
		lens: addAddrEchoLens,
	},
	{
		name: "IPv6 HMAC",
		b: []byte{30, 28, 0x30, 255,
			0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55,
			0x80, 0, 0, 0, 0, 0, 0, 1},
		want: AddAddr{AddrID: 255, Addr: sigAddr("fe80::211:22ff:fe33:4455"), HMAC: 0x8000000000000001},
		str:  "ADD_ADDR id=255 addr=fe80::211:22ff:fe33:4455 hmac=0x8000000000000001",
		lens: addAddrHMACLens,
	},
	{
		name: "IPv6 port HMAC",
		b: []byte{30, 30, 0x30, 0,
			0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0xff, 0xff,
			0, 0, 0, 0, 0, 0, 0, 0},
		want: AddAddr{AddrID: 0, Addr: sigAddr("2001:db8:1:2:3:4:5:6"), HasPort: true, Port: 65535},
		str:  "ADD_ADDR id=0 addr=2001:db8:1:2:3:4:5:6 port=65535 hmac=0x0000000000000000",
		lens: addAddrHMACLens,
	},
	{
		name: "IPv4-mapped IPv6 stays IPv6",
		b: []byte{30, 20, 0x31, 9,
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 3},
		want: AddAddr{Echo: true, AddrID: 9, Addr: sigAddr("::ffff:10.0.0.3")},
		str:  "ADD_ADDR echo id=9 addr=::ffff:10.0.0.3",
		lens: addAddrEchoLens,
	},
	{
		name: "zero port present",
		b:    []byte{30, 10, 0x31, 5, 10, 0, 0, 3, 0, 0},
		want: AddAddr{Echo: true, AddrID: 5, Addr: sigAddr("10.0.0.3"), HasPort: true},
		str:  "ADD_ADDR echo id=5 addr=10.0.0.3 port=0",
		lens: addAddrEchoLens,
	},
	{
		// From Linux 6.18 (see cryptoLinuxConns): id 5, port 10100.
		name: "Linux IPv4 port HMAC",
		b:    []byte{30, 18, 0x30, 5, 10, 99, 2, 2, 0x27, 0x74, 0x10, 0x59, 0x84, 0x67, 0x8f, 0x9b, 0xa7, 0x81},
		want: AddAddr{AddrID: 5, Addr: sigAddr("10.99.2.2"), HasPort: true, Port: 10100, HMAC: 0x105984678f9ba781},
		str:  "ADD_ADDR id=5 addr=10.99.2.2 port=10100 hmac=0x105984678f9ba781",
		lens: addAddrHMACLens,
	},
	{
		name: "Linux IPv4 echo port",
		b:    []byte{30, 10, 0x31, 5, 10, 99, 2, 2, 0x27, 0x74},
		want: AddAddr{Echo: true, AddrID: 5, Addr: sigAddr("10.99.2.2"), HasPort: true, Port: 10100},
		str:  "ADD_ADDR echo id=5 addr=10.99.2.2 port=10100",
		lens: addAddrEchoLens,
	},
	{
		name: "Linux IPv6 HMAC",
		b: []byte{30, 28, 0x30, 7,
			0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
			0x95, 0x21, 0x85, 0xd0, 0x2e, 0x4f, 0x71, 0x02},
		want: AddAddr{AddrID: 7, Addr: sigAddr("2001:db8:2::2"), HMAC: 0x952185d02e4f7102},
		str:  "ADD_ADDR id=7 addr=2001:db8:2::2 hmac=0x952185d02e4f7102",
		lens: addAddrHMACLens,
	},
	{
		name: "reserved bits kept",
		b:    []byte{30, 8, 0x3f, 5, 10, 0, 0, 3},
		want: AddAddr{Reserved: 7, Echo: true, AddrID: 5, Addr: sigAddr("10.0.0.3")},
		str:  "ADD_ADDR echo id=5 addr=10.0.0.3 rsv=0x7",
		lens: addAddrEchoLens,
	},
}

var addAddrBadCases = []sigBadCase{
	{"empty", nil, ErrTruncated},
	{"length 2", []byte{30, 2, 0x30}, ErrBadLength},
	{"IPv4 HMAC length with E=1", []byte{30, 16, 0x31, 1, 192, 0, 2, 1, 1, 2, 3, 4, 5, 6, 7, 8}, ErrBadLength},
	{"IPv4 echo length with E=0", []byte{30, 8, 0x30, 1, 192, 0, 2, 1}, ErrBadLength},
	{"IPv6 echo length with E=0", append([]byte{30, 20, 0x30, 1}, make([]byte, 16)...), ErrBadLength},
	{"length 9", []byte{30, 9, 0x31, 1, 192, 0, 2, 1, 0}, ErrBadLength},
	{"length 12 (RFC 6824 IPv4 + port + 2)", []byte{30, 12, 0x34, 1, 192, 0, 2, 1, 0, 80, 0, 0}, ErrBadLength},
	{"RFC 6824 IPv4 form", []byte{30, 8, 0x34, 1, 192, 0, 2, 1}, ErrBadLength},
	{"truncated HMAC", []byte{30, 16, 0x30, 1, 192, 0, 2, 1, 1, 2, 3, 4, 5, 6, 7}, ErrTruncated},
	{"REMOVE_ADDR subtype", []byte{30, 4, 0x40, 1}, ErrWrongKind},
	{"not MPTCP", []byte{2, 4, 5, 0xb4}, ErrWrongKind},
}

func TestAddAddr(t *testing.T) {
	testSigCodec(t, SubtypeAddAddr, ParseAddAddr, addAddrCases, addAddrBadCases)
}

func FuzzParseAddAddr(f *testing.F) {
	for _, s := range sigSeeds(addAddrCases, addAddrBadCases) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSig(t, ParseAddAddr, data) })
}

func TestAddAddrAppendRoundTrip(t *testing.T) {
	// Values built by a sender, including fields Append must mask or skip.
	for _, a := range []AddAddr{
		{AddrID: 3, Addr: sigAddr("203.0.113.9"), HMAC: 42},
		{AddrID: 3, Addr: sigAddr("203.0.113.9"), HasPort: true, Port: 1, HMAC: 1 << 63},
		{Echo: true, AddrID: 3, Addr: sigAddr("2001:db8::42"), HasPort: true, Port: 443},
		{AddrID: 200, Addr: sigAddr("::1"), HMAC: 0xffffffffffffffff},
	} {
		enc := a.Append(nil)
		got, n, err := ParseAddAddr(enc)
		if err != nil || n != len(enc) || n != a.Len() {
			t.Fatalf("%v: parse(% x): n = %d, err = %v; Len() = %d", a, enc, n, err, a.Len())
		}
		if d := cmp.Diff(a, got, sigCmpOpts); d != "" {
			t.Errorf("round trip mismatch (-sent +parsed):\n%s", d)
		}
	}

	// An echo carries no HMAC, whatever the HMAC field holds; a zone is
	// not sent; Reserved is masked to its 3 bits.
	got, _, err := ParseAddAddr(AddAddr{Echo: true, Reserved: 0xff, AddrID: 1, Addr: sigAddr("fe80::1%eth0"), HMAC: 99}.Append(nil))
	want := AddAddr{Echo: true, Reserved: 7, AddrID: 1, Addr: sigAddr("fe80::1")}
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, sigCmpOpts); d != "" {
		t.Errorf("mismatch (-want +got):\n%s", d)
	}
}

func TestAddAddrAppendInvalidAddrPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Append of an ADD_ADDR without an address did not panic")
		}
	}()
	AddAddr{AddrID: 1}.Append(nil)
}

func TestAddAddrGopacket(t *testing.T) {
	for _, c := range addAddrCases {
		if c.want.Reserved != 0 {
			// gopacket reads a non-zero nibble above E as an RFC 6824
			// IPVer field and decodes another format.
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			o, ok := sigGopacketOption(t, c.b)
			if !ok || o.OptionMPTCPAddAddr == nil {
				t.Fatalf("gopacket did not decode % x as ADD_ADDR", c.b)
			}
			g := o.OptionMPTCPAddAddr
			addr, _ := netip.AddrFromSlice(g.Address)
			if g.E != c.want.Echo || g.AddrID != c.want.AddrID || addr != c.want.Addr || g.Port != c.want.Port {
				t.Errorf("gopacket: E=%v id=%d addr=%v port=%d; ours %v", g.E, g.AddrID, addr, g.Port, c.want)
			}
			// gopacket slices SendHMAC from the HMAC's start to the end
			// of the whole option area, so it also holds any bytes that
			// follow the option (here the NOP padding): use its first 8.
			var hmac uint64
			if len(g.SendHMAC) >= TruncatedHMACLen {
				hmac = binary.BigEndian.Uint64(g.SendHMAC)
			}
			if (len(g.SendHMAC) != 0) == c.want.Echo || hmac != c.want.HMAC {
				t.Errorf("gopacket HMAC % x, ours %#x (echo %v)", g.SendHMAC, c.want.HMAC, c.want.Echo)
			}
		})
	}
}

// sigTsharkFieldNames are the Wireshark fields TestSigTshark compares.
var sigTsharkFieldNames = []string{
	"tcp.options.mptcp.subtype",
	"tcp.options.mptcp.addrid",
	"tcp.options.mptcp.ipv4",
	"tcp.options.mptcp.ipv6",
	"tcp.options.mptcp.port",
	"tcp.options.mptcp.echo",
	"tcp.options.mptcp.addaddrtrunchmac",
	"mptcp.rm_addr.count",
	"tcp.options.mptcp.backup.flag",
	"tcp.options.mptcp.rawdataseqno",
	"tcp.options.mptcp.recvkey",
	"tcp.options.mptcp.flag_U.flag",
	"tcp.options.mptcp.flag_V.flag",
	"tcp.options.mptcp.flag_W.flag",
	"tcp.options.mptcp.flag_T.flag",
	"tcp.options.mptcp.rst_reason",
}

// sigTsharkWant gives the values Wireshark should show for v, from our
// decoding of it.
func sigTsharkWant(v MPTCPOption) map[string]string {
	m := map[string]string{"tcp.options.mptcp.subtype": fmt.Sprint(uint8(v.Subtype()))}
	b01 := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	switch v := v.(type) {
	case AddAddr:
		m["tcp.options.mptcp.addrid"] = fmt.Sprint(v.AddrID)
		if v.Addr.Is4() {
			m["tcp.options.mptcp.ipv4"] = v.Addr.String()
		} else {
			m["tcp.options.mptcp.ipv6"] = v.Addr.String()
		}
		if v.HasPort {
			m["tcp.options.mptcp.port"] = fmt.Sprint(v.Port)
		}
		m["tcp.options.mptcp.echo"] = b01(v.Echo)
		if !v.Echo {
			m["tcp.options.mptcp.addaddrtrunchmac"] = fmt.Sprint(v.HMAC)
		}
	case RemoveAddr:
		ids := make([]string, len(v.IDs))
		for i, id := range v.IDs {
			ids[i] = fmt.Sprint(id)
		}
		m["tcp.options.mptcp.addrid"] = strings.Join(ids, ",")
		m["mptcp.rm_addr.count"] = fmt.Sprint(len(v.IDs))
	case MPPrio:
		m["tcp.options.mptcp.backup.flag"] = b01(v.Backup)
		if v.HasAddrID {
			m["tcp.options.mptcp.addrid"] = fmt.Sprint(v.AddrID)
		}
	case MPFail:
		m["tcp.options.mptcp.rawdataseqno"] = fmt.Sprint(v.DSN)
	case MPFastClose:
		m["tcp.options.mptcp.recvkey"] = fmt.Sprint(v.ReceiverKey)
	case MPTCPRST:
		m["tcp.options.mptcp.flag_U.flag"] = b01(v.U)
		m["tcp.options.mptcp.flag_V.flag"] = b01(v.V)
		m["tcp.options.mptcp.flag_W.flag"] = b01(v.W)
		m["tcp.options.mptcp.flag_T.flag"] = b01(v.T)
		m["tcp.options.mptcp.rst_reason"] = fmt.Sprintf("0x%02x", uint8(v.Reason))
	}
	return m
}

// TestSigTshark has Wireshark's MPTCP dissector decode every well-formed
// case and compares what it shows with our decoding.
func TestSigTshark(t *testing.T) {
	type frame struct {
		name string
		b    []byte
		v    MPTCPOption
	}
	var frames []frame
	add := func(name string, b []byte, v MPTCPOption) { frames = append(frames, frame{name, b, v}) }
	for _, c := range addAddrCases {
		add(c.name, c.b, c.want)
	}
	for _, c := range removeAddrCases {
		add(c.name, c.b, c.want)
	}
	for _, c := range mpPrioCases {
		add(c.name, c.b, c.want)
	}
	for _, c := range mpFailCases {
		add(c.name, c.b, c.want)
	}
	for _, c := range mpFastCloseCases {
		add(c.name, c.b, c.want)
	}
	for _, c := range mpTCPRSTCases {
		add(c.name, c.b, c.want)
	}
	for _, c := range mpExperimentalCases {
		add(c.name, c.b, c.want)
	}
	segs := make([][]byte, len(frames))
	for i, f := range frames {
		flags := byte(sigFlagACK)
		if f.v.Subtype() == SubtypeMPTCPRST || f.v.Subtype() == SubtypeMPFastClose {
			flags |= sigFlagRST
		}
		segs[i] = sigTCPSegment(t, 40000, 80, uint32(1000*i+1), 1, flags, f.b)
	}
	rows := sigTsharkFields(t, segs, nil, sigTsharkFieldNames)
	for i, f := range frames {
		want := sigTsharkWant(f.v)
		for j, name := range sigTsharkFieldNames {
			got := rows[i][j]
			if name == "tcp.options.mptcp.ipv6" && got != "" {
				if a, err := netip.ParseAddr(got); err == nil {
					got = a.String()
				}
			}
			if got != want[name] {
				t.Errorf("%v %s: Wireshark %s = %q, ours %q", f.v.Subtype(), f.name, name, got, want[name])
			}
		}
	}
}
