package cc

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Controller is a congestion controller for one subflow. All windows are
// in bytes. Methods are called by the engine from a single goroutine.
type Controller interface {
	// Name is the name the controller is registered under.
	Name() string
	// Cwnd is the congestion window in bytes.
	Cwnd() int
	// Ssthresh is the slow-start threshold in bytes.
	Ssthresh() int
	// OnAck reports newly acknowledged bytes outside loss recovery.
	OnAck(a Ack)
	// OnCongestionEvent reports a loss that starts fast recovery (or a
	// loss repaired by a tail loss probe): the controller reduces
	// ssthresh, and cwnd to the value the engine uses after recovery.
	OnCongestionEvent(e Loss)
	// OnRecoveryExit reports the end of fast recovery.
	OnRecoveryExit(now time.Time)
	// OnRTO reports a retransmission timeout (the first of a series;
	// backed-off repeats are reported too, with Loss.Repeat set).
	OnRTO(e Loss)
	// SetMSS changes the sender maximum segment size the windows are
	// counted in.
	SetMSS(mss int)
	// PacingRate is the pacing rate in bytes per second the controller
	// asks for, or 0 when it does not pace.
	PacingRate() uint64
}

// Ack describes an acknowledgment that advanced SND.UNA or SACKed data.
type Ack struct {
	Now        time.Time
	BytesAcked int           // bytes newly acknowledged (cumulatively or by SACK)
	RTT        time.Duration // RTT sample of this ACK, 0 if none (Karn's rule)
	SRTT       time.Duration // smoothed RTT after this ACK, 0 if unknown
	MinRTT     time.Duration // minimum RTT seen, 0 if unknown
	InFlight   int           // bytes in flight before this ACK
	// CwndLimited is false when the sender did not use its window
	// (RFC 7661): a controller must not grow cwnd then.
	CwndLimited bool
	// Round counts round trips: it increments on the first ACK that
	// covers the data outstanding when the previous round began
	// (windowEnd of RFC 9406 §4.2).
	Round uint64
}

// Loss describes a congestion event.
type Loss struct {
	Now      time.Time
	InFlight int  // bytes in flight when the loss was detected (FlightSize)
	Repeat   bool // an RTO that fired again before new data was acknowledged
}

// Config is what a Factory receives.
type Config struct {
	// MSS is the sender maximum segment size in bytes (> 0).
	MSS int
	// InitialWindow is the initial window in segments; 0 means 10
	// (RFC 6928).
	InitialWindow int
	// Member is the subflow's place in a coupled group, or nil.
	Member *Member
}

// Factory creates a controller.
type Factory func(Config) Controller

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
)

// ErrUnknown is returned by New for a name nobody registered.
var ErrUnknown = errors.New("cc: unknown congestion controller")

// Register makes a controller available under name. It panics if name is
// empty or already registered, as that is a programming error at init.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if name == "" || f == nil {
		panic("cc: Register with empty name or nil factory")
	}
	if _, dup := registry[name]; dup {
		panic("cc: duplicate controller " + name)
	}
	registry[name] = f
}

// New creates the controller registered under name.
func New(name string, cfg Config) (Controller, error) {
	regMu.RLock()
	f := registry[name]
	regMu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	if cfg.MSS <= 0 {
		return nil, fmt.Errorf("cc: MSS %d must be positive", cfg.MSS)
	}
	if cfg.InitialWindow < 0 {
		return nil, fmt.Errorf("cc: initial window %d must not be negative", cfg.InitialWindow)
	}
	if cfg.InitialWindow == 0 {
		cfg.InitialWindow = 10
	}
	return f(cfg), nil
}

// Names lists the registered controllers, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// minCwnd is the smallest window after a reduction: 2 segments
// (RFC 5681 §3.1, equation (4)).
func minCwnd(mss int) int { return 2 * mss }
