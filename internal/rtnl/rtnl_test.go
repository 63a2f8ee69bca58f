package rtnl

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpAddr = cmpopts.EquateComparable(netip.Addr{})

// msg decodes a message written as hex, with spaces and newlines between
// the fields for reading. The byte literals are in little-endian byte
// order, the order of the hosts they were captured on.
func msg(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// skipUnlessLittleEndian skips tests whose byte literals hold host-order
// integers of a little-endian machine.
func skipUnlessLittleEndian(t testing.TB) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("rtnl: the byte literals are little-endian captures")
	}
}

// Messages captured from Linux 6.18 (veth pairs in a network namespace,
// configured with ip). Link messages are cut after IFLA_MTU: the rest
// (statistics, IFLA_AF_SPEC, …) holds nothing the package reads.
var (
	// RTM_NEWLINK: gmtv0, index 3, ARPHRD_ETHER, IFF_UP|IFF_BROADCAST|
	// IFF_RUNNING|IFF_MULTICAST|IFF_LOWER_UP; IFLA_IFNAME, IFLA_TXQLEN,
	// IFLA_OPERSTATE, IFLA_LINKMODE, IFLA_NETNS_IMMUTABLE, IFLA_MTU.
	realNewLinkUp = msg(`00 00 0100 03000000 43100100 00000000
		0a00 0300 676d747630000000  0800 0d00 e8030000  0500 1000 06000000
		0500 1100 00000000  0500 4300 00000000  0800 0400 dc050000`)
	// RTM_DELLINK: gmtv0, index 3, IFF_BROADCAST|IFF_MULTICAST, ifi_change
	// ~0; IFLA_IFNAME, then the two empty nests that end the message
	// (IFLA_DEVLINK_PORT and IFLA_DPLL_PIN, types with NLA_F_NESTED set).
	realDelLink = msg(`00 00 0100 03000000 02100000 ffffffff
		0a00 0300 676d747630000000  0400 3e80  0400 4180`)
	// RTM_NEWADDR: 10.0.1.1/24 on index 3, IFA_F_PERMANENT, label gmtv0:a.
	realNewAddrV4Label = msg(`02 18 80 00 03000000
		0800 0100 0a000101  0800 0200 0a000101  0c00 0300 676d7476303a6100
		0800 0800 80000000  1400 0600 ffffffff ffffffff bb530700 bb530700`)
	// RTM_NEWADDR: 10.9.9.1 peer 10.9.9.2/32 on index 2; IFA_ADDRESS (the
	// peer) comes before IFA_LOCAL.
	realNewAddrV4Peer = msg(`02 20 80 00 02000000
		0800 0100 0a090902  0800 0200 0a090901  0a00 0300 676d747631000000
		0800 0800 80000000  1400 0600 ffffffff ffffffff bc530700 bc530700`)
	// RTM_NEWADDR: fd00::1/64 on index 3, IFA_F_PERMANENT|IFA_F_NODAD.
	realNewAddrV6NoDAD = msg(`0a 40 82 00 03000000
		1400 0100 fd000000000000000000000000000001
		1400 0600 ffffffff ffffffff bc530700 bc530700  0800 0800 82000000`)
	// RTM_DELADDR: fe80::7829:bdff:fe00:2c72/64, RT_SCOPE_LINK, on index 3,
	// IFA_F_PERMANENT|IFA_F_TENTATIVE; ends with IFA_PROTO.
	realDelAddrV6LinkLocal = msg(`0a 40 c0 fd 03000000
		1400 0100 fe800000000000007829bdfffe002c72
		1400 0600 ffffffff ffffffff bb530700 bb530700  0800 0800 c0000000
		0500 0b00 03000000`)
)

