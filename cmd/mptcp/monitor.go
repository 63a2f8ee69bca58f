package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// pmEventSource is what the monitor command reads: *pm.Monitor, or a fake in
// tests.
type pmEventSource interface {
	Events() <-chan pm.Event
	Err() error
	Close() error
}

// subscribePM subscribes to the kernel's path manager events.
var subscribePM = func(ctx context.Context) (pmEventSource, error) {
	m, err := pm.Subscribe(ctx, nil)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func init() {
	register(&command{
		name:  "monitor",
		usage: "[--json] [--count N] [--timeout DURATION]",
		short: "print the kernel path manager's connection and subflow events",
		run:   runMonitor,
	})
}

// monitorCmd is a parsed "monitor" command line.
type monitorCmd struct {
	json    bool
	count   int           // stop after count events (0: no limit)
	timeout time.Duration // stop after timeout (0: run until interrupted)
}

func parseMonitorArgs(args []string, stderr io.Writer) (monitorCmd, error) {
	var c monitorCmd
	fs := newFlagSet("monitor", stderr)
	fs.BoolVar(&c.json, "json", false, "print one JSON object per event")
	fs.BoolVar(&c.json, "j", false, "print JSON (short for --json)")
	fs.IntVar(&c.count, "count", 0, "stop after `N` events (0: no limit)")
	fs.DurationVar(&c.timeout, "timeout", 0, "stop after `DURATION` (0: run until interrupted)")
	if err := parseFlags(fs, args); err != nil {
		return c, err
	}
	words, js := pmSplitJSON(fs.Args())
	c.json = c.json || js
	if len(words) > 0 {
		return c, usageError("unexpected argument %q", words[0])
	}
	if c.count < 0 {
		return c, usageError("--count must not be negative")
	}
	if c.timeout < 0 {
		return c, usageError("--timeout must not be negative")
	}
	return c, nil
}

func runMonitor(args []string, stdout, stderr io.Writer) error {
	cmd, err := parseMonitorArgs(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmd.timeout)
		defer cancel()
	}
	src, err := subscribePM(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	return monitorLoop(ctx, src, cmd, stdout, stderr)
}

// monitorLoop prints events until the count is reached, ctx ends (timeout
// or interrupt: not an error) or the source fails.
func monitorLoop(ctx context.Context, src pmEventSource, cmd monitorCmd, stdout, stderr io.Writer) error {
	n := 0
	for {
		select {
		case ev, ok := <-src.Events():
			if !ok {
				if err := src.Err(); err != nil && ctx.Err() == nil {
					return err
				}
				return nil
			}
			if ev.Type == 0 && ev.Err != nil {
				// Dropped or undecodable messages: a warning, not an event.
				fmt.Fprintf(stderr, "mptcp monitor: %v\n", ev.Err)
				continue
			}
			if err := printPMEvent(stdout, ev, cmd.json); err != nil {
				return err
			}
			n++
			if cmd.count > 0 && n >= cmd.count {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func printPMEvent(w io.Writer, ev pm.Event, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintln(w, ev)
		return err
	}
	return pmWriteJSON(w, newPMEventJSON(ev))
}

// pmEventJSON is one event as a JSON object, with the keys of the "ip mptcp
// monitor" text; absent attributes are left out.
type pmEventJSON struct {
	Type        string          `json:"type"`
	Token       string          `json:"token,omitempty"`
	RemID       *uint8          `json:"remid,omitempty"`
	LocID       *uint8          `json:"locid,omitempty"`
	SAddr       string          `json:"saddr,omitempty"`
	DAddr       string          `json:"daddr,omitempty"`
	SPort       *uint16         `json:"sport,omitempty"`
	DPort       *uint16         `json:"dport,omitempty"`
	Backup      *bool           `json:"backup,omitempty"`
	Error       *uint8          `json:"error,omitempty"`
	Timeout     *uint32         `json:"timeout,omitempty"`
	IfIndex     *int            `json:"ifindex,omitempty"`
	ResetReason *uint32         `json:"reset_reason,omitempty"`
	ResetFlags  *uint32         `json:"reset_flags,omitempty"`
	ServerSide  bool            `json:"server_side,omitempty"`
	DenyJoinID0 bool            `json:"deny_join_id0,omitempty"`
	Flags       string          `json:"flags,omitempty"` // unknown bits, hex
	Unknown     []pmUnknownJSON `json:"unknown,omitempty"`
	DecodeError string          `json:"decode_error,omitempty"`
}

type pmUnknownJSON struct {
	Type uint16 `json:"type"`
	Data string `json:"data"` // hex
}

func pmPtr[T any](v T) *T { return &v }

func newPMEventJSON(ev pm.Event) pmEventJSON {
	p := ev.Present
	j := pmEventJSON{Type: ev.Type.String()}
	if p.Has(pm.AttrToken) {
		j.Token = fmt.Sprintf("%08x", ev.Token)
	}
	if p.Has(pm.AttrRemID) {
		j.RemID = pmPtr(ev.RemoteID)
	}
	if p.Has(pm.AttrLocID) {
		j.LocID = pmPtr(ev.LocalID)
	}
	if ev.SAddr.IsValid() {
		j.SAddr = ev.SAddr.String()
	}
	if ev.DAddr.IsValid() {
		j.DAddr = ev.DAddr.String()
	}
	if p.Has(pm.AttrSport) {
		j.SPort = pmPtr(ev.SPort)
	}
	if p.Has(pm.AttrDport) {
		j.DPort = pmPtr(ev.DPort)
	}
	if p.Has(pm.AttrBackup) {
		j.Backup = pmPtr(ev.Backup)
	}
	if p.Has(pm.AttrError) {
		j.Error = pmPtr(ev.Error)
	}
	if p.Has(pm.AttrTimeout) {
		j.Timeout = pmPtr(ev.Timeout)
	}
	if p.Has(pm.AttrIfIdx) {
		j.IfIndex = pmPtr(ev.IfIndex)
	}
	if p.Has(pm.AttrResetReason) {
		j.ResetReason = pmPtr(ev.ResetReason)
	}
	if p.Has(pm.AttrResetFlags) {
		j.ResetFlags = pmPtr(ev.ResetFlags)
	}
	j.ServerSide = ev.ServerSide
	j.DenyJoinID0 = ev.Flags&pm.EventFlagDenyJoinID0 != 0
	if rest := ev.Flags &^ (pm.EventFlagDenyJoinID0 | pm.EventFlagServerSide); rest != 0 {
		j.Flags = "0x" + strconv.FormatUint(uint64(rest), 16)
	}
	for _, u := range ev.Unknown {
		j.Unknown = append(j.Unknown, pmUnknownJSON{Type: u.Type, Data: hex.EncodeToString(u.Data)})
	}
	if ev.Err != nil {
		j.DecodeError = ev.Err.Error()
	}
	return j
}
