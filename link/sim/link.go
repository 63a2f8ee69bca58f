package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
)

// DefaultMTU is the MTU of a link direction whose impair.Config has none.
const DefaultMTU = 1500

// LinkConfig configures the two directions of a link.
type LinkConfig struct {
	AB impair.Config // from the first interface given to Connect to the second
	BA impair.Config // back
}

// Symmetric returns a LinkConfig with c in both directions.
func Symmetric(c impair.Config) LinkConfig { return LinkConfig{AB: c, BA: c} }

// ErrConnect is wrapped by the errors of Connect.
var ErrConnect = errors.New("sim: cannot connect")

// Link is a point-to-point link between two interfaces.
type Link struct {
	net    *Network
	index  int
	a, b   *Interface
	ab, ba *Dir
	up     bool
}

// Connect joins interfaces a and b with a link that is up. An MTU of zero
// in a direction's configuration means DefaultMTU. Each direction's random
// streams are seeded from the Network's seed, the link's position among the
// Network's links, the direction, and the direction's Config.Seed.
func (n *Network) Connect(a, b *Interface, cfg LinkConfig) (*Link, error) {
	switch {
	case a == nil || b == nil:
		return nil, fmt.Errorf("%w: nil interface", ErrConnect)
	case a == b:
		return nil, fmt.Errorf("%w: %v to itself", ErrConnect, a)
	case a.net != n || b.net != n:
		return nil, fmt.Errorf("%w: interface of another network", ErrConnect)
	case a.out != nil:
		return nil, fmt.Errorf("%w: %v is already connected", ErrConnect, a)
	case b.out != nil:
		return nil, fmt.Errorf("%w: %v is already connected", ErrConnect, b)
	}
	l := &Link{net: n, index: len(n.links), a: a, b: b, up: true}
	var err error
	if l.ab, err = newDir(l, a, b, cfg.AB, 0); err != nil {
		return nil, fmt.Errorf("%w: AB: %w", ErrConnect, err)
	}
	if l.ba, err = newDir(l, b, a, cfg.BA, 1); err != nil {
		return nil, fmt.Errorf("%w: BA: %w", ErrConnect, err)
	}
	a.out, b.out = l.ab, l.ba
	n.links = append(n.links, l)
	return l, nil
}

// A returns the first interface given to Connect.
func (l *Link) A() *Interface { return l.a }

// B returns the second interface given to Connect.
func (l *Link) B() *Interface { return l.b }

// AB returns the direction from A to B.
func (l *Link) AB() *Dir { return l.ab }

// BA returns the direction from B to A.
func (l *Link) BA() *Dir { return l.ba }

// Up reports whether the link is up.
func (l *Link) Up() bool { return l.up }

// SetUp takes the link down or brings it up at the current virtual time.
// Going down loses the packets queued and propagating in both directions.
// Nodes of hosts at either end get a link.EventDown or link.EventUp event,
// in an event of its own at the current time.
func (l *Link) SetUp(up bool) {
	if l.up == up {
		return
	}
	l.up = up
	now := l.net.Now()
	kind := link.EventDown
	if up {
		kind = link.EventUp
	}
	for _, d := range []*Dir{l.ab, l.ba} {
		d.imp.SetUp(now, up)
		d.reschedule()
		d.from.notify(link.Event{Kind: kind})
	}
}

// Dir is one direction of a link: the packets sent by one interface to the
// other. Middleware added with AddIngress sees packets as they enter,
// before the queue; middleware added with AddEgress sees them as they
// arrive at the far interface.
type Dir struct {
	// The fields used for every packet come first, together.
	net   *Network
	imp   *impair.Impairer
	to    *Interface
	timer event
	// origin is the virtual time, in nanoseconds since the start, that
	// is the impairer's time origin (impair.NewAt).
	origin int64

	// Checksums are verified once. The direction vouches for the
	// checksums of the packets it delivers, and the receiving host skips
	// verifying them, while every packet that entered since it was last
	// empty had its checksums computed by the simulator (SendOffload)
	// and nothing could have changed a byte on the way.
	unknown   int  // packets that entered, since the direction was last empty, with checksums not known to be right
	mayChange bool // middleware, or corruption configured since the direction was last empty
	corrupt   bool // the configuration corrupts packets

	// plain says that the direction has no middleware: the impairer
	// alone is its chain, driven through its methods that take virtual
	// time in nanoseconds.
	plain   bool
	busy    bool     // Poll in progress
	backlog [][]byte // packets that entered during Poll

	link    *Link
	from    *Interface
	mtu     int
	ingress []link.Middleware
	egress  []link.Middleware
	chain   link.Middleware
}

