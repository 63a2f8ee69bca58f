package kernel

import (
	"encoding/binary"
	"time"
)

// Sizes of struct mptcp_info in the kernel versions that changed it. The
// kernel copies min(optlen, sizeof(struct mptcp_info)) bytes, so a reader
// learns from the length which fields the kernel knows.
const (
	// InfoSizeV1 is the first layout (Linux 5.7), up to mptcpi_rcv_nxt.
	InfoSizeV1 = 40
	// InfoSizeV2 adds local_addr_used and local_addr_max (5.12) and
	// csum_enabled (5.14); 43 bytes padded to 48.
	InfoSizeV2 = 48
	// InfoSizeV3 adds retransmits and the byte counters (6.5).
	InfoSizeV3 = 80
	// InfoSizeV4 adds subflows_total (6.8); 81 bytes padded to 88.
	InfoSizeV4 = 88
	// InfoSize is the current layout: 6.10 added the last_* ages, 6.18
	// used two of the reserved bytes for endp_laminar_max and
	// endp_fullmesh_max.
	InfoSize = 96
)

// Offsets of struct mptcp_info fields (include/uapi/linux/mptcp.h).
const (
	offInfoSubflows           = 0
	offInfoAddAddrSignal      = 1
	offInfoAddAddrAccepted    = 2
	offInfoSubflowsMax        = 3
	offInfoAddAddrSignalMax   = 4
	offInfoAddAddrAcceptedMax = 5
	offInfoFlags              = 8 // after a 16-bit hole
	offInfoToken              = 12
	offInfoWriteSeq           = 16
	offInfoSndUna             = 24
	offInfoRcvNxt             = 32
	offInfoLocalAddrUsed      = 40
	offInfoLocalAddrMax       = 41
	offInfoCsumEnabled        = 42
	offInfoRetransmits        = 44 // after an 8-bit hole
	offInfoBytesRetrans       = 48
	offInfoBytesSent          = 56
	offInfoBytesReceived      = 64
	offInfoBytesAcked         = 72
	offInfoSubflowsTotal      = 80
	offInfoEndpLaminarMax     = 81
	offInfoEndpFullmeshMax    = 82
	offInfoLastDataSent       = 84 // after one reserved byte
	offInfoLastDataRecv       = 88
	offInfoLastAckRecv        = 92
)

// InfoFlags is mptcpi_flags.
type InfoFlags uint32

// Fallback reports whether the connection fell back to plain TCP
// (RFC 8684 §3.7).
func (f InfoFlags) Fallback() bool { return f&MPTCP_INFO_FLAG_FALLBACK != 0 }

// RemoteKeyReceived reports whether the peer's key is known (RFC 8684 §3.1:
// the MP_CAPABLE handshake completed).
func (f InfoFlags) RemoteKeyReceived() bool { return f&MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED != 0 }

