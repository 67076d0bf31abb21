// Package badgerstore is the embedded store.Store of a single-node mxdesk,
// on badger. Message bodies live in badger's value log, everything else in
// its LSM tree. One writer goroutine applies all updates: it gathers the
// Updates that arrived while the previous commit was syncing into one
// transaction (group commit), so many concurrent deliveries share an fsync
// and there are never write conflicts to retry. It keeps badger off a full
// disk with a reserve of free space (space.go).
package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/panics"
	"mxdesk/store"
)

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("store: closed")

// Options tune the store.
type Options struct {
	// Sync makes every commit wait for fsync. Off only for throwaway data.
	Sync bool
	// MaxValueBytes is the largest blob that must fit (the message size
	// limit); the value log files are sized for it. Default 25 MiB.
	MaxValueBytes int64
	// MinFreeBytes is the reserve of free space on the store's filesystem
	// (store.min_free_space): Open refuses to start below it and LowSpace
	// reports it; 0: no reserve. When set it must be at least
	// MinReserve(MaxValueBytes).
	MinFreeBytes int64
	// ReadOnly opens the store for reading only (check-store, while the
	// server is stopped): nothing is written, Update fails. Open returns
	// ErrLocked while a server has the store open.
	ReadOnly bool
	// CheckOnClose runs Check when a read-write store closes; Close returns
	// ErrInconsistent with the problems found. Tests set it (testutil sets
	// it for every store a test binary opens, CheckEveryStoreOnClose).
	CheckOnClose bool
	Logger       *slog.Logger
	// ExpungedKept is how many expunged UIDs each mailbox remembers
	// for QRESYNC (imap.expunged_kept); 0: DefaultExpungedKept.
	ExpungedKept int
}

// checkAll makes every store opened afterwards check itself on close.
var checkAll atomic.Bool

// CheckEveryStoreOnClose sets Options.CheckOnClose for every store opened
// from now on in this process, the gateway's own included: test binaries
// call it so that each test ends with a consistency check.
func CheckEveryStoreOnClose() { checkAll.Store(true) }

// ErrReadOnly is returned by Update on a store opened ReadOnly.
var ErrReadOnly = errors.New("store: opened read-only")

// ErrNeedsRecovery is returned by a read-only Open of a store whose server
// did not stop cleanly.
var ErrNeedsRecovery = errors.New("the store was not closed cleanly (the server was killed or crashed): start mxdesk serve once so that it recovers its log, stop it, and check again")

// ErrLocked is returned by a read-only Open while a server holds the store.
var ErrLocked = errors.New("the store is in use by a running mxdesk server (it holds the lock): stop the server first")

// maxBatch caps how many Updates share one commit, so one commit's latency
// stays bounded under heavy load.
const maxBatch = 256

// Store is a badger-backed store.Store.
type Store struct {
	db  *badger.DB
	dir string
	log *slog.Logger

	reqs     chan *request
	quit     chan struct{}
	done     chan struct{}
	closeErr error
	once     sync.Once

	obsMu    sync.RWMutex
	observer store.Observer
	onCommit func(took time.Duration, updates int, err error)

	minFree int64        // Options.MinFreeBytes
	free    atomic.Int64 // free bytes on the filesystem, last measured
	low     atomic.Bool  // free was below minFree at the last measurement
	pending atomic.Int64 // bytes admitted by Reserve, not yet committed

	readOnly     bool // Options.ReadOnly
	checkOnClose bool // Options.CheckOnClose or CheckEveryStoreOnClose
	expungedKept int  // Options.ExpungedKept
}

type request struct {
	fn      func(store.Tx) error
	origin  any
	changes []store.Change
	done    chan error
}

