package main

// The operations commands: reload, backup and restore.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/store/badgerstore"
)

const reloadUsage = `Usage: mxdesk reload --config FILE

Checks FILE, then asks the running mxdesk (over its admin socket,
data_dir/admin.sock) to read its configuration file again and put it in
force without dropping a connection; SIGHUP does the same. If the file is
invalid the server keeps
the configuration it runs with, and this command prints the problems and
exits 1. Keys that apply only at the next start (listeners, hostname,
data_dir, [store], [smtp], [imap], [delivery], [inbound], [log], two of
[limits], DKIM keys) are listed; the server keeps their running values until then.

Flags:
`

const backupUsage = `Usage: mxdesk backup --out FILE --config FILE

Writes a consistent backup of the store (every mailbox, message, flag,
session and the delivery queue, as of one moment) to FILE. With a server
running it is taken over the admin socket while the server keeps serving;
without one the store is read directly. FILE is written under a temporary
name, checked and synced, then renamed: it is complete or absent. The
configuration file itself is not in the backup: keep a copy of it too.

Flags:
`

const restoreUsage = `Usage: mxdesk restore --in FILE --config FILE

Creates the store of the configuration's data_dir from a backup made by
mxdesk backup. The data_dir must have no store yet (a new, empty
directory) and no server may run on it. Start mxdesk serve afterwards.

Flags:
`

func runReload(args []string, std stdio) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	if st, ok := parseFlags(fs, reloadUsage, args, std); !ok {
		return st
	}
	cfg, status := loadForOps(fs, *path, reloadUsage, std)
	if cfg == nil {
		return status
	}
	hc, sock, err := dialServer(cfg)
	if errors.Is(err, errNoServer) {
		err = fmt.Errorf("%w: nothing to reload (mxdesk serve reads the configuration when it starts)", err)
	}
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk reload: %v\n", err)
		return 1
	}
	resp, err := hc.Post("http://mxdesk/v1/reload", "application/json", nil)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk reload: %s: %v\n", sock, err)
		return 1
	}
	defer resp.Body.Close()
	return printReload(std, resp)
}

// printReload prints the server's answer to POST /v1/reload and returns
// the exit status.
func printReload(std stdio, resp *http.Response) int {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk reload: %v\n", err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		var e gateway.AdminReloadError
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s: %s", resp.Status, body)
		}
		fmt.Fprintf(std.err, "mxdesk reload: %s\n", e.Error)
		for _, p := range e.Problems {
			fmt.Fprintln(std.err, p)
		}
		return 1
	}
	var res gateway.ReloadResult
	if err := json.Unmarshal(body, &res); err != nil {
		fmt.Fprintf(std.err, "mxdesk reload: bad answer: %v\n", err)
		return 1
	}
	fmt.Fprintf(std.out, "reloaded %s\n", res.Path)
	for _, k := range res.Restart {
		fmt.Fprintf(std.out, "  %s changed: applies at the next restart\n", k)
	}
	return 0
}

func runBackup(args []string, std stdio) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	out := fs.String("out", "", "backup `FILE` to write (required)")
	if st, ok := parseFlags(fs, backupUsage, args, std); !ok {
		return st
	}
	if *out == "" {
		return missingFlag(fs, "out", backupUsage, std)
	}
	cfg, status := loadForOps(fs, *path, backupUsage, std)
	if cfg == nil {
		return status
	}
	how, err := writeBackup(cfg, *out, std.err)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk backup: %v\n", err)
		return 1
	}
	fi, err := os.Stat(*out)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(std.out, "backup of data_dir %s written to %s (%d bytes, %s)\n", cfg.DataDir, *out, fi.Size(), how)
	return 0
}

