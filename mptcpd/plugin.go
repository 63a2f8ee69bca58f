package mptcpd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Plugin is a path management policy. The daemon calls its hooks from one
// goroutine, one event at a time, in the order the events happened, after
// updating its view (so pm.Connection already reflects the event). Hooks
// act through pm; failed commands are logged and counted by the daemon, so
// a hook may ignore their errors. ctx ends when the daemon stops.
//
// Embed Base to implement only the hooks a plugin needs.
type Plugin interface {
	// Name returns the name the plugin is registered under.
	Name() string

	// ConnectionCreated: a connection was created (MP_CAPABLE, RFC 8684
	// §3.1); it cannot open subflows until established.
	ConnectionCreated(ctx context.Context, pm PathManager, c Connection)
	// ConnectionEstablished: the connection is fully established.
	ConnectionEstablished(ctx context.Context, pm PathManager, c Connection)
	// ConnectionClosed: the connection is gone; c is its last state.
	ConnectionClosed(ctx context.Context, pm PathManager, c Connection)

	// AddressAnnounced: the peer announced an address with ADD_ADDR
	// (RFC 8684 §3.4.1).
	AddressAnnounced(ctx context.Context, pm PathManager, c Connection, a RemoteAddr)
	// AddressRemoved: the peer withdrew an address with REMOVE_ADDR
	// (RFC 8684 §3.4.2).
	AddressRemoved(ctx context.Context, pm PathManager, c Connection, a RemoteAddr)

	// SubflowEstablished: a subflow joined the connection (MP_JOIN,
	// RFC 8684 §3.2).
	SubflowEstablished(ctx context.Context, pm PathManager, c Connection, s Subflow)
	// SubflowClosed: a subflow closed, or a requested one failed to open
	// (s.Pending is then set); s.Error and s.ResetReason tell why.
	SubflowClosed(ctx context.Context, pm PathManager, c Connection, s Subflow)
	// SubflowPriority: a subflow's backup priority changed (MP_PRIO,
	// RFC 8684 §3.3.8).
	SubflowPriority(ctx context.Context, pm PathManager, c Connection, s Subflow)

	// LocalAddressAdded: a local address became usable.
	LocalAddressAdded(ctx context.Context, pm PathManager, a LocalAddr)
	// LocalAddressRemoved: a local address is no longer usable.
	LocalAddressRemoved(ctx context.Context, pm PathManager, a LocalAddr)
	// InterfaceUp: an interface came up and is running. Its addresses
	// follow as LocalAddressAdded.
	InterfaceUp(ctx context.Context, pm PathManager, i Interface)
	// InterfaceDown: an interface went down or disappeared. Its addresses
	// went first, as LocalAddressRemoved.
	InterfaceDown(ctx context.Context, pm PathManager, i Interface)
}

// Starter is implemented by plugins that act when the daemon starts, once
// its view holds the host's local addresses and interfaces. An error stops
// the daemon from starting.
type Starter interface {
	Start(ctx context.Context, pm PathManager) error
}

// Stopper is implemented by plugins that clean up when the daemon stops.
// ctx is not the daemon's (which has ended) but one bounding the cleanup.
type Stopper interface {
	Stop(ctx context.Context, pm PathManager)
}

// Base implements every hook of Plugin by doing nothing. Embed it in a
// plugin and override the hooks it needs.
type Base struct{}

func (Base) ConnectionCreated(context.Context, PathManager, Connection)            {}
func (Base) ConnectionEstablished(context.Context, PathManager, Connection)        {}
func (Base) ConnectionClosed(context.Context, PathManager, Connection)             {}
func (Base) AddressAnnounced(context.Context, PathManager, Connection, RemoteAddr) {}
func (Base) AddressRemoved(context.Context, PathManager, Connection, RemoteAddr)   {}
func (Base) SubflowEstablished(context.Context, PathManager, Connection, Subflow)  {}
func (Base) SubflowClosed(context.Context, PathManager, Connection, Subflow)       {}
func (Base) SubflowPriority(context.Context, PathManager, Connection, Subflow)     {}
func (Base) LocalAddressAdded(context.Context, PathManager, LocalAddr)             {}
func (Base) LocalAddressRemoved(context.Context, PathManager, LocalAddr)           {}
func (Base) InterfaceUp(context.Context, PathManager, Interface)                   {}
func (Base) InterfaceDown(context.Context, PathManager, Interface)                 {}

