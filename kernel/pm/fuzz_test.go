package pm

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

// encodeEventForTest encodes the present attributes of ev the way the kernel
// does, for the decode→encode→decode property of FuzzDecodeEvent.
func encodeEventForTest(ev Event) []byte {
	var attrs []netlink.Attribute
	add := func(a EventAttr, data []byte) {
		if ev.Present.Has(a) {
			attrs = append(attrs, attr(uint16(a), data))
		}
	}
	add(AttrToken, u32(ev.Token))
	add(AttrFamily, u16(ev.Family))
	add(AttrLocID, u8(ev.LocalID))
	add(AttrRemID, u8(ev.RemoteID))
	if ev.SAddr.Is4() {
		add(AttrSaddr4, ev.SAddr.AsSlice())
	} else if ev.SAddr.IsValid() {
		add(AttrSaddr6, ev.SAddr.AsSlice())
	}
	if ev.DAddr.Is4() {
		add(AttrDaddr4, ev.DAddr.AsSlice())
	} else if ev.DAddr.IsValid() {
		add(AttrDaddr6, ev.DAddr.AsSlice())
	}
	add(AttrSport, net16(ev.SPort))
	add(AttrDport, net16(ev.DPort))
	add(AttrBackup, u8(uint8(b2i(ev.Backup))))
	add(AttrError, u8(ev.Error))
	add(AttrFlags, u16(uint16(ev.Flags)))
	add(AttrTimeout, u32(ev.Timeout))
	add(AttrIfIdx, u32(uint32(int32(ev.IfIndex))))
	add(AttrResetReason, u32(ev.ResetReason))
	add(AttrResetFlags, u32(ev.ResetFlags))
	add(AttrServerSide, u8(uint8(b2i(ev.ServerSide))))
	for _, u := range ev.Unknown {
		attrs = append(attrs, attr(u.Type, u.Data))
	}
	return marshal(attrs...)
}

func FuzzDecodeEvent(f *testing.F) {
	for _, tt := range eventCases {
		f.Add(uint8(tt.typ), marshal(tt.attrs...))
	}
	f.Add(uint8(EventClosed), []byte{8, 0, 1})
	f.Add(uint8(EventClosed), []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		ev, err := decodeEvent(EventType(typ), b)
		_ = ev.String()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// A decodable event survives re-encoding, unless attributes
		// override each other.
		again, err := decodeEvent(EventType(typ), encodeEventForTest(ev))
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if diff := cmp.Diff(ev, again, cmpEvent); diff != "" && !ambiguousEvent(b) {
			t.Fatalf("decode→encode→decode changed the event (-first +second):\n%s", diff)
		}
	})
}

// ambiguousEvent reports whether b holds attributes that override each
// other (two addresses for one end, a repeated attribute), which re-encoding
// cannot reproduce.
func ambiguousEvent(b []byte) bool {
	seen := map[uint16]bool{}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return true
	}
	for ad.Next() {
		t := ad.Type()
		if seen[t] {
			return true
		}
		seen[t] = true
	}
	return seen[uint16(AttrSaddr4)] && seen[uint16(AttrSaddr6)] ||
		seen[uint16(AttrDaddr4)] && seen[uint16(AttrDaddr6)]
}

func FuzzDecodeEndpointReply(f *testing.F) {
	f.Add(marshal(nest(attrAddr,
		attr(addrAttrFamily, u16(afINET)), attr(addrAttrID, u8(5)), attr(addrAttrAddr4, ip4("10.0.2.2")),
		attr(addrAttrFlags, u32(6)), attr(addrAttrIfIdx, u32(3)))))
	f.Add(marshal(attr(attrToken, u32(1)), nest(attrAddr,
		attr(addrAttrFamily, u16(afINET6)), attr(addrAttrAddr6, ip6("fd00::1")), attr(addrAttrPort, u16(4321)))))
	f.Add(marshal(nest(attrAddr, attr(addrAttrAddr4, ip4("10.0.0.1"))), nest(attrAddr, attr(addrAttrAddr4, ip4("10.0.0.1")))))
	f.Add([]byte{4, 0, 1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEndpointReply(b)
		_ = e.String()
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !e.Addr.IsValid() {
			t.Fatalf("decoded endpoint without an address: %v", e)
		}
		// Re-encode with the request encoder: the same endpoint comes back.
		ae := netlink.NewAttributeEncoder()
		encodeAddr(ae, attrAddr, addrSpec{id: e.ID, hasID: true, addr: e.Addr, port: e.Port, flags: e.Flags, ifIndex: e.IfIndex})
		nb, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeEndpointReply(nb)
		if err != nil {
			t.Fatalf("re-encoded endpoint does not decode: %v", err)
		}
		if again != e {
			t.Fatalf("decode→encode→decode: %v became %v", e, again)
		}
	})
}

func FuzzDecodeLimits(f *testing.F) {
	f.Add(marshal(attr(attrRcvAddAddrs, u32(0)), attr(attrSubflows, u32(2))))
	f.Add(marshal(attr(attrSubflows, u32(2))))
	f.Add([]byte{5, 0, 2, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeLimits(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		nb, err := encodeSetLimits(&l.Subflows, &l.AddAddrAccepted)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := decodeLimits(nb); err != nil || again != l {
			t.Fatalf("decode→encode→decode: %v became %v (%v)", l, again, err)
		}
	})
}

func FuzzDecodeFamily(f *testing.F) {
	f.Add(familyReply(testFamily))
	f.Add(marshal(attr(ctrlAttrFamilyID, u16(0x1c))))
	f.Add([]byte{8, 0, 7, 0x80, 4, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fam, _, err := decodeFamily(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if fam.id == 0 {
			t.Fatal("decoded family id 0")
		}
	})
}

func BenchmarkDecodeEvent(b *testing.B) {
	attrs := marshal(append(tokenAndAddrs(0x260ff3aa, 1, 0, 42901, 5000),
		attr(uint16(AttrBackup), u8(0)), attr(uint16(AttrIfIdx), u32(3)))...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeEvent(EventSubEstablished, attrs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventString(b *testing.B) {
	ev, err := decodeEvent(EventSubEstablished, marshal(append(tokenAndAddrs(0x260ff3aa, 1, 0, 42901, 5000),
		attr(uint16(AttrBackup), u8(0)))...))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = ev.String()
	}
}

func BenchmarkDecodeEndpointReply(b *testing.B) {
	reply := marshal(nest(attrAddr,
		attr(addrAttrFamily, u16(afINET)), attr(addrAttrID, u8(5)), attr(addrAttrAddr4, ip4("10.0.2.2")),
		attr(addrAttrFlags, u32(6)), attr(addrAttrIfIdx, u32(3))))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeEndpointReply(reply); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeAddEndpoint(b *testing.B) {
	e := Endpoint{ID: 5, Addr: netip.MustParseAddr("10.0.2.2"), Flags: FlagSubflow | FlagBackup, IfIndex: 3}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeAddEndpoint(e); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeEventForTest keeps the fuzz helper honest: it reproduces the
// kernel layouts of eventCases.
func TestEncodeEventForTest(t *testing.T) {
	for _, tt := range eventCases {
		got, err := decodeEvent(tt.typ, encodeEventForTest(tt.want))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got, cmpEvent); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
