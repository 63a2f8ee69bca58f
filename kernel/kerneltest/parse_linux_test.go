//go:build linux

package kerneltest

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ssServer is "ss -tnai" in the server namespace of a TwoPaths connection
// (kernel 6.18, iproute2 6.1), trailing spaces included.
const ssServer = "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process           \n" +
	"LISTEN 0      4096       10.77.1.2:33183      0.0.0.0:*    \n" +
	"\t bbr cwnd:10 tcp-ulp-mptcp                \n" +
	"ESTAB  0      0          10.77.1.2:33183    10.77.2.1:38341\n" +
	"\t bbr wscale:10,10 rto:204 rtt:1/0.5 mss:1448 snd_wnd:64512 tcp-ulp-mptcp flags:Jec " +
	"token:0000(id:1)/e6857d67(id:0) seq:79849d918c8cc415 sfseq:0 ssnoff:ff78e164 maplen:0\n" +
	"ESTAB  0      0          10.77.1.2:33183    10.77.1.1:33248\n" +
	"\t bbr wscale:10,10 rto:204 bytes_sent:1 tcp-ulp-mptcp flags:Mec token:0000(id:0)/e6857d67(id:0) " +
	"seq:79849d918c8cc414 sfseq:1 ssnoff:ab0c619d maplen:1\n" +
	"ESTAB  0      0          10.77.1.2:22       10.77.1.1:40000\n" +
	"\t cubic wscale:7,7 rto:204\n"

// ssMPTCP is "ss -Mnai" in the same namespace.
const ssMPTCP = "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process \n" +
	"ESTAB  0      0          10.77.1.2:33183    10.77.1.1:33248\n" +
	"\t subflows:1 subflows_max:2 remote_key token:e6857d67 write_seq:ed86ddc748d9f938 snd_una:ed86ddc748d9f938\n" +
	"LISTEN 0      4096       10.77.1.2:33183      0.0.0.0:*    \n" +
	"\t                     \n"

func TestParseSS(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []SSSocket
	}{
		{name: "empty", in: "", want: nil},
		{name: "header only", in: "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n", want: nil},
		{name: "netid header", in: "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\n", want: nil},
		{name: "details before any socket", in: "\t cubic rto:204\n", want: nil},
		{name: "short line", in: "ESTAB 0 0 10.0.0.1:1\n", want: nil},
		{name: "without header", in: "ESTAB 1 2 10.0.0.1:1 10.0.0.2:2\n\t cubic\n\t more\n", want: []SSSocket{
			{State: "ESTAB", RecvQ: "1", SendQ: "2", Local: "10.0.0.1:1", Peer: "10.0.0.2:2", Details: " cubic more"},
		}},
		{name: "MPTCP sockets", in: ssMPTCP, want: []SSSocket{
			{State: "ESTAB", RecvQ: "0", SendQ: "0", Local: "10.77.1.2:33183", Peer: "10.77.1.1:33248",
				Details: " subflows:1 subflows_max:2 remote_key token:e6857d67 write_seq:ed86ddc748d9f938 snd_una:ed86ddc748d9f938"},
			{State: "LISTEN", RecvQ: "0", SendQ: "4096", Local: "10.77.1.2:33183", Peer: "0.0.0.0:*"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseSS(tt.in)); diff != "" {
				t.Errorf("ParseSS (-want +got):\n%s", diff)
			}
		})
	}
	socks := ParseSS(ssMPTCP)
	if got := []string{SSToken(socks[0]), SSToken(socks[1])}; !slices.Equal(got, []string{"e6857d67", ""}) {
		t.Errorf("SSToken = %q, want the connection's token and none for the listener", got)
	}
}

func TestParseSSSubflows(t *testing.T) {
	got := ParseSSSubflows(ParseSS(ssServer))
	want := []SSSubflow{
		{State: "LISTEN", Local: "10.77.1.2:33183", Peer: "0.0.0.0:*"},
		{State: "ESTAB", Local: "10.77.1.2:33183", Peer: "10.77.2.1:38341", Flags: "Jec",
			TokenRem: "0000", IDRem: "1", TokenLoc: "e6857d67", IDLoc: "0",
			Seq: "79849d918c8cc415", SfSeq: "0", SSNOff: "ff78e164", MapLen: "0"},
		{State: "ESTAB", Local: "10.77.1.2:33183", Peer: "10.77.1.1:33248", Flags: "Mec",
			TokenRem: "0000", IDRem: "0", TokenLoc: "e6857d67", IDLoc: "0",
			Seq: "79849d918c8cc414", SfSeq: "1", SSNOff: "ab0c619d", MapLen: "1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseSSSubflows (-want +got):\n%s", diff)
	}
}

