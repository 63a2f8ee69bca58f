package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/pm"
	"github.com/gomptcp/mptcp/mptcpd"
	"github.com/mdlayher/netlink"
)

// serve runs the daemon with cfg until ctx ends. Its error is the reason
// it could not start or had to stop.
func serve(ctx context.Context, cfg *config, stderr io.Writer) error {
	logw := stderr
	switch cfg.logTarget {
	case "stderr":
	case "stdout":
		logw = os.Stdout
	default:
		f, err := os.OpenFile(cfg.logTarget, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("opening the log file: %w", err)
		}
		defer f.Close()
		logw = f
	}
	log := newLogger(cfg.logFormat, cfg.logLevel, logw)

	var (
		nlcfg  *netlink.Config
		nsPath string
	)
	if cfg.netns != "" {
		nsPath = cfg.netns
		if !strings.ContainsRune(nsPath, '/') {
			nsPath = filepath.Join("/run/netns", nsPath)
		}
		f, err := os.Open(nsPath)
		if err != nil {
			return fmt.Errorf("network namespace: %w", err)
		}
		defer f.Close()
		nlcfg = &netlink.Config{NetNS: int(f.Fd())}
	}
	// inNetns runs f in the managed namespace, for sysctls.
	inNetns := func(f func() error) error {
		if nsPath == "" {
			return f()
		}
		return kernel.DoInNetns(nsPath, f)
	}

	var sys *kernel.SysctlValues
	if err := inNetns(func() (err error) { sys, err = kernel.Sysctls(); return err }); err != nil {
		if errors.Is(err, kernel.ErrNoMPTCP) {
			return errors.New("the kernel has no MPTCP support (no /proc/sys/net/mptcp): MPTCP needs Linux 5.6+ built with CONFIG_MPTCP")
		}
		return fmt.Errorf("reading the MPTCP sysctls: %w", err)
	}
	if !sys.Enabled {
		return errors.New("MPTCP is disabled (net.mptcp.enabled=0); enable it with: sysctl -w net.mptcp.enabled=1")
	}

	client, err := pm.Dial(nlcfg)
	if err != nil {
		return err
	}
	defer client.Close()
	events, err := pm.Subscribe(ctx, nlcfg)
	if err != nil {
		return err
	}
	defer events.Close()
	netmon, err := mptcpd.MonitorNet(ctx, nlcfg, log)
	if err != nil {
		return err
	}
	defer netmon.Close()

	current := sys.PathManager
	if !sys.Has("path_manager") {
		current = map[int]string{0: "kernel", 1: "userspace"}[sys.PMType]
	}
	if cfg.setPM && current != "userspace" {
		previous := current
		if err := inNetns(func() error { return setPathManager(sys, "userspace") }); err != nil {
			return fmt.Errorf("selecting the userspace path manager: %w", err)
		}
		log.Info("selected the userspace path manager", "previous", previous)
		defer func() {
			if err := inNetns(func() error { return setPathManager(sys, previous) }); err != nil {
				log.Error("restoring the path manager", "path_manager", previous, "err", err)
			} else {
				log.Info("restored the path manager", "path_manager", previous)
			}
		}()
		current = "userspace"
	}
	for _, p := range cfg.plugins {
		r, _ := mptcpd.Lookup(p.Name())
		if r.Mode != mptcpd.ModeAny && string(r.Mode) != current {
			log.Warn("plugin expects another path manager", "plugin", p.Name(), "expects", string(r.Mode), "path_manager", current)
		}
	}

	metrics := mptcpd.NewMetrics()
	if cfg.metrics != "" {
		// A plain TCP listener: an MPTCP one (Go's default) would show up
		// among the connections the daemon manages.
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		ln, err := lc.Listen(ctx, "tcp", cfg.metrics)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", metrics)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan struct{})
		go func() {
			defer close(served)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-served
		}()
		log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}

	d, err := mptcpd.New(mptcpd.Config{
		Driver:  mptcpd.NewKernelDriver(client),
		Plugins: cfg.plugins,
		Filter:  cfg.filter,
		Logger:  log,
		Metrics: metrics,
	})
	if err != nil {
		return err
	}
	log.Info("starting", "plugins", strings.Join(cfg.pluginNames, ","), "path_manager", current)
	if err := d.Run(ctx, events, netmon); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// setPathManager selects a path manager by name, through path_manager
// (Linux 6.15+) or the older pm_type.
func setPathManager(sys *kernel.SysctlValues, name string) error {
	if sys.Has("path_manager") {
		return kernel.SetSysctl("path_manager", name)
	}
	v := map[string]string{"kernel": "0", "userspace": "1"}[name]
	if v == "" {
		return fmt.Errorf("path manager %q cannot be set through pm_type", name)
	}
	return kernel.SetSysctl("pm_type", v)
}
