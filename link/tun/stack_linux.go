package tun

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
)

// Tuning of the event loop.
const (
	// maxBatchesPerRound bounds the read batches the loop handles before it
	// runs timers, queued calls and link changes and flushes what the Node
	// sent.
	maxBatchesPerRound = 8
	// maxEventRounds bounds how often one round delivers link events that
	// the delivery of link events queued; the rest wait for the next round.
	maxEventRounds = 16
)

// Stack runs a link.Node on one or more TUN devices: one event-loop
// goroutine owns the Node and calls it as package link describes, one
// reader goroutine per device hands it batches of packets, and a monitor
// goroutine watches the devices' links over rtnetlink.
type Stack struct {
	clk  clock.Clock
	nics []*NIC
	ctl  *netlink.Conn // requests: Open, the monitor, Close
	mon  *netlink.Conn // link notifications (RTMGRP_LINK)
	node link.Node     // set by Start

	mu       sync.Mutex
	started  bool
	closed   bool
	calls    []func(time.Time) // queued by Do
	bgErr    error             // a background goroutine's failure
	closeErr error

	rx         chan *batch   // filled read batches, to the loop
	wake       chan struct{} // capacity 1: calls, link changes or a deadline wait
	done       chan struct{} // closed by Close
	loopDone   chan struct{} // closed when the loop has exited
	closedDone chan struct{} // closed when Close has finished
	wg         sync.WaitGroup
	linkDirty  atomic.Bool // some NIC's kernel state changed

	// Owned by the loop goroutine.
	now     time.Time
	timer   clock.Timer
	addrs   []netip.Addr // the addresses of all NICs (weak host model)
	events  []nicEvent   // link events waiting for delivery
	evBuf   []nicEvent
	callBuf []func(time.Time)
}

type nicEvent struct {
	nic *NIC
	ev  link.Event
}

