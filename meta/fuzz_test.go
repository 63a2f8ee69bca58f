package meta

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"

	"github.com/gomptcp/mptcp/wire"
)

// optionMutator damages MPTCP options in flight as the fuzz input says:
// one input byte per segment chooses what happens to it.
type optionMutator struct {
	in       []byte
	csum     bool // DSS checksums are on: mappings may be damaged too
	mutated  int
	consumed int
}

func (m *optionMutator) next() (byte, bool) {
	if m.consumed >= len(m.in) {
		return 0, false
	}
	b := m.in[m.consumed]
	m.consumed++
	return b, true
}

func (m *optionMutator) mutate(f *flight) bool {
	o := &f.seg.Options
	if o.NumMPTCP == 0 {
		return true
	}
	op, ok := m.next()
	if !ok {
		return true
	}
	arg, _ := m.next()
	i := int(arg) % o.NumMPTCP
	opt := o.MPTCP[i]
	if !m.csum {
		// Without checksums nothing can detect a changed mapping
		// (RFC 8684 §3.3.1): leave those alone.
		if st, _ := wire.PeekMPTCPSubtype(opt); st == wire.SubtypeDSS || st == wire.SubtypeMPCapable && len(opt) >= wire.MPCapableLenACKData {
			if d, _, err := wire.ParseDSS(opt); err != nil || d.HasMapping() || st == wire.SubtypeMPCapable {
				return true
			}
		}
	}
	switch op % 8 {
	case 0, 1, 2, 3:
		return true
	case 4: // flip one bit
		pos, _ := m.next()
		opt[int(pos)%len(opt)] ^= 1 << (arg % 8)
	case 5: // remove the option
		copy(o.MPTCP[i:], o.MPTCP[i+1:o.NumMPTCP])
		o.NumMPTCP--
	case 6: // shorten it
		if len(opt) > 3 {
			n := 3 + int(arg)%(len(opt)-3)
			o.MPTCP[i] = opt[:n]
			o.MPTCP[i][1] = byte(n)
		}
	case 7: // change the subtype or length octet
		v, _ := m.next()
		opt[1+int(arg)%2] = v
	}
	m.mutated++
	return true
}

// FuzzMutatedOptions runs a two-subflow transfer through a network that
// damages MPTCP options as the input says. Whatever happens, the engine
// must not panic and the applications must never read a wrong byte; a
// stall or a reset is an acceptable outcome.
func FuzzMutatedOptions(f *testing.F) {
	f.Add([]byte{0, 1})
	f.Add(bytes.Repeat([]byte{4, 7, 3}, 40))
	f.Add(bytes.Repeat([]byte{5, 1}, 30))
	f.Add(bytes.Repeat([]byte{1, 4, 2, 9, 6, 1, 7, 3, 0x20}, 30))
	f.Add(append([]byte{1}, bytes.Repeat([]byte{4, 200, 17, 0, 0}, 50)...))
	up, down := pattern(48<<10, 13), pattern(24<<10, 14)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		mut := &optionMutator{in: in[1:], csum: in[0]&1 != 0}
		h := newHarness(t, uint64(in[0]), pathCfg{delay: 3 * time.Millisecond, jitter: 2 * time.Millisecond, loss: 0.01})
		h.mutate = mut.mutate
		cc, sc := testConfig(uint64(in[0]), h.cli), testConfig(uint64(in[0])+1, h.srv)
		cc.Checksum = mut.csum
		for _, c := range []*Config{cc, sc} {
			c.Subflow.Retries = 4
			c.Subflow.SynRetries = 2
		}
		h.listen(sc)
		x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:2], closeOnEOF: true}
		x.cli = h.dial(cc, clientAddr[0])
		// Path-management signals travel too, so that mutations hit
		// ADD_ADDR, its echo and MP_PRIO: the server announces an
		// address and the client makes its join a backup subflow.
		announced, prio := in[0]&2 == 0, in[0]&4 == 0
		app := func() {
			x.app()
			if !announced && x.srv != nil && len(x.gotDown) > 4<<10 {
				_, err := x.srv.Announce(h.now, netip.AddrPortFrom(announcedAddr, 0))
				announced = err != ErrNotEstablished
			}
			if !prio && len(x.cli.Subflows()) == 2 && len(x.gotUp) > 8<<10 {
				prio = x.cli.SetBackup(h.now, x.cli.Subflows()[1], true) != ErrNotEstablished
			}
		}
		end := h.now.Add(3 * time.Minute)
		for steps := 0; steps < 200000 && h.now.Before(end); steps++ {
			if x.cliEOF && x.srvEOF && x.cli.Closed() && (x.srv == nil || x.srv.Closed()) {
				break
			}
			if !h.step(app) {
				break
			}
		}
		if !bytes.HasPrefix(up, x.gotUp) {
			t.Fatalf("server read a wrong byte at %d (of %d read; %d mutations)", firstDiff(x.gotUp, up), len(x.gotUp), mut.mutated)
		}
		if !bytes.HasPrefix(down, x.gotDown) {
			t.Fatalf("client read a wrong byte at %d (of %d read; %d mutations)", firstDiff(x.gotDown, down), len(x.gotDown), mut.mutated)
		}
		if x.srvEOF && x.srv.Err() == nil && len(x.gotUp) != len(up) {
			t.Fatalf("server saw a clean end after %d of %d bytes", len(x.gotUp), len(up))
		}
		if x.cliEOF && x.cli.Err() == nil && len(x.gotDown) != len(down) {
			t.Fatalf("client saw a clean end after %d of %d bytes", len(x.gotDown), len(down))
		}
	})
}

