// Package pgstore is store.Store on PostgreSQL, for several mxdesk nodes
// sharing one database (issue 22; in progress: see docs/scale-out.md).
//
// A node's Updates are committed in groups, as badger's are: its writer
// runs the Updates waiting in one PostgreSQL transaction at READ
// COMMITTED, each in a savepoint (a failing one is rolled back alone),
// whose writes are single statements or take the row locks they need: a
// mailbox's UIDs come from its row (UPDATE … SET uid_next = uid_next + 1),
// so concurrent deliveries to one mailbox take turns and a rolled-back
// one leaves no gap. The commit itself happens under an advisory lock
// that also numbers the batch of changes in the changes table, so the
// change feed's sequence is the commit order; this node's Observer gets
// the batch before Update returns, and the other nodes' batches, read
// from the changes table on a notification (feed.go), all in that order.
// Reads of records an Update rewrites lock their rows (SELECT … FOR
// UPDATE), so nodes changing one record take turns. Commits are durable
// when the server runs with synchronous_commit = on (the default).
package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"mxdesk/panics"
	"mxdesk/store"
)

// feedLock is the advisory lock held from numbering a batch of changes to
// its commit: commits that change something take turns there.
const feedLock = 0x6d78_6665 // "mxfe"

// maxRetries bounds the re-runs of an update that lost a deadlock or
// serialization conflict.
const maxRetries = 10

// Options tune the store.
type Options struct {
	// Migrate applies missing schema migrations on Open; without it Open
	// refuses a database whose schema is behind (ErrSchemaOld).
	Migrate bool
	// Password, when set, is used instead of the DSN's
	// (store.password_file).
	Password string
	Logger   *slog.Logger
	// ExpungedKept is how many expunged UIDs each mailbox remembers for
	// QRESYNC (imap.expunged_kept); 0: badgerstore.DefaultExpungedKept.
	ExpungedKept int
	// FeedPoll is how often the change feed reads the changes table
	// without a notification (NOTIFY can be missed); 0: DefaultFeedPoll.
	FeedPoll time.Duration
	// ChangesKeptFor and ChangesKeptRows bound the changes table: older
	// batches, and those beyond the newest ChangesKeptRows, are pruned;
	// 0: DefaultChangesKeptFor, DefaultChangesKeptRows.
	ChangesKeptFor  time.Duration
	ChangesKeptRows int

	// listenerLost, for tests, runs when the feed's listener lost its
	// connection, before it reconnects.
	listenerLost func()
}

// Store is a PostgreSQL-backed store.Store.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	// reqs feed the writer (writer.go), which commits them in groups and
	// publishes each group before the next: the Observer sees this node's
	// commits in commit order.
	reqs     chan *request
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
	obsMu    sync.RWMutex
	observer store.Observer
	onCommit func(took time.Duration, updates int, err error) // SetCommitHook

	expungedKept int // Options.ExpungedKept

	// duties are the duty locks this node holds, each on a connection
	// of its own (duty.go).
	dutiesMu sync.Mutex
	duties   map[*heldDuty]bool
	// heldElsewhere: duties another node held at this node's last try.
	heldElsewhere map[string]bool
	// The change feed across nodes (feed.go).
	node         string         // this Open's ID in the changes table
	feedMu       sync.Mutex     // one batch published at a time, in seq order
	last         atomic.Int64   // the seq published last (written under feedMu)
	early        map[int64]bool // own batches published before the ones below them (under feedMu)
	kick         chan struct{}  // wakes the follower
	feedPoll     time.Duration
	keptFor      time.Duration
	keptRows     int
	listenerPID  atomic.Uint32 // the listener's backend, for tests
	listenerLost func()
	stopFeed     context.CancelFunc
	wg           sync.WaitGroup // the listener and the follower
}

