package meta

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestChecksumMappingBeyondSubflowBuffer sends the client one checksummed
// mapping larger than its subflow's receive buffer, which never grows
// (auto-tuning off), as a peer that respects the advertised window: the
// client must set the mapping's first bytes aside to open the window for
// the rest, verify the whole mapping (RFC 8684 §3.3.1) and deliver it.
// A corrupted byte anywhere in it must keep all of it from the
// application.
func TestChecksumMappingBeyondSubflowBuffer(t *testing.T) {
	const rcvBuf = 4096
	tests := []struct {
		n       int
		corrupt int // payload byte to flip, -1 for none
	}{
		{n: 3000, corrupt: -1}, // fits the buffer
		{n: 12000, corrupt: -1},
		{n: maxChunkSize, corrupt: -1},
		{n: 12000, corrupt: 11999},
		{n: 12000, corrupt: 10},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/corrupt=%d", tt.n, tt.corrupt), func(t *testing.T) {
			cli, srv, _, _, now := establishedPairCfg(t, func(cc, sc *Config) {
				cc.Checksum, sc.Checksum = true, true
				cc.Subflow.RecvBufferSize = rcvBuf
				cc.Subflow.DisableAutoTune = true
				cc.Subflow.DisableWindowScale = true
			})
			sf := cli.subflows[0]
			tc := sf.tc
			data := pattern(tt.n, 30)
			dsn := srv.localIDSN + 2 // after establishedPair's "x"
			start := tc.Info().RcvNxt
			dss := wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64 | wire.DSSMapping | wire.DSSDSN64,
				DataACK: cli.localIDSN + 1, DSN: dsn, SSN: start - tc.IRS(), DataLen: uint16(tt.n),
				HasChecksum: true, Checksum: wire.DSSChecksum(dsn, start-tc.IRS(), uint16(tt.n), data)}
			sent := bytes.Clone(data)
			if tt.corrupt >= 0 {
				sent[tt.corrupt] ^= 0x20
			}
			ts := peerTimestamps(t, srv, now)
			for off := 0; off < tt.n; {
				// Send what the client's advertised window allows,
				// a segment of at most 1000 bytes at a time.
				i := tc.Info()
				room := int(int32(i.RcvNxt + uint32(i.RecvWindow) - (start + uint32(off))))
				if room <= 0 {
					t.Fatalf("window closed after %d of %d bytes: the mapping cannot complete (readable %d, subflow unread %d)",
						off, tt.n, cli.Readable(), tc.Readable())
				}
				k := min(1000, tt.n-off, room)
				seg := tcp.Segment{SrcPort: serverAP.Port(), DstPort: cliID.Local.Port(), Seq: start + uint32(off),
					Ack: i.SndNxt, Flags: tcp.FlagACK, Window: 65535, Payload: sent[off : off+k]}
				seg.Options = ts
				seg.Options.MPTCP[0] = dss.Append(nil)
				seg.Options.NumMPTCP = 1
				cli.Input(now, cliID, &seg)
				drain(t, cli, now)
				off += k
				now = now.Add(time.Millisecond)
			}
			got := make([]byte, 2*tt.n)
			n, _ := cli.Read(got)
			got = got[:n]
			if tt.corrupt >= 0 {
				if n != 1 || cli.MIB().Get(DataCsumErr) != 1 {
					t.Fatalf("corrupted mapping: read %d bytes (want only the 1 before it), DataCsumErr %d",
						n, cli.MIB().Get(DataCsumErr))
				}
				return
			}
			if want := append([]byte("x"), data...); !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, want %d (the mapping after \"x\"), or they differ", n, len(want))
			}
			if cli.MIB().Get(DataCsumErr) != 0 || len(cli.Subflows()) != 1 || len(sf.stage) != 0 {
				t.Fatalf("DataCsumErr %d, %d subflows, %d bytes still set aside",
					cli.MIB().Get(DataCsumErr), len(cli.Subflows()), len(sf.stage))
			}
			if b := tc.Info().RecvBuffer; b != rcvBuf {
				t.Fatalf("subflow receive buffer %d, want it to stay %d", b, rcvBuf)
			}
		})
	}
}

