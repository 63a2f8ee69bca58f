package wire

import "testing"

// A data segment's DSS as Linux sends it: 64-bit Data ACK and DSN, with and
// without the DSS checksum (RFC 8684 §3.3).
var mpaBenchDSS = []struct {
	name string
	v    DSS
}{
	{"64bit", DSS{Flags: mpaDSSData64, DataACK: 0xea1c683af758d9fd, DSN: 0xe3de15f9a4c77a57, SSN: 1, DataLen: 1448}},
	{"64bit+csum", DSS{Flags: mpaDSSData64, DataACK: 0x5df26d25a8923109, DSN: 0x75e32d0b2e9f65e7, SSN: 1, DataLen: 1448, HasChecksum: true, Checksum: 0x591c}},
}

func BenchmarkParseDSS(b *testing.B) {
	for _, bc := range mpaBenchDSS {
		b.Run(bc.name, func(b *testing.B) {
			opt := bc.v.Append(nil)
			b.ReportAllocs()
			b.SetBytes(int64(len(opt)))
			var (
				v   DSS
				n   int
				err error
			)
			for b.Loop() {
				v, n, err = ParseDSS(opt)
			}
			if err != nil || n != len(opt) || v != bc.v {
				b.Fatalf("parsed %+v, n=%d, err=%v; want %+v", v, n, err, bc.v)
			}
		})
	}
}

func BenchmarkDSSAppend(b *testing.B) {
	for _, bc := range mpaBenchDSS {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 40)
			b.ReportAllocs()
			b.SetBytes(int64(bc.v.Len()))
			for b.Loop() {
				buf = bc.v.Append(buf[:0])
			}
			if len(buf) != bc.v.Len() {
				b.Fatalf("appended %d bytes, Len() = %d", len(buf), bc.v.Len())
			}
		})
	}
}

func BenchmarkParseMPCapable(b *testing.B) {
	opt := MPCapable{Version: 1, Flags: MPCapableHMACSHA256, Form: MPCapableACKData, SenderKey: 1, ReceiverKey: 2, DataLen: 1448}.Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseMPCapable(opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMPJoin(b *testing.B) {
	opt := MPJoin{Form: MPJoinACK, HMAC: [20]byte{1, 2, 3}}.Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseMPJoin(opt); err != nil {
			b.Fatal(err)
		}
	}
}
