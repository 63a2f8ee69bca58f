package trace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gomptcp/mptcp/wire"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// seg describes a segment for the synthetic captures of these tests.
type seg struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    wire.TCPFlags
	opts     []wire.MPTCPOption
	payload  int
}

// build returns the IP packet for s.
func (s seg) build(t testing.TB) []byte {
	t.Helper()
	var h wire.TCPHeader
	h.SrcPort, h.DstPort = s.src.Port(), s.dst.Port()
	h.Seq, h.Ack, h.Flags, h.Window = s.seq, s.ack, s.flags, 512
	var raw []byte
	for _, o := range s.opts {
		start := len(raw)
		raw = o.Append(raw)
		h.Options.MPTCP[h.Options.NumMPTCP] = raw[start:len(raw):len(raw)]
		h.Options.NumMPTCP++
	}
	tcp := h.Append(nil)
	tcp = append(tcp, make([]byte, s.payload)...)
	var ip []byte
	if s.src.Addr().Is4() {
		ih := wire.IPv4Header{TTL: 64, Protocol: 6, Src: s.src.Addr(), Dst: s.dst.Addr(), PayloadLen: len(tcp)}
		ip = ih.Append(nil)
		wire.IPv4(ip).SetChecksum()
	} else {
		ih := wire.IPv6Header{HopLimit: 64, NextHeader: 6, Src: s.src.Addr(), Dst: s.dst.Addr(), PayloadLen: len(tcp)}
		ip = ih.Append(nil)
	}
	wire.TCP(tcp).SetChecksum(s.src.Addr(), s.dst.Addr())
	return append(ip, tcp...)
}

// capture writes segments as a pcap of link type lt, each frame prefixed by
// the link header the link type needs, and cut to snaplen bytes.
func capture(t testing.TB, lt layers.LinkType, snaplen int, segs ...seg) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for i, s := range segs {
		ip := s.build(t)
		et := uint16(0x0800)
		if ip[0]>>4 == 6 {
			et = 0x86dd
		}
		var frame []byte
		switch lt {
		case layers.LinkTypeEthernet:
			frame = append(make([]byte, 12), byte(et>>8), byte(et))
		case layers.LinkTypeLinuxSLL:
			frame = append(make([]byte, 14), byte(et>>8), byte(et))
		case layers.LinkTypeLinuxSLL2:
			frame = append([]byte{byte(et >> 8), byte(et)}, make([]byte, 18)...)
		case layers.LinkTypeNull:
			frame = []byte{2, 0, 0, 0}
		}
		frame = append(frame, ip...)
		orig := len(frame)
		if snaplen > 0 && len(frame) > snaplen {
			frame = frame[:snaplen]
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(frame), Length: orig}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func decodeAll(t *testing.T, pcap []byte) []*Segment {
	t.Helper()
	r, err := NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var out []*Segment
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := Decode(f)
		if err != nil {
			t.Fatalf("frame %d: %v", f.Number, err)
		}
		out = append(out, s)
	}
}

var (
	cli  = netip.MustParseAddrPort("10.0.1.1:40000")
	srv  = netip.MustParseAddrPort("10.0.2.1:80")
	cli2 = netip.MustParseAddrPort("10.0.3.1:40001")
	srv2 = netip.MustParseAddrPort("10.0.4.1:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::1]:40000")
	srv6 = netip.MustParseAddrPort("[2001:db8::2]:80")
)

const (
	keyC = 0x0102030405060708
	keyS = 0x1112131415161718
)

