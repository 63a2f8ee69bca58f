package sched

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
)

// The interfaces and views of package meta.
type (
	// Scheduler picks the subflow for each chunk (meta.Scheduler).
	Scheduler = meta.Scheduler
	// ConnScheduler is a Scheduler with per-connection state that sees
	// the connection (meta.ConnScheduler).
	ConnScheduler = meta.ConnScheduler
	// SubflowStatus is what a scheduler sees of a subflow
	// (meta.SubflowStatus).
	SubflowStatus = meta.SubflowStatus
	// View is what a ConnScheduler sees of the connection (meta.View).
	View = meta.View
)

// Default returns Linux's default scheduler (meta.LowestRTT): among the
// subflows with congestion window space, the one with the lowest smoothed
// RTT; backup subflows only when no other subflow exists. It keeps no
// state and is what the engine uses when Config.Scheduler is nil.
func Default() Scheduler { return meta.LowestRTT() }

// ErrUnknown is wrapped by New's error for a name no scheduler has.
var ErrUnknown = errors.New("sched: unknown scheduler")

// registry lists the schedulers by name, sorted.
var registry = []struct {
	name string
	make func() Scheduler
}{
	{"blest", BLEST},
	{"default", Default},
	{"ecf", ECF},
	{"redundant", Redundant},
	// The multipath-tcp.org kernel's module defaults: num_segments 1,
	// cwnd_limited 1.
	{"roundrobin", func() Scheduler { return RoundRobin(1, true) }},
}

// Names lists the names New accepts, sorted.
func Names() []string {
	names := make([]string, len(registry))
	for i, r := range registry {
		names[i] = r.name
	}
	return names
}

// New returns a constructor of the scheduler with the given name (see
// Names; "roundrobin" is RoundRobin(1, true), the multipath-tcp.org
// kernel's defaults). Each call of the constructor returns a new
// instance.
func New(name string) (func() Scheduler, error) {
	for _, r := range registry {
		if r.name == name {
			return r.make, nil
		}
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
}

// anyRegular reports whether a subflow is not a backup one: backups are
// then left alone (RFC 8684 §3.3.8; Linux uses backups only when no
// other subflow is active).
func anyRegular(subs []SubflowStatus) bool {
	for i := range subs {
		if !subs[i].Backup {
			return true
		}
	}
	return false
}

// fastest returns the subflow with the lowest smoothed RTT among those the
// backup rule allows, with or without window space, or -1.
func fastest(subs []SubflowStatus) int {
	regular := anyRegular(subs)
	f := -1
	for i := range subs {
		s := &subs[i]
		if s.Backup && regular {
			continue
		}
		if f < 0 || s.RTT < subs[f].RTT {
			f = i
		}
	}
	return f
}

// perSubflow keeps a scheduler's state of each subflow, by 4-tuple. It
// holds few entries (a connection has at most 255 subflows, usually a
// handful), so a linear search beats a map and allocates only when a
// subflow is first seen.
type perSubflow[T any] struct {
	ids  []tcp.ConnID
	vals []T
}

// get returns the state of subflow id, zero the first time.
func (p *perSubflow[T]) get(id tcp.ConnID) *T {
	for i := range p.ids {
		if p.ids[i] == id {
			return &p.vals[i]
		}
	}
	p.ids = append(p.ids, id)
	var zero T
	p.vals = append(p.vals, zero)
	return &p.vals[len(p.vals)-1]
}

// prune forgets the subflows that are not in subs once the table holds
// many more entries than subs: subflows come and go during a long
// connection.
func (p *perSubflow[T]) prune(subs []SubflowStatus) {
	if len(p.ids) <= 2*len(subs)+8 {
		return
	}
	k := 0
	for i := range p.ids {
		if slices.ContainsFunc(subs, func(s SubflowStatus) bool { return s.ID == p.ids[i] }) {
			p.ids[k], p.vals[k] = p.ids[i], p.vals[i]
			k++
		}
	}
	clear(p.vals[k:])
	p.ids, p.vals = p.ids[:k], p.vals[:k]
}

// segs is n bytes in whole segments of mss (at least 1 for mss below 1).
func segs(n, mss int) int64 {
	if mss < 1 {
		mss = 1
	}
	return int64(max(n, 0) / mss)
}

// satMul multiplies non-negative numbers, saturating at satMax.
func satMul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > satMax/b {
		return satMax
	}
	return a * b
}

// satMax bounds the byte and time products of the schedulers' estimates:
// far beyond any window, far below overflow.
const satMax = 1 << 60
