package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// The endpoint, limits and monitor commands talk to the kernel's MPTCP path
// manager like "ip mptcp". These hooks are replaced in tests.
var (
	// dialPM opens a path manager client.
	dialPM = func() (*pm.Client, error) { return pm.Dial(nil) }
	// pmIfIndexByName resolves an interface name.
	pmIfIndexByName = func(name string) (int, error) {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return 0, err
		}
		return ifi.Index, nil
	}
	// pmIfNameByIndex names an interface, or reports false.
	pmIfNameByIndex = func(index int) (string, bool) {
		ifi, err := net.InterfaceByIndex(index)
		if err != nil {
			return "", false
		}
		return ifi.Name, true
	}
)

const endpointUsage = "[--json] { add ADDR [port PORT] [id ID] [dev IFNAME] [signal|subflow|backup|fullmesh|laminar]... | " +
	"delete id ID [ADDR] | change [id ID] [ADDR] [port PORT] {backup|nobackup|fullmesh|nofullmesh}... | show [id ID] | flush }"

func init() {
	register(&command{
		name:  "endpoint",
		usage: endpointUsage,
		short: "add, change, delete, show or flush the kernel path manager's endpoints",
		run:   runEndpoint,
	})
}

// endpointCmd is a parsed "endpoint" command line.
type endpointCmd struct {
	op      string // "add", "delete", "change", "show" or "flush"
	id      uint8
	hasID   bool
	addr    netip.Addr
	port    uint16
	dev     string
	flags   pm.EndpointFlags // add: the flags; change: flags to set
	clear   pm.EndpointFlags // change: flags to clear
	changes int              // change: number of change words
}

// pmMatchWord reports whether w names the subcommand full, accepting a
// prefix as iproute2 does ("del" for "delete").
func pmMatchWord(w, full string) bool {
	return w != "" && strings.HasPrefix(full, w)
}

// pmSplitJSON removes the --json/-json/-j words from the words after the
// subcommand (before it, the flag set parses them).
func pmSplitJSON(words []string) ([]string, bool) {
	var (
		rest []string
		js   bool
	)
	for _, w := range words {
		switch w {
		case "--json", "-json", "-j":
			js = true
		default:
			rest = append(rest, w)
		}
	}
	return rest, js
}

func parseEndpointArgs(words []string) (endpointCmd, error) {
	var c endpointCmd
	if len(words) == 0 {
		c.op = "show"
		return c, nil
	}
	for _, op := range []string{"add", "change", "delete", "show", "flush"} {
		if pmMatchWord(words[0], op) {
			c.op = op
			break
		}
	}
	if c.op == "" {
		return c, usageError("unknown endpoint command %q", words[0])
	}
	var hasPort bool
	args := words[1:]
	next := func(i int, what string) (string, error) {
		if i+1 >= len(args) {
			return "", usageError("%s needs a value", what)
		}
		return args[i+1], nil
	}
	for i := 0; i < len(args); i++ {
		w := args[i]
		switch w {
		case "id":
			if c.hasID {
				return c, usageError("id given twice")
			}
			v, err := next(i, "id")
			if err != nil {
				return c, err
			}
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil {
				return c, usageError("invalid id %q (0-255)", v)
			}
			c.id, c.hasID = uint8(n), true
			i++
		case "port":
			if hasPort {
				return c, usageError("port given twice")
			}
			v, err := next(i, "port")
			if err != nil {
				return c, err
			}
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return c, usageError("invalid port %q (1-65535)", v)
			}
			c.port, hasPort = uint16(n), true
			i++
		case "dev":
			if c.dev != "" {
				return c, usageError("dev given twice")
			}
			v, err := next(i, "dev")
			if err != nil {
				return c, err
			}
			if v == "" || len(v) > 15 || strings.ContainsAny(v, "/ \t") {
				return c, usageError("invalid interface name %q", v)
			}
			c.dev = v
			i++
		case "nobackup", "nofullmesh":
			if c.op != "change" {
				return c, usageError("%s is only valid with change", w)
			}
			c.clear |= map[string]pm.EndpointFlags{"nobackup": pm.FlagBackup, "nofullmesh": pm.FlagFullmesh}[w]
			c.changes++
		default:
			if f, ok := pm.ParseEndpointFlag(w); ok {
				if f == pm.FlagImplicit {
					return c, usageError("implicit endpoints are created by the kernel only")
				}
				if c.op == "change" && f&pm.ChangeableFlags == 0 {
					return c, usageError("only backup and fullmesh can be changed, not %s", w)
				}
				c.flags |= f
				c.changes++
				continue
			}
			a, err := netip.ParseAddr(w)
			if err != nil || a.Zone() != "" {
				return c, usageError("unknown argument %q (expected an IP address or keyword)", w)
			}
			if c.addr.IsValid() {
				return c, usageError("more than one address: %s and %s", c.addr, a)
			}
			c.addr = a
		}
	}
	return c, c.check(hasPort)
}

