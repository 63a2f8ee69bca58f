package mptcpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// EventSource delivers path manager events. *pm.Monitor is one.
type EventSource interface {
	// Events returns the channel of events, closed when the source stops.
	Events() <-chan pm.Event
	// Err tells why the source stopped once the channel is closed.
	Err() error
}

// NetSource delivers the host's interfaces and addresses: a NetSnapshot
// first, then changes. *NetMonitor is one.
type NetSource interface {
	// Updates returns the channel of updates, closed when the source stops.
	Updates() <-chan NetUpdate
	// Err tells why the source stopped once the channel is closed.
	Err() error
}

// Config configures a Daemon.
type Config struct {
	// Driver carries out the plugins' commands. Required.
	Driver Driver
	// Plugins are called in this order for every event.
	Plugins []Plugin
	// Filter chooses the usable interfaces and addresses.
	Filter AddrFilter
	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger
	// Metrics receives the daemon's counts; nil gives the daemon its own
	// (see Daemon.Metrics).
	Metrics *Metrics
}

// Daemon is the core of a userspace path manager: it keeps a view of the
// host's usable local addresses, interfaces and MPTCP connections, fed by
// an EventSource and a NetSource, and calls its plugins' hooks for every
// change, giving them a PathManager to act through.
type Daemon struct {
	driver  Driver
	plugins []Plugin
	log     *slog.Logger
	metrics *Metrics
	pm      *pathManager
	running atomic.Bool

	mu sync.Mutex // guards v
	v  *view
}

// New returns a daemon; Run starts it.
func New(cfg Config) (*Daemon, error) {
	if cfg.Driver == nil {
		return nil, errors.New("mptcpd: Config.Driver is required")
	}
	if err := cfg.Filter.Validate(); err != nil {
		return nil, fmt.Errorf("mptcpd: %w", err)
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(cfg.Plugins))
	for _, p := range cfg.Plugins {
		if p == nil {
			return nil, errors.New("mptcpd: nil plugin")
		}
		if seen[p.Name()] {
			return nil, fmt.Errorf("mptcpd: plugin %s loaded twice", p.Name())
		}
		seen[p.Name()] = true
		names = append(names, p.Name())
	}
	d := &Daemon{
		driver:  cfg.Driver,
		plugins: slices.Clone(cfg.Plugins),
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		v:       newView(cfg.Filter),
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.metrics == nil {
		d.metrics = NewMetrics()
	}
	d.metrics.setPlugins(names)
	d.pm = &pathManager{d: d}
	return d, nil
}

// PathManager returns the PathManager the daemon gives its plugins.
func (d *Daemon) PathManager() PathManager { return d.pm }

// Metrics returns the daemon's metrics.
func (d *Daemon) Metrics() *Metrics { return d.metrics }

// ErrSourceClosed is wrapped by Run's error when a source stopped without
// saying why.
var ErrSourceClosed = errors.New("source closed")

// Run waits for the host's interfaces and addresses from net, starts the
// plugins (Starter), then handles events and address changes until ctx ends
// or a source stops, and finally stops the plugins (Stopper). It returns
// nil when ctx ended, and the reason otherwise. A Daemon runs once.
func (d *Daemon) Run(ctx context.Context, events EventSource, net NetSource) error {
	if d.running.Swap(true) {
		return errors.New("mptcpd: Daemon.Run called twice")
	}
	if err := d.awaitSnapshot(ctx, net); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	var started []Plugin
	defer func() {
		stopCtx := context.WithoutCancel(ctx)
		for _, p := range slices.Backward(started) {
			if s, ok := p.(Stopper); ok {
				d.log.Debug("stopping plugin", "plugin", p.Name())
				s.Stop(stopCtx, d.pm)
			}
		}
	}()
	for _, p := range d.plugins {
		if s, ok := p.(Starter); ok {
			if err := s.Start(ctx, d.pm); err != nil {
				return fmt.Errorf("starting plugin %s: %w", p.Name(), err)
			}
		}
		started = append(started, p)
	}
	d.log.Info("mptcpd running", "plugins", len(d.plugins), "local_addresses", len(d.pm.LocalAddrs()))

	evc, netc := events.Events(), net.Updates()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-evc:
			if !ok {
				if ctx.Err() != nil {
					return nil // the source stopped because ctx ended
				}
				return sourceErr("path manager events", events.Err())
			}
			d.handleEvent(ctx, ev)
		case u, ok := <-netc:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return sourceErr("address monitor", net.Err())
			}
			d.handleNet(ctx, u, true)
		}
	}
}

