package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// newLogger returns the daemon's logger writing to w in the configured
// format.
func newLogger(format string, level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	case "syslog":
		return slog.New(&syslogHandler{w: w, level: level, mu: new(sync.Mutex)})
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// syslogHandler writes records as "<PRIORITY>message key=value ..." lines
// without a timestamp: the form systemd-journald (SyslogLevelPrefix) and
// syslog daemons read, adding the time themselves. PRIORITY is the syslog
// severity (RFC 5424 §6.2.1): 7 debug, 6 info, 4 warning, 3 error.
type syslogHandler struct {
	w      io.Writer
	level  slog.Level
	mu     *sync.Mutex
	prefix string // attributes added with WithAttrs, formatted
	group  string // group prefix of keys ("g.")
}

func (h *syslogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func severity(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}

func (h *syslogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>", severity(r.Level))
	b.WriteString(strings.Map(noControl, r.Message))
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *syslogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		appendAttr(&b, h.group, a)
	}
	h2 := *h
	h2.prefix += b.String()
	return &h2
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group += name + "."
	return &h2
}

// appendAttr writes " key=value", quoting values that need it; groups
// flatten to dotted keys.
func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, g, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if v == "" || strings.ContainsFunc(v, func(r rune) bool {
		return r == ' ' || r == '"' || r == '=' || unicode.IsControl(r)
	}) {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

// noControl drops control characters from a message, so that a record is
// always one line.
func noControl(r rune) rune {
	if unicode.IsControl(r) {
		return ' '
	}
	return r
}
