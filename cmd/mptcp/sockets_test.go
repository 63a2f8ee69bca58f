package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/diag"
	"github.com/google/go-cmp/cmp"
)

// fakeSockets is a client-side connection with two subflows, as listed in
// a namespace like the ones of kerneltest, and a listener.
func fakeSockets() []diag.Socket {
	ap := netip.MustParseAddrPort
	return []diag.Socket{
		{
			Header: diag.Header{Family: diag.AFInet, State: kernel.TCPEstablished,
				Local: ap("10.77.1.1:36556"), Remote: ap("10.77.1.2:5555")},
			Info: &kernel.MPTCPInfo{Subflows: 1, SubflowsMax: 1, Flags: kernel.MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED,
				Token: 0xa801a6f8, WriteSeq: 0x2301d9b60b0e9b1f, SndUna: 0x2301d9b60b0e9b1f, RcvNxt: 0x9b6de73a9511fba2,
				LocalAddrMax: 1, BytesSent: 5, SubflowsTotal: 2, LastDataSent: 1384 * time.Millisecond, Size: 96},
			Subflows: []diag.Subflow{
				{
					Header: diag.Header{Family: diag.AFInet, State: kernel.TCPEstablished,
						Local: ap("10.77.1.1:36556"), Remote: ap("10.77.1.2:5555")},
					ULP:     "mptcp",
					TCPInfo: &kernel.TCPInfo{RTT: 93 * time.Microsecond, RTTVar: 53 * time.Microsecond, SndCwnd: 11, BytesSent: 5},
					MPTCP: &diag.SubflowInfo{TokenLoc: 0xa801a6f8, MapSeq: 0x9b6de73a9511fba2, MapSfSeq: 1,
						SSNOffset: 0xbad1635c, Flags: 0xc3},
				},
				{
					Header: diag.Header{Family: diag.AFInet, State: kernel.TCPEstablished,
						Local: ap("10.77.2.1:55795"), Remote: ap("10.77.1.2:5555")},
					ULP: "mptcp",
					MPTCP: &diag.SubflowInfo{TokenRem: 0x6429b49, TokenLoc: 0xa801a6f8, IDLoc: 1, MapSeq: 0x9b6de73a9511fba2,
						SSNOffset: 0x9556db1c, Flags: 0xcc},
				},
			},
		},
		{
			Header: diag.Header{Family: diag.AFInet6, State: kernel.TCPListen, SendQ: 4096,
				Local: ap("[::]:5555"), Remote: ap("[::]:0")},
			Info: &kernel.MPTCPInfo{SubflowsMax: 2, AddAddrAcceptedMax: 2, Size: 96},
			Subflows: []diag.Subflow{{Header: diag.Header{Family: diag.AFInet6, State: kernel.TCPListen,
				Local: ap("[::]:5555"), Remote: ap("[::]:0")}, ULP: "mptcp"}},
		},
	}
}

const wantSocketsText = `State  Recv-Q Send-Q Local Address:Port Peer Address:Port
ESTAB  0      0      10.77.1.1:36556    10.77.1.2:5555
	subflows:1 subflows_max:1 remote_key token:a801a6f8 write_seq:2301d9b60b0e9b1f snd_una:2301d9b60b0e9b1f rcv_nxt:9b6de73a9511fba2 local_addr_max:1 bytes_sent:5 subflows_total:2 last_data_sent:1384
	 subflow ESTAB 10.77.1.1:36556 10.77.1.2:5555 flags:Mmec token:0000(id:0)/a801a6f8(id:0) seq:9b6de73a9511fba2 sfseq:1 ssnoff:bad1635c maplen:0 rtt:0.093/0.053 cwnd:11 bytes_sent:5
	 subflow ESTAB 10.77.2.1:55795 10.77.1.2:5555 flags:Jjec token:6429b49(id:0)/a801a6f8(id:1) seq:9b6de73a9511fba2 sfseq:0 ssnoff:9556db1c maplen:0
LISTEN 0      4096   [::]:5555          [::]:*
	subflows_max:2 add_addr_accepted_max:2
	 subflow LISTEN [::]:5555 [::]:*
`

func withSockets(t *testing.T, socks []diag.Socket, err error) *diag.StateSet {
	t.Helper()
	var asked diag.StateSet
	old := listSockets
	listSockets = func(s diag.StateSet) ([]diag.Socket, error) {
		asked = s
		return socks, err
	}
	t.Cleanup(func() { listSockets = old })
	return &asked
}

func TestSocketsText(t *testing.T) {
	asked := withSockets(t, fakeSockets(), nil)
	var out, errOut bytes.Buffer
	if code := run([]string{"sockets", "--all"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if *asked != diag.AllStates {
		t.Errorf("--all asked for states %#x", *asked)
	}
	if diff := cmp.Diff(wantSocketsText, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestSocketsStates(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want diag.StateSet
	}{
		{nil, diag.Connected},
		{[]string{"--listening"}, diag.Listening},
		{[]string{"--all"}, diag.AllStates},
	} {
		asked := withSockets(t, nil, nil)
		var out, errOut bytes.Buffer
		if code := run(append([]string{"sockets"}, tt.args...), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, errOut.String())
		}
		if *asked != tt.want {
			t.Errorf("%v: states %#x, want %#x", tt.args, *asked, tt.want)
		}
		if out.String() != "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n" {
			t.Errorf("%v: empty listing printed %q", tt.args, out.String())
		}
	}
}

func TestSocketsJSON(t *testing.T) {
	withSockets(t, fakeSockets(), nil)
	var out, errOut bytes.Buffer
	if code := run([]string{"sockets", "--json", "--all"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got []diag.Socket
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if diff := cmp.Diff(fakeSockets(), got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.String(), `"state": "ESTAB"`) {
		t.Errorf("states are not named in JSON:\n%s", out.String())
	}

	withSockets(t, nil, nil)
	out.Reset()
	if code := run([]string{"sockets", "--json"}, &out, &errOut); code != 0 || strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("no sockets: exit %d, %q", code, out.String())
	}
}

func TestSocketsErrors(t *testing.T) {
	withSockets(t, nil, fmt.Errorf("inet_diag for MPTCP sockets: %w", kernel.ErrNoMPTCP))
	for _, tt := range []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"sockets"}, 1, "the kernel has no MPTCP support"},
		{[]string{"sockets", "--listening", "--all"}, 2, "exclude each other"},
		{[]string{"sockets", "extra"}, 2, "unexpected argument"},
		{[]string{"sockets", "--bogus"}, 2, "flag provided but not defined"},
	} {
		var out, errOut bytes.Buffer
		code := run(tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(errOut.String(), tt.contains) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", tt.args, code, errOut.String(), tt.code, tt.contains)
		}
		// The flag package reports unknown flags itself; the other errors
		// are one line from main.
		if first, _, _ := strings.Cut(errOut.String(), "\n"); tt.args[len(tt.args)-1] != "--bogus" && !strings.HasPrefix(first, "mptcp sockets: ") {
			t.Errorf("%v: error line %q", tt.args, first)
		}
	}
}
