package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/gomptcp/mptcp/kernel/pm"
)

func init() {
	register(&command{
		name:  "limits",
		usage: "[--json] { show | set [subflows N] [add_addr_accepted N] }",
		short: "show or set the kernel path manager's limits",
		run:   runLimits,
	})
}

// limitsCmd is a parsed "limits" command line.
type limitsCmd struct {
	set             bool
	subflows        *uint32
	addAddrAccepted *uint32
}

func parseLimitsArgs(words []string) (limitsCmd, error) {
	var c limitsCmd
	if len(words) == 0 {
		return c, nil
	}
	switch {
	case pmMatchWord(words[0], "show"):
		if len(words) > 1 {
			return c, usageError("show takes no arguments")
		}
		return c, nil
	case pmMatchWord(words[0], "set"):
		c.set = true
	default:
		return c, usageError("unknown limits command %q", words[0])
	}
	args := words[1:]
	for i := 0; i < len(args); i += 2 {
		var dst **uint32
		switch args[i] {
		case "subflows", "subflow":
			dst = &c.subflows
		case "add_addr_accepted":
			dst = &c.addAddrAccepted
		default:
			return c, usageError("unknown limit %q", args[i])
		}
		if *dst != nil {
			return c, usageError("%s given twice", args[i])
		}
		if i+1 >= len(args) {
			return c, usageError("%s needs a value", args[i])
		}
		n, err := strconv.ParseUint(args[i+1], 10, 32)
		if err != nil {
			return c, usageError("invalid %s %q", args[i], args[i+1])
		}
		v := uint32(n)
		*dst = &v
	}
	if c.subflows == nil && c.addAddrAccepted == nil {
		return c, usageError("set needs subflows or add_addr_accepted")
	}
	return c, nil
}

func runLimits(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("limits", stderr)
	jsonOut := fs.Bool("json", false, "print JSON")
	fs.BoolVar(jsonOut, "j", false, "print JSON (short for --json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	words, js := pmSplitJSON(fs.Args())
	*jsonOut = *jsonOut || js
	cmd, err := parseLimitsArgs(words)
	if err != nil {
		return err
	}
	c, err := dialPM()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	switch {
	case cmd.set && cmd.subflows != nil && cmd.addAddrAccepted != nil:
		return c.SetLimits(ctx, pm.Limits{Subflows: *cmd.subflows, AddAddrAccepted: *cmd.addAddrAccepted})
	case cmd.set && cmd.subflows != nil:
		return c.SetSubflowsLimit(ctx, *cmd.subflows)
	case cmd.set:
		return c.SetAddAddrAcceptedLimit(ctx, *cmd.addAddrAccepted)
	}
	l, err := c.Limits(ctx)
	if err != nil {
		return err
	}
	if *jsonOut {
		return pmWriteJSON(stdout, struct {
			AddAddrAccepted uint32 `json:"add_addr_accepted"`
			Subflows        uint32 `json:"subflows"`
		}{l.AddAddrAccepted, l.Subflows})
	}
	_, err = fmt.Fprintln(stdout, l)
	return err
}
