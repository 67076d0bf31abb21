// Package archive moves Closed sessions past their retention to
// S3-compatible object storage and removes them from the store, and brings
// them back (SPEC §12). A session's folder is written object by object
// (idempotent puts), its manifest last and read back; only then does one
// store transaction remove the session, keeping a small archived record so
// that late replies continue it. A crash at any point leaves the session
// either whole in the store (archived again next run) or removed with its
// folder complete.
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"mxdesk/config"
	"mxdesk/store"
	"mxdesk/transcript"
)

// closedStatus is the status archived sessions are in (router.StatusClosed:
// this package does not import the router).
const closedStatus = "Closed"

// Archiver archives due sessions of one store to one bucket.
type Archiver struct {
	st      store.Store
	config  func() *config.Config
	bucket  *Bucket
	now     func() time.Time
	log     *slog.Logger
	metrics *Metrics

	running sync.Mutex // one run at a time: the schedule and the CLI share it
}

// Options are what an Archiver needs besides the store and the
// configuration.
type Options struct {
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger
	Metrics *Metrics // nil: none
}

// New returns an archiver of st to the bucket of cfg().Archive (read once:
// a change of bucket needs a restart).
func New(st store.Store, cfg func() *config.Config, opts Options) (*Archiver, error) {
	b, err := Open(cfg().Archive)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Archiver{st: st, config: cfg, bucket: b, now: opts.Now, log: opts.Logger, metrics: opts.Metrics}, nil
}

// Result is the outcome of one run.
type Result struct {
	DryRun   bool
	Due      []Due    // what was due (a dry run archives none of it)
	Archived []string // session IDs archived and removed
	Failed   []Failure
	Bytes    int64 // written to the bucket
}

// Due is a session due for the archive.
type Due struct {
	Session string
	Queue   string
	Closed  time.Time
	Folder  string // s3://bucket/folder/
}

// Failure is a session that could not be archived this run; it stays in
// the store whole and is tried again next run.
type Failure struct {
	Session string
	Err     string
}

// Run archives up to archive.max_sessions_per_run due sessions, oldest
// first; dryRun only lists them.
func (a *Archiver) Run(ctx context.Context, dryRun bool) (Result, error) {
	a.running.Lock()
	defer a.running.Unlock()
	cfg := a.config()
	res := Result{DryRun: dryRun}
	due, err := a.due(cfg, cfg.Archive.MaxSessionsPerRun)
	if err != nil {
		return res, err
	}
	res.Due = due
	if dryRun {
		return res, nil
	}
	var mu sync.Mutex // guards res
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n, err := a.archiveOne(ctx, cfg, d.Session)
			mu.Lock()
			defer mu.Unlock()
			a.record(&res, cfg, d, n, err)
		})
	}
	wg.Wait()
	slices.Sort(res.Archived)
	a.updateOldestDue(cfg)
	return res, nil
}

// parallel is how many sessions a run writes at once: each waits on
// several round trips to the bucket, so a few in flight keep the link
// busy without loading a small server.
const parallel = 4

// record adds the outcome of one session to res, the metrics and the log.
func (a *Archiver) record(res *Result, cfg *config.Config, d Due, n int64, err error) {
	res.Bytes += n
	a.metrics.addBytes(n)
	if err != nil {
		a.log.Warn("archive: session not archived; it stays in the store and is tried again next run",
			"session", d.Session, "archive.bucket", cfg.Archive.Bucket, "archive.endpoint", cfg.Archive.Endpoint, "err", err)
		res.Failed = append(res.Failed, Failure{Session: d.Session, Err: err.Error()})
		a.metrics.session("failed")
		return
	}
	a.log.Info("archive: session archived and removed from the store", "session", d.Session, "folder", d.Folder)
	res.Archived = append(res.Archived, d.Session)
	a.metrics.session("archived")
}

// due lists up to limit sessions closed longer ago than their queue's
// retention, closed longest ago first.
func (a *Archiver) due(cfg *config.Config, limit int) ([]Due, error) {
	now := a.now()
	var out []Due
	err := a.st.View(func(rd store.Reader) error {
		return eachDue(rd, cfg, now, func(s store.Session) bool {
			out = append(out, Due{Session: s.ID, Queue: s.Queue, Closed: s.StatusSince,
				Folder: location(cfg.Archive.Bucket, folder(cfg, s))})
			return len(out) < limit
		})
	})
	return out, err
}