func TestParse(t *testing.T) {
	skipUnlessLittleEndian(t)
	link := func(typ uint16, l Link) Message { return Message{Type: typ, Link: l} }
	addr := func(typ uint16, a Addr) Message { return Message{Type: typ, Addr: a} }
	tests := []struct {
		name string
		data []byte
		want Message
	}{
		{"captured RTM_NEWLINK", realNewLinkUp, link(RTMNewLink,
			Link{Type: 1, Index: 3, Flags: IFFUp | 0x2 | IFFRunning | 0x1000 | IFFLowerUp, Name: "gmtv0", MTU: 1500})},
		{"captured RTM_DELLINK with nests", realDelLink, link(RTMDelLink,
			Link{Type: 1, Index: 3, Flags: 0x2 | 0x1000, Change: 0xffffffff, Name: "gmtv0"})},
		{"link without attributes", msg(`00 00 0000 07000000 00000000 00000000`), link(RTMNewLink, Link{Index: 7})},
		{"bridge port", msg(`07 00 0100 02000000 00000000 00000000  0800 0300 62723000`), link(RTMNewLink,
			Link{Family: 7, Type: 1, Index: 2, Name: "br0"})},
		{"flags in the attribute type are cleared", msg(`00 00 0000 02000000 00000000 00000000  0900 0380 65746830 00000000`),
			link(RTMNewLink, Link{Index: 2, Name: "eth0"})},
		{"last attribute without padding", msg(`00 00 0000 02000000 00000000 00000000  0900 0300 6574683000`),
			link(RTMNewLink, Link{Index: 2, Name: "eth0"})},
		{"bytes after the NUL", msg(`00 00 0000 02000000 00000000 00000000  0c00 0300 65746830 00787900`),
			link(RTMNewLink, Link{Index: 2, Name: "eth0"})},
		{"longest name", msg(`00 00 0000 02000000 00000000 00000000  1400 0300 6162636465666768696a6b6c6d6e6f00`),
			link(RTMNewLink, Link{Index: 2, Name: "abcdefghijklmno"})},
		{"the last IFLA_MTU counts", msg(`00 00 0000 02000000 00000000 00000000  0800 0400 dc050000  0800 0400 00050000`),
			link(RTMNewLink, Link{Index: 2, MTU: 1280})},
		{"unknown attribute of odd length", msg(`00 00 0000 02000000 00000000 00000000  0500 7f00 01000000  0800 0400 dc050000`),
			link(RTMDelLink, Link{Index: 2, MTU: 1500})},

		{"captured IPv4 with label", realNewAddrV4Label, addr(RTMNewAddr,
			Addr{Addr: netip.MustParseAddr("10.0.1.1"), PrefixLen: 24, IfIndex: 3, Flags: IFAFPermanent, Label: "gmtv0:a"})},
		{"captured IPv4 with a peer: IFA_LOCAL wins", realNewAddrV4Peer, addr(RTMNewAddr,
			Addr{Addr: netip.MustParseAddr("10.9.9.1"), PrefixLen: 32, IfIndex: 2, Flags: IFAFPermanent, Label: "gmtv1"})},
		{"captured IPv6 without IFA_LOCAL", realNewAddrV6NoDAD, addr(RTMNewAddr,
			Addr{Addr: netip.MustParseAddr("fd00::1"), PrefixLen: 64, IfIndex: 3, Flags: IFAFPermanent | IFAFNoDAD})},
		{"captured link-local IPv6", realDelAddrV6LinkLocal, addr(RTMDelAddr,
			Addr{Addr: netip.MustParseAddr("fe80::7829:bdff:fe00:2c72"), PrefixLen: 64, IfIndex: 3,
				Flags: IFAFPermanent | IFAFTentative, Scope: ScopeLink})},
		{"IFA_FLAGS supersedes ifa_flags", msg(`0a 40 40 00 05000000  1400 0100 fd000000000000000000000000000001  0800 0800 02010000`),
			addr(RTMNewAddr, Addr{Addr: netip.MustParseAddr("fd00::1"), PrefixLen: 64, IfIndex: 5, Flags: 0x102})},
		{"ifa_flags without IFA_FLAGS", msg(`0a 40 40 00 05000000  1400 0100 fd000000000000000000000000000001`),
			addr(RTMNewAddr, Addr{Addr: netip.MustParseAddr("fd00::1"), PrefixLen: 64, IfIndex: 5, Flags: IFAFTentative})},
		{"IPv4-mapped address in an IPv6 message", msg(`0a 80 00 fe 01000000  1400 0200 00000000000000000000ffff7f000001`),
			addr(RTMNewAddr, Addr{Addr: netip.MustParseAddr("::ffff:127.0.0.1"), PrefixLen: 128, IfIndex: 1, Scope: ScopeHost})},
		{"prefix length 0", msg(`02 00 00 00 01000000  0800 0200 c0000207`),
			addr(RTMDelAddr, Addr{Addr: netip.MustParseAddr("192.0.2.7"), IfIndex: 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.want.Type, tt.data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpAddr); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// ParseLink or ParseAddr, which Parse calls, agrees.
			if l, err := ParseLink(tt.data); got.Type <= RTMDelLink && (err != nil || l != got.Link) {
				t.Errorf("ParseLink = %+v, %v", l, err)
			}
			if a, err := ParseAddr(tt.data); got.Type >= RTMNewAddr && (err != nil || a != got.Addr) {
				t.Errorf("ParseAddr = %+v, %v", a, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	skipUnlessLittleEndian(t)
	for _, tt := range []struct {
		name   string
		typ    uint16
		data   string
		family bool // the error wraps ErrFamily, not ErrMalformed
	}{
		{"RTM_NEWROUTE", 24, `02 18 00 00 01000000  0800 0200 0a000001`, false},
		{"RTM_GETLINK", RTMGetLink, `00 00 0000 03000000 00000000 00000000`, false},

		{"empty link message", RTMNewLink, ``, false},
		{"short link header", RTMNewLink, `00 00 0000 03000000 00000000 000000`, false},
		{"link index 0", RTMNewLink, `00 00 0000 00000000 00000000 00000000`, false},
		{"negative link index", RTMDelLink, `00 00 0000 feffffff 00000000 00000000`, false},
		{"IFLA_MTU of 2 bytes", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0600 0400 0102 0000`, false},
		{"IFLA_MTU of 8 bytes", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0c00 0400 dc05000000000000`, false},
		{"attribute cut short", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0a00 0300 676d`, false},
		{"attribute length 0", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0000 0300`, false},
		{"link attribute length below its header", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0200 0300`, false},
		{"trailing bytes after a link attribute", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0800 0400 dc050000  0100`, false},
		{"name without NUL", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0800 0300 65746830`, false},
		{"empty IFLA_IFNAME", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0400 0300`, false},
		{"name longer than IFNAMSIZ", RTMNewLink, `00 00 0000 03000000 00000000 00000000  1500 0300 6162636465666768696a6b6c6d6e6f7000 000000`, false},
		{"a bad attribute after a good one", RTMNewLink, `00 00 0000 03000000 00000000 00000000  0800 0400 dc050000  0700 0300 6574`, false},

		{"empty address message", RTMNewAddr, ``, false},
		{"short address header", RTMNewAddr, `02 18 00`, false},
		{"AF_PACKET", RTMNewAddr, `11 00 00 00 01000000`, true},
		{"AF_UNSPEC", RTMDelAddr, `00 00 00 00 01000000  0800 0200 0a000001`, true},
		{"IPv4 prefix of 33 bits", RTMNewAddr, `02 21 00 00 01000000  0800 0200 0a000001`, false},
		{"IPv6 prefix of 129 bits", RTMNewAddr, `0a 81 00 00 01000000  1400 0100 fd000000000000000000000000000001`, false},
		{"address index 0", RTMNewAddr, `02 18 00 00 00000000  0800 0200 0a000001`, false},
		{"negative address index", RTMNewAddr, `02 18 00 00 ffffffff  0800 0200 0a000001`, false},
		{"no address", RTMNewAddr, `02 18 00 00 04000000`, false},
		{"only a label", RTMNewAddr, `02 18 00 00 04000000  0900 0300 65746830 00000000`, false},
		{"IPv6 address in an IPv4 message", RTMNewAddr, `02 18 00 00 04000000  1400 0200 fd000000000000000000000000000001`, false},
		{"IPv4 address in an IPv6 message", RTMNewAddr, `0a 40 00 00 04000000  0800 0100 0a000001`, false},
		{"address of 5 bytes", RTMNewAddr, `0a 40 00 00 04000000  0900 0200 fd00000000 000000`, false},
		{"IFA_FLAGS of 2 bytes", RTMNewAddr, `02 18 00 00 01000000  0800 0200 0a000001  0600 0800 0102 0000`, false},
		{"label without NUL", RTMNewAddr, `02 18 00 00 01000000  0800 0200 0a000001  0800 0300 65746830`, false},
		{"address attribute length past the end", RTMNewAddr, `02 18 00 00 01000000  2800 0200 0a000001`, false},
		{"address attribute length below its header", RTMNewAddr, `02 18 00 00 01000000  0200 0200`, false},
		{"trailing bytes after an address attribute", RTMNewAddr, `02 18 00 00 01000000  0800 0200 0a000001  0102`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.typ, msg(tt.data))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", m)
			}
			if errors.Is(err, ErrFamily) != tt.family || errors.Is(err, ErrMalformed) == tt.family {
				t.Errorf("error %v: ErrFamily %v, ErrMalformed %v; want ErrFamily %v",
					err, errors.Is(err, ErrFamily), errors.Is(err, ErrMalformed), tt.family)
			}
			if m != (Message{}) {
				t.Errorf("Parse returned %+v with its error", m)
			}
		})
	}
}

// TestTruncated parses every prefix of the captured messages: a cut inside
// the header or an attribute fails; a cut at an attribute boundary leaves
// a valid message whose fields are those of the full one, less the
// attributes cut off.
func TestTruncated(t *testing.T) {
	skipUnlessLittleEndian(t)
	for _, m := range seeds() {
		full, err := Parse(m.typ, m.data)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		for n := range len(m.data) {
			got, err := Parse(m.typ, m.data[:n])
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("%s[:%d]: error %v does not wrap ErrMalformed", m.name, n, err)
				}
				continue
			}
			if n < SizeofIfAddrmsg {
				t.Errorf("%s[:%d]: parsed %+v from less than a header", m.name, n, got)
			}
			if got.Link.Index != full.Link.Index || got.Link.Flags != full.Link.Flags ||
				got.Addr.IfIndex != full.Addr.IfIndex || got.Addr.PrefixLen != full.Addr.PrefixLen {
				t.Errorf("%s[:%d] = %+v, want the header of %+v", m.name, n, got, full)
			}
		}
	}
}

