package tcp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	clientAP = netip.MustParseAddrPort("192.0.2.1:40000")
	serverAP = netip.MustParseAddrPort("198.51.100.2:80")
	clientID = ConnID{Local: clientAP, Remote: serverAP}
	serverID = ConnID{Local: serverAP, Remote: clientAP}
)

// testConfig is a Config with a fixed key and settings that make test
// arithmetic simple.
func testConfig() *Config {
	return &Config{ISNKey: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, CongestionControl: "reno"}
}

// check is a composable assertion on one emitted segment.
type check func(s *Segment) error

func flags(f Flags) check {
	return func(s *Segment) error {
		if s.Flags&^FlagPSH != f&^FlagPSH {
			return fmt.Errorf("flags %v, want %v", s.Flags, f)
		}
		return nil
	}
}

func seqIs(n uint32) check {
	return func(s *Segment) error {
		if s.Seq != n {
			return fmt.Errorf("seq %d, want %d", s.Seq, n)
		}
		return nil
	}
}

func ackIs(n uint32) check {
	return func(s *Segment) error {
		if s.Flags&FlagACK == 0 || s.Ack != n {
			return fmt.Errorf("ack %d (flags %v), want %d", s.Ack, s.Flags, n)
		}
		return nil
	}
}

func windowIs(n uint16) check {
	return func(s *Segment) error {
		if s.Window != n {
			return fmt.Errorf("window %d, want %d", s.Window, n)
		}
		return nil
	}
}

func payloadLen(n int) check {
	return func(s *Segment) error {
		if len(s.Payload) != n {
			return fmt.Errorf("payload %d bytes, want %d", len(s.Payload), n)
		}
		return nil
	}
}

func mssIs(n uint16) check {
	return func(s *Segment) error {
		if !s.Options.HasMSS || s.Options.MSS != n {
			return fmt.Errorf("MSS option %v/%d, want %d", s.Options.HasMSS, s.Options.MSS, n)
		}
		return nil
	}
}

func wscaleIs(n uint8) check {
	return func(s *Segment) error {
		if !s.Options.HasWindowScale || s.Options.WindowScale != n {
			return fmt.Errorf("window scale %v/%d, want %d", s.Options.HasWindowScale, s.Options.WindowScale, n)
		}
		return nil
	}
}

func noWScale(s *Segment) error {
	if s.Options.HasWindowScale {
		return fmt.Errorf("unexpected window scale option")
	}
	return nil
}

func sackPerm(want bool) check {
	return func(s *Segment) error {
		if s.Options.SACKPermitted != want {
			return fmt.Errorf("SACK-permitted %v, want %v", s.Options.SACKPermitted, want)
		}
		return nil
	}
}

func hasTS(want bool) check {
	return func(s *Segment) error {
		if s.Options.HasTimestamps != want {
			return fmt.Errorf("timestamps %v, want %v", s.Options.HasTimestamps, want)
		}
		return nil
	}
}

func tsEcr(v uint32) check {
	return func(s *Segment) error {
		if !s.Options.HasTimestamps || s.Options.TSEcr != v {
			return fmt.Errorf("TSecr %d, want %d", s.Options.TSEcr, v)
		}
		return nil
	}
}

func sacks(blocks ...wire.SACKBlock) check {
	return func(s *Segment) error {
		got := s.Options.SACKBlocks[:s.Options.NumSACKBlocks]
		if len(got) != len(blocks) {
			return fmt.Errorf("SACK blocks %v, want %v", got, blocks)
		}
		for i := range blocks {
			if got[i] != blocks[i] {
				return fmt.Errorf("SACK blocks %v, want %v", got, blocks)
			}
		}
		return nil
	}
}

func expect(t *testing.T, s *Segment, checks ...check) {
	t.Helper()
	for _, c := range checks {
		if err := c(s); err != nil {
			t.Fatalf("segment %s: %v", fmtSeg(s), err)
		}
	}
}

func fmtSeg(s *Segment) string {
	return fmt.Sprintf("{%v seq=%d ack=%d win=%d len=%d sack=%v}", s.Flags, s.Seq, s.Ack, s.Window, len(s.Payload), s.Options.SACKBlocks[:s.Options.NumSACKBlocks])
}

// drain polls c at now until it has nothing more, copying payloads.
func drain(c *Conn, now time.Time) []Segment {
	var out []Segment
	buf := make([]byte, 65536)
	for range 10000 {
		s, ok := c.Poll(now, buf)
		if !ok {
			break
		}
		s.Payload = append([]byte(nil), s.Payload...)
		out = append(out, s)
	}
	return out
}

// one polls exactly one segment and fails if there is none, or more.
func one(t *testing.T, c *Conn, now time.Time) Segment {
	t.Helper()
	segs := drain(c, now)
	if len(segs) != 1 {
		var ss []string
		for i := range segs {
			ss = append(ss, fmtSeg(&segs[i]))
		}
		t.Fatalf("got %d segments %v, want 1", len(segs), ss)
	}
	return segs[0]
}

func none(t *testing.T, c *Conn, now time.Time) {
	t.Helper()
	if segs := drain(c, now); len(segs) != 0 {
		t.Fatalf("got unexpected segment %s", fmtSeg(&segs[0]))
	}
}

// peer is a hand-driven remote end for segment-level tests.
type peer struct {
	iss, nxt uint32 // peer's ISS and next sequence number
	ts       uint32 // peer's TSval clock
	tsOn     bool
	ecr      uint32
}

func (p *peer) seg(flags Flags, ack uint32, win uint16, payload []byte) *Segment {
	s := &Segment{SrcPort: serverAP.Port(), DstPort: clientAP.Port(), Seq: p.nxt, Ack: ack, Flags: flags, Window: win, Payload: payload}
	if p.tsOn {
		p.ts++
		s.Options.HasTimestamps, s.Options.TSVal, s.Options.TSEcr = true, p.ts, p.ecr
	}
	return s
}

// dialed returns a client Conn established against a hand-driven peer that
// answered with the given SYN-ACK options.
func dialed(t *testing.T, cfg *Config, opts wire.TCPOptions, win uint16) (*Conn, *peer) {
	t.Helper()
	c, err := Dial(t0, cfg, clientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	syn := one(t, c, t0)
	p := &peer{iss: 5000, nxt: 5000, ts: 100, tsOn: opts.HasTimestamps}
	sa := &Segment{SrcPort: 80, DstPort: 40000, Seq: p.iss, Ack: syn.Seq + 1, Flags: FlagSYN | FlagACK, Window: win, Options: opts}
	if opts.HasTimestamps {
		sa.Options.TSVal, sa.Options.TSEcr = p.ts, syn.Options.TSVal
	}
	now := t0.Add(10 * time.Millisecond)
	c.Input(now, sa)
	p.nxt = p.iss + 1
	if c.State() != StateEstablished {
		t.Fatalf("state %v after SYN-ACK, want ESTABLISHED", c.State())
	}
	a := one(t, c, now)
	expect(t, &a, flags(FlagACK), seqIs(syn.Seq+1), ackIs(p.nxt))
	if a.Options.HasTimestamps {
		p.ecr = a.Options.TSVal
	}
	return c, p
}

func plainOpts(mss uint16) wire.TCPOptions {
	return wire.TCPOptions{HasMSS: true, MSS: mss}
}

func events(c *Conn) []Event {
	var out []Event
	for {
		e, ok := c.NextEvent()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

func hasEvent(evs []Event, k EventKind) bool {
	for _, e := range evs {
		if e.Kind == k {
			return true
		}
	}
	return false
}

func netipPort(ap netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), port)
}
