package meta

import (
	"errors"
	"fmt"
	"io"
	"net/netip"

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
	// it is rounded down to a multiple of the subflow's segment size.
	ChunkSize int

	// Checksum requests DSS checksums (MP_CAPABLE flag A, RFC 8684 §3.1).
	Checksum bool
	// DenyJoinInitial sets MP_CAPABLE flag C: the peer should not open
	// subflows to our initial address and port (RFC 8684 §3.1).
	DenyJoinInitial bool
	// MaxSubflows bounds the subflows of a connection, the initial one
	// included (default 8, Linux's MPTCP_PM_ADDR_MAX).
	MaxSubflows int

	// Rand is the source of keys and MP_JOIN nonces; the stack passes
	// crypto/rand's Reader. Required.
	Rand io.Reader
	// Tokens keeps tokens unique and finds the connection of an MP_JOIN
	// SYN. A Listener without one makes its own; a Dial without one
	// gets a private table.
	Tokens TokenRegistry
	// Scheduler picks the subflow for each chunk (default: lowest RTT
	// with congestion window space).
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
	maxChunkSize          = 65535
	minSubflowBuffer      = 2 * maxChunkSize
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
	if c.MaxSubflows == 0 {
		c.MaxSubflows = DefaultMaxSubflows
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
	// A subflow must hold a whole mapping of the largest size, which is
	// read at once when checksums are on (RFC 8684 §3.3.1).
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