// Open creates or attaches to the devices of cfg, sets their MTU, assigns
// their KernelAddrs and brings them up, and starts watching their links.
// Nothing is read from them until Start. If Open fails it undoes what it
// did.
func Open(cfg Config) (*Stack, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Stack{
		clk:        cfg.Clock,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		loopDone:   make(chan struct{}),
		closedDone: make(chan struct{}),
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	batches := cfg.Batches
	if batches == 0 {
		batches = DefaultBatches
	}
	nsfd := -1
	if cfg.NetNS != "" {
		f, err := os.Open(cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("tun: network namespace: %w", err)
		}
		defer f.Close()
		nsfd = int(f.Fd())
	}
	var err error
	nlcfg := &netlink.Config{NetNS: max(nsfd, 0)}
	if s.ctl, err = netlink.Dial(unix.NETLINK_ROUTE, nlcfg); err != nil {
		return nil, fmt.Errorf("tun: rtnetlink: %w", err)
	}
	// Subscribe before configuring, so that no change is missed.
	nlcfg.Groups = unix.RTMGRP_LINK | unix.RTMGRP_IPV6_IFADDR | unix.RTMGRP_IPV6_ROUTE
	if s.mon, err = netlink.Dial(unix.NETLINK_ROUTE, nlcfg); err != nil {
		s.ctl.Close()
		return nil, fmt.Errorf("tun: rtnetlink: %w", err)
	}
	for i := range cfg.Devices {
		n, err := s.openNIC(nsfd, i+1, &cfg.Devices[i], batches)
		if err != nil {
			s.teardown()
			return nil, err
		}
		s.nics = append(s.nics, n)
	}
	if err := s.waitIPv6Ready(); err != nil {
		s.teardown()
		return nil, err
	}
	total := 0
	for _, n := range s.nics {
		total += cap(n.free)
	}
	s.rx = make(chan *batch, total)
	s.rebuildAddrs()
	s.wg.Add(1)
	go s.monitor()
	return s, nil
}

// openNIC opens and configures one device.
func (s *Stack) openNIC(nsfd, index int, dc *DeviceConfig, batches int) (*NIC, error) {
	if dc.Name != "" {
		_, err := linkByName(s.ctl, dc.Name)
		switch {
		case dc.Attach && err != nil:
			return nil, err
		case !dc.Attach && err == nil:
			return nil, fmt.Errorf("%w: %s", ErrExists, dc.Name)
		case !dc.Attach && !errors.Is(err, ErrNoDevice):
			return nil, err
		}
	}
	dev, name, err := openTUN(nsfd, dc.Name, !dc.DisableOffloads)
	if err != nil {
		return nil, err
	}
	n := &NIC{
		s:           s,
		dev:         dev,
		name:        name,
		index:       index,
		attached:    dc.Attach,
		offload:     !dc.DisableOffloads,
		coalesce:    dc.CoalesceWrites,
		tso:         !dc.DisableOffloads && !dc.DisableTSO && dc.TxMiddleware == nil,
		file:        dev.File(),
		kernelAddrs: slices.Clone(dc.KernelAddrs),
		rxmw:        dc.RxMiddleware,
		txmw:        dc.TxMiddleware,
	}
	n.rxOut.n, n.txOut.n = n, n
	if n.tso {
		if n.raw, err = n.file.SyscallConn(); err != nil {
			n.raw = nil // no super-packets
		}
	}
	addrs := slices.Clone(dc.Addrs)
	n.addrs.Store(&addrs)
	fail := func(err error) (*NIC, error) {
		n.release()
		return nil, err
	}
	li, err := linkByName(s.ctl, name)
	if err != nil {
		return fail(err)
	}
	n.ifindex = li.index
	n.origUp, n.origMTU = li.flags&unix.IFF_UP != 0, li.mtu
	mtu := dc.MTU
	if mtu == 0 && !dc.Attach {
		mtu = DefaultMTU
	}
	if mtu == li.mtu {
		mtu = 0
	}
	if err := setLink(s.ctl, n.ifindex, true, mtu); err != nil {
		return fail(err)
	}
	n.configured = true
	for _, p := range dc.KernelAddrs {
		added, err := addAddr(s.ctl, n.ifindex, p)
		if err != nil {
			return fail(err)
		}
		if added {
			n.added = append(n.added, p)
		}
	}
	if li, err = linkByIndex(s.ctl, n.ifindex); err != nil {
		return fail(err)
	}
	n.maxMTU = li.mtu
	if n.maxMTU < MinMTU || n.maxMTU > MaxMTU {
		return fail(fmt.Errorf("tun: %s has MTU %d, outside [%d, %d]", name, li.mtu, MinMTU, MaxMTU))
	}
	n.mtu.Store(int32(n.maxMTU))
	n.kMTU.Store(int32(n.maxMTU))
	n.up.Store(li.up())
	n.kUp.Store(li.up())
	n.loopUp, n.monUp = li.up(), li.up()
	n.allocBuffers(batches)
	return n, nil
}

// readyTimeout bounds how long Open waits for IPv6 KernelAddrs to become
// usable.
const readyTimeout = 3 * time.Second

// waitIPv6Ready waits until the kernel uses the IPv6 KernelAddrs. A new TUN
// device gets its carrier before it is up, so its RFC 2863 operational
// state is "down" until the kernel's link watcher, which runs at most once
// a second, looks at it again. Until then IPv6 does not consider the link
// ready: new addresses, even without duplicate address detection, get no
// local route, and packets for them are dropped. Open returns once the
// kernel routes every IPv6 KernelAddr to itself, or after readyTimeout,
// when they will work whenever the kernel gets to it.
func (s *Stack) waitIPv6Ready() error {
	var pending []netip.Addr
	for _, n := range s.nics {
		for _, p := range n.kernelAddrs {
			if p.Addr().Is6() {
				pending = append(pending, p.Addr())
			}
		}
	}
	check := func() error {
		keep := pending[:0]
		for _, a := range pending {
			local, err := isLocal(s.ctl, a)
			if err != nil {
				return err
			}
			if !local {
				keep = append(keep, a)
			}
		}
		pending = keep
		return nil
	}
	if len(pending) == 0 {
		return nil
	}
	// The monitor socket has been subscribed to link, address and route
	// changes since before the addresses were added, so none is missed
	// between a check and the next read. Socket deadlines are on the
	// system clock.
	if err := check(); err != nil || len(pending) == 0 {
		return err
	}
	if err := s.mon.SetReadDeadline(time.Now().Add(readyTimeout)); err != nil {
		return fmt.Errorf("tun: rtnetlink: %w", err)
	}
	defer s.mon.SetReadDeadline(time.Time{})
	for len(pending) > 0 {
		_, err := s.mon.Receive()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil && !errors.Is(err, unix.ENOBUFS) {
			return fmt.Errorf("tun: rtnetlink: %w", err)
		}
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// NICs returns the Stack's NICs in the order of Config.Devices. Their
// Index is their position, from 1.
func (s *Stack) NICs() []*NIC { return s.nics }

// Start starts the event loop, which runs node, and the readers. It
// returns ErrStarted if the Stack was started before.
func (s *Stack) Start(node link.Node) error {
	if node == nil {
		return errors.New("tun: Start with a nil Node")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return ErrStarted
	}
	s.started = true
	s.node = node
	s.wg.Add(len(s.nics))
	for _, n := range s.nics {
		go n.read()
	}
	go s.loop()
	s.poke()
	return nil
}

// Do runs f on the event loop with the loop's current time, after the
// calls queued before it; the Node's deadline is read again afterwards. It
// is how other goroutines call into the Node (open a connection, send
// data) or change middleware settings. Do does not wait for f; calls
// queued before Start run once the loop starts. It returns ErrClosed after
// Close.
func (s *Stack) Do(f func(now time.Time)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.calls = append(s.calls, f)
	s.mu.Unlock()
	s.poke()
	return nil
}

// Close stops the loop, the readers and the monitor and returns once they
// have exited. Created devices disappear; attached ones get back their MTU
// and up/down state and lose the KernelAddrs Open added. Packets still
// held by middleware are discarded. The error reports what could not be
// undone and any failure of the link monitor. Close is idempotent.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.closedDone
		return s.closeErr
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	close(s.done)
	if started {
		<-s.loopDone
	}
	err := s.teardown()
	s.mu.Lock()
	s.closeErr = errors.Join(s.bgErr, err)
	s.mu.Unlock()
	close(s.closedDone)
	return s.closeErr
}

// teardown closes the devices and the monitor, waits for the goroutines and
// undoes the configuration of attached devices.
func (s *Stack) teardown() error {
	var errs []error
	for _, n := range s.nics {
		if err := n.dev.Close(); err != nil {
			errs = append(errs, fmt.Errorf("tun: closing %s: %w", n.name, err))
		}
	}
	s.mon.Close()
	s.wg.Wait()
	for _, n := range s.nics {
		errs = append(errs, n.restore())
	}
	s.ctl.Close()
	return errors.Join(errs...)
}

func (s *Stack) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Stack) setBgErr(err error) {
	s.mu.Lock()
	if s.bgErr == nil {
		s.bgErr = err
	}
	s.mu.Unlock()
}

// loop is the event loop: it owns the Node and the middleware.
func (s *Stack) loop() {
	defer close(s.loopDone)
	defer func() {
		if s.timer != nil {
			s.timer.Stop()
		}
	}()
	for {
		select {
		case <-s.done:
			return
		case b := <-s.rx:
			s.now = s.clk.Now()
			s.handle(b)
		more:
			for range maxBatchesPerRound - 1 {
				select {
				case b := <-s.rx:
					s.handle(b)
				default:
					break more
				}
			}
		case <-s.wake:
			s.now = s.clk.Now()
		}
		s.service()
	}
}

// service runs what is due after the loop woke up: link changes, queued
// calls, link events, timers; then it writes what the Node sent and arms
// the timer.
func (s *Stack) service() {
	if s.linkDirty.Swap(false) {
		for _, n := range s.nics {
			n.applyKernelState()
		}
	}
	s.mu.Lock()
	calls := s.calls
	s.calls = s.callBuf[:0]
	s.mu.Unlock()
	for i, f := range calls {
		f(s.now)
		calls[i] = nil
	}
	s.callBuf = calls[:0]
	s.deliverEvents()
	s.runDue()
	s.deliverEvents()
	for _, n := range s.nics {
		n.flush()
	}
	s.rearm()
}

// deliverEvents hands the queued link events to the Node.
func (s *Stack) deliverEvents() {
	for range maxEventRounds {
		if len(s.events) == 0 {
			return
		}
		evs := s.events
		s.events = s.evBuf[:0]
		for i, e := range evs {
			s.node.LinkEvent(s.now, e.nic, e.ev)
			evs[i] = nicEvent{}
		}
		s.evBuf = evs[:0]
	}
	s.poke() // more events: deliver them in the next round
}

// runDue polls the middleware that is due and runs the Node's timers if
// they are due.
func (s *Stack) runDue() {
	now := s.now
	for _, n := range s.nics {
		if m := n.rxmw; m != nil {
			if d := m.Deadline(); !d.IsZero() && !d.After(now) {
				m.Poll(now, &n.rxOut)
			}
		}
	}
	if d := s.node.Deadline(); !d.IsZero() && !d.After(now) {
		s.node.Timer(now)
	}
	for _, n := range s.nics {
		if m := n.txmw; m != nil {
			if d := m.Deadline(); !d.IsZero() && !d.After(now) {
				m.Poll(now, &n.txOut)
			}
		}
	}
}

// rearm sets the timer for the earliest deadline of the Node and the
// middleware.
func (s *Stack) rearm() {
	earliest := s.node.Deadline()
	for _, n := range s.nics {
		for _, m := range [2]link.Middleware{n.rxmw, n.txmw} {
			if m == nil {
				continue
			}
			if d := m.Deadline(); !d.IsZero() && (earliest.IsZero() || d.Before(earliest)) {
				earliest = d
			}
		}
	}
	if earliest.IsZero() {
		if s.timer != nil {
			s.timer.Stop()
		}
		return
	}
	wait := earliest.Sub(s.clk.Now())
	if wait <= 0 {
		s.poke() // due already: go round again with a fresh now
		return
	}
	if s.timer == nil {
		s.timer = s.clk.AfterFunc(wait, s.poke)
	} else {
		s.timer.Reset(wait)
	}
}

// handle delivers the packets of a read batch and recycles the batch.
func (s *Stack) handle(b *batch) {
	n := b.nic
	if bn, ok := s.node.(link.Batcher); ok && b.n > 1 {
		bn.StartBatch()
		defer bn.EndBatch(s.now)
	}
	for i := range b.n {
		size := b.sizes[i]
		if size <= 0 || size > len(b.bufs[i]) {
			n.stats.rxErrors.Add(1) // larger than the buffers: the MTU grew
			continue
		}
		pkt := b.bufs[i][:size]
		if n.rxmw != nil {
			n.rxmw.Process(s.now, pkt, &n.rxOut)
		} else {
			n.deliver(pkt, b.n == 1)
		}
	}
	b.n = 0
	n.free <- b // never blocks: the channel holds all of n's batches
}

// owns reports whether a is an address of one of the NICs.
func (s *Stack) owns(a netip.Addr) bool {
	for _, x := range s.addrs {
		if x == a {
			return true
		}
	}
	return false
}

// rebuildAddrs recomputes the set of the Stack's addresses.
func (s *Stack) rebuildAddrs() {
	s.addrs = s.addrs[:0]
	for _, n := range s.nics {
		for _, p := range n.Addrs() {
			s.addrs = append(s.addrs, p.Addr())
		}
	}
}

// monitor reads rtnetlink link notifications and reports the changes of
// the Stack's links to the loop.
func (s *Stack) monitor() {
	defer s.wg.Done()
	for {
		msgs, err := s.mon.Receive()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, unix.ENOBUFS) {
				// The socket overran and notifications were lost
				// (netlink(7)): ask for the current state instead.
				s.resync()
				continue
			}
			s.setBgErr(fmt.Errorf("tun: link monitor stopped: %w", err))
			return
		}
		// A notification is a hint: it may be older than the state Open
		// found, and reporting it would make the link flap. The state
		// reported is the one the kernel gives now.
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWLINK && m.Header.Type != unix.RTM_DELLINK {
				continue
			}
			li, err := parseLink(m.Data)
			if err != nil {
				continue
			}
			for _, n := range s.nics {
				if n.ifindex == li.index {
					s.refresh(n)
				}
			}
		}
	}
}

// resync queries the state of every link and reports it.
func (s *Stack) resync() {
	for _, n := range s.nics {
		s.refresh(n)
	}
}

// refresh queries the state of n's link and reports it.
func (s *Stack) refresh(n *NIC) {
	li, err := linkByIndex(s.ctl, n.ifindex)
	switch {
	case errors.Is(err, ErrNoDevice):
		s.report(n, false, 0)
	case err == nil:
		s.report(n, li.up(), li.mtu)
	}
}

// report records the kernel's view of n's link (on the monitor goroutine)
// and wakes the loop. A link that comes back up gets its KernelAddrs
// again: the kernel drops IPv6 addresses when a link goes down, unless
// keep_addr_on_down is set (ip-sysctl.rst).
func (s *Stack) report(n *NIC, up bool, mtu int) {
	if up && !n.monUp {
		for _, p := range n.kernelAddrs {
			// A failure leaves the host without a route over this link;
			// the link itself still works, so it is not an error of the
			// Stack.
			_, _ = addAddr(s.ctl, n.ifindex, p)
		}
	}
	n.monUp = up
	n.kUp.Store(up)
	if mtu > 0 {
		n.kMTU.Store(int32(mtu))
	}
	s.linkDirty.Store(true)
	s.poke()
}