// MPTCPInfo is struct mptcp_info: the state of one MPTCP connection (or listener)
// as the kernel reports it through MPTCP_INFO, MPTCP_FULL_INFO and
// inet_diag. Sequence numbers are 64-bit data sequence numbers (RFC 8684
// §3.3.1).
type MPTCPInfo struct {
	// Subflows is the number of additional subflows (the initial subflow is
	// not counted); alias extra_subflows.
	Subflows uint8 `json:"subflows"`
	// AddAddrSignal counts ADD_ADDR announcements sent.
	AddAddrSignal uint8 `json:"add_addr_signal"`
	// AddAddrAccepted counts ADD_ADDR announcements accepted from the peer.
	AddAddrAccepted uint8 `json:"add_addr_accepted"`
	// SubflowsMax is the limit of additional subflows; alias
	// limit_extra_subflows.
	SubflowsMax uint8 `json:"subflows_max"`
	// AddAddrSignalMax is the number of "signal" endpoints; alias
	// endp_signal_max.
	AddAddrSignalMax uint8 `json:"add_addr_signal_max"`
	// AddAddrAcceptedMax is the limit of accepted ADD_ADDRs; alias
	// limit_add_addr_accepted.
	AddAddrAcceptedMax uint8 `json:"add_addr_accepted_max"`
	// Flags holds the fallback and remote-key bits.
	Flags InfoFlags `json:"flags"`
	// Token is the local connection token (RFC 8684 §3.2).
	Token uint32 `json:"token"`
	// WriteSeq is the data sequence number of the next byte queued by the
	// application.
	WriteSeq uint64 `json:"write_seq"`
	// SndUna is the oldest unacknowledged data sequence number.
	SndUna uint64 `json:"snd_una"`
	// RcvNxt is the next expected data sequence number.
	RcvNxt uint64 `json:"rcv_nxt"`
	// LocalAddrUsed counts local endpoints used for subflows.
	LocalAddrUsed uint8 `json:"local_addr_used"`
	// LocalAddrMax is the number of "subflow" endpoints; alias
	// endp_subflow_max.
	LocalAddrMax uint8 `json:"local_addr_max"`
	// CsumEnabled reports whether DSS checksums are in use (RFC 8684 §3.3).
	CsumEnabled bool `json:"csum_enabled"`
	// Retransmits counts MPTCP-level retransmissions (reinjections).
	Retransmits uint32 `json:"retransmits"`
	// BytesRetrans counts bytes retransmitted at the MPTCP level.
	BytesRetrans uint64 `json:"bytes_retrans"`
	// BytesSent counts bytes sent at the MPTCP level.
	BytesSent uint64 `json:"bytes_sent"`
	// BytesReceived counts bytes received at the MPTCP level.
	BytesReceived uint64 `json:"bytes_received"`
	// BytesAcked counts bytes acknowledged at the MPTCP level (DATA_ACK).
	BytesAcked uint64 `json:"bytes_acked"`
	// SubflowsTotal is the number of subflows, the initial one included.
	SubflowsTotal uint8 `json:"subflows_total"`
	// EndpLaminarMax is the number of "laminar" endpoints.
	EndpLaminarMax uint8 `json:"endp_laminar_max"`
	// EndpFullmeshMax is the number of "fullmesh" endpoints.
	EndpFullmeshMax uint8 `json:"endp_fullmesh_max"`
	// LastDataSent is the time since data was last sent (millisecond
	// resolution; in JSON, nanoseconds).
	LastDataSent time.Duration `json:"last_data_sent_ns"`
	// LastDataRecv is the time since data was last received.
	LastDataRecv time.Duration `json:"last_data_recv_ns"`
	// LastAckRecv is the time since a DATA_ACK was last received.
	LastAckRecv time.Duration `json:"last_ack_recv_ns"`

	// Size is the number of bytes the kernel provided. Fields that end
	// beyond Size were not reported and are zero; see Has.
	Size int `json:"size"`
}

// InfoField names one field of MPTCPInfo, for Has.
type InfoField int

// The fields of struct mptcp_info that were added after the first layout.
// Every field of InfoSizeV1 is always present in a decoded MPTCPInfo.
const (
	FieldLocalAddrUsed InfoField = iota
	FieldLocalAddrMax
	FieldCsumEnabled
	FieldRetransmits
	FieldBytesRetrans
	FieldBytesSent
	FieldBytesReceived
	FieldBytesAcked
	FieldSubflowsTotal
	FieldEndpLaminarMax
	FieldEndpFullmeshMax
	FieldLastDataSent
	FieldLastDataRecv
	FieldLastAckRecv
)

