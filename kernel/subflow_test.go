package kernel

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sockaddrIn builds a Linux sockaddr_in by hand: family (host order),
// port (network order), address, zero padding.
func sockaddrIn(a [4]byte, port uint16) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint16(b, 2)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], a[:])
	return b
}

// sockaddrIn6 builds a Linux sockaddr_in6: family, port, flowinfo,
// address, scope id.
func sockaddrIn6(a [16]byte, port uint16, flow, scope uint32) []byte {
	b := make([]byte, 28)
	binary.NativeEndian.PutUint16(b, 10)
	binary.BigEndian.PutUint16(b[2:], port)
	binary.BigEndian.PutUint32(b[4:], flow)
	copy(b[8:], a[:])
	binary.NativeEndian.PutUint32(b[24:], scope)
	return b
}

// storage pads a sockaddr to sockaddr_storage.
func storage(sa []byte) []byte { return append(sa, make([]byte, 128-len(sa))...) }

func TestDecodeSockaddr(t *testing.T) {
	v6 := netip.MustParseAddr("fd77:1::2").As16()
	tests := []struct {
		name    string
		in      []byte
		want    netip.AddrPort
		wantErr bool
	}{
		{name: "in", in: sockaddrIn([4]byte{10, 77, 1, 1}, 36556), want: netip.MustParseAddrPort("10.77.1.1:36556")},
		{name: "in storage", in: storage(sockaddrIn([4]byte{10, 77, 2, 1}, 1)), want: netip.MustParseAddrPort("10.77.2.1:1")},
		{name: "in6", in: sockaddrIn6(v6, 5555, 0x12345, 0), want: netip.MustParseAddrPort("[fd77:1::2]:5555")},
		{name: "in6 scoped", in: sockaddrIn6(netip.MustParseAddr("fe80::1").As16(), 80, 0, 3), want: netip.MustParseAddrPort("[fe80::1%3]:80")},
		{name: "unused", in: make([]byte, 128), want: netip.AddrPort{}},
		{name: "in truncated", in: sockaddrIn([4]byte{1, 2, 3, 4}, 1)[:7], wantErr: true},
		{name: "in6 truncated", in: sockaddrIn6(v6, 1, 0, 0)[:27], wantErr: true},
		{name: "unknown family", in: []byte{1, 0, 0, 0, 0, 0, 0, 0}, wantErr: true},
		{name: "one byte", in: []byte{2}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSockaddr(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if tt.want.IsValid() {
				back, err := DecodeSockaddr(AppendSockaddr(nil, got))
				if err != nil || back != got {
					t.Errorf("AppendSockaddr round trip: %v, %v", back, err)
				}
			}
		})
	}
}

// addrsReply builds an MPTCP_SUBFLOW_ADDRS reply: header, then elements.
func addrsReply(num, sizeUser uint32, elems ...[]byte) []byte {
	b := AppendSubflowData(nil, SubflowData{SizeSubflowData: 16, NumSubflows: num, SizeKernel: 256, SizeUser: sizeUser})
	for _, e := range elems {
		b = append(b, e...)
	}
	return b
}

