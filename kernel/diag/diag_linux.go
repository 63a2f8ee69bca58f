//go:build linux

package diag

import (
	"errors"
	"fmt"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Conn is a NETLINK_SOCK_DIAG socket.
type Conn struct {
	c *netlink.Conn
}

// Config configures Dial.
type Config struct {
	// NetNS, if not zero, is a file descriptor of the network namespace to
	// query (an open /run/netns/NAME). By default the socket belongs to
	// the calling thread's namespace.
	NetNS int
}

// Dial opens a sock_diag netlink socket.
func Dial(cfg *Config) (*Conn, error) {
	var nc netlink.Config
	if cfg != nil {
		nc.NetNS = cfg.NetNS
	}
	c, err := netlink.Dial(kernel.NETLINK_SOCK_DIAG, &nc)
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	return &Conn{c: c}, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return c.c.Close() }

// dump runs one SOCK_DIAG_BY_FAMILY dump and returns the reply payloads.
func (c *Conn) dump(r Request) ([]netlink.Message, error) {
	msgs, err := c.c.Execute(netlink.Message{
		Header: netlink.Header{Type: kernel.SOCK_DIAG_BY_FAMILY, Flags: netlink.Request | netlink.Dump},
		Data:   AppendRequest(nil, r),
	})
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Header.Type != kernel.SOCK_DIAG_BY_FAMILY {
			return nil, fmt.Errorf("%w: reply of type %d, want SOCK_DIAG_BY_FAMILY", ErrMalformed, m.Header.Type)
		}
	}
	return msgs, nil
}

var families = [...]uint8{AFInet, AFInet6}

const extInfo = 1 << (kernel.INET_DIAG_INFO - 1)

// MPTCPSockets dumps the MPTCP sockets (IPv4 and IPv6) in the given
// states, with their mptcp_info and without subflows.
func (c *Conn) MPTCPSockets(states StateSet) ([]Socket, error) {
	var out []Socket
	for _, fam := range families {
		msgs, err := c.dump(Request{Family: fam, Protocol: kernel.IPPROTO_MPTCP, Ext: extInfo, States: uint32(states)})
		if err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPROTONOSUPPORT) {
				return nil, fmt.Errorf("inet_diag for MPTCP sockets: %w (%w)", kernel.ErrNoMPTCP, err)
			}
			return nil, fmt.Errorf("inet_diag for MPTCP sockets: %w", err)
		}
		for _, m := range msgs {
			s, err := DecodeMPTCPMessage(m.Data)
			if err != nil {
				return nil, fmt.Errorf("inet_diag for MPTCP sockets: %w", err)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Subflows dumps the TCP sockets (IPv4 and IPv6, every state) whose ULP is
// "mptcp", with their tcp_info and MPTCP subflow state.
func (c *Conn) Subflows() ([]Subflow, error) {
	var out []Subflow
	for _, fam := range families {
		msgs, err := c.dump(Request{Family: fam, Protocol: unix.IPPROTO_TCP,
			Ext: extInfo | 1<<(kernel.INET_DIAG_CONG-1), States: uint32(AllStates)})
		if err != nil {
			return nil, fmt.Errorf("inet_diag for TCP sockets: %w", err)
		}
		for _, m := range msgs {
			s, err := DecodeTCPMessage(m.Data)
			if err != nil {
				return nil, fmt.Errorf("inet_diag for TCP sockets: %w", err)
			}
			if s.ULP == "mptcp" {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// List returns the MPTCP sockets in the given states with their subflows
// (see Group).
func (c *Conn) List(states StateSet) ([]Socket, error) {
	socks, err := c.MPTCPSockets(states)
	if err != nil {
		return nil, err
	}
	subflows, err := c.Subflows()
	if err != nil {
		return nil, err
	}
	return Group(socks, subflows), nil
}

// List opens a sock_diag socket in the calling thread's network namespace,
// lists the MPTCP sockets in the given states with their subflows, and
// closes it.
func List(states StateSet) ([]Socket, error) {
	c, err := Dial(nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.List(states)
}
