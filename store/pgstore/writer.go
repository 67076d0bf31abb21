package pgstore

import (
	"context"
	"errors"
	"fmt"

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

// Update runs fn in the writer's next transaction, re-running it after a
// deadlock or serialization failure, and returns once it is committed
// and observed.
func (s *Store) Update(ctx context.Context, opts store.UpdateOptions, fn func(tx store.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.submit(ctx, &request{ctx: ctx, fn: fn, origin: opts.Origin, done: make(chan error, 1)})
		if attempt >= maxRetries || !retryable(err) {
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
		answer(batch, fmt.Errorf("pgstore: begin: %w", err))
		return
	}
	defer q.Rollback(ctx)
	var ok []*request
	var changes []store.Change
	for i, r := range batch {
		err := s.runSaved(ctx, q, r)
		if errors.Is(err, errTxBroken) {
			answer(ok, err)
			answer(batch[i:], err)
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
		if err := q.Commit(ctx); err != nil {
			answer(ok, fmt.Errorf("pgstore: commit: %w", err))
			return
		}
		answer(ok, nil)
		return
	}
	// feedMu from before the batch is numbered to its publication: the
	// follower can't publish it (without its Origin) or anything after it
	// meanwhile.
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	seq, err := recordChanges(ctx, q, s.node, changes)
	if err != nil {
		answer(ok, err)
		return
	}
	if err := q.Commit(ctx); err != nil {
		answer(ok, fmt.Errorf("pgstore: commit: %w", err))
		return
	}
	s.publishOwn(ctx, seq, ok)
	answer(ok, nil)
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
		return fmt.Errorf("%w: %v", errTxBroken, err)
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
			return fmt.Errorf("%w: %v (after %v)", errTxBroken, rerr, err)
		}
		return err
	}
	if _, err := q.Exec(ctx, "RELEASE SAVEPOINT upd"); err != nil {
		return fmt.Errorf("%w: %v", errTxBroken, err)
	}
	r.changes = t.changes
	return nil
}

func answer(rs []*request, err error) {
	for _, r := range rs {
		r.done <- err
	}
}
