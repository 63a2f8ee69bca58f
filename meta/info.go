package meta

import (
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// Info flags, as Linux's mptcpi_flags.
const (
	InfoFlagFallback          = 1 << 0 // MPTCP_INFO_FLAG_FALLBACK
	InfoFlagRemoteKeyReceived = 1 << 1 // MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED
)

// Info is a copy-out snapshot of a connection, with the fields of Linux's
// struct mptcp_info that apply to this engine.
type Info struct {
	Subflows        int    // mptcpi_subflows: additional (MP_JOIN) subflows
	AddAddrSignal   int    // mptcpi_add_addr_signal: addresses we announced (Announce)
	AddAddrAccepted int    // mptcpi_add_addr_accepted: addresses the peer announced
	SubflowsMax     int    // mptcpi_subflows_max: MaxSubflows less the initial one
	SubflowsTotal   int    // mptcpi_subflows_total: subflows ever created, the initial one included
	Flags           uint32 // mptcpi_flags: InfoFlag…
	Token           uint32 // mptcpi_token: the local token
	WriteSeq        uint64 // mptcpi_write_seq: DSN of the next byte written
	SndUna          uint64 // mptcpi_snd_una
	RcvNxt          uint64 // mptcpi_rcv_nxt
	LocalAddrUsed   int    // mptcpi_local_addr_used: local addresses besides the initial one
	CsumEnabled     bool   // mptcpi_csum_enabled
	Retransmits     uint64 // mptcpi_retransmits: chunks reinjected
	BytesRetrans    uint64 // mptcpi_bytes_retrans
	BytesSent       uint64 // mptcpi_bytes_sent: data handed to subflows, reinjections included
	BytesReceived   uint64 // mptcpi_bytes_received: data delivered in order
	BytesAcked      uint64 // mptcpi_bytes_acked: data DATA_ACKed
	// LastDataSent, LastDataRecv and LastAckRecv are mptcpi_last_*
	// as times (zero: never).
	LastDataSent, LastDataRecv, LastAckRecv time.Time

	// Beyond mptcp_info.
	ServerSide          bool // created by a Listener (MPTCP_PM_EV_FLAG_SERVER_SIDE)
	LocalKey, RemoteKey uint64
	SndNxt              uint64       // DSN of the next new byte to send
	SendWindowEnd       uint64       // right edge of the peer's data-level window
	OutOfOrderBytes     int          // bytes queued out of order at the data level
	RemoteAddrs         []RemoteAddr // the peer's announced addresses (ADD_ADDR), oldest first
	Subflow             []SubflowInfo
}

// SubflowInfo describes one subflow, with Linux's MPTCP_SUBFLOW_FLAG_*
// concepts as booleans.
type SubflowInfo struct {
	ID                tcp.ConnID
	LocalID, RemoteID uint8
	Initial, Join     bool // MP_CAPABLE or MP_JOIN subflow
	Active            bool // we opened it
	Backup            bool // we marked it backup
	RemoteBackup      bool // the peer did
	FullyEstablished  bool
	Stale             bool // it is not given new data (Config.StaleLossCount)
	TCP               tcp.Info
}

// Info returns a snapshot of the connection.
func (c *Conn) Info() Info {
	i := Info{
		SubflowsMax: c.cfg.MaxSubflows - 1, SubflowsTotal: c.st.subflowsTotal,
		Token: c.localToken, WriteSeq: c.writeSeq(), SndUna: c.sndUna, RcvNxt: c.rcvNxt,
		LocalAddrUsed: max(len(c.localIDs)-1, 0), CsumEnabled: c.csum,
		Retransmits: c.st.retransmits, BytesRetrans: c.st.bytesRetrans, BytesSent: c.st.bytesSent,
		BytesReceived: c.st.bytesReceived, BytesAcked: c.st.bytesAcked,
		LastDataSent: c.st.lastDataSent, LastDataRecv: c.st.lastDataRecv, LastAckRecv: c.st.lastAckRecv,
		LocalKey: c.localKey, RemoteKey: c.remoteKey, SndNxt: c.sndNxt, SendWindowEnd: c.sndWndEnd,
		OutOfOrderBytes: c.oooBytes, ServerSide: c.passive,
		AddAddrSignal: c.addAddrSent, AddAddrAccepted: c.addAddrRcvd,
		RemoteAddrs: append([]RemoteAddr(nil), c.remoteAddrs...),
	}
	if c.fallback {
		i.Flags |= InfoFlagFallback
	}
	if c.remoteKeyKnown {
		i.Flags |= InfoFlagRemoteKeyReceived
	}
	for _, sf := range c.subflows {
		if sf.dead {
			continue
		}
		if sf.join {
			i.Subflows++
		}
		i.Subflow = append(i.Subflow, SubflowInfo{
			ID: sf.id, LocalID: sf.localID, RemoteID: sf.remoteID, Initial: sf.initial, Join: sf.join,
			Active: sf.active, Backup: sf.backup, RemoteBackup: sf.remoteBackup, FullyEstablished: sf.fully,
			Stale: sf.stale, TCP: sf.tc.Info(),
		})
	}
	return i
}
