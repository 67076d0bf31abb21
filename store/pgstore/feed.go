package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
)

// The change feed across nodes. Every commit that changes something
// numbers its batch in the changes table under the feed lock (held to
// the commit, so seq order is commit order on every node) and notifies
// mxdesk_changes with the seq. Each node publishes to its Observer every
// batch in seq order, one at a time, under feedMu:
//
//   - its writer takes feedMu before numbering a batch and keeps it across
//     COMMIT; then it publishes the batches of other nodes committed
//     before its own (seq between last and its own), then its own, with
//     their Origin;
//   - its listener (LISTEN mxdesk_changes on a connection of its own)
//     wakes the follower on a notification, and after each (re)connection;
//     the follower also wakes on a safety poll (Options.FeedPoll), since
//     a notification can be missed; it takes feedMu and publishes what
//     was committed after last.
//
// A seq lower than a committed one is final once that one is visible: the
// feed lock orders the numbering, and a rolled-back batch's seq is a gap
// that is skipped, never waited for.

// Defaults of the feed's Options.
const (
	DefaultFeedPoll        = 5 * time.Second
	DefaultChangesKeptFor  = 10 * time.Minute
	DefaultChangesKeptRows = 100_000
)

// catchUpPage bounds the batches one catch-up query reads.
const catchUpPage = 256

// pruneEvery: the follower prunes the changes table on every pruneEvery-th
// safety poll (any node may: the DELETE is bounded by age and count).
const pruneEvery = 12

// Reconnection backoff of the listener.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// newNodeID is a random ID naming this Open's batches in the changes table.
func newNodeID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Node is the ID this store writes in the changes table beside its
// batches: random per Open.
func (s *Store) Node() string { return s.node }

// feedStart is the seq the feed starts after: the last one given, read
// under the feed lock, so no batch numbered below it is still to commit.
// A node reads the state from the store, not the history.
func feedStart(ctx context.Context, q pgx.Tx) (int64, error) {
	if _, err := q.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", feedLock); err != nil {
		return 0, err
	}
	var last int64
	err := q.QueryRow(ctx, "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM changes_seq_seq").Scan(&last)
	return last, err
}

// recordChanges numbers the batch in the changes table under the feed
// lock (held to the commit) and notifies the other nodes of its seq.
func recordChanges(ctx context.Context, q pgx.Tx, node string, changes []store.Change) (int64, error) {
	if _, err := q.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", feedLock); err != nil {
		return 0, fmt.Errorf("pgstore: feed lock: %w", err)
	}
	wire := make([]store.Change, len(changes))
	for i, c := range changes {
		c.Origin = nil // this node's own value, meaningless elsewhere
		wire[i] = c
	}
	b, err := json.Marshal(wire)
	if err != nil {
		return 0, err
	}
	var seq int64
	if err := q.QueryRow(ctx, "INSERT INTO changes (node, data) VALUES ($1, $2) RETURNING seq", node, b).Scan(&seq); err != nil {
		return 0, fmt.Errorf("pgstore: change feed: %w", err)
	}
	_, err = q.Exec(ctx, "SELECT pg_notify('mxdesk_changes', $1)", fmt.Sprint(seq))
	return seq, err
}

// publishOwn is the writer's side, with feedMu held and batch seq
// committed: the other nodes' batches before it, then its own requests'.
func (s *Store) publishOwn(ctx context.Context, seq int64, ok []*request) {
	if seq > s.last.Load()+1 {
		if err := s.catchUp(ctx, seq); err != nil {
			// The batches before seq will come after it (the follower
			// catches up once the database answers): late, not lost.
			s.log.Warn("store feed: other nodes' changes read late", "key", "store.dsn", "err", err)
			s.early[seq] = true
			for _, r := range ok {
				s.publish(r.changes)
			}
			return
		}
	}
	for _, r := range ok {
		s.publish(r.changes)
	}
	s.last.Store(seq)
}

// catchUp publishes, in seq order, the batches committed after s.last
// (below before, if not 0), with feedMu held.
func (s *Store) catchUp(ctx context.Context, before int64) error {
	upper := before
	if upper == 0 {
		upper = 1<<63 - 1
	}
	for {
		rows, err := s.pool.Query(ctx, `SELECT seq, node, data FROM changes WHERE seq > $1 AND seq < $2 ORDER BY seq LIMIT $3`,
			s.last.Load(), upper, catchUpPage)
		if err != nil {
			return err
		}
		batches, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fedBatch])
		if err != nil {
			return err
		}
		for _, b := range batches {
			if err := s.follow(ctx, b); err != nil {
				return err
			}
		}
		if len(batches) < catchUpPage {
			return nil
		}
	}
}

