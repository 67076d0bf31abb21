package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
)

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("store: closed")

// maxBatch caps how many Updates share one commit, so one commit's
// latency stays bounded under load.
const maxBatch = 64

type request struct {
	ctx     context.Context
	fn      func(store.Tx) error
	origin  any
	changes []store.Change
	done    chan error
}

// errCommitUnsure marks a COMMIT whose answer was lost with the
// connection: it may have committed, so it is never run again.
var errCommitUnsure = errors.New("pgstore: commit")

// Update runs fn in the writer's next transaction, re-running it after a
// deadlock or serialization failure, and once after a connection lost
// before COMMIT (the pool's next connection is a fresh one when the
// server came back), and returns once it is committed and observed.
func (s *Store) Update(ctx context.Context, opts store.UpdateOptions, fn func(tx store.Tx) error) error {
	lost := false
	for attempt := 0; ; attempt++ {
		err := unavailable(s.submit(ctx, &request{ctx: ctx, fn: fn, origin: opts.Origin, done: make(chan error, 1)}))
		switch {
		case attempt < maxRetries && retryable(err):
		case !lost && errors.Is(err, store.ErrUnavailable) && !errors.Is(err, errCommitUnsure):
			lost = true
		default:
			return err
		}
	}
}

func (s *Store) submit(ctx context.Context, r *request) error {
	select {
	case s.reqs <- r:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued it is answered, even during Close: the writer drains.
	return <-r.done
}

// writer commits the waiting requests in groups until Close.
func (s *Store) writer() {
	defer close(s.done)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.quit:
			s.drain()
			return
		}
		batch := []*request{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

// drain commits what was queued before Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			s.commit([]*request{r})
		default:
			return
		}
	}
}

// commit runs the batch in one transaction, each request in a savepoint
// (a failing one is rolled back to it and answered with its error), then
// commits, publishes and answers the rest.
func (s *Store) commit(batch []*request) {
	ctx := context.Background() // one request's end must not cut the others'
	q, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		s.failed(batch, fmt.Errorf("pgstore: begin: %w", err))
		return
	}
	defer q.Rollback(ctx)
	var ok []*request
	var changes []store.Change
	for i, r := range batch {
		err := s.runSaved(ctx, q, r)
		if errors.Is(err, errTxBroken) {
			s.failed(append(ok, batch[i:]...), err)
			return
		}
		if err != nil {
			r.done <- err
			continue
		}
		ok = append(ok, r)
		changes = append(changes, r.changes...)
	}
	if len(changes) == 0 {
		s.commitAndAnswer(ctx, q, ok)
		return
	}
	// feedMu from before the batch is numbered to its publication: the
	// follower can't publish it (without its Origin) or anything after it
	// meanwhile.
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	seq, err := recordChanges(ctx, q, s.node, changes)
	if err != nil {
		s.failed(ok, err)
		return
	}
	if !s.commitTimed(ctx, q, ok) {
		return
	}
	s.publishOwn(ctx, seq, ok)
	answer(ok, nil)
}

// commitAndAnswer commits a transaction that changed nothing the feed
// carries and answers its requests.
func (s *Store) commitAndAnswer(ctx context.Context, q pgx.Tx, ok []*request) {
	if s.commitTimed(ctx, q, ok) {
		answer(ok, nil)
	}
}

// commitTimed commits q, reporting its duration to the commit hook; on
// failure it answers ok with the error and returns false.
func (s *Store) commitTimed(ctx context.Context, q pgx.Tx, ok []*request) bool {
	start := time.Now()
	err := q.Commit(ctx)
	took := time.Since(start)
	if err != nil {
		s.failedAfter(took, ok, fmt.Errorf("%w: %w", errCommitUnsure, err))
		return false
	}
	s.commitDone(took, len(ok), nil)
	return true
}

// errTxBroken: a savepoint could not be set or rolled back to; the
// whole transaction is lost.
var errTxBroken = errors.New("pgstore: transaction broken")

// runSaved runs r's function inside a savepoint of q.
func (s *Store) runSaved(ctx context.Context, q pgx.Tx, r *request) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, "SAVEPOINT upd"); err != nil {
		return fmt.Errorf("%w: %w", errTxBroken, err)
	}
	w := &watchedTx{Tx: q}
	t := &tx{ctx: ctx, q: w, origin: r.origin, write: true, expungedKept: s.expungedKept}
	err := s.run(t, r.fn)
	if failed := w.firstFailure(); failed != nil && (err == nil || retryable(failed) && !retryable(err)) {
		// The savepoint is aborted: this is why, and a deadlock hidden
		// by the function is re-run all the same.
		err = failed
	}
	if err != nil {
		if _, rerr := q.Exec(ctx, "ROLLBACK TO SAVEPOINT upd"); rerr != nil {
			return fmt.Errorf("%w: %w (after %v)", errTxBroken, rerr, err)
		}
		return err
	}
	if _, err := q.Exec(ctx, "RELEASE SAVEPOINT upd"); err != nil {
		return fmt.Errorf("%w: %w", errTxBroken, err)
	}
	r.changes = t.changes
	return nil
}

// failed answers rs with err, a failure of their whole transaction
// before its COMMIT, and reports it to the commit hook.
func (s *Store) failed(rs []*request, err error) { s.failedAfter(0, rs, err) }

// failedAfter is failed for a transaction that failed after took.
func (s *Store) failedAfter(took time.Duration, rs []*request, err error) {
	s.commitDone(took, len(rs), err)
	msg := "store commit failed"
	if connectionLost(err) {
		msg = "store commit failed: the database is unavailable (store.dsn)"
	}
	s.log.Error(msg, "err", err, "updates", len(rs))
	answer(rs, err)
}

func answer(rs []*request, err error) {
	for _, r := range rs {
		r.done <- err
	}
}
