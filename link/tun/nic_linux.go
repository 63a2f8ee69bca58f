package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"

	"github.com/gomptcp/mptcp/link"
)

// Buffer layout.
const (
	// txHeadroom is the room left in front of each packet written, where
	// wireguard's tun package puts the 10-byte struct virtio_net_hdr
	// (include/uapi/linux/virtio_net.h).
	txHeadroom = 16
	// batchSize is the number of packets of a batched read or write with
	// offloads (wireguard's conn.IdealBatchSize). A read returns at most
	// one super-packet, split into up to this many packets.
	batchSize = 128
)

// NIC is a TUN device as a link.NIC of a Stack's Node.
//
// Send, AddAddr and RemoveAddr belong to the Stack's event loop: call them
// from the Node's methods or from a function given to Stack.Do. The other
// methods are safe for concurrent use.
type NIC struct {
	s           *Stack
	dev         wgtun.Device
	name        string
	index       int // position in the Stack, from 1
	ifindex     int // the kernel's interface index
	offload     bool
	coalesce    bool // with offload: batched, coalescing writes (DeviceConfig.CoalesceWrites)
	tso         bool // SendGSO may be used (offloads, no TxMiddleware, not DeviceConfig.DisableTSO)
	raw         syscall.RawConn
	gsoHdr      [virtioNetHdrLen]byte // SendGSO's, owned by the loop
	gsoIov      [][]byte
	gsoErr      error
	gsoWrite    func(fd uintptr) bool // writes gsoIov into gsoErr; made once, so as not to allocate per packet
	file        *os.File              // the device, for single-packet writes
	kernelAddrs []netip.Prefix
	rxmw, txmw  link.Middleware
	rxOut       rxEmitter
	txOut       txEmitter

	maxMTU int // the MTU the buffers were sized for
	addrs  atomic.Pointer[[]netip.Prefix]
	up     atomic.Bool  // as the Node was last told
	mtu    atomic.Int32 // min(device MTU, maxMTU)
	stats  counters

	// Written by the monitor goroutine, read by the loop.
	kUp   atomic.Bool
	kMTU  atomic.Int32
	monUp bool // the monitor's own view, to notice links coming back up

	// Owned by the loop.
	loopUp bool
	tx     [][]byte // tx[:ntx] wait to be written
	ntx    int

	free chan *batch // read batches not in use

	// What Open changed on an attached device, for Close to undo.
	attached   bool
	configured bool
	origUp     bool
	origMTU    int
	added      []netip.Prefix
}

var _ link.NIC = (*NIC)(nil)

// batch is the unit a reader hands to the loop.
type batch struct {
	nic   *NIC
	bufs  [][]byte // each of full length: a read fills bufs[i][:sizes[i]]
	sizes []int
	n     int // packets in this batch
}

// allocBuffers allocates the read batches and the write buffers. With
// offloads a read splits one super-packet into packets of at most the MTU,
// and a write may coalesce packets into the first of them, which therefore
// has room for the largest IP packet.
func (n *NIC) allocBuffers(batches int) {
	per, txCap := 1, txHeadroom+n.maxMTU
	if n.offload {
		per, txCap = batchSize, txHeadroom+MaxMTU
	}
	if n.dev.BatchSize() > per {
		per = n.dev.BatchSize()
	}
	nb := batches
	if !n.offload {
		// One packet per batch: have as many packets in flight as with
		// offloads.
		nb = batches * batchSize
	}
	n.free = make(chan *batch, nb)
	for range nb {
		b := &batch{nic: n, bufs: make([][]byte, per), sizes: make([]int, per)}
		for i := range b.bufs {
			b.bufs[i] = make([]byte, n.maxMTU)
		}
		n.free <- b
	}
	n.tx = make([][]byte, batchSize)
	for i := range n.tx {
		n.tx[i] = make([]byte, 0, txCap)
	}
}

// Send transmits one IP packet: it passes it to the TxMiddleware, if any,
// and queues it for the next batched write, which happens before the event
// loop waits again. It copies pkt. It returns link.ErrDown if the link is
// down, ErrEmpty or ErrTooBig if pkt is empty or larger than MTU.
func (n *NIC) Send(pkt []byte) error {
	if !n.up.Load() {
		n.stats.txDroppedDown.Add(1)
		return link.ErrDown
	}
	if len(pkt) == 0 {
		return ErrEmpty
	}
	if len(pkt) > int(n.mtu.Load()) {
		n.stats.txTooBig.Add(1)
		return ErrTooBig
	}
	if n.txmw != nil {
		n.txmw.Process(n.s.now, pkt, &n.txOut)
		return nil
	}
	n.enqueue(pkt)
	return nil
}

