package gateway

import (
	"net"
	"net/http"
	"time"
)

// httpHeaderTimeout bounds reading a request's header, from its first
// byte (an idle keep-alive connection waits limits.http_idle_timeout).
const httpHeaderTimeout = 10 * time.Second

func (g *Gateway) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", g.ready)
	mux.Handle("GET /metrics", g.obs.handler())
	g.registerSupervisor(mux)
	registerAutoconfig(mux, g)
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

// serveHTTP serves until Close; then it ends the supervisor streams and
// waits for supervisor requests still reading the store, which Close
// closes only after this returns.
func (g *Gateway) serveHTTP(l net.Listener) error {
	err := g.http.Serve(l)
	g.supervisor.stop()
	return err
}
