package gateway

import (
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const httpHeaderTimeout = 10 * time.Second

func (g *Gateway) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", g.ready)
	mux.Handle("GET /metrics", promhttp.Handler())
	g.registerSupervisor(mux)
	registerAutoconfig(mux, g)
	return mux
}

// ready answers 200 once the store answers reads, while the delivery
// worker runs.
func (g *Gateway) ready(w http.ResponseWriter, _ *http.Request) {
	if err := g.router.Ready(); err != nil {
		http.Error(w, "store not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err := g.delivery.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// serveHTTP serves until Close; then it ends the supervisor streams and
// waits for supervisor requests still reading the store, which Close
// closes only after this returns.
func (g *Gateway) serveHTTP(l net.Listener) error {
	err := g.http.Serve(l)
	g.supervisor.stop()
	return err
}
