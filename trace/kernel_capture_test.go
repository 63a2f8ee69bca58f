package trace

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/gomptcp/mptcp/wire"
)

// captureSummary is what the kernel captures of wire/testdata/captures
// must show; see MANIFEST.md there for the scenarios. Keys and nonces differ
// each time the captures are made, so the expectations are structural,
// plus the cryptographic checks that tie them together: every MP_JOIN
// token names a key of the connection, every HMAC the kernel sent verifies
// against the keys, every DSS checksum against the payload, and every data
// sequence number starts at IDSN+1.
type captureSummary struct {
	conns, subflows, joins, addAddr int
	fallback, checksums             bool
	subtypes                        []wire.MPTCPSubtype // must all appear
	badChecksums                    int                 // DSS checksums that must fail (a payload-rewriting middlebox)
}

var kernelCaptures = map[string]captureSummary{
	"mpc-join.pcap":    {conns: 1, subflows: 2, joins: 1, subtypes: []wire.MPTCPSubtype{wire.SubtypeMPCapable, wire.SubtypeMPJoin, wire.SubtypeDSS}},
	"add-addr.pcap":    {conns: 1, subflows: 3, joins: 2, addAddr: 4, subtypes: []wire.MPTCPSubtype{wire.SubtypeAddAddr}},
	"remove-addr.pcap": {conns: 1, subflows: 4, joins: 3, addAddr: 6, subtypes: []wire.MPTCPSubtype{wire.SubtypeRemoveAddr}},
	"mp-prio.pcap":     {conns: 1, subflows: 2, joins: 1, addAddr: 2, subtypes: []wire.MPTCPSubtype{wire.SubtypeMPPrio}},
	"fastclose.pcap":   {conns: 1, subflows: 2, joins: 1, subtypes: []wire.MPTCPSubtype{wire.SubtypeMPFastClose, wire.SubtypeMPTCPRST}},
	"checksum.pcap":    {conns: 1, subflows: 2, joins: 1, checksums: true, subtypes: []wire.MPTCPSubtype{wire.SubtypeDSS}},
	"ipv6.pcap":        {conns: 1, subflows: 3, joins: 2, addAddr: 4, subtypes: []wire.MPTCPSubtype{wire.SubtypeAddAddr}},
	"fallback.pcap":    {conns: 1, subflows: 1, fallback: true, subtypes: []wire.MPTCPSubtype{wire.SubtypeMPCapable}},
	"mp-fail.pcap":     {conns: 1, subflows: 1, checksums: true, badChecksums: 1, subtypes: []wire.MPTCPSubtype{wire.SubtypeMPFail}},
	// The payload rewriter acts after the capture point here, so the
	// captured mapping still verifies; the receiver's MP_FAIL shows it
	// did not.
	"mp-fail-rst.pcap": {conns: 1, subflows: 2, joins: 1, checksums: true, badChecksums: 0, subtypes: []wire.MPTCPSubtype{wire.SubtypeMPFail, wire.SubtypeMPTCPRST}},
}

func TestKernelCaptures(t *testing.T) {
	files, err := filepath.Glob("../wire/testdata/captures/*.pcap")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		name := filepath.Base(file)
		want, ok := kernelCaptures[name]
		if !ok {
			t.Errorf("%s: no expectations in kernelCaptures", name)
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) { checkKernelCapture(t, file, want) })
	}
	for name := range kernelCaptures {
		if !seen[name] {
			t.Errorf("capture %s is missing", name)
		}
	}
}

