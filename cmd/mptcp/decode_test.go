package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// captures are the Linux kernel captures of wire/testdata (see MANIFEST.md
// there for what each holds and gen-captures.sh for how they were made).
func captures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../wire/testdata/captures/*.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no captures under wire/testdata/captures")
	}
	return files
}

// decodeJSON runs "mptcp decode --json" on a capture and returns its
// packet objects by frame number, and its connection summaries.
func decodeJSON(t *testing.T, file string) (map[int]map[string]any, []map[string]any) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"decode", "--json", file}, &out, &errb); code != 0 {
		t.Fatalf("decode %s: exit %d: %s", file, code, errb.String())
	}
	pkts := map[int]map[string]any{}
	var conns []map[string]any
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var o map[string]any
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber() // 64-bit keys and sequence numbers do not fit a float64
		if err := d.Decode(&o); err != nil {
			t.Fatalf("%s: bad JSON line %q: %v", file, sc.Text(), err)
		}
		if _, ok := o["error"]; ok {
			t.Errorf("%s: frame %v: %v", file, o["frame"], o["error"])
		}
		if f, ok := o["frame"].(json.Number); ok {
			n, err := f.Int64()
			if err != nil {
				t.Fatalf("%s: frame %q: %v", file, f, err)
			}
			pkts[int(n)] = o
		} else {
			conns = append(conns, o)
		}
	}
	return pkts, conns
}

func TestDecodeText(t *testing.T) {
	for _, f := range captures(t) {
		var out, errb bytes.Buffer
		if code := run([]string{"decode", f}, &out, &errb); code != 0 {
			t.Fatalf("decode %s: exit %d: %s", f, code, errb.String())
		}
		s := out.String()
		if !strings.Contains(s, "MPTCP connection 1:") {
			t.Errorf("%s: no connection summary in:\n%s", f, s)
		}
		if strings.Contains(s, "BAD") && !strings.HasSuffix(f, "/mp-fail.pcap") {
			t.Errorf("%s: a verification failed:\n%s", f, s)
		}
		// The payload rewriter of mp-fail.pcap breaks one mapping's
		// checksum; checksum.pcap's all verify.
		if strings.HasSuffix(f, "/mp-fail.pcap") && strings.Count(s, "mapping checksum BAD") != 1 {
			t.Errorf("%s: want exactly one failed mapping checksum:\n%s", f, s)
		}
		if strings.HasSuffix(f, "/checksum.pcap") && !strings.Contains(s, "mapping checksum ok") {
			t.Errorf("%s: no verified mapping checksum:\n%s", f, s)
		}
	}
}

func TestDecodeBadArgs(t *testing.T) {
	for _, args := range [][]string{{"decode"}, {"decode", "a", "b"}, {"decode", "--nope", "x"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"decode", "/nonexistent.pcap"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "nonexistent") {
		t.Errorf("missing file: exit %d, stderr %q", code, errb.String())
	}
	notPcap := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(notPcap, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"decode", notPcap}, &out, &errb); code != 1 || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("not a capture: exit %d, stderr %q", code, errb.String())
	}
}

// tsharkFields maps each tshark MPTCP option field to the members of our
// JSON that carry the same value, per subtype.
var tsharkFields = []struct {
	field string
	ours  map[string][]string // subtype → JSON members
}{
	{"tcp.options.mptcp.subtype", nil},
	{"tcp.options.mptcp.version", map[string][]string{"MP_CAPABLE": {"version"}}},
	{"tcp.options.mptcp.sendkey", map[string][]string{"MP_CAPABLE": {"sender_key"}}},
	{"tcp.options.mptcp.recvkey", map[string][]string{"MP_CAPABLE": {"receiver_key"}, "MP_FASTCLOSE": {"receiver_key"}}},
	{"tcp.options.mptcp.recvtok", map[string][]string{"MP_JOIN": {"receiver_token"}}},
	{"tcp.options.mptcp.sendrand", map[string][]string{"MP_JOIN": {"sender_random_number"}}},
	{"tcp.options.mptcp.sendtrunchmac", map[string][]string{"MP_JOIN": {"sender_truncated_hmac"}}},
	{"tcp.options.mptcp.sendhmac", map[string][]string{"MP_JOIN": {"sender_hmac"}}},
	{"tcp.options.mptcp.rawdataack", map[string][]string{"DSS": {"data_ack"}}},
	{"tcp.options.mptcp.rawdataseqno", map[string][]string{"DSS": {"data_sequence_number"}, "MP_FAIL": {"data_sequence_number"}}},
	{"tcp.options.mptcp.subflowseqno", map[string][]string{"DSS": {"subflow_sequence_number"}}},
	{"tcp.options.mptcp.datalvllen", map[string][]string{"DSS": {"data_level_length"}, "MP_CAPABLE": {"data_level_length"}}},
	{"tcp.options.mptcp.checksum", map[string][]string{"DSS": {"checksum"}, "MP_CAPABLE": {"checksum"}}},
	{"tcp.options.mptcp.addrid", map[string][]string{"MP_JOIN": {"address_id"}, "ADD_ADDR": {"address_id"}, "REMOVE_ADDR": {"address_ids"}, "MP_PRIO": {"address_id"}}},
	{"tcp.options.mptcp.ipv4", map[string][]string{"ADD_ADDR": {"address"}}},
	{"tcp.options.mptcp.ipv6", map[string][]string{"ADD_ADDR": {"address"}}},
	{"tcp.options.mptcp.port", map[string][]string{"ADD_ADDR": {"port"}}},
	{"tcp.options.mptcp.addaddrtrunchmac", map[string][]string{"ADD_ADDR": {"truncated_hmac"}}},
	{"tcp.options.mptcp.echo", map[string][]string{"ADD_ADDR": {"echo"}}},
	{"tcp.options.mptcp.rst_reason", map[string][]string{"MP_TCPRST": {"reason"}}},
	{"tcp.options.mptcp.flag_T.flag", map[string][]string{"MP_TCPRST": {"flag_t_transient"}}},
}

var subtypeNumbers = map[string]int{"MP_CAPABLE": 0, "MP_JOIN": 1, "DSS": 2, "ADD_ADDR": 3, "REMOVE_ADDR": 4,
	"MP_PRIO": 5, "MP_FAIL": 6, "MP_FASTCLOSE": 7, "MP_TCPRST": 8, "MP_EXPERIMENTAL": 15}

// norm brings a value printed by tshark or decoded from our JSON to one
// canonical text: numbers in decimal, byte strings in bare lower-case hex.
func norm(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "1"
		}
		return "0"
	case json.Number:
		return x.String()
	case string:
		if strings.HasPrefix(x, "0x") {
			if n, err := strconv.ParseUint(x[2:], 16, 64); err == nil {
				return strconv.FormatUint(n, 10)
			}
		}
		if strings.Count(x, ":") > 3 && !strings.Contains(x, ".") && len(x) > 40 {
			return strings.ReplaceAll(x, ":", "") // tshark's bytes
		}
		return strings.ToLower(x)
	}
	return fmt.Sprint(v)
}

// ourValues lists the values our JSON gives for one tshark field in a
// packet, in option order.
func ourValues(pkt map[string]any, field string, members map[string][]string) []string {
	opts, _ := pkt["mptcp"].([]any)
	var vals []string
	for _, o := range opts {
		opt := o.(map[string]any)
		st, _ := opt["subtype"].(string)
		if members == nil {
			vals = append(vals, strconv.Itoa(subtypeNumbers[st]))
			continue
		}
		for _, m := range members[st] {
			v, ok := opt[m]
			if !ok {
				continue
			}
			if list, ok := v.([]any); ok {
				for _, e := range list {
					vals = append(vals, norm(e))
				}
				continue
			}
			s := norm(v)
			if field == "tcp.options.mptcp.ipv4" && strings.Contains(s, ":") ||
				field == "tcp.options.mptcp.ipv6" && !strings.Contains(s, ":") {
				continue
			}
			vals = append(vals, s)
		}
	}
	return vals
}

// TestDecodeMatchesTshark compares every MPTCP option field Wireshark's
// dissector reports for the kernel captures with "mptcp decode --json".
func TestDecodeMatchesTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed (apt-get install tshark): skipping the Wireshark oracle")
	}
	for _, file := range captures(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ours, _ := decodeJSON(t, file)
			args := []string{"-r", file, "-Y", "tcp.options.mptcp.subtype", "-T", "fields",
				"-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"}
			for _, f := range tsharkFields {
				args = append(args, "-e", f.field)
			}
			cmd := exec.Command("tshark", args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v: %s", err, stderr.String())
			}
			frames := 0
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				cols := strings.Split(line, "\t")
				if len(cols) != len(tsharkFields)+1 {
					t.Fatalf("tshark line %q: %d columns, want %d", line, len(cols), len(tsharkFields)+1)
				}
				frame, err := strconv.Atoi(cols[0])
				if err != nil {
					t.Fatalf("tshark line %q: %v", line, err)
				}
				pkt, ok := ours[frame]
				if !ok {
					t.Errorf("frame %d: tshark sees MPTCP options, mptcp decode has no packet", frame)
					continue
				}
				frames++
				for i, f := range tsharkFields {
					var theirs []string
					if cols[i+1] != "" {
						for _, v := range strings.Split(cols[i+1], ",") {
							theirs = append(theirs, norm(v))
						}
					}
					mine := ourValues(pkt, f.field, f.ours)
					slices.Sort(theirs)
					slices.Sort(mine)
					if f.field == "tcp.options.mptcp.checksum" && !slices.Equal(theirs, mine) {
						// Wireshark 4.0 does not dissect the DSS checksum
						// (newer versions do): then compare MP_CAPABLE's
						// alone. trace verifies DSS checksums against the
						// payload itself.
						mine = ourValues(pkt, f.field, map[string][]string{"MP_CAPABLE": {"checksum"}})
					}
					if !slices.Equal(theirs, mine) {
						t.Errorf("frame %d %s: tshark %q, mptcp decode %q", frame, f.field, theirs, mine)
					}
				}
			}
			// Every packet we decoded with MPTCP options must be one tshark saw too.
			seen := 0
			for _, pkt := range ours {
				if opts, _ := pkt["mptcp"].([]any); len(opts) > 0 {
					seen++
				}
			}
			if seen != frames {
				t.Errorf("mptcp decode found MPTCP options in %d packets, tshark in %d", seen, frames)
			}
			if frames == 0 {
				t.Error("no MPTCP packet in the capture")
			}
		})
	}
}
