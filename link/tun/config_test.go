package tun

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
)

type passMW struct{ n int }

func (*passMW) Process(_ time.Time, pkt []byte, out link.Emitter) { out.Emit(pkt) }
func (*passMW) Poll(time.Time, link.Emitter)                      {}
func (*passMW) Deadline() time.Time                               { return time.Time{} }

func TestConfigValidate(t *testing.T) {
	p := netip.MustParsePrefix
	shared := &passMW{}
	fn := link.Func(func(_ time.Time, pkt []byte, out link.Emitter) { out.Emit(pkt) })
	dev := func(name string, addrs ...string) DeviceConfig {
		d := DeviceConfig{Name: name}
		for _, a := range addrs {
			d.Addrs = append(d.Addrs, p(a))
		}
		return d
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string // empty: valid
	}{
		{"one device", Config{Devices: []DeviceConfig{dev("t0", "10.0.0.2/24")}}, ""},
		{"kernel-named", Config{Devices: []DeviceConfig{{}}}, ""},
		{"two devices", Config{Devices: []DeviceConfig{dev("t0", "10.0.0.2/24"), dev("t1", "10.0.1.2/24", "fd00::2/64")}}, ""},
		{"MTU limits", Config{Devices: []DeviceConfig{{MTU: MinMTU}, {MTU: MaxMTU}}}, ""},
		{"IPv6 with minimum MTU", Config{Devices: []DeviceConfig{{MTU: MinMTUIPv6, Addrs: []netip.Prefix{p("fd00::2/64")}}}}, ""},
		{"Func on both sides", Config{Devices: []DeviceConfig{{RxMiddleware: fn, TxMiddleware: fn}}}, ""},
		{"no devices", Config{}, "no devices"},
		{"negative batches", Config{Devices: []DeviceConfig{{}}, Batches: -1}, "Batches"},
		{"long name", Config{Devices: []DeviceConfig{{Name: "abcdefghijklmnop"}}}, "longer than"},
		{"slash", Config{Devices: []DeviceConfig{{Name: "a/b"}}}, "contains"},
		{"space", Config{Devices: []DeviceConfig{{Name: "a b"}}}, "contains"},
		{"dot", Config{Devices: []DeviceConfig{{Name: ".."}}}, "reserved"},
		{"template", Config{Devices: []DeviceConfig{{Name: "tun%d"}}}, "template"},
		{"same name", Config{Devices: []DeviceConfig{{Name: "t0"}, {Name: "t0"}}}, "same name"},
		{"attach without name", Config{Devices: []DeviceConfig{{Attach: true}}}, "Attach needs a Name"},
		{"MTU too small", Config{Devices: []DeviceConfig{{MTU: MinMTU - 1}}}, "MTU"},
		{"MTU too large", Config{Devices: []DeviceConfig{{MTU: MaxMTU + 1}}}, "MTU"},
		{"IPv6 MTU", Config{Devices: []DeviceConfig{{MTU: 1279, KernelAddrs: []netip.Prefix{p("fd00::1/64")}}}}, "IPv6 minimum"},
		{"invalid prefix", Config{Devices: []DeviceConfig{{Addrs: []netip.Prefix{{}}}}}, "invalid prefix"},
		{"mapped", Config{Devices: []DeviceConfig{dev("t0", "::ffff:10.0.0.2/120")}}, "IPv4-mapped"},
		{"unspecified", Config{Devices: []DeviceConfig{dev("t0", "0.0.0.0/0")}}, "unicast"},
		{"multicast", Config{Devices: []DeviceConfig{dev("t0", "ff02::1/128")}}, "unicast"},
		{"broadcast", Config{Devices: []DeviceConfig{dev("t0", "255.255.255.255/32")}}, "broadcast"},
		{"duplicate across devices", Config{Devices: []DeviceConfig{dev("t0", "10.0.0.2/24"), dev("t1", "10.0.0.2/24")}}, "also in"},
		{"node address is kernel's", Config{Devices: []DeviceConfig{{Addrs: []netip.Prefix{p("10.0.0.1/24")}, KernelAddrs: []netip.Prefix{p("10.0.0.1/24")}}}}, "also in"},
		{"same middleware both sides", Config{Devices: []DeviceConfig{{RxMiddleware: shared, TxMiddleware: shared}}}, "same Middleware"},
		{"middleware on two devices", Config{Devices: []DeviceConfig{{TxMiddleware: shared}, {TxMiddleware: shared}}}, "same Middleware"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("validate() = %v, want nil", err)
			case tc.wantErr != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("validate() = %v, want ErrConfig mentioning %q", err, tc.wantErr)
			}
		})
	}
}