func sourceErr(what string, err error) error {
	if err == nil {
		err = ErrSourceClosed
	}
	return fmt.Errorf("%s: %w", what, err)
}

// awaitSnapshot applies net's updates without calling plugins until the
// first snapshot has been applied.
func (d *Daemon) awaitSnapshot(ctx context.Context, net NetSource) error {
	netc := net.Updates()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case u, ok := <-netc:
			if !ok {
				return sourceErr("address monitor", net.Err())
			}
			d.handleNet(ctx, u, false)
			if u.Kind == NetSnapshot {
				return nil
			}
		}
	}
}

// handleNet applies a route update and, when notify is set, tells the
// plugins what changed.
func (d *Daemon) handleNet(ctx context.Context, u NetUpdate, notify bool) {
	d.mu.Lock()
	diff := d.v.applyNet(u)
	d.metrics.localAddrs.Store(int64(len(d.v.usable)))
	d.mu.Unlock()
	if u.Kind == NetSnapshot && notify {
		d.metrics.netResyncs.Add(1)
		d.log.Warn("re-read the host's interfaces and addresses after lost notifications")
	}
	for _, a := range diff.addrsRemoved {
		d.metrics.addrRemoved.Add(1)
		d.log.Info("local address removed", "addr", a.Addr, "id", a.ID, "dev", a.IfName)
		if notify {
			for _, p := range d.plugins {
				p.LocalAddressRemoved(ctx, d.pm, a)
			}
		}
	}
	for _, i := range diff.ifsDown {
		d.metrics.ifDown.Add(1)
		d.log.Info("interface down", "dev", i.Name, "index", i.Index)
		if notify {
			for _, p := range d.plugins {
				p.InterfaceDown(ctx, d.pm, i)
			}
		}
	}
	for _, i := range diff.ifsUp {
		d.metrics.ifUp.Add(1)
		d.log.Info("interface up", "dev", i.Name, "index", i.Index)
		if notify {
			for _, p := range d.plugins {
				p.InterfaceUp(ctx, d.pm, i)
			}
		}
	}
	for _, a := range diff.addrsAdded {
		d.metrics.addrAdded.Add(1)
		d.log.Info("local address added", "addr", a.Addr, "id", a.ID, "dev", a.IfName)
		if notify {
			for _, p := range d.plugins {
				p.LocalAddressAdded(ctx, d.pm, a)
			}
		}
	}
}

// handleEvent applies a path manager event and calls the plugins' hooks.
func (d *Daemon) handleEvent(ctx context.Context, ev pm.Event) {
	if ev.Err != nil {
		if errors.Is(ev.Err, pm.ErrEventsLost) {
			d.metrics.eventsLost.Add(1)
			d.log.Warn("path manager events lost; connections may be missed", "err", ev.Err)
		} else {
			d.metrics.eventErrors.Add(1)
			d.log.Warn("undecodable path manager event", "err", ev.Err)
		}
		return
	}
	d.metrics.event(ev.Type)
	d.log.Debug("event", "event", ev.String())

	d.mu.Lock()
	ce := d.v.applyEvent(ev)
	d.metrics.connections.Store(int64(len(d.v.conns)))
	d.metrics.subflows.Store(int64(d.v.subflowCount()))
	d.mu.Unlock()

	switch ce.hook {
	case hookSubEstablished:
		if ce.requested {
			d.metrics.subflowsCreated.Add(1)
		}
	case hookSubClosed:
		if ce.requested {
			d.metrics.subflowsFailed.Add(1)
			d.log.Warn("requested subflow failed", "token", tokenStr(ce.conn.Token),
				"local", ce.subflow.Local, "remote", ce.subflow.Remote, "error", ce.subflow.Error)
		}
	}
	for _, p := range d.plugins {
		switch ce.hook {
		case hookCreated:
			p.ConnectionCreated(ctx, d.pm, ce.conn.Clone())
		case hookEstablished:
			p.ConnectionEstablished(ctx, d.pm, ce.conn.Clone())
		case hookClosed:
			p.ConnectionClosed(ctx, d.pm, ce.conn.Clone())
		case hookAnnounced:
			p.AddressAnnounced(ctx, d.pm, ce.conn.Clone(), ce.remote)
		case hookRemoved:
			p.AddressRemoved(ctx, d.pm, ce.conn.Clone(), ce.remote)
		case hookSubEstablished:
			p.SubflowEstablished(ctx, d.pm, ce.conn.Clone(), ce.subflow)
		case hookSubClosed:
			p.SubflowClosed(ctx, d.pm, ce.conn.Clone(), ce.subflow)
		case hookSubPriority:
			p.SubflowPriority(ctx, d.pm, ce.conn.Clone(), ce.subflow)
		}
	}
}

