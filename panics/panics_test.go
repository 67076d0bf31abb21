package panics

import (
	"bytes"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Guard(m.Run())) }

// TestRecovered: a recovered panic is counted under its place and logged
// at error level with the stack of the code that panicked; a Deliberate
// one does not make Guard fail the run, any other does.
func TestRecovered(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	before := Counts()[StoreWriter]
	func() {
		defer func() {
			if v := recover(); v != nil {
				Recovered(log, StoreWriter, "writer recovered", v, "batch", 3)
			}
		}()
		panickingFunction()
	}()
	if got := Counts()[StoreWriter]; got != before+1 {
		t.Errorf("count %d after one panic, want %d", got, before+1)
	}
	for _, want := range []string{"level=ERROR", "msg=\"writer recovered\"", "where=store_writer", "on-purpose", "panickingFunction", "batch=3"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
	// A library's line about a deliberate panic does not fail the run
	// either.
	Reported(log, HTTPHandler, "panic in HTTP handler", "http: panic serving 127.0.0.1:1: "+Deliberate("x").String())
	if got := guard(0, t.Output()); got != 0 {
		t.Errorf("Guard(0) = %d after deliberate panics", got)
	}

	// An unplanned one fails the run; take it back so this test's own
	// binary passes.
	Reported(log, SMTPSession, "panic in SMTP session", "panic serving 127.0.0.1:1: boom")
	var report strings.Builder
	if got := guard(0, &report); got != 1 {
		t.Errorf("Guard(0) = %d after an unplanned panic, want 1", got)
	}
	if !strings.Contains(report.String(), "smtp_session=1") {
		t.Errorf("Guard's report does not name the place: %q", report.String())
	}
	// It shows the panic itself: the test's log lines are hidden when
	// every test passed.
	if !strings.Contains(report.String(), "smtp_session: panic serving 127.0.0.1:1: boom") {
		t.Errorf("Guard's report does not show the panic: %q", report.String())
	}
	if got := guard(3, io.Discard); got != 3 {
		t.Errorf("Guard(3) = %d, want the tests' own code", got)
	}
	mu.Lock()
	recovered[SMTPSession]--
	firsts = firsts[:len(firsts)-1]
	mu.Unlock()
}

// isModule says whether dir is the root of another module (a patched
// library kept in the repository), whose tests go test ./... does not run.
func isModule(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "go.mod"))
	return err == nil
}

func panickingFunction() { panic(Deliberate("on-purpose")) }

// TestEveryPackageGuarded: every package with tests exits through Guard,
// so no package's tests can pass over a recovered panic.
func TestEveryPackageGuarded(t *testing.T) {
	guarded := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || isModule(path)) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		guarded[dir] = guarded[dir] || bytes.Contains(src, []byte("Guard(m.Run()"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, ok := range guarded {
		if !ok {
			t.Errorf("%s: no TestMain exits through panics.Guard", dir)
		}
	}
	if len(guarded) < 10 {
		t.Errorf("found only %d packages with tests", len(guarded))
	}
}
