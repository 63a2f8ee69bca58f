package diag

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

// The testdata/*.bin files are SOCK_DIAG_BY_FAMILY reply payloads captured
// from Linux 6.18 (x86-64) in a server namespace holding an MPTCP listener
// on 10.77.1.2 and one accepted connection with two subflows:
// mptcp-{0,1}.bin answer an IPPROTO_MPTCP dump, tcp-{0,1,2}.bin an
// IPPROTO_TCP dump (the TCP listener and the two subflows).

func readCapture(t testing.TB, name string) []byte {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("captures are little-endian")
	}
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func capturedSockets(t testing.TB) ([]Socket, []Subflow) {
	t.Helper()
	var socks []Socket
	for _, n := range []string{"mptcp-0.bin", "mptcp-1.bin"} {
		s, err := DecodeMPTCPMessage(readCapture(t, n))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		socks = append(socks, s)
	}
	var sfs []Subflow
	for _, n := range []string{"tcp-0.bin", "tcp-1.bin", "tcp-2.bin"} {
		s, err := DecodeTCPMessage(readCapture(t, n))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		sfs = append(sfs, s)
	}
	return socks, sfs
}

func TestDecodeCaptured(t *testing.T) {
	socks, sfs := capturedSockets(t)
	server := netip.MustParseAddr("10.77.1.2")
	var est *Socket
	for i := range socks {
		s := &socks[i]
		if s.Family != AFInet || s.Local.Addr() != server || s.Info == nil || s.Info.Size != kernel.InfoSize {
			t.Errorf("MPTCP socket %+v", s)
		}
		if s.State == kernel.TCPEstablished {
			est = s
		}
	}
	if est == nil || est.Info.SubflowsTotal != 2 || est.Info.Token == 0 || !est.Info.Flags.RemoteKeyReceived() {
		t.Fatalf("no established MPTCP connection with 2 subflows: %+v", socks)
	}
	var joined, listening int
	for _, sf := range sfs {
		if sf.ULP != "mptcp" || sf.TCPInfo == nil || sf.Cong == "" {
			t.Errorf("subflow %v: ulp %q tcp_info %v cong %q", sf.Local, sf.ULP, sf.TCPInfo != nil, sf.Cong)
		}
		switch sf.State {
		case kernel.TCPListen:
			listening++
			if sf.MPTCP != nil {
				t.Errorf("listening subflow carries MPTCP state %+v", sf.MPTCP)
			}
		case kernel.TCPEstablished:
			if sf.MPTCP == nil || sf.MPTCP.TokenLoc != est.Info.Token {
				t.Errorf("subflow %v: MPTCP %+v, want token_loc %#x", sf.Remote, sf.MPTCP, est.Info.Token)
				continue
			}
			if sf.MPTCP.Flags&kernel.MPTCP_SUBFLOW_FLAG_JOIN_REM != 0 {
				joined++
				if sf.MPTCP.IDRem != 1 || sf.Remote.Addr() != netip.MustParseAddr("10.77.2.1") {
					t.Errorf("joined subflow: id_rem %d remote %v", sf.MPTCP.IDRem, sf.Remote)
				}
			}
		}
	}
	if joined != 1 || listening != 1 {
		t.Errorf("%d joined and %d listening subflows, want 1 and 1", joined, listening)
	}

	grouped := Group(socks, sfs)
	if len(grouped) != 2 || len(grouped[0].Subflows) != 2 || len(grouped[1].Subflows) != 1 {
		t.Errorf("Group: %d sockets with %v subflows", len(grouped), func() []int {
			var n []int
			for _, g := range grouped {
				n = append(n, len(g.Subflows))
			}
			return n
		}())
	}
}