func TestLinkTypes(t *testing.T) {
	s := seg{src: cli, dst: srv, seq: 7, flags: wire.FlagSYN, opts: []wire.MPTCPOption{
		wire.MPCapable{Version: 1, Flags: wire.MPCapableHMACSHA256, Form: wire.MPCapableSYN}}}
	s6 := s
	s6.src, s6.dst = cli6, srv6
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeIPv4} {
		for _, in := range []seg{s, s6} {
			if lt == layers.LinkTypeIPv4 && in.src.Addr().Is6() {
				continue
			}
			got := decodeAll(t, capture(t, lt, 0, in))
			if len(got) != 1 {
				t.Fatalf("%v: %d segments", lt, len(got))
			}
			g := got[0]
			if g.Src != in.src || g.Dst != in.dst || g.Seq != 7 || g.Flags != wire.FlagSYN || !g.Time.Equal(t0) || g.Frame != 1 {
				t.Errorf("%v: got %v > %v seq %d flags %v time %v frame %d", lt, g.Src, g.Dst, g.Seq, g.Flags, g.Time, g.Frame)
			}
			if len(g.MPTCP) != 1 || g.MPTCP[0].Err != nil {
				t.Fatalf("%v: MPTCP options %+v", lt, g.MPTCP)
			}
			if diff := cmp.Diff(in.opts[0], g.MPTCP[0].Value); diff != "" {
				t.Errorf("%v: MP_CAPABLE (-want +got):\n%s", lt, diff)
			}
		}
	}
}

func TestPcapng(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeRaw)
	if err != nil {
		t.Fatal(err)
	}
	pkt := seg{src: cli, dst: srv, seq: 1, flags: wire.FlagACK, payload: 10}.build(t)
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: t0, CaptureLength: len(pkt), Length: len(pkt)}, pkt); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got := decodeAll(t, buf.Bytes())
	if len(got) != 1 || got[0].PayloadLen != 10 || got[0].Truncated() {
		t.Fatalf("got %+v", got)
	}
}

func TestSnapLength(t *testing.T) {
	// A 1000-byte payload cut by a 100-byte snap length keeps its
	// length and its options.
	for _, src := range []netip.AddrPort{cli, cli6} {
		dst := srv
		if src.Addr().Is6() {
			dst = srv6
		}
		dss := wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64 | wire.DSSMapping | wire.DSSDSN64, DataACK: 5, DSN: 9, SSN: 1, DataLen: 1000}
		got := decodeAll(t, capture(t, layers.LinkTypeRaw, 100, seg{src: src, dst: dst, flags: wire.FlagACK, payload: 1000, opts: []wire.MPTCPOption{dss}}))
		if len(got) != 1 {
			t.Fatal(len(got))
		}
		if got[0].PayloadLen != 1000 || !got[0].Truncated() {
			t.Errorf("%v: payload %d captured %d", src, got[0].PayloadLen, len(got[0].Payload))
		}
		if diff := cmp.Diff(wire.MPTCPOption(dss), got[0].MPTCP[0].Value); diff != "" {
			t.Errorf("DSS (-want +got):\n%s", diff)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := seg{src: cli, dst: srv, flags: wire.FlagACK}.build(t)
	badTCP := append([]byte(nil), good...)
	badTCP[20+12] = 0x20 // data offset 2 words
	udp := append([]byte(nil), good...)
	udp[9] = 17
	frag := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(frag[6:], 10) // fragment offset 80 bytes
	for _, tc := range []struct {
		name   string
		ip     []byte
		notTCP bool
	}{
		{"empty", nil, true},
		{"udp", udp, true},
		{"fragment", frag, true},
		{"bad data offset", badTCP, false},
		{"short ipv4", good[:10], false},
		{"short tcp", good[:30], false},
	} {
		_, err := Decode(Frame{Number: 1, IP: tc.ip, OrigLen: len(tc.ip), CapLen: len(tc.ip)})
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := errors.Is(err, ErrNotTCP); got != tc.notTCP {
			t.Errorf("%s: errors.Is(err, ErrNotTCP) = %v, want %v (err %v)", tc.name, got, tc.notTCP, err)
		}
	}
}

func TestMalformedOption(t *testing.T) {
	// An MP_CAPABLE cut to 5 bytes: the segment decodes, the option
	// carries the error and its raw bytes.
	pkt := seg{src: cli, dst: srv, flags: wire.FlagSYN}.build(t)
	opt := []byte{30, 5, 0x01, 0x01, 0x00, 1, 1, 1}
	seg := append(append([]byte(nil), pkt[:20+20]...), opt...)
	seg[20+12] = byte((20+len(opt))/4) << 4
	wire.IPv4(seg).SetTotalLen(uint16(len(seg)))
	s, err := Decode(Frame{Number: 1, IP: seg, OrigLen: len(seg), CapLen: len(seg)})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.MPTCP) != 1 || s.MPTCP[0].Err == nil || s.MPTCP[0].Value != nil {
		t.Fatalf("got %+v", s.MPTCP)
	}
	if !errors.Is(s.MPTCP[0].Err, wire.ErrBadLength) {
		t.Errorf("error %v, want ErrBadLength", s.MPTCP[0].Err)
	}
}

