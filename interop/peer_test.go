package interop

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Lines printed by cmd/linuxpeer --json.
const (
	lineListening = `{"event":"listening","addr":"127.0.0.1:7000","mptcp":true}`
	lineSummary   = `{"event":"summary","role":"listen","local":"127.0.0.1:7000","remote":"127.0.0.1:55694","mptcp_at_start":true,"mptcp":true,"bytes_sent":0,"sha256_sent":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","bytes_received":0,"sha256_received":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","fastclose":false,"reset":true,"duration_ms":0.1,"error":"send: write tcp 127.0.0.1:7000-\u003e127.0.0.1:55694: write: connection reset by peer"}`
	lineSummary2  = `{"event":"summary","role":"connect","local":"127.0.0.1:55694","remote":"127.0.0.1:7000","mptcp_at_start":true,"mptcp":false,"bytes_sent":3,"sha256_sent":"d46b892acb38e6d9d2f93fab2621df39929be969e7a6245e8f8828e1e224b122","bytes_received":0,"sha256_received":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","fastclose":true,"reset":false,"duration_ms":1.966}`
	lineError     = `{"event":"error","command":"connect","error":"dial tcp 127.0.0.1:7001: connect: connection refused"}`
)

func TestParsePeerEvent(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		line string
		want PeerEvent
	}{
		{"listening", lineListening, PeerEvent{Event: "listening", Addr: "127.0.0.1:7000", ListenMPTCP: &yes}},
		{"summary with error", lineSummary, PeerEvent{Event: "summary", Summary: &PeerSummary{
			Role: "listen", Local: "127.0.0.1:7000", Remote: "127.0.0.1:55694", MPTCPAtStart: true, MPTCP: true,
			SHA256Sent:     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			SHA256Received: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			Reset:          true, DurationMS: 0.1,
			Error: "send: write tcp 127.0.0.1:7000->127.0.0.1:55694: write: connection reset by peer"}}},
		{"summary", lineSummary2 + "\n", PeerEvent{Event: "summary", Summary: &PeerSummary{
			Role: "connect", Local: "127.0.0.1:55694", Remote: "127.0.0.1:7000", MPTCPAtStart: true, BytesSent: 3,
			SHA256Sent:     "d46b892acb38e6d9d2f93fab2621df39929be969e7a6245e8f8828e1e224b122",
			SHA256Received: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			Fastclose:      true, DurationMS: 1.966}}},
		{"error", lineError, PeerEvent{Event: "error", Command: "connect", Error: "dial tcp 127.0.0.1:7001: connect: connection refused"}},
		{"unknown fields", `{"event":"listening","addr":"[::]:1","future":[1,2]}`, PeerEvent{Event: "listening", Addr: "[::]:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePeerEvent([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePeerEventErrors(t *testing.T) {
	for _, line := range []string{
		``,
		`linuxpeer listen: listening on [::]:7000 (MPTCP)`,
		`{"event":"listening"}`,
		`{"event":"summary","role":"server"}`,
		`{"event":"summary","role":"listen","bytes_sent":-1}`,
		`{"event":"summary","role":"listen","bytes_received":"many"}`,
		`{"event":"error"}`,
		`{"event":"bye"}`,
		`{"event":"listening","addr":"x"`,
		`[1,2]`,
	} {
		if ev, err := ParsePeerEvent([]byte(line)); !errors.Is(err, ErrBadPeerLine) {
			t.Errorf("ParsePeerEvent(%q) = %+v, %v; want ErrBadPeerLine", line, ev, err)
		}
	}
}

func FuzzParsePeerEvent(f *testing.F) {
	for _, s := range []string{lineListening, lineSummary, lineSummary2, lineError, `{"event":"summary","role":"listen"}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := ParsePeerEvent(line)
		if err != nil {
			if !errors.Is(err, ErrBadPeerLine) {
				t.Fatalf("error %v does not wrap ErrBadPeerLine", err)
			}
			return
		}
		switch ev.Event {
		case "listening":
			if ev.Addr == "" || ev.Summary != nil {
				t.Fatalf("%q: %+v", line, ev)
			}
		case "summary":
			s := ev.Summary
			if s == nil || s.Role != "listen" && s.Role != "connect" || s.BytesSent < 0 || s.BytesReceived < 0 || ev.ListenMPTCP != nil {
				t.Fatalf("%q: %+v", line, ev)
			}
		case "error":
			if ev.Error == "" {
				t.Fatalf("%q: %+v", line, ev)
			}
		default:
			t.Fatalf("%q: event %q accepted", line, ev.Event)
		}
	})
}