// TestChecksumSmallSubflowWindows moves data both ways over two lossy,
// reordering paths with DSS checksums, a small MSS and subflow receive
// buffers that start far below a default mapping: every mapping must
// complete and the transfer finish (mappings larger than a subflow's
// buffer used to stall it for good).
func TestChecksumSmallSubflowWindows(t *testing.T) {
	up, down := pattern(300<<10, 31), pattern(100<<10, 32)
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			x := runTransfer(t, seed, pathCfg{delay: 5 * time.Millisecond, jitter: 4 * time.Millisecond, loss: 0.02}, up, down, 1,
				func(c *Config) {
					c.Checksum = true
					c.Subflow.MSS = 536 + int(seed)*40
					c.Subflow.RecvBufferSize = 4675
					c.Subflow.MaxRecvBufferSize = 28050
				})
			if x.srv.MIB().Get(DataCsumErr) != 0 || x.cli.MIB().Get(DataCsumErr) != 0 {
				t.Fatal("checksum errors without corruption")
			}
		})
	}
}

// TestChunkLenChecksumWindow checks the size of the mappings the sender
// makes: with DSS checksums at most a sixteenth of the peer's window
// (never below a segment), without them ChunkSize in whole segments: the
// first of MSS bytes (it carries the mapping), the others of MSS + 28 (the
// mapping's room holds payload, see DataOptionSpace).
func TestChunkLenChecksumWindow(t *testing.T) {
	tests := []struct {
		csum  bool
		wnd   uint64
		mss   int
		avail uint64
		want  int
	}{
		{false, 4096, 1000, 1 << 20, 1000 + 14*1028},
		{true, 1 << 20, 1000, 1 << 20, 1000 + 14*1028},
		{true, 64 << 10, 1000, 1 << 20, 1000 + 3*1028},
		{true, 64 << 10, 536, 1 << 20, 536 + 6*564},
		{true, 4096, 1000, 1 << 20, 1000},
		{true, 0, 1000, 1 << 20, 1000},
		{true, 64 << 10, 1000, 700, 700},
		{true, 1 << 40, 1000, 1 << 20, 1000 + 14*1028},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("csum=%v/wnd=%d/mss=%d/avail=%d", tt.csum, tt.wnd, tt.mss, tt.avail), func(t *testing.T) {
			c := &Conn{cfg: Config{ChunkSize: DefaultChunkSize}, csum: tt.csum, sndUna: 1 << 50}
			c.sndWndEnd = c.sndUna + tt.wnd
			if got := c.chunkLen(tt.mss, tt.avail); got != tt.want {
				t.Fatalf("chunkLen = %d, want %d", got, tt.want)
			}
		})
	}
}

// BenchmarkChecksumTransfer moves 1 MiB each way over two clean paths
// with DSS checksums, with the default subflow buffers and with subflow
// buffers smaller than a mapping (whose starts are set aside).
func BenchmarkChecksumTransfer(b *testing.B) {
	up, down := pattern(1<<20, 1), pattern(1<<20, 2)
	for _, small := range []bool{false, true} {
		b.Run(fmt.Sprintf("small-buffers=%v", small), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(up) + len(down)))
			for b.Loop() {
				h := newHarness(b, 1, pathCfg{delay: 5 * time.Millisecond})
				cc, sc := testConfig(1, h.cli), testConfig(2, h.srv)
				for _, c := range []*Config{cc, sc} {
					c.Checksum = true
					if small {
						c.Subflow.RecvBufferSize = 4675
						c.Subflow.MaxRecvBufferSize = 28050
					}
				}
				h.listen(sc)
				x := &transfer{h: h, up: up, down: down, joins: clientAddr[1:2], closeOnEOF: true}
				x.cli = h.dial(cc, clientAddr[0])
				h.run(time.Minute, x.app, func() bool { return x.cliEOF && x.srvEOF })
				if len(x.gotUp) != len(up) || len(x.gotDown) != len(down) {
					b.Fatal("short transfer")
				}
			}
		})
	}
}