// check applies the rules of each subcommand.
func (c *endpointCmd) check(hasPort bool) error {
	if c.dev != "" && c.op != "add" {
		return usageError("dev is only valid with add")
	}
	if (c.flags != 0 || c.clear != 0) && c.op != "add" && c.op != "change" {
		return usageError("flags are only valid with add and change")
	}
	switch c.op {
	case "add":
		if !c.addr.IsValid() {
			return usageError("add needs an address")
		}
		if c.hasID && c.id == 0 {
			return usageError("id 0 is reserved for the initial subflow's address")
		}
		if c.flags&pm.FlagSignal != 0 && c.flags&pm.FlagFullmesh != 0 {
			return usageError("signal and fullmesh cannot be combined")
		}
		if hasPort && c.flags&pm.FlagSignal == 0 {
			return usageError("port needs the signal flag")
		}
	case "delete":
		if !c.hasID {
			return usageError("delete needs an id")
		}
		if hasPort {
			return usageError("port is not valid with delete")
		}
		if c.id != 0 && c.addr.IsValid() {
			return usageError("an address is only accepted with id 0")
		}
		if c.id == 0 && !c.addr.IsValid() {
			return usageError("deleting id 0 needs the address")
		}
	case "change":
		if !c.hasID && !c.addr.IsValid() {
			return usageError("change needs an id or an address")
		}
		if c.hasID && c.id == 0 {
			return usageError("id 0 cannot be changed")
		}
		if c.hasID && hasPort {
			return usageError("port cannot be used with id")
		}
		if c.changes == 0 {
			return usageError("change needs backup, nobackup, fullmesh or nofullmesh")
		}
		if both := c.flags & c.clear; both != 0 {
			return usageError("%s given both ways", both)
		}
	case "show":
		if c.addr.IsValid() || hasPort {
			return usageError("show accepts only an id")
		}
		if c.hasID && c.id == 0 {
			return usageError("id 0 cannot be shown")
		}
	case "flush":
		if c.hasID || c.addr.IsValid() || hasPort {
			return usageError("flush takes no arguments")
		}
	}
	return nil
}