func TestAppend(t *testing.T) {
	skipUnlessLittleEndian(t)
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"link request: up, MTU 1280",
			Link{Index: 5, Flags: IFFUp, Change: IFFUp, MTU: 1280}.Append(nil),
			`00 00 0000 05000000 01000000 01000000  0800 0400 00050000`},
		{"link lookup by name",
			Link{Name: "gmt0"}.Append(nil),
			`00 00 0000 00000000 00000000 00000000  0900 0300 676d7430 00000000`},
		{"IPv6 address",
			Addr{Addr: netip.MustParseAddr("fd00::1"), PrefixLen: 64, IfIndex: 6, Flags: IFAFNoDAD}.Append(nil),
			`0a 40 02 00 06000000  1400 0100 fd000000000000000000000000000001
			1400 0200 fd000000000000000000000000000001  0800 0800 02000000`},
		{"IPv4 address with label, appended to a buffer",
			Addr{Addr: netip.MustParseAddr("10.0.1.1"), PrefixLen: 24, IfIndex: 3, Flags: 0x180, Label: "gmtv0:a"}.Append([]byte{0xaa}),
			`aa  02 18 80 00 03000000  0800 0100 0a000101  0800 0200 0a000101
			0c00 0300 676d7476303a6100  0800 0800 80010000`},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(msg(tt.want), tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestRoundTrip checks that Append inverts Parse, for the captured
// messages and for values at the edges of their fields.
func TestRoundTrip(t *testing.T) {
	msgs := []Message{
		{Type: RTMNewLink, Link: Link{Family: AFUnspec, Type: 0xffff, Index: 1<<31 - 1, Flags: 0xffffffff, Change: 1, Name: "abcdefghijklmno", MTU: 0xffffffff}},
		{Type: RTMDelLink, Link: Link{Index: 1}},
		{Type: RTMNewAddr, Addr: Addr{Addr: netip.MustParseAddr("2001:db8::1"), PrefixLen: 128, IfIndex: 9, Flags: 0x300, Scope: ScopeUniverse}},
		{Type: RTMDelAddr, Addr: Addr{Addr: netip.MustParseAddr("192.0.2.7"), IfIndex: 1 << 20, Label: "eth0:1", Scope: ScopeHost}},
	}
	for _, s := range seeds() {
		m, err := Parse(s.typ, s.data)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		got, err := Parse(m.Type, m.Append(nil))
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if diff := cmp.Diff(m, got, cmpAddr); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	if b := (Message{Type: 24}).Append([]byte{1}); len(b) != 1 {
		t.Errorf("Append of a message of type 24 = %x, want nothing appended", b)
	}
}

type seed struct {
	name string
	typ  uint16
	data []byte
}

// seeds are the captured messages.
func seeds() []seed {
	return []seed{
		{"newlink-up", RTMNewLink, realNewLinkUp},
		{"dellink", RTMDelLink, realDelLink},
		{"newaddr-v4-label", RTMNewAddr, realNewAddrV4Label},
		{"newaddr-v4-peer", RTMNewAddr, realNewAddrV4Peer},
		{"newaddr-v6-nodad", RTMNewAddr, realNewAddrV6NoDAD},
		{"deladdr-v6-linklocal", RTMDelAddr, realDelAddrV6LinkLocal},
	}
}

// FuzzParse checks that no input panics, that errors wrap exactly one of
// ErrMalformed and ErrFamily, that what parses has a positive index and an
// address of the message's family, and that it encodes back to a message
// that parses to the same value.
func FuzzParse(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s.typ, s.data)
	}
	f.Add(uint16(RTMNewAddr), []byte{AFInet, 8, 0, 0, 1, 0, 0, 0, 8, 0, 2, 0, 10, 0, 0, 1})
	f.Add(uint16(RTMNewLink), make([]byte, SizeofIfInfomsg))
	f.Fuzz(func(t *testing.T, typ uint16, data []byte) {
		m, err := Parse(typ, data)
		if err != nil {
			if errors.Is(err, ErrMalformed) == errors.Is(err, ErrFamily) {
				t.Fatalf("error %v: ErrMalformed %v, ErrFamily %v; want exactly one",
					err, errors.Is(err, ErrMalformed), errors.Is(err, ErrFamily))
			}
			return
		}
		if m.Type != typ {
			t.Fatalf("message of type %d parsed as type %d", typ, m.Type)
		}
		switch typ {
		case RTMNewLink, RTMDelLink:
			if m.Link.Index <= 0 || m.Link.Family != data[0] || len(m.Link.Name) >= IFNameSize {
				t.Fatalf("accepted %+v", m.Link)
			}
		default:
			if !m.Addr.Addr.IsValid() || m.Addr.Addr.Is4() != (data[0] == AFInet) || m.Addr.IfIndex <= 0 ||
				m.Addr.PrefixLen > m.Addr.Addr.BitLen() || len(m.Addr.Label) >= IFNameSize {
				t.Fatalf("accepted %+v from family %d", m.Addr, data[0])
			}
		}
		again, err := Parse(typ, m.Append(nil))
		if err != nil {
			t.Fatalf("re-encoded %+v: %v", m, err)
		}
		if diff := cmp.Diff(m, again, cmpAddr); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, s := range []seed{{"link", RTMNewLink, realNewLinkUp}, {"addr", RTMNewAddr, realNewAddrV4Label}} {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(s.typ, s.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
