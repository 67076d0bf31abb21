package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/store/pgstore"
)

// The powers only some stores have, asked for by type assertion: badger
// keeps its files on data_dir's disk (a free-space reserve, sizes, an
// online backup); PostgreSQL keeps its own disk and is backed up with
// its own tools (pg_dump, pg_basebackup), so those are absent on it.
type (
	// spaceGuard is the free-space reserve (store.min_free_space).
	spaceGuard interface {
		router.Space
		FreeSpace() (free, reserve int64)
	}
	// sizer measures the store's files.
	sizer interface {
		Size() (lsm, vlog int64, err error)
	}
	// backuper writes an online backup.
	backuper interface {
		Backup(w io.Writer) error
	}
	// commitHooker reports each commit to the metrics.
	commitHooker interface {
		SetCommitHook(fn func(took time.Duration, updates int, err error))
	}
	// pinger tells whether the store's server answers (/readyz).
	pinger interface {
		Ping(ctx context.Context) error
	}
)

// badger's store has every power, PostgreSQL's the commit hook: a renamed method fails the build here
// instead of the power silently going missing.
var (
	_ spaceGuard   = (*badgerstore.Store)(nil)
	_ sizer        = (*badgerstore.Store)(nil)
	_ backuper     = (*badgerstore.Store)(nil)
	_ commitHooker = (*badgerstore.Store)(nil)
	_ commitHooker = (*pgstore.Store)(nil)
	_ pinger       = (*pgstore.Store)(nil)
)

// isPostgres tells whether cfg's store is PostgreSQL's.
func isPostgres(cfg *config.Config) bool { return cfg.Store.Backend == config.BackendPostgres }

// openPostgres opens the PostgreSQL store of cfg (store.dsn,
// store.password_file), bringing its schema to this mxdesk's first:
// nodes starting at once take turns on the migration lock, and the
// later ones find nothing left to apply.
func openPostgres(cfg *config.Config, log *slog.Logger) (*pgstore.Store, error) {
	st, err := openPostgresStore(cfg, log, true)
	if err != nil {
		return nil, err
	}
	// store.sync = false is badger's explicit choice; the database's is
	// its own, so it is said aloud.
	if err := st.CheckDurable(context.Background()); err != nil {
		log.Warn("store.dsn: the database's commits are not durable", "err", err)
	}
	return st, nil
}

// openPostgresStore opens the store of store.dsn with the password of
// store.password_file and the keys of [store] and [imap] that tune it,
// bringing its schema to this mxdesk's when migrate is set; errors name
// the key.
func openPostgresStore(cfg *config.Config, log *slog.Logger, migrate bool) (*pgstore.Store, error) {
	var password string
	if cfg.Store.PasswordFile != "" {
		var err error
		if password, err = config.ReadStorePassword(cfg.Store.PasswordFile); err != nil {
			return nil, fmt.Errorf("store.password_file: %w", err)
		}
	}
	st, err := pgstore.Open(context.Background(), cfg.Store.DSN, pgstore.Options{
		Migrate: migrate, Password: password, Logger: log, ExpungedKept: cfg.IMAP.ExpungedKept,
		FeedPoll: cfg.Store.FeedPoll.Duration, ChangesKeptFor: cfg.Store.ChangesKeptFor.Duration, ChangesKeptRows: cfg.Store.ChangesKeptRows,
	})
	if err != nil {
		return nil, fmt.Errorf("store.dsn: %w", err)
	}
	return st, nil
}

// errNoBackupOnPostgres answers a backup asked of a PostgreSQL store:
// the database is backed up with PostgreSQL's own tools.
func errNoBackupOnPostgres() error {
	return fmt.Errorf("store.backend = %q: mxdesk backup copies only badger's store; back up the PostgreSQL database with pg_dump (or pg_basebackup and WAL archiving) instead (docs/operations.md)",
		config.BackendPostgres)
}

// commitMetrics sends st's commits to the metrics, if st reports them.
func commitMetrics(st store.Store, fn func(took time.Duration, updates int, err error)) {
	if h, ok := st.(commitHooker); ok {
		h.SetCommitHook(fn)
	}
}

// lowSpace is non-nil while badger's disk is below its reserve
// (store.min_free_space); PostgreSQL's disk is its server's.
func (g *Gateway) lowSpace() error {
	if space, ok := g.store.(spaceGuard); ok {
		if err := space.LowSpace(); err != nil {
			return fmt.Errorf("store refuses new messages: %w", err)
		}
	}
	return nil
}

// Bounds of the readiness ping of a database store: /readyz and the
// metrics' scrapes ask often, the database is asked at most once per
// pingEvery, and waited for at most pingTimeout.
const (
	pingEvery   = time.Second
	pingTimeout = time.Second
)

// storePing is the last answer of the store's database to a ping.
type storePing struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// pingStore asks a database store's server whether it answers (nil for
// badger's), at most once per pingEvery; the error names store.dsn.
func (g *Gateway) pingStore() error {
	p, ok := g.store.(pinger)
	if !ok {
		return nil
	}
	g.ping.mu.Lock()
	defer g.ping.mu.Unlock()
	if !g.ping.at.IsZero() && time.Since(g.ping.at) < pingEvery {
		return g.ping.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	g.ping.err = nil
	if err := p.Ping(ctx); err != nil {
		g.ping.err = fmt.Errorf("store not ready: store.dsn: the database does not answer: %w", err)
	}
	g.ping.at = time.Now()
	return g.ping.err
}

// collectStoreDisk reports the store's files and the free space of
// their disk, which only badger's store has: on PostgreSQL the database
// server's own monitoring tells them.
func (g *Gateway) collectStoreDisk(gauge func(d *prometheus.Desc, v float64, labels ...string)) {
	if sz, ok := g.store.(sizer); ok {
		if lsm, vlog, err := sz.Size(); err == nil {
			gauge(descStore, float64(lsm), "lsm")
			gauge(descStore, float64(vlog), "vlog")
		}
	}
	space, ok := g.store.(spaceGuard)
	if !ok {
		return
	}
	free, _ := space.FreeSpace()
	gauge(descFree, float64(free))
	low := 0.0
	if space.LowSpace() != nil {
		low = 1
	}
	gauge(descLowSpace, low)
}
