//go:build linux

package kerneltest

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// SSSocket is one socket as "ss -nai" prints it: the columns of its first
// line and the details of its indented second line.
type SSSocket struct {
	State, RecvQ, SendQ, Local, Peer string
	Details                          string
}

// SSSubflow is the MPTCP part of a TCP socket in "ss -tnai" output
// ("tcp-ulp-mptcp flags:… token:…(id:…)/…(id:…) seq:… sfseq:… ssnoff:…
// maplen:…"), with fields as ss prints them (hexadecimal where ss uses
// hexadecimal). Listening subflows have only State, Local and Peer.
type SSSubflow struct {
	State, Local, Peer                      string
	Flags, TokenRem, IDRem, TokenLoc, IDLoc string
	Seq, SfSeq, SSNOff, MapLen              string
}

// SS runs "ss ARGS" inside the namespace and splits its output into
// sockets. It skips the test if ss is not installed.
func (n *Netns) SS(t testing.TB, args ...string) []SSSocket {
	t.Helper()
	RequireTool(t, "ss")
	out := n.Exec(t, "ss", args...)
	return ParseSS(out)
}

// ParseSS splits the output of "ss -nai"-like commands (with or without a
// header line) into sockets.
func ParseSS(out string) []SSSocket {
	var socks []SSSocket
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") {
			if len(socks) > 0 {
				socks[len(socks)-1].Details += " " + strings.TrimSpace(line)
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 || f[0] == "State" || f[0] == "Netid" {
			continue
		}
		socks = append(socks, SSSocket{State: f[0], RecvQ: f[1], SendQ: f[2], Local: f[3], Peer: f[4]})
	}
	return socks
}

var (
	ssULP      = regexp.MustCompile(`\btcp-ulp-mptcp\b`)
	ssFlags    = regexp.MustCompile(`\btcp-ulp-mptcp flags:(\S+)`)
	ssTokens   = regexp.MustCompile(`\btoken:([0-9a-f]+)\(id:(\d+)\)/([0-9a-f]+)\(id:(\d+)\)`)
	ssSeq      = regexp.MustCompile(`\bseq:([0-9a-f]+)`)
	ssSfSeq    = regexp.MustCompile(`\bsfseq:([0-9a-f]+)`)
	ssSSNOff   = regexp.MustCompile(`\bssnoff:([0-9a-f]+)`)
	ssMapLen   = regexp.MustCompile(`\bmaplen:([0-9a-f]+)`)
	ssMPTCPTok = regexp.MustCompile(`\btoken:([0-9a-f]+)\b`)
)

// SSSubflows runs "ss -tnai" in the namespace and returns its MPTCP
// subflows.
func (n *Netns) SSSubflows(t testing.TB) []SSSubflow {
	t.Helper()
	return ParseSSSubflows(n.SS(t, "-tnai"))
}

// ParseSSSubflows extracts the MPTCP subflows of parsed "ss -tnai" output.
func ParseSSSubflows(socks []SSSocket) []SSSubflow {
	var out []SSSubflow
	for _, s := range socks {
		if !ssULP.MatchString(s.Details) {
			continue
		}
		sf := SSSubflow{State: s.State, Local: s.Local, Peer: s.Peer}
		if m := ssFlags.FindStringSubmatch(s.Details); m != nil && !strings.Contains(m[1], ":") {
			sf.Flags = m[1]
		}
		if m := ssTokens.FindStringSubmatch(s.Details); m != nil {
			sf.TokenRem, sf.IDRem, sf.TokenLoc, sf.IDLoc = m[1], m[2], m[3], m[4]
		}
		for _, f := range []struct {
			re  *regexp.Regexp
			dst *string
		}{{ssSeq, &sf.Seq}, {ssSfSeq, &sf.SfSeq}, {ssSSNOff, &sf.SSNOff}, {ssMapLen, &sf.MapLen}} {
			if m := f.re.FindStringSubmatch(s.Details); m != nil {
				*f.dst = m[1]
			}
		}
		out = append(out, sf)
	}
	return out
}

// SSToken returns the "token:" value ss -M prints for an MPTCP socket, or
// "" if there is none.
func SSToken(s SSSocket) string {
	if m := ssMPTCPTok.FindStringSubmatch(s.Details); m != nil {
		return m[1]
	}
	return ""
}

// SSConn is an MPTCP socket as "ss -Mnai" lists it: its state, addresses
// and token (see SSToken).
type SSConn struct {
	State, Local, Peer, Token string
}

// SSConns runs "ss -Mnai" in the namespace and returns its MPTCP sockets.
func (n *Netns) SSConns(t testing.TB) []SSConn {
	t.Helper()
	var out []SSConn
	for _, s := range n.SS(t, "-Mnai") {
		out = append(out, SSConn{State: s.State, Local: s.Local, Peer: s.Peer, Token: SSToken(s)})
	}
	return out
}

// CompareSS checks MPTCP sockets and subflows, written in ss's terms, with
// what ss prints inside the namespace: conns with "ss -Mnai" and subflows
// with the MPTCP subflows of "ss -tnai", whatever their order. It reports
// differences with t.Errorf.
func (n *Netns) CompareSS(t testing.TB, conns []SSConn, subflows []SSSubflow) {
	t.Helper()
	if diff := diffSorted(n.SSConns(t), conns, SSConn.key); diff != "" {
		t.Errorf("%s: MPTCP sockets differ from ss -M (-ss +ours):\n%s", n.Name, diff)
	}
	if diff := diffSorted(n.SSSubflows(t), subflows, SSSubflow.key); diff != "" {
		t.Errorf("%s: subflows differ from ss -tnai (-ss +ours):\n%s", n.Name, diff)
	}
}

func (c SSConn) key() string    { return c.State + " " + c.Local + " " + c.Peer }
func (s SSSubflow) key() string { return s.State + " " + s.Local + " " + s.Peer }

// diffSorted compares copies of want and got sorted by key.
func diffSorted[T any](want, got []T, key func(T) string) string {
	want, got = slices.Clone(want), slices.Clone(got)
	for _, l := range [][]T{want, got} {
		slices.SortFunc(l, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	}
	return cmp.Diff(want, got)
}