// enqueue copies pkt into the write batch, writing the batch if full.
func (n *NIC) enqueue(pkt []byte) {
	switch {
	case !n.up.Load():
		n.stats.txDroppedDown.Add(1)
		return
	case len(pkt) == 0:
		return
	case len(pkt) > int(n.mtu.Load()):
		n.stats.txTooBig.Add(1) // grown by middleware
		return
	}
	n.tx[n.ntx] = append(n.tx[n.ntx][:txHeadroom], pkt...)
	n.ntx++
	if n.ntx == len(n.tx) {
		n.flush()
	}
}

// flush writes the queued packets in one batched write. With offloads the
// device coalesces consecutive TCP segments (and UDP datagrams, where the
// kernel supports UDP segmentation offload) of a flow into super-packets
// that the kernel takes as one; the buffers may be reordered and extended
// in the process, so they are resliced on reuse.
func (n *NIC) flush() {
	if n.ntx == 0 {
		return
	}
	bufs := n.tx[:n.ntx]
	var bytes uint64
	for _, b := range bufs {
		bytes += uint64(len(b) - txHeadroom)
	}
	n.stats.txPackets.Add(uint64(n.ntx))
	n.stats.txBytes.Add(bytes)
	n.ntx = 0
	if n.offload && !n.coalesce {
		// One packet a write, behind an empty struct virtio_net_hdr
		// (no segmentation: VIRTIO_NET_HDR_GSO_NONE; the packets carry
		// their checksums).
		for _, b := range bufs {
			h := b[txHeadroom-virtioNetHdrLen : txHeadroom]
			clear(h)
			n.stats.txWrites.Add(1)
			if _, err := n.file.Write(b[txHeadroom-virtioNetHdrLen:]); err != nil {
				n.stats.txErrors.Add(1)
			}
		}
		return
	}
	n.stats.txWrites.Add(1)
	if _, err := n.dev.Write(bufs, txHeadroom); err != nil {
		n.stats.txErrors.Add(1)
	}
}

// GSOMax implements stack.SegmentOffloader: the largest IP packet while
// the NIC takes super-packets (see DeviceConfig.DisableTSO), else 0.
func (n *NIC) GSOMax() int {
	if !n.tso || n.raw == nil {
		return 0
	}
	return MaxMTU
}

// SendGSO implements stack.SegmentOffloader: it writes pkt at once (after
// the packets queued before it) behind a virtio-net header that asks the
// kernel to cut its TCP payload into segments of mss bytes and to fill in
// their checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM from the TCP header on).
func (n *NIC) SendGSO(pkt []byte, mss int) error {
	if !n.up.Load() {
		n.stats.txDroppedDown.Add(1)
		return link.ErrDown
	}
	if !n.tso || n.raw == nil {
		return errors.New("tun: segmentation offload is off")
	}
	if len(pkt) > MaxMTU {
		n.stats.txTooBig.Add(1)
		return ErrTooBig
	}
	var gsoType uint8
	iphl := 0
	switch {
	case len(pkt) >= 20 && pkt[0]>>4 == 4 && pkt[0]&0x0f >= 5:
		gsoType, iphl = virtioNetHdrGSOTCPv4, int(pkt[0]&0x0f)*4
	case len(pkt) >= 40 && pkt[0]>>4 == 6:
		gsoType, iphl = virtioNetHdrGSOTCPv6, 40
	default:
		return ErrMalformed
	}
	if len(pkt) < iphl+20 || pkt[iphl+12]>>4 < 5 { // a TCP header of 20 bytes at least (RFC 9293 §3.1)
		return ErrMalformed
	}
	hl := iphl + int(pkt[iphl+12]>>4)*4
	if mss <= 0 || len(pkt) <= hl || hl+mss > int(n.mtu.Load()) {
		return fmt.Errorf("tun: GSO packet of %d bytes, %d of headers, segment size %d: %w", len(pkt), hl, mss, ErrMalformed)
	}
	n.flush()
	h := &n.gsoHdr
	h[0] = virtioNetHdrFNeedsCsum
	h[1] = gsoType
	binary.LittleEndian.PutUint16(h[2:], uint16(hl))
	binary.LittleEndian.PutUint16(h[4:], uint16(mss))
	binary.LittleEndian.PutUint16(h[6:], uint16(iphl))
	binary.LittleEndian.PutUint16(h[8:], 16) // offsetof(struct tcphdr, check)
	segs := (len(pkt) - hl + mss - 1) / mss
	n.stats.txPackets.Add(1)
	n.stats.txBytes.Add(uint64(len(pkt)))
	n.stats.txWrites.Add(1)
	n.stats.txGSOPackets.Add(1)
	n.stats.txGSOSegments.Add(uint64(segs))
	if n.gsoWrite == nil {
		n.gsoIov = make([][]byte, 2)
		n.gsoWrite = func(fd uintptr) bool {
			_, n.gsoErr = unix.Writev(int(fd), n.gsoIov)
			return n.gsoErr != unix.EAGAIN
		}
	}
	n.gsoIov[0], n.gsoIov[1] = h[:], pkt
	err := n.raw.Write(n.gsoWrite)
	n.gsoIov[1] = nil
	if err == nil {
		err = n.gsoErr
	}
	if err != nil {
		n.stats.txErrors.Add(1)
		return fmt.Errorf("tun: write: %w", err)
	}
	return nil
}

