package pgtest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func show(t *testing.T, conn *pgx.Conn, setting string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(context.Background(), "SHOW "+setting).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// The server commits durably, as production must (a 250 only after the
// commit is on disk).
func TestDurableSettings(t *testing.T) {
	conn := connect(t, Shared(t).NewDB(t))
	for _, setting := range []string{"fsync", "synchronous_commit"} {
		if v := show(t, conn, setting); v != "on" {
			t.Errorf("%s = %s, want on", setting, v)
		}
	}
	if v := show(t, conn, "listen_addresses"); v != "127.0.0.1" {
		t.Errorf("listen_addresses = %s, want loopback only", v)
	}
}

// Each test's database starts empty: what one test creates, another
// doesn't see.
func TestDatabasesIsolated(t *testing.T) {
	s := Shared(t)
	a, b := connect(t, s.NewDB(t)), connect(t, s.NewDB(t))
	ctx := context.Background()
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table created in one test's database is in another's")
	}
}

// A dropped database's open connections don't keep it: the cleanup
// forces them closed.
func TestDropWithOpenConnection(t *testing.T) {
	s := Shared(t)
	var dsn string
	t.Run("inner", func(t *testing.T) {
		var conn *pgx.Conn
		// Registered first, so it runs after the drop.
		t.Cleanup(func() { conn.Close(context.Background()) })
		dsn = s.NewDB(t)
		var err error
		if conn, err = pgx.Connect(context.Background(), dsn); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := pgx.Connect(context.Background(), dsn); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("connect to the dropped database: %v, want does not exist", err)
	}
}

// Run as root (CI), the server runs as an unprivileged user: initdb and
// postgres refuse root.
func TestNotRoot(t *testing.T) {
	s := Shared(t)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(s.Pid()) + "/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if fields := strings.Fields(line); len(fields) > 1 && fields[0] == "Uid:" {
			if fields[1] == "0" {
				t.Fatal("postgres runs as root")
			}
			return
		}
	}
	t.Fatal("no Uid line in /proc status")
}

// A template is filled once; each copy starts with what it holds and
// goes its own way.
func TestTemplate(t *testing.T) {
	s := Shared(t)
	fills := 0
	fill := func(dsn string) error {
		fills++
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), "CREATE TABLE schema_table (x int)")
		return err
	}
	name := "tmpl_test_" + strconv.FormatInt(s.dbs.Add(1), 10) // a new one on each -count
	s.Template(t, name, fill)
	s.Template(t, name, fill)
	if fills != 1 {
		t.Fatalf("template filled %d times, want once", fills)
	}
	ctx := context.Background()
	a, b := connect(t, s.NewDBFrom(t, name)), connect(t, s.NewDBFrom(t, name))
	if _, err := a.Exec(ctx, "INSERT INTO schema_table VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM schema_table").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the other copy: %d rows, %v; want its own empty table", n, err)
	}
}

// A server of the test's own stops and starts again on the same port and
// data: what was committed before the stop is there after the start, and
// nothing answers in between.
func TestStopStart(t *testing.T) {
	s := New(t)
	dsn := s.NewDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	s.Stop(t)
	if c, err := pgx.Connect(ctx, dsn); err == nil {
		c.Close(ctx)
		t.Fatal("a connection to the stopped server succeeded")
	}
	s.Start(t)
	var x int
	if err := connect(t, dsn).QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after the restart: %d, %v; want the row committed before the stop", x, err)
	}
}
