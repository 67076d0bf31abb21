package pgstore

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// watchedTx is a write transaction's connection that remembers the first
// statement that failed. A failed statement aborts the update's
// savepoint whatever the update's function then returns: the writer rolls
// back to the savepoint and answers that update alone with the failure
// when the function swallowed it, and re-runs it after a deadlock the
// function wrapped without %w. A function's own answer to a failure it
// understood (ErrExists for a unique violation) stands.
type watchedTx struct {
	pgx.Tx
	mu     sync.Mutex
	failed error
}

func (w *watchedTx) note(err error) error {
	if err != nil {
		w.mu.Lock()
		if w.failed == nil {
			w.failed = err
		}
		w.mu.Unlock()
	}
	return err
}

// firstFailure is the first statement error, nil if none failed.
func (w *watchedTx) firstFailure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

func (w *watchedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := w.Tx.Exec(ctx, sql, args...)
	return tag, w.note(err)
}

func (w *watchedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := w.Tx.Query(ctx, sql, args...)
	if err != nil {
		return rows, w.note(err)
	}
	return watchedRows{Rows: rows, w: w}, nil
}

func (w *watchedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return watchedRow{row: w.Tx.QueryRow(ctx, sql, args...), w: w}
}

type watchedRows struct {
	pgx.Rows
	w *watchedTx
}

func (r watchedRows) Err() error { return r.w.note(r.Rows.Err()) }

type watchedRow struct {
	row pgx.Row
	w   *watchedTx
}

// Scan notes the row's error but "no rows", which is an answer.
func (r watchedRow) Scan(dst ...any) error {
	err := r.row.Scan(dst...)
	if !errors.Is(err, pgx.ErrNoRows) {
		r.w.note(err)
	}
	return err
}
