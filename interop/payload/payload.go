package payload

import (
	"bytes"
	"encoding/binary"
)

// Stream is the payload of one seed, an io.Reader that never ends.
type Stream struct {
	state uint64
	buf   [8]byte
	off   int // next unread byte of buf; 8: used up
}

// New returns the stream of seed.
func New(seed uint64) *Stream { return &Stream{state: seed, off: 8} }

// next returns the next SplitMix64 output (Steele, Lea, Flood, "Fast
// splittable pseudorandom number generators", OOPSLA 2014).
func (p *Stream) next() uint64 {
	p.state += 0x9e3779b97f4a7c15
	z := p.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Read fills b with the next len(b) bytes of the stream; it never fails.
func (p *Stream) Read(b []byte) (int, error) {
	n := len(b)
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

// Checker is an io.Writer that compares what is written to it with the
// stream of a seed: the receiving half of a byte-exact check.
type Checker struct {
	want     *Stream
	scratch  []byte
	n        int64 // bytes compared
	mismatch int64 // offset of the first differing byte, -1 if none
}

// NewChecker returns a Checker for the payload of seed.
func NewChecker(seed uint64) *Checker { return &Checker{want: New(seed), mismatch: -1} }

// Write compares b with the next len(b) bytes of the stream. It never
// fails, so that a whole stream is consumed; see Mismatch.
func (c *Checker) Write(b []byte) (int, error) {
	if c.mismatch < 0 {
		if cap(c.scratch) < len(b) {
			c.scratch = make([]byte, len(b))
		}
		want := c.scratch[:len(b)]
		c.want.Read(want)
		if !bytes.Equal(b, want) {
			for i := range b {
				if b[i] != want[i] {
					c.mismatch = c.n + int64(i)
					break
				}
			}
		}
	}
	c.n += int64(len(b))
	return len(b), nil
}

// Len is the number of bytes written so far.
func (c *Checker) Len() int64 { return c.n }

// Mismatch is the offset of the first byte that differs from the stream,
// or -1.
func (c *Checker) Mismatch() int64 { return c.mismatch }
