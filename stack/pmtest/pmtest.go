package pmtest

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// FirstPort is the local port of the first subflow Controller.AddSubflow
// opens; each next one takes the next port.
const FirstPort = 40001

// Controller is a fake stack.TimerController. Subflows open at once
// (AddSubflow adds them to Live); the test reports what happens to them
// with the events it passes to the path manager (Closed, Established). It
// is not safe for concurrent use.
type Controller struct {
	// Base is the time Log entries of SetTimer are relative to.
	Base time.Time
	// Tok and Server are what Token and ServerSide return.
	Tok    uint32
	Server bool
	// Initial is the MP_CAPABLE subflow.
	Initial tcp.ConnID
	// Addrs are the stack's addresses (LocalAddrs, IsLocal).
	Addrs []netip.Prefix
	// AddErr, if set, gives the error of an AddSubflow from local (zero
	// address: the route's) to remote; nil lets the subflow open.
	AddErr func(local netip.Addr, remote netip.AddrPort) error
	// MaxSubflows bounds the live subflows, the initial one included
	// (0: 8), as meta.Config.MaxSubflows: AddSubflow then fails with
	// meta.ErrTooManySubflows.
	MaxSubflows int

	// Live are the live subflows, the initial one first.
	Live []tcp.ConnID
	// Timer is the time SetTimer asked for (zero: none).
	Timer time.Time
	// Log records every call that acts, one line each:
	//	add LOCAL > REMOTE[ backup]             (opened; LOCAL with its port)
	//	add LOCAL > REMOTE[ backup]: ERROR      (refused; LOCAL as given, * for the route's)
	//	close LOCAL > REMOTE reason N
	//	announce ADDR id N
	//	remove id N
	//	backup LOCAL > REMOTE BOOL
	//	timer +DURATION | timer off             (relative to Base)
	Log []string

	state    any
	nextPort uint16
	localIDs []netip.Addr // index: address ID
	subIDs   map[tcp.ConnID]uint8
}

var _ stack.TimerController = (*Controller)(nil)

// New returns a Controller for a connection whose initial subflow is
// initial, on a stack with addresses addrs, at base.
func New(base time.Time, initial tcp.ConnID, addrs ...netip.Prefix) *Controller {
	return &Controller{Base: base, Tok: 0x1234, Initial: initial, Addrs: addrs, Live: []tcp.ConnID{initial},
		nextPort: FirstPort, localIDs: []netip.Addr{initial.Local.Addr()}, subIDs: map[tcp.ConnID]uint8{}}
}

// Take returns the Log and empties it.
func (c *Controller) Take() []string {
	l := c.Log
	c.Log = nil
	return l
}

// Established returns the PMEventSubflowEstablished of live subflow id at
// now.
func (c *Controller) Established(now time.Time, id tcp.ConnID) stack.PMEvent {
	return stack.PMEvent{Type: stack.PMEventSubflowEstablished, Time: now, Token: c.Tok, Local: id.Local, Remote: id.Remote,
		LocalID: c.subIDs[id]}
}

// Closed takes subflow id out of Live and returns its
// PMEventSubflowClosed at now with err.
func (c *Controller) Closed(now time.Time, id tcp.ConnID, err error) stack.PMEvent {
	c.Live = slices.DeleteFunc(c.Live, func(x tcp.ConnID) bool { return x == id })
	return stack.PMEvent{Type: stack.PMEventSubflowClosed, Time: now, Token: c.Tok, Local: id.Local, Remote: id.Remote,
		LocalID: c.subIDs[id], Err: err}
}

// Sub returns the live subflow from local address l to remote address r
// (any ports), or false.
func (c *Controller) Sub(l netip.Addr, r netip.Addr) (tcp.ConnID, bool) {
	for _, id := range c.Live {
		if id.Local.Addr() == l && id.Remote.Addr() == r {
			return id, true
		}
	}
	return tcp.ConnID{}, false
}

// Token implements stack.Controller.
func (c *Controller) Token() uint32 { return c.Tok }

// ServerSide implements stack.Controller.
func (c *Controller) ServerSide() bool { return c.Server }

// InitialSubflow implements stack.Controller.
func (c *Controller) InitialSubflow() tcp.ConnID { return c.Initial }

// Fallback implements stack.Controller: never.
func (c *Controller) Fallback() bool { return false }

// Info implements stack.Controller: the live subflows with their address
// IDs.
func (c *Controller) Info() meta.Info {
	in := meta.Info{Token: c.Tok, SubflowsTotal: len(c.Live), Subflows: len(c.Live) - 1}
	for _, id := range c.Live {
		in.Subflow = append(in.Subflow, meta.SubflowInfo{ID: id, LocalID: c.subIDs[id], Initial: id == c.Initial, Join: id != c.Initial})
	}
	return in
}

// Subflows implements stack.Controller.
func (c *Controller) Subflows() []tcp.ConnID { return slices.Clone(c.Live) }

