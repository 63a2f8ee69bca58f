package mptcpd

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomptcp/mptcp/internal/rtnl"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpAddrs = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})

// fixtureType returns the message type of a fixture from its name.
func fixtureType(t testing.TB, name string) uint16 {
	switch {
	case strings.HasPrefix(name, "newlink"):
		return rtnl.RTMNewLink
	case strings.HasPrefix(name, "dellink"):
		return rtnl.RTMDelLink
	case strings.HasPrefix(name, "newaddr"):
		return rtnl.RTMNewAddr
	case strings.HasPrefix(name, "deladdr"):
		return rtnl.RTMDelAddr
	}
	t.Fatalf("fixture %s: unknown message type", name)
	return 0
}

func readFixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseRouteMessageFixtures decodes messages captured from Linux 6.18
// (a veth pair in a network namespace, configured with ip).
func TestParseRouteMessageFixtures(t *testing.T) {
	tests := []struct {
		file string
		want NetUpdate
	}{
		{"newlink-up.bin", NetUpdate{Kind: LinkChanged, Link: Link{Index: 3, Name: "gmtv0",
			Flags: IffUp | 0x2 /* IFF_BROADCAST */ | IffRunning | 0x1000 /* IFF_MULTICAST */ | IffLowerUp}}},
		{"newlink-down.bin", NetUpdate{Kind: LinkChanged, Link: Link{Index: 2, Name: "gmtv1", Flags: 0x2 | 0x1000}}},
		{"dellink.bin", NetUpdate{Kind: LinkRemoved, Link: Link{Index: 3, Name: "gmtv0", Flags: 0x2 | 0x1000}}},
		{"newaddr-v4-label.bin", NetUpdate{Kind: AddrAdded, Addr: Addr{Addr: netip.MustParseAddr("10.0.1.1"),
			PrefixLen: 24, IfIndex: 3, Flags: IfaFPermanent, Label: "gmtv0:a"}}},
		{"newaddr-v4-peer.bin", NetUpdate{Kind: AddrAdded, Addr: Addr{Addr: netip.MustParseAddr("10.9.9.1"),
			PrefixLen: 32, IfIndex: 2, Flags: IfaFPermanent, Label: "gmtv1"}}},
		{"newaddr-v6-nodad.bin", NetUpdate{Kind: AddrAdded, Addr: Addr{Addr: netip.MustParseAddr("fd00::1"),
			PrefixLen: 64, IfIndex: 3, Flags: IfaFPermanent | IfaFNoDAD}}},
		{"newaddr-v6-tentative.bin", NetUpdate{Kind: AddrAdded, Addr: Addr{Addr: netip.MustParseAddr("fd00::2"),
			PrefixLen: 64, IfIndex: 3, Flags: IfaFPermanent | IfaFTentative}}},
		{"deladdr-v4.bin", NetUpdate{Kind: AddrRemoved, Addr: Addr{Addr: netip.MustParseAddr("10.0.1.1"),
			PrefixLen: 24, IfIndex: 3, Flags: IfaFPermanent, Label: "gmtv0:a"}}},
		{"deladdr-v6-linklocal.bin", NetUpdate{Kind: AddrRemoved, Addr: Addr{Addr: netip.MustParseAddr("fe80::7829:bdff:fe00:2c72"),
			PrefixLen: 64, IfIndex: 3, Flags: IfaFPermanent | IfaFTentative, Scope: ScopeLink}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseRouteMessage(fixtureType(t, tt.file), readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("ParseRouteMessage: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpAddrs); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseRouteMessageTruncated feeds every prefix of every fixture: the
// short ones must fail cleanly, never panic or invent data.
func TestParseRouteMessageTruncated(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bin")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		typ := fixtureType(t, name)
		full := readFixture(t, name)
		want, err := ParseRouteMessage(typ, full)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n := range len(full) {
			got, err := ParseRouteMessage(typ, full[:n])
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("%s[:%d]: error %v does not wrap ErrMalformed", name, n, err)
				}
				continue
			}
			// A cut at an attribute boundary may leave a valid message
			// without its later attributes; what it has must agree.
			if got.Kind != want.Kind || got.Link.Index != want.Link.Index || got.Addr.IfIndex != want.Addr.IfIndex {
				t.Errorf("%s[:%d] = %+v, want a prefix of %+v", name, n, got, want)
			}
			if n < 4 {
				t.Errorf("%s[:%d]: parsed %+v from less than a header", name, n, got)
			}
		}
	}
}

// attr appends a route attribute.
func attr(b []byte, typ uint16, v []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// encodeUpdate builds the message of a link or address update (the inverse
// of ParseRouteMessage), with IFA_LOCAL and IFA_ADDRESS both set.
func encodeUpdate(u NetUpdate) (uint16, []byte) {
	switch u.Kind {
	case LinkChanged, LinkRemoved:
		typ := uint16(rtnl.RTMNewLink)
		if u.Kind == LinkRemoved {
			typ = rtnl.RTMDelLink
		}
		l := rtnl.Link{Type: 1 /* ARPHRD_ETHER */, Index: u.Link.Index, Flags: u.Link.Flags, Name: u.Link.Name}
		return typ, l.Append(nil)
	default:
		typ := uint16(rtnl.RTMNewAddr)
		if u.Kind == AddrRemoved {
			typ = rtnl.RTMDelAddr
		}
		a := u.Addr
		return typ, rtnl.Addr{Addr: a.Addr, PrefixLen: a.PrefixLen, IfIndex: a.IfIndex, Flags: a.Flags, Scope: a.Scope, Label: a.Label}.Append(nil)
	}
}

func TestParseRouteMessageErrors(t *testing.T) {
	v4hdr := func(fam, plen byte, index uint32) []byte {
		return binary.NativeEndian.AppendUint32([]byte{fam, plen, 0, 0}, index)
	}
	linkhdr := func(fam byte, index int32) []byte {
		b := make([]byte, rtnl.SizeofIfInfomsg)
		b[0] = fam
		binary.NativeEndian.PutUint32(b[4:], uint32(index))
		return b
	}
	ip4 := []byte{10, 0, 0, 1}
	tests := []struct {
		name  string
		typ   uint16
		data  []byte
		other bool // the error is IsOtherFamily, not ErrMalformed
	}{
		{"not a link or address message", 24 /* RTM_NEWROUTE */, v4hdr(rtnl.AFInet, 24, 1), false},
		{"empty address message", rtnl.RTMNewAddr, nil, false},
		{"address of another family", rtnl.RTMNewAddr, v4hdr(17 /* AF_PACKET */, 0, 1), true},
		{"prefix too long", rtnl.RTMNewAddr, attr(v4hdr(rtnl.AFInet, 33, 1), rtnl.IFALocal, ip4), false},
		{"interface index 0", rtnl.RTMNewAddr, attr(v4hdr(rtnl.AFInet, 24, 0), rtnl.IFALocal, ip4), false},
		{"no address attribute", rtnl.RTMNewAddr, v4hdr(rtnl.AFInet, 24, 1), false},
		{"IPv6 length in IPv4 message", rtnl.RTMNewAddr, attr(v4hdr(rtnl.AFInet, 24, 1), rtnl.IFALocal, make([]byte, 16)), false},
		{"short IFA_FLAGS", rtnl.RTMNewAddr, attr(attr(v4hdr(rtnl.AFInet, 24, 1), rtnl.IFALocal, ip4), rtnl.IFAFlags, []byte{1, 2}), false},
		{"label without NUL", rtnl.RTMNewAddr, attr(attr(v4hdr(rtnl.AFInet, 24, 1), rtnl.IFALocal, ip4), rtnl.IFALabel, []byte("eth0")), false},
		{"attribute length past the end", rtnl.RTMNewAddr, append(v4hdr(rtnl.AFInet, 24, 1), 40, 0, 2, 0, 10, 0, 0, 1), false},
		{"attribute length below its header", rtnl.RTMNewAddr, append(v4hdr(rtnl.AFInet, 24, 1), 2, 0, 2, 0), false},
		{"trailing bytes", rtnl.RTMNewAddr, append(attr(v4hdr(rtnl.AFInet, 24, 1), rtnl.IFALocal, ip4), 1, 2), false},
		{"short link message", rtnl.RTMNewLink, make([]byte, 15), false},
		{"bridge link message", rtnl.RTMNewLink, attr(linkhdr(7 /* AF_BRIDGE */, 2), rtnl.IFLAIfName, []byte("br0\x00")), true},
		{"bridge link message with index 0", rtnl.RTMNewLink, attr(linkhdr(7 /* AF_BRIDGE */, 0), rtnl.IFLAIfName, []byte("br0")), true},
		{"link index 0", rtnl.RTMNewLink, attr(linkhdr(rtnl.AFUnspec, 0), rtnl.IFLAIfName, []byte("eth0\x00")), false},
		{"negative link index", rtnl.RTMNewLink, attr(linkhdr(rtnl.AFUnspec, -3), rtnl.IFLAIfName, []byte("eth0\x00")), false},
		{"link without name", rtnl.RTMNewLink, linkhdr(rtnl.AFUnspec, 2), false},
		{"name longer than IFNAMSIZ", rtnl.RTMNewLink, attr(linkhdr(rtnl.AFUnspec, 2), rtnl.IFLAIfName, []byte("abcdefghijklmnopq\x00")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseRouteMessage(tt.typ, tt.data)
			if err == nil {
				t.Fatalf("ParseRouteMessage = %+v, want an error", u)
			}
			if tt.other != IsOtherFamily(err) || tt.other == errors.Is(err, ErrMalformed) {
				t.Errorf("error %v: IsOtherFamily=%v ErrMalformed=%v, want other family %v",
					err, IsOtherFamily(err), errors.Is(err, ErrMalformed), tt.other)
			}
		})
	}
}

func TestEncodeUpdateRoundTrip(t *testing.T) {
	for _, u := range []NetUpdate{
		{Kind: LinkChanged, Link: Link{Index: 7, Name: "wlan0", Flags: IffUp | IffRunning}},
		{Kind: LinkRemoved, Link: Link{Index: 1 << 20, Name: "x"}},
		{Kind: AddrAdded, Addr: Addr{Addr: netip.MustParseAddr("2001:db8::1"), PrefixLen: 128, IfIndex: 9, Flags: 0x300, Scope: ScopeUniverse}},
		{Kind: AddrRemoved, Addr: Addr{Addr: netip.MustParseAddr("192.0.2.7"), PrefixLen: 0, IfIndex: 1, Label: "eth0:1"}},
	} {
		typ, b := encodeUpdate(u)
		got, err := ParseRouteMessage(typ, b)
		if err != nil {
			t.Fatalf("%+v: %v", u, err)
		}
		if diff := cmp.Diff(u, got, cmpAddrs); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

// FuzzParseRouteMessage checks that no input panics and that what parses
// encodes back to a message that parses to the same update.
func FuzzParseRouteMessage(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.bin")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fixtureType(f, filepath.Base(p)), b)
	}
	f.Add(uint16(rtnl.RTMNewAddr), []byte{rtnl.AFInet, 8, 0, 0, 1, 0, 0, 0, 8, 0, 2, 0, 10, 0, 0, 1})
	f.Fuzz(func(t *testing.T, typ uint16, data []byte) {
		u, err := ParseRouteMessage(typ, data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !IsOtherFamily(err) {
				t.Fatalf("error %v is neither malformed nor another family", err)
			}
			return
		}
		typ2, b := encodeUpdate(u)
		if typ2 != typ {
			t.Fatalf("type %d re-encoded as %d", typ, typ2)
		}
		u2, err := ParseRouteMessage(typ2, b)
		if err != nil {
			t.Fatalf("re-encoded %+v: %v", u, err)
		}
		if diff := cmp.Diff(u, u2, cmpAddrs); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func BenchmarkParseRouteMessage(b *testing.B) {
	data := readFixture(b, "newaddr-v4-label.bin")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRouteMessage(rtnl.RTMNewAddr, data); err != nil {
			b.Fatal(err)
		}
	}
}
