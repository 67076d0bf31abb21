package gateway

// Retention and the archive (SPEC §12): the server archives what is due
// every archive.interval, and the admin API runs it or restores a session
// on demand (mxdesk archive run, mxdesk archive restore).

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"mxdesk/archive"
	"mxdesk/store"
)

// AdminArchiveRun is the answer to POST /v1/archive/run.
type AdminArchiveRun struct {
	DryRun   bool              `json:"dry_run"`
	Due      []AdminArchiveDue `json:"due"`
	Archived []string          `json:"archived"`
	Failed   []archive.Failure `json:"failed"`
	Bytes    int64             `json:"bytes"`
}

// AdminArchiveDue is a session due for the archive.
type AdminArchiveDue struct {
	Session string    `json:"session"`
	Queue   string    `json:"queue"`
	Closed  time.Time `json:"closed"`
	Folder  string    `json:"folder"`
}

// AdminArchiveRestore is the answer to POST /v1/archive/restore/{id}.
type AdminArchiveRestore struct {
	Session string `json:"session"`
	From    string `json:"from"`
}

// newArchiver builds the archiver when a bucket is configured (nil
// otherwise).
func (g *Gateway) newArchiver(now func() time.Time) error {
	if !g.cfg.Archive.Enabled() {
		return nil
	}
	a, err := archive.New(g.store, g.router.Config, archive.Options{Now: now, Logger: g.log, Metrics: archive.NewMetrics(g.obs.reg)})
	if err != nil {
		return err
	}
	g.archiver = a
	g.archivedAtStart = make(chan struct{})
	return nil
}

// runArchive archives what is due now and every archive.interval until
// ctx ends. A failed session stays in the store and is tried again at the
// next run.
func (g *Gateway) runArchive(ctx context.Context) {
	if g.archiver == nil {
		return
	}
	tick := time.NewTicker(g.cfg.Archive.Interval.Duration)
	defer tick.Stop()
	for {
		res, err := g.archiver.Run(ctx, false)
		switch {
		case err != nil:
			g.log.Error("archive run failed", "archive.bucket", g.cfg.Archive.Bucket, "err", err)
		case len(res.Due) > 0:
			g.log.Info("archive run", "archived", len(res.Archived), "failed", len(res.Failed), "bytes", res.Bytes)
		}
		g.archiveStarted.Do(func() { close(g.archivedAtStart) }) // once: the duty may be taken again
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// serveArchiveRun is POST /v1/archive/run[?dry_run=1].
func (g *Gateway) serveArchiveRun(w http.ResponseWriter, req *http.Request) {
	if g.archiver == nil {
		writeAdminError(w, http.StatusConflict, "the archive is off: set archive.bucket")
		return
	}
	dry := req.URL.Query().Get("dry_run") != ""
	res, err := g.archiver.Run(req.Context(), dry)
	if err != nil {
		g.log.Error("archive run failed", "via", "admin API", "archive.bucket", g.cfg.Archive.Bucket, "err", err)
		writeAdminError(w, http.StatusInternalServerError, "archive run: "+err.Error())
		return
	}
	out := AdminArchiveRun{DryRun: dry, Archived: nonNil(res.Archived), Failed: res.Failed, Bytes: res.Bytes, Due: []AdminArchiveDue{}}
	if out.Failed == nil {
		out.Failed = []archive.Failure{}
	}
	for _, d := range res.Due {
		out.Due = append(out.Due, AdminArchiveDue{Session: d.Session, Queue: d.Queue, Closed: d.Closed.UTC(), Folder: d.Folder})
	}
	g.log.Info("archive run requested", "via", "admin API", "actor", adminActor(req), "dry_run", dry, "archived", len(res.Archived), "failed", len(res.Failed))
	writeAdminJSON(w, out)
}

// sessionIDPattern is what an S-XXXXX argument may look like.
var sessionIDPattern = regexp.MustCompile(`^S-[0-9A-Za-z]{5,12}$`)

// serveArchiveRestore is POST /v1/archive/restore/{id}.
func (g *Gateway) serveArchiveRestore(w http.ResponseWriter, req *http.Request) {
	if g.archiver == nil {
		writeAdminError(w, http.StatusConflict, "the archive is off: set archive.bucket")
		return
	}
	id := strings.ToUpper(req.PathValue("id"))
	if !sessionIDPattern.MatchString(id) {
		writeAdminError(w, http.StatusBadRequest, "not a session ID: "+req.PathValue("id")+" (want S-XXXXX)")
		return
	}
	from, err := g.archiver.Restore(req.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeAdminError(w, http.StatusNotFound, "restore "+id+": "+strings.TrimSuffix(err.Error(), ": "+store.ErrNotFound.Error()))
		return
	}
	if err != nil {
		writeAdminError(w, http.StatusConflict, "restore "+id+": "+err.Error())
		return
	}
	g.log.Info("archived session restored", "session", id, "from", from, "actor", adminActor(req))
	writeAdminJSON(w, AdminArchiveRestore{Session: id, From: from})
}
