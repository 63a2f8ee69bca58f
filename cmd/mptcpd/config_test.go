package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gomptcp/mptcp/mptcpd"
)

// files returns a readFile serving the given contents.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(s), nil
	}
}

// summary is what the tests compare of a config.
type summary struct {
	LogTarget, LogFormat string
	LogLevel             slog.Level
	Plugins              []string
	Opts                 map[string]map[string]string
	Filter               mptcpd.AddrFilter
	SetPM                bool
	Metrics, Netns       string
}

func summarize(c *config) summary {
	var names []string
	for _, p := range c.plugins {
		names = append(names, p.Name())
	}
	return summary{c.logTarget, c.logFormat, c.logLevel, names, c.pluginOpts, c.filter, c.setPM, c.metrics, c.netns}
}

func defaults() summary {
	return summary{LogTarget: "stderr", LogFormat: "text", LogLevel: slog.LevelInfo, Plugins: []string{"sspi"},
		Opts: map[string]map[string]string{}}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		files map[string]string
		want  func(*summary)
	}{
		{"defaults", nil, nil, func(*summary) {}},
		{"flags", []string{"--log-format", "json", "-log-level=debug", "--plugins", "sspi,backup,ndiffports",
			"-o", "backup.interfaces=wwan0", "-o", "ndiffports.count = 4", "--include-interfaces", "eth*, wl*",
			"--exclude-interfaces=wlan9", "--link-local", "--set-path-manager", "--metrics", "[::1]:9150",
			"--netns", "blue", "--log-target", "/var/log/mptcpd.log"},
			nil, func(s *summary) {
				s.LogFormat, s.LogLevel, s.LogTarget = "json", slog.LevelDebug, "/var/log/mptcpd.log"
				s.Plugins = []string{"sspi", "backup", "ndiffports"}
				s.Opts = map[string]map[string]string{"backup": {"interfaces": "wwan0"}, "ndiffports": {"count": "4"}}
				s.Filter = mptcpd.AddrFilter{Include: []string{"eth*", "wl*"}, Exclude: []string{"wlan9"}, LinkLocal: true}
				s.SetPM, s.Metrics, s.Netns = true, "[::1]:9150", "blue"
			}},
		{"a file", []string{"-config", "/etc/m.conf"}, map[string]string{"/etc/m.conf": `
# comment
; another
log-level = warn
plugins = "addr_adv"
addr-flags = signal backup
link-local = yes
addr_adv.keep-on-exit = true
metrics = 127.0.0.1:0
`}, func(s *summary) {
			s.LogLevel = slog.LevelWarn
			s.Plugins = []string{"addr_adv"}
			s.Opts = map[string]map[string]string{"addr_adv": {"keep-on-exit": "true", "flags": "signal backup"}}
			s.Filter.LinkLocal = true
			s.Metrics = "127.0.0.1:0"
		}},
		{"flags override the file", []string{"--log-level", "error", "-o", "ndiffports.count=5", "-config", "c",
			"--link-local=false"}, map[string]string{"c": "log-level = debug\nlink-local = true\nndiffports.count = 3\n" +
			"plugins = ndiffports\nlog-format = syslog\n"},
			func(s *summary) {
				s.LogLevel, s.LogFormat = slog.LevelError, "syslog"
				s.Plugins = []string{"ndiffports"}
				s.Opts = map[string]map[string]string{"ndiffports": {"count": "5"}}
			}},
		{"addr_adv.flags wins over addr-flags", []string{"--plugins", "addr_adv", "--addr-flags", "signal",
			"-o", "addr_adv.flags=subflow"}, nil, func(s *summary) {
			s.Plugins = []string{"addr_adv"}
			s.Opts = map[string]map[string]string{"addr_adv": {"flags": "subflow"}}
		}},
		{"options of plugins not loaded are kept", []string{"-o", "fullmesh.max-subflows=3"}, nil, func(s *summary) {
			s.Opts = map[string]map[string]string{"fullmesh": {"max-subflows": "3"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, files(tt.files))
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			want := defaults()
			tt.want(&want)
			if diff := cmp.Diff(want, summarize(cfg), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		args  []string
		files map[string]string
		want  string
	}{
		{[]string{"--bogus"}, nil, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{[]string{"--log-format", "xml"}, nil, `log-format: "xml" is not text, json or syslog`},
		{[]string{"--log-level", "loud"}, nil, `log-level: "loud" is not debug, info, warn or error`},
		{[]string{"--log-target="}, nil, "log-target: empty"},
		{[]string{"--link-local=maybe"}, nil, `invalid boolean value "maybe"`},
		{[]string{"--metrics", "9150"}, nil, `metrics: "9150" is not HOST:PORT`},
		{[]string{"--metrics", "localhost:http"}, nil, `metrics: bad port "http"`},
		{[]string{"--plugins", ""}, nil, "plugins: no plugin to load"},
		{[]string{"--plugins", "sspi,sspi"}, nil, "plugins: sspi listed twice"},
		{[]string{"--plugins", "teleport"}, nil, `unknown plugin "teleport"`},
		{[]string{"--plugins", "backup"}, nil, "plugin backup: option interfaces is required"},
		{[]string{"-o", "ndiffports.count=0", "--plugins", "ndiffports"}, nil, "option count: 0 is outside [1, 32]"},
		{[]string{"-o", "ndiffports.cnt=2"}, nil, `plugin ndiffports has no option "cnt"`},
		{[]string{"-o", "warp.speed=9"}, nil, `option for unknown plugin "warp"`},
		{[]string{"-o", "ndiffports"}, nil, `"ndiffports": want PLUGIN.OPTION=VALUE`},
		{[]string{"-o", ".count=2"}, nil, `".count": want PLUGIN.OPTION`},
		{[]string{"--include-interfaces", "eth["}, nil, `interface pattern "eth["`},
		{[]string{"--plugins", "addr_adv,sspi", "--set-path-manager"}, nil, "but addr_adv works with the in-kernel one"},
		{[]string{"--plugins", "addr_adv", "--addr-flags", "signal,fullmesh"}, nil, "fullmesh cannot be combined with signal"},
		{[]string{"-config", "missing.conf"}, nil, "reading the configuration file: open missing.conf"},
		{[]string{"-config", "c"}, map[string]string{"c": "plugins sspi\n"}, "c: line 1: want key = value"},
		{[]string{"-config", "c"}, map[string]string{"c": "\n\nlogs = x\n"}, `c:3: unknown key "logs"`},
		{[]string{"-config", "c"}, map[string]string{"c": "log level = x\n"}, `c: line 1: bad key "log level"`},
		{[]string{"-config", "c"}, map[string]string{"c": "plugins = a\nplugins = b\n"}, "c: line 2: plugins already set on line 1"},
		{[]string{"-config", "c"}, map[string]string{"c": `log-level = "de"bug"` + "\n"}, `c: line 1: bad quoted value`},
		{[]string{"-config", "c"}, map[string]string{"c": "link-local = 2\n"}, `c:1: link-local: "2" is not a boolean`},
		{[]string{"-config", "c"}, map[string]string{"c": "set-path-manager = 1\nplugins = addr_adv\n"}, "works with the in-kernel one"},
		{[]string{"-config", "c"}, map[string]string{"c": "sspi. = 1\n"}, `c:1: "sspi.": want PLUGIN.OPTION`},
		{[]string{"-config", "c"}, map[string]string{"c": strings.Repeat("#", maxConfigSize+1)}, "larger than"},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.args, files(tt.files))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errUsage) {
			t.Errorf("parseConfig(%q) = %v, want a usage error containing %q", tt.args, err, tt.want)
		}
	}
	if _, err := parseConfig([]string{"-h"}, files(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseConfig(-h) = %v, want flag.ErrHelp", err)
	}
}

// TestExampleFiles parses the example configuration and the unit's command
// line.
func TestExampleFiles(t *testing.T) {
	conf, err := os.ReadFile("mptcpd.conf")
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("mptcpd.service")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, l := range strings.Split(string(unit), "\n") {
		if cmd, ok := strings.CutPrefix(l, "ExecStart="); ok {
			args = strings.Fields(cmd)[1:]
		}
	}
	if len(args) == 0 {
		t.Fatal("mptcpd.service has no ExecStart")
	}
	cfg, err := parseConfig(args, files(map[string]string{"/etc/mptcpd/mptcpd.conf": string(conf)}))
	if err != nil {
		t.Fatalf("the unit's command line with the example configuration: %v", err)
	}
	want := summary{
		LogTarget: "stderr", LogFormat: "syslog", LogLevel: slog.LevelInfo, Plugins: []string{"sspi", "backup"},
		Opts: map[string]map[string]string{
			"backup": {"interfaces": "wwan*, usb*"}, "sspi": {"bind": "true"}, "ndiffports": {"count": "2"},
			"fullmesh": {"max-subflows": "8"}, "addr_adv": {"flags": "subflow"},
		},
		Filter:  mptcpd.AddrFilter{Exclude: []string{"docker*", "veth*", "virbr*"}},
		SetPM:   true,
		Metrics: "127.0.0.1:9150",
	}
	if diff := cmp.Diff(want, summarize(cfg), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// formatConfig writes entries back as a configuration file.
func formatConfig(entries []configEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s = %q\n", e.key, e.value)
	}
	return b.String()
}

func FuzzParseConfigFile(f *testing.F) {
	if conf, err := os.ReadFile("mptcpd.conf"); err == nil {
		f.Add(conf)
	}
	f.Add([]byte("a = b\n# c\n;d\n\"x\" = 1\nk = \"v\\n\"\n"))
	f.Add([]byte("plugins = a\nplugins = b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseConfigFile(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !validKey(e.key) {
				t.Fatalf("invalid key %q accepted", e.key)
			}
		}
		again, err := parseConfigFile([]byte(formatConfig(entries)))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", formatConfig(entries), err)
		}
		for i := range entries {
			entries[i].line, again[i].line = 0, 0
		}
		if diff := cmp.Diff(entries, again, cmp.AllowUnexported(configEntry{})); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
