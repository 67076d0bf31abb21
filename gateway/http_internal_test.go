package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil"
)

// TestHTTPHandlerPanicCounted: a panic in an HTTP handler, which net/http
// recovers by dropping the connection, is counted and logged at error
// level through the servers' ErrorLog.
func TestHTTPHandlerPanicCounted(t *testing.T) {
	var logged testutil.SyncBuffer
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(panics.Deliberate("bug in a handler"))
	}))
	srv.Config.ErrorLog = httpErrorLog(slog.New(slog.NewTextHandler(&logged, nil)))
	srv.Start()
	defer srv.Close()
	before := panics.Counts()[panics.HTTPHandler]
	if resp, err := http.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Errorf("a panicking handler answered %s", resp.Status)
	}
	testutil.WaitPanics(t, panics.HTTPHandler, before+1)
	for _, want := range []string{"level=ERROR", "where=http_handler", "bug in a handler"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
}