// FuzzHandshakeOptions gives a listener and a client arbitrary MPTCP
// option bytes in the SYN, the SYN/ACK and the third ACK: whatever they
// hold, nothing panics, and the connection either runs MPTCP with the
// keys that were exchanged or falls back (or is refused).
func FuzzHandshakeOptions(f *testing.F) {
	f.Add([]byte{30, 4, 0x01, 0x01}, []byte{}, []byte{})
	f.Add([]byte{30, 4, 0x00, 0x81}, []byte{30, 12, 0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, []byte{30, 20, 0x01, 0x01})
	f.Add([]byte{30, 12, 0x10, 0x00, 0, 0, 0, 1, 0, 0, 0, 2}, []byte{30, 16, 0x10}, []byte{30, 24, 0x10})
	f.Add([]byte{30, 3, 0x01}, []byte{30, 4, 0x81, 0x01}, []byte{30, 12, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, synOpt, synackOpt, ackOpt []byte) {
		l, err := NewListener(segConfig(1), serverAP.Port(), 4)
		if err != nil {
			t.Fatal(err)
		}
		cli, err := Dial(t0, segConfig(2), cliID)
		if err != nil {
			t.Fatal(err)
		}
		replace := func(s *tcp.Segment, opt []byte) {
			if len(opt) > 0 {
				s.Options.MPTCP[0] = append([]byte(nil), opt...)
				s.Options.NumMPTCP = 1
			}
		}
		syn := one(t, cli, t0)
		replace(&syn, synOpt)
		srv, reply, ok := l.Input(t0, srvID, &syn)
		if srv == nil {
			if ok && reply.Flags&tcp.FlagRST == 0 {
				t.Fatal("refusal without RST")
			}
			return
		}
		synack := one(t, srv, t0)
		replace(&synack, synackOpt)
		cli.Input(t0, cliID, &synack)
		for _, o := range drain(t, cli, t0) {
			replace(&o.seg, ackOpt)
			srv.Input(t0, srvID, &o.seg)
		}
		drain(t, srv, t0)
		// A SYN without a usable MP_CAPABLE (§3.1) gets plain TCP.
		mpc, _, err := wire.ParseMPCapable(syn.Options.MPTCP[0])
		usable := syn.Options.NumMPTCP > 0 && err == nil && mpc.Form == wire.MPCapableSYN && mpc.Version >= 1 &&
			mpc.Flags&wire.MPCapableHMACSHA256 != 0 && mpc.Flags&wire.MPCapableExtensibility == 0
		if !usable && !srv.Fallback() {
			t.Fatalf("server runs MPTCP after SYN option %x", synOpt)
		}
		// The client runs MPTCP only with a key from the SYN/ACK.
		if cli.Established() && !cli.Fallback() {
			var m wire.MPTCPOptions
			_ = wire.ParseMPTCPOptions(&synack.Options, &m)
			if !m.Has(wire.SubtypeMPCapable) || m.MPCapable.SenderKey != cli.remoteKey {
				t.Fatal("client runs MPTCP without the SYN/ACK's key")
			}
		}
	})
}
