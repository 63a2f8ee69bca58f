package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/gomptcp/mptcp"
)

// acceptAll accepts connections on ln until it is closed, handing each to
// keep (or closing it if keep is nil).
func acceptAll(ln net.Listener, keep func(net.Conn)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if keep != nil {
				keep(c)
			} else {
				c.Close()
			}
		}
	}()
	return done
}

// RunSetup measures how long a dial takes (from the call to the return of
// an established MPTCP connection: the MP_CAPABLE handshake and, for a
// Linux client, creating the socket) on one unimpaired path, dials times
// in a row for each pairing and run; each connection is closed before the
// next. It reports the median and the 90th percentile of a run.
func RunSetup(o Options, pairings []Pairing, dials int) ([]Sample, error) {
	if o.Runs < 1 || dials < 1 {
		return nil, errors.New("bench: at least one run and one dial")
	}
	var out []Sample
	for run := range o.Runs {
		for _, p := range pairings {
			s := Sample{Bench: "setup", Case: "unimpaired", Subject: p.String(), Run: run, Metrics: map[string]float64{}}
			if err := setupSample(&s, TopoConfig{Pairing: p, Paths: []PathSpec{{}}, Seed: o.seed(run)}, dials); err != nil {
				s.Err = err.Error()
			}
			o.logf("setup run %d %s: median %.3f ms %s", run, p, s.Metrics["dial_ms"], s.Err)
			out = append(out, s)
		}
	}
	return out, nil
}

func setupSample(s *Sample, cfg TopoConfig, dials int) (err error) {
	topo, err := NewTopology(cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, topo.Close()) }()
	ln, err := topo.Listen()
	if err != nil {
		return err
	}
	done := acceptAll(ln, nil)
	defer func() { ln.Close(); <-done }()
	var times []float64
	for range dials {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t0 := time.Now()
		c, err := topo.Dial(ctx)
		d := time.Since(t0)
		cancel()
		if err != nil {
			return fmt.Errorf("dial %d: %w", len(times), err)
		}
		times = append(times, ms(d))
		c.Close()
	}
	s.Metrics["dial_ms"] = Median(times)
	s.Metrics["dial_p90_ms"] = Percentile(times, 90)
	return nil
}

// MemoryCase is a configuration of RunMemory.
type MemoryCase struct {
	Name    string
	Pairing Pairing // gomptcp-gomptcp (both ends counted) or gomptcp-linux (the client's)
	Paths   int     // subflows per connection
}

// DefaultMemoryCases: both ends gomptcp with one and two subflows, and
// gomptcp's client ends against Linux.
func DefaultMemoryCases() []MemoryCase {
	return []MemoryCase{
		{"gomptcp-gomptcp, 1 subflow", GomptcpGomptcp, 1},
		{"gomptcp-gomptcp, 2 subflows", GomptcpGomptcp, 2},
		{"gomptcp-linux, 1 subflow", GomptcpLinux, 1},
	}
}

// RunMemory opens conns idle MPTCP connections and measures the Go heap
// they take (runtime.ReadMemStats after a collection, before and after)
// per connection end of gomptcp: with both ends gomptcp, half the
// difference per connection; against Linux, the whole (the kernel's
// connections are left in the listener's backlog, unaccepted, so that they
// hold nothing on the heap).
func RunMemory(o Options, cases []MemoryCase, conns int) ([]Sample, error) {
	if o.Runs < 1 || conns < 1 {
		return nil, errors.New("bench: at least one run and one connection")
	}
	var out []Sample
	for run := range o.Runs {
		for _, c := range cases {
			s := Sample{Bench: "memory", Case: c.Name, Subject: c.Pairing.String(), Run: run, Metrics: map[string]float64{}}
			if err := memorySample(&s, c, conns, o.seed(run)); err != nil {
				s.Err = err.Error()
			}
			o.logf("memory run %d %s: %.0f bytes per connection end %s", run, c.Name, s.Metrics["bytes_per_end"], s.Err)
			out = append(out, s)
		}
	}
	return out, nil
}

