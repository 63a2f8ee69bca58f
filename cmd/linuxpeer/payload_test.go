package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// TestPayloadKnownAnswer checks the stream against the published outputs of
// the SplitMix64 reference implementation (splitmix64.c by Sebastiano Vigna).
func TestPayloadKnownAnswer(t *testing.T) {
	tests := []struct {
		seed uint64
		want []uint64
	}{
		{1234567, []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821}},
		{0, []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}},
	}
	for _, tt := range tests {
		b := make([]byte, 8*len(tt.want))
		NewPayload(tt.seed).Read(b)
		for i, w := range tt.want {
			if got := binary.LittleEndian.Uint64(b[8*i:]); got != w {
				t.Errorf("seed %d word %d = %d, want %d", tt.seed, i, got, w)
			}
		}
	}
}

// TestPayloadChunking checks that the stream does not depend on how it is
// read.
func TestPayloadChunking(t *testing.T) {
	const total = 1000
	want := make([]byte, total)
	NewPayload(42).Read(want)
	for _, chunks := range [][]int{
		{1}, {3}, {7}, {8}, {9}, {15}, {16}, {17}, {1, 7, 8, 9, 2}, {5, 0, 11}, {999}, {1000},
	} {
		p := NewPayload(42)
		var got []byte
		for i := 0; len(got) < total; i++ {
			n := min(chunks[i%len(chunks)], total-len(got))
			b := make([]byte, n)
			m, err := p.Read(b)
			if m != n || err != nil {
				t.Fatalf("Read(%d) = %d, %v", n, m, err)
			}
			got = append(got, b...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("chunks %v: stream differs from a single read", chunks)
		}
	}
}

func TestPayloadSeedsDiffer(t *testing.T) {
	a, b := make([]byte, 64), make([]byte, 64)
	NewPayload(1).Read(a)
	NewPayload(2).Read(b)
	if bytes.Equal(a, b) {
		t.Fatal("seeds 1 and 2 give the same bytes")
	}
}

func BenchmarkPayloadRead(b *testing.B) {
	p := NewPayload(1)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		p.Read(buf)
	}
}

// FuzzPayloadReads checks chunk independence for arbitrary read sizes.
func FuzzPayloadReads(f *testing.F) {
	f.Add(uint64(1), []byte{1, 2, 3, 8, 9, 16})
	f.Add(uint64(0), []byte{0, 255, 7})
	f.Fuzz(func(t *testing.T, seed uint64, sizes []byte) {
		total := 0
		for _, s := range sizes {
			total += int(s)
		}
		want := make([]byte, total)
		io.ReadFull(NewPayload(seed), want)
		p := NewPayload(seed)
		var got []byte
		for _, s := range sizes {
			b := make([]byte, s)
			p.Read(b)
			got = append(got, b...)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("reads of %v differ from one read", sizes)
		}
	})
}
