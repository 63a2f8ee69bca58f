package tcp

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// checkInvariants verifies the engine's internal consistency.
func checkInvariants(c *Conn) error {
	if c.state == StateClosed {
		if c.pipe != 0 || len(c.outstanding()) != 0 {
			return fmt.Errorf("closed with pipe %d, %d records", c.pipe, len(c.outstanding()))
		}
		return nil
	}
	if !seqLEQ(c.sndUna, c.sndNxt) {
		return fmt.Errorf("SND.UNA %d > SND.NXT %d", c.sndUna, c.sndNxt)
	}
	if c.snd.n < 0 || c.snd.n > c.snd.limit {
		return fmt.Errorf("send buffer %d of %d", c.snd.n, c.snd.limit)
	}
	if c.state.synchronized() && c.snd.start != c.sndUna && !(c.finSent && c.sndUna == c.finSeq+1 && c.snd.start == c.finSeq) {
		return fmt.Errorf("send buffer starts at %d, SND.UNA %d", c.snd.start, c.sndUna)
	}
	if u := c.rcv.unread(); u < 0 || u > c.rcvBufSize+1<<14 {
		return fmt.Errorf("receive buffer holds %d of %d", u, c.rcvBufSize)
	}
	if w := int(c.rcvWnd()); c.state != StateSynSent && w > c.rcvBufSize+1<<c.rcvWScale {
		return fmt.Errorf("receive window %d beyond the buffer %d", w, c.rcvBufSize)
	}
	if len(c.rcv.ooo) > maxOOORanges {
		return fmt.Errorf("%d out-of-order ranges", len(c.rcv.ooo))
	}
	if c.rcv.capacity() > 2*c.cfg.MaxRecvBufferSize+1<<16 {
		return fmt.Errorf("receive ring %d bytes", c.rcv.capacity())
	}
	for i, r := range c.rcv.ooo {
		if !seqGT(r.start, c.rcv.nxt) || !seqLT(r.start, r.end) || (i > 0 && !seqGT(r.start, c.rcv.ooo[i-1].end)) {
			return fmt.Errorf("bad out-of-order ranges %v (nxt %d)", c.rcv.ooo, c.rcv.nxt)
		}
	}
	pipe, lost, sacked := 0, 0, 0
	next := c.sndUna
	for i, r := range c.outstanding() {
		if i == 0 && seqGT(r.seq, c.sndUna) || i > 0 && r.seq != next {
			return fmt.Errorf("record %d at %d, want %d", i, r.seq, next)
		}
		next = r.end()
		pipe += r.pipeBytes()
		if r.needsRetransmit() {
			lost++
		}
		if r.flags&recSacked != 0 {
			sacked += int(r.span())
		}
	}
	if len(c.outstanding()) > 0 && next != c.sndNxt {
		return fmt.Errorf("records end at %d, SND.NXT %d", next, c.sndNxt)
	}
	if pipe != c.pipe || lost != c.lostCount || sacked != c.sackedSize {
		return fmt.Errorf("pipe %d/%d lost %d/%d sacked %d/%d (counted/kept)", pipe, c.pipe, lost, c.lostCount, sacked, c.sackedSize)
	}
	if len(c.events)-c.evHead > maxQueuedEvents {
		return fmt.Errorf("%d queued events", len(c.events))
	}
	return nil
}

// fuzzStep decodes one 16-byte step: a segment to feed (relative to the
// engine's sequence space, or absolute), application calls and a time step.
func fuzzStep(c *Conn, b []byte, now time.Time) (*Segment, time.Time) {
	f := Flags(b[0])
	s := &Segment{SrcPort: c.id.Remote.Port(), DstPort: c.id.Local.Port(), Flags: f, Window: binary.BigEndian.Uint16(b[10:12])}
	seqOff := int32(binary.BigEndian.Uint32(b[2:6]))
	ackOff := int32(binary.BigEndian.Uint32(b[6:10]))
	if b[1]&0x80 != 0 {
		s.Seq, s.Ack = uint32(seqOff), uint32(ackOff)
	} else {
		s.Seq = c.rcvNxt + uint32(seqOff%70000)
		s.Ack = c.sndUna + uint32(ackOff%70000)
	}
	o := &s.Options
	if b[1]&1 != 0 {
		o.HasMSS, o.MSS = true, uint16(b[14])<<8|uint16(b[15])
	}
	if b[1]&2 != 0 {
		o.HasWindowScale, o.WindowScale = true, b[14]&31
	}
	o.SACKPermitted = b[1]&4 != 0
	if b[1]&8 != 0 {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, c.tsRecent+uint32(int8(b[15])), c.tsNow(c.clock(now))-uint32(b[14])
	}
	if n := int(b[1]>>4) & 7; n > 0 {
		o.NumSACKBlocks = min(n, wire.MaxSACKBlocks)
		for i := range o.NumSACKBlocks {
			l := c.sndUna + uint32(i)*uint32(b[14])*64 + uint32(b[15])
			o.SACKBlocks[i] = wire.SACKBlock{Left: l, Right: l + uint32(b[13])*16}
		}
	}
	if n := int(b[12]); n > 0 {
		s.Payload = make([]byte, n*8)
	}
	switch b[13] & 7 {
	case 1:
		c.Write(make([]byte, int(b[14])*64))
	case 2:
		c.Read(make([]byte, int(b[15])*64))
	case 3:
		c.CloseWrite()
	case 4:
		_ = c.WriteChunk(make([]byte, int(b[14])*32+1), uint64(b[15]))
	}
	return s, now.Add(time.Duration(b[13]>>3) * time.Duration(b[15]) * time.Millisecond)
}

