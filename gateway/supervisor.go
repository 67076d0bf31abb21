package gateway

// The supervisor page (SPEC §13): /supervisor on the HTTP listener shows
// per queue the waiting count, the oldest wait, the sessions by status and
// the KPI alarms and CSAT; per agent state, presence, load and CSAT; the sessions
// waiting longest; and whether each upstream [[account]] works. /supervisor/events streams the same view as
// server-sent events whenever the store changes (and every few seconds,
// for the ages and for presence, which lives outside the store), and
// /supervisor/snapshot answers it once as JSON.

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

//go:embed supervisor.html
var supervisorHTML string

var supervisorPage = template.Must(template.New("supervisor").Funcs(template.FuncMap{
	"age":     formatAge,
	"percent": func(r float64) string { return fmt.Sprintf("%d%%", int(math.Round(r*100))) },
	"join":    func(list []string) string { return strings.Join(list, ", ") },
}).Parse(supervisorHTML))

const (
	// supervisorMaxStreams bounds the open event streams: each holds a
	// connection and a goroutine.
	supervisorMaxStreams = 32
	// supervisorCoalesce is the least time between two snapshots pushed
	// for store changes: a burst of deliveries makes one update.
	supervisorCoalesce = 500 * time.Millisecond
	// supervisorRefresh pushes a snapshot without a change, for presence
	// (not in the store) and so a stalled proxy notices the stream.
	supervisorRefresh = 10 * time.Second
	// supervisorWriteTimeout drops a stream whose client stopped reading.
	supervisorWriteTimeout = 10 * time.Second
	// supervisorListed bounds the waiting sessions the page lists.
	supervisorListed = 50
	// supervisorSubjectRunes truncates subjects in the list.
	supervisorSubjectRunes = 80
	supervisorRealm        = `Basic realm="mxdesk supervisor", charset="UTF-8"`
)

// SupervisorView is the supervisor page's data: the JSON of
// /supervisor/snapshot and of each /supervisor/events message.
type SupervisorView struct {
	Generated time.Time           `json:"generated"`
	Statuses  []string            `json:"statuses"` // the order of SupervisorQueue.Counts
	Queues    []SupervisorQueue   `json:"queues"`
	Agents    []SupervisorAgent   `json:"agents"`
	Waiting   []SupervisorWaiting `json:"waiting"`      // longest waiting first
	More      int                 `json:"waiting_more"` // waiting sessions not in Waiting
	Accounts  []SupervisorAccount `json:"accounts"`     // the upstream [[account]] mailboxes
}

// SupervisorAccount is one upstream mailbox's line: whether the
// connector is logged in with its folder open, and why not.
type SupervisorAccount struct {
	Address   string `json:"address"`
	Queue     string `json:"queue"`
	Valid     bool   `json:"valid"`
	LastError string `json:"last_error,omitempty"`
}

// SupervisorQueue is one queue's line.
type SupervisorQueue struct {
	Name          string `json:"name"`
	Waiting       int    `json:"waiting"`
	OldestSeconds int64  `json:"oldest_seconds"` // 0 with none waiting
	Alarms        int    `json:"alarms"`         // waiting, or transferred and unopened, longer than AlarmSeconds
	AlarmSeconds  int64  `json:"alarm_seconds"`  // kpi_wait_alarm; 0: no alarm
	Counts        []int  `json:"counts"`         // sessions per status, in Statuses order
	// Wrapups are the wrap-up codes recorded today, with their counts,
	// in the queue's order of codes ("" code: none today).
	Wrapups []SupervisorWrapup `json:"wrapups"`
	// ServiceLevel is the queue's service level, nil without one.
	ServiceLevel *SupervisorServiceLevel `json:"service_level,omitempty"`
	// QueueAlarms are the real-time thresholds crossed now: "waiting"
	// (alarm_waiting), "oldest" (alarm_oldest), "service_level" (the last
	// hour below the target).
	QueueAlarms []string `json:"queue_alarms"`

	// Routing: who serves the queue and how it takes mail (supervisor_routing.go).
	Teams    []string `json:"teams"`    // queue.teams
	Strategy string   `json:"strategy"` // queue.strategy
	Enabled  bool     `json:"enabled"`  // queue.enabled
	Receive  bool     `json:"receive"`  // queue.receive
	Ratings  int      `json:"ratings"`  // satisfaction ratings of its sessions
	CSAT     int      `json:"csat"`     // percent of them satisfied ([queue.rating])
}