func tokenStr(t uint32) string { return fmt.Sprintf("%08x", t) }

// Names of the commands in metrics and logs.
const (
	cmdAnnounce       = "announce"
	cmdRemove         = "remove"
	cmdCreateSubflow  = "create_subflow"
	cmdDestroySubflow = "destroy_subflow"
	cmdSetBackup      = "set_backup"
	cmdAddEndpoint    = "add_endpoint"
	cmdDeleteEndpoint = "delete_endpoint"
	cmdListEndpoints  = "list_endpoints"
)

var commandNames = []string{
	cmdAnnounce, cmdRemove, cmdCreateSubflow, cmdDestroySubflow, cmdSetBackup,
	cmdAddEndpoint, cmdDeleteEndpoint, cmdListEndpoints,
}

// pathManager is the Daemon's PathManager: its Driver's commands, counted,
// logged and reflected in the view, plus read access to the view.
type pathManager struct{ d *Daemon }

var _ PathManager = (*pathManager)(nil)

// done counts and logs a command's outcome.
func (p *pathManager) done(cmd string, err error, attrs ...any) {
	p.d.metrics.command(cmd, err)
	if err != nil {
		p.d.log.Warn("command failed", append([]any{"command", cmd, "err", err}, attrs...)...)
	} else {
		p.d.log.Info("command", append([]any{"command", cmd}, attrs...)...)
	}
}

// fillID gives local its ID on the connection when it has none.
func (p *pathManager) fillID(token uint32, local Endpoint) Endpoint {
	local.Addr = netip.AddrPortFrom(local.Addr.Addr().Unmap(), local.Addr.Port())
	if local.ID != 0 {
		return local
	}
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	local.ID = p.d.v.localID(p.d.v.conns[token], local.Addr.Addr())
	return local
}

// isInitialAddr reports whether a is the local address of the initial
// subflow of the connection.
func (p *pathManager) isInitialAddr(token uint32, a netip.Addr) bool {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	c := p.d.v.conns[token]
	return c != nil && c.Local.Addr() == a
}

func (p *pathManager) Announce(ctx context.Context, token uint32, local Endpoint) error {
	local = p.fillID(token, local)
	var err error
	if local.ID == 0 {
		err = fmt.Errorf("cannot announce %s: it is the initial subflow's address (ID 0) or no address ID is free", local.Addr.Addr())
	} else {
		err = p.d.driver.Announce(ctx, token, local)
	}
	p.done(cmdAnnounce, err, "token", tokenStr(token), "local", local.String())
	if err != nil {
		return err
	}
	p.d.metrics.announcements.Add(1)
	p.d.mu.Lock()
	if c := p.d.v.conns[token]; c != nil {
		c.Announced = slices.DeleteFunc(c.Announced, func(e Endpoint) bool { return e.ID == local.ID })
		c.Announced = append(c.Announced, local)
		slices.SortFunc(c.Announced, func(a, b Endpoint) int { return int(a.ID) - int(b.ID) })
	}
	p.d.mu.Unlock()
	return nil
}

func (p *pathManager) Remove(ctx context.Context, token uint32, id uint8) error {
	err := p.d.driver.Remove(ctx, token, id)
	p.done(cmdRemove, err, "token", tokenStr(token), "id", id)
	if err != nil {
		return err
	}
	p.d.mu.Lock()
	if c := p.d.v.conns[token]; c != nil {
		c.Announced = slices.DeleteFunc(c.Announced, func(e Endpoint) bool { return e.ID == id })
	}
	p.d.mu.Unlock()
	return nil
}