// TestDecodeTruncated feeds every prefix of the captures to the decoders:
// shorter than inet_diag_msg is an error, and nothing panics.
func TestDecodeTruncated(t *testing.T) {
	for _, n := range []string{"mptcp-0.bin", "tcp-1.bin"} {
		b := readCapture(t, n)
		for l := range len(b) {
			_, err1 := DecodeMPTCPMessage(b[:l])
			_, err2 := DecodeTCPMessage(b[:l])
			if l < MsgSize && (!errors.Is(err1, ErrMalformed) || !errors.Is(err2, ErrMalformed)) {
				t.Errorf("%s[:%d]: errors %v, %v", n, l, err1, err2)
			}
		}
	}
}

func encodeAttrs(t testing.TB, f func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	f(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func header() Header {
	return Header{
		Family: AFInet6, State: kernel.TCPEstablished,
		Local:     netip.MustParseAddrPort("[fd77::1]:443"),
		Remote:    netip.MustParseAddrPort("[fd77::2]:50000"),
		Interface: 3, Cookie: 0x1122334455667788, RecvQ: 1, SendQ: 2, UID: 1000, Inode: 4242,
	}
}

func TestDecodeMPTCPMessageInfoSizes(t *testing.T) {
	var info kernel.MPTCPInfo
	info.Token, info.SubflowsTotal, info.BytesSent = 0xa801a6f8, 2, 99
	full := kernel.AppendInfo(nil, &info)
	for _, tt := range []struct {
		name     string
		info     []byte
		wantSize int
		wantErr  bool
	}{
		{name: "current", info: full, wantSize: 96},
		{name: "5.7", info: full[:40], wantSize: 40},
		{name: "newer", info: append(append([]byte(nil), full...), make([]byte, 16)...), wantSize: 96},
		{name: "too short", info: full[:20], wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendHeader(nil, header())
			b = append(b, encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint8(kernel.INET_DIAG_SHUTDOWN, 0)
				ae.Bytes(kernel.INET_DIAG_INFO, tt.info)
				ae.Bytes(200, []byte{1, 2, 3}) // unknown: skipped
			})...)
			s, err := DecodeMPTCPMessage(b)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(header(), s.Header, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if s.Info.Size != tt.wantSize || s.Info.Token != 0xa801a6f8 {
				t.Errorf("info size %d token %#x", s.Info.Size, s.Info.Token)
			}
			if tt.wantSize == 96 && (s.Info.SubflowsTotal != 2 || s.Info.BytesSent != 99) {
				t.Errorf("info %+v", s.Info)
			}
			if tt.wantSize == 40 && (s.Info.Has(kernel.FieldBytesSent) || s.Info.BytesSent != 0) {
				t.Errorf("5.7 info reports bytes_sent")
			}
		})
	}
}

func subflowNest(t testing.TB) []byte {
	return encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_TOKEN_REM, 0x6429b49)
		ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_TOKEN_LOC, 0xa801a6f8)
		ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_RELWRITE_SEQ, 6)
		ae.Bytes(kernel.MPTCP_SUBFLOW_ATTR_PAD, nil)
		ae.Uint64(kernel.MPTCP_SUBFLOW_ATTR_MAP_SEQ, 0x9b6de73a9511fba2)
		ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_MAP_SFSEQ, 1)
		ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_SSN_OFFSET, 0xbad1635c)
		ae.Uint16(kernel.MPTCP_SUBFLOW_ATTR_MAP_DATALEN, 5)
		ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_FLAGS, 0x1c8) // j E c v
		ae.Uint8(kernel.MPTCP_SUBFLOW_ATTR_ID_REM, 0)
		ae.Uint8(kernel.MPTCP_SUBFLOW_ATTR_ID_LOC, 1)
		ae.Uint32(99, 7) // a future attribute
	})
}

