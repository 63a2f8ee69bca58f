//go:build !linux

package diag

import (
	"fmt"

	"github.com/gomptcp/mptcp/kernel"
)

var errUnsupported = fmt.Errorf("sock_diag: %w", kernel.ErrUnsupported)

// Conn is a NETLINK_SOCK_DIAG socket. It needs Linux.
type Conn struct{}

// Config configures Dial.
type Config struct {
	// NetNS is a file descriptor of the network namespace to query.
	NetNS int
}

// Dial opens a sock_diag netlink socket. It needs Linux.
func Dial(cfg *Config) (*Conn, error) { return nil, errUnsupported }

// Close closes the socket.
func (c *Conn) Close() error { return errUnsupported }

// MPTCPSockets dumps the MPTCP sockets. It needs Linux.
func (c *Conn) MPTCPSockets(states StateSet) ([]Socket, error) { return nil, errUnsupported }

// Subflows dumps the MPTCP subflows. It needs Linux.
func (c *Conn) Subflows() ([]Subflow, error) { return nil, errUnsupported }

// List returns the MPTCP sockets with their subflows. It needs Linux.
func (c *Conn) List(states StateSet) ([]Socket, error) { return nil, errUnsupported }

// List lists MPTCP sockets. It needs Linux.
func List(states StateSet) ([]Socket, error) { return nil, errUnsupported }