func checkKernelCapture(t *testing.T, file string, want captureSummary) {
	r, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr := NewTracker()
	subtypes := map[wire.MPTCPSubtype]int{}
	goodSums, badSums := 0, 0
	// firstDSN holds, per connection side, the lowest DSN a DSS mapped; it
	// must be IDSN+1 (RFC 8684 §3.1, §3.3), after the data that rode on
	// the MP_CAPABLE third ACK (capData), if any.
	type side struct {
		conn   *Conn
		client bool
	}
	firstDSN := map[side]uint64{}
	capData := map[side]uint64{}
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := Decode(f)
		if errors.Is(err, ErrNotTCP) {
			continue
		}
		if err != nil {
			t.Fatalf("frame %d: %v", f.Number, err)
		}
		if s.OptionsErr != nil {
			t.Errorf("frame %d: TCP options: %v", s.Frame, s.OptionsErr)
		}
		for _, o := range s.MPTCP {
			if o.Err != nil {
				t.Errorf("frame %d: the kernel sent an option we reject: %x: %v", s.Frame, o.Raw, o.Err)
				continue
			}
			subtypes[o.Value.Subtype()]++
			// Every option re-encodes to the bytes the kernel sent.
			if got := o.Value.Append(nil); string(got) != string(o.Raw) {
				t.Errorf("frame %d: %v re-encodes to %x, kernel sent %x", s.Frame, o.Value, got, o.Raw)
			}
		}
		sf := tr.Add(s)
		switch s.DSSChecksum {
		case Valid:
			goodSums++
		case Invalid:
			badSums++
		}
		if sf == nil || sf.Conn == nil {
			continue
		}
		_, fromInitiator := tr.Lookup(s)
		client := fromInitiator == sf.InitiatorIsClient
		k := side{sf.Conn, client}
		for _, o := range s.MPTCP {
			switch v := o.Value.(type) {
			case wire.DSS:
				if v.HasMapping() && v.Flags&wire.DSSDSN64 != 0 && !v.IsInfiniteMapping() {
					if cur, ok := firstDSN[k]; !ok || v.DSN < cur {
						firstDSN[k] = v.DSN
					}
				}
			case wire.MPCapable:
				if v.Form.HasDataLen() {
					capData[k] = uint64(v.DataLen)
				}
			}
		}
	}
	conns := tr.Conns()
	if len(conns) != want.conns {
		t.Fatalf("%d MPTCP connections, want %d", len(conns), want.conns)
	}
	c := conns[0]
	if c.Fallback != want.fallback || c.ChecksumRequired != want.checksums || c.KeyMismatch || c.Version != 1 {
		t.Errorf("fallback %v checksums %v key mismatch %v version %d; want fallback %v checksums %v",
			c.Fallback, c.ChecksumRequired, c.KeyMismatch, c.Version, want.fallback, want.checksums)
	}
	if !want.fallback && (!c.HasClientKey || !c.HasServerKey) {
		t.Errorf("keys seen: client %v server %v", c.HasClientKey, c.HasServerKey)
	}
	if len(c.Subflows) != want.subflows {
		t.Errorf("%d subflows, want %d", len(c.Subflows), want.subflows)
	}
	joins := 0
	for _, sf := range c.Subflows {
		if !sf.Join {
			continue
		}
		joins++
		// The token in the SYN is the responder's (RFC 8684 §3.2).
		if key, _ := c.key(!sf.InitiatorIsClient); wire.Token(key) != sf.Token {
			t.Errorf("join %v: token %#x is not the responder's", sf.Initiator, sf.Token)
		}
		if sf.SynAckHMACOK != Valid || sf.AckHMACOK != Valid {
			t.Errorf("join %v: SYN/ACK HMAC %v, ACK HMAC %v", sf.Initiator, sf.SynAckHMACOK, sf.AckHMACOK)
		}
	}
	if joins != want.joins {
		t.Errorf("%d joins, want %d", joins, want.joins)
	}
	if len(c.Addresses) != want.addAddr {
		t.Errorf("%d ADD_ADDR options, want %d", len(c.Addresses), want.addAddr)
	}
	for _, a := range c.Addresses {
		if !a.Option.Echo && a.HMACOK != Valid {
			t.Errorf("ADD_ADDR frame %d: HMAC %v", a.Frame, a.HMACOK)
		}
	}
	for _, st := range want.subtypes {
		if subtypes[st] == 0 {
			t.Errorf("no %v option", st)
		}
	}
	if want.checksums && goodSums == 0 {
		t.Error("no DSS checksum could be verified")
	}
	if badSums != want.badChecksums {
		t.Errorf("%d DSS checksums fail, want %d", badSums, want.badChecksums)
	}
	for k, dsn := range firstDSN {
		key, _ := k.conn.key(k.client)
		if want := wire.IDSN(key) + 1 + capData[k]; dsn != want {
			t.Errorf("client=%v: first DSN %d, want IDSN+1+%d = %d", k.client, dsn, capData[k], want)
		}
	}
}
