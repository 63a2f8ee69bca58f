package bench

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	wgtun "golang.zx2c4.com/wireguard/tun"

	"github.com/gomptcp/mptcp/link/impair"
)

// Buffer layout of the emulator.
const (
	// emuHeadroom is the room in front of each packet written, for the
	// struct virtio_net_hdr wireguard's tun package puts there.
	emuHeadroom = 16
	// emuBatch is the number of packets of a read or write batch
	// (wireguard's conn.IdealBatchSize).
	emuBatch = 128
	// emuBatches is the number of read batches a direction may have
	// waiting for its loop; then the reader stops reading and the
	// kernel queues, and drops, as in front of a slow link.
	emuBatches = 4
	// maxIPPacket is the largest IP packet.
	maxIPPacket = 65535
)

// Emulator is the userspace path emulator between two kernel stacks: for
// each path, a TUN device in the client's namespace and one in the
// server's, and for each direction a reader goroutine and a loop goroutine
// that runs the direction's Impairer on wall-clock time and writes what it
// lets through to the other device. The devices have segmentation offloads:
// a read splits the kernel's super-packets into packets of at most the MTU,
// which the Impairer sees one by one, and a write coalesces consecutive
// segments of a flow again.
type Emulator struct {
	dirs []*emuDir // path k: 2k client to server, 2k+1 server to client
}

// emuDir is one direction of one path.
type emuDir struct {
	in, out wgtun.Device
	m       *impair.Impairer

	ready chan *emuReadBatch // read, waiting for the loop
	free  chan *emuReadBatch // handled, back to the reader
	ctl   chan func(now time.Time)
	done  chan struct{}
	wg    sync.WaitGroup

	// Owned by the loop.
	tx  [][]byte
	ntx int

	readErrors, writeErrors atomic.Uint64
	// tids are the thread ids of the reader and the loop, each locked to
	// its thread, for their CPU time.
	tids [2]atomic.Int32
}

type emuReadBatch struct {
	bufs  [][]byte
	sizes []int
	n     int
}

// newEmuDir starts a direction from in to out through m.
func newEmuDir(in, out wgtun.Device, m *impair.Impairer, mtu int) *emuDir {
	d := &emuDir{in: in, out: out, m: m,
		ready: make(chan *emuReadBatch, emuBatches), free: make(chan *emuReadBatch, emuBatches),
		ctl: make(chan func(time.Time)), done: make(chan struct{})}
	per := max(emuBatch, in.BatchSize())
	for range emuBatches {
		b := &emuReadBatch{bufs: make([][]byte, per), sizes: make([]int, per)}
		for i := range b.bufs {
			b.bufs[i] = make([]byte, mtu)
		}
		d.free <- b
	}
	d.tx = make([][]byte, emuBatch)
	for i := range d.tx {
		d.tx[i] = make([]byte, 0, emuHeadroom+maxIPPacket)
	}
	d.wg.Add(2)
	go d.read()
	go d.loop()
	return d
}

// read reads batches from the input device until it is closed.
func (d *emuDir) read() {
	defer d.wg.Done()
	d.tids[0].Store(int32(lockThread()))
	for {
		var b *emuReadBatch
		select {
		case b = <-d.free:
		case <-d.done:
			return
		}
		n, err := d.in.Read(b.bufs, b.sizes, 0)
		if err != nil && n == 0 {
			select {
			case <-d.done:
				return
			default:
			}
			d.readErrors.Add(1)
			d.free <- b
			if errors.Is(err, wgtun.ErrTooManySegments) {
				continue
			}
			// A closed or broken device: wait for Close.
			<-d.done
			return
		}
		b.n = n
		select {
		case d.ready <- b:
		case <-d.done:
			return
		}
	}
}

// loop runs the Impairer: it offers each packet read to it, polls it when
// its deadline passes and writes the packets it emits in batches.
func (d *emuDir) loop() {
	defer d.wg.Done()
	d.tids[1].Store(int32(lockThread()))
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case b := <-d.ready:
			now := time.Now()
			for i := range b.n {
				d.m.Process(now, b.bufs[i][:b.sizes[i]], nil)
			}
			d.free <- b
		case f := <-d.ctl:
			f(time.Now())
		case <-timer.C:
		case <-d.done:
			return
		}
		d.m.Poll(time.Now(), d)
		d.flush()
		if dl := d.m.Deadline(); dl.IsZero() {
			timer.Stop()
		} else {
			timer.Reset(time.Until(dl))
		}
	}
}

