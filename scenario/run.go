package scenario

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
)

// Runner is a Scenario being run. Start builds it; Finish runs it to the
// end; RunFor advances it step by step (for benchmarks and for tests that
// look at it while it runs).
type Runner struct {
	spec   *Scenario
	top    *topology
	net    *sim.Network
	stacks map[string]*stack.Stack
	flows  []*flowApp
	buf    []byte // the receivers' read buffer
	marks  []EventMark
}

// Run runs a scenario until every flow has finished or its Limit, and
// returns the result.
func Run(s *Scenario) (*Result, error) {
	r, err := Start(s)
	if err != nil {
		return nil, err
	}
	return r.Finish(), nil
}

// Start validates s, builds its network, stacks and applications, and
// schedules its flows and events; no virtual time has passed yet. s must
// not be changed afterwards.
func Start(s *Scenario) (*Runner, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{spec: s, stacks: map[string]*stack.Stack{}, buf: make([]byte, patternChunk)}
	var stackErr error
	top, err := build(s, func(host string) link.Node {
		i := slices.Index(s.Hosts, host)
		seed := [32]byte{}
		for k := range 4 {
			v := splitmix(s.Seed ^ uint64(i+1)<<32 ^ uint64(k))
			for j := range 8 {
				seed[8*k+j] = byte(v >> (8 * j))
			}
		}
		st, err := stack.New(stack.Config{Rand: rand.NewChaCha8(seed)})
		if err != nil && stackErr == nil {
			stackErr = fmt.Errorf("scenario: host %q: %w", host, err)
		}
		r.stacks[host] = st
		return st
	})
	if err != nil {
		return nil, err
	}
	if stackErr != nil {
		return nil, stackErr
	}
	r.top, r.net = top, top.net
	if err := r.attach(); err != nil {
		return nil, err
	}
	if err := r.enableMPTCP(); err != nil {
		return nil, err
	}
	for i := range s.Flows {
		a := newFlowApp(r, i)
		from, _ := s.endpoint(s.Flows[i].From)
		to, _ := s.endpoint(s.Flows[i].To)
		a.src = top.hostIface(s, from.host, from.link).Addrs()[0].Addr()
		a.dst = netip.AddrPortFrom(top.hostIface(s, to.host, to.link).Addrs()[0].Addr(), s.port(i))
		a.sendSt, a.recvSt = r.stacks[from.host], r.stacks[to.host]
		if err := a.listen(); err != nil {
			return nil, fmt.Errorf("scenario: flow %q: %w", a.spec.Name, err)
		}
		r.flows = append(r.flows, a)
		r.net.At(r.at(a.spec.Start), a.dial)
	}
	for _, e := range s.Events {
		r.net.At(r.at(e.At), func(time.Time) { r.apply(e) })
	}
	interval := s.sampleInterval()
	var sampler clock.Timer
	sampler = r.net.AfterFunc(interval, func() {
		for _, a := range r.flows {
			a.samples = append(a.samples, a.received)
		}
		r.sampleSeries()
		sampler.Reset(interval)
	})
	return r, nil
}

// attach gives every stack its NICs and, for each NIC that leads to a
// router, a default route through it (the first such NIC is preferred;
// connections bound to an address leave through that address's NIC).
func (r *Runner) attach() error {
	s := r.spec
	for _, h := range s.Hosts {
		st := r.stacks[h]
		for _, ifc := range r.top.hosts[h].Interfaces() {
			if err := st.AddNIC(ifc); err != nil {
				return fmt.Errorf("scenario: host %q: %w", h, err)
			}
		}
		for i, l := range s.Links {
			if l.A != h && l.B != h {
				continue
			}
			peer := l.B
			if l.B == h {
				peer = l.A
			}
			if _, isRouter := r.top.routers[peer]; !isRouter {
				continue
			}
			ifc := r.top.hostIface(s, h, i)
			if err := st.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), ifc); err != nil {
				return fmt.Errorf("scenario: host %q: %w", h, err)
			}
		}
	}
	return nil
}

