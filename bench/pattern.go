package bench

import (
	"bytes"
	"encoding/binary"
	"sync"
)

// The bytes of every transfer are a fixed pseudo-random stream: byte i is
// patternTable[i mod patternPeriod]. The period is a prime (2^20-3), so a
// byte delivered at a wrong offset (by any distance that is not a multiple
// of it), repeated or left out is caught; the table is followed by a copy
// of its first transferBuf bytes, so that the sender writes, and the
// receiver compares with, slices of the table: no generation, a memcmp per
// read.
const patternPeriod = 1<<20 - 3

var (
	patternOnce  sync.Once
	patternBytes []byte
)

func patternTable() []byte {
	patternOnce.Do(func() {
		b := make([]byte, patternPeriod+transferBuf) // the last 8-byte write spills into the copy below
		x := uint64(0x243f6a8885a308d3)
		for i := 0; i < patternPeriod; i += 8 {
			x += 0x9e3779b97f4a7c15 // SplitMix64
			z := (x ^ x>>30) * 0xbf58476d1ce4e5b9
			z = (z ^ z>>27) * 0x94d049bb133111eb
			binary.LittleEndian.PutUint64(b[i:], z^z>>31)
		}
		copy(b[patternPeriod:], b[:transferBuf])
		patternBytes = b
	})
	return patternBytes
}

// patternAt is the stream from offset off, n ≤ transferBuf bytes; the
// slice is shared and must not be modified.
func patternAt(off int64, n int) []byte {
	i := off % patternPeriod
	return patternTable()[i : i+int64(n)]
}

// patternMismatch is the offset in b of the first byte that differs from
// the stream at offset off (len(b) ≤ transferBuf), or -1.
func patternMismatch(off int64, b []byte) int {
	want := patternAt(off, len(b))
	if bytes.Equal(b, want) {
		return -1
	}
	for i := range b {
		if b[i] != want[i] {
			return i
		}
	}
	return -1
}