// SupervisorWrapup is one wrap-up code of a queue and how often it was
// recorded today.
type SupervisorWrapup struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// SupervisorServiceLevel is a queue's target and its level per window.
type SupervisorServiceLevel struct {
	Target        float64                 `json:"target"`
	WithinSeconds int64                   `json:"within_seconds"`
	Windows       []SupervisorLevelWindow `json:"windows"` // 1h, today
}

// SupervisorLevelWindow is the service level over one window.
type SupervisorLevelWindow struct {
	Window   string   `json:"window"`
	Answered int      `json:"answered"` // counted sessions answered in time
	Counted  int      `json:"counted"`
	Ratio    *float64 `json:"ratio"` // null with nothing counted
	Below    bool     `json:"below"` // under the target
}

// SupervisorAgent is one agent's line.
type SupervisorAgent struct {
	Login   string `json:"login"`
	Name    string `json:"name"`
	State   string `json:"state"` // available, in_session, rona, away, offline
	Present bool   `json:"present"`
	Active  int    `json:"active"`
	// StateSeconds is how long the agent has been in State; StateTotals
	// the seconds spent in each state since the server started.
	StateSeconds int64            `json:"state_seconds"`
	StateTotals  map[string]int64 `json:"state_totals"`
	// Handled sessions (picked up and resolved) and their total
	// handling time.
	Handled         int   `json:"handled"`
	HandlingSeconds int64 `json:"handling_seconds"`
	Ratings         int   `json:"ratings"` // ratings of sessions that were theirs when rated
	CSAT            int   `json:"csat"`    // percent of them satisfied
}

// SupervisorWaiting is a session waiting unassigned in its queue, or
// transferred to Agent and left unopened past the queue's KPI threshold.
type SupervisorWaiting struct {
	ID             string `json:"id"`
	TicketID       string `json:"ticket_id,omitempty"` // the CRM's ticket, once it answered
	Queue          string `json:"queue"`
	Agent          string `json:"agent,omitempty"` // transferred to this agent, unopened
	Subject        string `json:"subject"`
	WaitingSeconds int64  `json:"waiting_seconds"`
	OverKPI        bool   `json:"over_kpi"`
}

// supervisorFeed serves the page and its streams. It shares one snapshot
// among all streams per store change, and ends the streams when the HTTP
// server stops, before the store closes.
type supervisorFeed struct {
	g     *Gateway
	slots chan struct{} // one per open stream

	mu      sync.Mutex
	gen     uint64                 // store changes seen
	streams map[chan struct{}]bool // each stream's change signal
	stopped bool
	done    chan struct{} // closed by stop
	active  sync.WaitGroup

	snapMu   sync.Mutex // one snapshot computed at a time
	snapGen  uint64
	snapAt   time.Time // by the router's clock
	snapWall time.Time
	snapJSON []byte
}

func newSupervisorFeed(g *Gateway) *supervisorFeed {
	f := &supervisorFeed{g: g, slots: make(chan struct{}, supervisorMaxStreams), streams: map[chan struct{}]bool{}, done: make(chan struct{})}
	// Runs on the store's writer: only bump a counter and signal.
	g.router.Subscribe(func([]store.Change) { f.changed() })
	return f
}

// registerSupervisor adds the supervisor page to mux.
func (g *Gateway) registerSupervisor(mux *http.ServeMux) {
	f := newSupervisorFeed(g)
	g.supervisor = f
	mux.Handle("GET /supervisor", f.auth(f.page))
	mux.Handle("GET /supervisor/snapshot", f.auth(f.snapshotJSON))
	mux.Handle("GET /supervisor/events", f.auth(f.events))
}