// heapInUse is the live heap once it has settled: collections are
// repeated until two in a row, 20 ms apart, agree within 64 KiB, so that
// what goroutines of an earlier topology still free while they exit (and
// sync.Pool caches, emptied over two collections) is not counted.
func heapInUse() uint64 {
	var ms runtime.MemStats
	read := func() uint64 {
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	last := read()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		cur := read()
		if max(cur, last)-min(cur, last) < 64<<10 {
			return cur
		}
		last = cur
	}
	return last
}

func memorySample(s *Sample, mc MemoryCase, conns int, seed uint64) (err error) {
	if mc.Pairing != GomptcpGomptcp && mc.Pairing != GomptcpLinux {
		return fmt.Errorf("bench: memory is measured for gomptcp-gomptcp or gomptcp-linux, not %v", mc.Pairing)
	}
	paths := make([]PathSpec, mc.Paths)
	topo, err := NewTopology(TopoConfig{Pairing: mc.Pairing, Paths: paths, Seed: seed})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, topo.Close()) }()
	ln, err := topo.Listen()
	if err != nil {
		return err
	}
	defer ln.Close()
	ends := 1
	accepted := make(chan net.Conn, conns)
	if mc.Pairing == GomptcpGomptcp {
		ends = 2
		done := acceptAll(ln, func(c net.Conn) {
			if mc.Paths > 1 {
				// The byte that let the client open its subflows.
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				c.Read(make([]byte, 1))
			}
			accepted <- c
		})
		defer func() { ln.Close(); <-done }()
	}
	var client []net.Conn
	defer func() {
		for _, c := range client {
			c.Close()
		}
		for range len(accepted) {
			(<-accepted).Close()
		}
	}()
	// One connection first, so that what every connection shares (buffer
	// pools, the listener's tables grown once) is in the baseline.
	dial := func() (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := topo.Dial(ctx)
		if err != nil {
			return nil, err
		}
		client = append(client, c)
		if mc.Paths > 1 {
			// A client opens its subflows once the connection is fully
			// established: when the server has acknowledged data
			// (RFC 8684 §3.1).
			if _, err := c.Write([]byte{1}); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	warm, err := dial()
	if err != nil {
		return err
	}
	if ends == 2 {
		select {
		case c := <-accepted:
			defer c.Close()
		case <-time.After(5 * time.Second):
			return errors.New("bench: the first connection was not accepted")
		}
	}
	if err := waitSubflows(warm, mc.Paths); err != nil {
		return err
	}
	before := heapInUse()
	for i := range conns {
		if _, err := dial(); err != nil {
			return fmt.Errorf("dial %d: %w", i, err)
		}
	}
	for _, c := range client[1:] {
		if err := waitSubflows(c, mc.Paths); err != nil {
			return err
		}
	}
	if ends == 2 {
		deadline := time.Now().Add(10 * time.Second)
		for len(accepted) < conns && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if len(accepted) < conns {
			return fmt.Errorf("bench: %d of %d connections accepted", len(accepted), conns)
		}
	}
	// Let the last acknowledgements settle: idle means nothing in flight.
	time.Sleep(200 * time.Millisecond)
	after := heapInUse()
	s.Metrics["bytes_per_end"] = (float64(after) - float64(before)) / float64(conns*ends)
	s.Metrics["conns"] = float64(conns)
	return nil
}

// waitSubflows waits until a gomptcp connection has n established
// subflows.
func waitSubflows(c net.Conn, n int) error {
	mc, ok := c.(*mptcp.Conn)
	if !ok {
		return fmt.Errorf("bench: %T is not a gomptcp connection", c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		sf, err := mc.Subflows()
		if err != nil {
			return err
		}
		if len(sf) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d of %d subflows after 5 s", len(sf), n)
		}
		time.Sleep(time.Millisecond)
	}
}
