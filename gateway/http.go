package gateway

import (
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"mxdesk/panics"
)

// httpHeaderTimeout bounds reading a request's header, from its first
// byte (an idle keep-alive connection waits limits.http_idle_timeout).
const httpHeaderTimeout = 10 * time.Second

// httpErrorLog is the ErrorLog of mxdesk's HTTP servers. A panic in a
// handler, which net/http recovers by dropping the connection, is counted
// and logged as an error; a failing accept is a warning; the rest is about
// one client (a bad TLS handshake, a broken request) and logged at debug
// level, so that a client can't flood the log.
func httpErrorLog(log *slog.Logger) *stdlog.Logger {
	return stdlog.New(httpLogWriter{log}, "", 0)
}

type httpLogWriter struct{ l *slog.Logger }

func (w httpLogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	switch {
	case strings.HasPrefix(line, "http: panic serving"):
		panics.Reported(w.l, panics.HTTPHandler, "panic in HTTP handler", line)
	case strings.HasPrefix(line, "http: Accept error"):
		w.l.Warn("http", "detail", line)
	default:
		w.l.Debug("http", "detail", line)
	}
	return len(p), nil
}

func (g *Gateway) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", g.ready)
	mux.Handle("GET /metrics", g.obs.handler())
	g.registerSupervisor(mux)
	g.registerAPI(mux)
	registerAutoconfig(mux, g)
	g.registerMessageLinks(mux)
	g.registerRatings(mux)
	g.registerUnsubscribe(mux)
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
