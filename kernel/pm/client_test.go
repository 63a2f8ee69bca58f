package pm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

const testToken = 0x1a2b3c4d

var (
	reqAck  = netlink.Request | netlink.Acknowledge
	reqDump = netlink.Request | netlink.Dump
)

// TestClientRequests checks, for every command, the request the Client
// sends (command, version, netlink flags, attribute bytes) and how it reads
// the reply.
func TestClientRequests(t *testing.T) {
	tok := attr(attrToken, u32(testToken))
	epReply := marshal(nest(attrAddr,
		attr(addrAttrFamily, u16(afINET)),
		attr(addrAttrID, u8(5)),
		attr(addrAttrAddr4, ip4("10.0.2.2")),
		attr(addrAttrFlags, u32(uint32(FlagSubflow|FlagBackup))),
		attr(addrAttrIfIdx, u32(3)),
	))
	ep6Reply := marshal(nest(attrAddr,
		attr(addrAttrFamily, u16(afINET6)),
		attr(addrAttrID, u8(6)),
		attr(addrAttrAddr6, ip6("fd00::1")),
		attr(addrAttrPort, u16(4321)),
		attr(addrAttrFlags, u32(uint32(FlagSignal|FlagLaminar|1<<7))),
	))
	ep4 := Endpoint{ID: 5, Addr: netip.MustParseAddr("10.0.2.2"), Flags: FlagSubflow | FlagBackup, IfIndex: 3}
	ep6 := Endpoint{ID: 6, Addr: netip.MustParseAddr("fd00::1"), Port: 4321, Flags: FlagSignal | FlagLaminar | 1<<7}

	tests := []struct {
		name      string
		call      func(ctx context.Context, c *Client) (any, error)
		wantCmd   uint8
		wantFlags netlink.HeaderFlags
		wantAttrs []byte
		reply     []genetlink.Message
		want      any
	}{
		{
			name:    "add endpoint v4",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.AddEndpoint(ctx, ep4) },
			wantCmd: cmdAddAddr, wantFlags: reqAck,
			wantAttrs: marshal(nest(attrAddr,
				attr(addrAttrID, u8(5)),
				attr(addrAttrFlags, u32(uint32(FlagSubflow|FlagBackup))),
				attr(addrAttrIfIdx, u32(3)),
				attr(addrAttrFamily, u16(afINET)),
				attr(addrAttrAddr4, ip4("10.0.2.2")),
			)),
		},
		{
			name: "add endpoint v6 with port and kernel-chosen id",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.AddEndpoint(ctx, Endpoint{Addr: netip.MustParseAddr("fd00::1"), Port: 1234, Flags: FlagSignal})
			},
			wantCmd: cmdAddAddr, wantFlags: reqAck,
			wantAttrs: marshal(nest(attrAddr,
				attr(addrAttrFlags, u32(uint32(FlagSignal))),
				attr(addrAttrPort, u16(1234)),
				attr(addrAttrFamily, u16(afINET6)),
				attr(addrAttrAddr6, ip6("fd00::1")),
			)),
		},
		{
			name:    "delete endpoint by id",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteEndpoint(ctx, 5, netip.Addr{}) },
			wantCmd: cmdDelAddr, wantFlags: reqAck,
			wantAttrs: marshal(nest(attrAddr, attr(addrAttrID, u8(5)))),
		},
		{
			name: "delete endpoint id 0 by address",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.DeleteEndpoint(ctx, 0, netip.MustParseAddr("10.0.1.1"))
			},
			wantCmd: cmdDelAddr, wantFlags: reqAck,
			wantAttrs: marshal(nest(attrAddr,
				attr(addrAttrID, u8(0)),
				attr(addrAttrFamily, u16(afINET)),
				attr(addrAttrAddr4, ip4("10.0.1.1")),
			)),
		},
		{
			name:    "get endpoint",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetEndpoint(ctx, 5) },
			wantCmd: cmdGetAddr, wantFlags: netlink.Request,
			wantAttrs: marshal(nest(attrAddr, attr(addrAttrID, u8(5)))),
			reply:     []genetlink.Message{{Data: epReply}},
			want:      ep4,
		},
		{
			name:    "list endpoints",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Endpoints(ctx) },
			wantCmd: cmdGetAddr, wantFlags: reqDump,
			reply: []genetlink.Message{{Data: epReply}, {Data: ep6Reply}},
			want:  []Endpoint{ep4, ep6},
		},
		{
			name:    "list endpoints: empty",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Endpoints(ctx) },
			wantCmd: cmdGetAddr, wantFlags: reqDump,
			want: []Endpoint{},
		},
		{
			name:    "list connection endpoints",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ConnectionEndpoints(ctx, testToken) },
			wantCmd: cmdGetAddr, wantFlags: reqDump,
			wantAttrs: marshal(tok),
			reply:     []genetlink.Message{{Data: ep6Reply}},
			want:      []Endpoint{ep6},
		},
		{
			name:    "flush endpoints",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.FlushEndpoints(ctx) },
			wantCmd: cmdFlushAddrs, wantFlags: reqAck,
		},
		{
			name:    "get limits",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Limits(ctx) },
			wantCmd: cmdGetLimits, wantFlags: netlink.Request,
			reply: []genetlink.Message{{Data: marshal(
				attr(attrRcvAddAddrs, u32(3)),
				attr(attrSubflows, u32(2)),
			)}},
			want: Limits{Subflows: 2, AddAddrAccepted: 3},
		},
		{
			name: "set limits",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetLimits(ctx, Limits{Subflows: 4, AddAddrAccepted: 1})
			},
			wantCmd: cmdSetLimits, wantFlags: reqAck,
			wantAttrs: marshal(attr(attrRcvAddAddrs, u32(1)), attr(attrSubflows, u32(4))),
		},
		{
			name:    "set subflows limit",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.SetSubflowsLimit(ctx, 8) },
			wantCmd: cmdSetLimits, wantFlags: reqAck,
			wantAttrs: marshal(attr(attrSubflows, u32(8))),
		},
		{
			name:    "set add_addr_accepted limit",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.SetAddAddrAcceptedLimit(ctx, 0) },
			wantCmd: cmdSetLimits, wantFlags: reqAck,
			wantAttrs: marshal(attr(attrRcvAddAddrs, u32(0))),
		},
		{
			name: "set flags by id",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetFlags(ctx, 5, netip.AddrPort{}, FlagBackup)
			},
			wantCmd: cmdSetFlags, wantFlags: reqAck,
			wantAttrs: marshal(nest(attrAddr, attr(addrAttrID, u8(5)), attr(addrAttrFlags, u32(uint32(FlagBackup))))),
		},
		{
			name: "set flags by address and port, clearing both",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetFlags(ctx, 0, netip.MustParseAddrPort("10.0.3.3:1234"), 0)
			},
			wantCmd: cmdSetFlags, wantFlags: reqAck,
			wantAttrs: marshal(nest(attrAddr,
				attr(addrAttrPort, u16(1234)),
				attr(addrAttrFamily, u16(afINET)),
				attr(addrAttrAddr4, ip4("10.0.3.3")),
			)),
		},
		{
			name: "set subflow backup (MP_PRIO)",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetSubflowBackup(ctx, testToken,
					netip.MustParseAddrPort("10.0.2.2:40000"), netip.MustParseAddrPort("10.0.1.1:5000"), true)
			},
			wantCmd: cmdSetFlags, wantFlags: reqAck,
			wantAttrs: marshal(tok,
				nest(attrAddr,
					attr(addrAttrFlags, u32(uint32(FlagBackup))),
					attr(addrAttrPort, u16(40000)),
					attr(addrAttrFamily, u16(afINET)),
					attr(addrAttrAddr4, ip4("10.0.2.2")),
				),
				nest(attrAddrRemote,
					attr(addrAttrPort, u16(5000)),
					attr(addrAttrFamily, u16(afINET)),
					attr(addrAttrAddr4, ip4("10.0.1.1")),
				),
			),
		},
		{
			name: "announce",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Announce(ctx, testToken, Endpoint{ID: 7, Addr: netip.MustParseAddr("fd00::2"), Port: 8080})
			},
			wantCmd: cmdAnnounce, wantFlags: reqAck,
			wantAttrs: marshal(tok, nest(attrAddr,
				attr(addrAttrID, u8(7)),
				attr(addrAttrFlags, u32(uint32(FlagSignal))),
				attr(addrAttrPort, u16(8080)),
				attr(addrAttrFamily, u16(afINET6)),
				attr(addrAttrAddr6, ip6("fd00::2")),
			)),
		},
		{
			name:    "remove",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.Remove(ctx, testToken, 7) },
			wantCmd: cmdRemove, wantFlags: reqAck,
			wantAttrs: marshal(tok, attr(attrLocID, u8(7))),
		},
		{
			name: "create subflow",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.CreateSubflow(ctx, testToken,
					Endpoint{ID: 7, Addr: netip.MustParseAddr("10.0.2.2"), Flags: FlagBackup, IfIndex: 4},
					netip.MustParseAddrPort("10.0.1.1:5000"))
			},
			wantCmd: cmdSubflowCreate, wantFlags: reqAck,
			wantAttrs: marshal(tok,
				nest(attrAddr,
					attr(addrAttrID, u8(7)),
					attr(addrAttrFlags, u32(uint32(FlagBackup))),
					attr(addrAttrIfIdx, u32(4)),
					attr(addrAttrFamily, u16(afINET)),
					attr(addrAttrAddr4, ip4("10.0.2.2")),
				),
				nest(attrAddrRemote,
					attr(addrAttrPort, u16(5000)),
					attr(addrAttrFamily, u16(afINET)),
					attr(addrAttrAddr4, ip4("10.0.1.1")),
				),
			),
		},
		{
			name: "destroy subflow",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.DestroySubflow(ctx, testToken,
					netip.MustParseAddrPort("[fd00::2]:40000"), netip.MustParseAddrPort("[fd00::1]:5000"))
			},
			wantCmd: cmdSubflowDestroy, wantFlags: reqAck,
			wantAttrs: marshal(tok,
				nest(attrAddr,
					attr(addrAttrPort, u16(40000)),
					attr(addrAttrFamily, u16(afINET6)),
					attr(addrAttrAddr6, ip6("fd00::2")),
				),
				nest(attrAddrRemote,
					attr(addrAttrPort, u16(5000)),
					attr(addrAttrFamily, u16(afINET6)),
					attr(addrAttrAddr6, ip6("fd00::1")),
				),
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			c := newTestClient(t, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
				if len(nreq.Data) == 0 {
					return nil, io.EOF // a read after the reply: nothing more
				}
				calls++
				if nreq.Header.Type != netlink.HeaderType(testFamily.ID) {
					t.Errorf("netlink type = %d, want the family id %d", nreq.Header.Type, testFamily.ID)
				}
				if greq.Header.Command != tt.wantCmd {
					t.Errorf("command = %d, want %d", greq.Header.Command, tt.wantCmd)
				}
				if greq.Header.Version != FamilyVersion {
					t.Errorf("version = %d, want %d", greq.Header.Version, FamilyVersion)
				}
				if nreq.Header.Flags != tt.wantFlags {
					t.Errorf("flags = %v, want %v", nreq.Header.Flags, tt.wantFlags)
				}
				if !bytes.Equal(greq.Data, tt.wantAttrs) {
					t.Errorf("attributes:\n got %x\nwant %x", greq.Data, tt.wantAttrs)
				}
				if tt.wantFlags&netlink.Acknowledge != 0 {
					return nil, genltest.Error(0) // the acknowledgement
				}
				return tt.reply, nil
			})
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if calls != 1 {
				t.Errorf("%d requests, want 1", calls)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientArgumentErrors checks that invalid arguments are refused before
// anything is sent.
func TestClientArgumentErrors(t *testing.T) {
	a := netip.MustParseAddr("10.0.2.2")
	ap := netip.MustParseAddrPort("10.0.2.2:40000")
	rp := netip.MustParseAddrPort("10.0.1.1:5000")
	tests := []struct {
		name string
		call func(ctx context.Context, c *Client) error
		want string
	}{
		{"add without address", func(ctx context.Context, c *Client) error {
			return c.AddEndpoint(ctx, Endpoint{ID: 1, Flags: FlagSubflow})
		}, "needs an address"},
		{"delete id 0 without address", func(ctx context.Context, c *Client) error {
			return c.DeleteEndpoint(ctx, 0, netip.Addr{})
		}, "id 0 needs its address"},
		{"set signal flag", func(ctx context.Context, c *Client) error {
			return c.SetFlags(ctx, 1, netip.AddrPort{}, FlagSignal|FlagBackup)
		}, "only the backup and fullmesh flags"},
		{"set flags without id or address", func(ctx context.Context, c *Client) error {
			return c.SetFlags(ctx, 0, netip.AddrPort{}, FlagBackup)
		}, "needs an endpoint id or address"},
		{"subflow backup without remote", func(ctx context.Context, c *Client) error {
			return c.SetSubflowBackup(ctx, testToken, ap, netip.AddrPort{}, true)
		}, "local and remote addresses"},
		{"announce id 0", func(ctx context.Context, c *Client) error {
			return c.Announce(ctx, testToken, Endpoint{Addr: a})
		}, "nonzero id"},
		{"announce without address", func(ctx context.Context, c *Client) error {
			return c.Announce(ctx, testToken, Endpoint{ID: 3})
		}, "needs an address"},
		{"create subflow without remote port", func(ctx context.Context, c *Client) error {
			return c.CreateSubflow(ctx, testToken, Endpoint{Addr: a}, netip.AddrPortFrom(rp.Addr(), 0))
		}, "remote address and port"},
		{"create subflow without local address", func(ctx context.Context, c *Client) error {
			return c.CreateSubflow(ctx, testToken, Endpoint{ID: 2}, rp)
		}, "local address"},
		{"create subflow across families", func(ctx context.Context, c *Client) error {
			return c.CreateSubflow(ctx, testToken, Endpoint{Addr: netip.MustParseAddr("fd00::2")}, rp)
		}, "same family"},
		{"create subflow with signal", func(ctx context.Context, c *Client) error {
			return c.CreateSubflow(ctx, testToken, Endpoint{Addr: a, Flags: FlagSignal}, rp)
		}, "signal flag"},
		{"destroy subflow without local port", func(ctx context.Context, c *Client) error {
			return c.DestroySubflow(ctx, testToken, netip.AddrPortFrom(a, 0), rp)
		}, "addresses and ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
				if len(nreq.Data) != 0 {
					t.Errorf("request sent for invalid arguments: command %d", greq.Header.Command)
				}
				return nil, io.EOF
			})
			err := tt.call(context.Background(), c)
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error = %v, want an *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestClientKernelErrors checks how errno replies surface.
func TestClientKernelErrors(t *testing.T) {
	tests := []struct {
		name   string
		errno  syscall.Errno
		is     error
		inText []string
	}{
		{"permission", syscall.EPERM, os.ErrPermission, []string{"add endpoint", "operation not permitted", "missing privileges", "CAP_NET_ADMIN"}},
		{"unsupported command", syscall.EOPNOTSUPP, syscall.EOPNOTSUPP, []string{"does not support the command", "too old"}},
		{"bare EINVAL", syscall.EINVAL, syscall.EINVAL, []string{"invalid argument", "older kernel may not support"}},
		{"exists", syscall.EEXIST, os.ErrExist, []string{"file exists"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
				return nil, genltest.Error(int(tt.errno))
			})
			err := c.AddEndpoint(context.Background(), Endpoint{Addr: netip.MustParseAddr("10.0.0.1"), Flags: FlagSubflow})
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.Op != "add endpoint" {
				t.Errorf("error = %#v, want *Error for \"add endpoint\"", err)
			}
			for _, s := range tt.inText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// nltestFamily answers the controller's family lookup at the netlink level
// and passes other requests to fn, for replies genltest cannot craft.
func nltestFamily(t *testing.T, fn func(req netlink.Message) []netlink.Message) *Client {
	t.Helper()
	conn := genetlink.NewConn(nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		if len(reqs) == 0 {
			return nil, io.EOF
		}
		req := reqs[0]
		if req.Header.Type == genlIDCtrl {
			h := netlink.Header{Type: genlIDCtrl, Sequence: req.Header.Sequence, PID: req.Header.PID}
			return []netlink.Message{genlMessage(h, 1, familyReply(testFamily))}, nil
		}
		return fn(req), nil
	}))
	c, err := NewClient(conn)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// extAck builds an NLMSG_ERROR message with an extended acknowledgement, as
// the kernel sends it (request header only, NLM_F_CAPPED).
func extAck(req netlink.Message, errno syscall.Errno, msg string, off uint32) netlink.Message {
	hb := make([]byte, 16)
	copy(hb, u32(16))
	copy(hb[4:], u16(uint16(req.Header.Type)))
	copy(hb[6:], u16(uint16(req.Header.Flags)))
	copy(hb[8:], u32(req.Header.Sequence))
	copy(hb[12:], u32(req.Header.PID))
	data := append(u32(uint32(-int32(errno))), hb...)
	data = append(data, marshal(
		attr(1, append([]byte(msg), 0)), // NLMSGERR_ATTR_MSG
		attr(2, u32(off)),               // NLMSGERR_ATTR_OFFS
	)...)
	return netlink.Message{
		Header: netlink.Header{
			Type:     netlink.Error,
			Flags:    netlink.HeaderFlags(0x100 | 0x200), // NLM_F_CAPPED | NLM_F_ACK_TLVS
			Sequence: req.Header.Sequence,
			PID:      req.Header.PID,
		},
		Data: data,
	}
}

func TestClientExtendedAck(t *testing.T) {
	c := nltestFamily(t, func(req netlink.Message) []netlink.Message {
		return []netlink.Message{extAck(req, syscall.EINVAL, "limit greater than maximum (8)", 24)}
	})
	err := c.SetSubflowsLimit(context.Background(), 9)
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("error = %v, want EINVAL", err)
	}
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("error = %T, want *Error", err)
	}
	if perr.Message != "limit greater than maximum (8)" || perr.Offset != 24 {
		t.Errorf("Message, Offset = %q, %d, want the kernel's", perr.Message, perr.Offset)
	}
	want := "mptcp_pm set limits: invalid argument: kernel says: limit greater than maximum (8)"
	if err.Error() != want {
		t.Errorf("error text\n got %q\nwant %q", err.Error(), want)
	}
}

// TestClientSkipsStaleReplies checks that replies and errors carrying
// another sequence number (left over from an abandoned request) are skipped.
func TestClientSkipsStaleReplies(t *testing.T) {
	limits := marshal(attr(attrRcvAddAddrs, u32(1)), attr(attrSubflows, u32(7)))
	stale := marshal(attr(attrRcvAddAddrs, u32(8)), attr(attrSubflows, u32(8)))
	c := nltestFamily(t, func(req netlink.Message) []netlink.Message {
		h := netlink.Header{Type: netlink.HeaderType(testFamily.ID), Sequence: req.Header.Sequence, PID: req.Header.PID}
		old := h
		old.Sequence--
		return []netlink.Message{genlMessage(old, cmdGetLimits, stale), genlMessage(h, cmdGetLimits, limits)}
	})
	got, err := c.Limits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Limits{Subflows: 7, AddAddrAccepted: 1}); got != want {
		t.Errorf("Limits = %+v, want %+v", got, want)
	}
}

