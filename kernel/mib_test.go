package kernel

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const netstatSmall = `TcpExt: SyncookiesSent SyncookiesRecv
TcpExt: 0 5
MPTcpExt: MPCapableSYNRX MPJoinAckRx MPCurrEstab FutureCounter
MPTcpExt: 3 18446744073709551615 2 7
`

func TestParseMIB(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    MIB
		wantErr error
	}{
		{name: "order and unknown names kept", in: netstatSmall, want: MIB{
			{"MPCapableSYNRX", 3}, {"MPJoinAckRx", 18446744073709551615}, {"MPCurrEstab", 2}, {"FutureCounter", 7},
		}},
		{name: "CRLF and extra spaces", in: "MPTcpExt:  A   B\r\nMPTcpExt: 1  2 \r\n", want: MIB{{"A", 1}, {"B", 2}}},
		{name: "no trailing newline", in: "MPTcpExt: A\nMPTcpExt: 9", want: MIB{{"A", 9}}},
		{name: "no MPTCP", in: "TcpExt: A\nTcpExt: 1\n", wantErr: ErrNoMPTCP},
		{name: "empty", in: "", wantErr: ErrNoMPTCP},
		{name: "header without values", in: "MPTcpExt: A B\n", wantErr: ErrMalformed},
		{name: "three lines", in: "MPTcpExt: A\nMPTcpExt: 1\nMPTcpExt: 2\n", wantErr: ErrMalformed},
		{name: "count mismatch", in: "MPTcpExt: A B\nMPTcpExt: 1\n", wantErr: ErrMalformed},
		{name: "negative", in: "MPTcpExt: A\nMPTcpExt: -1\n", wantErr: ErrMalformed},
		{name: "overflow", in: "MPTcpExt: A\nMPTcpExt: 18446744073709551616\n", wantErr: ErrMalformed},
		{name: "hex", in: "MPTcpExt: A\nMPTcpExt: 0x10\n", wantErr: ErrMalformed},
		{name: "duplicate name", in: "MPTcpExt: A A\nMPTcpExt: 1 2\n", wantErr: ErrMalformed},
		{name: "bad name", in: "MPTcpExt: A\x00\nMPTcpExt: 1\n", wantErr: ErrMalformed},
		{name: "no names", in: "MPTcpExt:\nMPTcpExt:\n", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMIB([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseMIBLinux618 parses a /proc/net/netstat saved from Linux 6.18.
func TestParseMIBLinux618(t *testing.T) {
	data, err := os.ReadFile("testdata/netstat-6.18")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMIB(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 76 || m[0].Name != "MPCapableSYNRX" || m[len(m)-1].Name != "WinProbe" {
		t.Errorf("parsed %d counters, %v … %v", len(m), m[0], m[len(m)-1])
	}
	for _, c := range m {
		if !KnownCounter(c.Name) {
			t.Errorf("6.18 counter %s is not known", c.Name)
		}
	}
	if _, ok := m.Get("MPJoinAckRx"); !ok {
		t.Error("Get(MPJoinAckRx) missing")
	}
	if _, ok := m.Get("NoSuchCounter"); ok {
		t.Error("Get(NoSuchCounter) found")
	}
	if KnownCounter("NoSuchCounter") || len(knownCounters) != 87 {
		t.Errorf("known counters: %d", len(knownCounters))
	}
}

func TestDelta(t *testing.T) {
	a := MIB{{"A", 10}, {"MPCurrEstab", 5}, {"Gone", 3}}
	b := MIB{{"A", 15}, {"MPCurrEstab", 2}, {"New", 4}}
	want := []CounterDelta{{"A", 5}, {"MPCurrEstab", -3}, {"New", 4}}
	if diff := cmp.Diff(want, Delta(a, b)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if m := b.Map(); len(m) != 3 || m["New"] != 4 {
		t.Errorf("Map() = %v", m)
	}
}

func FuzzParseMIB(f *testing.F) {
	f.Add([]byte(netstatSmall))
	if data, err := os.ReadFile("testdata/netstat-6.18"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("MPTcpExt: A\nMPTcpExt: 1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMIB(data)
		if err != nil {
			return
		}
		if len(m) == 0 {
			t.Fatal("success with no counters")
		}
		// Printing the counters back in the kernel's format parses to
		// the same MIB.
		var names, values strings.Builder
		names.WriteString("MPTcpExt:")
		values.WriteString("MPTcpExt:")
		for _, c := range m {
			names.WriteString(" " + c.Name)
			values.WriteString(" " + uitoa(c.Value))
		}
		again, err := ParseMIB([]byte(names.String() + "\n" + values.String() + "\n"))
		if err != nil || !cmp.Equal(m, again) {
			t.Fatalf("reparse: %v %v", again, err)
		}
	})
}

func uitoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

func BenchmarkParseMIB(b *testing.B) {
	data, err := os.ReadFile("testdata/netstat-6.18")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMIB(data); err != nil {
			b.Fatal(err)
		}
	}
}
