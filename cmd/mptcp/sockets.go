package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/diag"
)

func init() {
	register(&command{
		name:  "sockets",
		usage: "[--json] [--listening|--all]",
		short: "list the kernel's MPTCP sockets and their subflows (like ss -M)",
		run:   runSockets,
	})
}

// listSockets lists the kernel's MPTCP sockets; tests replace it.
var listSockets = diag.List

func runSockets(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sockets", stderr)
	asJSON := fs.Bool("json", false, "print the sockets as a JSON array")
	listening := fs.Bool("listening", false, "list listening sockets only")
	all := fs.Bool("all", false, "list listening and non-listening sockets")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	states := diag.Connected
	switch {
	case *listening && *all:
		return usageError("--listening and --all exclude each other")
	case *listening:
		states = diag.Listening
	case *all:
		states = diag.AllStates
	}
	socks, err := listSockets(states)
	if err != nil {
		return err
	}
	if *asJSON {
		if socks == nil {
			socks = []diag.Socket{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(socks)
	}
	return writeSockets(stdout, socks)
}

// writeSockets prints sockets the way ss -Mi does: a table row per MPTCP
// socket, its mptcp_info on an indented line, then one indented line per
// subflow with the fields of ss's tcp-ulp-mptcp output.
func writeSockets(w io.Writer, socks []diag.Socket) error {
	rows := [][]string{{"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"}}
	for _, s := range socks {
		listener := s.State == kernel.TCPListen
		rows = append(rows, []string{s.State.String(), strconv.FormatUint(uint64(s.RecvQ), 10),
			strconv.FormatUint(uint64(s.SendQ), 10), ssAddr(s.Local, listener), ssAddr(s.Remote, listener)})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for i, r := range rows {
		for j, c := range r {
			if j == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s ", widths[j], c)
			}
		}
		b.WriteByte('\n')
		if i == 0 {
			continue
		}
		s := socks[i-1]
		if s.Info != nil {
			if line := infoLine(s.Info); line != "" {
				b.WriteString("\t" + line + "\n")
			}
		}
		for _, sf := range s.Subflows {
			b.WriteString("\t subflow " + subflowLine(&sf, s.State == kernel.TCPListen) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ssAddr formats an address as ss -n does: IPv6 in brackets, and "*" for
// the unspecified port of a listener's peer.
func ssAddr(ap netip.AddrPort, listener bool) string {
	if !ap.IsValid() {
		return "*"
	}
	host := ap.Addr().String()
	if ap.Addr().Is6() {
		host = "[" + host + "]"
	}
	if listener && ap.Port() == 0 {
		return host + ":*"
	}
	return host + ":" + strconv.Itoa(int(ap.Port()))
}

// infoLine prints the non-zero mptcp_info fields in ss's order and format.
func infoLine(i *kernel.MPTCPInfo) string {
	var f []string
	dec := func(name string, v uint64) {
		if v != 0 {
			f = append(f, name+":"+strconv.FormatUint(v, 10))
		}
	}
	hex := func(name string, v uint64) {
		if v != 0 {
			f = append(f, name+":"+strconv.FormatUint(v, 16))
		}
	}
	ms := func(name string, d time.Duration) {
		if d != 0 {
			f = append(f, name+":"+strconv.FormatInt(d.Milliseconds(), 10))
		}
	}
	dec("subflows", uint64(i.Subflows))
	dec("add_addr_signal", uint64(i.AddAddrSignal))
	dec("add_addr_accepted", uint64(i.AddAddrAccepted))
	dec("subflows_max", uint64(i.SubflowsMax))
	dec("add_addr_signal_max", uint64(i.AddAddrSignalMax))
	dec("add_addr_accepted_max", uint64(i.AddAddrAcceptedMax))
	if i.Flags.Fallback() {
		f = append(f, "fallback")
	}
	if i.Flags.RemoteKeyReceived() {
		f = append(f, "remote_key")
	}
	hex("token", uint64(i.Token))
	hex("write_seq", i.WriteSeq)
	hex("snd_una", i.SndUna)
	hex("rcv_nxt", i.RcvNxt)
	dec("local_addr_used", uint64(i.LocalAddrUsed))
	dec("local_addr_max", uint64(i.LocalAddrMax))
	if i.CsumEnabled {
		f = append(f, "csum_enabled:1")
	}
	dec("retransmits", uint64(i.Retransmits))
	dec("bytes_retrans", i.BytesRetrans)
	dec("bytes_sent", i.BytesSent)
	dec("bytes_received", i.BytesReceived)
	dec("bytes_acked", i.BytesAcked)
	dec("subflows_total", uint64(i.SubflowsTotal))
	dec("endp_laminar_max", uint64(i.EndpLaminarMax))
	dec("endp_fullmesh_max", uint64(i.EndpFullmeshMax))
	ms("last_data_sent", i.LastDataSent)
	ms("last_data_recv", i.LastDataRecv)
	ms("last_ack_recv", i.LastAckRecv)
	return strings.Join(f, " ")
}

// subflowLine prints a subflow: state, addresses, then the MPTCP fields as
// ss prints them after "tcp-ulp-mptcp", and a few tcp_info fields.
func subflowLine(sf *diag.Subflow, listener bool) string {
	f := []string{sf.State.String(), ssAddr(sf.Local, listener), ssAddr(sf.Remote, listener)}
	if m := sf.MPTCP; m != nil {
		if m.Flags != 0 {
			f = append(f, "flags:"+m.Flags.String())
		}
		f = append(f,
			fmt.Sprintf("token:%04x(id:%d)/%04x(id:%d)", m.TokenRem, m.IDRem, m.TokenLoc, m.IDLoc),
			fmt.Sprintf("seq:%x", m.MapSeq),
			fmt.Sprintf("sfseq:%x", m.MapSfSeq),
			fmt.Sprintf("ssnoff:%x", m.SSNOffset),
			fmt.Sprintf("maplen:%x", m.MapDataLen))
	}
	if t := sf.TCPInfo; t != nil && !listener {
		f = append(f,
			fmt.Sprintf("rtt:%.3f/%.3f", float64(t.RTT)/float64(time.Millisecond), float64(t.RTTVar)/float64(time.Millisecond)),
			fmt.Sprintf("cwnd:%d", t.SndCwnd))
		if t.BytesSent != 0 {
			f = append(f, fmt.Sprintf("bytes_sent:%d", t.BytesSent))
		}
		if t.BytesReceived != 0 {
			f = append(f, fmt.Sprintf("bytes_received:%d", t.BytesReceived))
		}
	}
	return strings.Join(f, " ")
}
