package pm

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Client talks to the kernel's MPTCP path manager over the mptcp_pm generic
// netlink family. Its methods are safe for concurrent use; requests are
// serialized on one socket. The in-kernel path manager's commands act on the
// network namespace of the socket; the userspace path manager's commands
// (Announce, Remove, CreateSubflow, DestroySubflow, SetSubflowBackup) act on
// the connection named by its token.
type Client struct {
	mu     sync.Mutex // serializes requests
	conn   *genetlink.Conn
	fam    family
	closed atomic.Bool
}

// NewClient returns a Client using conn, which it owns from then on: Close
// closes it, and so does a failing NewClient. Dial is the usual way to get a
// Client; NewClient serves sockets set up by the caller.
func NewClient(conn *genetlink.Conn) (*Client, error) {
	fam, err := resolveFamily(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Client{conn: conn, fam: fam}, nil
}

// Close closes the client's socket; a request in progress fails.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.conn.Close()
}

// AddEndpoint adds an endpoint to the in-kernel path manager
// (MPTCP_PM_CMD_ADD_ADDR). e.Addr is required; e.ID 0 lets the kernel pick
// the ID.
func (c *Client) AddEndpoint(ctx context.Context, e Endpoint) error {
	b, err := encodeAddEndpoint(e)
	return c.command(ctx, "add endpoint", cmdAddAddr, b, err)
}

// DeleteEndpoint deletes the endpoint with the given ID
// (MPTCP_PM_CMD_DEL_ADDR). ID 0 names the initial subflows' addresses
// (RFC 8684 §3.4.1) and needs addr, which is ignored for other IDs.
func (c *Client) DeleteEndpoint(ctx context.Context, id uint8, addr netip.Addr) error {
	b, err := encodeDelEndpoint(id, addr)
	return c.command(ctx, "delete endpoint", cmdDelAddr, b, err)
}

// GetEndpoint returns the endpoint with the given ID (MPTCP_PM_CMD_GET_ADDR).
func (c *Client) GetEndpoint(ctx context.Context, id uint8) (Endpoint, error) {
	const op = "get endpoint"
	b, err := encodeGetEndpoint(id)
	if err != nil {
		return Endpoint{}, &Error{Op: op, Err: err}
	}
	msgs, err := c.exchange(ctx, cmdGetAddr, netlink.Request, b)
	if err != nil {
		return Endpoint{}, wrapErr(ctx, op, err)
	}
	if len(msgs) != 1 {
		return Endpoint{}, &Error{Op: op, Err: malformed("%d replies, want 1", len(msgs))}
	}
	e, err := decodeEndpointReply(msgs[0].Data)
	if err != nil {
		return Endpoint{}, &Error{Op: op, Err: err}
	}
	return e, nil
}

// Endpoints returns the in-kernel path manager's endpoints
// (MPTCP_PM_CMD_GET_ADDR dump).
func (c *Client) Endpoints(ctx context.Context) ([]Endpoint, error) {
	return c.dumpEndpoints(ctx, "list endpoints", 0, false)
}

// ConnectionEndpoints returns the local addresses a userspace path manager
// announced or used on the connection with the given token
// (MPTCP_PM_CMD_GET_ADDR dump with MPTCP_PM_ATTR_TOKEN; Linux 6.7+).
func (c *Client) ConnectionEndpoints(ctx context.Context, token uint32) ([]Endpoint, error) {
	return c.dumpEndpoints(ctx, "list connection endpoints", token, true)
}

func (c *Client) dumpEndpoints(ctx context.Context, op string, token uint32, hasToken bool) ([]Endpoint, error) {
	b, err := encodeDumpEndpoints(token, hasToken)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	msgs, err := c.exchange(ctx, cmdGetAddr, netlink.Request|netlink.Dump, b)
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	eps := make([]Endpoint, 0, len(msgs))
	for _, m := range msgs {
		e, err := decodeEndpointReply(m.Data)
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		eps = append(eps, e)
	}
	return eps, nil
}

