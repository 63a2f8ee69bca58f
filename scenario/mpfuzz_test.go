package scenario_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/scenario"
	"github.com/gomptcp/mptcp/wire"
)

// optionMutator is a Middleware that rewrites the MPTCP options of the
// TCP segments crossing it as a script of fuzzer bytes says, and fixes
// the TCP checksum, so that the segments reach the stacks and only MPTCP
// can tell: every segment with an MPTCP option takes the next script
// byte; 0 mod 4 leaves the segment alone, 1 flips a bit of an option
// byte (the next script byte picks which), 2 overwrites the option's
// subtype nibble, 3 turns the option into NOPs. The script repeats.
//
// Without DSS checksums nothing can tell a changed data mapping from a
// true one (RFC 8684 §3.3.1: the checksum is there for that), so then
// options that carry a mapping (a DSS with one, an MP_CAPABLE with data)
// are left alone.
type optionMutator struct {
	script []byte
	pos    int
	csum   bool
}

func (m *optionMutator) next() byte {
	b := m.script[m.pos%len(m.script)]
	m.pos++
	return b
}

func (m *optionMutator) Process(_ time.Time, pkt []byte, out link.Emitter) {
	if len(m.script) > 0 && len(pkt) > 0 && pkt[0]>>4 == 4 {
		ip := wire.IPv4(pkt)
		if ip.Check() == nil && ip.Protocol() == wire.IPProtocolTCP {
			m.mutate(ip.Src(), ip.Dst(), wire.TCP(ip.Payload()))
		}
	}
	out.Emit(pkt)
}

func (m *optionMutator) mutate(src, dst netip.Addr, t wire.TCP) {
	if t.Check() != nil {
		return
	}
	it := wire.NewOptionIter(t.Options())
	off := wire.TCPMinHeaderLen
	for kind, opt, ok := it.Next(); ok; kind, opt, ok = it.Next() {
		if kind == wire.OptionKindMPTCP && len(opt) >= 3 {
			if !m.csum && carriesMapping(opt) {
				return
			}
			b := t[off : off+len(opt)]
			switch op := m.next(); op % 4 {
			case 1:
				k := int(m.next()) % (len(b) * 8)
				b[k/8] ^= 1 << (k % 8)
			case 2:
				b[2] = b[2]&0x0f | m.next()<<4
			case 3:
				for i := range b {
					b[i] = wire.OptionKindNOP
				}
			}
			t.SetChecksum(src, dst)
			return
		}
		off += len(opt)
	}
}

// carriesMapping reports whether an MPTCP option maps data: a DSS with a
// mapping, or an MP_CAPABLE with data.
func carriesMapping(opt []byte) bool {
	st, ok := wire.PeekMPTCPSubtype(opt)
	if !ok {
		return false
	}
	switch st {
	case wire.SubtypeDSS:
		d, _, err := wire.ParseDSS(opt)
		return err != nil || d.HasMapping()
	case wire.SubtypeMPCapable:
		return len(opt) >= wire.MPCapableLenACKData
	}
	return false
}

func (m *optionMutator) Poll(time.Time, link.Emitter) {}
func (m *optionMutator) Deadline() time.Time          { return time.Time{} }

// FuzzMPTCPOptionMutation runs MPTCP transfers over two paths, the
// initial one of which mutates MPTCP options as the fuzzer's script says
// (with valid TCP checksums), with and without DSS checksums. The
// connection may fall back, lose subflows or fail, but the application
// must never read a wrong byte, and nothing may panic.
func FuzzMPTCPOptionMutation(f *testing.F) {
	f.Add([]byte{0}, false)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 17}, true)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x20}, false)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 3}, false)
	f.Add([]byte{1, 200, 0, 0, 1, 13, 2, 0x40, 0, 3}, true)
	f.Fuzz(func(t *testing.T, script []byte, csum bool) {
		if len(script) == 0 || len(script) > 256 {
			return
		}
		s := twoPaths50x30()
		s.Name, s.Seed = "fuzz", uint64(binary.LittleEndian.Uint16(append(script, 0)[:2]))
		s.Limit = 2 * time.Minute
		s.MPTCP.Checksum = csum
		s.Flows = []scenario.Flow{scenario.MPTCPFlow("f", 2, 256<<10)}
		r, err := scenario.Start(&s)
		if err != nil {
			t.Fatal(err)
		}
		m := &optionMutator{script: script, csum: csum}
		l := r.Link("p1")
		l.AB().AddIngress(m)
		l.BA().AddIngress(m)
		res := r.Finish()
		if fl := res.Flows[0]; fl.Mismatch >= 0 {
			t.Fatalf("the receiver read a wrong byte at %d\n%s", fl.Mismatch, res)
		}
	})
}