func TestDecodeSubflowInfo(t *testing.T) {
	got, err := DecodeSubflowInfo(subflowNest(t))
	if err != nil {
		t.Fatal(err)
	}
	want := SubflowInfo{
		TokenRem: 0x6429b49, TokenLoc: 0xa801a6f8, RelWriteSeq: 6, MapSeq: 0x9b6de73a9511fba2, MapSfSeq: 1,
		MapDataLen: 5, SSNOffset: 0xbad1635c, Flags: 0x1c8, IDRem: 0, IDLoc: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if got.Flags.String() != "jecv" {
		t.Errorf("flags %q, want jecv", got.Flags)
	}
	for name, bad := range map[string][]byte{
		"token as u16":    encodeAttrs(t, func(ae *netlink.AttributeEncoder) { ae.Uint16(kernel.MPTCP_SUBFLOW_ATTR_TOKEN_LOC, 1) }),
		"map_seq as u32":  encodeAttrs(t, func(ae *netlink.AttributeEncoder) { ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_MAP_SEQ, 1) }),
		"id as u32":       encodeAttrs(t, func(ae *netlink.AttributeEncoder) { ae.Uint32(kernel.MPTCP_SUBFLOW_ATTR_ID_LOC, 1) }),
		"length past end": {12, 0, 1, 0, 1, 2, 3, 4},
		"trailing bytes":  {8, 0, 1, 0, 1, 2, 3, 4, 9, 9},
	} {
		if _, err := DecodeSubflowInfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}

func TestDecodeULPInfo(t *testing.T) {
	nest := subflowNest(t)
	ok := encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.String(kernel.INET_ULP_INFO_NAME, "mptcp")
		ae.Bytes(kernel.INET_ULP_INFO_MPTCP, nest)
	})
	name, m, err := DecodeULPInfo(ok)
	if err != nil || name != "mptcp" || m == nil || m.TokenLoc != 0xa801a6f8 {
		t.Errorf("DecodeULPInfo = %q, %+v, %v", name, m, err)
	}
	listener := encodeAttrs(t, func(ae *netlink.AttributeEncoder) { ae.String(kernel.INET_ULP_INFO_NAME, "mptcp") })
	if name, m, err := DecodeULPInfo(listener); err != nil || name != "mptcp" || m != nil {
		t.Errorf("listener ULP = %q, %+v, %v", name, m, err)
	}
	tls := encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.String(kernel.INET_ULP_INFO_NAME, "tls")
		ae.Bytes(kernel.INET_ULP_INFO_MPTCP, nest)
	})
	if _, _, err := DecodeULPInfo(tls); !errors.Is(err, ErrMalformed) {
		t.Errorf("tls with an MPTCP nest: %v", err)
	}
	badNest := encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.String(kernel.INET_ULP_INFO_NAME, "mptcp")
		ae.Bytes(kernel.INET_ULP_INFO_MPTCP, []byte{3, 0})
	})
	if _, _, err := DecodeULPInfo(badNest); !errors.Is(err, ErrMalformed) {
		t.Errorf("broken MPTCP nest: %v", err)
	}
}

func TestDecodeTCPMessage(t *testing.T) {
	h := header()
	h.Family = AFInet
	h.Local = netip.MustParseAddrPort("10.77.2.1:55795")
	h.Remote = netip.MustParseAddrPort("10.77.1.2:5555")
	ti := make([]byte, kernel.TCPInfoSize)
	ti[0] = uint8(kernel.TCPEstablished)
	b := AppendHeader(nil, h)
	b = append(b, encodeAttrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(kernel.INET_DIAG_INFO, ti)
		ae.String(kernel.INET_DIAG_CONG, "bbr")
		ae.Nested(kernel.INET_DIAG_ULP_INFO, func(nae *netlink.AttributeEncoder) error {
			nae.String(kernel.INET_ULP_INFO_NAME, "mptcp")
			nae.Bytes(kernel.INET_ULP_INFO_MPTCP, subflowNest(t))
			return nil
		})
	})...)
	s, err := DecodeTCPMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Local != h.Local || s.Remote != h.Remote || s.Cong != "bbr" || s.ULP != "mptcp" ||
		s.TCPInfo.State != kernel.TCPEstablished || s.MPTCP.IDLoc != 1 {
		t.Errorf("decoded %+v", s)
	}
	// A tcp_info too short for any kernel is refused.
	short := AppendHeader(nil, h)
	short = append(short, encodeAttrs(t, func(ae *netlink.AttributeEncoder) { ae.Bytes(kernel.INET_DIAG_INFO, ti[:50]) })...)
	if _, err := DecodeTCPMessage(short); !errors.Is(err, ErrMalformed) {
		t.Errorf("50-byte tcp_info: %v", err)
	}
	// Unknown address family.
	bad := AppendHeader(nil, h)
	bad[0] = 7
	if _, err := DecodeTCPMessage(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("family 7: %v", err)
	}
}

