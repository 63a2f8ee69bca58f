package pm

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
)

func TestEndpointFlagsString(t *testing.T) {
	tests := []struct {
		f    EndpointFlags
		want string
	}{
		{0, ""},
		{FlagSubflow, "subflow"},
		{FlagSignal | FlagSubflow | FlagBackup | FlagFullmesh | FlagImplicit | FlagLaminar, "signal subflow backup fullmesh implicit laminar"},
		{FlagLaminar | FlagSignal, "signal laminar"},
		{FlagBackup | 1<<6, "backup rawflags 40"},
		{1 << 31, "rawflags 80000000"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("EndpointFlags(%#x).String() = %q, want %q", uint32(tt.f), got, tt.want)
		}
	}
}

func TestParseEndpointFlag(t *testing.T) {
	for _, name := range []string{"signal", "subflow", "backup", "fullmesh", "implicit", "laminar"} {
		f, ok := ParseEndpointFlag(name)
		if !ok || f.String() != name {
			t.Errorf("ParseEndpointFlag(%q) = %v, %v", name, f, ok)
		}
	}
	for _, name := range []string{"", "nobackup", "Signal", "rawflags"} {
		if f, ok := ParseEndpointFlag(name); ok {
			t.Errorf("ParseEndpointFlag(%q) = %v, want not found", name, f)
		}
	}
}

func TestEndpointString(t *testing.T) {
	tests := []struct {
		e    Endpoint
		want string
	}{
		{Endpoint{ID: 1, Addr: addr2, Flags: FlagSubflow | FlagBackup, IfIndex: 3}, "10.0.2.2 id 1 subflow backup ifindex 3"},
		{Endpoint{ID: 6, Addr: addr1, Port: 1234, Flags: FlagSignal}, "10.0.1.1 port 1234 id 6 signal"},
		{Endpoint{ID: 7, Addr: addr6}, "fd00::1 id 7"},
		{Endpoint{}, "- id 0"},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestLimitsString(t *testing.T) {
	if got, want := (Limits{Subflows: 2, AddAddrAccepted: 8}).String(), "add_addr_accepted 8 subflows 2"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestDecodeAddrNest(t *testing.T) {
	tests := []struct {
		name    string
		attrs   []netlink.Attribute
		want    Endpoint
		wantErr bool
	}{
		{"full IPv4", []netlink.Attribute{
			attr(addrAttrFamily, u16(afINET)), attr(addrAttrID, u8(9)), attr(addrAttrAddr4, ip4("10.0.2.2")),
			attr(addrAttrPort, u16(40000)), attr(addrAttrFlags, u32(5)), attr(addrAttrIfIdx, u32(12)),
		}, Endpoint{ID: 9, Addr: addr2, Port: 40000, Flags: FlagSignal | FlagBackup, IfIndex: 12}, false},
		{"IPv6", []netlink.Attribute{attr(addrAttrFamily, u16(afINET6)), attr(addrAttrAddr6, ip6("fd00::1"))},
			Endpoint{Addr: addr6}, false},
		{"family picks among both addresses", []netlink.Attribute{
			attr(addrAttrFamily, u16(afINET6)), attr(addrAttrAddr4, ip4("10.0.2.2")), attr(addrAttrAddr6, ip6("fd00::1")),
		}, Endpoint{Addr: addr6}, false},
		{"no family, IPv4", []netlink.Attribute{attr(addrAttrAddr4, ip4("10.0.1.1"))}, Endpoint{Addr: addr1}, false},
		{"unknown attributes skipped", []netlink.Attribute{
			attr(addrAttrAddr4, ip4("10.0.1.1")), attr(42, []byte{1, 2, 3}),
		}, Endpoint{Addr: addr1}, false},
		{"no address", []netlink.Attribute{attr(addrAttrID, u8(1))}, Endpoint{}, true},
		{"unknown family", []netlink.Attribute{attr(addrAttrFamily, u16(1)), attr(addrAttrAddr4, ip4("10.0.1.1"))}, Endpoint{}, true},
		{"IPv4 family without IPv4", []netlink.Attribute{attr(addrAttrFamily, u16(afINET)), attr(addrAttrAddr6, ip6("fd00::1"))}, Endpoint{}, true},
		{"both addresses, no family", []netlink.Attribute{attr(addrAttrAddr4, ip4("10.0.1.1")), attr(addrAttrAddr6, ip6("fd00::1"))}, Endpoint{}, true},
		{"1-byte family", []netlink.Attribute{attr(addrAttrFamily, u8(2)), attr(addrAttrAddr4, ip4("10.0.1.1"))}, Endpoint{}, true},
		{"2-byte id", []netlink.Attribute{attr(addrAttrID, u16(2)), attr(addrAttrAddr4, ip4("10.0.1.1"))}, Endpoint{}, true},
		{"4-byte port", []netlink.Attribute{attr(addrAttrPort, u32(2)), attr(addrAttrAddr4, ip4("10.0.1.1"))}, Endpoint{}, true},
		{"2-byte flags", []netlink.Attribute{attr(addrAttrFlags, u16(2)), attr(addrAttrAddr4, ip4("10.0.1.1"))}, Endpoint{}, true},
		{"2-byte ifindex", []netlink.Attribute{attr(addrAttrIfIdx, u16(2)), attr(addrAttrAddr4, ip4("10.0.1.1"))}, Endpoint{}, true},
		{"5-byte IPv4", []netlink.Attribute{attr(addrAttrAddr4, []byte{1, 2, 3, 4, 5})}, Endpoint{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAddrNest(marshal(tt.attrs...))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v (endpoint %v), want ErrMalformed", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("endpoint (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEndpointRoundTrip encodes endpoints with the request encoder and
// decodes them with the reply decoder.
func TestEndpointRoundTrip(t *testing.T) {
	for _, e := range []Endpoint{
		{ID: 1, Addr: addr2, Flags: FlagSubflow},
		{ID: 255, Addr: addr6, Port: 65535, Flags: FlagSignal | FlagLaminar, IfIndex: 1 << 30},
		{Addr: addr1, IfIndex: -1},
	} {
		b, err := encodeAddEndpoint(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEndpointReply(b)
		if err != nil {
			t.Fatalf("decode(encode(%v)): %v", e, err)
		}
		if diff := cmp.Diff(e, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestEncodeIfIndexRange(t *testing.T) {
	var big int64 = 1 << 40
	if int64(int(big)) != big {
		t.Skip("int has 32 bits: every int fits the attribute")
	}
	if _, err := encodeAddEndpoint(Endpoint{Addr: addr1, IfIndex: int(big)}); err == nil {
		t.Error("interface index 1<<40 encoded without error")
	}
}
