package gateway

// The admin API: JSON over HTTP on a unix socket in data_dir, for the
// `mxdesk session ...`, `mxdesk agent ...` and `mxdesk quarantine ...`
// commands. Access is the socket file's permissions (0600, the user
// mxdesk runs as); there is no other authentication. Every path is under
// /v1.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// AdminSocket is the path of the admin socket of cfg's deployment.
func AdminSocket(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "admin.sock")
}

// adminShutdownTimeout bounds how long Close waits for admin requests in
// flight before it closes the store under them.
const adminShutdownTimeout = 5 * time.Second

// AdminSession is a session as the admin API shows it: store.Session
// without its reply token (a secret) and the store's bookkeeping.
type AdminSession struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	Queue        string    `json:"queue"`
	Agent        string    `json:"agent"` // "" while waiting in the queue
	Customer     string    `json:"customer"`
	Participants []string  `json:"participants"`
	Subject      string    `json:"subject"`
	Previous     string    `json:"previous,omitempty"` // the closed session this one continues
	Parked       bool      `json:"parked"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	LastActivity time.Time `json:"last_activity,omitzero"`
	StatusSince  time.Time `json:"status_since,omitzero"`
	Due          time.Time `json:"due,omitzero"` // next automatic transition to look at
	// WaitingSince is when the session started waiting unassigned in its
	// queue and WaitingSeconds how long ago that was by the server's
	// clock; both are absent when it is not waiting.
	WaitingSince   time.Time `json:"waiting_since,omitzero"`
	WaitingSeconds *int64    `json:"waiting_seconds,omitempty"`

	// TicketID is the CRM's ticket for the session, once it answered.
	TicketID string `json:"ticket_id,omitempty"`
}

// AdminAgent is one entry of GET /v1/agents, and the answer of POST
// /v1/agents/{login}/state.
type AdminAgent struct {
	Login   string `json:"login"`
	State   string `json:"state"`   // available, in_session, rona, away or offline
	Present bool   `json:"present"` // has an IMAP connection seen within presence_timeout
	Active  int    `json:"active"`  // sessions counting towards the agent's load
	// PresenceKnown is false when no server runs and the store was read
	// directly: presence lives in the server's memory, so nobody is
	// present then and State is offline for everyone not away.
	PresenceKnown bool `json:"presence_known"`
}

// AdminAgentState is the body of POST /v1/agents/{login}/state.
type AdminAgentState struct {
	State string `json:"state"` // away or available
}

// AdminQueueWaiting is one entry of GET /v1/queues/waiting: the sessions
// waiting unassigned in a queue (SPEC §6 KPI alarm).
type AdminQueueWaiting struct {
	Queue         string `json:"queue"`
	Waiting       int    `json:"waiting"`
	OldestSeconds int64  `json:"oldest_seconds"` // how long the longest-waiting one has waited; 0 with none
	Alarms        int    `json:"alarms"`         // waiting longer than the queue's kpi_wait_alarm
}

// AdminReport is GET /v1/sessions/{id}: a session, its messages in arrival
// order and its events.
type AdminReport struct {
	Session  AdminSession   `json:"session"`
	Messages []AdminMessage `json:"messages"`
	Events   []AdminEvent   `json:"events"`
}

// AdminMessage is one message of a session. From and Subject are the raw
// header values.
type AdminMessage struct {
	Date      time.Time `json:"date"`
	From      string    `json:"from"`
	Subject   string    `json:"subject"`
	MessageID string    `json:"message_id"`
	Folders   []string  `json:"folders"` // "Queues/Support", "alice@example.test:INBOX"
}

// AdminEvent is one entry of a session's event log.
type AdminEvent struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail"`
}

// AdminQuarantined is one entry of GET /v1/quarantine: the original of a
// message from which parts were removed (blocked, infected, over a
// limit), kept whole until an admin releases or deletes it.
type AdminQuarantined struct {
	ID      uint64    `json:"id"`
	Session string    `json:"session"` // where the cleaned copy went
	From    string    `json:"from"`    // envelope sender
	To      []string  `json:"to"`      // envelope recipients
	Removed []string  `json:"removed"` // what was removed and why, one line each
	Created time.Time `json:"created"`
}

