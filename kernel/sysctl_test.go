package kernel

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// linux618Sysctls is /proc/sys/net/mptcp of a fresh Linux 6.18 namespace.
func linux618Sysctls() fstest.MapFS {
	files := map[string]string{
		"add_addr_timeout":                "120",
		"allow_join_initial_addr_port":    "1",
		"available_path_managers":         "kernel userspace",
		"available_schedulers":            "default",
		"blackhole_timeout":               "3600",
		"checksum_enabled":                "0",
		"close_timeout":                   "60",
		"enabled":                         "1",
		"path_manager":                    "kernel",
		"pm_type":                         "0",
		"scheduler":                       "default",
		"stale_loss_cnt":                  "4",
		"syn_retrans_before_tcp_fallback": "2",
	}
	fsys := fstest.MapFS{}
	for n, v := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(v + "\n"), Mode: 0o644}
	}
	return fsys
}

func TestReadSysctls(t *testing.T) {
	fsys := linux618Sysctls()
	got, err := ReadSysctls(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := &SysctlValues{
		Enabled: true, AddAddrTimeout: 120 * time.Second, AllowJoinInitialAddrPort: true,
		AvailablePathManagers: []string{"kernel", "userspace"}, AvailableSchedulers: []string{"default"},
		BlackholeTimeout: time.Hour, CloseTimeout: time.Minute, PathManager: "kernel", Scheduler: "default",
		StaleLossCnt: 4, SynRetransBeforeTCPFallback: 2,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(SysctlValues{}, "Raw")); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if len(got.Raw) != 13 || got.Raw["available_path_managers"] != "kernel userspace" {
		t.Errorf("Raw = %v", got.Raw)
	}
	if got.Has("add_addr_v6_port_drop_ts") || !got.Has("path_manager") {
		t.Error("Has: add_addr_v6_port_drop_ts is not in 6.18, path_manager is")
	}
	if u := got.Unknown(); len(u) != 0 {
		t.Errorf("Unknown() = %v", u)
	}

	// A newer kernel: an extra known knob and an unknown one.
	fsys["add_addr_v6_port_drop_ts"] = &fstest.MapFile{Data: []byte("1\n")}
	fsys["future_knob"] = &fstest.MapFile{Data: []byte("42 x\n")}
	fsys["subdir/x"] = &fstest.MapFile{Data: []byte("1")}
	got, err = ReadSysctls(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if !got.AddAddrV6PortDropTS || got.Raw["future_knob"] != "42 x" {
		t.Errorf("newer kernel: drop_ts %v future_knob %q", got.AddAddrV6PortDropTS, got.Raw["future_knob"])
	}
	if diff := cmp.Diff([]string{"future_knob"}, got.Unknown()); diff != "" {
		t.Errorf("Unknown() (-want +got):\n%s", diff)
	}
}

func TestReadSysctlsErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		file, value string
		want        error
	}{
		"bool out of range":  {"enabled", "2", ErrMalformed},
		"not a number":       {"close_timeout", "soon", ErrMalformed},
		"u8 out of range":    {"syn_retrans_before_tcp_fallback", "256", ErrMalformed},
		"pm_type":            {"pm_type", "2", ErrMalformed},
		"negative timeout":   {"blackhole_timeout", "-1", ErrMalformed},
		"bad scheduler name": {"scheduler", "a b", ErrMalformed},
		"bad list":           {"available_schedulers", "x;y", ErrMalformed},
		"huge file":          {"future", string(make([]byte, 5000)), ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			fsys := linux618Sysctls()
			fsys[tc.file] = &fstest.MapFile{Data: []byte(tc.value + "\n")}
			if _, err := ReadSysctls(fsys); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := ReadSysctls(os.DirFS(filepath.Join(t.TempDir(), "missing"))); !errors.Is(err, ErrNoMPTCP) {
		t.Errorf("missing directory: %v, want ErrNoMPTCP", err)
	}
}

func TestValidateSysctl(t *testing.T) {
	avail, err := ReadSysctls(linux618Sysctls())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"enabled", "0", true},
		{"enabled", "1", true},
		{"enabled", "2", false},
		{"enabled", "yes", false},
		{"checksum_enabled", "1", true},
		{"add_addr_timeout", "0", true},
		{"add_addr_timeout", "-5", false},
		{"close_timeout", "2147483647", true},
		{"close_timeout", "2147483648", false},
		{"stale_loss_cnt", "4294967295", true},
		{"stale_loss_cnt", "4294967296", false},
		{"syn_retrans_before_tcp_fallback", "255", true},
		{"pm_type", "1", true},
		{"pm_type", "3", false},
		{"path_manager", "userspace", true},
		{"path_manager", "bpf", false},
		{"scheduler", "default", true},
		{"scheduler", "bpf_rr", false},
		{"scheduler", "", false},
		{"available_schedulers", "default", false},
		{"available_path_managers", "kernel", false},
		{"no_such_knob", "1", false},
		{"../../ipv4/ip_forward", "1", false},
	}
	for _, tt := range tests {
		err := ValidateSysctl(tt.name, tt.value, avail)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateSysctl(%q, %q) = %v, want ok=%v", tt.name, tt.value, err, tt.ok)
		}
	}
	// Without the available lists any well-formed name is accepted.
	if err := ValidateSysctl("scheduler", "bpf_rr", nil); err != nil {
		t.Errorf("scheduler without choices: %v", err)
	}
}

func TestSetSysctlIn(t *testing.T) {
	dir := t.TempDir()
	for name, f := range linux618Sysctls() {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "future_knob"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := setSysctlIn(dir, "close_timeout", "5"); err != nil {
		t.Fatal(err)
	}
	if err := setSysctlIn(dir, "future_knob", "3"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{
		{"close_timeout", "x"}, {"available_schedulers", "x"}, {"missing_knob", "1"},
		{"future_knob", "a\nb"}, {"future_knob", ""}, {"../x", "1"}, {"scheduler", "nope"},
	} {
		if err := setSysctlIn(dir, bad[0], bad[1]); err == nil {
			t.Errorf("setSysctlIn(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	got, err := ReadSysctls(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got.CloseTimeout != 5*time.Second || got.Raw["future_knob"] != "3" || got.Scheduler != "default" {
		t.Errorf("after writes: close_timeout %v future_knob %q scheduler %q", got.CloseTimeout, got.Raw["future_knob"], got.Scheduler)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing_knob")); !errors.Is(err, os.ErrNotExist) {
		t.Error("setSysctlIn created a file")
	}
}

func FuzzReadSysctls(f *testing.F) {
	f.Add("enabled", "1\n")
	f.Add("scheduler", "default\n")
	f.Add("available_path_managers", "kernel userspace\n")
	f.Add("future", "\x00\xff")
	f.Fuzz(func(t *testing.T, name, value string) {
		if !fs.ValidPath(name) || strings.Contains(name, "/") || name == "." {
			return
		}
		fsys := fstest.MapFS{name: &fstest.MapFile{Data: []byte(value)}}
		s, err := ReadSysctls(fsys)
		if err != nil {
			return
		}
		if validKnobName(name) && !s.Has(name) {
			t.Fatalf("knob %q read without error but missing", name)
		}
	})
}
