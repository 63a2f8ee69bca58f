package tun

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/gomptcp/mptcp/internal/rtnl"
	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// linkMsg encodes a struct ifinfomsg (family AF_UNSPEC, change mask 0)
// for index with flags, and attributes.
func linkMsg(index int32, flags uint32, attrs ...netlink.Attribute) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	ab, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		panic(err)
	}
	return append(b, ab...)
}

var linkInfoCmp = cmp.AllowUnexported(linkInfo{})

func TestParseLink(t *testing.T) {
	name := netlink.Attribute{Type: unix.IFLA_IFNAME, Data: []byte("gmt0\x00")}
	mtu := netlink.Attribute{Type: unix.IFLA_MTU, Data: u32(1400)}
	for _, tc := range []struct {
		name    string
		data    []byte
		want    linkInfo
		wantErr bool
	}{
		{"full", linkMsg(7, unix.IFF_UP|unix.IFF_LOWER_UP, name, mtu, netlink.Attribute{Type: unix.IFLA_OPERSTATE, Data: []byte{6}}),
			linkInfo{index: 7, name: "gmt0", flags: unix.IFF_UP | unix.IFF_LOWER_UP, mtu: 1400}, false},
		{"no attributes", linkMsg(3, 0), linkInfo{index: 3}, false},
		{"short header", linkMsg(3, 0)[:15], linkInfo{}, true},
		{"zero index", linkMsg(0, 0), linkInfo{}, true},
		{"negative index", linkMsg(-2, 0), linkInfo{}, true},
		{"MTU of 2 bytes", linkMsg(3, 0, netlink.Attribute{Type: unix.IFLA_MTU, Data: []byte{1, 2}}), linkInfo{}, true},
		{"truncated attribute", linkMsg(3, 0, name)[:unix.SizeofIfInfomsg+6], linkInfo{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLink(tc.data)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, errMalformed)) {
				t.Fatalf("parseLink error %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, linkInfoCmp); diff != "" {
				t.Fatalf("parseLink (-want +got):\n%s", diff)
			}
		})
	}
	if !(linkInfo{flags: unix.IFF_UP | unix.IFF_LOWER_UP}).up() || (linkInfo{flags: unix.IFF_UP | unix.IFF_RUNNING}).up() || (linkInfo{flags: unix.IFF_LOWER_UP}).up() {
		t.Fatal("up() must need IFF_UP and IFF_LOWER_UP")
	}
}

// nlErr answers the request with a netlink error message (errno 0 is an
// acknowledgement).
func nlErr(errno unix.Errno, reqs []netlink.Message) ([]netlink.Message, error) {
	msgs, err := nltest.Error(int(errno), reqs)
	if err != nil {
		return nil, err
	}
	msgs[0].Header.Flags = 0 // the request's flags would read as NLM_F_ACK_TLVS
	return msgs, nil
}

// ack answers a request that asked for an acknowledgement.
func ack(reqs []netlink.Message) ([]netlink.Message, error) { return nlErr(0, reqs) }

// reply answers the request with one message.
func reply(reqs []netlink.Message, typ netlink.HeaderType, data []byte) ([]netlink.Message, error) {
	return []netlink.Message{{Header: netlink.Header{Type: typ, Sequence: reqs[0].Header.Sequence, PID: reqs[0].Header.PID}, Data: data}}, nil
}

