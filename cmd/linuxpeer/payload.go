package main

import (
	"bytes"
	"encoding/binary"
)

// Payload is the deterministic pseudo-random byte stream sent for
// --send-bytes: the outputs of the SplitMix64 generator seeded with Seed,
// each written as 8 little-endian bytes. It is an io.Reader that never ends;
// the stream does not depend on how reads are split.
//
// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", 2014) is chosen because it is a few lines in any language, so
// a peer in any implementation can reproduce and check the bytes.
type Payload struct {
	state uint64
	buf   [8]byte
	off   int // next unread byte of buf; 8 means buf is used up
}

// NewPayload returns the payload stream for seed.
func NewPayload(seed uint64) *Payload {
	return &Payload{state: seed, off: 8}
}

// next returns the next SplitMix64 output.
func (p *Payload) next() uint64 {
	p.state += 0x9e3779b97f4a7c15
	z := p.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Read fills b with the next len(b) bytes of the stream. It never fails.
func (p *Payload) Read(b []byte) (int, error) {
	n := len(b)
	// Drain the bytes left over from a previous word.
	for p.off < 8 && len(b) > 0 {
		b[0] = p.buf[p.off]
		p.off++
		b = b[1:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, p.next())
		b = b[8:]
	}
	if len(b) > 0 {
		binary.LittleEndian.PutUint64(p.buf[:], p.next())
		p.off = copy(b, p.buf[:])
	}
	return n, nil
}

// payloadChecker is an io.Writer that compares what is written to it with a
// Payload stream and remembers the offset of the first differing byte.
type payloadChecker struct {
	want     *Payload
	scratch  []byte
	off      int64 // bytes compared so far
	mismatch int64 // offset of the first differing byte, or -1
}

func newPayloadChecker(seed uint64) *payloadChecker {
	return &payloadChecker{want: NewPayload(seed), mismatch: -1}
}

func (c *payloadChecker) Write(b []byte) (int, error) {
	if c.mismatch >= 0 {
		c.off += int64(len(b))
		return len(b), nil
	}
	if cap(c.scratch) < len(b) {
		c.scratch = make([]byte, len(b))
	}
	want := c.scratch[:len(b)]
	c.want.Read(want)
	if !bytes.Equal(b, want) {
		for i := range b {
			if b[i] != want[i] {
				c.mismatch = c.off + int64(i)
				break
			}
		}
	}
	c.off += int64(len(b))
	return len(b), nil
}
