package meta

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// Errors.
var (
	// ErrInvalidConfig wraps configuration errors.
	ErrInvalidConfig = errors.New("meta: invalid config")
	// ErrClosed: the application closed that direction.
	ErrClosed = errors.New("meta: connection closed")
	// ErrNotEstablished: the operation needs an established MPTCP
	// connection (one that did not fall back to TCP).
	ErrNotEstablished = errors.New("meta: MPTCP connection not established")
	// ErrFallback: the connection fell back to plain TCP, which has a
	// single subflow.
	ErrFallback = errors.New("meta: connection fell back to TCP")
	// ErrTooManySubflows: the subflow limit is reached.
	ErrTooManySubflows = errors.New("meta: subflow limit reached")
	// ErrJoinDenied: the peer asked not to be joined at that address
	// (MP_CAPABLE flag C, RFC 8684 §3.1).
	ErrJoinDenied = errors.New("meta: peer denies joins to its initial address")
	// ErrNoTokens: no unique token could be found for a new key.
	ErrNoTokens = errors.New("meta: no unique token available")
	// ErrNoHost: adding a subflow needs Config.Host.
	ErrNoHost = errors.New("meta: no host to bind subflows")
	// ErrAllSubflowsFailed: the connection lost its last subflow.
	ErrAllSubflowsFailed = errors.New("meta: all subflows failed")
	// ErrFastClose: the peer ended the connection with MP_FASTCLOSE
	// (RFC 8684 §3.5), the MPTCP counterpart of a TCP reset; it matches
	// tcp.ErrConnectionReset with errors.Is.
	ErrFastClose = fmt.Errorf("meta: connection reset by peer (MP_FASTCLOSE): %w", tcp.ErrConnectionReset)
	// ErrFallbackMismatch: after a fallback to TCP on data without a
	// mapping, the peer's infinite mapping placed its bytes elsewhere in
	// the data stream (RFC 8684 §3.7); the connection was reset rather
	// than deliver them.
	ErrFallbackMismatch = errors.New("meta: fallback to TCP disagrees with the peer's infinite mapping")
	// ErrCloseTimeout: a closed connection did not finish its DATA_FIN
	// exchange within Config.CloseTimeout and was fast-closed.
	ErrCloseTimeout = errors.New("meta: close timed out")
	// ErrNoSubflow: the connection has no live subflow with that
	// 4-tuple.
	ErrNoSubflow = errors.New("meta: no such subflow")
	// ErrUnknownAddrID: no local address has that address ID.
	ErrUnknownAddrID = errors.New("meta: unknown address ID")
	// ErrNoAddrID: all 256 address IDs are in use.
	ErrNoAddrID = errors.New("meta: no free address ID")
	// ErrInvalidAddr: the address is not a valid unicast IP address.
	ErrInvalidAddr = errors.New("meta: invalid address")
	// ErrOptionSpace: the option does not fit in the TCP option space of
	// any subflow (an ADD_ADDR with an IPv6 address and a port beside
	// TCP timestamps).
	ErrOptionSpace = errors.New("meta: option does not fit")
)

// Host is what a connection needs from the host stack to add subflows
// (RFC 8684 §3.2): a 4-tuple for a new subflow, and delivery of that
// subflow's segments to the connection.
type Host interface {
	// BindSubflow reserves a 4-tuple from local to remote, choosing a free
	// local port when local.Port() is 0, and from then on hands the
	// segments that arrive for it to c.Input.
	BindSubflow(c *Conn, local, remote netip.AddrPort) (tcp.ConnID, error)
	// UnbindSubflow ends that delivery once the subflow closed. The
	// engine calls it for every subflow of the connection, including those
	// that a Listener created and the initial one.
	UnbindSubflow(c *Conn, id tcp.ConnID)
}

