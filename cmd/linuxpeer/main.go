package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usageText = `linuxpeer: a Linux kernel MPTCP peer

usage:
  linuxpeer listen  [--addr ADDR:PORT] [--count N] [SESSION FLAGS]
  linuxpeer connect ADDR:PORT [--local ADDR] [SESSION FLAGS]
  linuxpeer gen     --bytes N [--seed S]

session flags: --send-bytes N | --send FILE, --seed S, --chunk N,
  --interval DURATION, --out FILE,
  --expect-bytes N, --peer-seed S, --delay DURATION, --hold DURATION,
  --timeout DURATION,
  --fastclose, --expect-reset, --mptcp=false, --json

Run "linuxpeer COMMAND -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status: 0 on
// success, 1 on any error (reported as one line on stderr).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 1
	}
	name, rest := args[0], args[1:]
	var err error
	var jsonOut bool
	switch name {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return 0
	case "listen":
		var c *listenConfig
		if c, err = parseListen(rest); err == nil {
			jsonOut = c.JSON
			err = runListen(ctx, c, stdin, newReporter(stderr, c.JSON))
		}
	case "connect":
		var c *connectConfig
		if c, err = parseConnect(rest); err == nil {
			jsonOut = c.JSON
			err = runConnect(ctx, c, stdin, newReporter(stderr, c.JSON))
		}
	case "gen":
		var c *genConfig
		if c, err = parseGen(rest); err == nil {
			_, err = io.CopyN(stdout, NewPayload(c.seed), c.bytes)
		}
	default:
		fmt.Fprintf(stderr, "linuxpeer: unknown command %q (run \"linuxpeer help\")\n", name)
		return 1
	}
	if errors.Is(err, errHelp) {
		fmt.Fprintf(stdout, "usage of linuxpeer %s:\n", name)
		flagUsage(name, stdout)
		return 0
	}
	if err != nil {
		newReporter(stderr, jsonOut).fail(name, err)
		return 1
	}
	return 0
}
