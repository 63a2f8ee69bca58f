package mptcp

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// Errors.
var (
	// ErrInvalidConfig wraps configuration errors.
	ErrInvalidConfig = errors.New("mptcp: invalid config")
	// ErrNotMPTCP: the operation needs MPTCP, and the connection runs
	// as plain TCP (it fell back, RFC 8684 §3.7, or MPTCP is disabled).
	ErrNotMPTCP = stack.ErrNotMPTCP
	// ErrNoSubflow: the connection has no such subflow.
	ErrNoSubflow = meta.ErrNoSubflow
)

// Config configures a Stack's MPTCP connections. Its fields mirror the
// Linux sysctls under net.mptcp (each comment names the knob and its Linux
// default); the zero value of a field selects that default.
type Config struct {
	// Disabled makes Dial and Listen use plain TCP (net.mptcp.enabled=0;
	// Linux's default is enabled).
	Disabled bool
	// Checksum requests DSS checksums (checksum_enabled, default 0: off).
	// Either side's request turns them on (RFC 8684 §3.1, flag A).
	Checksum bool
	// DenyJoinInitialAddrPort sets MP_CAPABLE flag C: the peer should
	// not open subflows to the initial address and port (the inverse of
	// allow_join_initial_addr_port, default 1: allowed).
	DenyJoinInitialAddrPort bool

	// AddAddrTimeout bounds the interval between retransmissions of an
	// ADD_ADDR the peer has not echoed (add_addr_timeout, default 120 s;
	// negative: no retransmission, Linux's 0).
	AddAddrTimeout time.Duration
	// CloseTimeout bounds how long a closed connection waits for the
	// DATA_FIN exchange before it is ended with MP_FASTCLOSE
	// (close_timeout, default 60 s; negative: for ever).
	CloseTimeout time.Duration
	// StaleLossCount is the number of retransmission timeouts in a row
	// after which a subflow is stale and gets no new data while another
	// works (stale_loss_cnt, default 4; negative: never). Failover does
	// not wait for it: data of a subflow in a retransmission timeout goes
	// out on the others at its first timeout.
	StaleLossCount int
	// SYNRetransBeforeTCPFallback is the number of MP_CAPABLE SYN
	// retransmissions after which the SYN goes without MP_CAPABLE
	// (syn_retrans_before_tcp_fallback, default 2; negative: never).
	SYNRetransBeforeTCPFallback int

	// PathManager decides the connections' subflows and announcements
	// (path_manager, default "kernel": the in-kernel path manager's
	// rules over Endpoints and Limits, see KernelPM).
	PathManager PathManager
	// Endpoints are the local addresses the default path manager uses,
	// as `ip mptcp endpoint` configures Linux's.
	Endpoints []Endpoint
	// Limits bound what the default path manager does (`ip mptcp limits`;
	// Linux's defaults: 2 extra subflows, 0 accepted ADD_ADDRs).
	Limits *Limits
	// Scheduler picks the subflow of each chunk of data (scheduler,
	// default "default": the lowest-RTT subflow with room in its
	// congestion window, backups only when nothing else is left).
	// Package sched has the others (roundrobin, redundant, blest, ecf);
	// a scheduler that keeps state is copied for each connection
	// (meta.ConnScheduler).
	Scheduler meta.Scheduler

	// TCP is the template of every subflow's TCP configuration; nil
	// takes the Stack's (stack.Stack.TCPConfig).
	TCP *tcp.Config
	// SendBufferSize and RecvBufferSize bound the connection-level
	// buffers (default 4 MiB each, meta.DefaultSendBufferSize).
	SendBufferSize, RecvBufferSize int
	// ChunkSize is the largest DSS mapping (default 16 KiB).
	ChunkSize int

	// Rand is the source of MPTCP keys and nonces (default crypto/rand;
	// the simulator passes a seeded one).
	Rand io.Reader
	// Clock times read and write deadlines (default clock.Real).
	Clock clock.Clock
}

