package tcp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/cc"
)

// TestSetCongestionControl: switching the controller of an open
// connection mid-transfer keeps the window (in whole segments) and the
// transfer exact; an unknown name is refused and changes nothing.
func TestSetCongestionControl(t *testing.T) {
	data := make([]byte, 2<<20)
	rand.NewChaCha8([32]byte{4}).Read(data)
	ca, cb := testConfig(), testConfig()
	ca.CongestionControl = "cubic"
	h := newHarness(t, ca, cb, netCfg{seed: 1, delay: 5 * time.Millisecond, loss: 0.005, maxTime: time.Minute})
	h.src = data
	h.closeAfter = true
	h.run(func() bool { return len(h.sink) >= len(data)/4 })
	if err := h.a.SetCongestionControl("no-such"); !errors.Is(err, cc.ErrUnknown) {
		t.Fatalf("unknown controller: %v", err)
	}
	if got := h.a.Info().CongestionControl; got != "cubic" {
		t.Fatalf("controller %q after a refused switch", got)
	}
	mss := h.a.effMSS()
	before := h.a.Info().Cwnd / mss * mss
	if err := h.a.SetCongestionControl("reno"); err != nil {
		t.Fatal(err)
	}
	if in := h.a.Info(); in.CongestionControl != "reno" || in.Cwnd != max(before, mss) {
		t.Fatalf("after the switch: %q with cwnd %d, want reno with %d", in.CongestionControl, in.Cwnd, max(before, mss))
	}
	h.run(func() bool { return h.b != nil && h.b.rcvFin && h.b.Readable() == 0 && len(h.sink) == len(data) })
	if !bytes.Equal(h.sink, data) {
		t.Fatalf("received %d bytes that differ from the %d sent", len(h.sink), len(data))
	}
}
