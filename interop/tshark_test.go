package interop

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Lines as tshark 4.0 prints them for tsharkFields (-T fields -E
// occurrence=a -E aggregator=|).
const (
	tsharkSYN     = "1\t0\t2097152\t33554432\tConnection establish request (SYN): server port 7000\t\t\t\t"
	tsharkDSS     = "5\t2\t\t\t\t\t\t\t"
	tsharkNoMPTCP = "6\t\t\t\t\t\t\t\t"
	tsharkReset   = "26\t7|8\t6291456\t33554432\tConnection reset (RST)\t\t\t\t"
	tsharkBad     = "40\t2|1\t6291456|8388608\t150994944|117440512\t4 NOP in a row|Malformed Packet (Exception occurred)\t\t\t\t"
	tsharkKey     = "41\t0\t\t\t\t1\t\t1\t"
	tsharkInfMap  = "42\t2\t6291456\t150994944\tFallback to infinite mapping\t\t\t\t1"
)

func TestParseTSharkFields(t *testing.T) {
	in := strings.Join([]string{tsharkSYN, tsharkDSS, tsharkNoMPTCP, tsharkReset, tsharkBad, tsharkKey, tsharkInfMap}, "\n") + "\n"
	rep, err := parseTSharkFields(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &TSharkReport{
		Frames:  7,
		Options: map[string]int{"MP_CAPABLE": 2, "MP_JOIN": 1, "DSS": 3, "MP_FASTCLOSE": 1, "MP_TCPRST": 1},
		Problems: []string{
			"frame 40: Malformed Packet (Exception occurred)",
			"frame 41: MPTCP: echoed key mismatch; MPTCP: unsupported crypto algorithm",
		},
		InfiniteMappings: 1,
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseTSharkFieldsErrors(t *testing.T) {
	for _, line := range []string{
		"1\t0",                         // too few fields
		"x\t0\t\t\t\t\t\t\t",           // frame number
		"1\t16\t\t\t\t\t\t\t",          // subtype out of range
		"1\t0|\t\t\t\t\t\t\t",          // empty occurrence
		"1\t\tbig\t\t\t\t\t\t",         // severity
		"1\t\t\t99999999999\t\t\t\t\t", // group out of range
		tsharkDSS + "\textra",          // too many fields
	} {
		if _, err := parseTSharkFields(strings.NewReader(line)); !errors.Is(err, ErrBadTSharkLine) {
			t.Errorf("%q: error %v, want ErrBadTSharkLine", line, err)
		}
	}
}

func FuzzParseTSharkFields(f *testing.F) {
	for _, s := range []string{tsharkSYN, tsharkDSS, tsharkReset, tsharkBad, tsharkKey, tsharkInfMap, tsharkSYN + "\n" + tsharkBad, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rep, err := parseTSharkFields(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrBadTSharkLine) {
				t.Fatalf("error %v does not wrap ErrBadTSharkLine", err)
			}
			return
		}
		for k, v := range rep.Options {
			if v <= 0 || k == "" {
				t.Fatalf("%q: options %v", in, rep.Options)
			}
		}
		if rep.Frames > strings.Count(in, "\n")+1 || len(rep.Problems) > rep.Frames || rep.InfiniteMappings > rep.Frames {
			t.Fatalf("%q: report %+v", in, rep)
		}
	})
}