// at converts an offset from the start of the run to a virtual time.
func (r *Runner) at(d time.Duration) time.Time { return r.net.Start().Add(d) }

// offset converts a virtual time to an offset from the start of the run.
func (r *Runner) offset(t time.Time) time.Duration { return t.Sub(r.net.Start()) }

// apply carries out a link event.
func (r *Runner) apply(e Event) {
	i := slices.IndexFunc(r.spec.Links, func(l Link) bool { return l.Name == e.Link })
	l := r.top.links[i]
	r.markEvent(e)
	switch e.Kind {
	case LinkDown:
		l.SetUp(false)
		return
	case LinkUp:
		l.SetUp(true)
		return
	}
	dirs := []*sim.Dir{l.AB(), l.BA()}
	switch e.Dir {
	case AB:
		dirs = dirs[:1]
	case BA:
		dirs = dirs[1:]
	}
	for _, d := range dirs {
		cfg := d.Config()
		switch e.Kind {
		case SetRate:
			cfg.Rate = e.Rate
		case SetDelay:
			cfg.Delay = e.Delay
		case SetLoss:
			cfg.Loss = e.Loss
		case Configure:
			cfg = e.Config
		}
		// Validate checked every field an event sets, so the direction
		// accepts the configuration; an error here would be a bug.
		if err := d.Configure(cfg); err != nil {
			panic(fmt.Sprintf("scenario: event %v: %v", e, err))
		}
	}
}

// Network returns the simulator.
func (r *Runner) Network() *sim.Network { return r.net }

// Stack returns the stack of the named host, or nil.
func (r *Runner) Stack(host string) *stack.Stack { return r.stacks[host] }

// Elapsed is the virtual time since the start of the run.
func (r *Runner) Elapsed() time.Duration { return r.net.Since() }

// Finished reports whether every flow has finished: its receiver read the
// end of the stream, or one of its connections failed.
func (r *Runner) Finished() bool {
	for _, a := range r.flows {
		if !a.finished() {
			return false
		}
	}
	return true
}

// RunFor advances the run by d of virtual time.
func (r *Runner) RunFor(d time.Duration) { r.net.RunFor(d) }

// Finish runs until every flow has finished or the scenario's Limit, in
// steps of the sample interval, and returns the result.
func (r *Runner) Finish() *Result {
	limit, step := r.spec.limit(), r.spec.sampleInterval()
	for !r.Finished() && r.Elapsed() < limit {
		r.net.RunUntil(r.at(min(r.Elapsed()+step, limit)))
	}
	return r.Result()
}

// Result summarises the run so far.
func (r *Runner) Result() *Result {
	res := &Result{Name: r.spec.Name, Seed: r.spec.Seed, End: r.Elapsed(), Events: r.net.Events()}
	interval := r.spec.sampleInterval()
	for _, a := range r.flows {
		res.Flows = append(res.Flows, a.result(interval))
	}
	res.Marks = append([]EventMark(nil), r.marks...)
	for i, l := range r.spec.Links {
		sl := r.top.links[i]
		res.Links = append(res.Links,
			LinkResult{Link: l.Name, From: l.A, To: l.B, Stats: sl.AB().Stats()},
			LinkResult{Link: l.Name, From: l.B, To: l.A, Stats: sl.BA().Stats()})
	}
	for _, h := range r.spec.Hosts {
		hr := HostResult{Name: h, Sim: r.top.hosts[h].Stats(), Stack: r.stacks[h].Stats()}
		if m := r.stacks[h].MIB(); m != nil {
			hr.MIB = map[string]int64{}
			for k, v := range m.Snapshot() {
				if v != 0 {
					hr.MIB[k] = v
				}
			}
		}
		res.Hosts = append(res.Hosts, hr)
	}
	return res
}

// HostResult holds a host's counters: the simulator's (packets dropped
// before the stack saw them, such as corrupted ones) and the stack's.
type HostResult struct {
	Name  string
	Sim   sim.HostStats
	Stack stack.Stats
	// MIB holds the host's MPTCP counters by Linux's MPTcpExt names
	// (only those that are not zero), when a flow is MPTCP.
	MIB map[string]int64
}