// fedBatch is one row of the changes table.
type fedBatch struct {
	Seq  int64
	Node string
	Data []byte
}

// follow publishes b, the next batch after s.last.
func (s *Store) follow(ctx context.Context, b fedBatch) error {
	if b.Seq > s.last.Load()+1 {
		if err := s.checkPruned(ctx, b.Seq); err != nil {
			return err
		}
	}
	if s.early[b.Seq] {
		delete(s.early, b.Seq) // published by the writer already
		s.last.Store(b.Seq)
		return nil
	}
	var changes []store.Change
	if err := json.Unmarshal(b.Data, &changes); err != nil {
		return fmt.Errorf("pgstore: change feed seq %d: %w", b.Seq, err)
	}
	if b.Node == s.node {
		// Committed, though COMMIT answered an error: told now, as others'.
		s.log.Warn("store feed: a batch whose commit failed to answer was committed", "seq", b.Seq)
	}
	s.publish(changes)
	s.last.Store(b.Seq)
	return nil
}

// checkPruned logs the batches between s.last and next that were pruned
// from the changes table before this node read them (a gap below next is
// otherwise a rolled-back batch): they are not published.
func (s *Store) checkPruned(ctx context.Context, next int64) error {
	var upto int64
	if err := s.pool.QueryRow(ctx, `SELECT upto FROM changes_pruned`).Scan(&upto); err != nil {
		return err
	}
	if last := s.last.Load(); upto > last {
		s.log.Warn("store feed: this node was away longer than the changes table keeps; changes it missed are not replayed",
			"from_seq", last+1, "to_seq", min(upto, next-1))
	}
	return nil
}

// follower catches the feed up on a notification, a (re)connection of the
// listener or the safety poll, and prunes now and then, until Close.
func (s *Store) follower(ctx context.Context) {
	defer s.wg.Done()
	poll := time.NewTicker(s.feedPoll)
	defer poll.Stop()
	polls := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-poll.C:
			if polls++; polls%pruneEvery == 0 {
				s.prune(ctx)
			}
		}
		s.feedMu.Lock()
		err := s.catchUp(ctx, 0)
		s.feedMu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.log.Debug("store feed: catching up", "key", "store.dsn", "err", err)
		}
	}
}

// kickFeed wakes the follower (a pending wake covers this one).
func (s *Store) kickFeed() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// listener keeps a connection listening on mxdesk_changes, reconnecting
// with backoff, until Close; it logs once per outage.
func (s *Store) listener(ctx context.Context) {
	defer s.wg.Done()
	backoff := listenBackoffMin
	down := false
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() {
			if down {
				s.log.Info("store feed: listening again, catching up", "key", "store.dsn")
			}
			down, backoff = false, listenBackoffMin
		})
		if ctx.Err() != nil {
			return
		}
		if !down {
			s.log.Warn("store feed: lost the database connection listening for other nodes' changes; reconnecting",
				"key", "store.dsn", "err", err)
			down = true
		}
		if s.listenerLost != nil {
			s.listenerLost()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOnce connects, listens, catches up, then wakes the follower on
// each notification of a seq it has not seen, until the connection fails.
func (s *Store) listenOnce(ctx context.Context, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN mxdesk_changes"); err != nil {
		return err
	}
	s.listenerPID.Store(conn.PgConn().PID())
	listening()
	s.kickFeed() // what was committed while not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var seq int64
		if _, err := fmt.Sscan(n.Payload, &seq); err != nil {
			return errors.New("pgstore: mxdesk_changes notification without a seq")
		}
		if seq > s.last.Load() { // else published already (this node's own)
			s.kickFeed()
		}
	}
}

// prune deletes the batches older than the age bound or beyond the row
// bound and remembers the highest seq deleted; a failure waits for the
// next turn.
func (s *Store) prune(ctx context.Context) {
	_, err := s.pool.Exec(ctx, `WITH bound AS (
			SELECT GREATEST(
				coalesce((SELECT max(seq) FROM changes WHERE at < now() - $1 * interval '1 microsecond'), 0),
				coalesce((SELECT max(seq) FROM changes), 0) - $2) AS upto),
		gone AS (DELETE FROM changes WHERE seq <= (SELECT upto FROM bound) RETURNING seq)
		UPDATE changes_pruned SET upto = GREATEST(upto, (SELECT coalesce(max(seq), 0) FROM gone))`,
		s.keptFor.Microseconds(), s.keptRows)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("store feed: pruning the changes table", "key", "store.dsn", "err", err)
	}
}
