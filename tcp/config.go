package tcp

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/gomptcp/mptcp/cc"
)

// Config configures connections. The zero value of every field selects the
// default shown in its comment; features default to on and are turned off
// with the Disable… fields.
type Config struct {
	// MSS is the maximum segment size announced in our SYN and the
	// upper bound of the send MSS (default 1460).
	MSS int

	// SendBufferSize bounds the bytes queued for sending, unacknowledged
	// ones included (default 1 MiB).
	SendBufferSize int
	// RecvBufferSize is the initial receive buffer (default 128 KiB); the
	// advertised window starts there and grows by auto-tuning up to
	// MaxRecvBufferSize (default 6 MiB, Linux's tcp_rmem maximum).
	RecvBufferSize    int
	MaxRecvBufferSize int
	// DisableAutoTune keeps the receive buffer at RecvBufferSize.
	DisableAutoTune bool

	DisableWindowScale bool // RFC 7323 §2
	DisableTimestamps  bool // RFC 7323 §3
	DisableSACK        bool // RFC 2018
	DisableRACK        bool // RFC 8985 (only used with SACK)

	// CongestionControl is a name registered in package cc
	// (default "cubic").
	CongestionControl string
	// InitialWindow is the initial congestion window in segments
	// (default 10, RFC 6928).
	InitialWindow int

	MinRTO     time.Duration // default 200 ms (Linux's TCP_RTO_MIN)
	MaxRTO     time.Duration // default 120 s (Linux's TCP_RTO_MAX)
	InitialRTO time.Duration // default 1 s (RFC 6298 §2.1)

	// DelayedAckTimeout bounds how long an ACK is delayed (default 40 ms;
	// RFC 9293 §3.8.6.3 requires less than 0.5 s).
	DelayedAckTimeout time.Duration
	DisableDelayedAck bool

	// NoDelay turns Nagle's algorithm off (RFC 9293 §3.7.4).
	NoDelay bool

	// TimeWait is the TIME-WAIT duration, 2*MSL (default 60 s as Linux).
	TimeWait time.Duration
	// FinWait2Timeout bounds FIN-WAIT-2 after a full Close (default 60 s).
	FinWait2Timeout time.Duration

	// SynRetries is how many times a SYN or SYN-ACK is retransmitted
	// before giving up (default 6). Retries is how many RTOs in a row
	// abort an established connection (default 15).
	SynRetries int
	Retries    int

	// Keepalive (RFC 9293 §3.8.4) sends probes after KeepaliveIdle
	// (default 2 h) without traffic, every KeepaliveInterval (default
	// 75 s), and aborts after KeepaliveCount (default 9) unanswered ones.
	Keepalive         bool
	KeepaliveIdle     time.Duration
	KeepaliveInterval time.Duration
	KeepaliveCount    int

	// ChallengeAckLimit is the number of challenge ACKs sent per second
	// (RFC 5961 §7; default 1000 as Linux's tcp_challenge_ack_limit).
	ChallengeAckLimit int

	// OptionReserve is the option space in bytes kept free in every
	// segment that carries data, for options added by Hooks (MPTCP's DSS
	// with a mapping); the payload is shortened accordingly.
	// AckOptionReserve is the space kept free in segments without data
	// (MPTCP's DSS with a DATA_ACK only); SACK blocks give way to it.
	OptionReserve    int
	AckOptionReserve int

	// ISNKey is the secret of RFC 6528 §3 that keys initial sequence
	// numbers and timestamp offsets. The stack draws it once from a
	// cryptographic random source.
	ISNKey [16]byte

	// CCGroup, when set, makes every connection join the group so that
	// coupled congestion controllers see all subflows.
	CCGroup *cc.Group
}

// Defaults.
const (
	DefaultMSS               = 1460
	DefaultSendBufferSize    = 1 << 20
	DefaultRecvBufferSize    = 128 << 10
	DefaultMaxRecvBufferSize = 6 << 20
	DefaultMinRTO            = 200 * time.Millisecond
	DefaultMaxRTO            = 120 * time.Second
	DefaultInitialRTO        = time.Second
	DefaultDelayedAckTimeout = 40 * time.Millisecond
	DefaultTimeWait          = 60 * time.Second
	DefaultFinWait2Timeout   = 60 * time.Second
	DefaultSynRetries        = 6
	DefaultRetries           = 15
	DefaultKeepaliveIdle     = 2 * time.Hour
	DefaultKeepaliveInterval = 75 * time.Second
	DefaultKeepaliveCount    = 9
	DefaultChallengeAckLimit = 1000
)

// minMSS is the smallest MSS the engine uses (RFC 9293 §3.7.1 default for
// IPv4 is 536; anything lower is clamped up to 64 to keep progress).
const (
	minMSS         = 64
	defaultPeerMSS = 536 // RFC 9293 §3.7.1, when the SYN carries no MSS option
)

