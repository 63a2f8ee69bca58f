package scenario

import (
	"bytes"
	"sync"
)

// The payload of every flow is a deterministic pseudo-random byte stream,
// so that a receiver can check each byte where it lands. Byte i of a
// flow's stream is patternTable[(phase+i) mod patternPeriod]; the period
// is a prime (2^20-3), so a byte misplaced by any distance that is not a
// multiple of about a mebibyte is caught, and each flow has its own phase,
// so bytes of another flow are caught as well. The table is followed by a
// copy of its first patternChunk bytes, so that any window of up to
// patternChunk bytes is one contiguous slice: writing and checking cost a
// memcpy and a memcmp.
const (
	patternPeriod = 1<<20 - 3
	patternChunk  = 64 << 10
)

var (
	patternOnce  sync.Once
	patternBytes []byte
)

func patternTable() []byte {
	patternOnce.Do(func() {
		b := make([]byte, patternPeriod+patternChunk)
		x := uint64(0x6a09e667f3bcc908)
		for i := 0; i < patternPeriod; i += 8 {
			x = splitmix(x)
			for k := 0; k < 8 && i+k < patternPeriod; k++ {
				b[i+k] = byte(x >> (8 * k))
			}
		}
		copy(b[patternPeriod:], b[:patternChunk])
		patternBytes = b
	})
	return patternBytes
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// pattern is one flow's byte stream.
type pattern struct {
	table []byte
	phase int64
}

func newPattern(flowSeed uint64) pattern {
	return pattern{table: patternTable(), phase: int64(splitmix(flowSeed) % patternPeriod)}
}

// at returns the stream from offset off, at most min(n, patternChunk)
// bytes; the slice is shared and must not be modified.
func (p pattern) at(off int64, n int) []byte {
	n = min(n, patternChunk)
	i := (p.phase + off) % patternPeriod
	return p.table[i : i+int64(n)]
}

// check reports the index of the first byte of b that differs from the
// stream at offset off, or -1 if all match.
func (p pattern) check(off int64, b []byte) int {
	done := 0
	for done < len(b) {
		want := p.at(off+int64(done), len(b)-done)
		got := b[done : done+len(want)]
		if !bytes.Equal(got, want) {
			for k := range got {
				if got[k] != want[k] {
					return done + k
				}
			}
		}
		done += len(want)
	}
	return -1
}