// Config configures connections and listeners. The zero value of a field
// selects the default in its comment, except Rand, which is required.
type Config struct {
	// Subflow is the template for every subflow's TCP configuration. The
	// engine overrides OptionReserve and AckOptionReserve (room for DSS),
	// CCGroup (one group per connection) and caps the receive buffers at
	// RecvBufferSize.
	Subflow tcp.Config

	// SendBufferSize bounds the bytes written and not yet acknowledged at
	// the data level (default 4 MiB).
	SendBufferSize int
	// RecvBufferSize bounds the bytes received in order and not yet read
	// (default 4 MiB). It also caps the receive buffer of each subflow,
	// though never below 128 KiB, room for two mappings of the largest
	// size; out-of-order data is kept up to the larger of the two beyond
	// DATA_ACK, which covers every window a subflow advertises.
	RecvBufferSize int
	// ChunkSize is the largest DSS mapping the engine writes (default
	// 16 KiB, at most 65535, RFC 8684 §3.3.1's 16-bit Data-Level Length);
	// it is rounded down to a multiple of the subflow's segment size, and
	// to half of Subflow.SendBufferSize when that is set and smaller (a
	// chunk enters a subflow's send buffer whole). With DSS checksums a
	// mapping is also at most a sixteenth of the peer's data-level window,
	// though never below a segment: the receiver acknowledges only whole
	// mappings (RFC 8684 §3.3.1).
	ChunkSize int

	// Checksum requests DSS checksums (MP_CAPABLE flag A, RFC 8684 §3.1).
	Checksum bool
	// DenyJoinInitial sets MP_CAPABLE flag C: the peer should not open
	// subflows to our initial address and port (RFC 8684 §3.1), and a
	// Listener refuses MP_JOINs to that address and port. It is the
	// inverse of Linux's allow_join_initial_addr_port sysctl (default 1,
	// joins allowed: DenyJoinInitial false).
	DenyJoinInitial bool
	// MaxSubflows bounds the subflows of a connection, the initial one
	// included (default 8, Linux's MPTCP_PM_ADDR_MAX).
	MaxSubflows int

	// AddAddrTimeout bounds the interval after which an ADD_ADDR the
	// peer has not echoed is sent again (RFC 8684 §3.4.1), as Linux's
	// add_addr_timeout sysctl (default 120 s): the interval is the largest
	// subflow RTO when that is shorter, doubles after each retransmission,
	// and an ADD_ADDR goes out at most 3 times more, as in Linux. A
	// negative value turns retransmission off (Linux's 0).
	AddAddrTimeout time.Duration
	// CloseTimeout bounds how long a connection the application closed
	// (Close) lingers for its data and the DATA_FIN exchange (RFC 8684
	// §3.3.3) to be acknowledged without progress, as Linux's
	// close_timeout sysctl (default 60 s): each data-level acknowledgement
	// of new data restarts it; when it runs out, the connection is ended
	// with MP_FASTCLOSE (RFC 8684 §3.5). A negative value waits for
	// ever. (Linux also keeps a connection whose last subflow failed that
	// long, for a path manager to add one; this engine ends such a
	// connection at once.)
	CloseTimeout time.Duration
	// StaleLossCount is the number of retransmission timeouts in a row
	// after which a subflow is stale, as Linux's stale_loss_cnt sysctl
	// (default 4): it gets no new data while another subflow works, and
	// the data it holds unacknowledged goes out again on the others at
	// once (RFC 8684 §3.3.6). It recovers when it is acknowledged again.
	// A negative value turns this off.
	StaleLossCount int
	// SYNRetransBeforeFallback is the number of retransmissions of an
	// MP_CAPABLE SYN after which the SYN is sent without MP_CAPABLE and
	// the connection is plain TCP, in case a middlebox drops SYNs with
	// unknown options, as Linux's syn_retrans_before_tcp_fallback sysctl
	// (default 2). A negative value keeps MP_CAPABLE on every SYN
	// (Linux: 128 and above).
	SYNRetransBeforeFallback int

	// Rand is the source of keys and MP_JOIN nonces; the stack passes
	// crypto/rand's Reader. Required.
	Rand io.Reader
	// Tokens keeps tokens unique and finds the connection of an MP_JOIN
	// SYN. A Listener without one makes its own; a Dial without one
	// gets a private table.
	Tokens TokenRegistry
	// Scheduler picks the subflow for each chunk (default: LowestRTT,
	// the lowest RTT with congestion window space; package sched has
	// others). One instance serves every connection made with the
	// Config: a ConnScheduler, which keeps state, is copied for each
	// connection with its NewConn.
	Scheduler Scheduler
	// MIB receives the counters; connections of a stack share one
	// (default: one per connection or listener).
	MIB *MIB
	// Host binds new subflows (needed by Conn.AddSubflow).
	Host Host
}