func FuzzSegments(f *testing.F) {
	f.Add([]byte{0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 4, 1, 10, 10})
	f.Add([]byte{
		0x10, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 20, 0,
		0x10, 0x38, 0, 0, 0, 0, 0, 0, 5, 0, 0x10, 0, 0, 0x21, 3, 9,
		0x18, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 40, 0x12, 0, 50,
		0x11, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 2, 0x43, 0, 1,
		0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	})
	f.Add([]byte{
		0x12, 0x8f, 0, 0, 0, 9, 0, 0, 0, 1, 1, 0, 0, 0, 5, 180,
		0x02, 0x0f, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0xff, 5, 180,
		0x10, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 8, 0x80, 0, 0,
	})
	f.Fuzz(fuzzSegments)
}

func fuzzSegments(t *testing.T, data []byte) {
	{
		if len(data) == 0 {
			return
		}
		cfg := testConfig()
		cfg.SendBufferSize = 64 << 10
		cfg.MaxRecvBufferSize = 256 << 10
		cfg.ChallengeAckLimit = 1 << 30
		if data[0]&1 != 0 {
			cfg.DisableSACK = true
		}
		now := t0
		var c *Conn
		buf := make([]byte, 65536)
		if data[0]&2 != 0 {
			// Client: a SYN-ACK from the peer starts the conversation.
			c, _ = Dial(now, cfg, clientID, nil)
			c.Poll(now, buf)
			syn := &Segment{Flags: FlagSYN | FlagACK, Seq: 1000, Ack: c.ISS() + 1, Window: 4000,
				Options: wire.TCPOptions{HasMSS: true, MSS: 500, SACKPermitted: true, HasWindowScale: true, WindowScale: 2, HasTimestamps: true, TSVal: 1, TSEcr: c.tsNow(c.clock(now))}}
			if data[0]&4 == 0 {
				c.Input(now, syn)
			}
		} else {
			l, _ := NewListener(cfg, 80, 4)
			syn := &Segment{Flags: FlagSYN, Seq: 1000, Window: 4000, Options: wire.TCPOptions{HasMSS: true, MSS: 500, SACKPermitted: data[0]&8 == 0, HasTimestamps: data[0]&16 == 0, TSVal: 1, HasWindowScale: true, WindowScale: 3}}
			c, _, _ = l.Input(now, serverID, syn)
			c.Poll(now, buf)
			c.Input(now, &Segment{Flags: FlagACK, Seq: 1001, Ack: c.ISS() + 1, Window: 4000, Options: wire.TCPOptions{HasTimestamps: true, TSVal: 2, TSEcr: c.tsNow(c.clock(now))}})
		}
		data = data[1:]
		for len(data) >= 16 {
			var s *Segment
			s, now = fuzzStep(c, data[:16], now)
			data = data[16:]
			c.Input(now, s)
			for range 1000 {
				if _, ok := c.Poll(now, buf); !ok {
					break
				}
			}
			if err := checkInvariants(c); err != nil {
				t.Fatalf("%v (state %v)", err, c.State())
			}
			for {
				if _, ok := c.NextEvent(); !ok {
					break
				}
			}
			if d := c.NextDeadline(); !d.IsZero() && d.Before(now) {
				t.Fatalf("deadline %v before now %v after Poll", d, now)
			}
		}
		// Timers run dry without panics.
		for range 100 {
			d := c.NextDeadline()
			if d.IsZero() {
				break
			}
			now = d
			for range 1000 {
				if _, ok := c.Poll(now, buf); !ok {
					break
				}
			}
			if err := checkInvariants(c); err != nil {
				t.Fatalf("after timers: %v", err)
			}
		}
	}
}