func TestDecodeSubflowAddrsReply(t *testing.T) {
	sf1 := append(storage(sockaddrIn([4]byte{10, 77, 1, 1}, 36556)), storage(sockaddrIn([4]byte{10, 77, 1, 2}, 5555))...)
	sf2 := append(storage(sockaddrIn([4]byte{10, 77, 2, 1}, 55795)), storage(sockaddrIn([4]byte{10, 77, 1, 2}, 5555))...)
	want := []SubflowAddr{
		{Local: netip.MustParseAddrPort("10.77.1.1:36556"), Remote: netip.MustParseAddrPort("10.77.1.2:5555")},
		{Local: netip.MustParseAddrPort("10.77.2.1:55795"), Remote: netip.MustParseAddrPort("10.77.1.2:5555")},
	}
	badFamily := append([]byte(nil), sf2...)
	badFamily[128] = 99
	tests := []struct {
		name    string
		in      []byte
		want    []SubflowAddr
		wantErr bool
	}{
		{name: "two subflows", in: addrsReply(2, 256, sf1, sf2), want: want},
		{name: "more subflows than copied", in: addrsReply(3, 256, sf1, sf2), want: want},
		{name: "header only", in: addrsReply(2, 256), want: []SubflowAddr{}},
		{name: "partial element ignored", in: addrsReply(2, 256, sf1, sf2[:100]), want: want[:1]},
		{name: "bad remote family", in: addrsReply(2, 256, sf1, badFamily), wantErr: true},
		{name: "zero element size", in: addrsReply(2, 0, sf1), wantErr: true},
		{name: "size_user above size_kernel", in: addrsReply(1, 300, sf1), wantErr: true},
		{name: "short header", in: addrsReply(2, 256)[:15], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := DecodeSubflowAddrsReply(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeSubflowDataHeader(t *testing.T) {
	b := AppendSubflowData(nil, SubflowData{SizeSubflowData: 24, NumSubflows: 1, SizeKernel: 280, SizeUser: 280})
	if _, err := DecodeSubflowData(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("header declaring 24 bytes in a 16-byte reply: %v", err)
	}
	b = append(b, make([]byte, 8)...)
	d, err := DecodeSubflowData(b)
	if err != nil || d.SizeSubflowData != 24 || d.NumSubflows != 1 {
		t.Errorf("24-byte header: %+v, %v", d, err)
	}
	if _, err := DecodeSubflowData(AppendSubflowData(nil, SubflowData{SizeSubflowData: 8})); !errors.Is(err, ErrMalformed) {
		t.Errorf("8-byte header: %v", err)
	}
}

func TestDecodeTCPInfoReply(t *testing.T) {
	ti := tcpInfoFixture()
	b := AppendSubflowData(nil, SubflowData{SizeSubflowData: 16, NumSubflows: 2, SizeKernel: 280, SizeUser: 232})
	b = append(append(b, ti[:232]...), ti[:232]...)
	_, got, err := DecodeTCPInfoReply(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Size != 232 || got[1].SndWnd != 64512 || got[1].RcvWnd != 0 {
		t.Errorf("two 232-byte tcp_info: %d decoded, %+v", len(got), got)
	}
	bad := AppendSubflowData(nil, SubflowData{SizeSubflowData: 16, NumSubflows: 1, SizeKernel: 280, SizeUser: 50})
	bad = append(bad, ti[:50]...)
	if _, _, err := DecodeTCPInfoReply(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("50-byte tcp_info elements: %v", err)
	}
}

// fullInfoFixture builds an MPTCP_FULL_INFO reply with n subflows: the
// header and mptcp_info, and the two arrays.
func fullInfoFixture(n, arrays uint32, tcpSize uint32) (hdr, sf, ti []byte) {
	hdr = AppendFullInfoHeader(nil, FullInfoHeader{
		SizeTCPInfoKernel: 280, SizeTCPInfoUser: tcpSize, SizeSfInfoKernel: 264, SizeSfInfoUser: 264,
		NumSubflows: n, SizeArraysUser: arrays, SubflowInfo: 0x7f0000001000, TCPInfo: 0x7f0000002000,
	})
	hdr = append(hdr, infoFixture()...)
	tcp := tcpInfoFixture()
	for i := range min(n, arrays) {
		e := make([]byte, 8, 264)
		binary.NativeEndian.PutUint32(e, i+1)
		e = append(e, storage(sockaddrIn([4]byte{10, 77, byte(i + 1), 1}, uint16(1000+i)))...)
		e = append(e, storage(sockaddrIn([4]byte{10, 77, 1, 2}, 5555))...)
		sf = append(sf, e...)
		ti = append(ti, tcp[:tcpSize]...)
	}
	return hdr, sf, ti
}

func TestDecodeFullInfo(t *testing.T) {
	hdr, sf, ti := fullInfoFixture(2, 8, 280)
	fi, err := DecodeFullInfo(hdr, sf, ti)
	if err != nil {
		t.Fatal(err)
	}
	want := MPTCPFullInfo{
		Info:        fullInfoWant(),
		NumSubflows: 2,
		Subflows: []SubflowFullInfo{
			{ID: 1, Local: netip.MustParseAddrPort("10.77.1.1:1000"), Remote: netip.MustParseAddrPort("10.77.1.2:5555"), TCP: tcpInfoWant()},
			{ID: 2, Local: netip.MustParseAddrPort("10.77.2.1:1001"), Remote: netip.MustParseAddrPort("10.77.1.2:5555"), TCP: tcpInfoWant()},
		},
	}
	addrCmp := cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })
	if diff := cmp.Diff(want, fi, addrCmp); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}

	// More subflows than array slots: only the slots are decoded.
	hdr, sf, ti = fullInfoFixture(3, 2, 280)
	fi, err = DecodeFullInfo(hdr, sf, ti)
	if err != nil || fi.NumSubflows != 3 || len(fi.Subflows) != 2 {
		t.Errorf("3 subflows in 2 slots: %d/%d, %v", len(fi.Subflows), fi.NumSubflows, err)
	}
	// No tcp_info requested.
	hdr, sf, _ = fullInfoFixture(1, 1, 0)
	fi, err = DecodeFullInfo(hdr, sf, nil)
	if err != nil || fi.Subflows[0].TCP.Size != 0 || fi.Subflows[0].ID != 1 {
		t.Errorf("without tcp_info: %+v, %v", fi.Subflows, err)
	}
	// Header only: no mptcp_info.
	fi, err = DecodeFullInfo(hdr[:40], sf, nil)
	if err != nil || fi.Info.Size != 0 {
		t.Errorf("header only: %+v, %v", fi.Info, err)
	}

	for name, tc := range map[string]struct{ hdr, sf, ti []byte }{
		"short header": {hdr: hdr[:39]},
		"arrays too small": func() struct{ hdr, sf, ti []byte } {
			h, s, ti := fullInfoFixture(2, 2, 280)
			return struct{ hdr, sf, ti []byte }{h, s[:300], ti}
		}(),
		"truncated mptcp_info":  {hdr: hdr[:50]},
		"stride above kernel's": {hdr: AppendFullInfoHeader(nil, FullInfoHeader{SizeTCPInfoKernel: 280, SizeTCPInfoUser: 300, NumSubflows: 1, SizeArraysUser: 1}), sf: make([]byte, 600), ti: make([]byte, 600)},
		"tiny sfinfo stride":    {hdr: AppendFullInfoHeader(nil, FullInfoHeader{SizeSfInfoUser: 2, NumSubflows: 1, SizeArraysUser: 1}), sf: make([]byte, 8)},
		"tcp_info too short":    {hdr: AppendFullInfoHeader(nil, FullInfoHeader{SizeSfInfoUser: 4, SizeTCPInfoUser: 50, NumSubflows: 1, SizeArraysUser: 1}), sf: make([]byte, 8), ti: make([]byte, 50)},
	} {
		if _, err := DecodeFullInfo(tc.hdr, tc.sf, tc.ti); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzDecodeSockaddr(f *testing.F) {
	f.Add(sockaddrIn([4]byte{10, 0, 0, 1}, 80))
	f.Add(sockaddrIn6(netip.MustParseAddr("fe80::1").As16(), 443, 1, 2))
	f.Add(make([]byte, 128))
	f.Fuzz(func(t *testing.T, b []byte) {
		ap, err := DecodeSockaddr(b)
		if err != nil || !ap.IsValid() {
			return
		}
		back, err := DecodeSockaddr(AppendSockaddr(nil, ap))
		if err != nil || back != ap {
			t.Fatalf("round trip of %v: %v, %v", ap, back, err)
		}
	})
}

func FuzzDecodeSubflowArrays(f *testing.F) {
	sf1 := append(storage(sockaddrIn([4]byte{10, 77, 1, 1}, 36556)), storage(sockaddrIn([4]byte{10, 77, 1, 2}, 5555))...)
	f.Add(addrsReply(2, 256, sf1, sf1))
	f.Add(addrsReply(1, 0))
	ti := AppendSubflowData(nil, SubflowData{SizeSubflowData: 16, NumSubflows: 1, SizeKernel: 280, SizeUser: 280})
	f.Add(append(ti, tcpInfoFixture()...))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, addrs, err := DecodeSubflowAddrsReply(b)
		if err == nil && uint32(len(addrs)) > d.NumSubflows {
			t.Fatalf("%d addresses for %d subflows", len(addrs), d.NumSubflows)
		}
		d, infos, err := DecodeTCPInfoReply(b)
		if err == nil && uint32(len(infos)) > d.NumSubflows {
			t.Fatalf("%d tcp_info for %d subflows", len(infos), d.NumSubflows)
		}
	})
}

func FuzzDecodeFullInfo(f *testing.F) {
	hdr, sf, ti := fullInfoFixture(2, 2, 280)
	f.Add(hdr, sf, ti)
	hdr, sf, ti = fullInfoFixture(3, 1, 104)
	f.Add(hdr, sf, ti)
	f.Add(hdr[:40], []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, hdr, sf, ti []byte) {
		fi, err := DecodeFullInfo(hdr, sf, ti)
		if err != nil {
			return
		}
		if len(fi.Subflows) > fi.NumSubflows {
			t.Fatalf("%d subflows decoded, %d reported", len(fi.Subflows), fi.NumSubflows)
		}
	})
}

func BenchmarkDecodeFullInfo(b *testing.B) {
	hdr, sf, ti := fullInfoFixture(2, 8, 280)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFullInfo(hdr, sf, ti); err != nil {
			b.Fatal(err)
		}
	}
}
