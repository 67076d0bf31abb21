// Command mxdesk is the mail gateway for contact-center email: one binary
// with subcommands to run the server (serve), validate a configuration
// (check-config), hash agent passwords (hash-password), make DKIM keys
// (dkim-keygen), look at sessions (session show|list), see and set agents'
// states (agent list|state), manage the originals of messages whose
// attachments were removed (quarantine list|show|release|delete), see,
// retry and drop the CRM feed's events (crm list|retry|drop) and
// reload the running server's configuration (reload), back up and restore
// the store (backup, restore), check the store's consistency
// (check-store), migrate the PostgreSQL store's schema (migrate), copy a badger
// store into PostgreSQL (migrate-store), archive closed sessions to S3 and restore them
// (archive) and load-test a running server (bench).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	privateFiles()
	os.Exit(run(os.Args[1:]))
}

// stdio is where a subcommand reads and writes, so tests can use pipes.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one subcommand of mxdesk.
type command struct {
	name, summary string
	run           func(args []string, std stdio) int
}

// commands in the order the usage lists them. help is handled by dispatch.
var commands = []command{
	{"serve", "run the gateway; without --config, a self-contained demo on loopback",
		func(args []string, _ stdio) int { return runServe(args) }},
	{"check-config", "validate a configuration file and explain every error", runCheckConfig},
	{"hash-password", "read a password on stdin and print the hash to put in the config", runHashPassword},
	{"dkim-keygen", "make a DKIM key for a domain and print its DNS record", runDKIMKeygen},
	{"session", "show a session (session show ID) or list sessions (session list [--waiting])", runSession},
	{"agent", "list agents and their state (agent list), set one away or available (agent state)", runAgent},
	{"quarantine", "list, show, release or delete originals whose attachments were removed", runQuarantine},
	{"crm", "list the CRM outbox and its dead letters, retry or drop an event", runCRM},
	{"token", "create, list or revoke the public HTTP API's tokens", runToken},
	{"campaign", "send a CSV list a template within a window at a rate (create); list, show, pause, resume, cancel campaigns", runCampaign},
	{"account", "list the upstream [[account]] mailboxes: valid or invalid, and why (account list); check both directions now (account test)", runAccount},
	{"reload", "make the running server read its configuration file again", runReload},
	{"backup", "write a consistent backup of the store, online or offline", runBackup},
	{"restore", "create the store of a new data_dir from a backup", runRestore},
	{"check-store", "check the store's indexes and reference counts (badger: server stopped)", runCheckStore},
	{"migrate", "bring the PostgreSQL store's schema (store.backend = \"postgres\") to this mxdesk's", runMigrate},
	{"migrate-store", "copy the badger store into PostgreSQL (--from badger --to postgres; server stopped), then check the copy", runMigrateStore},
	{"archive", "archive closed sessions to S3 (test-connection, run, restore)", runArchive},
	{"bench", "load-test a running mxdesk over SMTP (and IMAP IDLE); bench imap: IMAP load",
		func(args []string, _ stdio) int { return runBench(args) }},
}

// run runs the command line args (without the program name) and returns
// the exit status: 0 success, 1 failure, 2 bad usage.
func run(args []string) int {
	return dispatch(args, stdio{os.Stdin, os.Stdout, os.Stderr})
}

func dispatch(args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprint(std.err, mainUsage())
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return runHelp(rest, std)
	}
	if c, ok := lookupCommand(name); ok {
		return c.run(rest, std)
	}
	fmt.Fprintf(std.err, "mxdesk: unknown command %q\n\n%s", name, mainUsage())
	return 2
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// runHelp prints the usage, or with a command name that command's help.
func runHelp(args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprint(std.out, mainUsage())
		return 0
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		fmt.Fprintf(std.err, "mxdesk help: unknown command %q\n\n%s", args[0], mainUsage())
		return 2
	}
	return c.run([]string{"--help"}, std)
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString(`mxdesk is a self-hosted mail gateway for contact-center email.

Usage:
  mxdesk <command> [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(&b, "  %-14s %s\n", "help", "show this help, or with a command name that command's help")
	b.WriteString(`
Run "mxdesk <command> --help" for what a command does and its flags.
Start with "mxdesk serve": it runs a demo and prints how to connect.
`)
	return b.String()
}

// parseFlags parses a subcommand's flags. Help goes to stdout with status 0,
// a bad flag to stderr with status 2; ok is false in both cases.
func parseFlags(fs *flag.FlagSet, usage string, args []string, std stdio) (status int, ok bool) {
	pos, status, ok := parseArgs(fs, usage, args, std)
	if ok && len(pos) > 0 {
		fmt.Fprintf(std.err, "mxdesk %s: unexpected argument %q\n", fs.Name(), pos[0])
		printFlagUsage(fs, usage, std.err)
		return 2, false
	}
	return status, ok
}

// missingFlag reports that the subcommand's flag --name FILE is
// required and returns the exit status for bad usage.
func missingFlag(fs *flag.FlagSet, name, usage string, std stdio) int {
	fmt.Fprintf(std.err, "mxdesk %s: --%s FILE is required\n\n", fs.Name(), name)
	printFlagUsage(fs, usage, std.err)
	return 2
}

// parseArgs is parseFlags for a subcommand with positional arguments,
// which may come before, between or after the flags
// ("session show S-XXXXX --config FILE"); it returns them in order.
func parseArgs(fs *flag.FlagSet, usage string, args []string, std stdio) (pos []string, status int, ok bool) {
	fs.SetOutput(std.err)
	fs.Usage = func() {} // printed below, to the right stream
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			printFlagUsage(fs, usage, std.out)
			return nil, 0, false
		case err != nil: // flag has printed the error
			fmt.Fprintln(std.err)
			printFlagUsage(fs, usage, std.err)
			return nil, 2, false
		case fs.NArg() == 0:
			return pos, 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func printFlagUsage(fs *flag.FlagSet, usage string, w io.Writer) {
	fmt.Fprint(w, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// runSubcommand runs the subcommand args[0] of command (`mxdesk crm
// list`) from subs, with the rest of args; help prints usage, and a
// missing or unknown subcommand prints it as an error (exit 2).
func runSubcommand(command, usage string, args []string, std stdio, subs map[string]func([]string, stdio) int) int {
	if len(args) == 0 {
		fmt.Fprint(std.err, usage)
		return 2
	}
	if run, ok := subs[args[0]]; ok {
		return run(args[1:], std)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(std.out, usage)
		return 0
	}
	fmt.Fprintf(std.err, "mxdesk %s: unknown subcommand %q\n\n%s", command, args[0], usage)
	return 2
}