// FlushEndpoints deletes every endpoint of the in-kernel path manager
// (MPTCP_PM_CMD_FLUSH_ADDRS).
func (c *Client) FlushEndpoints(ctx context.Context) error {
	return c.command(ctx, "flush endpoints", cmdFlushAddrs, nil, nil)
}

// Limits returns the in-kernel path manager's limits
// (MPTCP_PM_CMD_GET_LIMITS).
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	const op = "get limits"
	msgs, err := c.exchange(ctx, cmdGetLimits, netlink.Request, nil)
	if err != nil {
		return Limits{}, wrapErr(ctx, op, err)
	}
	if len(msgs) != 1 {
		return Limits{}, &Error{Op: op, Err: malformed("%d replies, want 1", len(msgs))}
	}
	l, err := decodeLimits(msgs[0].Data)
	if err != nil {
		return Limits{}, &Error{Op: op, Err: err}
	}
	return l, nil
}

// SetLimits sets both limits of the in-kernel path manager
// (MPTCP_PM_CMD_SET_LIMITS). The kernel refuses values above 8.
func (c *Client) SetLimits(ctx context.Context, l Limits) error {
	b, err := encodeSetLimits(&l.Subflows, &l.AddAddrAccepted)
	return c.command(ctx, "set limits", cmdSetLimits, b, err)
}

// SetSubflowsLimit sets only the subflows limit.
func (c *Client) SetSubflowsLimit(ctx context.Context, n uint32) error {
	b, err := encodeSetLimits(&n, nil)
	return c.command(ctx, "set limits", cmdSetLimits, b, err)
}

// SetAddAddrAcceptedLimit sets only the add_addr_accepted limit.
func (c *Client) SetAddAddrAcceptedLimit(ctx context.Context, n uint32) error {
	b, err := encodeSetLimits(nil, &n)
	return c.command(ctx, "set limits", cmdSetLimits, b, err)
}

// SetFlags sets the changeable flags (FlagBackup and FlagFullmesh) of an
// in-kernel endpoint, chosen by id, or by addr when id is 0
// (MPTCP_PM_CMD_SET_FLAGS). Both flags take the value they have in flags:
// a flag left out is cleared. Changing FlagBackup sends MP_PRIO
// (RFC 8684 §3.3.8) on the subflows using the endpoint.
func (c *Client) SetFlags(ctx context.Context, id uint8, addr netip.AddrPort, flags EndpointFlags) error {
	b, err := encodeSetFlags(id, addr, flags)
	return c.command(ctx, "change endpoint", cmdSetFlags, b, err)
}

// SetSubflowBackup sets or clears the backup priority of one subflow of the
// connection with the given token, chosen by its local and remote addresses
// (ports optional), sending MP_PRIO (RFC 8684 §3.3.8) to the peer
// (MPTCP_PM_CMD_SET_FLAGS with a token; userspace path manager).
func (c *Client) SetSubflowBackup(ctx context.Context, token uint32, local, remote netip.AddrPort, backup bool) error {
	b, err := encodeSetSubflowBackup(token, local, remote, backup)
	return c.command(ctx, "set subflow priority", cmdSetFlags, b, err)
}

// Announce announces a local address to the peer of the connection with the
// given token with ADD_ADDR (RFC 8684 §3.4.1) (MPTCP_PM_CMD_ANNOUNCE;
// userspace path manager). e.ID must be nonzero; e.Port is optional. The
// signal flag is added to e.Flags.
func (c *Client) Announce(ctx context.Context, token uint32, e Endpoint) error {
	b, err := encodeAnnounce(token, e)
	return c.command(ctx, "announce address", cmdAnnounce, b, err)
}

// Remove withdraws the local address with the given ID from the connection
// with the given token with REMOVE_ADDR (RFC 8684 §3.4.2), closing the
// subflows using it (MPTCP_PM_CMD_REMOVE; userspace path manager).
func (c *Client) Remove(ctx context.Context, token uint32, id uint8) error {
	b, err := encodeRemove(token, id)
	return c.command(ctx, "remove address", cmdRemove, b, err)
}

