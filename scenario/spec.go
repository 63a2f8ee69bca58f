package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
)

// Scenario describes one simulated experiment: a topology of hosts and
// routers joined by links, bulk flows between hosts, changes to links at
// given times, and the seed every random process is drawn from.
type Scenario struct {
	// Name labels the scenario in results and tables.
	Name string
	// Seed seeds the simulator (link impairments) and the stacks (ISN
	// keys).
	Seed uint64
	// Hosts are the end systems; each runs its own stack. Routers forward
	// by static routes computed from the topology (shortest path in hops;
	// among equal paths, the one through the link listed first).
	Hosts   []string
	Routers []string
	// Links join two nodes (hosts or routers). Link i carries the IPv4
	// prefix 10.i+1.0.0/24 (i from 0): its A end is .1, its B end .2. A
	// host's interface on a link is named after the link.
	Links []Link
	// Flows are bulk transfers.
	Flows []Flow
	// Events change links while the scenario runs.
	Events []Event
	// Limit is the virtual time at which the run stops even if flows have
	// not completed (default DefaultLimit).
	Limit time.Duration
	// SampleInterval is the spacing of the delivered-bytes samples kept
	// for each flow (default DefaultSampleInterval).
	SampleInterval time.Duration
	// MPTCP configures the hosts' MPTCP, for flows with MPTCP set.
	MPTCP MPTCP
	// Offload models segmentation offload on the hosts' NICs and carries
	// their bursts through the links as super-packets where nothing on
	// the way treats the segments apart (sim.Config.Offload): far fewer
	// events, the segments of a burst kept together.
	Offload bool
}

// Defaults.
const (
	DefaultLimit          = 10 * time.Minute
	DefaultSampleInterval = 100 * time.Millisecond
	// FirstPort is the listening port of the first flow; flow i listens
	// on FirstPort+i unless it names a port.
	FirstPort = 5001
)

// Link is a point-to-point link between nodes A and B with an impairment
// model per direction (see package link/impair): AB from A to B, BA back.
// An MTU of zero means 1500 bytes.
type Link struct {
	Name   string
	A, B   string
	AB, BA impair.Config
}

// Flow is a bulk transfer from one host to another: the sender connects,
// writes a deterministic byte stream and closes; the receiver reads and
// checks every byte until the end of the stream.
//
// From and To name a host, or a host and one of its links as "host/link"
// to pick the address the host has on that link (its first link's address
// otherwise). The sender binds to the From address; the receiver listens
// on the To address.
type Flow struct {
	Name     string
	From, To string
	// Bytes is the amount to send. When zero, the sender sends for
	// Duration (after the connection is established) and then closes;
	// when both are zero, it sends until the run ends.
	Bytes    int64
	Duration time.Duration
	// Start is when the sender connects, as an offset from the start of
	// the run.
	Start time.Duration
	// CC is the congestion controller's name ("reno", "cubic"); it
	// overrides Config.CongestionControl when set.
	CC string
	// Config configures both ends of the connection (zero values select
	// the tcp package's defaults). A zero ISNKey selects the host stack's
	// key, which is drawn from the scenario's seed.
	Config tcp.Config
	// Port is the receiver's listening port (default FirstPort + index).
	Port uint16

	// Download reverses who sends: From still connects to To (and, for
	// an MPTCP flow, opens the Subflows), but To sends and From receives,
	// as a phone downloading from a server.
	Download bool

	// MPTCP makes the flow an MPTCP connection (RFC 8684) between
	// stacks configured by Scenario.MPTCP; Config (and CC) is then the
	// template of every subflow's TCP configuration, on both ends.
	MPTCP bool
	// Scheduler, if set, makes the sender's packet scheduler of an MPTCP
	// flow (one per connection; default meta's lowest-RTT one).
	Scheduler func() meta.Scheduler
	// MPTCPBuffer, if positive, is the connection-level send and receive
	// buffer of both ends of an MPTCP flow (meta.Config's
	// SendBufferSize and RecvBufferSize).
	MPTCPBuffer int
	// Subflows are the additional subflows the connecting side opens
	// (MP_JOIN) once the connection is fully established, in order.
	Subflows []Subflow
}

// Subflow is an additional subflow of an MPTCP flow: From is the sender's
// "host/link" (its address on that link), To the receiver's (its address
// on that link, at the flow's port).
type Subflow struct {
	From, To string
	Backup   bool
}