// AddSubflow implements stack.Controller.
func (c *Controller) AddSubflow(_ time.Time, local, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	from := "*"
	if local.Addr().IsValid() {
		from = local.Addr().String()
	}
	line := fmt.Sprintf("add %s > %v", from, remote)
	if backup {
		line += " backup"
	}
	err := c.addErr(local.Addr(), remote)
	if err != nil {
		c.Log = append(c.Log, line+": "+err.Error())
		return tcp.ConnID{}, err
	}
	l := local.Addr()
	if !l.IsValid() {
		l = c.route(remote.Addr())
	}
	id := tcp.ConnID{Local: netip.AddrPortFrom(l, c.nextPort), Remote: remote}
	c.nextPort++
	c.Live = append(c.Live, id)
	c.subIDs[id] = c.localID(l)
	line = fmt.Sprintf("add %v > %v", id.Local, remote)
	if backup {
		line += " backup"
	}
	c.Log = append(c.Log, line)
	return id, nil
}

func (c *Controller) addErr(local netip.Addr, remote netip.AddrPort) error {
	switch {
	case local.IsValid() && !c.IsLocal(local):
		return stack.ErrAddrNotLocal
	case len(c.Live) >= c.maxSubflows():
		return meta.ErrTooManySubflows
	case c.AddErr != nil:
		return c.AddErr(local, remote)
	case !local.IsValid() && !c.route(remote.Addr()).IsValid():
		return stack.ErrNoAddress
	}
	return nil
}

func (c *Controller) maxSubflows() int {
	if c.MaxSubflows <= 0 {
		return 8
	}
	return c.MaxSubflows
}

// route picks the first address of r's family.
func (c *Controller) route(r netip.Addr) netip.Addr {
	for _, p := range c.Addrs {
		if p.Addr().Is4() == r.Is4() {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

func (c *Controller) localID(a netip.Addr) uint8 {
	if i := slices.Index(c.localIDs, a); i >= 0 {
		return uint8(i)
	}
	c.localIDs = append(c.localIDs, a)
	return uint8(len(c.localIDs) - 1)
}

// CloseSubflow implements stack.Controller: the subflow leaves Live (the
// test passes its PMEventSubflowClosed, with Requested, if it wants).
func (c *Controller) CloseSubflow(_ time.Time, id tcp.ConnID, reason wire.TCPRSTReason) error {
	if !slices.Contains(c.Live, id) {
		return meta.ErrNoSubflow
	}
	c.Live = slices.DeleteFunc(c.Live, func(x tcp.ConnID) bool { return x == id })
	c.Log = append(c.Log, fmt.Sprintf("close %v > %v reason %d", id.Local, id.Remote, reason))
	return nil
}

// Announce implements stack.Controller.
func (c *Controller) Announce(_ time.Time, addr netip.AddrPort) (uint8, error) {
	id := c.localID(addr.Addr())
	c.Log = append(c.Log, fmt.Sprintf("announce %v id %d", addr, id))
	return id, nil
}

// RemoveAddr implements stack.Controller: the subflows from that address
// leave Live, as the engine resets them.
func (c *Controller) RemoveAddr(_ time.Time, id uint8) error {
	if int(id) >= len(c.localIDs) {
		return meta.ErrUnknownAddrID
	}
	c.Live = slices.DeleteFunc(c.Live, func(x tcp.ConnID) bool { return c.subIDs[x] == id && x != c.Initial })
	c.Log = append(c.Log, fmt.Sprintf("remove id %d", id))
	return nil
}

// SetBackup implements stack.Controller.
func (c *Controller) SetBackup(_ time.Time, id tcp.ConnID, backup bool) error {
	if !slices.Contains(c.Live, id) {
		return meta.ErrNoSubflow
	}
	c.Log = append(c.Log, fmt.Sprintf("backup %v > %v %t", id.Local, id.Remote, backup))
	return nil
}

// LocalAddrs implements stack.Controller.
func (c *Controller) LocalAddrs() []netip.Prefix { return slices.Clone(c.Addrs) }

// IsLocal implements stack.Controller.
func (c *Controller) IsLocal(a netip.Addr) bool {
	return slices.ContainsFunc(c.Addrs, func(p netip.Prefix) bool { return p.Addr() == a })
}

// State implements stack.Controller.
func (c *Controller) State() any { return c.state }

// SetState implements stack.Controller.
func (c *Controller) SetState(v any) { c.state = v }

// SetTimer implements stack.TimerController.
func (c *Controller) SetTimer(at time.Time) {
	c.Timer = at
	if at.IsZero() {
		c.Log = append(c.Log, "timer off")
		return
	}
	c.Log = append(c.Log, fmt.Sprintf("timer +%v", at.Sub(c.Base)))
}

// RemoveAddrs takes the addresses a out of Addrs (as when they leave
// their NICs).
func (c *Controller) RemoveAddrs(a ...netip.Addr) {
	c.Addrs = slices.DeleteFunc(c.Addrs, func(p netip.Prefix) bool { return slices.Contains(a, p.Addr()) })
}

// AddAddrs puts prefixes p in Addrs.
func (c *Controller) AddAddrs(p ...netip.Prefix) { c.Addrs = append(c.Addrs, p...) }