// struct virtio_net_hdr values (include/uapi/linux/virtio_net.h).
const (
	virtioNetHdrFNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	virtioNetHdrGSOTCPv4   = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	virtioNetHdrGSOTCPv6   = 4 // VIRTIO_NET_HDR_GSO_TCPV6
)

// virtioNetHdrLen is the size of struct virtio_net_hdr
// (include/uapi/linux/virtio_net.h), which precedes every packet on a
// device opened with IFF_VNET_HDR.
const virtioNetHdrLen = 10

// deliver checks a received packet and hands it to the Node. With sums
// false its transport checksum is not verified: the tun package computed
// it on the packet as it is, cutting a super-packet into segments (a read
// that returned more than one packet).
func (n *NIC) deliver(pkt []byte, sums bool) {
	s := n.s
	if !n.loopUp {
		n.stats.rxDroppedDown.Add(1)
		return
	}
	dst, v := inspect(pkt, sums)
	switch v {
	case verdictMalformed:
		n.stats.rxMalformed.Add(1)
		return
	case verdictBadChecksum:
		n.stats.rxChecksum.Add(1)
		return
	}
	if !s.owns(dst) {
		n.stats.rxNotLocal.Add(1)
		return
	}
	n.stats.rxPackets.Add(1)
	n.stats.rxBytes.Add(uint64(len(pkt)))
	s.node.Receive(s.now, n, pkt)
}

// rxEmitter takes what the RxMiddleware lets through to the Node.
type rxEmitter struct{ n *NIC }

func (e *rxEmitter) Emit(pkt []byte) { e.n.deliver(pkt, true) }

// txEmitter takes what the TxMiddleware lets through to the device.
type txEmitter struct{ n *NIC }

func (e *txEmitter) Emit(pkt []byte) { e.n.enqueue(pkt) }

// read is the reader goroutine: it fills free batches and hands them to
// the loop.
func (n *NIC) read() {
	s := n.s
	defer s.wg.Done()
	for {
		var b *batch
		select {
		case b = <-n.free:
		case <-s.done:
			return
		}
		cnt, err := n.dev.Read(b.bufs, b.sizes, 0)
		if cnt > 0 {
			n.stats.rxReads.Add(1)
			b.n = cnt
			select {
			case s.rx <- b:
			case <-s.done:
				return
			}
		} else {
			n.free <- b
		}
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				// Closed by Close, or the device was deleted (the kernel
				// answers EBADFD, which the tun package reports so).
				select {
				case <-s.done:
				default:
					n.kUp.Store(false)
					s.linkDirty.Store(true)
					s.poke()
				}
				return
			}
			n.stats.rxErrors.Add(1)
		}
	}
}

// applyKernelState brings the loop's view of the link in line with the
// monitor's and queues a link event for the Node if it changed.
func (n *NIC) applyKernelState() {
	if m := int(n.kMTU.Load()); m > 0 {
		n.mtu.Store(int32(min(m, n.maxMTU)))
	}
	up := n.kUp.Load()
	if up == n.loopUp {
		return
	}
	n.loopUp = up
	n.up.Store(up)
	kind := link.EventDown
	if up {
		kind = link.EventUp
	} else {
		n.ntx = 0 // what waits to be written is lost with the link
	}
	n.s.events = append(n.s.events, nicEvent{n, link.Event{Kind: kind}})
}

