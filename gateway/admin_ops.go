package gateway

// The admin API of the running server that goes beyond the router:
// POST /v1/reload re-reads the configuration file, GET /v1/backup
// streams a consistent copy of the store.

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"mxdesk/config"
)

// AdminReloadError is the body of a refused POST /v1/reload (422): the
// problems of the file, one per entry, as check-config shows them.
type AdminReloadError struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems"`
}

// opsHandler serves the gateway's own endpoints and passes the rest to
// next (the router's admin API).
func (g *Gateway) opsHandler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reload", g.serveReload)
	mux.HandleFunc("GET /v1/backup", g.serveBackup)
	mux.HandleFunc("POST /v1/archive/run", g.serveArchiveRun)
	mux.HandleFunc("POST /v1/archive/restore/{id}", g.serveArchiveRestore)
	mux.HandleFunc("GET /v1/accounts", g.serveAccounts)
	mux.HandleFunc("GET /v1/duties", g.serveDuties)
	g.campaignRoutes(mux)
	mux.Handle("/", next)
	return mux
}

// serveReload is POST /v1/reload: the server reads the configuration
// file it was started with again. 200 with a ReloadResult, or 422 with
// the file's problems (the running configuration stays), or 500.
func (g *Gateway) serveReload(w http.ResponseWriter, req *http.Request) {
	res, err := g.Reload("")
	var verrs config.ValidationErrors
	switch {
	case errors.As(err, &verrs):
		out := AdminReloadError{Error: "configuration " + res.Path + " is invalid; the running configuration stays in force"}
		for _, e := range verrs {
			out.Problems = append(out.Problems, e.Error())
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(out) // an error here is the client gone
	case err != nil:
		writeAdminError(w, http.StatusInternalServerError, "reload "+res.Path+": "+err.Error()+" (the running configuration stays in force)")
	default:
		g.log.Info("reload requested", "via", "admin API", "actor", adminActor(req))
		writeAdminJSON(w, res)
	}
}

// serveBackup is GET /v1/backup: the backup file (badgerstore format),
// taken at one moment while the server keeps serving. An error after the
// first byte can't change the status: the file is then incomplete, which
// its missing end mark tells the client.
func (g *Gateway) serveBackup(w http.ResponseWriter, req *http.Request) {
	g.storeMu.RLock()
	defer g.storeMu.RUnlock()
	if g.storeClosed {
		writeAdminError(w, http.StatusServiceUnavailable, "the server is stopping")
		return
	}
	bk, ok := g.store.(backuper)
	if !ok {
		writeAdminError(w, http.StatusNotImplemented, errNoBackupOnPostgres().Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	g.log.Info("backup started", "via", "admin API", "actor", adminActor(req))
	cw := &countWriter{w: w}
	if err := bk.Backup(cw); err != nil {
		g.log.Error("backup failed", "err", err, "sent_bytes", cw.n)
		if cw.n == 0 {
			writeAdminError(w, http.StatusInternalServerError, "backup: "+err.Error())
		}
		return
	}
	g.log.Info("backup sent", "bytes", cw.n)
}

// countWriter counts what passes through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
