// Package api serves mxdesk's public HTTP API under /api/v1/ on the
// [listen] http listener (issue 18): integrators read sessions, queue any
// item identified by a URI (RequestAdd) and act on sessions; supervisors
// see queues and agents. Callers authenticate with API tokens (mxdesk
// token create) sent as "Authorization: Bearer"; every call is logged
// with the token's name and rate-limited per token. Every change goes
// through the router, acting as the synthetic supervisor api:<name>, so
// the desk's rules apply once. The routes are described by the OpenAPI
// document openapi.json, served at /api/v1/openapi.json.
package api

import (
	_ "embed"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"mxdesk/ratelimit"
	"mxdesk/router"
	"mxdesk/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI is the OpenAPI 3.1 document describing the API.
func OpenAPI() []byte { return openAPIDocument }

// Options are the API's dependencies.
type Options struct {
	Router *router.Router
	Log    *slog.Logger
	// Limit counts each token's requests (api.requests_per_minute).
	Limit *ratelimit.Window
	// Queues answers GET /api/v1/queues: the supervisor page's queue
	// lines, so that what the page shows the API shows.
	Queues func() (any, error)
}

// API is the HTTP API. Register mounts it on a mux.
type API struct {
	r      *router.Router
	log    *slog.Logger
	limit  *ratelimit.Window
	queues func() (any, error)
	routes []string // "METHOD /path" of every route, for the OpenAPI test
}

// New builds the API.
func New(o Options) *API {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	return &API{r: o.Router, log: log, limit: o.Limit, queues: o.Queues}
}

// call is one authenticated request: who makes it.
type call struct {
	token store.APIToken
	agent *router.Agent // the synthetic supervisor api:<name>
}

type handler func(w http.ResponseWriter, req *http.Request, c *call)

// Register mounts every route on mux under Prefix.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDocument)
	})
	a.routes = append(a.routes, "GET "+Prefix+"openapi.json")
	a.handle(mux, "GET /sessions", router.RoleIntegrator, a.listSessions)
	a.handle(mux, "GET /sessions/{id}", router.RoleIntegrator, a.showSession)
	a.handle(mux, "POST /requests", router.RoleIntegrator, a.requestAdd)
	a.handle(mux, "GET /queues", router.RoleIntegrator, a.listQueues)
	a.handle(mux, "GET /agents", router.RoleSupervisor, a.listAgents)
	a.handle(mux, "GET /agents/{login}", router.RoleSupervisor, a.showAgent)
	a.handle(mux, "PUT /agents/{login}/state", router.RoleSupervisor, a.setAgentState)
	a.actionRoutes(mux)
	a.tokenRoutes(mux)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, req *http.Request) {
		problem(w, http.StatusNotFound, "no route "+req.Method+" "+req.URL.Path+" (see "+Prefix+"openapi.json)")
	})
}

// SetRate changes api.requests_per_minute (a configuration reload); the
// requests counted so far stay.
func (a *API) SetRate(perMinute int) {
	if a.limit != nil {
		a.limit.SetLimit(perMinute)
	}
}

// Routes lists "METHOD /api/v1/path" of every route Register mounts.
func (a *API) Routes() []string { return slices.Clone(a.routes) }

// handle mounts h at route (METHOD /path under Prefix) for tokens with
// at least role.
func (a *API) handle(mux *http.ServeMux, route, role string, h handler) {
	method, path, _ := strings.Cut(route, " ")
	pattern := method + " " + strings.TrimSuffix(Prefix, "/") + path
	a.routes = append(a.routes, pattern)
	mux.Handle(pattern, a.guard(role, h))
}

// guard authenticates, authorizes, rate-limits and audits a call.
func (a *API) guard(role string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !a.secure(req) {
			problem(w, http.StatusForbidden, "the API is served over TLS only: reach it through an HTTPS reverse proxy on this host or in listen.http_trusted_proxies")
			return
		}
		tok, ok := a.authenticate(w, req)
		if !ok {
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		defer func() {
			a.log.Info("api call", "token", tok.Name, "role", tok.Role, "method", req.Method, "path", req.URL.Path,
				"status", rec.status, "remote", req.RemoteAddr, "duration", time.Since(start))
		}()
		if !a.allowed(rec, tok) {
			return
		}
		if rank(tok.Role) < rank(role) {
			problem(rec, http.StatusForbidden, "token "+tok.Name+" has role "+tok.Role+": this route needs "+role)
			return
		}
		h(rec, req, &call{token: tok, agent: a.r.APIAgent(tok)})
	})
}

// secure tells whether a request may carry a token: over TLS, from this
// host (a reverse proxy terminating TLS here), or from a proxy of
// listen.http_trusted_proxies. The [listen] http listener itself serves
// plain HTTP.
func (a *API) secure(req *http.Request) bool {
	if req.TLS != nil {
		return true
	}
	peer := remoteIP(req)
	return peer.IsLoopback() || a.r.Config().Listen.TrustedProxy(peer)
}

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

// authenticate finds the token of the Authorization header, answering
// 401 (ok false) without a live one.
func (a *API) authenticate(w http.ResponseWriter, req *http.Request) (store.APIToken, bool) {
	scheme, secret, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mxdesk"`)
		problem(w, http.StatusUnauthorized, "send an API token (mxdesk token create) as Authorization: Bearer <token>")
		return store.APIToken{}, false
	}
	tok, err := a.r.APITokenFor(strings.TrimSpace(secret))
	switch {
	case router.KindOf(err) == router.KindAuth:
		a.log.Info("api call refused: bad token", "method", req.Method, "path", req.URL.Path, "remote", req.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="mxdesk", error="invalid_token"`)
		problem(w, http.StatusUnauthorized, err.Error())
		return tok, false
	case err != nil:
		a.internalError(w, req, err)
		return tok, false
	}
	return tok, true
}

// allowed counts the call against its token's api.requests_per_minute,
// answering 429 with Retry-After when over it.
func (a *API) allowed(w http.ResponseWriter, tok store.APIToken) bool {
	if a.limit == nil || a.limit.Allow(tok.Name) {
		return true
	}
	wait := a.limit.RetryAfter(tok.Name)
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	problem(w, http.StatusTooManyRequests, "token "+tok.Name+" is over api.requests_per_minute: retry after the time in Retry-After")
	return false
}

// rank orders the roles: each may do what the ones before it may.
func rank(role string) int { return slices.Index(router.APIRoles, role) }

// statusRecorder keeps the status a handler answered, for the audit line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