// Emit queues a packet the Impairer lets through for the next write.
func (d *emuDir) Emit(pkt []byte) {
	d.tx[d.ntx] = append(d.tx[d.ntx][:emuHeadroom], pkt...)
	d.ntx++
	if d.ntx == len(d.tx) {
		d.flush()
	}
}

// flush writes the queued packets in one batched write.
func (d *emuDir) flush() {
	if d.ntx == 0 {
		return
	}
	if _, err := d.out.Write(d.tx[:d.ntx], emuHeadroom); err != nil {
		d.writeErrors.Add(1)
	}
	d.ntx = 0
}

// do runs f on the loop with the current time and waits for it.
func (d *emuDir) do(f func(now time.Time)) error {
	done := make(chan struct{})
	select {
	case d.ctl <- func(now time.Time) { f(now); close(done) }:
		<-done
		return nil
	case <-d.done:
		return errors.New("bench: emulator closed")
	}
}

// stop ends the goroutines; the devices are closed by their owner after.
func (d *emuDir) stop() {
	select {
	case <-d.done:
	default:
		close(d.done)
	}
}

// EmulatorPath is one path of an Emulator: its devices, the client's and
// the server's, and the Impairers of each direction.
type EmulatorPath struct {
	Client, Server wgtun.Device
	C2S, S2C       *impair.Impairer
	MTU            int
}

// NewEmulator starts forwarding on every path.
func NewEmulator(paths []EmulatorPath) *Emulator {
	e := &Emulator{}
	for _, p := range paths {
		e.dirs = append(e.dirs, newEmuDir(p.Client, p.Server, p.C2S, p.MTU), newEmuDir(p.Server, p.Client, p.S2C, p.MTU))
	}
	return e
}

// SetPathUp takes path k down in both directions (every packet lost, as
// when a link fails far away) or brings it back up.
func (e *Emulator) SetPathUp(k int, up bool) error {
	if k < 0 || 2*k+1 >= len(e.dirs) {
		return fmt.Errorf("bench: no path %d", k)
	}
	for _, d := range e.dirs[2*k : 2*k+2] {
		if err := d.do(func(now time.Time) { d.m.SetUp(now, up) }); err != nil {
			return err
		}
	}
	return nil
}

// Stats returns the Impairer counters of path k, client to server then
// server to client.
func (e *Emulator) Stats(k int) ([2]impair.Stats, error) {
	var s [2]impair.Stats
	if k < 0 || 2*k+1 >= len(e.dirs) {
		return s, fmt.Errorf("bench: no path %d", k)
	}
	for i, d := range e.dirs[2*k : 2*k+2] {
		if err := d.do(func(time.Time) { s[i] = d.m.Stats() }); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Close stops the emulator. The caller closes the devices, which ends the
// readers blocked in Read; Wait then returns.
func (e *Emulator) Close() {
	for _, d := range e.dirs {
		d.stop()
	}
}

// Wait waits for the goroutines to end, after Close and the devices'.
func (e *Emulator) Wait() {
	for _, d := range e.dirs {
		d.wg.Wait()
	}
}

// CPU returns the CPU time the emulator's threads (readers and loops)
// have used so far, kernel time in their system calls included; that
// includes the receiving kernel's processing of the packets they write,
// which runs on the writing thread.
func (e *Emulator) CPU() time.Duration {
	var t time.Duration
	for _, d := range e.dirs {
		for i := range d.tids {
			if tid := d.tids[i].Load(); tid != 0 {
				t += threadCPU(int(tid))
			}
		}
	}
	return t
}

// Errors returns the read and write errors counted.
func (e *Emulator) Errors() (read, write uint64) {
	for _, d := range e.dirs {
		read += d.readErrors.Load()
		write += d.writeErrors.Load()
	}
	return read, write
}
