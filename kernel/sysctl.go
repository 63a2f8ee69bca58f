package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SysctlDir is where the kernel exposes the MPTCP sysctls of the opening
// thread's network namespace.
const SysctlDir = "/proc/sys/net/mptcp"

// SysctlValues holds the MPTCP knobs of one network namespace
// (Documentation/networking/mptcp-sysctl.rst). Knobs the kernel does not
// have keep their zero value; Has tells which were present.
type SysctlValues struct {
	// Enabled: whether MPTCP sockets can be created.
	Enabled bool `json:"enabled"`
	// AddAddrTimeout: the maximum ADD_ADDR retransmission timeout
	// (RFC 8684 §3.4.1); 0 disables retransmission.
	AddAddrTimeout time.Duration `json:"add_addr_timeout_ns"`
	// AddAddrV6PortDropTS: drop TCP timestamps to make room for an ADD_ADDR
	// carrying an IPv6 address and a port.
	AddAddrV6PortDropTS bool `json:"add_addr_v6_port_drop_ts"`
	// AllowJoinInitialAddrPort: accept MP_JOINs to the initial address and
	// port; false sets the C flag of MP_CAPABLE (RFC 8684 §3.1).
	AllowJoinInitialAddrPort bool `json:"allow_join_initial_addr_port"`
	// AvailablePathManagers lists the registered path managers (read-only).
	AvailablePathManagers []string `json:"available_path_managers"`
	// AvailableSchedulers lists the registered packet schedulers (read-only).
	AvailableSchedulers []string `json:"available_schedulers"`
	// BlackholeTimeout: how long MPTCP stays disabled after a firewall
	// black hole was detected; 0 disables the detection.
	BlackholeTimeout time.Duration `json:"blackhole_timeout_ns"`
	// ChecksumEnabled: request DSS checksums (RFC 8684 §3.3).
	ChecksumEnabled bool `json:"checksum_enabled"`
	// CloseTimeout: how long a connection without subflows lingers
	// (make-after-break).
	CloseTimeout time.Duration `json:"close_timeout_ns"`
	// PathManager: the default path manager ("kernel", "userspace").
	PathManager string `json:"path_manager"`
	// PMType: 0 kernel, 1 userspace; superseded by PathManager.
	PMType int `json:"pm_type"`
	// Scheduler: the default packet scheduler.
	Scheduler string `json:"scheduler"`
	// StaleLossCnt: MPTCP-level retransmission timeouts without progress
	// before a subflow is marked stale.
	StaleLossCnt uint32 `json:"stale_loss_cnt"`
	// SynRetransBeforeTCPFallback: SYN+MP_CAPABLE retransmissions before
	// falling back to TCP.
	SynRetransBeforeTCPFallback uint8 `json:"syn_retrans_before_tcp_fallback"`

	// Raw maps every file found to its content without the trailing
	// newline, unknown knobs of newer kernels included.
	Raw map[string]string `json:"raw"`
}

// Has reports whether the kernel has the named knob.
func (s *SysctlValues) Has(name string) bool {
	_, ok := s.Raw[name]
	return ok
}

// Unknown returns, sorted, the knobs found that this package does not know.
func (s *SysctlValues) Unknown() []string {
	var out []string
	for n := range s.Raw {
		if _, ok := sysctlKnobs[n]; !ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

type knobKind int

const (
	knobBool    knobKind = iota // "0" or "1"
	knobInt                     // an integer within [min, max]
	knobSeconds                 // an integer number of seconds within [min, max]
	knobString                  // a name; scheduler or path manager
	knobList                    // space-separated names, read-only
)

type knob struct {
	kind     knobKind
	readOnly bool
	min, max int64
	// choices names the knob listing the valid values of a knobString.
	choices string
	set     func(s *SysctlValues, v int64, str string)
}

const maxInt32 = 1<<31 - 1

// sysctlKnobs describes every knob of LINUX-MPTCP §2 with the ranges the
// kernel enforces (net/mptcp/ctrl.c).
var sysctlKnobs = map[string]knob{
	"enabled": {kind: knobBool, set: func(s *SysctlValues, v int64, _ string) { s.Enabled = v != 0 }},
	"add_addr_timeout": {kind: knobSeconds, max: maxInt32,
		set: func(s *SysctlValues, v int64, _ string) { s.AddAddrTimeout = time.Duration(v) * time.Second }},
	"add_addr_v6_port_drop_ts": {kind: knobBool,
		set: func(s *SysctlValues, v int64, _ string) { s.AddAddrV6PortDropTS = v != 0 }},
	"allow_join_initial_addr_port": {kind: knobBool,
		set: func(s *SysctlValues, v int64, _ string) { s.AllowJoinInitialAddrPort = v != 0 }},
	"available_path_managers": {kind: knobList, readOnly: true,
		set: func(s *SysctlValues, _ int64, str string) { s.AvailablePathManagers = strings.Fields(str) }},
	"available_schedulers": {kind: knobList, readOnly: true,
		set: func(s *SysctlValues, _ int64, str string) { s.AvailableSchedulers = strings.Fields(str) }},
	"blackhole_timeout": {kind: knobSeconds, max: maxInt32,
		set: func(s *SysctlValues, v int64, _ string) { s.BlackholeTimeout = time.Duration(v) * time.Second }},
	"checksum_enabled": {kind: knobBool, set: func(s *SysctlValues, v int64, _ string) { s.ChecksumEnabled = v != 0 }},
	"close_timeout": {kind: knobSeconds, max: maxInt32,
		set: func(s *SysctlValues, v int64, _ string) { s.CloseTimeout = time.Duration(v) * time.Second }},
	"path_manager": {kind: knobString, choices: "available_path_managers",
		set: func(s *SysctlValues, _ int64, str string) { s.PathManager = str }},
	"pm_type": {kind: knobInt, max: 1, set: func(s *SysctlValues, v int64, _ string) { s.PMType = int(v) }},
	"scheduler": {kind: knobString, choices: "available_schedulers",
		set: func(s *SysctlValues, _ int64, str string) { s.Scheduler = str }},
	"stale_loss_cnt": {kind: knobInt, max: 1<<32 - 1,
		set: func(s *SysctlValues, v int64, _ string) { s.StaleLossCnt = uint32(v) }},
	"syn_retrans_before_tcp_fallback": {kind: knobInt, max: 255,
		set: func(s *SysctlValues, v int64, _ string) { s.SynRetransBeforeTCPFallback = uint8(v) }},
}

// maxSysctlSize bounds what is read from one knob file.
const maxSysctlSize = 4096

// ReadSysctls reads every knob file at the top of fsys (normally
// os.DirFS(SysctlDir)) and decodes the known ones. Files that cannot be
// read for lack of permission are skipped; a known knob with an
// unparsable value is an error wrapping ErrMalformed.
func ReadSysctls(fsys fs.FS) (*SysctlValues, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sysctls: %w", ErrNoMPTCP)
		}
		return nil, fmt.Errorf("sysctls: %w", err)
	}
	s := &SysctlValues{Raw: make(map[string]string, len(entries))}
	for _, e := range entries {
		if e.IsDir() || !validKnobName(e.Name()) {
			continue
		}
		data, err := readKnob(fsys, e.Name())
		if errors.Is(err, fs.ErrPermission) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sysctl %s: %w", e.Name(), err)
		}
		v := strings.TrimRight(string(data), "\n")
		s.Raw[e.Name()] = v
		k, ok := sysctlKnobs[e.Name()]
		if !ok {
			continue
		}
		n, err := parseKnob(k, v)
		if err != nil {
			return nil, fmt.Errorf("sysctl %s: %w", e.Name(), err)
		}
		k.set(s, n, v)
	}
	return s, nil
}