func (f *supervisorFeed) changed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	for ch := range f.streams {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
}

// enter registers a request that reads the store; false once stopped.
func (f *supervisorFeed) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	f.active.Add(1)
	return true
}

// stop ends the streams and waits for every supervisor request still
// reading the store. The HTTP listener's goroutine calls it when the
// server is closed, and Close waits for that goroutine before closing the
// store.
func (f *supervisorFeed) stop() {
	f.mu.Lock()
	if !f.stopped {
		f.stopped = true
		close(f.done)
	}
	f.mu.Unlock()
	f.active.Wait()
}

// auth admits supervisors and admins (SPEC §10): HTTP Basic credentials,
// checked like an IMAP login (failures rate-limited per login and
// address), accepted only over TLS or from a loopback client (a reverse
// proxy on this host that terminates TLS) unless tls.insecure_auth.
func (f *supervisorFeed) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ip := remoteIP(req)
		if req.TLS == nil && !ip.IsLoopback() && !f.g.config().TLS.InsecureAuth {
			http.Error(w, "The supervisor page takes passwords only over TLS: open it through an HTTPS reverse proxy on the mxdesk host.", http.StatusForbidden)
			return
		}
		login, password, ok := req.BasicAuth()
		if !ok {
			challenge(w, "Log in with your mxdesk login and password.")
			return
		}
		client := clientIP(req, ip, f.g.config().Listen)
		agent, err := f.g.router.AuthenticateFrom(login, password, "http", client.String())
		switch {
		case router.KindOf(err) == router.KindLocked:
			f.g.obs.set.AuthFailed("http", true)
			http.Error(w, err.Error(), http.StatusTooManyRequests)
			return
		case router.KindOf(err) == router.KindAuth:
			f.g.obs.set.AuthFailed("http", false)
			f.g.log.Info("supervisor page: login failed", "login", config.Canonical(login), "remote", client.String())
			challenge(w, "Invalid login or password.")
			return
		case err != nil:
			f.g.log.Error("supervisor page: login", "login", config.Canonical(login), "err", err)
			http.Error(w, "login failed: internal error", http.StatusInternalServerError)
			return
		}
		if !config.IsSupervisor(agent.Role) {
			f.g.log.Info("supervisor page: refused, not a supervisor", "login", agent.Login, "remote", client.String())
			http.Error(w, fmt.Sprintf("%s is not a supervisor: the page is for supervisors and admins.", agent.Login), http.StatusForbidden)
			return
		}
		if !f.enter() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		defer f.active.Done()
		next(w, req.WithContext(context.WithValue(req.Context(), supervisorKey{}, agent)))
	})
}

// supervisorKey carries the logged-in supervisor in a request's context.
type supervisorKey struct{}

func challenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", supervisorRealm)
	http.Error(w, msg, http.StatusUnauthorized)
}

// remoteIP is the client's address (the zero Addr, not loopback, when it
// can't be parsed).
func remoteIP(req *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// clientIP is the address a request comes from: peer, or behind a proxy
// of listen.http_trusted_proxies the address that proxy put in
// X-Forwarded-For (the rightmost entry that is not a trusted proxy
// itself; entries further left are the client's to write). From any
// other peer the header is ignored: a client could name any address.
func clientIP(req *http.Request, peer netip.Addr, listen config.Listen) netip.Addr {
	if !listen.TrustedProxy(peer) {
		return peer
	}
	var hops []string
	for _, v := range req.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client // garbage: keep the last address a trusted proxy vouched for
		}
		client = ip.Unmap()
		if !listen.TrustedProxy(client) {
			return client
		}
	}
	return client
}

