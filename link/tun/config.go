package tun

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
)

// Limits of a device's MTU, in bytes.
const (
	// MinMTU is the smallest MTU: the minimum every IPv4 host must accept
	// (RFC 791 §3.2).
	MinMTU = 68
	// MinMTUIPv6 is the smallest MTU of a link that carries IPv6
	// (RFC 8200 §5).
	MinMTUIPv6 = 1280
	// MaxMTU is the largest MTU: an IPv4 packet's Total Length field has 16
	// bits (RFC 791 §3.1).
	MaxMTU = 65535
	// DefaultMTU is the MTU of a device created with DeviceConfig.MTU zero.
	DefaultMTU = 1500
)

// maxNameLen is the longest interface name Linux accepts (IFNAMSIZ-1).
const maxNameLen = 15

// DefaultBatches is the number of read batches a device may have waiting
// for the event loop when Config.Batches is zero.
const DefaultBatches = 4

// Errors of this package. Errors returned by Open and by the Stack and NIC
// methods wrap one of them where one applies.
var (
	// ErrConfig: the Config is invalid.
	ErrConfig = errors.New("tun: invalid config")
	// ErrNoDevice: DeviceConfig.Attach names a device that does not exist.
	ErrNoDevice = errors.New("tun: no such device")
	// ErrExists: a device to be created has the name of an existing one.
	ErrExists = errors.New("tun: device exists")
	// ErrClosed: the Stack is closed.
	ErrClosed = errors.New("tun: stack closed")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("tun: stack already started")
	// ErrTooBig: NIC.Send was given a packet larger than the NIC's MTU.
	ErrTooBig = errors.New("tun: packet larger than the MTU")
	// ErrEmpty: NIC.Send was given an empty packet.
	ErrEmpty = errors.New("tun: empty packet")
	// ErrMalformed: NIC.SendGSO was given a packet that is not an IPv4 or
	// IPv6 packet with a TCP segment to cut as asked.
	ErrMalformed = errors.New("tun: malformed packet")
	// ErrUnsupported: the platform has no TUN backend (only Linux has).
	ErrUnsupported = errors.New("tun: TUN devices are supported on Linux only")
)

// Config configures a Stack: the TUN devices its Node runs on.
type Config struct {
	// Devices are the Stack's TUN devices, one per path. At least one.
	Devices []DeviceConfig
	// NetNS is the path of a network namespace (such as /run/netns/NAME or
	// /proc/PID/ns/net) in which the devices are created or looked up,
	// configured and watched. Empty means the namespace of the process.
	// The Stack's goroutines stay where they are: a TUN file descriptor
	// works from any namespace.
	NetNS string
	// Clock tells the time passed to the Node and the middleware and runs
	// the event loop's timer. Nil means clock.Real.
	Clock clock.Clock
	// Batches is the number of read batches (up to 128 packets each with
	// offloads, one packet each without) a device may fill before the event
	// loop has handled them. When all are in use its reader stops reading
	// and the kernel queues or drops. Zero means DefaultBatches.
	Batches int
}

// DeviceConfig configures one TUN device and the NIC built on it.
type DeviceConfig struct {
	// Name is the interface name. With Attach it is required; otherwise an
	// empty Name lets the kernel choose one (tun0, tun1, …).
	Name string
	// Attach selects an existing device, such as one made with
	// "ip tuntap add dev NAME mode tun"; Open fails with ErrNoDevice if
	// there is none. Without Attach, Open creates the device, fails with
	// ErrExists if the name is taken, and the device disappears at Close.
	// Close undoes what Open changed on an attached device: it removes the
	// KernelAddrs Open added and restores the MTU and the up/down state.
	Attach bool
	// MTU is set on the device. Zero keeps an attached device's MTU and
	// gives a created one DefaultMTU.
	MTU int
	// Addrs are the Node's own addresses on this link, with their prefix
	// lengths; NIC.Addrs returns them. The Stack accepts a packet for any
	// address of any of its NICs on every NIC (weak host model).
	Addrs []netip.Prefix
	// KernelAddrs are assigned to the device: they are the addresses of the
	// host's own stack at the other end of the link, and give it a route
	// to the prefix. IPv6 ones skip duplicate address detection, and Open
	// adds again those the kernel drops when the link goes down.
	KernelAddrs []netip.Prefix
	// DisableOffloads opens the device without the virtio-net header
	// (IFF_VNET_HDR), and so without TCP/UDP segmentation, coalescing and
	// checksum offloads: every read and write moves one packet.
	DisableOffloads bool
	// CoalesceWrites, with offloads, coalesces the TCP segments (and UDP
	// datagrams) of a batched write into super-packets, as wireguard's tun
	// package does; by default each packet is written on its own, with an
	// empty virtio-net header. Coalescing saves the kernel work per packet
	// but costs this process more than it saves, measured on this stack
	// sending over one device (bench/: 1.3 against 2.8 Gbit/s); reads get
	// the kernel's super-packets either way.
	CoalesceWrites bool
	// DisableTSO, with offloads, has every TCP segment of the Stack's
	// written as a packet of its own. By default, without TxMiddleware,
	// the NIC is a stack.SegmentOffloader: consecutive full-sized
	// segments of a connection, sent in one burst, are written as one
	// super-packet with a virtio-net header asking for TCP segmentation
	// (VIRTIO_NET_HDR_GSO_TCPV4 or _TCPV6), which the kernel takes as one
	// packet (and cuts into segments only where it must, for a device
	// without TSO, say). A TxMiddleware, which must see every packet,
	// turns it off too.
	DisableTSO bool
	// RxMiddleware, if not nil, sees every packet read from the device
	// before the Stack checks it and hands it to the Node. TxMiddleware,
	// if not nil, sees every packet the Node sends on this NIC before it
	// is written to the device. Both run on the Stack's event loop, on the
	// Stack's clock; change their settings with Stack.Do. A Middleware
	// value must serve in one place only.
	RxMiddleware link.Middleware
	TxMiddleware link.Middleware
}

func cfgErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// validate checks c and returns an error wrapping ErrConfig for the first
// problem found.
func (c *Config) validate() error {
	if len(c.Devices) == 0 {
		return cfgErr("no devices")
	}
	if c.Batches < 0 {
		return cfgErr("negative Batches %d", c.Batches)
	}
	names := map[string]int{}
	addrs := map[netip.Addr]string{}
	for i := range c.Devices {
		d := &c.Devices[i]
		where := fmt.Sprintf("device %d", i)
		if d.Name != "" {
			where = fmt.Sprintf("device %d (%s)", i, d.Name)
			if err := checkName(d.Name); err != nil {
				return cfgErr("%s: %v", where, err)
			}
			if j, ok := names[d.Name]; ok {
				return cfgErr("%s: same name as device %d", where, j)
			}
			names[d.Name] = i
		} else if d.Attach {
			return cfgErr("%s: Attach needs a Name", where)
		}
		v6 := false
		for _, set := range []struct {
			name  string
			addrs []netip.Prefix
		}{{"Addrs", d.Addrs}, {"KernelAddrs", d.KernelAddrs}} {
			for _, p := range set.addrs {
				if err := checkPrefix(p); err != nil {
					return cfgErr("%s: %s: %v", where, set.name, err)
				}
				if prev, ok := addrs[p.Addr()]; ok {
					return cfgErr("%s: %s: %v is also in %s", where, set.name, p.Addr(), prev)
				}
				addrs[p.Addr()] = fmt.Sprintf("%s %s", where, set.name)
				v6 = v6 || p.Addr().Is6()
			}
		}
		if d.MTU != 0 {
			if d.MTU < MinMTU || d.MTU > MaxMTU {
				return cfgErr("%s: MTU %d not in [%d, %d]", where, d.MTU, MinMTU, MaxMTU)
			}
			if v6 && d.MTU < MinMTUIPv6 {
				return cfgErr("%s: MTU %d below the IPv6 minimum %d", where, d.MTU, MinMTUIPv6)
			}
		}
	}
	// A Middleware in two places would be called re-entrantly. Values that
	// cannot be compared (a Func, for one) hold no state and may repeat.
	seen := map[link.Middleware]string{}
	for i := range c.Devices {
		for _, m := range []struct {
			where string
			mw    link.Middleware
		}{{"RxMiddleware", c.Devices[i].RxMiddleware}, {"TxMiddleware", c.Devices[i].TxMiddleware}} {
			if m.mw == nil || !reflect.ValueOf(m.mw).Comparable() {
				continue
			}
			where := fmt.Sprintf("device %d %s", i, m.where)
			if prev, ok := seen[m.mw]; ok {
				return cfgErr("%s: the same Middleware as %s", where, prev)
			}
			seen[m.mw] = where
		}
	}
	return nil
}

// checkName checks an interface name as the kernel's dev_valid_name does.
func checkName(name string) error {
	switch {
	case len(name) > maxNameLen:
		return fmt.Errorf("name %q longer than %d bytes", name, maxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("name %q is reserved", name)
	case strings.ContainsAny(name, "/: \t\n\v\f\r\x00"):
		return fmt.Errorf("name %q contains '/', ':', a space or a NUL", name)
	case strings.Contains(name, "%"):
		return fmt.Errorf("name %q contains '%%' (a kernel name template)", name)
	}
	return nil
}

// checkPrefix checks an address with its prefix length.
func checkPrefix(p netip.Prefix) error {
	a := p.Addr()
	switch {
	case !p.IsValid():
		return fmt.Errorf("invalid prefix %v", p)
	case a.Is4In6():
		return fmt.Errorf("%v: IPv4-mapped IPv6 address; use the IPv4 form", p)
	case a.IsUnspecified() || a.IsMulticast():
		return fmt.Errorf("%v: not a unicast address", p)
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%v: broadcast address", p)
	}
	return nil
}
