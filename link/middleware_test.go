package link_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
)

var t0 = clock.Epoch

// holder delays every packet by d: a minimal stateful Middleware.
type holder struct {
	d    time.Duration
	held []heldPkt
}

type heldPkt struct {
	at  time.Time
	pkt []byte
}

func (h *holder) Process(now time.Time, pkt []byte, _ link.Emitter) {
	h.held = append(h.held, heldPkt{now.Add(h.d), append([]byte(nil), pkt...)})
}

func (h *holder) Poll(now time.Time, out link.Emitter) {
	for len(h.held) > 0 && !h.held[0].at.After(now) {
		out.Emit(h.held[0].pkt)
		h.held = h.held[1:]
	}
}

func (h *holder) Deadline() time.Time {
	if len(h.held) == 0 {
		return time.Time{}
	}
	return h.held[0].at
}

type collect struct{ got []string }

func (c *collect) Emit(p []byte) { c.got = append(c.got, string(p)) }

func TestChain(t *testing.T) {
	upper := link.Func(func(now time.Time, p []byte, out link.Emitter) {
		for i, c := range p {
			if 'a' <= c && c <= 'z' {
				p[i] = c - 'a' + 'A'
			}
		}
		out.Emit(p)
	})
	dup := link.Func(func(now time.Time, p []byte, out link.Emitter) {
		out.Emit(p)
		out.Emit(append(append([]byte(nil), p...), '2'))
	})
	dropX := link.Func(func(now time.Time, p []byte, out link.Emitter) {
		if p[0] != 'X' {
			out.Emit(p)
		}
	})
	h := &holder{d: 10 * time.Millisecond}
	c := link.Chain(dup, h, upper, dropX)
	var out collect
	c.Process(t0, []byte("ab"), &out)
	c.Process(t0.Add(time.Millisecond), []byte("xy"), &out)
	if len(out.got) != 0 {
		t.Fatalf("emitted %q before the holder's deadline", out.got)
	}
	if d := c.Deadline(); !d.Equal(t0.Add(10 * time.Millisecond)) {
		t.Fatalf("Deadline() = %v", d)
	}
	c.Poll(t0.Add(10*time.Millisecond), &out)
	if diff := cmp.Diff([]string{"AB", "AB2"}, out.got); diff != "" {
		t.Fatalf("at 10ms (-want +got):\n%s", diff)
	}
	c.Poll(t0.Add(20*time.Millisecond), &out)
	if diff := cmp.Diff([]string{"AB", "AB2"}, out.got); diff != "" {
		t.Fatalf("at 20ms, the XY packets should be dropped (-want +got):\n%s", diff)
	}
	if d := c.Deadline(); !d.IsZero() {
		t.Fatalf("Deadline() = %v with nothing held", d)
	}

	var direct collect
	link.Chain().Process(t0, []byte("pass"), &direct)
	if diff := cmp.Diff([]string{"pass"}, direct.got); diff != "" {
		t.Fatalf("empty chain (-want +got):\n%s", diff)
	}
	if !link.Chain().Deadline().IsZero() {
		t.Fatal("empty chain has a deadline")
	}
	var f link.Func = func(time.Time, []byte, link.Emitter) {}
	if !f.Deadline().IsZero() {
		t.Fatal("Func has a deadline")
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[link.EventKind]string{
		link.EventUp: "up", link.EventDown: "down", link.EventAddrAdded: "addr-added",
		link.EventAddrRemoved: "addr-removed", 0: "unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("EventKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
