package bench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestPattern(t *testing.T) {
	for _, off := range []int64{0, 1, patternPeriod - 5, patternPeriod, 3*patternPeriod + 17} {
		b := append([]byte(nil), patternAt(off, transferBuf)...)
		if i := patternMismatch(off, b); i != -1 {
			t.Fatalf("offset %d: mismatch at %d of an exact copy", off, i)
		}
		// The stream is periodic with patternPeriod and nothing shorter
		// that the checks below would miss.
		if got, want := patternAt(off+patternPeriod, 64), patternAt(off, 64); string(got) != string(want) {
			t.Fatalf("offset %d: the stream does not repeat with its period", off)
		}
		b[1000] ^= 0x20
		if i := patternMismatch(off, b); i != 1000 {
			t.Fatalf("offset %d: a flipped bit at 1000 found at %d", off, i)
		}
		b[1000] ^= 0x20
		if i := patternMismatch(off+1, b[:4096]); i < 0 || i > 16 {
			t.Fatalf("offset %d: bytes one off their place found at %d", off, i)
		}
	}
}

// loopDialer is a Dialer over loopback TCP whose accepted connections
// pass their reads through corrupt, if set.
type loopDialer struct {
	ln      net.Listener
	corrupt func(off int64, b []byte)
}

type corruptConn struct {
	net.Conn
	off     int64
	corrupt func(off int64, b []byte)
}

func (c *corruptConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.corrupt(c.off, b[:n])
	c.off += int64(n)
	return n, err
}

func (c *corruptConn) CloseWrite() error { return c.Conn.(*net.TCPConn).CloseWrite() }

type corruptListener struct {
	net.Listener
	corrupt func(off int64, b []byte)
}

func (l corruptListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.corrupt == nil {
		return c, err
	}
	return &corruptConn{Conn: c, corrupt: l.corrupt}, nil
}

func (d *loopDialer) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.ln = ln
	return corruptListener{ln, d.corrupt}, nil
}

func (d *loopDialer) Dial(ctx context.Context) (net.Conn, error) {
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", d.ln.Addr().String())
}

// TestTransferChecksBytes: a transfer over loopback TCP moves the
// pattern exactly; one byte changed on the way is reported at its offset.
func TestTransferChecksBytes(t *testing.T) {
	tr := Transfer{Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond}
	res, err := tr.Run(&loopDialer{})
	if err != nil || res.Err != nil || res.Received == 0 || res.Received != res.Sent {
		t.Fatalf("clean transfer: %v, %+v", err, res)
	}
	const at = 3<<20 + 12345
	res, err = tr.Run(&loopDialer{corrupt: func(off int64, b []byte) {
		if at >= off && at < off+int64(len(b)) {
			b[at-off] ^= 1
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Received <= at || res.Err == nil || !strings.Contains(res.Err.Error(), "offset 3158073") {
		t.Fatalf("received %d bytes; error %v, want one at offset %d", res.Received, res.Err, at)
	}
}
