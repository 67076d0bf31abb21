package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// A test's own server restarts on its port with its data: a table made
// before is there after, and while it is down nothing connects.
func TestRestartKeepsData(t *testing.T) {
	s := Start(t)
	dsn := s.NewDB(t)
	ctx := context.Background()
	if _, err := connect(t, dsn).Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	s.Restart(t, func() {
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Close(ctx)
			t.Error("connected to postgres while it was stopped")
		}
	})
	var x int
	if err := connect(t, dsn).QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 7 {
		t.Errorf("after the restart: x = %d, %v; want 7", x, err)
	}
}
