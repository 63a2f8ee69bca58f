package wire

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mptcpDataSegmentOptions is the option area of a typical Linux MPTCP data
// segment: NOP NOP timestamps, then a DSS with a 64-bit DATA_ACK and a
// 64-bit mapping.
func mptcpDataSegmentOptions() []byte {
	var o TCPOptions
	o.HasTimestamps, o.TSVal, o.TSEcr = true, 0x01020304, 0x05060708
	dss := DSS{Flags: DSSDataACK | DSSDataACK64 | DSSMapping | DSSDSN64, DataACK: 1 << 40, DSN: 1<<41 + 7, SSN: 1, DataLen: 1400}
	raw := dss.Append(nil)
	o.MPTCP[0], o.NumMPTCP = raw, 1
	return o.Append(nil)
}

func TestParseMPTCPOptions(t *testing.T) {
	dss := DSS{Flags: DSSDataACK, DataACK: 77}
	prio := MPPrio{Backup: true}
	add := AddAddr{AddrID: 4, Addr: netip.MustParseAddr("192.0.2.9"), HMAC: 0x1122334455667788}
	opts := func(raw ...[]byte) *TCPOptions {
		var o TCPOptions
		for _, r := range raw {
			o.MPTCP[o.NumMPTCP] = r
			o.NumMPTCP++
		}
		return &o
	}
	var m MPTCPOptions
	if err := ParseMPTCPOptions(opts(dss.Append(nil), prio.Append(nil), add.Append(nil)), &m); err != nil {
		t.Fatal(err)
	}
	for _, st := range []MPTCPSubtype{SubtypeDSS, SubtypeMPPrio, SubtypeAddAddr} {
		if !m.Has(st) {
			t.Errorf("Has(%v) = false", st)
		}
	}
	if m.Has(SubtypeMPCapable) || m.Malformed(SubtypeDSS) || !m.Any() {
		t.Errorf("presence bits wrong: %+v", m)
	}
	if diff := cmp.Diff(dss, m.DSS); diff != "" {
		t.Errorf("DSS (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(add, m.AddAddr, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ADD_ADDR (-want +got):\n%s", diff)
	}

	// A malformed DSS beside a good MP_PRIO: the error is returned, the
	// DSS is marked malformed and absent, the MP_PRIO is kept.
	bad := dss.Append(nil)
	bad[1]++
	bad = append(bad, 0)
	err := ParseMPTCPOptions(opts(bad, prio.Append(nil)), &m)
	if !errors.Is(err, ErrBadLength) {
		t.Errorf("malformed DSS: err %v, want ErrBadLength", err)
	}
	if m.Has(SubtypeDSS) || !m.Malformed(SubtypeDSS) || !m.Has(SubtypeMPPrio) {
		t.Errorf("malformed DSS: Has(DSS)=%v Malformed(DSS)=%v Has(MP_PRIO)=%v", m.Has(SubtypeDSS), m.Malformed(SubtypeDSS), m.Has(SubtypeMPPrio))
	}

	// Two DSS options: the first is kept, the second reported.
	second := DSS{Flags: DSSDataACK, DataACK: 99}
	err = ParseMPTCPOptions(opts(dss.Append(nil), second.Append(nil)), &m)
	if !errors.Is(err, ErrBadValue) || m.DSS.DataACK != 77 {
		t.Errorf("duplicate DSS: err %v, DataACK %d", err, m.DSS.DataACK)
	}

	// Unknown subtypes are ignored without error, but seen by Any.
	if err := ParseMPTCPOptions(opts([]byte{30, 4, 0x90, 0}), &m); err != nil || m.Has(9) || !m.Any() {
		t.Errorf("unknown subtype: err %v Any %v", err, m.Any())
	}

	// A version-0 MP_CAPABLE is malformed for the engine, but its value
	// stays readable so that the engine can tell v0 and fall back.
	v0 := []byte{30, 12, 0x00, 0x81, 1, 2, 3, 4, 5, 6, 7, 8}
	err = ParseMPTCPOptions(opts(v0), &m)
	if !errors.Is(err, ErrBadVersion) || !m.Malformed(SubtypeMPCapable) || m.MPCapable.Version != 0 {
		t.Errorf("v0 MP_CAPABLE: err %v Malformed %v version %d", err, m.Malformed(SubtypeMPCapable), m.MPCapable.Version)
	}
}

func TestParseMPTCPOptionDispatch(t *testing.T) {
	for _, o := range []MPTCPOption{
		MPCapable{Version: 1, Flags: MPCapableHMACSHA256, Form: MPCapableSYNACK, SenderKey: 5},
		MPJoin{Form: MPJoinSYN, AddrID: 1, Token: 2, Random: 3},
		DSS{Flags: DSSDataACK, DataACK: 1},
		AddAddr{Echo: true, AddrID: 1, Addr: netip.MustParseAddr("2001:db8::1"), HasPort: true, Port: 80},
		RemoveAddr{IDs: []uint8{1, 2}},
		MPPrio{Backup: true},
		MPFail{DSN: 9},
		MPFastClose{ReceiverKey: 10},
		MPTCPRST{T: true, Reason: 3},
		MPExperimental{Data: []byte{1, 2, 3}},
	} {
		b := o.Append(nil)
		got, n, err := ParseMPTCPOption(b)
		if err != nil || n != len(b) {
			t.Errorf("%v: n %d err %v", o.Subtype(), n, err)
			continue
		}
		if diff := cmp.Diff(o, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("%v (-want +got):\n%s", o.Subtype(), diff)
		}
	}
	for _, bad := range [][]byte{nil, {30}, {30, 2}, {2, 4, 0, 0}, {30, 4, 0xa0, 0}} {
		if _, _, err := ParseMPTCPOption(bad); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}

// BenchmarkDataSegmentOptions parses a data segment's option area the way
// the receive path does: the TCP option walker, then the MPTCP options.
func BenchmarkDataSegmentOptionsParse(b *testing.B) {
	raw := mptcpDataSegmentOptions()
	var o TCPOptions
	var m MPTCPOptions
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := ParseTCPOptions(raw, &o); err != nil {
			b.Fatal(err)
		}
		if err := ParseMPTCPOptions(&o, &m); err != nil || !m.Has(SubtypeDSS) {
			b.Fatal(err)
		}
	}
}

// BenchmarkDataSegmentOptionsEmit builds a data segment's option area the
// way the send path does, into a reused buffer.
func BenchmarkDataSegmentOptionsEmit(b *testing.B) {
	dss := DSS{Flags: DSSDataACK | DSSDataACK64 | DSSMapping | DSSDSN64, DataACK: 1 << 40, DSN: 1<<41 + 7, SSN: 1, DataLen: 1400}
	var scratch [40]byte
	out := make([]byte, 0, 60)
	b.ReportAllocs()
	for b.Loop() {
		var o TCPOptions
		o.HasTimestamps, o.TSVal, o.TSEcr = true, 1, 2
		o.MPTCP[0], o.NumMPTCP = dss.Append(scratch[:0]), 1
		out = o.Append(out[:0])
		if len(out) != 40 { // NOP NOP TS (12) + DSS (26) + padding
			b.Fatalf("options are %d bytes", len(out))
		}
	}
}
