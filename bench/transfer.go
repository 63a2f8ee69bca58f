package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Transfer is a bulk transfer on one connection between the two ends of a
// Dialer: the sender writes for Duration, then half-closes; the receiver
// reads to the end of the stream, checks every byte (pattern.go) and
// records its Timeline.
type Transfer struct {
	// Duration is how long the sender writes.
	Duration time.Duration
	// Warmup is left out of the goodput and the CPU time: the measuring
	// window is [Warmup, Duration) after the connection is established.
	Warmup time.Duration
	// Reverse makes the server send and the client receive.
	Reverse bool
	// At, if set, is called at time AtTime after the connection is
	// established (to take a path down).
	At     func() error
	AtTime time.Duration
	// Drain bounds the wait for the end of the stream after Duration
	// (0: 10 s); the connection is closed then in any case.
	Drain time.Duration
	// PartCPU, if set, is sampled at the window's edges like the process's
	// CPU time, to tell the share of a part (the emulator's threads).
	PartCPU func() time.Duration
}

// Dialer is what a Transfer runs over: a listener and a dialer between two
// ends.
type Dialer interface {
	Listen() (net.Listener, error)
	Dial(ctx context.Context) (net.Conn, error)
}

// TransferResult is what one Transfer measured.
type TransferResult struct {
	Timeline Timeline
	// Goodput is the bits per second the receiver read in the window.
	Goodput float64
	// WindowBytes are the bytes read in the window, CPU the process's CPU
	// time during it.
	WindowBytes int64
	CPU         time.Duration
	// PartCPU is Transfer.PartCPU's increase during the window.
	PartCPU time.Duration
	// Established is how long the dial took.
	Established time.Duration
	// Sent is what the sender wrote, Received what the receiver read
	// (they differ if the connection ended abnormally, which is Err).
	Sent, Received int64
	Err            error
}

// CPUPerGB is the process's CPU seconds per 10⁹ bytes moved in the window.
func (r *TransferResult) CPUPerGB() float64 {
	if r.WindowBytes == 0 {
		return 0
	}
	return r.CPU.Seconds() / (float64(r.WindowBytes) / 1e9)
}

// transferBuf is the size of each Write and Read.
const transferBuf = 256 << 10

// Run runs the transfer over d.
func (tr Transfer) Run(d Dialer) (*TransferResult, error) {
	if tr.Warmup >= tr.Duration {
		return nil, fmt.Errorf("bench: warm-up %v not shorter than the duration %v", tr.Warmup, tr.Duration)
	}
	drain := tr.Drain
	if drain == 0 {
		drain = 10 * time.Second
	}
	ln, err := d.Listen()
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	acceptErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acceptErr <- err
			return
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t0 := time.Now()
	client, err := d.Dial(ctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer client.Close()
	res := &TransferResult{Established: time.Since(t0)}
	var server net.Conn
	select {
	case server = <-accepted:
	case err := <-acceptErr:
		return nil, fmt.Errorf("accept: %w", err)
	case <-time.After(10 * time.Second):
		return nil, errors.New("accept: timed out")
	}
	defer server.Close()
	snd, rcv := client, server
	if tr.Reverse {
		snd, rcv = server, client
	}
	start := time.Now()
	deadline := start.Add(tr.Duration + drain)
	if err := rcv.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if err := snd.SetDeadline(deadline); err != nil {
		return nil, err
	}

	// CPU at the window's edges.
	var cpu, part [2]time.Duration
	var wg sync.WaitGroup
	for i, at := range []time.Duration{tr.Warmup, tr.Duration} {
		wg.Go(func() {
			time.Sleep(time.Until(start.Add(at)))
			cpu[i] = ProcessCPU()
			if tr.PartCPU != nil {
				part[i] = tr.PartCPU()
			}
		})
	}
	var atErr error
	if tr.At != nil {
		wg.Go(func() {
			time.Sleep(time.Until(start.Add(tr.AtTime)))
			atErr = tr.At()
		})
	}
	sendErr := make(chan error, 1)
	go func() {
		end := start.Add(tr.Duration)
		for time.Now().Before(end) {
			n, err := snd.Write(patternAt(res.Sent, transferBuf))
			res.Sent += int64(n)
			if err != nil {
				sendErr <- fmt.Errorf("write: %w", err)
				return
			}
		}
		if hc, ok := snd.(interface{ CloseWrite() error }); ok {
			sendErr <- hc.CloseWrite()
			return
		}
		sendErr <- errors.New("the connection has no CloseWrite")
	}()
	buf := make([]byte, transferBuf)
	var rerr error
	for {
		n, err := rcv.Read(buf)
		if n > 0 {
			if i := patternMismatch(res.Received, buf[:n]); i >= 0 && rerr == nil {
				rerr = fmt.Errorf("received a byte that differs from the one sent at offset %d", res.Received+int64(i))
			}
			res.Received += int64(n)
			res.Timeline.Add(time.Since(start), res.Received)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && rerr == nil {
				rerr = fmt.Errorf("read: %w", err)
			}
			break
		}
	}
	// Unblock a sender stuck in Write after a failed read.
	snd.SetDeadline(time.Now())
	werr := <-sendErr
	wg.Wait()
	res.CPU = cpu[1] - cpu[0]
	res.PartCPU = part[1] - part[0]
	res.WindowBytes = res.Timeline.BytesAt(tr.Duration) - res.Timeline.BytesAt(tr.Warmup)
	res.Goodput = res.Timeline.Goodput(tr.Warmup, tr.Duration)
	switch {
	case rerr != nil:
		res.Err = rerr
	case werr != nil:
		res.Err = werr
	case atErr != nil:
		res.Err = atErr
	case res.Received != res.Sent:
		res.Err = fmt.Errorf("received %d bytes of %d", res.Received, res.Sent)
	}
	return res, nil
}
