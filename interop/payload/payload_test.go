package payload

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSplitMix64 checks the generator against published outputs: the
// first outputs of SplitMix64 seeded with 0 (the reference implementation
// by Vigna, prng.di.unimi.it/splitmix64.c, as used to seed xoshiro) and
// with 1234567.
func TestSplitMix64(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		want []uint64
	}{
		{0, []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f, 0xf88bb8a8724c81ec}},
		{1234567, []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821}},
	} {
		b := make([]byte, 8*len(tc.want))
		New(tc.seed).Read(b)
		var got []uint64
		for i := 0; i < len(b); i += 8 {
			got = append(got, binary.LittleEndian.Uint64(b[i:]))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("seed %d (-want +got):\n%s", tc.seed, diff)
		}
	}
}

// TestSplitReads: the stream does not depend on how reads are cut.
func TestSplitReads(t *testing.T) {
	whole := make([]byte, 1000)
	New(7).Read(whole)
	for _, sizes := range [][]int{{1}, {3, 5}, {7, 8, 9}, {1000}, {0, 13}} {
		s := New(7)
		var got []byte
		for i := 0; len(got) < len(whole); i++ {
			n := min(sizes[i%len(sizes)], len(whole)-len(got))
			b := make([]byte, n)
			if m, err := s.Read(b); m != n || err != nil {
				t.Fatalf("Read(%d) = %d, %v", n, m, err)
			}
			got = append(got, b...)
		}
		if !bytes.Equal(got, whole) {
			t.Errorf("reads of %v give another stream", sizes)
		}
	}
}

// TestChecker: the checker accepts the stream in any cutting and finds
// the first differing byte.
func TestChecker(t *testing.T) {
	data := make([]byte, 5000)
	New(42).Read(data)
	for _, tc := range []struct {
		name    string
		corrupt int // offset to flip, -1 for none
		seed    uint64
		want    int64
	}{
		{"exact", -1, 42, -1},
		{"first byte", 0, 42, 0},
		{"middle", 2345, 42, 2345},
		{"last byte", 4999, 42, 4999},
		{"other seed", -1, 43, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(data)
			if tc.corrupt >= 0 {
				b[tc.corrupt] ^= 0x80
			}
			c := NewChecker(tc.seed)
			if _, err := io.CopyBuffer(c, bytes.NewReader(b), make([]byte, 777)); err != nil {
				t.Fatal(err)
			}
			if c.Mismatch() != tc.want || c.Len() != int64(len(b)) {
				t.Errorf("Mismatch %d Len %d, want %d and %d", c.Mismatch(), c.Len(), tc.want, len(b))
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	s := New(1)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		s.Read(buf)
	}
}

func BenchmarkChecker(b *testing.B) {
	data := make([]byte, 64<<10)
	s := New(1)
	c := NewChecker(1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s.Read(data)
		c.Write(data)
	}
	if c.Mismatch() >= 0 {
		b.Fatal("mismatch")
	}
}
