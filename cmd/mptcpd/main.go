package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gomptcp/mptcp/mptcpd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the daemon until ctx ends and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, os.ReadFile)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "mptcpd: %s\n", oneLine(strings.TrimPrefix(err.Error(), errUsage.Error()+": ")))
		return 2
	}
	if cfg.listPlugins {
		listPlugins(stdout)
		return 0
	}
	if err := serve(ctx, cfg, stderr); err != nil {
		fmt.Fprintf(stderr, "mptcpd: %s\n", oneLine(err.Error()))
		return 1
	}
	return 0
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func listPlugins(w io.Writer) {
	for _, r := range mptcpd.Registered() {
		mode := "any path manager"
		if r.Mode != mptcpd.ModeAny {
			mode = string(r.Mode) + " path manager"
		}
		fmt.Fprintf(w, "%s: %s (%s)\n", r.Name, r.Summary, mode)
		for _, o := range r.Options {
			def := ""
			if o.Default != "" {
				def = " (default " + o.Default + ")"
			}
			fmt.Fprintf(w, "    %s.%s: %s%s\n", r.Name, o.Name, o.Doc, def)
		}
	}
}
