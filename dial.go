package mptcp

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
)

// Dialer opens connections of a Stack, as net.Dialer does.
type Dialer struct {
	// Stack is the Stack to dial from. Required.
	Stack *Stack
	// LocalAddr binds the initial subflow's local address and/or port
	// (zero: chosen by the route, ephemeral).
	LocalAddr netip.AddrPort
	// DisableMPTCP dials plain TCP (as with Config.Disabled).
	DisableMPTCP bool
}

// DialContext connects to address ("192.0.2.1:80", "[2001:db8::1]:443";
// names are not resolved) on network "tcp", "tcp4" or "tcp6". With MPTCP
// it returns a *Conn, otherwise the Stack's plain TCP connection (a
// *socket.Conn). It returns when the handshake completed (as MPTCP, or as
// TCP after a fallback, RFC 8684 §3.7), failed, or ctx ended.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	remote, err := socket.ParseAddr(network, address, false)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	if d.DisableMPTCP || d.Stack.cfg.Disabled {
		c, err := d.Stack.host.DialAddrPort(ctx, remote, &socket.DialOptions{Local: d.LocalAddr, Config: d.Stack.cfg.TCP})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c, err := d.Stack.DialMPTCP(ctx, d.LocalAddr, remote)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Dial is DialContext without a context.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext dials with a Dialer of the Stack.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(ctx, network, address)
}

// DialMPTCP opens an MPTCP connection from local (zero for the route's
// address and an ephemeral port) to remote: the SYN carries MP_CAPABLE
// (RFC 8684 §3.1). The connection may still fall back to plain TCP
// (Conn.Fallback).
func (s *Stack) DialMPTCP(ctx context.Context, local, remote netip.AddrPort) (*Conn, error) {
	if s.isClosed() {
		return nil, opErr("dial", "tcp", local, remote, net.ErrClosed)
	}
	sock, err := s.host.NewConn()
	if err != nil {
		return nil, opErr("dial", "tcp", local, remote, err)
	}
	e := &endpoint{sock: sock}
	xerr := s.do(func(now time.Time, st *stack.Stack) {
		var mc *stack.MPConn
		mc, err = st.DialMPTCP(now, remote, &stack.MPDialOptions{Local: local, OnEvent: e.onEvent})
		if err == nil {
			e.MPConn = mc
			sock.Attach(e, mc.LocalAddr(), mc.RemoteAddr())
		}
	})
	if xerr != nil {
		err = xerr
	}
	if err != nil {
		sock.Discard()
		return nil, opErr("dial", "tcp", local, remote, err)
	}
	if err := sock.WaitEstablished(ctx); err != nil {
		return nil, opErr("dial", "tcp", e.LocalAddr(), remote, err)
	}
	return &Conn{Conn: sock, e: e, s: s}, nil
}