func TestNotACapture(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello world, not a pcap file at all")} {
		if _, err := NewReader(bytes.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	full := capture(t, layers.LinkTypeRaw, 0, seg{src: cli, dst: srv, flags: wire.FlagACK, payload: 100})
	r, err := NewReader(bytes.NewReader(full[:len(full)-10]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("truncated capture: err %v, want an error other than EOF", err)
	}
}

// handshake returns the segments of an MPTCP connection with one join
// from the client and an ADD_ADDR from the server, with HMACs computed
// from the keys, optionally corrupted.
func handshake(badSynAck, badAck, badAddAddr bool) []seg {
	const rA, rB = 0xaaaa0001, 0xbbbb0002
	synAck := wire.MPJoinSYNACKHMAC(keyC, keyS, rA, rB)
	if badSynAck {
		synAck[0] ^= 1
	}
	ack := wire.MPJoinACKHMAC(keyC, keyS, rA, rB)
	if badAck {
		ack[19] ^= 1
	}
	add := wire.AddAddr{AddrID: 3, Addr: srv2.Addr()}
	add.HMAC = wire.AddAddrHMAC(keyS, keyC, 3, srv2.Addr(), 0)
	if badAddAddr {
		add.HMAC++
	}
	h := wire.MPCapableHMACSHA256
	return []seg{
		{src: cli, dst: srv, seq: 100, flags: wire.FlagSYN, opts: []wire.MPTCPOption{wire.MPCapable{Version: 1, Flags: h, Form: wire.MPCapableSYN}}},
		{src: srv, dst: cli, seq: 500, ack: 101, flags: wire.FlagSYN | wire.FlagACK, opts: []wire.MPTCPOption{wire.MPCapable{Version: 1, Flags: h, Form: wire.MPCapableSYNACK, SenderKey: keyS}}},
		{src: cli, dst: srv, seq: 101, ack: 501, flags: wire.FlagACK, opts: []wire.MPTCPOption{wire.MPCapable{Version: 1, Flags: h, Form: wire.MPCapableACK, SenderKey: keyC, ReceiverKey: keyS}}},
		{src: srv, dst: cli, seq: 501, ack: 101, flags: wire.FlagACK, opts: []wire.MPTCPOption{add}},
		{src: cli, dst: srv, seq: 101, ack: 501, flags: wire.FlagACK, opts: []wire.MPTCPOption{wire.AddAddr{Echo: true, AddrID: 3, Addr: srv2.Addr()}}},
		{src: cli2, dst: srv2, seq: 9000, flags: wire.FlagSYN, opts: []wire.MPTCPOption{wire.MPJoin{Form: wire.MPJoinSYN, AddrID: 2, Token: wire.Token(keyS), Random: rA, Flags: wire.MPJoinBackup}}},
		{src: srv2, dst: cli2, seq: 7000, ack: 9001, flags: wire.FlagSYN | wire.FlagACK, opts: []wire.MPTCPOption{wire.MPJoin{Form: wire.MPJoinSYNACK, AddrID: 3, TruncatedHMAC: binary.BigEndian.Uint64(synAck[:]), Random: rB}}},
		{src: cli2, dst: srv2, seq: 9001, ack: 7001, flags: wire.FlagACK, opts: []wire.MPTCPOption{wire.MPJoin{Form: wire.MPJoinACK, HMAC: ack}}},
	}
}

func track(t *testing.T, segs []seg) *Tracker {
	t.Helper()
	tr := NewTracker()
	for _, s := range decodeAll(t, capture(t, layers.LinkTypeRaw, 0, segs...)) {
		tr.Add(s)
	}
	return tr
}

func TestTracker(t *testing.T) {
	tr := track(t, handshake(false, false, false))
	if len(tr.Conns()) != 1 {
		t.Fatalf("%d connections", len(tr.Conns()))
	}
	c := tr.Conns()[0]
	if !c.HasClientKey || !c.HasServerKey || c.ClientKey != keyC || c.ServerKey != keyS || c.KeyMismatch || c.Fallback {
		t.Fatalf("conn %+v", c)
	}
	if c.ServerToken() != wire.Token(keyS) || c.ClientIDSN() != wire.IDSN(keyC) {
		t.Errorf("token/IDSN")
	}
	if len(c.Subflows) != 2 {
		t.Fatalf("%d subflows", len(c.Subflows))
	}
	j := c.Subflows[1]
	want := struct {
		Join, Backup, FromClient bool
		IDs                      [2]uint8
		SynAck, Ack              Verdict
	}{true, true, true, [2]uint8{2, 3}, Valid, Valid}
	got := want
	got.Join, got.Backup, got.FromClient = j.Join, j.Backup, j.InitiatorIsClient
	got.IDs = [2]uint8{j.InitiatorAddrID, j.ResponderAddrID}
	got.SynAck, got.Ack = j.SynAckHMACOK, j.AckHMACOK
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("join (-want +got):\n%s", diff)
	}
	if len(c.Addresses) != 2 || c.Addresses[0].HMACOK != Valid || c.Addresses[0].FromClient || !c.Addresses[1].Option.Echo || !c.Addresses[1].FromClient {
		t.Errorf("addresses %+v", c.Addresses)
	}
}

func TestTrackerBadHMACs(t *testing.T) {
	for _, tc := range []struct {
		name            string
		synAck, ack, aa bool
	}{{"synack", true, false, false}, {"ack", false, true, false}, {"add_addr", false, false, true}} {
		c := track(t, handshake(tc.synAck, tc.ack, tc.aa)).Conns()[0]
		j := c.Subflows[1]
		if (j.SynAckHMACOK == Invalid) != tc.synAck || (j.AckHMACOK == Invalid) != tc.ack || (c.Addresses[0].HMACOK == Invalid) != tc.aa {
			t.Errorf("%s: synack %v ack %v add_addr %v", tc.name, j.SynAckHMACOK, j.AckHMACOK, c.Addresses[0].HMACOK)
		}
	}
}

func TestTrackerFallbackAndLateJoin(t *testing.T) {
	syn := seg{src: cli, dst: srv, seq: 1, flags: wire.FlagSYN, opts: []wire.MPTCPOption{wire.MPCapable{Version: 1, Flags: wire.MPCapableHMACSHA256, Form: wire.MPCapableSYN}}}
	synAck := seg{src: srv, dst: cli, seq: 1, ack: 2, flags: wire.FlagSYN | wire.FlagACK}
	c := track(t, []seg{syn, synAck}).Conns()[0]
	if !c.Fallback {
		t.Error("SYN/ACK without MP_CAPABLE: no fallback recorded")
	}
	// A join whose token is unknown stays unattached.
	h := handshake(false, false, false)
	tr := track(t, h[5:])
	if len(tr.Conns()) != 0 {
		t.Errorf("join alone made %d connections", len(tr.Conns()))
	}
}

func TestJSON(t *testing.T) {
	tr := NewTracker()
	var objs []Object
	for _, s := range decodeAll(t, capture(t, layers.LinkTypeRaw, 0, handshake(false, false, false)...)) {
		sf := tr.Add(s)
		objs = append(objs, SegmentObject(s, sf.Conn.ID))
	}
	b, err := objs[1].MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"frame":2`, `"flags":"S."`, `"subtype":"MP_CAPABLE"`, `"sender_key":"0x1112131415161718"`, `"mptcp_connection":1`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	c, err := ConnObject(tr.Conns()[0]).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"client_key":"0x0102030405060708"`, `"synack_hmac":"ok"`, `"ack_hmac":"ok"`, `"hmac":"ok"`} {
		if !bytes.Contains(c, []byte(want)) {
			t.Errorf("JSON %s lacks %s", c, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range handshake(false, false, false) {
		f.Add(s.build(f))
	}
	f.Fuzz(func(t *testing.T, ip []byte) {
		s, err := Decode(Frame{Number: 1, IP: ipOnly(ip), OrigLen: len(ip), CapLen: len(ip)})
		if err != nil {
			return
		}
		NewTracker().Add(s)
		if _, err := SegmentObject(s, 0).MarshalJSON(); err != nil {
			t.Fatal(err)
		}
	})
}