func TestRequests(t *testing.T) {
	t.Run("linkByName", func(t *testing.T) {
		c := nltest.Dial(nltest.CheckRequest([]netlink.HeaderType{unix.RTM_GETLINK}, []netlink.HeaderFlags{netlink.Request},
			func(reqs []netlink.Message) ([]netlink.Message, error) {
				ad, err := netlink.NewAttributeDecoder(reqs[0].Data[unix.SizeofIfInfomsg:])
				if err != nil {
					return nil, err
				}
				for ad.Next() {
					if ad.Type() == unix.IFLA_IFNAME && ad.String() == "gmt0" {
						return reply(reqs, unix.RTM_NEWLINK, linkMsg(9, unix.IFF_UP, netlink.Attribute{Type: unix.IFLA_MTU, Data: u32(1500)}))
					}
				}
				return nlErr(unix.ENODEV, reqs)
			}))
		defer c.Close()
		got, err := linkByName(c, "gmt0")
		if err != nil || got.index != 9 || got.mtu != 1500 {
			t.Fatalf("linkByName(gmt0) = %+v, %v", got, err)
		}
		if _, err := linkByName(c, "other"); !errors.Is(err, ErrNoDevice) {
			t.Fatalf("linkByName(other) error %v, want ErrNoDevice", err)
		}
		if _, err := linkByName(c, ""); !errors.Is(err, ErrNoDevice) {
			t.Fatalf("linkByName(\"\") error %v, want ErrNoDevice", err)
		}
	})
	t.Run("linkByIndex reply without link", func(t *testing.T) {
		c := nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
			return reply(reqs, unix.RTM_NEWADDR, []byte{0})
		})
		defer c.Close()
		if _, err := linkByIndex(c, 3); !errors.Is(err, errMalformed) {
			t.Fatalf("linkByIndex error %v, want errMalformed", err)
		}
	})
	t.Run("setLink", func(t *testing.T) {
		var got []byte
		c := nltest.Dial(nltest.CheckRequest([]netlink.HeaderType{unix.RTM_NEWLINK}, []netlink.HeaderFlags{netlink.Request | netlink.Acknowledge},
			func(reqs []netlink.Message) ([]netlink.Message, error) {
				got = reqs[0].Data
				return ack(reqs)
			}))
		defer c.Close()
		if err := setLink(c, 5, true, 1280); err != nil {
			t.Fatal(err)
		}
		want := linkMsg(5, unix.IFF_UP, netlink.Attribute{Type: unix.IFLA_MTU, Data: u32(1280)})
		binary.NativeEndian.PutUint32(want[12:], unix.IFF_UP) // change mask
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("request (-want +got):\n%s", diff)
		}
		if err := setLink(c, 5, false, 0); err != nil {
			t.Fatal(err)
		}
		if flags, change := binary.NativeEndian.Uint32(got[8:]), binary.NativeEndian.Uint32(got[12:]); flags != 0 || change != unix.IFF_UP || len(got) != unix.SizeofIfInfomsg {
			t.Fatalf("down request flags %#x change %#x len %d", flags, change, len(got))
		}
	})
	t.Run("addAddr", func(t *testing.T) {
		var got []byte
		exists := false
		c := nltest.Dial(nltest.CheckRequest([]netlink.HeaderType{unix.RTM_NEWADDR},
			[]netlink.HeaderFlags{netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
			func(reqs []netlink.Message) ([]netlink.Message, error) {
				got = reqs[0].Data
				if exists {
					return nlErr(unix.EEXIST, reqs)
				}
				return ack(reqs)
			}))
		defer c.Close()
		p := netip.MustParsePrefix("fd00::1/64")
		if added, err := addAddr(c, 6, p); !added || err != nil {
			t.Fatalf("addAddr = %v, %v", added, err)
		}
		a, err := rtnl.ParseAddr(got)
		if err != nil || a.IfIndex != 6 || a.Addr != p.Addr() || a.Flags != unix.IFA_F_NODAD || a.PrefixLen != 64 || got[0] != unix.AF_INET6 {
			t.Fatalf("request %x: %+v, %v", got, a, err)
		}
		exists = true
		if added, err := addAddr(c, 6, p); added || err != nil {
			t.Fatalf("addAddr of an existing address = %v, %v; want false, nil", added, err)
		}
		p4 := netip.MustParsePrefix("10.1.2.3/8")
		exists = false
		if _, err := addAddr(c, 6, p4); err != nil {
			t.Fatal(err)
		}
		if a, err := rtnl.ParseAddr(got); err != nil || a.Addr != p4.Addr() || a.Flags != 0 || a.PrefixLen != 8 || got[0] != unix.AF_INET {
			t.Fatalf("IPv4 request %x: %+v, %v", got, a, err)
		}
	})
	t.Run("delAddr", func(t *testing.T) {
		errno := unix.EADDRNOTAVAIL
		c := nltest.Dial(nltest.CheckRequest([]netlink.HeaderType{unix.RTM_DELADDR}, []netlink.HeaderFlags{netlink.Request | netlink.Acknowledge},
			func(reqs []netlink.Message) ([]netlink.Message, error) { return nlErr(errno, reqs) }))
		defer c.Close()
		p := netip.MustParsePrefix("10.1.2.3/8")
		if err := delAddr(c, 6, p); err != nil {
			t.Fatalf("delAddr of a missing address = %v", err)
		}
		errno = unix.EPERM
		if err := delAddr(c, 6, p); !errors.Is(err, unix.EPERM) {
			t.Fatalf("delAddr = %v, want EPERM", err)
		}
	})
	t.Run("isLocal", func(t *testing.T) {
		c := nltest.Dial(nltest.CheckRequest([]netlink.HeaderType{unix.RTM_GETROUTE}, []netlink.HeaderFlags{netlink.Request},
			func(reqs []netlink.Message) ([]netlink.Message, error) {
				rt := make([]byte, unix.SizeofRtMsg)
				switch reqs[0].Data[unix.SizeofRtMsg+4+15] { // last byte of RTA_DST
				case 1:
					rt[7] = unix.RTN_LOCAL
				case 2:
					rt[7] = unix.RTN_UNICAST
				default:
					return nlErr(unix.ENETUNREACH, reqs)
				}
				return reply(reqs, unix.RTM_NEWROUTE, rt)
			}))
		defer c.Close()
		for _, tc := range []struct {
			addr string
			want bool
		}{{"fd00::1", true}, {"fd00::2", false}, {"fd00::3", false}} {
			if got, err := isLocal(c, netip.MustParseAddr(tc.addr)); got != tc.want || err != nil {
				t.Fatalf("isLocal(%s) = %v, %v; want %v", tc.addr, got, err, tc.want)
			}
		}
	})
}
