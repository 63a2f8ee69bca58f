package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// Wireshark's expert levels and groups (epan/proto.h, PI_*), as tshark
// prints _ws.expert.severity and _ws.expert.group.
const (
	tsharkSeverityError  = 0x00800000 // PI_ERROR
	tsharkGroupMalformed = 0x07000000 // PI_MALFORMED
)

// TSharkReport is what tshark's dissectors make of a capture: an
// independent decoder of every MPTCP option, and Wireshark's expert
// analysis of the MPTCP connections (tcp.analyze_mptcp, on by default).
type TSharkReport struct {
	Frames int
	// Options counts the MPTCP options tshark decoded, by subtype name
	// ("DSS", "MP_JOIN", …: wire.MPTCPSubtype's names).
	Options map[string]int
	// Problems lists, one line each, the frames tshark found malformed
	// or flagged with an error-level expert item, or with one of the
	// MPTCP dissector's connection expert items (echoed key mismatch, no
	// or unsupported crypto algorithm).
	Problems []string
	// InfiniteMappings counts the frames with an infinite mapping (a
	// fallback, RFC 8684 §3.7), kept apart: some tests expect them.
	InfiniteMappings int
}

// tsharkFields are the fields TShark asks for, in the order
// parseTSharkFields reads them.
var tsharkFields = []string{
	"frame.number",
	"tcp.options.mptcp.subtype",
	"_ws.expert.severity",
	"_ws.expert.group",
	"_ws.expert.message",
	"mptcp.connection.echoed_key_mismatch",
	"mptcp.connection.missing_algorithm",
	"mptcp.connection.unsupported_algorithm",
	"mptcp.dss.infinite_mapping",
}

// ErrNoTShark: tshark is not installed.
var ErrNoTShark = errors.New("interop: tshark is not installed")

// TShark decodes the capture at path with tshark. The payload of
// connections on ports is decoded as plain data (port 7000 is AFS's, whose
// dissector would otherwise take the test payload for malformed AFS
// packets).
func TShark(ctx context.Context, path string, ports ...uint16) (*TSharkReport, error) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		return nil, ErrNoTShark
	}
	args := []string{"-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t"}
	for _, p := range ports {
		args = append(args, "-d", fmt.Sprintf("tcp.port==%d,data", p))
	}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseTSharkFields(bytes.NewReader(out))
}

// ErrBadTSharkLine wraps the errors of parseTSharkFields.
var ErrBadTSharkLine = errors.New("interop: bad tshark line")

// parseTSharkFields reads tshark's -T fields output for tsharkFields:
// one line per frame, the fields separated by tabs, the occurrences of a
// field by '|'.
func parseTSharkFields(r io.Reader) (*TSharkReport, error) {
	rep := &TSharkReport{Options: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if len(f) != len(tsharkFields) {
			return rep, fmt.Errorf("%w %d: %d fields, want %d", ErrBadTSharkLine, line, len(f), len(tsharkFields))
		}
		frame, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return rep, fmt.Errorf("%w %d: frame number %q", ErrBadTSharkLine, line, f[0])
		}
		rep.Frames++
		subtypes, err := tsharkUints(f[1], 15)
		if err != nil {
			return rep, fmt.Errorf("%w %d: MPTCP subtype: %v", ErrBadTSharkLine, line, err)
		}
		for _, s := range subtypes {
			rep.Options[wire.MPTCPSubtype(s).String()]++
		}
		sev, err := tsharkUints(f[2], 1<<32-1)
		if err != nil {
			return rep, fmt.Errorf("%w %d: expert severity: %v", ErrBadTSharkLine, line, err)
		}
		grp, err := tsharkUints(f[3], 1<<32-1)
		if err != nil {
			return rep, fmt.Errorf("%w %d: expert group: %v", ErrBadTSharkLine, line, err)
		}
		var msgs []string
		if f[4] != "" {
			msgs = strings.Split(f[4], "|")
		}
		var problems []string
		for i := range max(len(sev), len(grp)) {
			bad := i < len(sev) && sev[i] >= tsharkSeverityError || i < len(grp) && grp[i] == tsharkGroupMalformed
			if !bad {
				continue
			}
			msg := "expert item"
			if i < len(msgs) {
				msg = msgs[i]
			}
			problems = append(problems, msg)
		}
		for i, name := range []string{"echoed key mismatch", "no crypto algorithm", "unsupported crypto algorithm"} {
			if f[5+i] != "" {
				problems = append(problems, "MPTCP: "+name)
			}
		}
		if f[8] != "" {
			rep.InfiniteMappings++
		}
		if len(problems) > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("frame %d: %s", frame, strings.Join(problems, "; ")))
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("%w: %v", ErrBadTSharkLine, err)
	}
	return rep, nil
}

// tsharkUints parses a '|'-separated list of unsigned integers, each at
// most maxV ("" is the empty list).
func tsharkUints(s string, maxV uint64) ([]uint64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, "|")
	out := make([]uint64, 0, len(parts))
	for _, p := range parts {
		v, err := strconv.ParseUint(p, 0, 64)
		if err != nil || v > maxV {
			return nil, fmt.Errorf("%q is not a number up to %d", p, maxV)
		}
		out = append(out, v)
	}
	return out, nil
}