// normalized returns a copy of cfg with defaults applied, or an error.
func (cfg *Config) normalized() (Config, error) {
	c := *cfg
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MSS, DefaultMSS)
	def(&c.SendBufferSize, DefaultSendBufferSize)
	def(&c.RecvBufferSize, DefaultRecvBufferSize)
	def(&c.MaxRecvBufferSize, DefaultMaxRecvBufferSize)
	def(&c.InitialWindow, 10)
	def(&c.SynRetries, DefaultSynRetries)
	def(&c.Retries, DefaultRetries)
	def(&c.KeepaliveCount, DefaultKeepaliveCount)
	def(&c.ChallengeAckLimit, DefaultChallengeAckLimit)
	defd(&c.MinRTO, DefaultMinRTO)
	defd(&c.MaxRTO, DefaultMaxRTO)
	defd(&c.InitialRTO, DefaultInitialRTO)
	defd(&c.DelayedAckTimeout, DefaultDelayedAckTimeout)
	defd(&c.TimeWait, DefaultTimeWait)
	defd(&c.FinWait2Timeout, DefaultFinWait2Timeout)
	defd(&c.KeepaliveIdle, DefaultKeepaliveIdle)
	defd(&c.KeepaliveInterval, DefaultKeepaliveInterval)
	if c.CongestionControl == "" {
		c.CongestionControl = "cubic"
	}
	switch {
	case c.MSS < minMSS || c.MSS > 65535:
		return c, fmt.Errorf("%w: MSS %d outside [%d, 65535]", ErrInvalidConfig, c.MSS, minMSS)
	case c.SendBufferSize < 0 || c.RecvBufferSize < 0 || c.MaxRecvBufferSize < 0:
		return c, fmt.Errorf("%w: negative buffer size", ErrInvalidConfig)
	case c.MaxRecvBufferSize < c.RecvBufferSize:
		return c, fmt.Errorf("%w: MaxRecvBufferSize %d < RecvBufferSize %d", ErrInvalidConfig, c.MaxRecvBufferSize, c.RecvBufferSize)
	case c.MaxRecvBufferSize > 1<<30:
		return c, fmt.Errorf("%w: MaxRecvBufferSize %d above 2^30 (RFC 7323 §2.3)", ErrInvalidConfig, c.MaxRecvBufferSize)
	case c.SendBufferSize > 1<<30:
		return c, fmt.Errorf("%w: SendBufferSize %d above 2^30", ErrInvalidConfig, c.SendBufferSize)
	case c.MinRTO < 0 || c.MaxRTO < c.MinRTO || c.InitialRTO < 0:
		return c, fmt.Errorf("%w: RTO bounds min %v max %v initial %v", ErrInvalidConfig, c.MinRTO, c.MaxRTO, c.InitialRTO)
	case c.DelayedAckTimeout < 0 || c.DelayedAckTimeout >= 500*time.Millisecond:
		return c, fmt.Errorf("%w: DelayedAckTimeout %v not in (0, 500ms) (RFC 9293 §3.8.6.3)", ErrInvalidConfig, c.DelayedAckTimeout)
	case c.TimeWait < 0 || c.FinWait2Timeout < 0 || c.KeepaliveIdle < 0 || c.KeepaliveInterval < 0:
		return c, fmt.Errorf("%w: negative timeout", ErrInvalidConfig)
	case c.SynRetries < 0 || c.Retries < 0 || c.KeepaliveCount < 0 || c.InitialWindow < 0 || c.ChallengeAckLimit < 0:
		return c, fmt.Errorf("%w: negative count", ErrInvalidConfig)
	case c.OptionReserve < 0 || c.OptionReserve > 28 || c.AckOptionReserve < 0 || c.AckOptionReserve > 28:
		return c, fmt.Errorf("%w: option reserve %d/%d outside [0, 28]", ErrInvalidConfig, c.OptionReserve, c.AckOptionReserve)
	}
	return c, nil
}

// wscaleFor is the smallest window shift that lets a 16-bit window field
// express buf bytes, at most 14 (RFC 7323 §2.3).
func wscaleFor(buf int) uint8 {
	var s uint8
	for s < 14 && buf>>s > 65535 {
		s++
	}
	return s
}

// configs interns normalized configurations: connections made with equal
// ones share one copy, which none of them modifies. An entry goes when the
// last connection or listener holding its configuration is gone.
var configs struct {
	sync.Mutex
	m map[Config]weak.Pointer[Config]
}

// intern returns the shared copy of the normalized configuration *n.
func intern(n *Config) *Config {
	configs.Lock()
	defer configs.Unlock()
	if p := configs.m[*n].Value(); p != nil {
		return p
	}
	if configs.m == nil {
		configs.m = make(map[Config]weak.Pointer[Config])
	}
	p := new(Config)
	*p = *n
	configs.m[*n] = weak.Make(p)
	runtime.AddCleanup(p, forget, *n)
	return p
}

// forget removes the entry of a configuration that is no longer used,
// unless an equal one took its place since.
func forget(key Config) {
	configs.Lock()
	defer configs.Unlock()
	if w, ok := configs.m[key]; ok && w.Value() == nil {
		delete(configs.m, key)
	}
}
