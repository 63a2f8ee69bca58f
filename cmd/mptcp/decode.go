package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/trace"
	"github.com/gomptcp/mptcp/wire"
)

func init() {
	register(&command{
		name:  "decode",
		usage: "[--json] FILE.pcap|FILE.pcapng",
		short: "print the TCP and MPTCP options of every packet of a capture",
		run:   runDecode,
	})
}

func runDecode(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("decode", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per packet, then one per MPTCP connection")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want exactly one capture file, got %d arguments", fs.NArg())
	}
	r, err := trace.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer r.Close()
	tr := trace.NewTracker()
	enc := json.NewEncoder(stdout)
	var start time.Time
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if start.IsZero() {
			start = f.Time
		}
		s, err := trace.Decode(f)
		if errors.Is(err, trace.ErrNotTCP) {
			continue
		}
		if err != nil {
			// A malformed packet is reported and skipped, like a dissector does.
			if *asJSON {
				if err := enc.Encode(trace.Object{{Key: "frame", Value: f.Number}, {Key: "error", Value: err.Error()}}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(stdout, "%5d malformed: %v\n", f.Number, err)
			}
			continue
		}
		sf := tr.Add(s)
		conn := 0
		if sf != nil && sf.Conn != nil {
			conn = sf.Conn.ID
		}
		if *asJSON {
			if err := enc.Encode(trace.SegmentObject(s, conn)); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(stdout, segmentLine(s, s.Time.Sub(start)))
	}
	for _, c := range tr.Conns() {
		if *asJSON {
			if err := enc.Encode(trace.ConnObject(c)); err != nil {
				return err
			}
			continue
		}
		writeConnSummary(stdout, c)
	}
	return nil
}

// segmentLine formats a segment on one line, in the manner of tcpdump.
func segmentLine(s *trace.Segment, rel time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5d %10.6f %s > %s [%s] seq %d", s.Frame, rel.Seconds(), s.Src, s.Dst, s.Flags, s.Seq)
	if s.Flags&wire.FlagACK != 0 {
		fmt.Fprintf(&b, " ack %d", s.Ack)
	}
	fmt.Fprintf(&b, " win %d len %d", s.Window, s.PayloadLen)
	var opts []string
	o := &s.Options
	if o.HasMSS {
		opts = append(opts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.SACKPermitted {
		opts = append(opts, "sackOK")
	}
	if o.HasTimestamps {
		opts = append(opts, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
	}
	if o.HasWindowScale {
		opts = append(opts, fmt.Sprintf("wscale %d", o.WindowScale))
	}
	for _, blk := range o.SACKBlocks[:min(o.NumSACKBlocks, len(o.SACKBlocks))] {
		opts = append(opts, fmt.Sprintf("sack %d:%d", blk.Left, blk.Right))
	}
	for _, u := range o.Unknown[:min(o.NumUnknown, len(o.Unknown))] {
		opts = append(opts, fmt.Sprintf("opt-%d len %d", u[0], len(u)))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, " <%s>", strings.Join(opts, ","))
	}
	if s.OptionsErr != nil {
		fmt.Fprintf(&b, " options error: %v", s.OptionsErr)
	}
	for _, m := range s.MPTCP {
		switch {
		case m.Err != nil && m.Value != nil:
			fmt.Fprintf(&b, " %v (%v)", m.Value, m.Err)
		case m.Err != nil:
			fmt.Fprintf(&b, " malformed MPTCP option %x (%v)", m.Raw, m.Err)
		default:
			fmt.Fprintf(&b, " %v", m.Value)
		}
	}
	if s.DSSChecksum != trace.Unchecked {
		fmt.Fprintf(&b, " (mapping checksum %v)", s.DSSChecksum)
	}
	return b.String()
}

func writeConnSummary(w io.Writer, c *trace.Conn) {
	csum := "off"
	if c.ChecksumRequired {
		csum = "on"
	}
	fmt.Fprintf(w, "\nMPTCP connection %d: %s -> %s (version %d, checksums %s", c.ID, c.Client, c.Server, c.Version, csum)
	if c.Fallback {
		fmt.Fprint(w, ", fell back to TCP")
	}
	fmt.Fprintln(w, ")")
	if c.HasClientKey {
		fmt.Fprintf(w, "  client key %#016x  token %#08x  IDSN %d\n", c.ClientKey, c.ClientToken(), c.ClientIDSN())
	}
	if c.HasServerKey {
		fmt.Fprintf(w, "  server key %#016x  token %#08x  IDSN %d\n", c.ServerKey, c.ServerToken(), c.ServerIDSN())
	}
	if c.KeyMismatch {
		fmt.Fprintln(w, "  WARNING: a key was repeated with a different value")
	}
	for i, sf := range c.Subflows {
		if !sf.Join {
			fmt.Fprintf(w, "  subflow %d: initial, %s -> %s\n", i+1, sf.Initiator, sf.Responder)
			continue
		}
		fmt.Fprintf(w, "  subflow %d: MP_JOIN from the %s, %s -> %s, address ids %d/%d, backup %t, token %#08x, SYN/ACK HMAC %s, ACK HMAC %s\n",
			i+1, sideName(sf.InitiatorIsClient), sf.Initiator, sf.Responder, sf.InitiatorAddrID, sf.ResponderAddrID,
			sf.Backup, sf.Token, sf.SynAckHMACOK, sf.AckHMACOK)
	}
	for _, a := range c.Addresses {
		kind := "ADD_ADDR"
		if a.Option.Echo {
			kind = "ADD_ADDR echo"
		}
		fmt.Fprintf(w, "  %s (frame %d) from the %s: id %d %s", kind, a.Frame, sideName(a.FromClient), a.Option.AddrID, a.Option.Addr)
		if a.Option.HasPort {
			fmt.Fprintf(w, " port %d", a.Option.Port)
		}
		if !a.Option.Echo {
			fmt.Fprintf(w, ", HMAC %s", a.HMACOK)
		}
		fmt.Fprintln(w)
	}
}

func sideName(client bool) string {
	if client {
		return "client"
	}
	return "server"
}
