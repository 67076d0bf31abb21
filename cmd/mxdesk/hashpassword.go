package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"mxdesk/passwd"
)

const hashPasswordUsage = `Usage: mxdesk hash-password [--algorithm bcrypt|argon2id] < password-file

Reads one password from standard input and prints its hash on standard
output, to paste into the configuration as an agent's password_hash. Only
the first line is read; its line ending is removed. On a terminal it asks
for the password twice without echoing it. An empty password is refused.

  mxdesk hash-password                      # asks for the password
  mxdesk hash-password < password.txt       # from a file or a pipe

Flags:
`

func runHashPassword(args []string, std stdio) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	alg := fs.String("algorithm", passwd.Bcrypt, "hash `NAME`: bcrypt (cost 10) or argon2id (64 MiB, t=1, p=2)")
	if status, ok := parseFlags(fs, hashPasswordUsage, args, std); !ok {
		return status
	}
	if *alg != passwd.Bcrypt && *alg != passwd.Argon2id {
		fmt.Fprintf(std.err, "mxdesk hash-password: --algorithm must be bcrypt or argon2id, not %q\n", *alg)
		return 2
	}
	pw, err := readPassword(std)
	if err == nil && pw == "" {
		err = errors.New("empty password refused")
	}
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk hash-password: %v\n", err)
		return 1
	}
	h, err := passwd.Hash(pw, *alg)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk hash-password: %v\n", err)
		return 1
	}
	fmt.Fprintln(std.out, h)
	return 0
}

// readPassword reads the password from a terminal without echo, or else
// the first line of stdin.
func readPassword(std stdio) (string, error) {
	if f, ok := std.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), std.err)
	}
	line, err := bufio.NewReader(std.in).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no password on standard input")
		}
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

func promptPassword(fd int, prompt io.Writer) (string, error) {
	read := func(label string) (string, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		return string(b), err
	}
	pw, err := read("Password: ")
	if err != nil || pw == "" {
		return pw, err
	}
	again, err := read("Repeat password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords do not match")
	}
	return pw, nil
}