// CreateSubflow opens a new subflow with MP_JOIN (RFC 8684 §3.2) on the
// connection with the given token, from local (address required; ID, port,
// FlagBackup and IfIndex optional) to remote (address and port required)
// (MPTCP_PM_CMD_SUBFLOW_CREATE; userspace path manager).
func (c *Client) CreateSubflow(ctx context.Context, token uint32, local Endpoint, remote netip.AddrPort) error {
	b, err := encodeSubflowCreate(token, local, remote)
	return c.command(ctx, "create subflow", cmdSubflowCreate, b, err)
}

// DestroySubflow closes the subflow of the connection with the given token
// that runs between local and remote (addresses and ports required)
// (MPTCP_PM_CMD_SUBFLOW_DESTROY; userspace path manager).
func (c *Client) DestroySubflow(ctx context.Context, token uint32, local, remote netip.AddrPort) error {
	b, err := encodeSubflowDestroy(token, local, remote)
	return c.command(ctx, "destroy subflow", cmdSubflowDestroy, b, err)
}

// command runs a request that has no reply but the acknowledgement.
func (c *Client) command(ctx context.Context, op string, cmd uint8, b []byte, encErr error) error {
	if encErr != nil {
		return &Error{Op: op, Err: encErr}
	}
	_, err := c.exchange(ctx, cmd, netlink.Request|netlink.Acknowledge, b)
	return wrapErr(ctx, op, err)
}

// aLongTimeAgo is a deadline in the past: it makes blocked socket calls
// return at once.
var aLongTimeAgo = time.Unix(1, 0)

// exchange sends one request and returns its replies, without the
// acknowledgement. Replies to earlier requests abandoned through their
// context are recognized by their sequence number and skipped.
func (c *Client) exchange(ctx context.Context, cmd uint8, flags netlink.HeaderFlags, data []byte) ([]genetlink.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	defer c.watch(ctx)()

	req, err := c.conn.Send(genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: FamilyVersion},
		Data:   data,
	}, c.fam.id, flags)
	if err != nil {
		return nil, c.closedErr(err)
	}
	seq := req.Header.Sequence
	for {
		gmsgs, nmsgs, err := c.conn.Receive()
		if err != nil {
			var oerr *netlink.OpError
			if errors.As(err, &oerr) && oerr.Sequence != 0 && oerr.Sequence != seq {
				continue // the error of an abandoned request
			}
			return nil, c.closedErr(err)
		}
		if len(nmsgs) == 0 && flags&netlink.Dump != 0 {
			return nil, nil // an empty dump: only NLMSG_DONE arrived
		}
		var (
			out     []genetlink.Message
			matched bool
		)
		for i, nm := range nmsgs {
			if nm.Header.Sequence != seq {
				continue
			}
			matched = true
			if nm.Header.Type == netlink.Error {
				continue // the acknowledgement
			}
			out = append(out, gmsgs[i])
		}
		if matched {
			return out, nil
		}
	}
}

// closedErr returns ErrClosed for the error of a request interrupted by
// Close, and err otherwise.
func (c *Client) closedErr(err error) error {
	if c.closed.Load() {
		return ErrClosed
	}
	return err
}

// watch makes ctx's deadline and cancellation interrupt blocked socket
// calls. The returned function undoes it. Sockets without deadline support
// (test fakes) are left alone.
func (c *Client) watch(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	dl, hasDeadline := ctx.Deadline()
	if hasDeadline {
		if err := c.conn.SetDeadline(dl); err != nil {
			hasDeadline = false
		}
	}
	done := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = c.conn.SetDeadline(aLongTimeAgo)
	})
	return func() {
		if !stopAfter() {
			<-done
			_ = c.conn.SetDeadline(time.Time{})
		} else if hasDeadline {
			_ = c.conn.SetDeadline(time.Time{})
		}
	}
}