func TestClientMalformedReplies(t *testing.T) {
	tests := []struct {
		name  string
		call  func(c *Client) error
		reply []genetlink.Message
	}{
		{"truncated attribute", func(c *Client) error { _, err := c.GetEndpoint(context.Background(), 1); return err },
			[]genetlink.Message{{Data: []byte{8, 0, 1, 0x80, 1}}}},
		{"no address nest", func(c *Client) error { _, err := c.GetEndpoint(context.Background(), 1); return err },
			[]genetlink.Message{{Data: marshal(attr(attrToken, u32(1)))}}},
		{"two replies", func(c *Client) error { _, err := c.GetEndpoint(context.Background(), 1); return err },
			[]genetlink.Message{{Data: marshal(nest(attrAddr, attr(addrAttrAddr4, ip4("10.0.0.1"))))},
				{Data: marshal(nest(attrAddr, attr(addrAttrAddr4, ip4("10.0.0.2"))))}}},
		{"family without its address", func(c *Client) error { _, err := c.Endpoints(context.Background()); return err },
			[]genetlink.Message{{Data: marshal(nest(attrAddr, attr(addrAttrFamily, u16(afINET6)), attr(addrAttrAddr4, ip4("10.0.0.1"))))}}},
		{"short IPv6 address", func(c *Client) error { _, err := c.Endpoints(context.Background()); return err },
			[]genetlink.Message{{Data: marshal(nest(attrAddr, attr(addrAttrAddr6, ip4("10.0.0.1"))))}}},
		{"limits reply lacking subflows", func(c *Client) error { _, err := c.Limits(context.Background()); return err },
			[]genetlink.Message{{Data: marshal(attr(attrRcvAddAddrs, u32(1)))}}},
		{"limits of wrong width", func(c *Client) error { _, err := c.Limits(context.Background()); return err },
			[]genetlink.Message{{Data: marshal(attr(attrRcvAddAddrs, u16(1)), attr(attrSubflows, u32(1)))}}},
		{"no limits reply", func(c *Client) error { _, err := c.Limits(context.Background()); return err },
			[]genetlink.Message{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
				if len(nreq.Data) == 0 {
					return nil, io.EOF
				}
				if len(tt.reply) == 0 {
					return nil, genltest.Error(0)
				}
				return tt.reply, nil
			})
			err := tt.call(c)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestClientFamilyNotFound(t *testing.T) {
	conn := genltest.Dial(func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(syscall.ENOENT))
	})
	_, err := NewClient(conn)
	if !errors.Is(err, ErrFamilyNotFound) {
		t.Fatalf("NewClient error = %v, want ErrFamilyNotFound", err)
	}
	for _, s := range []string{"mptcp_pm", "too old", "without MPTCP"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestClientFamilyLookupBadReply(t *testing.T) {
	tests := []struct {
		name  string
		reply func(nreq netlink.Message) []netlink.Message
	}{
		{"two families", func(nreq netlink.Message) []netlink.Message {
			h := netlink.Header{Sequence: nreq.Header.Sequence, PID: nreq.Header.PID}
			return []netlink.Message{genlMessage(h, 1, familyReply(testFamily)), genlMessage(h, 1, familyReply(testFamily))}
		}},
		{"other family", func(nreq netlink.Message) []netlink.Message {
			f := testFamily
			f.Name = "nl80211"
			h := netlink.Header{Sequence: nreq.Header.Sequence, PID: nreq.Header.PID}
			return []netlink.Message{genlMessage(h, 1, familyReply(f))}
		}},
		{"no family id", func(nreq netlink.Message) []netlink.Message {
			h := netlink.Header{Sequence: nreq.Header.Sequence, PID: nreq.Header.PID}
			return []netlink.Message{genlMessage(h, 1, marshal(attr(ctrlAttrFamilyName, []byte("mptcp_pm\x00"))))}
		}},
		{"garbage", func(nreq netlink.Message) []netlink.Message {
			h := netlink.Header{Sequence: nreq.Header.Sequence, PID: nreq.Header.PID}
			return []netlink.Message{genlMessage(h, 1, []byte{200, 0, 1})}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := genetlink.NewConn(nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
				if len(reqs) == 0 {
					return nil, io.EOF
				}
				return tt.reply(reqs[0]), nil
			}))
			_, err := NewClient(conn)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("NewClient error = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestClientContextAndClose(t *testing.T) {
	sent := 0
	c := newTestClient(t, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if len(nreq.Data) != 0 {
			sent++
		}
		return nil, genltest.Error(0)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.FlushEndpoints(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("FlushEndpoints with a canceled context: %v, want context.Canceled", err)
	}
	if sent != 0 {
		t.Errorf("%d requests sent with a canceled context, want 0", sent)
	}

	// A live context with a deadline works on a socket without deadline
	// support.
	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := c.FlushEndpoints(ctx); err != nil {
		t.Errorf("FlushEndpoints: %v", err)
	}
	if sent != 1 {
		t.Errorf("%d requests sent, want 1", sent)
	}

	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.FlushEndpoints(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("FlushEndpoints after Close: %v, want ErrClosed", err)
	}
}
