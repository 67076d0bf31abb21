package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"mxdesk/testutil/pgtest"
)

// migrate-store copies a stopped desk's badger store into PostgreSQL and
// prints the copy's check, the same line check-store then prints on the
// copy; a second copy into the same database, or other directions, are
// refused.
func TestMigrateStoreCommand(t *testing.T) {
	path, cfg := sessionConfig(t)
	deliverBlockedOffline(t, cfg, "a-1@customer.test", "a-2@customer.test")
	if status, _, errOut := runCmd(t, "", "migrate-store", "--from", "postgres", "--to", "badger", "--config", path); status != 2 ||
		!strings.Contains(errOut, "only --from badger --to postgres is supported") {
		t.Errorf("the other way: status %d, stderr %q", status, errOut)
	}
	if status, _, errOut := runCmd(t, "", "migrate-store", "--from", "badger", "--to", "postgres", "--config", path); status != 1 ||
		!strings.Contains(errOut, "mxdesk migrate-store: store.dsn is not set") {
		t.Errorf("no store.dsn: status %d, stderr %q", status, errOut)
	}

	dsn := pgtest.Shared(t).NewDB(t)
	withStore(t, path, `backend = "postgres"`+"\ndsn = \""+dsn+"\"")
	consistent := "2 sessions, 14 mailboxes, 4 messages, 4 bodies, 0 queued outbound, 2 quarantined\n"
	status, out, errOut := runCmd(t, "", "migrate-store", "--from", "badger", "--to", "postgres", "--config", path)
	if status != 0 || !strings.HasPrefix(out, "source consistent: "+consistent) || !strings.HasSuffix(out, "copy consistent: "+consistent) ||
		!strings.Contains(out, "copied: mailboxes 14, blobs 4, messages 4, ") || errOut != "" {
		t.Errorf("migrate-store: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, errOut = runCmd(t, "", "check-store", "--config", path)
	if status != 0 || out != "store consistent: "+consistent || errOut != "" {
		t.Errorf("check-store on postgres: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, _, errOut = runCmd(t, "", "migrate-store", "--from", "badger", "--to", "postgres", "--config", path)
	if status != 1 || !strings.Contains(errOut, "mxdesk migrate-store: store.dsn: the database already holds mxdesk data") {
		t.Errorf("second copy: status %d, stderr %q", status, errOut)
	}

	damage(t, dsn, `UPDATE blobs SET refs = refs + 1 WHERE id = (SELECT min(id) FROM blobs)`)
	status, out, _ = runCmd(t, "", "check-store", "--config", path)
	if lines := strings.Split(out, "\n"); status != 1 || len(lines) != 3 || !strings.Contains(lines[0], ": reference count is ") ||
		lines[1] != "store inconsistent: 1 problems ("+strings.TrimSuffix(consistent, "\n")+")" {
		t.Errorf("damaged copy: status %d, stdout %q", status, out)
	}
}

// damage runs sql on the database behind mxdesk's back, as a bug would.
func damage(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}
