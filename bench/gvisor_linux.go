package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// gvisorNIC is the NIC id of the gVisor stack's only NIC.
const gvisorNIC = 1

// GVisorTopology is gVisor's netstack on a TUN device of a kernel
// namespace, in the place of the client of a Topology with one path: its
// TCP against the kernel's TCP over the same kind of device, with no
// emulation on the path. gVisor's fdbased endpoint reads and writes one
// packet per system call on a TUN device (its segmentation offloads need a
// socket), so the device is opened without the virtio-net header.
type GVisorTopology struct {
	env *Env
	ns  *Netns
	st  *gstack.Stack
	ep  gstack.LinkEndpoint
	fd  int
}

// NewGVisorTopology builds a GVisorTopology with the device's MTU.
func NewGVisorTopology(mtu int) (g *GVisorTopology, err error) {
	env, err := NewEnv()
	if err != nil {
		return nil, err
	}
	g = &GVisorTopology{env: env, fd: -1}
	defer func() {
		if err != nil {
			err = errors.Join(err, env.Close())
			g = nil
		}
	}()
	if g.ns, err = env.NewNetns(); err != nil {
		return nil, err
	}
	name := env.name("g")
	fd, err := openTUNFD(g.ns, name, false)
	if err != nil {
		return nil, err
	}
	g.fd = fd
	env.onClose(func() error { return unix.Close(fd) })
	if err := configureTUN(g.ns, name, ServerAddr(0), mtu); err != nil {
		return nil, err
	}
	g.st = gstack.New(gstack.Options{
		NetworkProtocols:   []gstack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []gstack.TransportProtocolFactory{tcp.NewProtocol},
	})
	env.onClose(func() error {
		g.st.Close()
		g.st.Wait()
		return nil
	})
	// gVisor's TCP tuned as its users do for throughput: SACK, receive
	// buffer auto-tuning, buffers up to 8 MiB (gomptcp's default is
	// 4 MiB), CUBIC.
	opts := []tcpip.SettableTransportProtocolOption{
		new(tcpip.TCPSACKEnabled), new(tcpip.TCPModerateReceiveBufferOption),
		&tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: 1 << 20, Max: 8 << 20},
		&tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: 1 << 20, Max: 8 << 20},
	}
	*opts[0].(*tcpip.TCPSACKEnabled) = true
	*opts[1].(*tcpip.TCPModerateReceiveBufferOption) = true
	cc := tcpip.CongestionControlOption("cubic")
	opts = append(opts, &cc)
	for _, o := range opts {
		if e := g.st.SetTransportProtocolOption(tcp.ProtocolNumber, o); e != nil {
			return nil, fmt.Errorf("bench: gVisor option %T: %s", o, e)
		}
	}
	ep, err := fdbased.New(&fdbased.Options{FDs: []int{fd}, MTU: uint32(mtu), PacketDispatchMode: fdbased.Readv})
	if err != nil {
		return nil, fmt.Errorf("bench: gVisor fdbased endpoint: %w", err)
	}
	g.ep = ep
	if e := g.st.CreateNIC(gvisorNIC, ep); e != nil {
		return nil, fmt.Errorf("bench: gVisor CreateNIC: %s", e)
	}
	addr := ClientAddr(0).As4()
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddrFrom4(addr).WithPrefix()}
	pa.AddressWithPrefix.PrefixLen = pathPrefix
	if e := g.st.AddProtocolAddress(gvisorNIC, pa, gstack.AddressProperties{}); e != nil {
		return nil, fmt.Errorf("bench: gVisor address: %s", e)
	}
	g.st.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: gvisorNIC}})
	return g, nil
}

// Close removes everything.
func (g *GVisorTopology) Close() error { return g.env.Close() }

// Listen listens with the kernel's TCP on the server's address.
func (g *GVisorTopology) Listen() (net.Listener, error) {
	var ln net.Listener
	err := g.ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(ServerAddr(0), benchPort).String())
		return err
	})
	return ln, err
}

// Dial connects gVisor's TCP to the kernel's listener.
func (g *GVisorTopology) Dial(ctx context.Context) (net.Conn, error) {
	remote := tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4(ServerAddr(0).As4()), Port: benchPort}
	return gonet.DialContextTCP(ctx, g.st, remote, ipv4.ProtocolNumber)
}
