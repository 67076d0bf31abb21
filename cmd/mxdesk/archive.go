package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"mxdesk/archive"
	"mxdesk/config"
	"mxdesk/gateway"
)

const archiveUsage = `Usage:
  mxdesk archive test-connection --config FILE
  mxdesk archive run --config FILE [--dry-run]
  mxdesk archive restore S-XXXXX --config FILE

Closed sessions older than their retention (archive.retention_days,
[[domain]] retention_days, archive.address_retention_days) are written to
the [archive] bucket and removed from the store; the server does it every
archive.interval. A late customer reply to an archived session starts a
new session that continues it.

test-connection writes, reads back and deletes a probe object in the
bucket, and explains each failure in one line naming the config key; it
exits 0 only when all worked. It needs only the configuration file.
run archives what is due now (--dry-run lists it). restore brings an
archived session back, Closed, into All/<queue>. run and restore ask the
running server over its admin socket.

Run "mxdesk archive test-connection --help" (or run, restore) for the
flags.
`

const archiveTestUsage = `Usage: mxdesk archive test-connection --config FILE

Checks the [archive] settings of FILE against the bucket: resolves
archive.endpoint, checks the bucket exists, writes a probe object, reads it
back and deletes it. Each failure is one line naming the config key to fix
(DNS, TLS, credentials, missing bucket, no write permission). Exits 0 only
when everything worked.

Flags:
`

const archiveRunUsage = `Usage: mxdesk archive run --config FILE [--dry-run]

Archives the sessions due now (at most archive.max_sessions_per_run),
closed longest ago first, and prints one line per session: archived, or
failed with why (a failed session stays whole in the store and is tried
again at the next run). --dry-run prints what is due and where it would go,
and changes nothing. Exits 1 when a session failed.

Flags:
`

const archiveRestoreUsage = `Usage: mxdesk archive restore S-XXXXX --config FILE

Brings archived session S-XXXXX back from the bucket into the store: the
session, Closed, with its history, and its messages in All/<queue> for
supervisors to read. It is archived again, to the same folder, once its
retention has passed again.

Flags:
`

// runArchive dispatches "mxdesk archive test-connection|run|restore".
func runArchive(args []string, std stdio) int {
	return runSubcommand("archive", archiveUsage, args, std, map[string]func([]string, stdio) int{
		"test-connection": runArchiveTest,
		"run":             runArchiveRun,
		"restore":         runArchiveRestore,
	})
}

// testConnectionTimeout bounds test-connection as a whole.
const testConnectionTimeout = 30 * time.Second

func runArchiveTest(args []string, std stdio) int {
	fs := flag.NewFlagSet("archive test-connection", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` (required)")
	if st, ok := parseFlags(fs, archiveTestUsage, args, std); !ok {
		return st
	}
	if *path == "" {
		return missingFlag(fs, "config", archiveTestUsage, std)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigErrors(std.err, *path, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), testConnectionTimeout)
	defer cancel()
	problems := archive.TestConnection(ctx, cfg.Archive)
	for _, p := range problems {
		fmt.Fprintln(std.err, p)
	}
	if len(problems) > 0 {
		return 1
	}
	fmt.Fprintf(std.out, "archive: wrote, read back and deleted a probe object in bucket %s at %s\n", cfg.Archive.Bucket, cfg.Archive.Endpoint)
	return 0
}

func runArchiveRun(args []string, std stdio) int {
	fs := flag.NewFlagSet("archive run", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	dry := fs.Bool("dry-run", false, "list what is due, change nothing")
	if st, ok := parseFlags(fs, archiveRunUsage, args, std); !ok {
		return st
	}
	failed := false
	status := withArchiveServer(fs, *path, archiveRunUsage, std, func(c *adminClient) error {
		p := "/v1/archive/run"
		if *dry {
			p += "?dry_run=1"
		}
		var res gateway.AdminArchiveRun
		if err := c.change(http.MethodPost, p, &res); err != nil {
			return err
		}
		failed = len(res.Failed) > 0
		printArchiveRun(std, res)
		return nil
	})
	if status == 0 && failed {
		return 1
	}
	return status
}

func printArchiveRun(std stdio, res gateway.AdminArchiveRun) {
	if res.DryRun {
		for _, d := range res.Due {
			fmt.Fprintf(std.out, "%s due (%s, closed %s) -> %s\n", d.Session, d.Queue, d.Closed.Format(time.DateOnly), d.Folder)
		}
		fmt.Fprintf(std.out, "%d sessions due; nothing changed (dry run)\n", len(res.Due))
		return
	}
	for _, id := range res.Archived {
		fmt.Fprintf(std.out, "%s archived\n", id)
	}
	for _, f := range res.Failed {
		fmt.Fprintf(std.err, "%s failed: %s\n", f.Session, f.Err)
	}
	fmt.Fprintf(std.out, "%d archived, %d failed, %d bytes written\n", len(res.Archived), len(res.Failed), res.Bytes)
}

func runArchiveRestore(args []string, std stdio) int {
	fs := flag.NewFlagSet("archive restore", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	pos, st, ok := parseArgs(fs, archiveRestoreUsage, args, std)
	if !ok {
		return st
	}
	if len(pos) != 1 {
		fmt.Fprintf(std.err, "mxdesk archive restore: one session ID, like S-7KQ2M\n\n")
		printFlagUsage(fs, archiveRestoreUsage, std.err)
		return 2
	}
	return withArchiveServer(fs, *path, archiveRestoreUsage, std, func(c *adminClient) error {
		var res gateway.AdminArchiveRestore
		if err := c.change(http.MethodPost, "/v1/archive/restore/"+pos[0], &res); err != nil {
			return err
		}
		fmt.Fprintf(std.out, "%s restored from %s\n", res.Session, res.From)
		return nil
	})
}

// withArchiveServer runs fn against the running server's admin socket,
// without the admin client's 30 s limit: a run writes many objects.
func withArchiveServer(fs *flag.FlagSet, path, usage string, std stdio, fn func(*adminClient) error) int {
	if path == "" {
		return missingFlag(fs, "config", usage, std)
	}
	cfg, err := config.Load(path)
	if err != nil {
		printConfigErrors(std.err, path, err)
		return 1
	}
	sock := gateway.AdminSocket(cfg)
	conn, err := net.DialTimeout("unix", sock, adminDialTimeout)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk %s: %s\n", fs.Name(), archiveDialError(sock, err))
		return 1
	}
	conn.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: adminDialTimeout}).DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	c := &adminClient{hc: &http.Client{Transport: tr}, where: sock, close: func() error { return nil }}
	if err := fn(c); err != nil {
		fmt.Fprintf(std.err, "mxdesk %s: %v\n", fs.Name(), err)
		return 1
	}
	return 0
}

// archiveDialError explains why the admin socket did not answer.
func archiveDialError(sock string, err error) string {
	switch {
	case errors.Is(err, syscall.EACCES):
		return "admin socket " + sock + ": permission denied (run this as the user mxdesk runs as)"
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return "no server answers on " + sock + ": the archive runs in the server, start mxdesk serve"
	}
	return "admin socket " + sock + ": " + strings.TrimSpace(syscallError(err).Error())
}
