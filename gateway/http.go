package gateway

import (
	"net"
	"net/http"
	"time"
)

const httpHeaderTimeout = 10 * time.Second

func (g *Gateway) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", g.ready)
	mux.Handle("GET /metrics", g.obs.handler())
	return mux
}

// ready answers 200 while the store answers reads, every configured
// listener serves and the delivery worker runs; else 503 naming what is
// down (see readiness).
func (g *Gateway) ready(w http.ResponseWriter, _ *http.Request) {
	if err := g.readiness(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

func (g *Gateway) serveHTTP(l net.Listener) error { return g.http.Serve(l) }