// Endpoint is a local address the default path manager uses, as an
// `ip mptcp endpoint` (stack.PMEndpoint).
type Endpoint = stack.PMEndpoint

// EndpointFlags are the flags of an Endpoint, Linux's
// MPTCP_PM_ADDR_FLAG_* bits.
type EndpointFlags = stack.EndpointFlags

// Endpoint flags.
const (
	FlagSignal   = stack.EndpointSignal   // announce the address with ADD_ADDR
	FlagSubflow  = stack.EndpointSubflow  // open a subflow from it once established
	FlagBackup   = stack.EndpointBackup   // its subflows are backups
	FlagFullmesh = stack.EndpointFullmesh // a subflow from it to every address of the peer
)

// Limits bound the default path manager, as `ip mptcp limits`
// (stack.PMLimits).
type Limits = stack.PMLimits

// Linux's defaults and maxima.
const (
	DefaultLimitSubflows        = stack.DefaultLimitSubflows
	DefaultLimitAddAddrAccepted = stack.DefaultLimitAddAddrAccepted
	MaxLimit                    = stack.MaxLimit
)

// normalized checks cfg and fills in its defaults.
func (cfg Config) normalized() (Config, error) {
	if cfg.Limits == nil {
		cfg.Limits = &Limits{Subflows: DefaultLimitSubflows, AddAddrAccepted: DefaultLimitAddAddrAccepted}
	}
	l := *cfg.Limits
	if l.Subflows < 0 || l.Subflows > MaxLimit || l.AddAddrAccepted < 0 || l.AddAddrAccepted > MaxLimit {
		return cfg, fmt.Errorf("%w: limits subflows %d add_addr_accepted %d (each 0–%d)", ErrInvalidConfig, l.Subflows, l.AddAddrAccepted, MaxLimit)
	}
	cfg.Limits = &l
	ids := map[uint8]bool{}
	eps := make([]Endpoint, len(cfg.Endpoints))
	copy(eps, cfg.Endpoints)
	for i := range eps {
		e := &eps[i]
		if !e.Addr.IsValid() || e.Addr.IsUnspecified() || e.Addr.IsMulticast() {
			return cfg, fmt.Errorf("%w: endpoint address %v", ErrInvalidConfig, e.Addr)
		}
		e.Addr = e.Addr.Unmap()
		if e.Flags&^(FlagSignal|FlagSubflow|FlagBackup|FlagFullmesh) != 0 {
			return cfg, fmt.Errorf("%w: endpoint %v: unknown flags %#x", ErrInvalidConfig, e.Addr, uint32(e.Flags))
		}
		if e.Flags&FlagFullmesh != 0 && e.Flags&FlagSignal != 0 {
			// As Linux: fullmesh does not go with signal.
			return cfg, fmt.Errorf("%w: endpoint %v: fullmesh and signal together", ErrInvalidConfig, e.Addr)
		}
		if e.Port != 0 && e.Flags&FlagSignal == 0 {
			return cfg, fmt.Errorf("%w: endpoint %v: a port needs the signal flag", ErrInvalidConfig, e.Addr)
		}
		if e.ID != 0 {
			if ids[e.ID] {
				return cfg, fmt.Errorf("%w: endpoint ID %d used twice", ErrInvalidConfig, e.ID)
			}
			ids[e.ID] = true
		}
	}
	next := uint8(1)
	for i := range eps {
		if eps[i].ID != 0 {
			continue
		}
		for ids[next] {
			next++
		}
		if next == 0 {
			return cfg, fmt.Errorf("%w: more than 255 endpoints", ErrInvalidConfig)
		}
		eps[i].ID = next
		ids[next] = true
	}
	cfg.Endpoints = eps
	if cfg.SendBufferSize < 0 || cfg.RecvBufferSize < 0 || cfg.ChunkSize < 0 {
		return cfg, fmt.Errorf("%w: negative buffer size", ErrInvalidConfig)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return cfg, nil
}