// eachDue calls fn for each due session, closed longest ago first, until
// it returns false. The status index is walked up to the shortest
// retention; sessions of queues kept longer are skipped.
func eachDue(rd store.Reader, cfg *config.Config, now time.Time, fn func(store.Session) bool) error {
	shortest := shortestRetention(cfg)
	if shortest == 0 {
		return nil
	}
	return rd.SessionsInStatus(closedStatus, now.Add(-config.Days(shortest)), func(id string, since time.Time) (bool, error) {
		s, err := rd.Session(id)
		if err != nil {
			return false, err
		}
		days := cfg.RetentionDays(s.Queue)
		if days == 0 || since.After(now.Add(-config.Days(days))) {
			return true, nil
		}
		return fn(s), nil
	})
}

// shortestRetention is the shortest retention of any queue (0: all are
// kept for ever). Sessions of removed queues get archive.retention_days.
func shortestRetention(cfg *config.Config) int {
	shortest := cfg.Archive.RetentionDays
	for _, q := range cfg.Queue {
		if d := cfg.RetentionDays(q.Name); d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	return shortest
}

// updateOldestDue sets how long the oldest due session has been due.
func (a *Archiver) updateOldestDue(cfg *config.Config) {
	now := a.now()
	var overdue time.Duration
	err := a.st.View(func(rd store.Reader) error {
		return eachDue(rd, cfg, now, func(s store.Session) bool {
			overdue = now.Sub(s.StatusSince.Add(config.Days(cfg.RetentionDays(s.Queue))))
			return false
		})
	})
	if err == nil {
		a.metrics.oldestDue(overdue)
	}
}

// archiveOne writes session id's folder and, once its manifest is read
// back intact, removes the session from the store. It returns the bytes
// written.
func (a *Archiver) archiveOne(ctx context.Context, cfg *config.Config, id string) (int64, error) {
	var t transcript.Thread
	err := a.st.View(func(rd store.Reader) (err error) {
		t, err = transcript.Load(rd, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read session %s: %w", id, err)
	}
	objects, m, err := render(t)
	if err != nil {
		return 0, err
	}
	dir := folder(cfg, t.Session)
	written, err := a.bucket.putAll(ctx, dir, objects)
	if err != nil {
		return written, err
	}
	m.ArchivedAt = a.now().UTC()
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return written, err
	}
	if err := a.bucket.putVerified(ctx, dir+ManifestName, manifest); err != nil {
		return written, err
	}
	written += int64(len(manifest))
	return written, a.remove(ctx, t.Session, location(cfg.Archive.Bucket, dir), m.ArchivedAt)
}

// remove drops the archived session from the store, unless it changed
// while it was being written (a reply reopened it): then it stays, and is
// archived again, to the same folder, once due.
func (a *Archiver) remove(ctx context.Context, s store.Session, where string, at time.Time) error {
	return a.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		now, err := tx.Session(s.ID)
		if err != nil {
			return err
		}
		if now.Status != closedStatus || !now.StatusSince.Equal(s.StatusSince) || !now.LastActivity.Equal(s.LastActivity) {
			return fmt.Errorf("session %s changed while it was archived: kept", s.ID)
		}
		return tx.DeleteSession(s.ID, store.Archived{
			Queue: s.Queue, Customer: s.Customer, Subject: s.Subject, Participants: s.Participants,
			Location: where, ArchivedAt: at,
		})
	})
}

// object is one object to write, with its name in the folder.
type object struct {
	name string
	data []byte
}

// render turns a thread into its objects (messages, transcript,
// metadata) and the manifest that lists them. A renderer's error fails
// the session's archive: nothing is removed.
func render(t transcript.Thread) ([]object, Manifest, error) {
	m := Manifest{Version: 1, Session: t.Session, Events: t.Events}
	var objects []object
	for i, msg := range t.Messages {
		name := messageName(i)
		objects = append(objects, object{name, msg.Raw})
		m.Messages = append(m.Messages, ArchivedMessage{Name: name, InternalDate: msg.InternalDate, Folders: msg.Folders})
	}
	var pdf bytes.Buffer
	if err := transcript.PDF(&pdf, t); err != nil {
		return nil, m, fmt.Errorf("render %s of %s: %w", TranscriptName, t.Session.ID, err)
	}
	meta, err := transcript.Metadata(t)
	if err != nil {
		return nil, m, fmt.Errorf("render %s of %s: %w", MetadataName, t.Session.ID, err)
	}
	objects = append(objects, object{TranscriptName, pdf.Bytes()}, object{MetadataName, meta})
	for _, o := range objects {
		m.Objects = append(m.Objects, Object{Name: o.name, Size: int64(len(o.data)), SHA256: sum(o.data)})
	}
	return objects, m, nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
