package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gomptcp/mptcp/mptcpd"
)

// config is the daemon's configuration, from flags and the configuration
// file.
type config struct {
	configFile  string
	logTarget   string // "stderr", "stdout" or a file path
	logFormat   string // "text", "json" or "syslog"
	logLevel    slog.Level
	pluginNames []string
	pluginOpts  map[string]map[string]string // PLUGIN → OPTION → VALUE, file and flags merged
	plugins     []mptcpd.Plugin
	filter      mptcpd.AddrFilter
	setPM       bool
	metrics     string // listen address, "" for none
	netns       string // namespace name or path, "" for the current one
	listPlugins bool
}

// errUsage marks errors in flags or the configuration file: the command
// exits with status 2.
var errUsage = errors.New("usage")

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// setting is a configuration key, usable as a flag (--key) and in the
// configuration file (key = value).
type setting struct {
	name, def, usage string
	boolean          bool
	fileOnly         bool
}

var settings = []setting{
	{name: "log-target", def: "stderr", usage: "where the log goes: stderr, stdout or a file `PATH`"},
	{name: "log-format", def: "text", usage: "log `FORMAT`: text (key=value), json, or syslog (\"<priority>message\" lines for journald/syslog)"},
	{name: "log-level", def: "info", usage: "least severe `LEVEL` logged: debug, info, warn or error"},
	{name: "plugins", def: "sspi", usage: "`PLUGINS` to load, in order (comma-separated); see --list-plugins"},
	{name: "addr-flags", def: "", usage: "`FLAGS` of the endpoints addr_adv adds (signal, subflow, backup, fullmesh); same as addr_adv.flags"},
	{name: "include-interfaces", def: "", usage: "use only these `INTERFACES` (comma-separated names or patterns like eth*)"},
	{name: "exclude-interfaces", def: "", usage: "never use these `INTERFACES` (comma-separated names or patterns)"},
	{name: "link-local", def: "false", usage: "use link-local addresses (fe80::/10, 169.254.0.0/16)", boolean: true},
	{name: "set-path-manager", def: "false", usage: "set net.mptcp.path_manager=userspace at start and restore it on exit", boolean: true},
	{name: "metrics", def: "", usage: "serve Prometheus text metrics at http://`ADDR`/metrics (e.g. 127.0.0.1:9150)"},
	{name: "netns", def: "", usage: "manage this network namespace (a `NAME` under /run/netns or a path) instead of the current one"},
}

// stringValue is a flag holding a string; boolean ones accept being given
// without a value.
type stringValue struct {
	v       *string
	boolean bool
}

func (s stringValue) String() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

func (s stringValue) Set(v string) error {
	if s.boolean {
		b, ok := parseBool(v)
		if !ok {
			return fmt.Errorf("%q is not a boolean (true or false)", v)
		}
		v = strconv.FormatBool(b)
	}
	*s.v = v
	return nil
}

func (s stringValue) IsBoolFlag() bool { return s.boolean }

// pluginOpts collects -o PLUGIN.OPTION=VALUE flags.
type pluginOpts map[string]map[string]string

func (p pluginOpts) String() string { return "" }

func (p pluginOpts) Set(v string) error {
	key, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("%q: want PLUGIN.OPTION=VALUE", v)
	}
	return p.add(strings.TrimSpace(key), strings.TrimSpace(val))
}

func (p pluginOpts) add(key, val string) error {
	plugin, opt, ok := strings.Cut(key, ".")
	if !ok || plugin == "" || opt == "" {
		return fmt.Errorf("%q: want PLUGIN.OPTION", key)
	}
	if p[plugin] == nil {
		p[plugin] = map[string]string{}
	}
	p[plugin][opt] = val
	return nil
}