func TestAppendRequest(t *testing.T) {
	got := AppendRequest(nil, Request{Family: AFInet6, Protocol: kernel.IPPROTO_MPTCP, Ext: 2, States: 0xfff})
	want := make([]byte, 56, 64)
	want[0], want[1], want[2] = 10, 6, 2 // family, IPPROTO_TCP placeholder, ext
	binary.NativeEndian.PutUint32(want[4:], 0xfff)
	want = binary.NativeEndian.AppendUint16(want, 8) // nla_len
	want = binary.NativeEndian.AppendUint16(want, 3) // INET_DIAG_REQ_PROTOCOL
	want = binary.NativeEndian.AppendUint32(want, 262)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MPTCP request (-want +got):\n%s", diff)
	}
	tcp := AppendRequest(nil, Request{Family: AFInet, Protocol: 6, States: 1})
	if len(tcp) != ReqSize || tcp[1] != 6 {
		t.Errorf("TCP request: %d bytes, protocol %d", len(tcp), tcp[1])
	}
}

func TestStateSet(t *testing.T) {
	if !AllStates.Has(kernel.TCPEstablished) || !AllStates.Has(kernel.TCPListen) || AllStates.Has(0) {
		t.Error("AllStates")
	}
	if Connected.Has(kernel.TCPListen) || !Connected.Has(kernel.TCPEstablished) || !Connected.Has(kernel.TCPFinWait1) ||
		Connected.Has(kernel.TCPTimeWait) {
		t.Error("Connected")
	}
	if !Listening.Has(kernel.TCPListen) || Listening.Has(kernel.TCPEstablished) || Listening.Has(40) {
		t.Error("Listening")
	}
}

func TestSubflowFlagsString(t *testing.T) {
	for f, want := range map[SubflowFlags]string{
		0: "", 0x1 | 0x2 | 0x40 | 0x80: "Mmec", 0x4 | 0x8 | 0x10 | 0x20: "JjBb", 0x100: "v", 0x1000: "+1000",
	} {
		if got := f.String(); got != want {
			t.Errorf("SubflowFlags(%#x) = %q, want %q", uint32(f), got, want)
		}
	}
}

func FuzzDecodeMPTCPMessage(f *testing.F) {
	for _, n := range []string{"mptcp-0.bin", "mptcp-1.bin"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add(AppendHeader(nil, header()))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeMPTCPMessage(b)
		if err == nil && s.Info != nil && s.Info.Size < kernel.InfoSizeV1 {
			t.Fatalf("accepted a %d-byte mptcp_info", s.Info.Size)
		}
	})
}

func FuzzDecodeTCPMessage(f *testing.F) {
	for _, n := range []string{"tcp-0.bin", "tcp-1.bin", "tcp-2.bin"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeTCPMessage(b)
		if err == nil && s.MPTCP != nil && s.ULP != "mptcp" {
			t.Fatalf("MPTCP state under ULP %q", s.ULP)
		}
	})
}

func FuzzDecodeULPInfo(f *testing.F) {
	f.Add(encodeAttrs(f, func(ae *netlink.AttributeEncoder) {
		ae.String(kernel.INET_ULP_INFO_NAME, "mptcp")
		ae.Bytes(kernel.INET_ULP_INFO_MPTCP, subflowNest(f))
	}))
	f.Add(subflowNest(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeULPInfo(b)
		DecodeSubflowInfo(b)
	})
}

func BenchmarkDecodeTCPMessage(b *testing.B) {
	msg := readCapture(b, "tcp-1.bin")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTCPMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMPTCPMessage(b *testing.B) {
	msg := readCapture(b, "mptcp-0.bin")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMPTCPMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}
