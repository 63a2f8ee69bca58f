package kernel

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// Sizes of struct tcp_info (include/uapi/linux/tcp.h).
const (
	// TCPInfoMinSize is the oldest layout still met in practice (up to
	// tcpi_total_retrans, Linux 2.6); DecodeTCPInfo refuses less.
	TCPInfoMinSize = 104
	// TCPInfoSize is the layout this package knows (Linux 6.18, up to the
	// AccECN counters and the ECN mode bitfield word).
	TCPInfoSize = 280
)

// TCPState is a TCP state as numbered by the Linux kernel (TCP_ESTABLISHED
// = 1 …), in tcp_info, inet_diag and ss.
type TCPState uint8

// Linux TCP states (include/net/tcp_states.h).
const (
	TCPEstablished TCPState = 1 + iota
	TCPSynSent
	TCPSynRecv
	TCPFinWait1
	TCPFinWait2
	TCPTimeWait
	TCPClose
	TCPCloseWait
	TCPLastAck
	TCPListen
	TCPClosing
	TCPNewSynRecv
	TCPBoundInactive
)

var tcpStateNames = [...]string{
	TCPEstablished:   "ESTAB",
	TCPSynSent:       "SYN-SENT",
	TCPSynRecv:       "SYN-RECV",
	TCPFinWait1:      "FIN-WAIT-1",
	TCPFinWait2:      "FIN-WAIT-2",
	TCPTimeWait:      "TIME-WAIT",
	TCPClose:         "UNCONN",
	TCPCloseWait:     "CLOSE-WAIT",
	TCPLastAck:       "LAST-ACK",
	TCPListen:        "LISTEN",
	TCPClosing:       "CLOSING",
	TCPNewSynRecv:    "NEW-SYN-RECV",
	TCPBoundInactive: "BOUND-INACTIVE",
}

