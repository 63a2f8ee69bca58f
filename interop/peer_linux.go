package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// PeerOptions are the command line of one cmd/linuxpeer run: the kernel's
// side of a test. Sizes of -1 leave a flag out.
type PeerOptions struct {
	// Listen runs "linuxpeer listen" on Addr (ADDR:PORT) for one
	// connection; otherwise "linuxpeer connect Addr" from Local (an IP,
	// optional).
	Listen bool
	Addr   string
	Local  string

	SendBytes   int64  // --send-bytes (-1: none)
	Seed        uint64 // --seed
	ExpectBytes int64  // --expect-bytes (-1: no check)
	PeerSeed    uint64 // --peer-seed
	Chunk       int64  // --chunk (0: linuxpeer's default)

	Delay, Hold time.Duration // --delay, --hold
	// Timeout bounds the connection (--timeout); zero means 30 s.
	Timeout     time.Duration
	Fastclose   bool // --fastclose
	ExpectReset bool // --expect-reset
	PlainTCP    bool // --mptcp=false
}

// args returns the linuxpeer command line.
func (o *PeerOptions) args() []string {
	var a []string
	if o.Listen {
		a = []string{"listen", "--addr", o.Addr, "--count", "1"}
	} else {
		a = []string{"connect", o.Addr}
		if o.Local != "" {
			a = append(a, "--local", o.Local)
		}
	}
	a = append(a, "--json", "--seed", strconv.FormatUint(o.Seed, 10), "--peer-seed", strconv.FormatUint(o.PeerSeed, 10))
	if o.SendBytes >= 0 {
		a = append(a, "--send-bytes", strconv.FormatInt(o.SendBytes, 10))
	}
	if o.ExpectBytes >= 0 {
		a = append(a, "--expect-bytes", strconv.FormatInt(o.ExpectBytes, 10))
	}
	if o.Chunk > 0 {
		a = append(a, "--chunk", strconv.FormatInt(o.Chunk, 10))
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	a = append(a, "--timeout", timeout.String())
	if o.Delay > 0 {
		a = append(a, "--delay", o.Delay.String())
	}
	if o.Hold > 0 {
		a = append(a, "--hold", o.Hold.String())
	}
	if o.Fastclose {
		a = append(a, "--fastclose")
	}
	if o.ExpectReset {
		a = append(a, "--expect-reset")
	}
	if o.PlainTCP {
		a = append(a, "--mptcp=false")
	}
	return a
}

// Peer is a running cmd/linuxpeer in the kernel's namespace.
type Peer struct {
	cmd    *exec.Cmd
	events chan PeerEvent // "listening" events, as they come
	done   chan struct{}  // closed when the process has exited
	mu     sync.Mutex
	all    []PeerEvent
	bad    []string // lines that did not parse
	err    error    // the process's exit status
	stderr bytes.Buffer
}

var peerBuild struct {
	once sync.Once
	path string
	err  error
	dir  string
}

// linuxpeer builds cmd/linuxpeer once per test binary and returns the
// path of the executable.
func linuxpeer(t testing.TB) string {
	t.Helper()
	peerBuild.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		dir, err := os.MkdirTemp("", "gmt-interop-")
		if err != nil {
			peerBuild.err = err
			return
		}
		peerBuild.dir = dir
		out := filepath.Join(dir, "linuxpeer")
		cmd := exec.Command(goTool, "build", "-o", out, "github.com/gomptcp/mptcp/cmd/linuxpeer")
		// In the module, wherever the test binary runs.
		if _, file, _, ok := runtime.Caller(0); ok {
			cmd.Dir = filepath.Dir(file)
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			peerBuild.err = fmt.Errorf("building cmd/linuxpeer: %v: %s", err, b)
			return
		}
		peerBuild.path = out
	})
	if peerBuild.err != nil {
		t.Fatalf("interop: %v", peerBuild.err)
	}
	return peerBuild.path
}

// Cleanup removes what the package's helpers left for the whole test
// binary (the linuxpeer executable); call it from TestMain after the
// tests ran.
func Cleanup() {
	if peerBuild.dir != "" {
		os.RemoveAll(peerBuild.dir)
	}
}

// StartPeer starts linuxpeer in the topology's kernel namespace. The
// process is killed when the test ends if it is still running. For a
// listener, StartPeer returns once it listens.
func (tp *Topology) StartPeer(t testing.TB, o PeerOptions) *Peer {
	t.Helper()
	bin := linuxpeer(t)
	p := &Peer{events: make(chan PeerEvent, 4), done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", tp.NS.Name, bin}, o.args()...)...)
	r, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("interop: starting linuxpeer: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.stderr.Write(line)
			p.stderr.WriteByte('\n')
			p.mu.Unlock()
			ev, err := ParsePeerEvent(line)
			p.mu.Lock()
			if err != nil {
				p.bad = append(p.bad, string(line))
			} else {
				p.all = append(p.all, ev)
			}
			p.mu.Unlock()
			if err == nil && ev.Event == "listening" {
				p.events <- ev
			}
		}
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	if o.Listen {
		select {
		case <-p.events:
		case <-p.done:
			t.Fatalf("interop: linuxpeer exited before listening: %v\n%s", p.err, p.Stderr())
		case <-time.After(10 * time.Second):
			t.Fatalf("interop: linuxpeer did not listen within 10s\n%s", p.Stderr())
		}
	}
	return p
}

// Stderr returns what the peer printed so far.
func (p *Peer) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Wait waits up to timeout for the peer to exit and returns its summary
// (nil if it printed none) and its exit error.
func (p *Peer) Wait(t testing.TB, timeout time.Duration) (*PeerSummary, error) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("interop: linuxpeer still running after %v, killed; its stderr:\n%s", timeout, p.Stderr())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bad) > 0 {
		t.Errorf("interop: linuxpeer printed lines that do not parse: %q", p.bad)
	}
	var s *PeerSummary
	for _, ev := range p.all {
		if ev.Summary != nil {
			s = ev.Summary
		}
	}
	if p.err != nil {
		return s, fmt.Errorf("linuxpeer: %v; stderr:\n%s", p.err, p.stderr.String())
	}
	return s, nil
}
