package teststore

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/store/pgstore"
)

// Open gives the run's backend, and opening the same directory again
// (a restart) finds what the first store committed.
func TestOpenBackendAndReopen(t *testing.T) {
	dir := t.TempDir()
	st := Open(t, dir, Options{})
	wantType := map[string]reflect.Type{
		Badger:   reflect.TypeFor[*badgerstore.Store](),
		Postgres: reflect.TypeFor[*pgstore.Store](),
	}[Backend()]
	if got := reflect.TypeOf(st); got != wantType {
		t.Fatalf("%s run: store %v, want %v", Backend(), got, wantType)
	}
	var box store.MailboxID
	err := st.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) (err error) {
		mb, err := tx.CreateMailbox(store.Mailbox{Owner: "ann@example.test", Name: "INBOX"})
		box = mb.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	again := Open(t, dir, Options{})
	defer again.Close()
	again.View(func(rd store.Reader) error {
		if _, err := rd.Mailbox(box); err != nil {
			t.Errorf("reopened %s store: mailbox %v: %v", Backend(), box, err)
		}
		return nil
	})
	other := Open(t, "", Options{})
	defer other.Close()
	other.View(func(rd store.Reader) error {
		if _, err := rd.Mailbox(box); err == nil {
			t.Errorf("a new %s store has another directory's mailbox", Backend())
		}
		return nil
	})
}

// childEnv, set by TestBothBackendsRunsPostgres, makes TestReportBackend
// print its backend and fail on the one named.
const childEnv = "TESTSTORE_REPORT_FAIL_ON"

func TestReportBackend(t *testing.T) {
	failOn, ok := os.LookupEnv(childEnv)
	if !ok {
		t.Skip("run by TestBothBackendsRunsPostgres")
	}
	t.Logf("backend %s", Backend())
	if failOn == Backend() {
		t.Errorf("failing on %s as asked", failOn)
	}
}

// With MXDESK_TEST_STORE unset, a test binary runs its tests on badger,
// then on postgres, and fails when either run fails.
func TestBothBackendsRunsPostgres(t *testing.T) {
	if os.Getenv(Env) != Badger && os.Getenv(Env) != "" {
		t.Skip("the postgres run has nothing more to show")
	}
	run := func(failOn string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReportBackend$", "-test.v")
		cmd.Env = append(withoutEnv(os.Environ(), Env), childEnv+"="+failOn)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("none")
	if err != nil {
		t.Fatalf("both runs passing: %v\n%s", err, out)
	}
	for _, want := range []string{"backend badger", "backend postgres"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the output:\n%s", want, out)
		}
	}
	for _, failOn := range []string{Badger, Postgres} {
		out, err := run(failOn)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("the %s run failing: exit %v, want a failure\n%s", failOn, err, out)
		}
	}
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// The second run writes none of the first run's files.
func TestChildArgs(t *testing.T) {
	got := childArgs([]string{"-test.testlogfile=/tmp/x", "-test.run=^TestA$", "-test.coverprofile=c.out",
		"-test.shuffle=on", "-test.timeout=20m0s", "-test.cpuprofile=cpu.out", "-test.v=true"})
	want := []string{"-test.run=^TestA$", "-test.shuffle=on", "-test.v=true"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("childArgs = %q, want %q", got, want)
	}
}

// The second run gets what is left of the timeout.
func TestRemainingTimeout(t *testing.T) {
	if got := remaining(20 * time.Minute); got <= 19*time.Minute || got > 20*time.Minute {
		t.Errorf("remaining(20m) = %v, want 20m less this binary's age so far", got)
	}
	if got := remaining(0); got != time.Second {
		t.Errorf("remaining(0) = %v, want 1s", got)
	}
}