// Open connects to the database at dsn (a postgres:// URL or a libpq
// key=value string) and checks its schema.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	pool, err := Connect(ctx, dsn, opts.Password)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, pool, opts.Migrate); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, log: opts.Logger, reqs: make(chan *request, maxBatch), quit: make(chan struct{}), done: make(chan struct{}),
		expungedKept: opts.ExpungedKept, node: newNodeID(), early: map[int64]bool{}, kick: make(chan struct{}, 1),
		feedPoll: cmp.Or(opts.FeedPoll, DefaultFeedPoll), keptFor: cmp.Or(opts.ChangesKeptFor, DefaultChangesKeptFor),
		keptRows: cmp.Or(opts.ChangesKeptRows, DefaultChangesKeptRows), listenerLost: opts.listenerLost}
	var last int64
	if err := pgx.BeginFunc(ctx, pool, func(q pgx.Tx) (err error) { last, err = feedStart(ctx, q); return err }); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: change feed: %w", err)
	}
	s.last.Store(last)
	feedCtx, stop := context.WithCancel(context.Background())
	s.stopFeed = stop
	s.wg.Add(2)
	go s.listener(feedCtx)
	go s.follower(feedCtx)
	go s.writer()
	return s, nil
}

// Connect opens a pool of connections to dsn, with password instead of
// the DSN's when set. Errors never quote the DSN (it may hold a password).
func Connect(ctx context.Context, dsn, password string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("pgstore: store.dsn is not a PostgreSQL URL or key=value string")
	}
	if password != "" {
		cfg.ConnConfig.Password = password
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return pool, nil
}

func checkSchema(ctx context.Context, pool *pgxpool.Pool, migrate bool) error {
	if migrate {
		_, err := Migrate(ctx, pool)
		return err
	}
	v, err := schemaVersion(ctx, pool)
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if v < Latest() {
		return fmt.Errorf("pgstore: schema version %d, want %d: %w", v, Latest(), ErrSchemaOld)
	}
	return nil
}

// Close stops the writer, once the updates already queued are committed,
// and closes the store's connections.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		s.stopFeed()
		s.wg.Wait()
		s.releaseDuties()
		s.pool.Close()
	})
	return nil
}

// SetObserver installs the one observer of committed changes.
func (s *Store) SetObserver(o store.Observer) {
	s.obsMu.Lock()
	s.observer = o
	s.obsMu.Unlock()
}

// SetCommitHook installs fn, called on the writer after every commit
// with the duration of its COMMIT (the server's WAL flush and the round
// trip), how many updates shared it and its error (metrics); a batch
// that could not begin, or whose transaction broke, reports its error
// too. fn must be quick. Install it before the first Update.
func (s *Store) SetCommitHook(fn func(took time.Duration, updates int, err error)) {
	s.obsMu.Lock()
	s.onCommit = fn
	s.obsMu.Unlock()
}

func (s *Store) commitDone(took time.Duration, updates int, err error) {
	s.obsMu.RLock()
	fn := s.onCommit
	s.obsMu.RUnlock()
	if fn != nil {
		fn(took, updates, err)
	}
}

// View runs fn in a read-only snapshot (REPEATABLE READ). A snapshot
// that could not begin for a lost connection (one the server closed
// while it sat in the pool) is begun once more on the pool's next one;
// once fn ran it is not run again (its caller may have seen rows).
func (s *Store) View(fn func(r store.Reader) error) error {
	ran, err := s.view(fn)
	if !ran && errors.Is(err, store.ErrUnavailable) {
		_, err = s.view(fn)
	}
	return err
}

func (s *Store) view(fn func(r store.Reader) error) (ran bool, err error) {
	ctx := context.Background()
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(q pgx.Tx) error {
			ran = true
			return fn(&tx{ctx: ctx, q: q})
		})
	return ran, unavailable(err)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// run calls fn, turning a panic into its Update's error.
func (s *Store) run(t *tx, fn func(store.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: panic in update: %v", p)
			panics.Recovered(s.log, panics.StoreWriter, "store writer recovered", p, "updates", 1)
		}
	}()
	return fn(t)
}

func (s *Store) publish(changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	s.obsMu.RLock()
	o := s.observer
	s.obsMu.RUnlock()
	if o != nil {
		o(changes)
	}
}