func readKnob(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxSysctlSize+1)
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	if n > maxSysctlSize {
		return nil, malformed("more than %d bytes", maxSysctlSize)
	}
	return buf[:n], nil
}

// parseKnob checks v against k and returns its numeric value (0 for
// strings and lists).
func parseKnob(k knob, v string) (int64, error) {
	switch k.kind {
	case knobBool, knobInt, knobSeconds:
		lo, hi := k.min, k.max
		if k.kind == knobBool {
			lo, hi = 0, 1
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, malformed("value %q is not an integer", v)
		}
		if n < lo || n > hi {
			return 0, malformed("value %d is outside [%d, %d]", n, lo, hi)
		}
		return n, nil
	case knobString:
		if !validKnobName(v) {
			return 0, malformed("value %q is not a name", v)
		}
	case knobList:
		for _, f := range strings.Fields(v) {
			if !validKnobName(f) {
				return 0, malformed("value %q is not a list of names", v)
			}
		}
	}
	return 0, nil
}

// validKnobName accepts the names knobs, schedulers and path managers use.
func validKnobName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateSysctl checks that value suits the named knob without writing
// it: the knob must be known and writable and the value of the right type
// and range. For the scheduler and path manager the choices are checked
// against available, when it is not nil (as Sysctls reports them).
func ValidateSysctl(name, value string, available *SysctlValues) error {
	k, ok := sysctlKnobs[name]
	if !ok {
		if !validKnobName(name) {
			return fmt.Errorf("sysctl %q: not a knob name", name)
		}
		return fmt.Errorf("sysctl %s: unknown knob", name)
	}
	if k.readOnly {
		return fmt.Errorf("sysctl %s: read-only", name)
	}
	if _, err := parseKnob(k, value); err != nil {
		return fmt.Errorf("sysctl %s: %w", name, err)
	}
	if k.kind == knobString && available != nil && available.Has(k.choices) {
		choices := strings.Fields(available.Raw[k.choices])
		if !slices.Contains(choices, value) {
			return fmt.Errorf("sysctl %s: %q is not one of %s (%s)", name, value, k.choices, strings.Join(choices, ", "))
		}
	}
	return nil
}

// setSysctlIn validates and writes one knob in dir. Unknown knobs that
// exist in dir (those of newer kernels) are written as given, provided the
// value is a single line.
func setSysctlIn(dir, name, value string) error {
	if !validKnobName(name) {
		return fmt.Errorf("sysctl %q: not a knob name", name)
	}
	cur, err := ReadSysctls(os.DirFS(dir))
	if err != nil {
		return err
	}
	if !cur.Has(name) {
		return fmt.Errorf("sysctl %s: no such knob in %s", name, dir)
	}
	if _, known := sysctlKnobs[name]; known {
		if err := ValidateSysctl(name, value, cur); err != nil {
			return err
		}
	} else if value == "" || strings.ContainsAny(value, "\n\x00") || len(value) > maxSysctlSize {
		return fmt.Errorf("sysctl %s: value must be one non-empty line", name)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", name, err)
	}
	if _, err := f.WriteString(value + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("sysctl %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sysctl %s: %w", name, err)
	}
	return nil
}