func newDir(l *Link, from, to *Interface, cfg impair.Config, dir uint64) (*Dir, error) {
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	cfg.Seed = mixSeed(l.net.seed, uint64(l.index), dir, cfg.Seed)
	imp, err := impair.NewAt(cfg, l.net.Now())
	if err != nil {
		return nil, err
	}
	d := &Dir{net: l.net, link: l, from: from, to: to, imp: imp, origin: l.net.now, mtu: cfg.MTU, corrupt: cfg.Corrupt > 0}
	d.mayChange = d.corrupt
	d.timer.index = -1
	d.timer.dir = d
	d.rebuild()
	return d, nil
}

// mixSeed derives a direction's seed.
func mixSeed(vals ...uint64) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, v := range vals {
		h = splitmix(h ^ v)
	}
	return h
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// From returns the sending interface.
func (d *Dir) From() *Interface { return d.from }

// To returns the receiving interface.
func (d *Dir) To() *Interface { return d.to }

// Link returns the link the direction belongs to.
func (d *Dir) Link() *Link { return d.link }

// Stats returns the direction's counters.
func (d *Dir) Stats() impair.Stats { return d.imp.Stats() }

// Config returns the direction's current configuration.
func (d *Dir) Config() impair.Config { return d.imp.Config() }

// Configure changes the direction's configuration at the current virtual
// time (see impair.Impairer.SetConfig). An MTU of zero means DefaultMTU.
// Schedule it with Network.At to change a link at a given time.
func (d *Dir) Configure(cfg impair.Config) error {
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if err := d.imp.SetConfig(d.net.Now(), cfg); err != nil {
		return err
	}
	d.mtu = cfg.MTU
	d.corrupt = cfg.Corrupt > 0
	d.mayChange = d.mayChange || d.corrupt
	d.reschedule()
	return nil
}

// AddIngress appends m to the middleware that sees packets entering the
// direction.
func (d *Dir) AddIngress(m link.Middleware) {
	d.ingress = append(d.ingress, m)
	d.rebuild()
}

// AddEgress appends m to the middleware that sees packets arriving at the
// far interface.
func (d *Dir) AddEgress(m link.Middleware) {
	d.egress = append(d.egress, m)
	d.rebuild()
}

func (d *Dir) rebuild() {
	d.mayChange = d.mayChange || len(d.ingress) > 0 || len(d.egress) > 0
	d.plain = len(d.ingress) == 0 && len(d.egress) == 0
	if d.plain {
		d.chain = d.imp // a chain of one stage adds only indirection
	} else {
		d.chain = link.Chain(slices.Concat(d.ingress, []link.Middleware{d.imp}, d.egress)...)
	}
	d.reschedule()
}

// input feeds a packet into the direction at the current time; known
// says its checksums are known to be right.
func (d *Dir) input(pkt []byte, known bool) {
	if !known {
		d.unknown++
	}
	if d.busy {
		d.backlog = append(d.backlog, append([]byte(nil), pkt...))
		return
	}
	d.process(pkt)
	d.reschedule()
}

// process offers a packet to the chain at the current time.
func (d *Dir) process(pkt []byte) {
	if d.plain {
		d.imp.ProcessAt(time.Duration(d.net.now-d.origin), pkt)
		return
	}
	d.chain.Process(d.net.Now(), pkt, d)
}

// Emit delivers a packet that left the direction to the far interface.
func (d *Dir) Emit(pkt []byte) { d.to.receive(pkt, d.vouches()) }

// vouches reports whether the checksums of every packet the direction
// delivers now are known to be right: see Dir.unknown.
func (d *Dir) vouches() bool { return d.unknown == 0 && !d.mayChange }

func (d *Dir) fire() {
	d.busy = true
	if d.plain {
		d.imp.PollAt(time.Duration(d.net.now-d.origin), d)
	} else {
		d.chain.Poll(d.net.Now(), d)
	}
	d.busy = false
	if len(d.backlog) > 0 {
		for len(d.backlog) > 0 {
			pkt := d.backlog[0]
			d.backlog = d.backlog[1:]
			d.process(pkt)
		}
		d.backlog = nil
	}
	d.reschedule()
}

// reschedule puts the direction's event at its chain's deadline.
func (d *Dir) reschedule() {
	var at int64
	if d.plain {
		t, ok := d.imp.NextAt()
		if !ok {
			d.idle()
			return
		}
		// Saturating, as offset is.
		at = d.origin + int64(t)
		if t > 0 && at < d.origin {
			at = math.MaxInt64
		}
	} else {
		dl := d.chain.Deadline()
		if dl.IsZero() {
			d.idle()
			return
		}
		at = d.net.offset(dl)
	}
	at = max(at, d.net.now)
	if d.net.pendingAt(&d.timer, at) {
		return
	}
	d.net.schedule(&d.timer, at)
}

// idle cancels the direction's event: it is empty, and whatever entered
// before has left.
func (d *Dir) idle() {
	d.unknown = 0
	d.mayChange = d.corrupt || len(d.ingress) > 0 || len(d.egress) > 0
	d.net.cancel(&d.timer)
}