func (p *pathManager) CreateSubflow(ctx context.Context, token uint32, local Endpoint, remote netip.AddrPort) error {
	local = p.fillID(token, local)
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	p.d.metrics.subflowsRequested.Add(1)
	var err error
	if local.ID == 0 && !p.isInitialAddr(token, local.Addr.Addr()) {
		// RFC 8684 §3.4.1: ID 0 belongs to the initial subflow's address.
		err = fmt.Errorf("no address ID is free for %s", local.Addr.Addr())
	} else {
		err = p.d.driver.CreateSubflow(ctx, token, local, remote)
	}
	p.done(cmdCreateSubflow, err, "token", tokenStr(token), "local", local.String(), "remote", remote)
	if err != nil {
		p.d.metrics.subflowsFailed.Add(1)
		return err
	}
	p.d.mu.Lock()
	if c := p.d.v.conns[token]; c != nil {
		ifindex := local.IfIndex
		if ifindex == 0 {
			ifindex = p.d.v.ifIndexOf(local.Addr.Addr())
		}
		c.Subflows = append(c.Subflows, Subflow{
			LocalID:  local.ID,
			RemoteID: remoteID(c, remote),
			Local:    local.Addr,
			Remote:   remote,
			Backup:   local.Flags&FlagBackup != 0,
			IfIndex:  ifindex,
			Pending:  true,
		})
		p.d.metrics.subflows.Store(int64(p.d.v.subflowCount()))
	}
	p.d.mu.Unlock()
	return nil
}

func (p *pathManager) DestroySubflow(ctx context.Context, token uint32, local, remote netip.AddrPort) error {
	err := p.d.driver.DestroySubflow(ctx, token, local, remote)
	p.done(cmdDestroySubflow, err, "token", tokenStr(token), "local", local, "remote", remote)
	return err
}

func (p *pathManager) SetBackup(ctx context.Context, token uint32, local, remote netip.AddrPort, backup bool) error {
	err := p.d.driver.SetBackup(ctx, token, local, remote, backup)
	p.done(cmdSetBackup, err, "token", tokenStr(token), "local", local, "remote", remote, "backup", backup)
	return err
}

func (p *pathManager) EndpointManager() EndpointManager {
	em, ok := p.d.driver.(EndpointManager)
	if !ok {
		return nil
	}
	return &endpointManager{p: p, em: em}
}

func (p *pathManager) LocalAddrs() []LocalAddr {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	return p.d.v.localAddrs()
}

func (p *pathManager) Interfaces() []Interface {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	return p.d.v.interfaces()
}

func (p *pathManager) Interface(index int) (Interface, bool) {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	l, ok := p.d.v.links[index]
	if !ok || !p.d.v.filter.InterfaceAllowed(l) {
		return Interface{}, false
	}
	return toInterface(l), true
}

func (p *pathManager) Connections() []Connection {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	return p.d.v.connections()
}

func (p *pathManager) Connection(token uint32) (Connection, bool) {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	c, ok := p.d.v.conns[token]
	if !ok {
		return Connection{}, false
	}
	return c.Clone(), true
}

// endpointManager counts and logs the endpoint commands of a driver.
type endpointManager struct {
	p  *pathManager
	em EndpointManager
}

func (e *endpointManager) AddEndpoint(ctx context.Context, ep Endpoint) (uint8, error) {
	id, err := e.em.AddEndpoint(ctx, ep)
	ep.ID = id
	e.p.done(cmdAddEndpoint, err, "endpoint", ep.String())
	return id, err
}

func (e *endpointManager) DeleteEndpoint(ctx context.Context, id uint8, addr netip.Addr) error {
	err := e.em.DeleteEndpoint(ctx, id, addr)
	e.p.done(cmdDeleteEndpoint, err, "id", id, "addr", addr)
	return err
}

func (e *endpointManager) Endpoints(ctx context.Context) ([]Endpoint, error) {
	eps, err := e.em.Endpoints(ctx)
	e.p.d.metrics.command(cmdListEndpoints, err)
	if err != nil {
		e.p.d.log.Warn("command failed", "command", cmdListEndpoints, "err", err)
	}
	return eps, err
}