// Open opens (or creates) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = 25 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if least := MinReserve(opts.MaxValueBytes); opts.MinFreeBytes > 0 && opts.MinFreeBytes < least {
		return nil, fmt.Errorf("store.min_free_space = %d bytes is less than the %d bytes that one value log file and the memtables need for messages of %d bytes: raise it",
			opts.MinFreeBytes, least, opts.MaxValueBytes)
	}
	if opts.ReadOnly {
		return openReadOnly(dir, opts)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := restrictModes(dir); err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	if err := checkSpaceBeforeOpen(dir, opts.MinFreeBytes); err != nil {
		return nil, err
	}
	db, err := badger.Open(badgerOptions(dir, opts))
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	s := newStore(db, dir, opts)
	s.measureSpace()
	if err := s.buildIndexes(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrateModSeq(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: give messages mod-sequences: %w", err)
	}
	go s.writer()
	go s.gcLoop()
	go s.spaceLoop()
	return s, nil
}

// openReadOnly opens an existing store without writing to it: no
// writer, no index building, no value log GC.
func openReadOnly(dir string, opts Options) (*Store, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	db, err := badger.Open(badgerOptions(dir, opts).WithReadOnly(true))
	// badger formats the flock error away (%+v), so only its text tells
	// that another process holds the store.
	if err != nil && strings.Contains(err.Error(), "Cannot acquire directory lock") {
		return nil, fmt.Errorf("open store in %s: %w", dir, ErrLocked)
	}
	// After a crash badger truncates its write-ahead log at the next
	// read-write open, which a read-only one can't do.
	if err != nil && strings.Contains(err.Error(), "Log truncate required") {
		return nil, fmt.Errorf("open store in %s: %w", dir, ErrNeedsRecovery)
	}
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	s := newStore(db, dir, opts)
	close(s.done) // no writer
	return s, nil
}

func newStore(db *badger.DB, dir string, opts Options) *Store {
	return &Store{
		db:   db,
		dir:  dir,
		log:  opts.Logger,
		reqs: make(chan *request, maxBatch),
		quit: make(chan struct{}),
		done: make(chan struct{}),

		minFree:  opts.MinFreeBytes,
		readOnly: opts.ReadOnly,
		// A read-only store can't become inconsistent while open.
		checkOnClose: (opts.CheckOnClose || checkAll.Load()) && !opts.ReadOnly,
		expungedKept: opts.ExpungedKept,
	}
}

func badgerOptions(dir string, opts Options) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(opts.Sync).
		WithLogger(badgerLogger{opts.Logger}).
		WithLoggingLevel(badger.WARNING).
		// A small server: 3 × 16 MiB memtables instead of 5 × 64 MiB.
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20).
		WithValueLogFileSize(valueLogFileSize(opts.MaxValueBytes)).
		// Bodies (anything over 1 KiB) go to the value log, keeping the
		// LSM tree small and fast to iterate.
		WithValueThreshold(1 << 10).
		// One writer: conflicts are impossible, skip their bookkeeping.
		WithDetectConflicts(false).
		WithNumCompactors(2)
}

// restrictModes takes group and other permissions off the store's files
// and directories: a store written before mxdesk set its umask to 077 has
// badger's 0644 files, and they hold every message.
func restrictModes(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return nil // a new store
		}
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			return os.Chmod(path, perm&^0o077)
		}
		return nil
	})
}

// SetObserver installs the observer of committed changes.
func (s *Store) SetObserver(o store.Observer) {
	s.obsMu.Lock()
	s.observer = o
	s.obsMu.Unlock()
}

// View runs fn on a consistent snapshot.
func (s *Store) View(fn func(r store.Reader) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		return fn(&tx{txn: txn})
	})
}

// Update queues fn for the writer and waits until its changes are durable.
// Once queued the update is not abandoned when ctx ends: its result is
// awaited so a nil error always means committed.
func (s *Store) Update(ctx context.Context, opts store.UpdateOptions, fn func(store.Tx) error) error {
	if s.readOnly {
		return ErrReadOnly
	}
	req := &request{fn: fn, origin: opts.Origin, done: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return ErrClosed
	}
	return <-req.done
}

