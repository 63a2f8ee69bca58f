//go:build linux

package kerneltest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// IPEndpoint is an MPTCP endpoint as "ip -j mptcp endpoint show" prints
// it: an independent view of the kernel's path manager to check a netlink
// client against.
type IPEndpoint struct {
	ID   uint8
	Addr netip.Addr
	Port uint16 // 0 if ip prints none
	Dev  string // "" if the endpoint has no interface
	// Flags are the flags ip names ("signal", "subflow", "backup",
	// "fullmesh", …), sorted.
	Flags []string
	// RawFlags holds flags ip has no name for ("rawflags"), 0 if none.
	RawFlags uint32
}

// Has reports whether ip printed the named flag.
func (e IPEndpoint) Has(flag string) bool { return slices.Contains(e.Flags, flag) }

// MPTCPEndpoints runs "ip -j mptcp endpoint show" in the namespace and
// returns the endpoints, failing the test if the output makes no sense.
func (n *Netns) MPTCPEndpoints(t testing.TB) []IPEndpoint {
	t.Helper()
	out := n.IP(t, "-j", "mptcp", "endpoint", "show")
	eps, err := ParseIPEndpoints([]byte(out))
	if err != nil {
		t.Fatalf("netns %s: ip -j mptcp endpoint show: %v", n.Name, err)
	}
	return eps
}

// ParseIPEndpoints decodes the output of "ip -j mptcp endpoint show": a
// JSON array with an object for each endpoint, whose keys are "address",
// "id", "port", "dev", "rawflags" (hexadecimal) and the names of the flags
// set, with the value true. Empty output means no endpoints; so does "[]",
// and both give a nil slice.
func ParseIPEndpoints(out []byte) ([]IPEndpoint, error) {
	if strings.TrimSpace(string(out)) == "" {
		return nil, nil
	}
	var raw []map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, err
	}
	var eps []IPEndpoint
	for i, m := range raw {
		e, err := parseIPEndpoint(m)
		if err != nil {
			return nil, fmt.Errorf("endpoint %d: %w", i, err)
		}
		eps = append(eps, e)
	}
	return eps, nil
}

func parseIPEndpoint(m map[string]any) (IPEndpoint, error) {
	var e IPEndpoint
	for k, v := range m {
		var err error
		switch k {
		case "address":
			s, ok := v.(string)
			if !ok {
				return e, fmt.Errorf("address %v is not a string", v)
			}
			e.Addr, err = netip.ParseAddr(s)
		case "id":
			var n uint64
			n, err = jsonUint(k, v, math.MaxUint8)
			e.ID = uint8(n)
		case "port":
			var n uint64
			n, err = jsonUint(k, v, math.MaxUint16)
			e.Port = uint16(n)
		case "dev":
			s, ok := v.(string)
			if !ok || s == "" {
				return e, fmt.Errorf("dev %v is not an interface name", v)
			}
			e.Dev = s
		case "rawflags":
			s, ok := v.(string)
			if !ok {
				return e, fmt.Errorf("rawflags %v is not a string", v)
			}
			var n uint64
			n, err = strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32)
			e.RawFlags = uint32(n)
		default:
			set, ok := v.(bool)
			if !ok {
				return e, fmt.Errorf("unknown key %q (value %v)", k, v)
			}
			if set {
				e.Flags = append(e.Flags, k)
			}
		}
		if err != nil {
			return e, err
		}
	}
	if !e.Addr.IsValid() {
		return e, fmt.Errorf("no address")
	}
	slices.Sort(e.Flags)
	return e, nil
}

// jsonUint returns v, a JSON number, as an integer up to max.
func jsonUint(key string, v any, max uint64) (uint64, error) {
	f, ok := v.(float64)
	if !ok || f < 0 || f > float64(max) || f != math.Trunc(f) {
		return 0, fmt.Errorf("%s %v is not an integer from 0 to %d", key, v, max)
	}
	return uint64(f), nil
}