// page renders the whole page with the current view; its script then
// follows /supervisor/events.
func (f *supervisorFeed) page(w http.ResponseWriter, req *http.Request) {
	view, err := f.view()
	if err != nil {
		f.internalError(w, err)
		return
	}
	nonce := newNonce()
	h := w.Header()
	// Everything is inline: the page loads nothing else and runs only its
	// own script.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	err = supervisorPage.Execute(w, struct {
		SupervisorView
		Company, Hostname, Nonce string
	}{view, f.g.config().Company, f.g.config().Hostname, nonce})
	if err != nil {
		f.g.log.Debug("supervisor page: write", "err", err) // the client went away
	}
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// snapshotJSON is GET /supervisor/snapshot.
func (f *supervisorFeed) snapshotJSON(w http.ResponseWriter, req *http.Request) {
	data, err := f.snapshot()
	if err != nil {
		f.internalError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}

func (f *supervisorFeed) internalError(w http.ResponseWriter, err error) {
	f.g.log.Error("supervisor page", "err", err)
	http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
}

// events is GET /supervisor/events: a server-sent event "snapshot" with
// the view at once, then after each burst of store changes and every
// supervisorRefresh.
func (f *supervisorFeed) events(w http.ResponseWriter, req *http.Request) {
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	default:
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many supervisor pages open", http.StatusServiceUnavailable)
		return
	}
	signal := make(chan struct{}, 1)
	f.mu.Lock()
	f.streams[signal] = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.streams, signal)
		f.mu.Unlock()
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	rc := http.NewResponseController(w)
	who, _ := req.Context().Value(supervisorKey{}).(*router.Agent)
	if err := f.stream(req.Context(), w, rc, signal, who); err != nil {
		f.g.log.Debug("supervisor stream ended", "remote", req.RemoteAddr, "err", err)
	}
}

// stream writes snapshots until the client leaves, a write fails, the
// server stops or a reload changes the entry of who (the browser reconnects
// and logs in again).
func (f *supervisorFeed) stream(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, signal <-chan struct{}, who *router.Agent) error {
	tick := time.NewTicker(supervisorRefresh)
	defer tick.Stop()
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil {
		return err
	}
	for {
		if who != nil && !f.g.router.Current(who) {
			return fmt.Errorf("%s's entry changed in the configuration", who.Login)
		}
		if err := f.send(w, rc); err != nil {
			return err
		}
		sent := time.Now()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.done:
			return nil
		case <-tick.C:
			continue
		case <-signal:
		}
		// A change: wait out the rest of the coalescing interval so a
		// burst of changes makes one snapshot.
		if err := f.pause(ctx, time.Until(sent.Add(supervisorCoalesce))); err != nil {
			return err
		}
		select {
		case <-signal:
		default:
		}
	}
}

func (f *supervisorFeed) pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.done:
		return http.ErrServerClosed
	case <-t.C:
		return nil
	}
}

func (f *supervisorFeed) send(w http.ResponseWriter, rc *http.ResponseController) error {
	data, err := f.snapshot()
	if err != nil {
		return err
	}
	rc.SetWriteDeadline(time.Now().Add(supervisorWriteTimeout))
	// JSON has no raw newlines, so it is one data line.
	if _, err := fmt.Fprintf(w, "event: snapshot\ndata: %s\n\n", data); err != nil {
		return err
	}
	return rc.Flush()
}

// snapshot is the view as JSON, shared by every stream: it is computed
// again only after a store change or once it is a second old (ages).
func (f *supervisorFeed) snapshot() ([]byte, error) {
	f.mu.Lock()
	gen := f.gen
	f.mu.Unlock()
	f.snapMu.Lock()
	defer f.snapMu.Unlock()
	// Ages are by the router's clock (injected in tests): the snapshot
	// is a second old by it or by the wall clock at most.
	now := f.g.router.Now()
	if f.snapJSON != nil && f.snapGen == gen && time.Since(f.snapWall) < time.Second && !now.Before(f.snapAt) && now.Sub(f.snapAt) < time.Second {
		return f.snapJSON, nil
	}
	view, err := f.view()
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(view)
	if err != nil {
		return nil, err
	}
	f.snapGen, f.snapAt, f.snapWall, f.snapJSON = gen, now, time.Now(), data
	return data, nil
}