// Close stops the writer after the updates already queued and closes the
// database.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		s.closeErr = errors.Join(s.checkBeforeClose(), s.db.Close())
	})
	return s.closeErr
}

// checkBeforeClose runs Check for Options.CheckOnClose, after the last
// update.
func (s *Store) checkBeforeClose() error {
	if !s.checkOnClose {
		return nil
	}
	r, err := s.Check()
	if err != nil {
		return fmt.Errorf("store: check on close: %w", err)
	}
	if len(r.Problems) == 0 {
		return nil
	}
	lines := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		lines[i] = "\n\t" + p.String()
	}
	return fmt.Errorf("%w: %d problems in %s:%s", ErrInconsistent, len(r.Problems), s.dir, strings.Join(lines, ""))
}

// SetCommitHook installs fn, called on the writer after every commit with
// its duration (fsync included), how many updates shared it and its error
// (metrics). fn must be quick. Install it before the first Update.
func (s *Store) SetCommitHook(fn func(took time.Duration, updates int, err error)) {
	s.obsMu.Lock()
	s.onCommit = fn
	s.obsMu.Unlock()
}

// Size is the disk space used by the LSM tree (its .sst tables and the
// .mem write-ahead logs of its memtables) and by the value log (.vlog),
// measured now: blocks allocated, so badger's preallocated files count
// for what they hold (badger's own figures are file sizes, a minute old).
func (s *Store) Size() (lsm, vlog int64, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if ext != ".sst" && ext != ".mem" && ext != ".vlog" {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed by a compaction meanwhile
		}
		if ext == ".vlog" {
			vlog += diskUsage(info)
		} else {
			lsm += diskUsage(info)
		}
	}
	return lsm, vlog, nil
}

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

// drain commits what was queued before Close, failing nothing silently.
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

// commit runs the batch's functions in one transaction and commits it. A
// function that fails is answered with its error and the others are run
// again in a fresh transaction (a badger transaction can't be partly
// undone); a batch too big for one transaction is split.
func (s *Store) commit(batch []*request) {
	if len(batch) == 0 {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("store: panic in update: %v", p)
			panics.Recovered(s.log, panics.StoreWriter, "store writer recovered", p, "updates", len(batch))
			for _, r := range batch {
				select {
				case r.done <- err:
				default:
				}
			}
		}
	}()
	txn := s.db.NewTransaction(true)
	for i, r := range batch {
		t := &tx{txn: txn, origin: r.origin, write: true, expungedKept: s.expungedKept}
		err := r.fn(t)
		if err == nil {
			r.changes = t.changes
			continue
		}
		txn.Discard()
		if errors.Is(err, badger.ErrTxnTooBig) && i > 0 {
			s.commit(batch[:i])
			s.commit(batch[i:])
			return
		}
		r.done <- err
		rest := append(append([]*request{}, batch[:i]...), batch[i+1:]...)
		s.commit(rest)
		return
	}
	start := time.Now()
	err := txn.Commit()
	s.commitDone(time.Since(start), len(batch), err)
	s.measureSpace()
	if err != nil {
		err = fmt.Errorf("store: commit: %w", err)
		s.log.Error("store commit failed", "err", err, "updates", len(batch))
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	s.publish(batch)
	for _, r := range batch {
		r.done <- nil
	}
}

func (s *Store) commitDone(took time.Duration, updates int, err error) {
	s.obsMu.RLock()
	fn := s.onCommit
	s.obsMu.RUnlock()
	if fn != nil {
		fn(took, updates, err)
	}
}

func (s *Store) publish(batch []*request) {
	var all []store.Change
	for _, r := range batch {
		all = append(all, r.changes...)
	}
	s.obsMu.RLock()
	o := s.observer
	s.obsMu.RUnlock()
	if o != nil && len(all) > 0 {
		o(all)
	}
}

// gcLoop reclaims value log space left by deleted bodies.
func (s *Store) gcLoop() {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			for s.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// badgerLogger routes badger's logs to slog.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Info(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
