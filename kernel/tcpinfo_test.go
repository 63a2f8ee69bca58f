package kernel

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tcpInfoFixture is a struct tcp_info as Linux 6.18 lays it out (280
// bytes), written field by field at the offsets of include/uapi/linux/tcp.h.
func tcpInfoFixture() []byte {
	b := make([]byte, 280)
	b[0], b[1], b[2], b[3], b[4], b[5] = 1, 4, 2, 3, 5, 7
	if hostBigEndian {
		b[6] = 7<<4 | 10 // snd_wscale 7, rcv_wscale 10
		b[7] = 0x80 | 2<<5
	} else {
		b[6] = 10<<4 | 7
		b[7] = 1 | 2<<1 // app_limited, fastopen_client_fail 2
	}
	for i, v := range []uint32{
		204000, 40000, 1448, 536, // rto, ato, snd_mss, rcv_mss
		3, 4, 5, 6, 7, // unacked sacked lost retrans fackets
		1384, 1385, 1386, 1387, // last_data_sent, last_ack_sent, last_data_recv, last_ack_recv
		1500, 64088, 93, 53, 2147483647, 11, 1448, 3, 17, 14480, // pmtu … rcv_space
		8, // total_retrans
	} {
		put(b, 8+4*i, v)
	}
	put(b, 104, uint64(3152890520))
	put(b, 112, ^uint64(0))
	put(b, 120, uint64(6))
	put(b, 128, uint64(5))
	put(b, 136, uint32(3))
	put(b, 140, uint32(2))
	put(b, 144, uint32(9))
	put(b, 148, uint32(13))
	put(b, 152, uint32(1))
	put(b, 156, uint32(1))
	put(b, 160, uint64(891076920))
	put(b, 168, uint64(100))
	put(b, 176, uint64(200))
	put(b, 184, uint64(300))
	put(b, 192, uint32(2))
	put(b, 196, uint32(1))
	put(b, 200, uint64(5))
	put(b, 208, uint64(4))
	put(b, 216, uint32(21))
	put(b, 220, uint32(22))
	put(b, 224, uint32(23))
	put(b, 228, uint32(64512))
	put(b, 232, uint32(65483))
	put(b, 236, uint32(24))
	put(b, 240, uint16(25))
	put(b, 242, uint16(26))
	put(b, 244, uint32(27))
	put(b, 248, uint32(28))
	for i := range 6 {
		put(b, 252+4*i, uint32(30+i))
	}
	if hostBigEndian {
		put(b, 276, uint32(2<<30|1<<28|5<<24|0x123456))
	} else {
		put(b, 276, uint32(2|1<<2|5<<4|0x123456<<8))
	}
	return b
}

func tcpInfoWant() TCPInfo {
	return TCPInfo{
		State: TCPEstablished, CAState: 4, Retransmits: 2, Probes: 3, Backoff: 5, Options: 7,
		SndWscale: 7, RcvWscale: 10, DeliveryRateAppLimited: true, FastopenClientFail: 2,
		RTO: 204 * time.Millisecond, ATO: 40 * time.Millisecond, SndMSS: 1448, RcvMSS: 536,
		Unacked: 3, Sacked: 4, Lost: 5, Retrans: 6, Fackets: 7,
		LastDataSent: 1384 * time.Millisecond, LastAckSent: 1385 * time.Millisecond,
		LastDataRecv: 1386 * time.Millisecond, LastAckRecv: 1387 * time.Millisecond,
		PMTU: 1500, RcvSsthresh: 64088, RTT: 93 * time.Microsecond, RTTVar: 53 * time.Microsecond,
		SndSsthresh: 2147483647, SndCwnd: 11, AdvMSS: 1448, Reordering: 3, RcvRTT: 17 * time.Microsecond,
		RcvSpace: 14480, TotalRetrans: 8,
		PacingRate: 3152890520, MaxPacingRate: ^uint64(0), BytesAcked: 6, BytesReceived: 5, SegsOut: 3, SegsIn: 2,
		NotsentBytes: 9, MinRTT: 13 * time.Microsecond, DataSegsIn: 1, DataSegsOut: 1,
		DeliveryRate: 891076920, BusyTime: 100 * time.Microsecond, RwndLimited: 200 * time.Microsecond,
		SndbufLimited: 300 * time.Microsecond, Delivered: 2, DeliveredCE: 1, BytesSent: 5, BytesRetrans: 4,
		DsackDups: 21, ReordSeen: 22, RcvOoopack: 23, SndWnd: 64512, RcvWnd: 65483, Rehash: 24,
		TotalRTO: 25, TotalRTORecoveries: 26, TotalRTOTime: 27 * time.Millisecond, ReceivedCE: 28,
		DeliveredE1Bytes: 30, DeliveredE0Bytes: 31, DeliveredCEBytes: 32,
		ReceivedE1Bytes: 33, ReceivedE0Bytes: 34, ReceivedCEBytes: 35,
		ECNMode: 2, AccECNOptSeen: 1, AccECNFailMode: 5, Options2: 0x123456,
		Size: 280,
	}
}

func TestDecodeTCPInfo(t *testing.T) {
	full := tcpInfoFixture()
	// Linux 5.4 ended at tcpi_rcv_ooopack (228 bytes, 232 with padding).
	old := tcpInfoWant()
	old.SndWnd, old.RcvWnd, old.Rehash, old.TotalRTO, old.TotalRTORecoveries, old.TotalRTOTime = 0, 0, 0, 0, 0, 0
	old.ReceivedCE, old.DeliveredE1Bytes, old.DeliveredE0Bytes, old.DeliveredCEBytes = 0, 0, 0, 0
	old.ReceivedE1Bytes, old.ReceivedE0Bytes, old.ReceivedCEBytes = 0, 0, 0
	old.ECNMode, old.AccECNOptSeen, old.AccECNFailMode, old.Options2 = 0, 0, 0, 0
	old.Size = 228
	minimal := TCPInfo{
		State: TCPEstablished, CAState: 4, Retransmits: 2, Probes: 3, Backoff: 5, Options: 7,
		SndWscale: 7, RcvWscale: 10, DeliveryRateAppLimited: true, FastopenClientFail: 2,
		RTO: 204 * time.Millisecond, ATO: 40 * time.Millisecond, SndMSS: 1448, RcvMSS: 536,
		Unacked: 3, Sacked: 4, Lost: 5, Retrans: 6, Fackets: 7,
		LastDataSent: 1384 * time.Millisecond, LastAckSent: 1385 * time.Millisecond,
		LastDataRecv: 1386 * time.Millisecond, LastAckRecv: 1387 * time.Millisecond,
		PMTU: 1500, RcvSsthresh: 64088, RTT: 93 * time.Microsecond, RTTVar: 53 * time.Microsecond,
		SndSsthresh: 2147483647, SndCwnd: 11, AdvMSS: 1448, Reordering: 3, RcvRTT: 17 * time.Microsecond,
		RcvSpace: 14480, TotalRetrans: 8, Size: 104,
	}
	tests := []struct {
		name    string
		in      []byte
		want    TCPInfo
		wantErr bool
	}{
		{name: "6.18", in: full, want: tcpInfoWant()},
		{name: "newer kernel", in: append(append([]byte(nil), full...), make([]byte, 24)...), want: tcpInfoWant()},
		{name: "5.4", in: full[:228], want: old},
		{name: "minimum", in: full[:104], want: minimal},
		{name: "too short", in: full[:103], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTCPInfo(tt.in)
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
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTCPStateString(t *testing.T) {
	for s, want := range map[TCPState]string{
		TCPEstablished: "ESTAB", TCPListen: "LISTEN", TCPClose: "UNCONN", TCPTimeWait: "TIME-WAIT",
		TCPNewSynRecv: "NEW-SYN-RECV", 0: "STATE(0)", 200: "STATE(200)",
	} {
		if got := s.String(); got != want {
			t.Errorf("TCPState(%d) = %q, want %q", s, got, want)
		}
	}
	if got := TCPCAState(3).String(); got != "Recovery" {
		t.Errorf("TCPCAState(3) = %q", got)
	}
	if got := TCPCAState(9).String(); got != "CA(9)" {
		t.Errorf("TCPCAState(9) = %q", got)
	}
}

func FuzzDecodeTCPInfo(f *testing.F) {
	full := tcpInfoFixture()
	f.Add(full)
	f.Add(full[:104])
	f.Add(full[:231])
	f.Add(append(full, 0xff))
	f.Fuzz(func(t *testing.T, b []byte) {
		ti, err := DecodeTCPInfo(b)
		if (err != nil) != (len(b) < TCPInfoMinSize) {
			t.Fatalf("DecodeTCPInfo(%d bytes): %v", len(b), err)
		}
		if err == nil && (ti.Size != min(len(b), TCPInfoSize) || uint8(ti.State) != b[0]) {
			t.Fatalf("Size %d State %d for %d bytes", ti.Size, ti.State, len(b))
		}
	})
}

func BenchmarkDecodeTCPInfo(b *testing.B) {
	in := tcpInfoFixture()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTCPInfo(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTCPStateText(t *testing.T) {
	for _, s := range []TCPState{TCPEstablished, TCPListen, TCPBoundInactive, 0, 77} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back TCPState
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v: round trip %v, %v", s, back, err)
		}
	}
	var s TCPState
	if err := s.UnmarshalText([]byte("SOMETHING")); err == nil {
		t.Error("UnmarshalText accepted an unknown state")
	}
}
