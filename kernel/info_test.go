package kernel

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// put writes v at off in host byte order, with the width of v's type.
func put(b []byte, off int, v any) {
	ne := binary.NativeEndian
	switch x := v.(type) {
	case uint8:
		b[off] = x
	case uint16:
		ne.PutUint16(b[off:], x)
	case uint32:
		ne.PutUint32(b[off:], x)
	case uint64:
		ne.PutUint64(b[off:], x)
	default:
		panic("put: unsupported type")
	}
}

// infoFixture is a struct mptcp_info as Linux 6.18 lays it out, written
// field by field at the offsets of include/uapi/linux/mptcp.h.
func infoFixture() []byte {
	b := make([]byte, 96)
	put(b, 0, uint8(1))       // subflows
	put(b, 1, uint8(2))       // add_addr_signal
	put(b, 2, uint8(3))       // add_addr_accepted
	put(b, 3, uint8(4))       // subflows_max
	put(b, 4, uint8(5))       // add_addr_signal_max
	put(b, 5, uint8(6))       // add_addr_accepted_max
	put(b, 6, uint16(0xffff)) // the 16-bit hole must be ignored
	put(b, 8, uint32(3))      // flags: fallback | remote_key_received
	put(b, 12, uint32(0xa801a6f8))
	put(b, 16, uint64(0x2301d9b60b0e9b1f))
	put(b, 24, uint64(0x2301d9b60b0e9b00))
	put(b, 32, uint64(0x9b6de73a9511fba2))
	put(b, 40, uint8(7))    // local_addr_used
	put(b, 41, uint8(8))    // local_addr_max
	put(b, 42, uint8(1))    // csum_enabled
	put(b, 43, uint8(0xee)) // hole
	put(b, 44, uint32(9))   // retransmits
	put(b, 48, uint64(10))
	put(b, 56, uint64(11))
	put(b, 64, uint64(12))
	put(b, 72, uint64(13))
	put(b, 80, uint8(14))   // subflows_total
	put(b, 81, uint8(15))   // endp_laminar_max
	put(b, 82, uint8(16))   // endp_fullmesh_max
	put(b, 83, uint8(0xdd)) // reserved
	put(b, 84, uint32(1384))
	put(b, 88, uint32(1385))
	put(b, 92, uint32(1386))
	return b
}

func fullInfoWant() MPTCPInfo {
	return MPTCPInfo{
		Subflows: 1, AddAddrSignal: 2, AddAddrAccepted: 3, SubflowsMax: 4, AddAddrSignalMax: 5, AddAddrAcceptedMax: 6,
		Flags: 3, Token: 0xa801a6f8,
		WriteSeq: 0x2301d9b60b0e9b1f, SndUna: 0x2301d9b60b0e9b00, RcvNxt: 0x9b6de73a9511fba2,
		LocalAddrUsed: 7, LocalAddrMax: 8, CsumEnabled: true,
		Retransmits: 9, BytesRetrans: 10, BytesSent: 11, BytesReceived: 12, BytesAcked: 13,
		SubflowsTotal: 14, EndpLaminarMax: 15, EndpFullmeshMax: 16,
		LastDataSent: 1384 * time.Millisecond, LastDataRecv: 1385 * time.Millisecond, LastAckRecv: 1386 * time.Millisecond,
		Size: 96,
	}
}

