package trace

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/gomptcp/mptcp/wire"
)

// FuzzMPTCPOption fuzzes the MPTCP option parsers through their common
// entry point, seeded with every MPTCP option the Linux kernel put on the
// wire in the captures of wire/testdata/captures: whatever parses must
// encode back to exactly the bytes it was parsed from, and parse again to
// the same value.
func FuzzMPTCPOption(f *testing.F) {
	files, err := filepath.Glob("../wire/testdata/captures/*.pcap")
	if err != nil {
		f.Fatal(err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		r, err := Open(file)
		if err != nil {
			f.Fatal(err)
		}
		for {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Fatal(err)
			}
			s, err := Decode(fr)
			if err != nil {
				continue
			}
			for _, o := range s.MPTCP {
				if !seen[string(o.Raw)] {
					seen[string(o.Raw)] = true
					f.Add(o.Raw)
				}
			}
		}
		r.Close()
	}
	if len(seen) < 50 {
		f.Fatalf("only %d distinct captured options to seed with", len(seen))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := wire.ParseMPTCPOption(b)
		if err != nil {
			return
		}
		if n < 3 || n > len(b) || n != int(b[1]) {
			t.Fatalf("n = %d for % x", n, b)
		}
		out := v.Append(nil)
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("%v: parsed % x, encodes to % x", v, b[:n], out)
		}
		if v.Len() != len(out) {
			t.Fatalf("%v: Len %d, Append wrote %d", v, v.Len(), len(out))
		}
		again, _, err := wire.ParseMPTCPOption(out)
		if err != nil || again.Len() != v.Len() || !bytes.Equal(again.Append(nil), out) {
			t.Fatalf("%v: reparse gives %v, %v", v, again, err)
		}
	})
}