// AdminQuarantinedMessage is GET /v1/quarantine/{id}: the entry, the
// original's size and its header fields in order (values unfolded, not
// decoded). The body is only in GET /v1/quarantine/{id}/raw.
type AdminQuarantinedMessage struct {
	AdminQuarantined
	Size   int                `json:"size"`
	Header []AdminHeaderField `json:"header"`
	// HeaderError says why the header could not be read to its end
	// (Header then holds the fields before the fault).
	HeaderError string `json:"header_error,omitempty"`
}

// AdminHeaderField is one header field of a message.
type AdminHeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// AdminReleased is the answer of POST /v1/quarantine/{id}/release.
type AdminReleased struct {
	Session string `json:"session"` // the session the original was filed in
}

// AdminDeleted is the answer of DELETE /v1/quarantine/{id}.
type AdminDeleted struct {
	Deleted uint64 `json:"deleted"`
}

// AdminActorHeader names who is behind a request that changes something
// (the OS user running the command); the actor in the session's events
// is then "admin:<name>", else "admin". The socket's permissions are the
// only access control, so this is a record, not an authentication.
const AdminActorHeader = "X-Mxdesk-Actor"

// AdminError is the body of every answer that is not 200.
type AdminError struct {
	Error string `json:"error"`
}

// adminSession shows s, with its waiting age at now.
func adminSession(s store.Session, now time.Time) AdminSession {
	out := AdminSession{
		ID: s.ID, Status: s.Status, Queue: s.Queue, Agent: s.Agent, Customer: s.Customer,
		Participants: nonNil(s.Participants), Subject: s.Subject, Previous: s.Previous, Parked: s.Parked,
		Created: s.Created, Updated: s.Updated, LastActivity: s.LastActivity, StatusSince: s.StatusSince, Due: s.Due,
		WaitingSince: s.WaitingSince, TicketID: s.TicketID,
	}
	if !s.WaitingSince.IsZero() {
		w := seconds(now.Sub(s.WaitingSince))
		out.WaitingSeconds = &w
	}
	return out
}

// seconds is d in whole seconds, never negative.
func seconds(d time.Duration) int64 {
	return int64(max(d, 0) / time.Second)
}

func adminReport(rep router.SessionReport, now time.Time) AdminReport {
	out := AdminReport{Session: adminSession(rep.Session, now), Messages: []AdminMessage{}, Events: []AdminEvent{}}
	for _, m := range rep.Messages {
		out.Messages = append(out.Messages, AdminMessage{Date: m.Date, From: m.From, Subject: m.Subject, MessageID: m.MessageID, Folders: nonNil(m.Folders)})
	}
	for _, e := range rep.Events {
		out.Events = append(out.Events, AdminEvent{Time: e.Time, Kind: e.Kind, Actor: e.Actor, Detail: e.Detail})
	}
	return out
}

// nonNil makes an absent list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AdminHandler serves the admin API of the running server on r: the
// gateway serves it on the admin socket. (mxdesk's commands get the same
// API in-process from OpenAdmin when no server is running.)
func AdminHandler(r *router.Router, log *slog.Logger) http.Handler {
	return newAdminHandler(r, log, true)
}

// newAdminHandler builds the admin API; online tells whether r is the
// running server's router, which knows who is connected.
func newAdminHandler(r *router.Router, log *slog.Logger, online bool) http.Handler {
	a := &adminAPI{r: r, log: log, online: online}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sessions", a.listSessions)
	mux.HandleFunc("GET /v1/sessions/{id}", a.showSession)
	mux.HandleFunc("GET /v1/agents", a.listAgents)
	mux.HandleFunc("POST /v1/agents/{login}/state", a.setAgentState)
	mux.HandleFunc("GET /v1/queues/waiting", a.queuesWaiting)
	mux.HandleFunc("GET /v1/quarantine", a.listQuarantine)
	mux.HandleFunc("GET /v1/quarantine/{id}", a.showQuarantined)
	mux.HandleFunc("GET /v1/quarantine/{id}/raw", a.rawQuarantined)
	mux.HandleFunc("POST /v1/quarantine/{id}/release", a.releaseQuarantined)
	mux.HandleFunc("DELETE /v1/quarantine/{id}", a.deleteQuarantined)
	a.crmRoutes(mux)
	a.tokenRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeAdminError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", req.Method, req.URL.Path))
	})
	return mux
}

