package gateway

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/config"
	"mxdesk/metrics"
	"mxdesk/rating"
	"mxdesk/store"
)

// ratings is the satisfaction rating side of the gateway ([queue.rating]):
// the link maker the router signs replies' links with, and the counter of
// recorded ratings.
type ratings struct {
	links *rating.Links
	total *prometheus.CounterVec
}

// newRatings loads the links' secret from data_dir (made at the first
// start) and registers mxdesk_ratings_total.
func newRatings(cfg *config.Config, reg *prometheus.Registry) (*ratings, error) {
	links, err := rating.LoadLinks(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	r := &ratings{links: links, total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "ratings_total",
		Help: "Satisfaction ratings recorded, per queue and score (the latest rating of a session replaces its earlier one, both counted).",
	}, []string{"queue", "score"})}
	reg.MustRegister(r.total)
	return r, nil
}

// counted is told of each rating recorded.
func (r *ratings) counted(rt store.Rating) {
	r.total.WithLabelValues(rt.Queue, strconv.Itoa(rt.Score)).Inc()
}

// registerRatings serves the rating links (rating.Path) on [listen] http.
// A rating is counted and pushed to the supervisor page at once (the
// store's change feed carries messages, not ratings).
func (g *Gateway) registerRatings(mux *http.ServeMux) {
	onRated := func(rt store.Rating) {
		g.ratings.counted(rt)
		g.supervisor.changed()
	}
	mux.Handle(rating.Path, rating.Handler(g.ratings.links, g.router, onRated, g.log))
}
