package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// reporter prints events on stderr, one line each: plain text, or one JSON
// object per line with --json.
type reporter struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func newReporter(w io.Writer, json bool) *reporter {
	return &reporter{w: w, json: json}
}

func (r *reporter) emitJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain strings, numbers and booleans are marshalled.
		b = []byte(`{"event":"error","error":` + strconv.Quote(err.Error()) + `}`)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w.Write(append(b, '\n'))
}

func (r *reporter) emitText(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format+"\n", a...)
}

// listening reports the address a listener is bound to. mptcp is nil when
// the socket protocol could not be read.
func (r *reporter) listening(addr string, mptcp *bool) {
	if r.json {
		r.emitJSON(struct {
			Event string `json:"event"`
			Addr  string `json:"addr"`
			MPTCP *bool  `json:"mptcp,omitempty"`
		}{"listening", addr, mptcp})
		return
	}
	proto := ""
	if mptcp != nil {
		proto = " (plain TCP)"
		if *mptcp {
			proto = " (MPTCP)"
		}
	}
	r.emitText("linuxpeer: listening on %s%s", addr, proto)
}

// summary reports one finished connection.
func (r *reporter) summary(s *summary) {
	if r.json {
		r.emitJSON(s)
		return
	}
	line := fmt.Sprintf("linuxpeer %s: %s -> %s mptcp=%t/%t sent=%d sha256=%s received=%d sha256=%s %.1fms",
		s.Role, s.Local, s.Remote, s.MPTCPAtStart, s.MPTCP,
		s.BytesSent, s.SHA256Sent, s.BytesReceived, s.SHA256Received, s.DurationMS)
	if s.Fastclose {
		line += " fastclose"
	}
	if s.Reset {
		line += " reset-by-peer"
	}
	if s.Error != "" {
		line += " error: " + s.Error
	}
	r.emitText("%s", line)
}

// fail reports the error that ends the command, unless a summary line
// already did.
func (r *reporter) fail(cmd string, err error) {
	if errors.Is(err, errReported) {
		return
	}
	if r.json {
		r.emitJSON(struct {
			Event   string `json:"event"`
			Command string `json:"command"`
			Error   string `json:"error"`
		}{"error", cmd, err.Error()})
		return
	}
	r.emitText("linuxpeer %s: %v", cmd, err)
}