type adminAPI struct {
	r      *router.Router
	log    *slog.Logger
	online bool // false: the store read directly, presence unknown
}

// listSessions is GET /v1/sessions?queue=&agent=&status=&waiting=&limit=.
// waiting=1 lists the sessions waiting unassigned, longest waiting first.
func (a *adminAPI) listSessions(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	f := router.SessionFilter{Queue: q.Get("queue"), Agent: q.Get("agent"), Status: q.Get("status")}
	if v := q.Get("waiting"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("waiting %q: want 1 or 0", v))
			return
		}
		f.Waiting = b
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a number, 0 for no limit", l))
			return
		}
		f.Limit = n
	}
	sessions, err := a.r.ListSessions(f)
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	now := a.r.Now()
	out := make([]AdminSession, len(sessions))
	for i, s := range sessions {
		out[i] = adminSession(s, now)
	}
	writeAdminJSON(w, out)
}

// showSession is GET /v1/sessions/{id}.
func (a *adminAPI) showSession(w http.ResponseWriter, req *http.Request) {
	rep, err := a.r.Report(req.PathValue("id"))
	switch {
	case router.KindOf(err) == router.KindNotFound:
		writeAdminError(w, http.StatusNotFound, err.Error())
	case err != nil:
		a.internalError(w, req, err)
	default:
		writeAdminJSON(w, adminReport(rep, a.r.Now()))
	}
}

// listAgents is GET /v1/agents: every configured agent's state, present
// and load, in the configuration's order.
func (a *adminAPI) listAgents(w http.ResponseWriter, req *http.Request) {
	statuses, err := a.r.AgentStatuses()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	out := make([]AdminAgent, len(statuses))
	for i, st := range statuses {
		out[i] = a.agent(st)
	}
	writeAdminJSON(w, out)
}

func (a *adminAPI) agent(st router.AgentStatus) AdminAgent {
	return AdminAgent{Login: st.Login, State: st.State, Present: st.Present, Active: st.Active, PresenceKnown: a.online}
}

// maxAdminBody bounds the body of a POST: the API takes small JSON objects.
const maxAdminBody = 4 << 10

// setAgentState is POST /v1/agents/{login}/state with {"state": "away"}
// or {"state": "available"}: a supervisor sets an agent away (no
// auto-assignment) or back. It answers the agent's state after the change.
func (a *adminAPI) setAgentState(w http.ResponseWriter, req *http.Request) {
	var body AdminAgentState
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty")
		}
		writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("body: %v (want {\"state\": \"away\"} or {\"state\": \"available\"})", err))
		return
	}
	var away bool
	switch body.State {
	case router.StateAway:
		away = true
	case router.StateAvailable:
	default:
		writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("state %q: want %q or %q", body.State, router.StateAway, router.StateAvailable))
		return
	}
	login := strings.ToLower(req.PathValue("login"))
	err := a.r.SetAway(req.Context(), login, away)
	switch {
	case router.KindOf(err) == router.KindNotFound:
		writeAdminError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		a.internalError(w, req, err)
		return
	}
	a.log.Info("agent state set", "login", login, "state", body.State, "via", "admin API")
	statuses, err := a.r.AgentStatuses()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	for _, st := range statuses {
		if st.Login == login {
			writeAdminJSON(w, a.agent(st))
			return
		}
	}
	writeAdminError(w, http.StatusNotFound, fmt.Sprintf("no agent %q", login))
}

// queuesWaiting is GET /v1/queues/waiting: per queue, the sessions waiting
// unassigned, the oldest one's age and the KPI alarms.
func (a *adminAPI) queuesWaiting(w http.ResponseWriter, req *http.Request) {
	stats, err := a.r.WaitingStats()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	out := make([]AdminQueueWaiting, len(stats))
	for i, q := range stats {
		out[i] = AdminQueueWaiting{Queue: q.Queue, Waiting: q.Waiting, OldestSeconds: seconds(q.Oldest), Alarms: q.Alarms}
	}
	writeAdminJSON(w, out)
}

func adminQuarantined(q store.Quarantined) AdminQuarantined {
	return AdminQuarantined{ID: q.ID, Session: q.Session, From: q.From, To: nonNil(q.To), Removed: nonNil(q.Removed), Created: q.Created}
}