// String returns the state the way ss prints it ("ESTAB", "LISTEN", …).
func (s TCPState) String() string {
	if int(s) < len(tcpStateNames) && tcpStateNames[s] != "" {
		return tcpStateNames[s]
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}

// TCPCAState is tcpi_ca_state, the congestion avoidance state.
type TCPCAState uint8

var caStateNames = [...]string{"Open", "Disorder", "CWR", "Recovery", "Loss"}

// String returns the kernel's name of the state ("Open", "Recovery", …).
func (s TCPCAState) String() string {
	if int(s) < len(caStateNames) {
		return caStateNames[s]
	}
	return "CA(" + strconv.Itoa(int(s)) + ")"
}

// TCPInfo is struct tcp_info of one subflow. Times are converted to
// time.Duration from the kernel's units (microseconds for RTO, ATO, RTTs and
// the busy/limited times; milliseconds for the last_* ages and
// total_rto_time). Rates are in bytes per second.
type TCPInfo struct {
	State                  TCPState   `json:"state"`
	CAState                TCPCAState `json:"ca_state"`
	Retransmits            uint8      `json:"retransmits"`
	Probes                 uint8      `json:"probes"`
	Backoff                uint8      `json:"backoff"`
	Options                uint8      `json:"options"`
	SndWscale              uint8      `json:"snd_wscale"`
	RcvWscale              uint8      `json:"rcv_wscale"`
	DeliveryRateAppLimited bool       `json:"delivery_rate_app_limited"`
	FastopenClientFail     uint8      `json:"fastopen_client_fail"`

	RTO    time.Duration `json:"rto_ns"`
	ATO    time.Duration `json:"ato_ns"`
	SndMSS uint32        `json:"snd_mss"`
	RcvMSS uint32        `json:"rcv_mss"`

	Unacked uint32 `json:"unacked"`
	Sacked  uint32 `json:"sacked"`
	Lost    uint32 `json:"lost"`
	Retrans uint32 `json:"retrans"`
	Fackets uint32 `json:"fackets"`

	LastDataSent time.Duration `json:"last_data_sent_ns"`
	LastAckSent  time.Duration `json:"last_ack_sent_ns"`
	LastDataRecv time.Duration `json:"last_data_recv_ns"`
	LastAckRecv  time.Duration `json:"last_ack_recv_ns"`

	PMTU        uint32        `json:"pmtu"`
	RcvSsthresh uint32        `json:"rcv_ssthresh"`
	RTT         time.Duration `json:"rtt_ns"`
	RTTVar      time.Duration `json:"rttvar_ns"`
	SndSsthresh uint32        `json:"snd_ssthresh"`
	SndCwnd     uint32        `json:"snd_cwnd"`
	AdvMSS      uint32        `json:"advmss"`
	Reordering  uint32        `json:"reordering"`
	RcvRTT      time.Duration `json:"rcv_rtt_ns"`
	RcvSpace    uint32        `json:"rcv_space"`

	TotalRetrans uint32 `json:"total_retrans"`

	PacingRate    uint64 `json:"pacing_rate"`
	MaxPacingRate uint64 `json:"max_pacing_rate"`
	BytesAcked    uint64 `json:"bytes_acked"`
	BytesReceived uint64 `json:"bytes_received"`
	SegsOut       uint32 `json:"segs_out"`
	SegsIn        uint32 `json:"segs_in"`

	NotsentBytes uint32        `json:"notsent_bytes"`
	MinRTT       time.Duration `json:"min_rtt_ns"`
	DataSegsIn   uint32        `json:"data_segs_in"`
	DataSegsOut  uint32        `json:"data_segs_out"`

	DeliveryRate uint64 `json:"delivery_rate"`

	BusyTime      time.Duration `json:"busy_time_ns"`
	RwndLimited   time.Duration `json:"rwnd_limited_ns"`
	SndbufLimited time.Duration `json:"sndbuf_limited_ns"`

	Delivered   uint32 `json:"delivered"`
	DeliveredCE uint32 `json:"delivered_ce"`

	BytesSent    uint64 `json:"bytes_sent"`
	BytesRetrans uint64 `json:"bytes_retrans"`
	DsackDups    uint32 `json:"dsack_dups"`
	ReordSeen    uint32 `json:"reord_seen"`

	RcvOoopack uint32 `json:"rcv_ooopack"`
	SndWnd     uint32 `json:"snd_wnd"`
	RcvWnd     uint32 `json:"rcv_wnd"`
	Rehash     uint32 `json:"rehash"`

	TotalRTO           uint16        `json:"total_rto"`
	TotalRTORecoveries uint16        `json:"total_rto_recoveries"`
	TotalRTOTime       time.Duration `json:"total_rto_time_ns"`
	ReceivedCE         uint32        `json:"received_ce"`

	DeliveredE1Bytes uint32 `json:"delivered_e1_bytes"`
	DeliveredE0Bytes uint32 `json:"delivered_e0_bytes"`
	DeliveredCEBytes uint32 `json:"delivered_ce_bytes"`
	ReceivedE1Bytes  uint32 `json:"received_e1_bytes"`
	ReceivedE0Bytes  uint32 `json:"received_e0_bytes"`
	ReceivedCEBytes  uint32 `json:"received_ce_bytes"`

	// ECNMode, AccECNOptSeen, AccECNFailMode and Options2 share the last
	// 32-bit word (bitfields of 2, 2, 4 and 24 bits).
	ECNMode        uint8  `json:"ecn_mode"`
	AccECNOptSeen  uint8  `json:"accecn_opt_seen"`
	AccECNFailMode uint8  `json:"accecn_fail_mode"`
	Options2       uint32 `json:"options2"`

	// Size is the number of bytes the kernel provided; fields ending
	// beyond it are zero.
	Size int `json:"size"`
}

// hostBigEndian reports the byte order of the host, which decides how C
// bitfields are laid out (GCC allocates them from the least significant bit
// on little-endian hosts and from the most significant one on big-endian).
var hostBigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// fieldReader reads host-order integers at fixed offsets, returning zero for
// fields that end beyond the buffer.
type fieldReader []byte

func (r fieldReader) u8(off int) uint8 {
	if off+1 > len(r) {
		return 0
	}
	return r[off]
}

func (r fieldReader) u16(off int) uint16 {
	if off+2 > len(r) {
		return 0
	}
	return binary.NativeEndian.Uint16(r[off:])
}

func (r fieldReader) u32(off int) uint32 {
	if off+4 > len(r) {
		return 0
	}
	return binary.NativeEndian.Uint32(r[off:])
}

func (r fieldReader) u64(off int) uint64 {
	if off+8 > len(r) {
		return 0
	}
	return binary.NativeEndian.Uint64(r[off:])
}

// DecodeTCPInfo decodes struct tcp_info from b (host byte order). b must
// hold at least TCPInfoMinSize bytes; fields beyond len(b) stay zero and
// bytes beyond TCPInfoSize are ignored.
func DecodeTCPInfo(b []byte) (TCPInfo, error) {
	var t TCPInfo
	if len(b) < TCPInfoMinSize {
		return t, malformed("tcp_info is %d bytes, need at least %d", len(b), TCPInfoMinSize)
	}
	if len(b) > TCPInfoSize {
		b = b[:TCPInfoSize]
	}
	r := fieldReader(b)
	t.Size = len(b)
	t.State = TCPState(r.u8(0))
	t.CAState = TCPCAState(r.u8(1))
	t.Retransmits = r.u8(2)
	t.Probes = r.u8(3)
	t.Backoff = r.u8(4)
	t.Options = r.u8(5)
	ws, bits := r.u8(6), r.u8(7)
	if hostBigEndian {
		t.SndWscale, t.RcvWscale = ws>>4, ws&0xf
		t.DeliveryRateAppLimited = bits&0x80 != 0
		t.FastopenClientFail = bits >> 5 & 0x3
	} else {
		t.SndWscale, t.RcvWscale = ws&0xf, ws>>4
		t.DeliveryRateAppLimited = bits&0x1 != 0
		t.FastopenClientFail = bits >> 1 & 0x3
	}
	t.RTO = usec(r.u32(8))
	t.ATO = usec(r.u32(12))
	t.SndMSS = r.u32(16)
	t.RcvMSS = r.u32(20)
	t.Unacked = r.u32(24)
	t.Sacked = r.u32(28)
	t.Lost = r.u32(32)
	t.Retrans = r.u32(36)
	t.Fackets = r.u32(40)
	t.LastDataSent = msec(r.u32(44))
	t.LastAckSent = msec(r.u32(48))
	t.LastDataRecv = msec(r.u32(52))
	t.LastAckRecv = msec(r.u32(56))
	t.PMTU = r.u32(60)
	t.RcvSsthresh = r.u32(64)
	t.RTT = usec(r.u32(68))
	t.RTTVar = usec(r.u32(72))
	t.SndSsthresh = r.u32(76)
	t.SndCwnd = r.u32(80)
	t.AdvMSS = r.u32(84)
	t.Reordering = r.u32(88)
	t.RcvRTT = usec(r.u32(92))
	t.RcvSpace = r.u32(96)
	t.TotalRetrans = r.u32(100)
	t.PacingRate = r.u64(104)
	t.MaxPacingRate = r.u64(112)
	t.BytesAcked = r.u64(120)
	t.BytesReceived = r.u64(128)
	t.SegsOut = r.u32(136)
	t.SegsIn = r.u32(140)
	t.NotsentBytes = r.u32(144)
	t.MinRTT = usec(r.u32(148))
	t.DataSegsIn = r.u32(152)
	t.DataSegsOut = r.u32(156)
	t.DeliveryRate = r.u64(160)
	t.BusyTime = time.Duration(r.u64(168)) * time.Microsecond
	t.RwndLimited = time.Duration(r.u64(176)) * time.Microsecond
	t.SndbufLimited = time.Duration(r.u64(184)) * time.Microsecond
	t.Delivered = r.u32(192)
	t.DeliveredCE = r.u32(196)
	t.BytesSent = r.u64(200)
	t.BytesRetrans = r.u64(208)
	t.DsackDups = r.u32(216)
	t.ReordSeen = r.u32(220)
	t.RcvOoopack = r.u32(224)
	t.SndWnd = r.u32(228)
	t.RcvWnd = r.u32(232)
	t.Rehash = r.u32(236)
	t.TotalRTO = r.u16(240)
	t.TotalRTORecoveries = r.u16(242)
	t.TotalRTOTime = msec(r.u32(244))
	t.ReceivedCE = r.u32(248)
	t.DeliveredE1Bytes = r.u32(252)
	t.DeliveredE0Bytes = r.u32(256)
	t.DeliveredCEBytes = r.u32(260)
	t.ReceivedE1Bytes = r.u32(264)
	t.ReceivedE0Bytes = r.u32(268)
	t.ReceivedCEBytes = r.u32(272)
	ecn := r.u32(276)
	if hostBigEndian {
		t.ECNMode = uint8(ecn >> 30)
		t.AccECNOptSeen = uint8(ecn >> 28 & 0x3)
		t.AccECNFailMode = uint8(ecn >> 24 & 0xf)
		t.Options2 = ecn & 0xffffff
	} else {
		t.ECNMode = uint8(ecn & 0x3)
		t.AccECNOptSeen = uint8(ecn >> 2 & 0x3)
		t.AccECNFailMode = uint8(ecn >> 4 & 0xf)
		t.Options2 = ecn >> 8
	}
	return t, nil
}

// MarshalText encodes the state as its String, so that JSON shows
// "ESTAB" rather than 1.
func (s TCPState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts what MarshalText produces.
func (s *TCPState) UnmarshalText(b []byte) error {
	for i, n := range tcpStateNames {
		if n != "" && n == string(b) {
			*s = TCPState(i)
			return nil
		}
	}
	var v uint8
	if _, err := fmt.Sscanf(string(b), "STATE(%d)", &v); err == nil {
		*s = TCPState(v)
		return nil
	}
	return fmt.Errorf("unknown TCP state %q", b)
}