// view reads the supervisor view from the router.
func (f *supervisorFeed) view() (SupervisorView, error) {
	r := f.g.router
	v := SupervisorView{Generated: r.Now(), Statuses: router.Statuses}
	stats, err := r.WaitingStats()
	if err != nil {
		return v, err
	}
	if v.Queues, err = f.queues(stats); err != nil {
		return v, err
	}
	if v.Agents, err = f.agents(v.Generated); err != nil {
		return v, err
	}
	if err := f.csat(&v); err != nil {
		return v, err
	}
	v.Waiting, v.More, err = f.waiting(v.Generated)
	v.Accounts = f.accounts()
	return v, err
}

// accounts is the connector's status of each account, with its queue.
// The status lives outside the store: the page shows a change at the
// next supervisorRefresh.
func (f *supervisorFeed) accounts() []SupervisorAccount {
	cfg := f.g.config()
	out := []SupervisorAccount{}
	for _, s := range f.g.connector.Status() {
		a := SupervisorAccount{Address: s.Address, Valid: s.Valid, LastError: s.LastError}
		if i := slices.IndexFunc(cfg.Account, func(c config.Account) bool { return c.Address == s.Address }); i >= 0 {
			a.Queue = cfg.Account[i].Queue
		}
		out = append(out, a)
	}
	return out
}

// csat fills in each queue's and agent's satisfaction ratings.
func (f *supervisorFeed) csat(v *SupervisorView) error {
	queues, agents, err := f.g.router.CSAT()
	if err != nil {
		return err
	}
	for i := range v.Queues {
		c := queues[v.Queues[i].Name]
		v.Queues[i].Ratings, v.Queues[i].CSAT = c.Ratings, c.Percent()
	}
	for i := range v.Agents {
		c := agents[v.Agents[i].Login]
		v.Agents[i].Ratings, v.Agents[i].CSAT = c.Ratings, c.Percent()
	}
	return nil
}

func (f *supervisorFeed) queues(stats []router.QueueWaiting) ([]SupervisorQueue, error) {
	r := f.g.router
	counts, err := r.SessionCounts()
	if err != nil {
		return nil, err
	}
	wrapups, err := r.WrapupsToday()
	if err != nil {
		return nil, err
	}
	levels := r.ServiceLevels()
	out := make([]SupervisorQueue, len(stats))
	for i, q := range stats {
		out[i] = SupervisorQueue{Name: q.Queue, Waiting: q.Waiting, OldestSeconds: seconds(q.Oldest), Alarms: q.Alarms}
		out[i].Wrapups = []SupervisorWrapup{}
		if qc := f.g.config().QueueByName(q.Queue); qc != nil {
			out[i].AlarmSeconds = seconds(qc.KPIWaitAlarm.Duration)
			for _, w := range qc.Wrapup {
				out[i].Wrapups = append(out[i].Wrapups, SupervisorWrapup{Code: w.Code, Name: w.Name, Count: wrapups[q.Queue][w.Code]})
			}
			out[i].ServiceLevel = supervisorLevel(qc, levels)
			out[i].QueueAlarms = crossedAlarms(qc, q, levels)
			out[i].setRouting(qc)
		}
		for _, st := range router.Statuses {
			out[i].Counts = append(out[i].Counts, counts[q.Queue][st])
		}
	}
	return out, nil
}

// supervisorLevel is q's service level for the page (nil without one).
func supervisorLevel(q *config.Queue, levels []router.ServiceLevel) *SupervisorServiceLevel {
	if !q.HasServiceLevel() {
		return nil
	}
	sl := &SupervisorServiceLevel{Target: q.ServiceLevel, WithinSeconds: seconds(q.ServiceLevelWithin.Duration), Windows: []SupervisorLevelWindow{}}
	for _, l := range levels {
		if l.Queue != q.Name {
			continue
		}
		w := SupervisorLevelWindow{Window: l.Window, Answered: l.Answered, Counted: l.Counted, Below: l.Below()}
		if ratio, ok := l.Ratio(); ok {
			w.Ratio = &ratio
		}
		sl.Windows = append(sl.Windows, w)
	}
	return sl
}