func TestDecodeInfo(t *testing.T) {
	full := infoFixture()
	v1 := fullInfoWant()
	v1 = MPTCPInfo{
		Subflows: v1.Subflows, AddAddrSignal: v1.AddAddrSignal, AddAddrAccepted: v1.AddAddrAccepted,
		SubflowsMax: v1.SubflowsMax, AddAddrSignalMax: v1.AddAddrSignalMax, AddAddrAcceptedMax: v1.AddAddrAcceptedMax,
		Flags: v1.Flags, Token: v1.Token, WriteSeq: v1.WriteSeq, SndUna: v1.SndUna, RcvNxt: v1.RcvNxt, Size: 40,
	}
	v2 := v1
	v2.LocalAddrUsed, v2.LocalAddrMax, v2.CsumEnabled, v2.Size = 7, 8, true, 48
	partial := v2 // 60 bytes: retransmits and bytes_retrans complete, bytes_sent cut
	partial.Retransmits, partial.BytesRetrans, partial.Size = 9, 10, 60
	v3 := v2
	v3.Retransmits, v3.BytesRetrans, v3.BytesSent, v3.BytesReceived, v3.BytesAcked, v3.Size = 9, 10, 11, 12, 13, 80
	v4 := v3
	v4.SubflowsTotal, v4.Size = 14, 88
	longer := append(append([]byte(nil), full...), 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4)

	tests := []struct {
		name    string
		in      []byte
		want    MPTCPInfo
		has     []InfoField
		hasNot  []InfoField
		wantErr bool
	}{
		{name: "current 6.18", in: full, want: fullInfoWant(), has: []InfoField{FieldEndpFullmeshMax, FieldLastAckRecv}},
		{name: "longer, newer kernel", in: longer, want: fullInfoWant(), has: []InfoField{FieldLastAckRecv}},
		{name: "5.7 layout", in: full[:40], want: v1, hasNot: []InfoField{FieldLocalAddrUsed, FieldLastAckRecv}},
		{name: "5.12 layout", in: full[:48], want: v2, has: []InfoField{FieldCsumEnabled}, hasNot: []InfoField{FieldRetransmits}},
		{name: "6.5 layout", in: full[:80], want: v3, has: []InfoField{FieldBytesAcked}, hasNot: []InfoField{FieldSubflowsTotal}},
		{name: "6.8 layout", in: full[:88], want: v4, has: []InfoField{FieldSubflowsTotal},
			hasNot: []InfoField{FieldEndpLaminarMax, FieldLastDataSent}},
		{name: "cut inside a field", in: full[:60], want: partial, has: []InfoField{FieldBytesRetrans}, hasNot: []InfoField{FieldBytesSent}},
		{name: "shorter than any layout", in: full[:39], wantErr: true},
		{name: "empty", in: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeInfo(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeInfo mismatch (-want +got):\n%s", diff)
			}
			for _, f := range tt.has {
				if !got.Has(f) {
					t.Errorf("Has(%d) = false", f)
				}
			}
			for _, f := range tt.hasNot {
				if got.Has(f) {
					t.Errorf("Has(%d) = true", f)
				}
			}
		})
	}
}

func TestInfoFlags(t *testing.T) {
	for _, tt := range []struct {
		f                   InfoFlags
		fallback, remoteKey bool
	}{{0, false, false}, {1, true, false}, {2, false, true}, {3, true, true}, {0xfffffffc, false, false}} {
		if tt.f.Fallback() != tt.fallback || tt.f.RemoteKeyReceived() != tt.remoteKey {
			t.Errorf("flags %#x: Fallback %v RemoteKeyReceived %v", uint32(tt.f), tt.f.Fallback(), tt.f.RemoteKeyReceived())
		}
	}
}

func TestInfoHasOutOfRange(t *testing.T) {
	i := fullInfoWant()
	if i.Has(-1) || i.Has(InfoField(len(infoFieldEnd))) {
		t.Error("Has accepts an unknown field")
	}
}

func TestAppendInfoRoundTrip(t *testing.T) {
	want := fullInfoWant()
	b := AppendInfo([]byte{0xaa}, &want)
	if len(b) != 1+InfoSize {
		t.Fatalf("AppendInfo wrote %d bytes, want %d", len(b)-1, InfoSize)
	}
	got, err := DecodeInfo(b[1:])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	// The holes are written as zeros, so the encoding differs from the
	// fixture only there.
	fix := infoFixture()
	fix[6], fix[7], fix[43], fix[83] = 0, 0, 0, 0
	if diff := cmp.Diff(fix, b[1:]); diff != "" {
		t.Errorf("AppendInfo bytes differ from the kernel layout (-want +got):\n%s", diff)
	}
}

func FuzzDecodeInfo(f *testing.F) {
	full := infoFixture()
	f.Add(full)
	f.Add(full[:40])
	f.Add(full[:48])
	f.Add(full[:61])
	f.Add(append(full, 1, 2, 3))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		i, err := DecodeInfo(b)
		if err != nil {
			if len(b) >= InfoSizeV1 {
				t.Fatalf("DecodeInfo(%d bytes) failed: %v", len(b), err)
			}
			return
		}
		if i.Size != min(len(b), InfoSize) {
			t.Fatalf("Size %d for %d bytes", i.Size, len(b))
		}
		if i.Token != binary.NativeEndian.Uint32(b[12:]) {
			t.Fatal("token mismatch")
		}
		if i.Size == InfoSize {
			again, err := DecodeInfo(AppendInfo(nil, &i))
			if err != nil || again != i {
				t.Fatalf("re-encoding changed the value: %v", err)
			}
		}
	})
}

func BenchmarkDecodeInfo(b *testing.B) {
	in := infoFixture()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeInfo(in); err != nil {
			b.Fatal(err)
		}
	}
}