func runEndpoint(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("endpoint", stderr)
	jsonOut := fs.Bool("json", false, "print JSON")
	fs.BoolVar(jsonOut, "j", false, "print JSON (short for --json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	words, js := pmSplitJSON(fs.Args())
	*jsonOut = *jsonOut || js
	cmd, err := parseEndpointArgs(words)
	if err != nil {
		return err
	}
	ep := pm.Endpoint{ID: cmd.id, Addr: cmd.addr, Port: cmd.port, Flags: cmd.flags}
	if cmd.dev != "" {
		if ep.IfIndex, err = pmIfIndexByName(cmd.dev); err != nil {
			return fmt.Errorf("device %q: %w", cmd.dev, err)
		}
	}

	c, err := dialPM()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	switch cmd.op {
	case "add":
		return c.AddEndpoint(ctx, ep)
	case "delete":
		return c.DeleteEndpoint(ctx, cmd.id, cmd.addr)
	case "flush":
		return c.FlushEndpoints(ctx)
	case "change":
		return changeEndpoint(ctx, c, cmd)
	}
	var eps []pm.Endpoint
	if cmd.hasID {
		e, err := c.GetEndpoint(ctx, cmd.id)
		if err != nil {
			return err
		}
		eps = []pm.Endpoint{e}
	} else if eps, err = c.Endpoints(ctx); err != nil {
		return err
	}
	return printEndpoints(stdout, eps, *jsonOut)
}

// changeEndpoint changes only the flags named on the command line: the
// kernel's SET_FLAGS sets backup and fullmesh together, so the current
// flags are read first.
func changeEndpoint(ctx context.Context, c *pm.Client, cmd endpointCmd) error {
	var cur pm.Endpoint
	if cmd.hasID {
		e, err := c.GetEndpoint(ctx, cmd.id)
		if err != nil {
			return err
		}
		cur = e
	} else {
		eps, err := c.Endpoints(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, e := range eps {
			if e.Addr == cmd.addr && (cmd.port == 0 || e.Port == cmd.port) {
				cur, found = e, true
				break
			}
		}
		if !found {
			return fmt.Errorf("no endpoint with address %s", netip.AddrPortFrom(cmd.addr, cmd.port))
		}
	}
	flags := (cur.Flags&pm.ChangeableFlags | cmd.flags) &^ cmd.clear
	if cmd.hasID {
		return c.SetFlags(ctx, cmd.id, netip.AddrPort{}, flags)
	}
	return c.SetFlags(ctx, 0, netip.AddrPortFrom(cmd.addr, cmd.port), flags)
}

// ifName is how "ip mptcp" names an interface index.
func pmIfName(index int) string {
	if name, ok := pmIfNameByIndex(index); ok {
		return name
	}
	return "if" + strconv.Itoa(index)
}

// endpointLine formats e like "ip mptcp endpoint show".
func endpointLine(e pm.Endpoint) string {
	var b strings.Builder
	b.WriteString(e.Addr.String())
	if e.Port != 0 {
		fmt.Fprintf(&b, " port %d", e.Port)
	}
	fmt.Fprintf(&b, " id %d", e.ID)
	if f := e.Flags.String(); f != "" {
		b.WriteString(" " + f)
	}
	if e.IfIndex != 0 {
		b.WriteString(" dev " + pmIfName(e.IfIndex))
	}
	return b.String()
}

// endpointJSON is one endpoint in the layout of "ip -j mptcp endpoint show".
type endpointJSON struct {
	Address  string `json:"address"`
	Port     uint16 `json:"port,omitempty"`
	ID       uint8  `json:"id"`
	Signal   bool   `json:"signal,omitempty"`
	Subflow  bool   `json:"subflow,omitempty"`
	Backup   bool   `json:"backup,omitempty"`
	Fullmesh bool   `json:"fullmesh,omitempty"`
	Implicit bool   `json:"implicit,omitempty"`
	Laminar  bool   `json:"laminar,omitempty"`
	RawFlags string `json:"rawflags,omitempty"`
	Dev      string `json:"dev,omitempty"`
}

func printEndpoints(w io.Writer, eps []pm.Endpoint, asJSON bool) error {
	if !asJSON {
		for _, e := range eps {
			if _, err := fmt.Fprintln(w, endpointLine(e)); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]endpointJSON, 0, len(eps))
	for _, e := range eps {
		j := endpointJSON{
			Address:  e.Addr.String(),
			Port:     e.Port,
			ID:       e.ID,
			Signal:   e.Flags&pm.FlagSignal != 0,
			Subflow:  e.Flags&pm.FlagSubflow != 0,
			Backup:   e.Flags&pm.FlagBackup != 0,
			Fullmesh: e.Flags&pm.FlagFullmesh != 0,
			Implicit: e.Flags&pm.FlagImplicit != 0,
			Laminar:  e.Flags&pm.FlagLaminar != 0,
		}
		if rest := e.Flags &^ pm.KnownFlags; rest != 0 {
			j.RawFlags = fmt.Sprintf("%02x", uint32(rest))
		}
		if e.IfIndex != 0 {
			j.Dev = pmIfName(e.IfIndex)
		}
		out = append(out, j)
	}
	return pmWriteJSON(w, out)
}

func pmWriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}