// listQuarantine is GET /v1/quarantine: everything in quarantine, oldest
// first.
func (a *adminAPI) listQuarantine(w http.ResponseWriter, req *http.Request) {
	list, err := a.r.QuarantineList()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	out := make([]AdminQuarantined, len(list))
	for i, q := range list {
		out[i] = adminQuarantined(q)
	}
	writeAdminJSON(w, out)
}

// quarantined reads the entry the request's {id} names, answering 400 or
// 404 (ok false) when there is none.
func (a *adminAPI) quarantined(w http.ResponseWriter, req *http.Request) (q store.Quarantined, raw []byte, ok bool) {
	id, ok := quarantineID(w, req)
	if !ok {
		return q, nil, false
	}
	q, raw, err := a.r.Quarantined(id)
	if !a.answerError(w, req, err) {
		return q, nil, false
	}
	return q, raw, true
}

// showQuarantined is GET /v1/quarantine/{id}: the entry and the header of
// the original.
func (a *adminAPI) showQuarantined(w http.ResponseWriter, req *http.Request) {
	q, raw, ok := a.quarantined(w, req)
	if !ok {
		return
	}
	out := AdminQuarantinedMessage{AdminQuarantined: adminQuarantined(q), Size: len(raw), Header: []AdminHeaderField{}}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	fields := h.Fields()
	for fields.Next() {
		out.Header = append(out.Header, AdminHeaderField{Name: fieldName(fields), Value: fields.Value()})
	}
	if err != nil {
		out.HeaderError = err.Error()
	}
	writeAdminJSON(w, out)
}

// fieldName is the name of a header field as it was written ("MIME-Version",
// not the canonical "Mime-Version").
func fieldName(f textproto.HeaderFields) string {
	if raw, err := f.Raw(); err == nil {
		if name, _, ok := bytes.Cut(raw, []byte(":")); ok {
			return string(bytes.TrimSpace(name))
		}
	}
	return f.Key()
}

// rawQuarantined is GET /v1/quarantine/{id}/raw: the original message as
// it arrived, message/rfc822, for inspection.
func (a *adminAPI) rawQuarantined(w http.ResponseWriter, req *http.Request) {
	_, raw, ok := a.quarantined(w, req)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.Write(raw) // an error here is the client gone
}

// releaseQuarantined is POST /v1/quarantine/{id}/release: the original
// is filed, whole, in its session and leaves quarantine.
func (a *adminAPI) releaseQuarantined(w http.ResponseWriter, req *http.Request) {
	id, ok := quarantineID(w, req)
	if !ok {
		return
	}
	actor := adminActor(req)
	session, err := a.r.Release(req.Context(), id, actor)
	if !a.answerError(w, req, err) {
		return
	}
	a.log.Info("quarantine released", "quarantine", id, "session", session, "actor", actor, "via", "admin API")
	writeAdminJSON(w, AdminReleased{Session: session})
}

// deleteQuarantined is DELETE /v1/quarantine/{id}: the original is
// deleted for good.
func (a *adminAPI) deleteQuarantined(w http.ResponseWriter, req *http.Request) {
	id, ok := quarantineID(w, req)
	if !ok {
		return
	}
	actor := adminActor(req)
	if !a.answerError(w, req, a.r.DeleteQuarantined(req.Context(), id, actor)) {
		return
	}
	a.log.Info("quarantine deleted", "quarantine", id, "actor", actor, "via", "admin API")
	writeAdminJSON(w, AdminDeleted{Deleted: id})
}

// quarantineID parses the request's {id}, answering 400 (ok false) when
// it is not a quarantine ID.
func quarantineID(w http.ResponseWriter, req *http.Request) (id uint64, ok bool) {
	s := req.PathValue("id")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("quarantine ID %q: want a number, as mxdesk quarantine list shows", s))
		return 0, false
	}
	return id, true
}

// answerError answers err (404 for what does not exist, else 500) and
// reports whether there was none.
func (a *adminAPI) answerError(w http.ResponseWriter, req *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case router.KindOf(err) == router.KindNotFound:
		writeAdminError(w, http.StatusNotFound, err.Error())
	default:
		a.internalError(w, req, err)
	}
	return false
}

// maxActorName bounds the name in AdminActorHeader.
const maxActorName = 64