// MPTCP configures the MPTCP of every host of a scenario that has MPTCP
// flows.
type MPTCP struct {
	// Checksum requests DSS checksums (RFC 8684 §3.3.1).
	Checksum bool
	// ChunkSize is the largest DSS mapping (default meta's).
	ChunkSize int
}

// EventKind says what an Event does to a link.
type EventKind uint8

// Kinds of Event.
const (
	// LinkDown takes the link down in both directions; packets queued or
	// propagating are lost.
	LinkDown EventKind = iota + 1
	// LinkUp brings the link back up.
	LinkUp
	// SetRate changes the rate (Event.Rate) of the selected directions.
	SetRate
	// SetDelay changes the propagation delay (Event.Delay).
	SetDelay
	// SetLoss changes the Bernoulli loss probability (Event.Loss).
	SetLoss
	// Configure replaces the selected directions' impairment
	// configuration by Event.Config.
	Configure
)

var eventKindNames = [...]string{LinkDown: "down", LinkUp: "up", SetRate: "rate", SetDelay: "delay", SetLoss: "loss", Configure: "configure"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Direction selects the directions of a link an Event changes.
type Direction uint8

// Directions.
const (
	Both Direction = iota // both directions (the zero value)
	AB                    // from the link's A end to its B end
	BA                    // back
)

func (d Direction) String() string {
	switch d {
	case Both:
		return "both"
	case AB:
		return "ab"
	case BA:
		return "ba"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Event changes a link at a given time.
type Event struct {
	At     time.Duration // offset from the start of the run
	Link   string
	Kind   EventKind
	Dir    Direction // for SetRate, SetDelay, SetLoss and Configure
	Rate   int64     // SetRate: bits per second, 0 for unlimited
	Delay  time.Duration
	Loss   float64
	Config impair.Config // Configure
}

// String describes the event, e.g. "2s bn rate=10Mbit/s".
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %s %v", e.At, e.Link, e.Kind)
	switch e.Kind {
	case SetRate:
		fmt.Fprintf(&b, "=%s", formatRate(float64(e.Rate)))
	case SetDelay:
		fmt.Fprintf(&b, "=%v", e.Delay)
	case SetLoss:
		fmt.Fprintf(&b, "=%g", e.Loss)
	}
	if e.Kind >= SetRate && e.Dir != Both {
		fmt.Fprintf(&b, " (%v)", e.Dir)
	}
	return b.String()
}

// ErrScenario is wrapped by every error about an invalid Scenario.
var ErrScenario = errors.New("scenario: invalid scenario")

func specErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrScenario, fmt.Sprintf(format, args...))
}

// maxLinks bounds the links of a scenario: link i uses 10.i+1.0.0/24.
const maxLinks = 254

