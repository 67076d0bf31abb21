package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"mxdesk/config"
	"mxdesk/gateway"
)

const serveUsage = `Usage: mxdesk serve [--config FILE] [--log-level LEVEL]

Runs mxdesk: the MX of the configured domains and the IMAP server of their
agents. Without --config it runs the self-contained demo on loopback
(domain example.test, data in ./mxdesk-data) and prints how to connect.
Stops cleanly on SIGINT or SIGTERM. SIGHUP reloads the configuration
file (as mxdesk reload does) and the TLS certificate.
`

func runServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), serveUsage); fs.PrintDefaults() }
	path := fs.String("config", "", "configuration `file` (TOML); none: run the demo")
	dataDir := fs.String("demo-data", "./mxdesk-data", "data `directory` of the demo (ignored with --config)")
	level := fs.String("log-level", "", "log `level`: debug, info, warn, error (default: log.level of the configuration, info)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` until shutdown (for performance work)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); *level != "" && err != nil {
		fmt.Fprintf(os.Stderr, "mxdesk serve: --log-level: %v\n", err)
		return 2
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mxdesk serve: %v\n", err)
			return 1
		}
		defer stop()
	}
	var cfg *config.Config
	var demo []config.DemoLogin
	var err error
	if *path != "" {
		cfg, err = config.Load(*path)
	} else {
		cfg, demo, err = config.Demo(*dataDir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mxdesk serve: %v\n", err)
		return 1
	}
	if *level == "" {
		lv = cfg.Log.SlogLevel()
	}
	log := newLogger(os.Stderr, cfg.Log.Format, lv)
	g, err := gateway.New(cfg, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mxdesk serve: %v\n", err)
		return 1
	}
	if err := g.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "mxdesk serve: %v\n", err)
		g.Close()
		return 1
	}
	if demo != nil {
		printDemo(os.Stdout, g, cfg, demo)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer func() { signal.Stop(hup); close(hup) }() // ends the reload goroutine
	go func() {
		for range hup {
			reloadOnSignal(g)
		}
	}()
	if err := g.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "mxdesk serve: %v\n", err)
		return 1
	}
	return 0
}

// printDemo tells a new user how to connect to the demo.
func printDemo(w io.Writer, g *gateway.Gateway, cfg *config.Config, logins []config.DemoLogin) {
	fmt.Fprintf(w, "\nmxdesk demo is running (data in %s, config in %s/demo.toml)\n\n", cfg.DataDir, cfg.DataDir)
	fmt.Fprintf(w, "  SMTP (inbound MX)  %s   send mail to %s\n", g.Addr("smtp"), queueAddresses(cfg))
	fmt.Fprintf(w, "  IMAP               %s   plain IMAP on loopback, normal password\n", g.Addr("imap"))
	if addr := g.Addr("submission"); addr != "" {
		fmt.Fprintf(w, "  SMTP (agents send) %s   no encryption on loopback, normal password\n", addr)
	}
	if addr := g.Addr("http"); addr != "" {
		fmt.Fprintf(w, "  Supervisor page    http://%s/supervisor   (log in as the supervisor below)\n", addr)
		fmt.Fprintf(w, "  Metrics, health    http://%s/metrics   /healthz   /readyz\n", addr)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-22s %-15s %-11s %s\n", "login", "password", "role", "queues")
	for _, l := range logins {
		a, _ := cfg.AgentByLogin(l.Login)
		pw := l.Password
		if pw == "" {
			pw = "(changed in demo.toml)"
		}
		fmt.Fprintf(w, "  %-22s %-15s %-11s %v\n", l.Login, pw, l.Role, cfg.AgentQueues(a))
	}
	fmt.Fprintf(w, "\nTry: swaks --server %s --to support@example.test   (or any SMTP client)\n", g.Addr("smtp"))
	fmt.Fprintln(w, "Stop with Ctrl-C.")
}

func queueAddresses(cfg *config.Config) string {
	var s string
	for i, q := range cfg.Queue {
		if i > 0 {
			s += ", "
		}
		s += q.Addresses[0]
	}
	return s
}

// newLogger is serve's logger: [log] format text or json, on w.
func newLogger(w io.Writer, format string, lv slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lv}
	if format == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// reloadOnSignal is SIGHUP: the configuration file is read again; if it
// is invalid (logged, the running one stays) the certificate is still
// read again, which is what a renewal hook's SIGHUP wants.
func reloadOnSignal(g *gateway.Gateway) {
	if _, err := g.Reload(""); err != nil {
		g.ReloadTLS() // logs its outcome; a bad file keeps the old certificate
	}
}
