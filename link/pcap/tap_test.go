package pcap_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/pcap"
)

var (
	a4 = netip.MustParseAddrPort("192.0.2.1:40001")
	b4 = netip.MustParseAddrPort("198.51.100.7:40000")
	a6 = netip.MustParseAddrPort("[2001:db8::1]:40001")
	b6 = netip.MustParseAddrPort("[2001:db8:1::2]:443")
)

type collect struct{ got [][]byte }

func (c *collect) Emit(p []byte) { c.got = append(c.got, append([]byte(nil), p...)) }

func TestTapRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	tap, err := pcap.NewTap(&buf, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pkts := [][]byte{
		pkttest.UDP(a4, b4, []byte("hello")),
		pkttest.UDP(a6, b6, []byte("over IPv6")),
		pkttest.TCP(pkttest.TCPSpec{Src: a4, Dst: b4, Seq: 1, SYN: true,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}}}),
	}
	times := []time.Time{clock.Epoch, clock.Epoch.Add(1234567 * time.Nanosecond), clock.Epoch.Add(3 * time.Second)}
	var out collect
	for i, p := range pkts {
		tap.Process(times[i], p, &out)
	}
	if diff := cmp.Diff(pkts, out.got); diff != "" {
		t.Fatalf("tap changed packets (-want +got):\n%s", diff)
	}
	if tap.Packets() != 3 || tap.Err() != nil || !tap.Deadline().IsZero() {
		t.Fatalf("Packets() = %d, Err() = %v, Deadline() = %v", tap.Packets(), tap.Err(), tap.Deadline())
	}

	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeRaw {
		t.Fatalf("link type %v, want Raw", r.LinkType())
	}
	if r.Snaplen() != pcap.DefaultSnapLen {
		t.Fatalf("snaplen %d", r.Snaplen())
	}
	for i := range pkts {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !ci.Timestamp.Equal(times[i]) {
			t.Errorf("record %d: timestamp %v, want %v", i, ci.Timestamp, times[i])
		}
		if !bytes.Equal(data, pkts[i]) || ci.Length != len(pkts[i]) {
			t.Errorf("record %d: data differs", i)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		if e := p.ErrorLayer(); e != nil {
			t.Fatalf("record %d: gopacket: %v", i, e.Error())
		}
		switch i {
		case 0:
			udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if udp == nil || ip == nil || string(udp.Payload) != "hello" || !ip.SrcIP.Equal(a4.Addr().AsSlice()) {
				t.Errorf("record 0 decodes as %v", p)
			}
		case 1:
			ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if ip == nil || !ip.DstIP.Equal(b6.Addr().AsSlice()) {
				t.Errorf("record 1 decodes as %v", p)
			}
		case 2:
			tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if tcp == nil || !tcp.SYN || len(tcp.Options) == 0 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS {
				t.Errorf("record 2 decodes as %v", p)
			}
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Fatalf("after the last record: %v", err)
	}
}

func TestTapSnapLenAndFilter(t *testing.T) {
	var buf bytes.Buffer
	tap, err := pcap.NewTap(&buf, pcap.Options{SnapLen: 40, Filter: func(p []byte) bool { return p[0]>>4 == 4 }})
	if err != nil {
		t.Fatal(err)
	}
	big := pkttest.UDP(a4, b4, make([]byte, 200))
	var out collect
	tap.Process(clock.Epoch, big, &out)
	tap.Process(clock.Epoch, pkttest.UDP(a6, b6, nil), &out) // filtered out, still passed
	if len(out.got) != 2 {
		t.Fatalf("passed %d packets, want 2", len(out.got))
	}
	if tap.Packets() != 1 {
		t.Fatalf("wrote %d packets, want 1", tap.Packets())
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 40 || ci.CaptureLength != 40 || ci.Length != len(big) || !bytes.Equal(data, big[:40]) {
		t.Fatalf("truncated record: %d bytes, ci %+v", len(data), ci)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestTapWriteError(t *testing.T) {
	if _, err := pcap.NewTap(&failWriter{}, pcap.Options{}); err == nil {
		t.Fatal("NewTap on a failing writer succeeded")
	}
	tap, err := pcap.NewTap(&failWriter{n: 1}, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out collect
	p := pkttest.UDP(a4, b4, nil)
	tap.Process(clock.Epoch, p, &out)
	tap.Process(clock.Epoch, p, &out)
	if tap.Err() == nil || tap.Packets() != 0 {
		t.Fatalf("Err() = %v, Packets() = %d", tap.Err(), tap.Packets())
	}
	if len(out.got) != 2 {
		t.Fatalf("a failing tap passed %d packets, want 2", len(out.got))
	}
}

func TestTapZeroTime(t *testing.T) {
	var buf bytes.Buffer
	tap, err := pcap.NewTap(&buf, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tap.Process(time.Time{}, pkttest.UDP(a4, b4, nil), link.EmitFunc(func([]byte) {}))
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	_, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	if !ci.Timestamp.Equal(time.Unix(0, 0)) {
		t.Fatalf("zero time written as %v, want the Unix epoch", ci.Timestamp)
	}
}

func BenchmarkTap(b *testing.B) {
	tap, err := pcap.NewTap(io.Discard, pcap.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := pkttest.UDP(a4, b4, make([]byte, 1400))
	out := link.EmitFunc(func([]byte) {})
	now := clock.Epoch
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		tap.Process(now, p, out)
	}
}