// adminActor is the actor of a change requested over the admin API:
// "admin", or "admin:<name>" with the name the client gave in
// AdminActorHeader, kept to characters safe in a log and an event.
func adminActor(req *http.Request) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '.' || r == '_' || r == '-' || r == '@' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, req.Header.Get(AdminActorHeader))
	if name == "" {
		return "admin"
	}
	return "admin:" + name[:min(len(name), maxActorName)]
}

// internalError answers 500 with the error's text: store and router
// errors name IDs and paths, never secrets.
func (a *adminAPI) internalError(w http.ResponseWriter, req *http.Request, err error) {
	a.log.Error("admin request failed", "method", req.Method, "path", req.URL.Path, "err", err)
	writeAdminError(w, http.StatusInternalServerError, err.Error())
}

func writeAdminJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // an error here is the client gone
}

func writeAdminError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(AdminError{Error: msg})
}

// OpenAdmin opens the store of cfg and a router on it, as New does, and
// returns the admin API on them, for commands that run while no server
// does. closeStore closes the store. It does not create a store: a data_dir
// where mxdesk never ran is an error.
func OpenAdmin(cfg *config.Config, log *slog.Logger) (h http.Handler, closeStore func() error, err error) {
	dir := filepath.Join(cfg.DataDir, "store")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no store in data_dir %s (mxdesk serve has never run with it)", cfg.DataDir)
	}
	st, err := openStore(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	r, err := router.New(cfg, st, router.Options{Logger: log})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return newAdminHandler(r, log, false), st.Close, nil
}

// startAdmin serves the admin API on the admin socket. It refuses to take
// over a socket that another server answers on, and replaces a stale one.
func (g *Gateway) startAdmin() error {
	path := AdminSocket(g.cfg)
	stale, err := checkAdminSocket(path)
	if err != nil {
		return err
	}
	ln, err := listenPrivate(path)
	if err != nil {
		if errors.Is(err, syscall.EINVAL) {
			err = fmt.Errorf("%w (unix socket paths are limited to about 100 bytes: use a shorter data_dir)", err)
		}
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	if stale {
		g.log.Info("replaced a stale admin socket", "path", path)
	}
	srv := &http.Server{Handler: g.opsHandler(AdminHandler(g.router, g.log)), ReadHeaderTimeout: httpHeaderTimeout, IdleTimeout: g.cfg.Limits.HTTPIdleTimeout.Duration}
	srv.ErrorLog = httpErrorLog(g.log)
	g.admin, g.adminPath = srv, path
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("admin socket stopped", "path", path, "err", err)
			g.errs <- fmt.Errorf("admin socket %s: %w", path, err)
		}
	}()
	g.log.Info("listening", "listener", "admin", "addr", path)
	return nil
}

// closeAdmin stops the admin API, letting requests in flight finish (for a
// bounded time) so none reads a closed store, and removes the socket.
func (g *Gateway) closeAdmin() error {
	if g.admin == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminShutdownTimeout)
	defer cancel()
	err := g.admin.Shutdown(ctx)
	if err != nil {
		err = g.admin.Close()
	}
	if rmErr := os.Remove(g.adminPath); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	g.admin = nil
	return err
}

// checkAdminSocket fails if a server answers on path (another mxdesk on
// the same data_dir) and reports whether a stale socket, one nobody
// answers on, is there.
func checkAdminSocket(path string) (stale bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return false, fmt.Errorf("admin socket %s: the file exists and is not a socket; move it away", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return false, fmt.Errorf("admin socket %s: another server answers on it (is mxdesk already running with data_dir %s?)", path, filepath.Dir(path))
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true, nil
	}
	return false, fmt.Errorf("admin socket %s: %w", path, err)
}

// listenPrivate listens on a unix socket at path that only this user can
// connect to from its first moment: the socket is created in a new 0700
// directory, made 0600 there and renamed into place, which also replaces a
// stale socket atomically. (Listening on path directly would create it
// with the umask's mode until a chmod.)
func listenPrivate(path string) (*net.UnixListener, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".admin")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tmpPath := filepath.Join(tmp, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpPath, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false) // it moves; closeAdmin removes it
	err = os.Chmod(tmpPath, 0o600)
	if err == nil {
		err = os.Rename(tmpPath, path)
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
