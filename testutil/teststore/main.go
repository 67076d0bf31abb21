package teststore

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"mxdesk/testutil/pgtest"
)

// BothBackends ends a package's TestMain, given the exit code of its run
// (after panics.Guard): with Env unset it runs the same tests again on
// postgres, in a child process of the test binary with the same flags
// (output passed through), and returns the worse of both codes. It then
// stops the package's PostgreSQL, if one started.
//
// No second run when Env chose a backend, for -test.list, for benchmarks
// (whose figures belong to one backend: choose it with Env), after a
// failure under -test.failfast, or without the PostgreSQL binaries (said
// on stderr; CI installs them, .ci/run).
func BothBackends(code int) int {
	if reason := noPostgresRun(code); reason != "" {
		if reason != quiet {
			fmt.Fprintf(os.Stderr, "teststore: no postgres run: %s\n", reason)
		}
		return pgtest.StopShared(code)
	}
	return pgtest.StopShared(max(code, runOnPostgres()))
}

// quiet is the reason for no second run that needs no word.
const quiet = "-"

func noPostgresRun(code int) string {
	switch {
	case os.Getenv(Env) != "":
		return quiet
	case flagSet("test.list") || flagSet("test.bench"):
		return quiet
	case code != 0 && flagSet("test.failfast"):
		return quiet
	}
	if err := pgtest.Installed(); err != nil {
		return err.Error() + " (apt-get install postgresql)"
	}
	return ""
}

// flagSet reports whether the testing flag name has a value other than
// its default.
func flagSet(name string) bool {
	f := flag.Lookup(name)
	return f != nil && f.Value.String() != f.DefValue
}

// runOnPostgres runs the test binary again with Env=postgres and returns
// its exit code.
func runOnPostgres() int {
	fmt.Fprintf(os.Stdout, "=== the same tests on postgres (%s=%s)\n", Env, Postgres)
	args := childArgs(os.Args[1:])
	if f := flag.Lookup("test.timeout"); f != nil && f.Value.String() != f.DefValue {
		args = append(args, "-test.timeout="+remaining(f.Value.(flag.Getter).Get().(time.Duration)).String())
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), Env+"="+Postgres)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "teststore: postgres run of %s: %v\n", os.Args[0], err)
		return 1
	}
	return 0
}

// parentOnly are the flags the second run must not copy: the timeout,
// which it gets as what is left of it (the go command kills the binary
// a minute after -timeout, both runs together), and the files of the
// first run, the go command's test log (its cache) and the profiles,
// which a second writer would overwrite.
var parentOnly = []string{"test.timeout", "test.testlogfile", "test.coverprofile", "test.gocoverdir",
	"test.cpuprofile", "test.memprofile", "test.blockprofile", "test.mutexprofile", "test.trace"}

// childArgs are args without the parentOnly flags (the go command passes
// them as -name=value).
func childArgs(args []string) []string {
	var out []string
next:
	for _, a := range args {
		for _, name := range parentOnly {
			if strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"=") {
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}

// started is about when the test binary started.
var started = time.Now()

// remaining is what is left of the binary's timeout for the second run
// (a second at least, so that it fails with its own timeout's stacks).
func remaining(timeout time.Duration) time.Duration {
	return max(timeout-time.Since(started), time.Second).Round(time.Second)
}