func TestParseIPEndpoints(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name    string
		in      string
		want    []IPEndpoint
		wantErr string
	}{
		{name: "no output", in: "", want: nil},
		{name: "empty list", in: "[]\n", want: nil},
		{name: "iproute2 6.1", in: `[{"address":"10.0.0.1","id":1,"subflow":true,"backup":true,"fullmesh":true,"dev":"gmtv0"},` +
			`{"address":"10.0.0.2","port":4000,"id":2,"signal":true},{"address":"fd00::3","id":255,"subflow":true,"rawflags":"40"}]`,
			want: []IPEndpoint{
				{ID: 1, Addr: a("10.0.0.1"), Dev: "gmtv0", Flags: []string{"backup", "fullmesh", "subflow"}},
				{ID: 2, Addr: a("10.0.0.2"), Port: 4000, Flags: []string{"signal"}},
				{ID: 255, Addr: a("fd00::3"), Flags: []string{"subflow"}, RawFlags: 0x40},
			}},
		{name: "false flag", in: `[{"address":"10.0.0.1","id":1,"backup":false}]`, want: []IPEndpoint{{ID: 1, Addr: a("10.0.0.1")}}},
		{name: "0x rawflags", in: `[{"address":"10.0.0.1","id":1,"rawflags":"0x80"}]`, want: []IPEndpoint{{ID: 1, Addr: a("10.0.0.1"), RawFlags: 0x80}}},
		{name: "not JSON", in: "10.0.0.1 id 1 subflow", wantErr: "invalid character"},
		{name: "not a list", in: `{"address":"10.0.0.1"}`, wantErr: "cannot unmarshal"},
		{name: "no address", in: `[{"id":1}]`, wantErr: "no address"},
		{name: "bad address", in: `[{"address":"10.0.0"}]`, wantErr: "ParseAddr"},
		{name: "numeric address", in: `[{"address":10}]`, wantErr: "not a string"},
		{name: "id too large", in: `[{"address":"10.0.0.1","id":256}]`, wantErr: "id 256 is not an integer from 0 to 255"},
		{name: "negative port", in: `[{"address":"10.0.0.1","port":-1}]`, wantErr: "port -1"},
		{name: "fractional port", in: `[{"address":"10.0.0.1","port":1.5}]`, wantErr: "port 1.5"},
		{name: "empty dev", in: `[{"address":"10.0.0.1","dev":""}]`, wantErr: "not an interface name"},
		{name: "bad rawflags", in: `[{"address":"10.0.0.1","rawflags":"zz"}]`, wantErr: "invalid syntax"},
		{name: "unknown key", in: `[{"address":"10.0.0.1","weight":3}]`, wantErr: `unknown key "weight"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIPEndpoints([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("ParseIPEndpoints (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseSS(f *testing.F) {
	for _, s := range []string{ssServer, ssMPTCP, "", "\t\n", "ESTAB 0 0 a b\n\t x token:1(id:2)/3(id:4)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		socks := ParseSS(in)
		for _, s := range socks {
			for _, field := range []string{s.State, s.RecvQ, s.SendQ, s.Local, s.Peer} {
				if field == "" || strings.ContainsAny(field, " \t\n") {
					t.Fatalf("socket %+v has an empty or spaced column", s)
				}
			}
		}
		if sfs := ParseSSSubflows(socks); len(sfs) > len(socks) {
			t.Fatalf("%d subflows from %d sockets", len(sfs), len(socks))
		}
	})
}

func FuzzParseIPEndpoints(f *testing.F) {
	for _, s := range []string{
		"",
		"[]",
		`[{"address":"10.77.2.2","port":4000,"id":1,"signal":true,"dev":"gmt1"}]`,
		`[{"address":"fd00::3","id":7,"subflow":true,"backup":false,"rawflags":"40"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		eps, err := ParseIPEndpoints(in)
		if err != nil {
			if eps != nil {
				t.Fatalf("endpoints %v with error %v", eps, err)
			}
			return
		}
		for _, e := range eps {
			if !e.Addr.IsValid() || !slices.IsSorted(e.Flags) {
				t.Fatalf("endpoint %+v: no address or unsorted flags", e)
			}
		}
	})
}