// writeBackup writes the backup of cfg's store to out atomically: from
// the running server if there is one, else from the store. how says
// which.
func writeBackup(cfg *config.Config, out string, logw io.Writer) (how string, err error) {
	return how, writeAtomic(out, func(f *os.File) error {
		hc, sock, err := dialServer(cfg)
		if err == nil {
			how = "online, from the running server"
			return fetchBackup(hc, sock, f)
		}
		if !errors.Is(err, errNoServer) {
			return err
		}
		how = "offline, from the store"
		log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelError}))
		return gateway.BackupOffline(cfg, log, f)
	})
}

// fetchBackup streams GET /v1/backup into w.
func fetchBackup(hc *http.Client, sock string, w io.Writer) error {
	resp, err := hc.Get("http://mxdesk/v1/backup")
	if err != nil {
		return fmt.Errorf("%s: %w", sock, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e gateway.AdminError
		body, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s: %s", resp.Status, body)
		}
		return fmt.Errorf("%s: %s", sock, e.Error)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("%s: receiving the backup: %w", sock, err)
	}
	return nil
}

// writeAtomic writes path through fill into a temporary file next to it,
// checks that it is a complete backup, syncs it and renames it into
// place (syncing the directory), so path is either whole or untouched.
func writeAtomic(path string, fill func(*os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fill(f)
	if err == nil {
		err = verifyFile(f)
	}
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// verifyFile reads f back from its start as a backup.
func verifyFile(f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := badgerstore.VerifyBackup(f); err != nil {
		return fmt.Errorf("the backup written is not complete: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func runRestore(args []string, std stdio) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment to restore into (required)")
	in := fs.String("in", "", "backup `FILE` made by mxdesk backup (required)")
	if st, ok := parseFlags(fs, restoreUsage, args, std); !ok {
		return st
	}
	if *in == "" {
		return missingFlag(fs, "in", restoreUsage, std)
	}
	cfg, status := loadForOps(fs, *path, restoreUsage, std)
	if cfg == nil {
		return status
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk restore: %v\n", err)
		return 1
	}
	defer f.Close()
	log := slog.New(slog.NewTextHandler(std.err, &slog.HandlerOptions{Level: slog.LevelError}))
	if err := gateway.Restore(cfg, log, f); err != nil {
		fmt.Fprintf(std.err, "mxdesk restore: %s: %v\n", *in, err)
		return 1
	}
	fmt.Fprintf(std.out, "restored %s into data_dir %s; start mxdesk serve --config %s\n", *in, cfg.DataDir, *path)
	return 0
}

// loadForOps loads the configuration of an operations command; a nil
// config comes with the exit status (2 without --config, 1 invalid).
func loadForOps(fs *flag.FlagSet, path, usage string, std stdio) (*config.Config, int) {
	if path == "" {
		return nil, missingFlag(fs, "config", usage, std)
	}
	cfg, err := config.Load(path)
	if err != nil {
		printConfigErrors(std.err, path, err)
		return nil, 1
	}
	return cfg, 0
}

// errNoServer is dialServer's error when no server answers on the socket.
var errNoServer = errors.New("no server running")

// dialServer returns a client of the running server's admin socket, with
// no overall timeout (a backup takes as long as it takes).
func dialServer(cfg *config.Config) (*http.Client, string, error) {
	sock := gateway.AdminSocket(cfg)
	conn, err := net.DialTimeout("unix", sock, adminDialTimeout)
	switch {
	case err == nil:
		conn.Close()
	case errors.Is(err, syscall.EACCES):
		return nil, sock, fmt.Errorf("admin socket %s: permission denied (run this as the user mxdesk runs as)", sock)
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED):
		return nil, sock, fmt.Errorf("%w on data_dir %s (no answer on %s)", errNoServer, cfg.DataDir, sock)
	default:
		return nil, sock, fmt.Errorf("admin socket %s: %w", sock, syscallError(err))
	}
	d := net.Dialer{Timeout: adminDialTimeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", sock)
		},
		ResponseHeaderTimeout: adminRequestTimeout,
	}
	return &http.Client{Transport: tr}, sock, nil
}
