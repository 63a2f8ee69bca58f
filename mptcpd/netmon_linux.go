//go:build linux

package mptcpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// NetMonitor watches the host's interfaces and addresses over route
// netlink: it joins the RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR and
// RTNLGRP_IPV6_IFADDR multicast groups, then dumps the links and addresses
// (RTM_GETLINK, RTM_GETADDR) and delivers them as a NetSnapshot followed by
// the notifications (RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR).
// Joining before dumping loses nothing; notifications that repeat the dump
// are harmless. When the kernel drops notifications (ENOBUFS), the monitor
// dumps again and delivers a new snapshot.
type NetMonitor struct {
	mon, req *netlink.Conn
	log      *slog.Logger
	updates  chan NetUpdate
	done     chan struct{}
	exited   chan struct{}

	stopAfter func() bool
	ctx       context.Context
	closeOnce sync.Once

	mu  sync.Mutex
	err error
}

// MonitorNet starts a NetMonitor that runs until ctx ends or Close is
// called. cfg may be nil; cfg.NetNS watches another network namespace (its
// Groups are ignored). Malformed notifications are logged to log (nil
// discards them) and skipped.
func MonitorNet(ctx context.Context, cfg *netlink.Config, log *slog.Logger) (*NetMonitor, error) {
	var c netlink.Config
	if cfg != nil {
		c = *cfg
	}
	c.Groups = rtmGroups
	mon, err := netlink.Dial(unix.NETLINK_ROUTE, &c)
	if err != nil {
		return nil, fmt.Errorf("opening a route netlink socket: %w", err)
	}
	// Room for bursts (an interface going away takes its addresses along).
	_ = mon.SetReadBuffer(1 << 20)
	c.Groups = 0
	req, err := netlink.Dial(unix.NETLINK_ROUTE, &c)
	if err != nil {
		mon.Close()
		return nil, fmt.Errorf("opening a route netlink socket: %w", err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := &NetMonitor{
		mon:     mon,
		req:     req,
		log:     log,
		updates: make(chan NetUpdate, 64),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
		ctx:     ctx,
	}
	snap, err := m.snapshot()
	if err != nil {
		mon.Close()
		req.Close()
		return nil, err
	}
	m.updates <- snap
	go m.run()
	m.stopAfter = context.AfterFunc(ctx, func() { m.shutdown() })
	return m, nil
}

// Updates returns the channel of updates: a NetSnapshot first. It is
// closed when the monitor stops.
func (m *NetMonitor) Updates() <-chan NetUpdate { return m.updates }

// Err tells why the monitor stopped once Updates is closed: nil after
// Close, the context's error, or the socket error.
func (m *NetMonitor) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Close stops the monitor, closes its sockets and waits for its goroutine.
// It is safe to call more than once.
func (m *NetMonitor) Close() error {
	m.stopAfter()
	m.shutdown()
	return nil
}

func (m *NetMonitor) shutdown() {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		if m.err == nil {
			m.err = m.ctx.Err()
		}
		m.mu.Unlock()
		close(m.done)
		m.mon.Close()
		m.req.Close()
		<-m.exited
	})
}

func (m *NetMonitor) closing() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

func (m *NetMonitor) fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.mu.Unlock()
}

func (m *NetMonitor) run() {
	defer close(m.exited)
	defer close(m.updates)
	for {
		msgs, err := m.mon.Receive()
		if m.closing() {
			return
		}
		if err != nil {
			if !errors.Is(err, syscall.ENOBUFS) {
				m.fail(fmt.Errorf("route netlink: %w", err))
				return
			}
			m.log.Warn("route netlink notifications lost; re-reading interfaces and addresses")
			snap, err := m.snapshot()
			if err != nil {
				if !m.closing() {
					m.fail(err)
				}
				return
			}
			if !m.send(snap) {
				return
			}
			continue
		}
		for _, msg := range msgs {
			u, err := ParseRouteMessage(uint16(msg.Header.Type), msg.Data)
			if err != nil {
				if !IsOtherFamily(err) {
					m.log.Warn("skipping route netlink message", "type", uint16(msg.Header.Type), "err", err)
				}
				continue
			}
			if !m.send(u) {
				return
			}
		}
	}
}

func (m *NetMonitor) send(u NetUpdate) bool {
	select {
	case m.updates <- u:
		return true
	case <-m.done:
		return false
	}
}

// snapshot dumps the links and addresses.
func (m *NetMonitor) snapshot() (NetUpdate, error) {
	snap := NetUpdate{Kind: NetSnapshot}
	links, err := m.dump(rtmGetLink, make([]byte, ifInfoMsgLen))
	if err != nil {
		return NetUpdate{}, fmt.Errorf("listing interfaces: %w", err)
	}
	for _, u := range links {
		if u.Kind == LinkChanged {
			snap.Links = append(snap.Links, u.Link)
		}
	}
	addrs, err := m.dump(rtmGetAddr, make([]byte, ifAddrMsgLen))
	if err != nil {
		return NetUpdate{}, fmt.Errorf("listing addresses: %w", err)
	}
	for _, u := range addrs {
		if u.Kind == AddrAdded {
			snap.Addrs = append(snap.Addrs, u.Addr)
		}
	}
	return snap, nil
}

// dump runs one dump request (the zeroed header asks for every family)
// and decodes the replies.
func (m *NetMonitor) dump(typ uint16, hdr []byte) ([]NetUpdate, error) {
	msgs, err := m.req.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | netlink.Dump},
		Data:   hdr,
	})
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("%w (missing privileges)", err)
		}
		return nil, err
	}
	out := make([]NetUpdate, 0, len(msgs))
	for _, msg := range msgs {
		u, err := ParseRouteMessage(uint16(msg.Header.Type), msg.Data)
		if err != nil {
			if IsOtherFamily(err) {
				continue
			}
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