// Mode is the kind of kernel path manager a plugin works with.
type Mode string

const (
	// ModeUserspace: the plugin drives connections itself; the kernel's
	// net.mptcp.path_manager must be "userspace".
	ModeUserspace Mode = "userspace"
	// ModeKernel: the plugin configures the in-kernel path manager
	// (net.mptcp.path_manager "kernel").
	ModeKernel Mode = "kernel"
	// ModeAny: the plugin works with either.
	ModeAny Mode = ""
)

// OptionSpec documents one option of a plugin.
type OptionSpec struct {
	Name    string
	Default string
	Doc     string
}

// Registration describes a plugin to the registry.
type Registration struct {
	// Name is the plugin's name, as given to NewPlugin and in
	// configuration ("sspi").
	Name string
	// Summary is a one-line description.
	Summary string
	// Mode is the kernel path manager the plugin expects.
	Mode Mode
	// Options lists the options the plugin accepts; NewPlugin rejects
	// others.
	Options []OptionSpec
	// New returns a new instance configured by opts. It reports invalid
	// option values as errors.
	New func(opts Options) (Plugin, error)
}

var registry = struct {
	sync.Mutex
	m map[string]Registration
}{m: map[string]Registration{}}

// Register adds a plugin to the registry. It panics when the name is empty,
// taken, or New is nil: registering is done once, from init functions, and
// a clash is a programming error.
func Register(r Registration) {
	if r.Name == "" || r.New == nil {
		panic("mptcpd: Register: a plugin needs a name and a New function")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[r.Name]; dup {
		panic("mptcpd: Register: duplicate plugin " + strconv.Quote(r.Name))
	}
	r.Options = slices.Clone(r.Options)
	registry.m[r.Name] = r
}

// Registered returns the registered plugins, sorted by name.
func Registered() []Registration {
	registry.Lock()
	defer registry.Unlock()
	out := make([]Registration, 0, len(registry.m))
	for _, r := range registry.m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Registration) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup returns the registration of the named plugin.
func Lookup(name string) (Registration, bool) {
	registry.Lock()
	defer registry.Unlock()
	r, ok := registry.m[name]
	return r, ok
}

// NewPlugin returns a new instance of the named plugin configured with
// opts, which may be nil.
func NewPlugin(name string, opts Options) (Plugin, error) {
	r, ok := Lookup(name)
	if !ok {
		names := make([]string, 0)
		for _, r := range Registered() {
			names = append(names, r.Name)
		}
		return nil, fmt.Errorf("unknown plugin %q (available: %s)", name, strings.Join(names, ", "))
	}
	for k := range opts {
		if !slices.ContainsFunc(r.Options, func(o OptionSpec) bool { return o.Name == k }) {
			if len(r.Options) == 0 {
				return nil, fmt.Errorf("plugin %s: unknown option %q (it has none)", name, k)
			}
			known := make([]string, len(r.Options))
			for i, o := range r.Options {
				known[i] = o.Name
			}
			return nil, fmt.Errorf("plugin %s: unknown option %q (known: %s)", name, k, strings.Join(known, ", "))
		}
	}
	p, err := r.New(opts)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	return p, nil
}

// Options are the settings of one plugin: option names mapped to their
// values as written in configuration.
type Options map[string]string

// String returns the value of the option, or def when unset.
func (o Options) String(name, def string) string {
	if v, ok := o[name]; ok {
		return v
	}
	return def
}

// Int returns the value of the option as an integer within [lo, hi], or def
// when unset.
func (o Options) Int(name string, def, lo, hi int) (int, error) {
	v, ok := o[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("option %s: %q is not an integer", name, v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("option %s: %d is outside [%d, %d]", name, n, lo, hi)
	}
	return n, nil
}

// Bool returns the value of the option as a boolean ("true", "false", "1",
// "0", "yes", "no", "on", "off"), or def when unset.
func (o Options) Bool(name string, def bool) (bool, error) {
	v, ok := o[name]
	if !ok {
		return def, nil
	}
	b, ok := parseBool(v)
	if !ok {
		return false, fmt.Errorf("option %s: %q is not a boolean (true or false)", name, v)
	}
	return b, nil
}

// List returns the value of the option split at commas and white space, or
// nil when unset or empty.
func (o Options) List(name string) []string {
	return splitList(o[name])
}

// parseBool accepts the usual spellings of a boolean in configuration.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}