// infoFieldEnd is the offset just past each InfoField.
var infoFieldEnd = [...]int{
	FieldLocalAddrUsed:   offInfoLocalAddrUsed + 1,
	FieldLocalAddrMax:    offInfoLocalAddrMax + 1,
	FieldCsumEnabled:     offInfoCsumEnabled + 1,
	FieldRetransmits:     offInfoRetransmits + 4,
	FieldBytesRetrans:    offInfoBytesRetrans + 8,
	FieldBytesSent:       offInfoBytesSent + 8,
	FieldBytesReceived:   offInfoBytesReceived + 8,
	FieldBytesAcked:      offInfoBytesAcked + 8,
	FieldSubflowsTotal:   offInfoSubflowsTotal + 1,
	FieldEndpLaminarMax:  offInfoEndpLaminarMax + 1,
	FieldEndpFullmeshMax: offInfoEndpFullmeshMax + 1,
	FieldLastDataSent:    offInfoLastDataSent + 4,
	FieldLastDataRecv:    offInfoLastDataRecv + 4,
	FieldLastAckRecv:     offInfoLastAckRecv + 4,
}

// Has reports whether the kernel reported field f (its bytes were within
// Size, and not the padding that ends the InfoSizeV2 and InfoSizeV4
// layouts). A kernel that knows a field but has nothing to say reports zero;
// one that does not know it does not report it. EndpLaminarMax and
// EndpFullmeshMax occupy bytes that older kernels reported as reserved
// zeros, so for them Has only tells that the bytes were present.
func (i *MPTCPInfo) Has(f InfoField) bool {
	if f < 0 || int(f) >= len(infoFieldEnd) {
		return false
	}
	return infoContent(i.Size) >= infoFieldEnd[f]
}

// infoContent returns how many leading bytes of a size-byte mptcp_info
// carry fields: all of them, except for the padded layouts, whose trailing
// padding is where later kernels put new fields.
func infoContent(size int) int {
	switch size {
	case InfoSizeV2:
		return offInfoCsumEnabled + 1
	case InfoSizeV4:
		return offInfoSubflowsTotal + 1
	}
	return size
}

// DecodeInfo decodes struct mptcp_info from b, in host byte order. b must
// hold at least the first layout (InfoSizeV1 bytes); fields beyond len(b)
// are left zero (as are the padding bytes ending an InfoSizeV2 or
// InfoSizeV4 reply, where newer kernels have fields), and bytes beyond
// InfoSize are ignored.
func DecodeInfo(b []byte) (MPTCPInfo, error) {
	var i MPTCPInfo
	if len(b) < InfoSizeV1 {
		return i, malformed("mptcp_info is %d bytes, need at least %d", len(b), InfoSizeV1)
	}
	if len(b) > InfoSize {
		b = b[:InfoSize]
	}
	i.Size = len(b)
	ne := binary.NativeEndian
	i.Subflows = b[offInfoSubflows]
	i.AddAddrSignal = b[offInfoAddAddrSignal]
	i.AddAddrAccepted = b[offInfoAddAddrAccepted]
	i.SubflowsMax = b[offInfoSubflowsMax]
	i.AddAddrSignalMax = b[offInfoAddAddrSignalMax]
	i.AddAddrAcceptedMax = b[offInfoAddAddrAcceptedMax]
	i.Flags = InfoFlags(ne.Uint32(b[offInfoFlags:]))
	i.Token = ne.Uint32(b[offInfoToken:])
	i.WriteSeq = ne.Uint64(b[offInfoWriteSeq:])
	i.SndUna = ne.Uint64(b[offInfoSndUna:])
	i.RcvNxt = ne.Uint64(b[offInfoRcvNxt:])
	content := infoContent(len(b))
	has := func(f InfoField) bool { return content >= infoFieldEnd[f] }
	if has(FieldLocalAddrUsed) {
		i.LocalAddrUsed = b[offInfoLocalAddrUsed]
	}
	if has(FieldLocalAddrMax) {
		i.LocalAddrMax = b[offInfoLocalAddrMax]
	}
	if has(FieldCsumEnabled) {
		i.CsumEnabled = b[offInfoCsumEnabled] != 0
	}
	if has(FieldRetransmits) {
		i.Retransmits = ne.Uint32(b[offInfoRetransmits:])
	}
	if has(FieldBytesRetrans) {
		i.BytesRetrans = ne.Uint64(b[offInfoBytesRetrans:])
	}
	if has(FieldBytesSent) {
		i.BytesSent = ne.Uint64(b[offInfoBytesSent:])
	}
	if has(FieldBytesReceived) {
		i.BytesReceived = ne.Uint64(b[offInfoBytesReceived:])
	}
	if has(FieldBytesAcked) {
		i.BytesAcked = ne.Uint64(b[offInfoBytesAcked:])
	}
	if has(FieldSubflowsTotal) {
		i.SubflowsTotal = b[offInfoSubflowsTotal]
	}
	if has(FieldEndpLaminarMax) {
		i.EndpLaminarMax = b[offInfoEndpLaminarMax]
	}
	if has(FieldEndpFullmeshMax) {
		i.EndpFullmeshMax = b[offInfoEndpFullmeshMax]
	}
	if has(FieldLastDataSent) {
		i.LastDataSent = msec(ne.Uint32(b[offInfoLastDataSent:]))
	}
	if has(FieldLastDataRecv) {
		i.LastDataRecv = msec(ne.Uint32(b[offInfoLastDataRecv:]))
	}
	if has(FieldLastAckRecv) {
		i.LastAckRecv = msec(ne.Uint32(b[offInfoLastAckRecv:]))
	}
	return i, nil
}