func newFlagSet(values map[string]*string, opts pluginOpts, cfgFile *string, list *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("mptcpd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(cfgFile, "config", "", "read settings from this `FILE` (key = value lines); flags override it")
	fs.BoolVar(list, "list-plugins", false, "list the plugins and their options, then exit")
	for _, s := range settings {
		v := s.def
		values[s.name] = &v
		fs.Var(stringValue{&v, s.boolean}, s.name, s.usage)
	}
	fs.Var(opts, "o", "plugin option `PLUGIN.OPTION=VALUE` (repeatable), e.g. -o ndiffports.count=4")
	return fs
}

// usage writes the command's help.
func usage(w io.Writer) {
	values := map[string]*string{}
	var cfgFile string
	var list bool
	fs := newFlagSet(values, pluginOpts{}, &cfgFile, &list)
	fmt.Fprintln(w, "usage: mptcpd [flags]")
	fmt.Fprintln(w, "\nmptcpd is a Multipath TCP path manager daemon for the Linux kernel: it watches the")
	fmt.Fprintln(w, "kernel's MPTCP events and the host's addresses and lets plugins open subflows,")
	fmt.Fprintln(w, "announce addresses and configure endpoints.\n\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nEvery flag but -config, -list-plugins and -o is also a key of the configuration")
	fmt.Fprintln(w, "file, as are plugin options (PLUGIN.OPTION = VALUE).")
}

// parseConfig reads the flags in args and the configuration file they
// name (read with readFile). Flags win over the file. It returns
// flag.ErrHelp for -h, and errors wrapping errUsage for bad input.
func parseConfig(args []string, readFile func(string) ([]byte, error)) (*config, error) {
	values := map[string]*string{}
	opts := pluginOpts{}
	cfg := &config{}
	fs := newFlagSet(values, opts, &cfg.configFile, &cfg.listPlugins)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageErr("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if cfg.configFile != "" {
		data, err := readFile(cfg.configFile)
		if err != nil {
			return nil, usageErr("reading the configuration file: %v", err)
		}
		entries, err := parseConfigFile(data)
		if err != nil {
			return nil, usageErr("%s: %v", cfg.configFile, err)
		}
		fileOpts := pluginOpts{}
		for _, e := range entries {
			where := fmt.Sprintf("%s:%d", cfg.configFile, e.line)
			if strings.Contains(e.key, ".") {
				if err := fileOpts.add(e.key, e.value); err != nil {
					return nil, usageErr("%s: %v", where, err)
				}
				continue
			}
			if !slices.ContainsFunc(settings, func(s setting) bool { return s.name == e.key }) {
				return nil, usageErr("%s: unknown key %q", where, e.key)
			}
			if set[e.key] {
				continue // the flag wins
			}
			if err := fs.Set(e.key, e.value); err != nil {
				return nil, usageErr("%s: %s: %v", where, e.key, err)
			}
		}
		// Options given as flags win over the file's.
		for p, m := range opts {
			for k, v := range m {
				if fileOpts[p] == nil {
					fileOpts[p] = map[string]string{}
				}
				fileOpts[p][k] = v
			}
		}
		opts = fileOpts
	}
	if err := cfg.finish(values, opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

// finish checks and converts the settings.
func (cfg *config) finish(values map[string]*string, opts pluginOpts) error {
	get := func(name string) string { return *values[name] }

	cfg.logTarget = get("log-target")
	if cfg.logTarget == "" {
		return usageErr("log-target: empty")
	}
	cfg.logFormat = get("log-format")
	switch cfg.logFormat {
	case "text", "json", "syslog":
	default:
		return usageErr("log-format: %q is not text, json or syslog", cfg.logFormat)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(get("log-level"))); err != nil {
		return usageErr("log-level: %q is not debug, info, warn or error", get("log-level"))
	}
	cfg.filter = mptcpd.AddrFilter{
		Include:   splitList(get("include-interfaces")),
		Exclude:   splitList(get("exclude-interfaces")),
		LinkLocal: get("link-local") == "true",
	}
	if err := cfg.filter.Validate(); err != nil {
		return usageErr("%v", err)
	}
	cfg.setPM = get("set-path-manager") == "true"
	cfg.metrics = get("metrics")
	if cfg.metrics != "" {
		_, port, err := net.SplitHostPort(cfg.metrics)
		if err != nil {
			return usageErr("metrics: %q is not HOST:PORT", cfg.metrics)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return usageErr("metrics: bad port %q", port)
		}
	}
	cfg.netns = get("netns")

	if f := get("addr-flags"); f != "" {
		if opts["addr_adv"] == nil {
			opts["addr_adv"] = map[string]string{}
		}
		if _, dup := opts["addr_adv"]["flags"]; !dup {
			opts["addr_adv"]["flags"] = f
		}
	}
	// Options of plugins that are not loaded are checked too, so that a
	// typo does not go unnoticed; NewPlugin checks the loaded ones.
	for _, name := range slices.Sorted(maps.Keys(opts)) {
		r, ok := mptcpd.Lookup(name)
		if !ok {
			return usageErr("option for unknown plugin %q", name)
		}
		for _, k := range slices.Sorted(maps.Keys(opts[name])) {
			if !slices.ContainsFunc(r.Options, func(o mptcpd.OptionSpec) bool { return o.Name == k }) {
				return usageErr("plugin %s has no option %q", name, k)
			}
		}
	}
	cfg.pluginOpts = opts
	cfg.pluginNames = splitList(get("plugins"))
	if len(cfg.pluginNames) == 0 && !cfg.listPlugins {
		return usageErr("plugins: no plugin to load")
	}
	var kernelMode []string
	for _, name := range cfg.pluginNames {
		if slices.ContainsFunc(cfg.plugins, func(p mptcpd.Plugin) bool { return p.Name() == name }) {
			return usageErr("plugins: %s listed twice", name)
		}
		p, err := mptcpd.NewPlugin(name, opts[name])
		if err != nil {
			return usageErr("%v", err)
		}
		cfg.plugins = append(cfg.plugins, p)
		if r, _ := mptcpd.Lookup(name); r.Mode == mptcpd.ModeKernel {
			kernelMode = append(kernelMode, name)
		}
	}
	if cfg.setPM && len(kernelMode) > 0 {
		return usageErr("set-path-manager selects the userspace path manager, but %s works with the in-kernel one",
			strings.Join(kernelMode, ", "))
	}
	return nil
}

// configEntry is one "key = value" line of the configuration file.
type configEntry struct {
	line       int
	key, value string
}

// maxConfigSize bounds the configuration file.
const maxConfigSize = 1 << 20

// parseConfigFile splits a configuration file into entries. The format:
// one "key = value" per line; blank lines and lines starting with # or ;
// are ignored; the value may be enclosed in double quotes. A key may
// appear once.
func parseConfigFile(data []byte) ([]configEntry, error) {
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigSize)
	}
	var out []configEntry
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxConfigSize)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value", n)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !validKey(key) {
			return nil, fmt.Errorf("line %d: bad key %q", n, key)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			uq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad quoted value %s", n, value)
			}
			value = uq
		}
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("line %d: %s already set on line %d", n, key, prev)
		}
		seen[key] = n
		out = append(out, configEntry{line: n, key: key, value: value})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %v", n+1, err)
	}
	return out, nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range []byte(k) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}
