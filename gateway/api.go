package gateway

import (
	"net/http"

	"mxdesk/api"
	"mxdesk/config"
	"mxdesk/ratelimit"
)

// registerAPI mounts the public HTTP API (package api) on mux, after the
// supervisor page: its queues are the page's queue lines.
func (g *Gateway) registerAPI(mux *http.ServeMux) {
	g.api = api.New(api.Options{
		Router: g.router,
		Log:    g.log,
		Limit:  ratelimit.NewWindow(g.cfg.API.RequestsPerMinute, config.APIRateWindow, g.router.Now),
		Queues: g.apiQueues,
	})
	g.api.Register(mux)
}

// apiQueues is what GET /api/v1/queues shows: the supervisor page's lines.
func (g *Gateway) apiQueues() (any, error) {
	stats, err := g.router.WaitingStats()
	if err != nil {
		return nil, err
	}
	return g.supervisor.queues(stats)
}