// AddAddr adds p to the Node's addresses on this NIC and tells the Node
// with a link.EventAddrAdded event, delivered after the current call. The
// Stack accepts packets for it on every NIC from then on. The kernel's
// configuration is not changed: p should be inside a prefix the host
// routes over one of the Stack's devices. AddAddr belongs to the event
// loop.
func (n *NIC) AddAddr(p netip.Prefix) error {
	if err := checkPrefix(p); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if n.s.owns(p.Addr()) {
		return fmt.Errorf("%w: %v is already an address of the stack", ErrConfig, p.Addr())
	}
	for _, m := range n.s.nics {
		for _, k := range m.kernelAddrs {
			if k.Addr() == p.Addr() {
				return fmt.Errorf("%w: %v is a kernel address of %s", ErrConfig, p.Addr(), m.name)
			}
		}
	}
	addrs := append(slices.Clone(n.Addrs()), p)
	n.addrs.Store(&addrs)
	n.s.rebuildAddrs()
	n.s.events = append(n.s.events, nicEvent{n, link.Event{Kind: link.EventAddrAdded, Addr: p}})
	return nil
}

// RemoveAddr removes p from the Node's addresses on this NIC and tells the
// Node with a link.EventAddrRemoved event, delivered after the current
// call. It reports whether p was there. RemoveAddr belongs to the event
// loop.
func (n *NIC) RemoveAddr(p netip.Prefix) bool {
	old := n.Addrs()
	k := slices.Index(old, p)
	if k < 0 {
		return false
	}
	addrs := slices.Delete(slices.Clone(old), k, k+1)
	n.addrs.Store(&addrs)
	n.s.rebuildAddrs()
	n.s.events = append(n.s.events, nicEvent{n, link.Event{Kind: link.EventAddrRemoved, Addr: p}})
	return true
}

// MTU returns the largest packet Send takes: the device's MTU, but no more
// than it was at Open, which sized the buffers.
func (n *NIC) MTU() int { return int(n.mtu.Load()) }

// Addrs returns the Node's addresses on this NIC. The slice must not be
// modified; AddAddr and RemoveAddr replace it rather than change it.
func (n *NIC) Addrs() []netip.Prefix { return *n.addrs.Load() }

// KernelAddrs returns the addresses the Stack assigned to the device: the
// host's side of the link.
func (n *NIC) KernelAddrs() []netip.Prefix { return n.kernelAddrs }

// Up reports whether the link is up, as the Node was last told.
func (n *NIC) Up() bool { return n.up.Load() }

// Name returns the device's name.
func (n *NIC) Name() string { return n.name }

// Index returns the NIC's position in its Stack, from 1.
func (n *NIC) Index() int { return n.index }

// IfIndex returns the kernel's interface index of the device, in the
// device's network namespace.
func (n *NIC) IfIndex() int { return n.ifindex }

// Offloads reports whether the device was opened with the virtio-net
// header and its offloads.
func (n *NIC) Offloads() bool { return n.offload }

// Stats returns the NIC's counters.
func (n *NIC) Stats() Stats { return n.stats.snapshot() }

// String returns the device name.
func (n *NIC) String() string { return n.name }

// release closes the device of a NIC that Open could not finish and undoes
// its configuration.
func (n *NIC) release() {
	n.dev.Close()
	_ = n.restore()
}

// restore undoes what Open changed on an attached device. The device must
// be closed. Created devices have disappeared with their file.
func (n *NIC) restore() error {
	if !n.attached || !n.configured {
		return nil
	}
	var errs []error
	for _, p := range n.added {
		if err := delAddr(n.s.ctl, n.ifindex, p); err != nil {
			errs = append(errs, err)
		}
	}
	li, err := linkByIndex(n.s.ctl, n.ifindex)
	if errors.Is(err, ErrNoDevice) {
		return nil // deleted meanwhile: nothing left to restore
	}
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	mtu := 0
	if li.mtu != n.origMTU {
		mtu = n.origMTU
	}
	if up := li.flags&unix.IFF_UP != 0; up != n.origUp || mtu != 0 {
		if err := setLink(n.s.ctl, n.ifindex, n.origUp, mtu); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
