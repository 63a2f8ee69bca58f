package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSyslogFormat(t *testing.T) {
	var b strings.Builder
	log := newLogger("syslog", slog.LevelInfo, &b)
	log.Debug("hidden")
	log.Info("local address added", "addr", "10.0.1.1", "id", 1)
	log.Warn("command failed", "err", `kernel says: "no"`, "empty", "")
	log.With("plugin", "sspi").WithGroup("sf").Error("two\nlines", slog.Group("addr", "local", "10.0.2.1:5"), "n", 3)
	log.Info("")
	want := []string{
		"<6>local address added addr=10.0.1.1 id=1",
		`<4>command failed err="kernel says: \"no\"" empty=""`,
		"<3>two lines plugin=sspi sf.addr.local=10.0.2.1:5 sf.n=3",
		"<6>",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLogFormats(t *testing.T) {
	var j strings.Builder
	newLogger("json", slog.LevelWarn, &j).Warn("x", "token", "1a2b3c4d")
	var m map[string]any
	if err := json.Unmarshal([]byte(j.String()), &m); err != nil || m["msg"] != "x" || m["token"] != "1a2b3c4d" || m["level"] != "WARN" {
		t.Errorf("json log %q: %v %v", j.String(), m, err)
	}
	var txt strings.Builder
	l := newLogger("text", slog.LevelError, &txt)
	l.Warn("dropped")
	l.Error("kept", "k", "v")
	if s := txt.String(); strings.Contains(s, "dropped") || !strings.Contains(s, `level=ERROR msg=kept k=v`) {
		t.Errorf("text log %q", s)
	}
}

func TestSeverity(t *testing.T) {
	for l, want := range map[slog.Level]int{slog.LevelDebug: 7, slog.LevelDebug + 2: 7, slog.LevelInfo: 6, slog.LevelWarn: 4,
		slog.LevelError: 3, slog.LevelError + 4: 3} {
		if got := severity(l); got != want {
			t.Errorf("severity(%v) = %d, want %d", l, got, want)
		}
	}
}