// Validate reports whether s can run: unique non-empty names, links
// between known nodes, impairment configurations that impair accepts,
// flows between distinct known hosts with distinct ports, events on known
// links, and non-negative times.
func (s *Scenario) Validate() error {
	names := map[string]string{}
	for _, h := range s.Hosts {
		if err := checkName("host", h, names); err != nil {
			return err
		}
	}
	for _, r := range s.Routers {
		if err := checkName("router", r, names); err != nil {
			return err
		}
	}
	if len(s.Links) > maxLinks {
		return specErr("%d links, at most %d", len(s.Links), maxLinks)
	}
	links := map[string]bool{}
	for i := range s.Links {
		l := &s.Links[i]
		if l.Name == "" || strings.ContainsAny(l.Name, "/ \t\n") {
			return specErr("link %d: bad name %q", i, l.Name)
		}
		if links[l.Name] {
			return specErr("duplicate link %q", l.Name)
		}
		links[l.Name] = true
		for _, end := range []string{l.A, l.B} {
			if _, ok := names[end]; !ok {
				return specErr("link %q: unknown node %q", l.Name, end)
			}
		}
		if l.A == l.B {
			return specErr("link %q joins %q to itself", l.Name, l.A)
		}
		for _, c := range []*impair.Config{&l.AB, &l.BA} {
			if err := c.Validate(); err != nil {
				return specErr("link %q: %v", l.Name, err)
			}
		}
	}
	ports := map[string]bool{}
	flows := map[string]bool{}
	for i := range s.Flows {
		f := &s.Flows[i]
		if f.Name == "" {
			return specErr("flow %d has no name", i)
		}
		if flows[f.Name] {
			return specErr("duplicate flow %q", f.Name)
		}
		flows[f.Name] = true
		from, err := s.endpoint(f.From)
		if err != nil {
			return specErr("flow %q: From: %v", f.Name, err)
		}
		to, err := s.endpoint(f.To)
		if err != nil {
			return specErr("flow %q: To: %v", f.Name, err)
		}
		if from.host == to.host {
			return specErr("flow %q: From and To are the same host %q", f.Name, from.host)
		}
		if len(f.Subflows) > 0 && !f.MPTCP {
			return specErr("flow %q: Subflows without MPTCP", f.Name)
		}
		for k, sf := range f.Subflows {
			sfrom, err := s.endpoint(sf.From)
			if err != nil || sfrom.host != from.host {
				return specErr("flow %q: subflow %d: From %q is not an endpoint of %q", f.Name, k, sf.From, from.host)
			}
			sto, err := s.endpoint(sf.To)
			if err != nil || sto.host != to.host {
				return specErr("flow %q: subflow %d: To %q is not an endpoint of %q", f.Name, k, sf.To, to.host)
			}
		}
		switch {
		case f.Bytes < 0:
			return specErr("flow %q: negative Bytes", f.Name)
		case f.Duration < 0 || f.Start < 0:
			return specErr("flow %q: negative Duration or Start", f.Name)
		}
		if f.Port == 0 && FirstPort+i > 65535 {
			return specErr("flow %q: no default port left; set Port", f.Name)
		}
		key := fmt.Sprintf("%s:%d", to.host, s.port(i))
		if ports[key] {
			return specErr("flow %q: port %d of %q is used by another flow", f.Name, s.port(i), to.host)
		}
		ports[key] = true
	}
	for i, e := range s.Events {
		if !links[e.Link] {
			return specErr("event %d: unknown link %q", i, e.Link)
		}
		if e.At < 0 {
			return specErr("event %d: negative time", i)
		}
		switch e.Kind {
		case LinkDown, LinkUp:
		case SetRate:
			if e.Rate < 0 {
				return specErr("event %d: negative rate", i)
			}
		case SetDelay:
			if e.Delay < 0 {
				return specErr("event %d: negative delay", i)
			}
		case SetLoss:
			c := impair.Config{Loss: e.Loss}
			if err := c.Validate(); err != nil {
				return specErr("event %d: %v", i, err)
			}
		case Configure:
			if err := e.Config.Validate(); err != nil {
				return specErr("event %d: %v", i, err)
			}
		default:
			return specErr("event %d: unknown kind %v", i, e.Kind)
		}
		if e.Dir > BA {
			return specErr("event %d: unknown direction %v", i, e.Dir)
		}
	}
	if s.Limit < 0 || s.SampleInterval < 0 {
		return specErr("negative Limit or SampleInterval")
	}
	return nil
}

func checkName(kind, name string, names map[string]string) error {
	if name == "" || strings.ContainsAny(name, "/ \t\n") {
		return specErr("bad %s name %q", kind, name)
	}
	if k, ok := names[name]; ok {
		return specErr("%s %q: name already used by a %s", kind, name, k)
	}
	names[name] = kind
	return nil
}

// endpointRef is a parsed Flow.From or Flow.To.
type endpointRef struct {
	host string
	link int // index in Scenario.Links
}

// endpoint resolves "host" or "host/link" to a host and the link whose
// address it uses.
func (s *Scenario) endpoint(ref string) (endpointRef, error) {
	host, linkName, named := strings.Cut(ref, "/")
	if !slices.Contains(s.Hosts, host) {
		return endpointRef{}, fmt.Errorf("unknown host %q", host)
	}
	for i, l := range s.Links {
		if l.A != host && l.B != host {
			continue
		}
		if !named || l.Name == linkName {
			return endpointRef{host: host, link: i}, nil
		}
	}
	if named {
		return endpointRef{}, fmt.Errorf("host %q has no link %q", host, linkName)
	}
	return endpointRef{}, fmt.Errorf("host %q has no link", host)
}

func (s *Scenario) port(i int) uint16 {
	if p := s.Flows[i].Port; p != 0 {
		return p
	}
	return uint16(FirstPort + i)
}

func (s *Scenario) limit() time.Duration {
	if s.Limit > 0 {
		return s.Limit
	}
	return DefaultLimit
}

func (s *Scenario) sampleInterval() time.Duration {
	if s.SampleInterval > 0 {
		return s.SampleInterval
	}
	return DefaultSampleInterval
}
