package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestDSSElision checks which data segments carry a DSS (RFC 8684 §3.3: a
// mapping need not be on every segment it covers): in an upload over a
// lossy, reordering path, until the peer's first DSS on a subflow every
// segment carries one; afterwards the first segment of each mapping does,
// full-sized segments inside a mapping carry none and 28 bytes more
// payload, and the data still arrives intact (see runTransfer), with losses
// of the segments that carried the mapping among them.
func TestDSSElision(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			up := pattern(400<<10, seed)
			h := newHarness(t, seed, pathCfg{delay: 5 * time.Millisecond, jitter: 4 * time.Millisecond, loss: 0.02})
			type stat struct{ withDSS, without, bare, beforeWithout, mappingLost int }
			var st stat
			sawPeerDSS := map[tcp.ConnID]bool{}
			var m wire.MPTCPOptions
			h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
				_ = wire.ParseMPTCPOptions(&seg.Options, &m)
				if !toSrv {
					if m.Has(wire.SubtypeDSS) {
						sawPeerDSS[swap(from)] = true
					}
					return
				}
				if len(seg.Payload) == 0 {
					return
				}
				dss := m.Has(wire.SubtypeDSS) || m.Has(wire.SubtypeMPCapable)
				switch {
				case !sawPeerDSS[from] && !dss:
					st.beforeWithout++
				case dss:
					st.withDSS++
				default:
					st.without++
					if len(seg.Payload) == 1448 {
						st.bare++
					}
				}
			}
			h.mutate = func(f *flight) bool {
				_ = wire.ParseMPTCPOptions(&f.seg.Options, &m)
				if f.toSrv && m.Has(wire.SubtypeDSS) && m.DSS.Flags&wire.DSSMapping != 0 && len(f.seg.Payload) > 0 && h.rng.Float64() < 0.1 {
					st.mappingLost++
					return false
				}
				return true
			}
			cc, sc := testConfig(seed, h.cli), testConfig(seed+1000, h.srv)
			h.listen(sc)
			x := &transfer{h: h, up: up, joins: clientAddr[1:2], closeOnEOF: true}
			x.cli = h.dial(cc, clientAddr[0])
			h.run(10*time.Minute, x.app, func() bool { return x.srvEOF && x.cliEOF })
			if string(x.gotUp) != string(up) {
				t.Fatalf("server read %d of %d bytes, or other bytes", len(x.gotUp), len(up))
			}
			t.Logf("%+v", st)
			if st.beforeWithout != 0 {
				t.Errorf("%d data segments without a DSS before the peer sent one", st.beforeWithout)
			}
			if st.without == 0 || st.bare*10 < st.without*9 || st.withDSS*3 > st.without {
				t.Errorf("segments with a DSS %d, without %d (%d of them of 1448 bytes): want most without, full-sized", st.withDSS, st.without, st.bare)
			}
			if st.mappingLost == 0 {
				t.Error("no segment with a mapping was lost")
			}
			if x.cli.Fallback() || h.srv.lst.MIB().Get(DssFallback) != 0 || h.srv.lst.MIB().Get(MPRstTx) != 0 {
				t.Errorf("fallback or reset: client %v server %v", x.cli.MIB().Snapshot(), h.srv.lst.MIB().Snapshot())
			}
		})
	}
}
