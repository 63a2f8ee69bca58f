package pm

import (
	"encoding/binary"
	"errors"
	"iter"
	"net/netip"
	"sync"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
)

// Attribute builders, written independently of the package's encoders so
// that tests compare against a second implementation of the layout.

func attr(typ uint16, data []byte) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: data}
}

func nest(typ uint16, attrs ...netlink.Attribute) netlink.Attribute {
	return netlink.Attribute{Type: typ | netlink.Nested, Data: marshal(attrs...)}
}

func marshal(attrs ...netlink.Attribute) []byte {
	b, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		panic(err)
	}
	return b
}

func u8(v uint8) []byte { return []byte{v} }

func u16(v uint16) []byte {
	b := make([]byte, 2)
	binary.NativeEndian.PutUint16(b, v)
	return b
}

func net16(v uint16) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, v)
	return b
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, v)
	return b
}

func ip4(s string) []byte {
	a := netip.MustParseAddr(s).As4()
	return a[:]
}

func ip6(s string) []byte {
	a := netip.MustParseAddr(s).As16()
	return a[:]
}

// testFamily is the mptcp_pm family as the fake controller describes it.
var testFamily = genetlink.Family{
	ID:      0x1c,
	Version: 1,
	Name:    FamilyName,
	Groups: []genetlink.MulticastGroup{
		{ID: 8, Name: CommandsGroup},
		{ID: 9, Name: EventsGroup},
	},
}

// serveFamily answers the controller's lookup of f and passes the other
// requests to fn, like genltest.ServeFamily, which is Linux-only.
func serveFamily(f genetlink.Family, fn genltest.Func) genltest.Func {
	return func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if nreq.Header.Type == genlIDCtrl && greq.Header.Command == ctrlCmdGetFamily {
			return []genetlink.Message{{
				Header: genetlink.Header{Command: 1, Version: 2}, // CTRL_CMD_NEWFAMILY
				Data:   familyReply(f),
			}}, nil
		}
		return fn(greq, nreq)
	}
}

// newTestClient returns a Client over a genltest fake serving testFamily;
// fn answers the mptcp_pm requests.
func newTestClient(t *testing.T, fn genltest.Func) *Client {
	t.Helper()
	c, err := NewClient(genltest.Dial(serveFamily(testFamily, fn)))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// familyReply encodes the controller's answer describing f.
func familyReply(f genetlink.Family) []byte {
	ae := netlink.NewAttributeEncoder()
	ae.Uint16(ctrlAttrFamilyID, f.ID)
	ae.String(ctrlAttrFamilyName, f.Name)
	ae.Uint32(ctrlAttrVersion, uint32(f.Version))
	ae.Nested(ctrlAttrMcastGroups, func(nae *netlink.AttributeEncoder) error {
		for i, g := range f.Groups {
			nae.Nested(uint16(i+1), func(gae *netlink.AttributeEncoder) error {
				gae.String(ctrlAttrMcastGrpNm, g.Name)
				gae.Uint32(ctrlAttrMcastGrpID, g.ID)
				return nil
			})
		}
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

// genlMessage is a netlink message carrying a generic netlink message.
func genlMessage(h netlink.Header, cmd uint8, data []byte) netlink.Message {
	b, err := (genetlink.Message{Header: genetlink.Header{Command: cmd, Version: 1}, Data: data}).MarshalBinary()
	if err != nil {
		panic(err)
	}
	return netlink.Message{Header: h, Data: b}
}

// fakeSocket is a netlink.Socket standing in for a kernel socket where
// genltest cannot: it answers the controller's family lookup, records
// multicast group joins, hands out queued multicast batches, and blocks in
// Receive until Close, like a real socket.
type fakeSocket struct {
	family genetlink.Family
	// reply answers mptcp_pm requests (may be nil).
	reply func(req netlink.Message) []netlink.Message
	// joinErr fails JoinGroup.
	joinErr error

	mu      sync.Mutex
	pending []netlink.Message
	joined  []uint32

	batches chan []netlink.Message
	closed  chan struct{}
	once    sync.Once
}

var errFakeClosed = errors.New("fake socket closed")

func newFakeSocket(f genetlink.Family) *fakeSocket {
	return &fakeSocket{
		family:  f,
		batches: make(chan []netlink.Message, 64),
		closed:  make(chan struct{}),
	}
}

func (s *fakeSocket) Send(m netlink.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Header.Type == genlIDCtrl {
		h := netlink.Header{Type: genlIDCtrl, Sequence: m.Header.Sequence, PID: m.Header.PID}
		s.pending = append(s.pending, genlMessage(h, 1, familyReply(s.family)))
		return nil
	}
	if s.reply != nil {
		s.pending = append(s.pending, s.reply(m)...)
	}
	return nil
}

func (s *fakeSocket) SendMessages(ms []netlink.Message) error {
	for _, m := range ms {
		if err := s.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeSocket) Receive() ([]netlink.Message, error) {
	s.mu.Lock()
	if len(s.pending) > 0 {
		p := s.pending
		s.pending = nil
		s.mu.Unlock()
		return p, nil
	}
	s.mu.Unlock()
	select {
	case b := <-s.batches:
		return b, nil
	case <-s.closed:
		return nil, errFakeClosed
	}
}

func (s *fakeSocket) ReceiveIter() iter.Seq2[netlink.Message, error] {
	return func(yield func(netlink.Message, error) bool) {
		msgs, err := s.Receive()
		if err != nil {
			yield(netlink.Message{}, err)
			return
		}
		for _, m := range msgs {
			if !yield(m, nil) {
				return
			}
		}
	}
}

func (s *fakeSocket) JoinGroup(g uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.joinErr != nil {
		return s.joinErr
	}
	s.joined = append(s.joined, g)
	return nil
}

func (s *fakeSocket) LeaveGroup(uint32) error { return nil }

func (s *fakeSocket) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func (s *fakeSocket) conn() *genetlink.Conn {
	return genetlink.NewConn(netlink.NewConn(s, 1))
}

// step is one read of a scripted event socket: a batch of events, or an
// error.
type step struct {
	msgs []genetlink.Message
	err  error
}

// eventScript returns a genltest.Func that answers each read with the next
// step, then fails every read with end.
func eventScript(steps []step, end error) genltest.Func {
	var mu sync.Mutex
	return func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(steps) == 0 {
			return nil, end
		}
		s := steps[0]
		steps = steps[1:]
		return s.msgs, s.err
	}
}