// AppendInfo appends the InfoSize-byte kernel encoding of i (host byte
// order) to b, for tests and fakes. Size is not encoded.
func AppendInfo(b []byte, i *MPTCPInfo) []byte {
	ne := binary.NativeEndian
	var s [InfoSize]byte
	s[offInfoSubflows] = i.Subflows
	s[offInfoAddAddrSignal] = i.AddAddrSignal
	s[offInfoAddAddrAccepted] = i.AddAddrAccepted
	s[offInfoSubflowsMax] = i.SubflowsMax
	s[offInfoAddAddrSignalMax] = i.AddAddrSignalMax
	s[offInfoAddAddrAcceptedMax] = i.AddAddrAcceptedMax
	ne.PutUint32(s[offInfoFlags:], uint32(i.Flags))
	ne.PutUint32(s[offInfoToken:], i.Token)
	ne.PutUint64(s[offInfoWriteSeq:], i.WriteSeq)
	ne.PutUint64(s[offInfoSndUna:], i.SndUna)
	ne.PutUint64(s[offInfoRcvNxt:], i.RcvNxt)
	s[offInfoLocalAddrUsed] = i.LocalAddrUsed
	s[offInfoLocalAddrMax] = i.LocalAddrMax
	if i.CsumEnabled {
		s[offInfoCsumEnabled] = 1
	}
	ne.PutUint32(s[offInfoRetransmits:], i.Retransmits)
	ne.PutUint64(s[offInfoBytesRetrans:], i.BytesRetrans)
	ne.PutUint64(s[offInfoBytesSent:], i.BytesSent)
	ne.PutUint64(s[offInfoBytesReceived:], i.BytesReceived)
	ne.PutUint64(s[offInfoBytesAcked:], i.BytesAcked)
	s[offInfoSubflowsTotal] = i.SubflowsTotal
	s[offInfoEndpLaminarMax] = i.EndpLaminarMax
	s[offInfoEndpFullmeshMax] = i.EndpFullmeshMax
	ne.PutUint32(s[offInfoLastDataSent:], uint32(i.LastDataSent/time.Millisecond))
	ne.PutUint32(s[offInfoLastDataRecv:], uint32(i.LastDataRecv/time.Millisecond))
	ne.PutUint32(s[offInfoLastAckRecv:], uint32(i.LastAckRecv/time.Millisecond))
	return append(b, s[:]...)
}

func msec(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }
func usec(v uint32) time.Duration { return time.Duration(v) * time.Microsecond }