// crossedAlarms lists the real-time thresholds of q crossed now.
func crossedAlarms(q *config.Queue, w router.QueueWaiting, levels []router.ServiceLevel) []string {
	on := router.QueueAlarms(q, w, levels)
	out := []string{}
	for _, kind := range router.AlarmKinds {
		if on[kind] {
			out = append(out, kind)
		}
	}
	return out
}

func (f *supervisorFeed) agents(now time.Time) ([]SupervisorAgent, error) {
	statuses, err := f.g.router.AgentStatuses()
	if err != nil {
		return nil, err
	}
	out := make([]SupervisorAgent, len(statuses))
	for i, st := range statuses {
		out[i] = SupervisorAgent{Login: st.Login, State: st.State, Present: st.Present, Active: st.Active,
			StateSeconds: seconds(now.Sub(st.Since)), StateTotals: map[string]int64{},
			Handled: st.Handled, HandlingSeconds: seconds(st.HandlingTime)}
		for state, d := range st.Spent {
			out[i].StateTotals[state] = seconds(d)
		}
		if ac, ok := f.g.config().AgentByLogin(st.Login); ok {
			out[i].Name = ac.Name
		}
	}
	return out, nil
}

// waiting lists the sessions waiting longest over every queue, through
// the store's waiting index (no scan of all sessions), with the sessions
// transferred to an agent and left unopened past the KPI threshold.
func (f *supervisorFeed) waiting(now time.Time) (list []SupervisorWaiting, more int, err error) {
	type entry struct {
		store.Waiting
		queue *config.Queue
		agent string // transferred to, unopened
	}
	var all []entry
	cfg := f.g.config()
	transferred, err := f.g.router.TransfersOverKPI()
	if err != nil {
		return nil, 0, err
	}
	err = f.g.router.View(func(rd store.Reader) error {
		for i := range cfg.Queue {
			q := &cfg.Queue[i]
			ws, err := rd.WaitingSessions(q.Name, 0)
			if err != nil {
				return err
			}
			for _, w := range ws {
				all = append(all, entry{Waiting: w, queue: q})
			}
			for _, tr := range transferred[q.Name] {
				all = append(all, entry{Waiting: store.Waiting{Session: tr.Session, Since: tr.Since}, queue: q, agent: tr.Agent})
			}
		}
		slices.SortStableFunc(all, func(a, b entry) int { return cmp.Compare(a.Since.UnixNano(), b.Since.UnixNano()) })
		more = max(len(all)-supervisorListed, 0)
		all = all[:min(len(all), supervisorListed)]
		for _, e := range all {
			s, err := rd.Session(e.Session)
			if errors.Is(err, store.ErrNotFound) {
				continue // an index entry without its session: show the rest
			}
			if err != nil {
				return fmt.Errorf("waiting session %s: %w", e.Session, err)
			}
			age := now.Sub(e.Since)
			alarm := e.queue.KPIWaitAlarm.Duration
			list = append(list, SupervisorWaiting{ID: s.ID, TicketID: s.TicketID, Queue: e.queue.Name, Agent: e.agent, Subject: truncate(s.Subject, supervisorSubjectRunes),
				WaitingSeconds: seconds(age), OverKPI: alarm > 0 && age > alarm})
		}
		return nil
	})
	return list, more, err
}

// truncate shortens s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatAge is an age for people: "45s", "12m 05s", "3h 07m", "2d 04h".
// The page's script formats the same way.
func formatAge(sec int64) string {
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm %02ds", sec/60, sec%60)
	case sec < 86400:
		return fmt.Sprintf("%dh %02dm", sec/3600, sec%3600/60)
	default:
		return fmt.Sprintf("%dd %02dh", sec/86400, sec%86400/3600)
	}
}