// Defaults.
const (
	DefaultSendBufferSize = 4 << 20
	DefaultRecvBufferSize = 4 << 20
	DefaultChunkSize      = 16 << 10
	DefaultMaxSubflows    = 8
	// Linux's add_addr_timeout, close_timeout, stale_loss_cnt and
	// syn_retrans_before_tcp_fallback defaults.
	DefaultAddAddrTimeout           = 120 * time.Second
	DefaultCloseTimeout             = 60 * time.Second
	DefaultStaleLossCount           = 4
	DefaultSYNRetransBeforeFallback = 2
	maxChunkSize                    = 65535
	minSubflowBuffer                = 2 * maxChunkSize
	// Option space the engine reserves in subflow segments: a DSS with a
	// 64-bit DATA_ACK and a 64-bit mapping with checksum is 28 bytes
	// (RFC 8684 §3.3); one with only a 64-bit DATA_ACK, 12.
	dataOptionReserve = 28
	ackOptionReserve  = 12
)

func (cfg *Config) normalized() (Config, error) {
	c := *cfg
	if c.SendBufferSize == 0 {
		c.SendBufferSize = DefaultSendBufferSize
	}
	if c.RecvBufferSize == 0 {
		c.RecvBufferSize = DefaultRecvBufferSize
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if b := c.Subflow.SendBufferSize; b > 0 && c.ChunkSize > b/2 {
		// A chunk goes into a subflow's send buffer whole (tcp's
		// WriteChunk): with small buffers, chunks of half of one keep
		// the subflow busy while the next one waits.
		c.ChunkSize = max(b/2, 1)
	}
	if c.MaxSubflows == 0 {
		c.MaxSubflows = DefaultMaxSubflows
	}
	if c.AddAddrTimeout == 0 {
		c.AddAddrTimeout = DefaultAddAddrTimeout
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.StaleLossCount == 0 {
		c.StaleLossCount = DefaultStaleLossCount
	}
	if c.SYNRetransBeforeFallback == 0 {
		c.SYNRetransBeforeFallback = DefaultSYNRetransBeforeFallback
	}
	switch {
	case c.Rand == nil:
		return c, fmt.Errorf("%w: Rand is required", ErrInvalidConfig)
	case c.SendBufferSize < 0 || c.SendBufferSize > 1<<30 || c.RecvBufferSize < 1024 || c.RecvBufferSize > 1<<30:
		return c, fmt.Errorf("%w: buffer sizes %d/%d", ErrInvalidConfig, c.SendBufferSize, c.RecvBufferSize)
	case c.ChunkSize < 1 || c.ChunkSize > maxChunkSize:
		return c, fmt.Errorf("%w: ChunkSize %d outside [1, %d] (RFC 8684 §3.3.1)", ErrInvalidConfig, c.ChunkSize, maxChunkSize)
	case c.MaxSubflows < 1 || c.MaxSubflows > 255:
		return c, fmt.Errorf("%w: MaxSubflows %d outside [1, 255]", ErrInvalidConfig, c.MaxSubflows)
	}
	s := &c.Subflow
	s.OptionReserve = dataOptionReserve
	s.AckOptionReserve = ackOptionReserve
	s.CCGroup = nil
	if s.MaxRecvBufferSize == 0 || s.MaxRecvBufferSize > c.RecvBufferSize {
		s.MaxRecvBufferSize = c.RecvBufferSize
	}
	// A subflow may grow to hold two mappings of the largest size, so
	// that a checksummed mapping, which is verified whole (RFC 8684
	// §3.3.1), usually completes in the subflow itself; the start of one
	// that does not fit is set aside meanwhile (see pull).
	s.MaxRecvBufferSize = max(s.MaxRecvBufferSize, minSubflowBuffer)
	if s.RecvBufferSize == 0 || s.RecvBufferSize > s.MaxRecvBufferSize {
		s.RecvBufferSize = min(tcp.DefaultRecvBufferSize, s.MaxRecvBufferSize)
	}
	if _, err := tcp.NewListener(s, 1, 1); err != nil {
		return c, fmt.Errorf("%w: subflow: %w", ErrInvalidConfig, err)
	}
	if c.MIB == nil {
		c.MIB = new(MIB)
	}
	return c, nil
}
