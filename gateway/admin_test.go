package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// adminGet GETs path on the admin socket and returns status and body.
func adminGet(t *testing.T, sock, path string) (int, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Get("http://mxdesk" + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return resp.StatusCode, body
}

func deliverTo(t *testing.T, r *router.Router, to, msgID string) router.Delivered {
	t.Helper()
	raw := "From: Carla <carla@customer.test>\r\nSubject: where is my order\r\nMessage-ID: <" + msgID + ">\r\n\r\nhello\r\n"
	d, err := r.Deliver(context.Background(), router.Envelope{From: "carla@customer.test", To: []string{to}}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func startGatewayCfg(t *testing.T, cfg *config.Config) *gateway.Gateway {
	t.Helper()
	g, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

func TestAdminSocketSessions(t *testing.T) {
	cfg := testutil.Config(t, "")
	g := startGatewayCfg(t, cfg)
	sock := gateway.AdminSocket(cfg)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want a socket with 0600", sock, fi.Mode())
	}

	d := deliverTo(t, g.Router(), "support@example.test", "adm-1@customer.test")
	deliverTo(t, g.Router(), "billing@example.test", "adm-2@customer.test")

	status, body := adminGet(t, sock, "/v1/sessions?queue=support")
	var list []gateway.AdminSession
	if err := json.Unmarshal(body, &list); status != 200 || err != nil {
		t.Fatalf("list: %d %v\n%s", status, err, body)
	}
	if len(list) != 1 || list[0].ID != d.Session || list[0].Queue != "Support" || list[0].Customer != "carla@customer.test" {
		t.Errorf("list queue=support: %+v, want session %s of Support", list, d.Session)
	}
	for query, want := range map[string]int{"": 2, "?limit=1": 1, "?queue=Nope": 0, "?status=closed": 0} {
		status, body := adminGet(t, sock, "/v1/sessions"+query)
		var l []gateway.AdminSession
		if err := json.Unmarshal(body, &l); status != 200 || err != nil || len(l) != want || l == nil {
			t.Errorf("list%s: %d %v, %d sessions, want %d\n%s", query, status, err, len(l), want, body)
		}
	}

	status, body = adminGet(t, sock, "/v1/sessions/"+d.Session)
	var rep gateway.AdminReport
	if err := json.Unmarshal(body, &rep); status != 200 || err != nil {
		t.Fatalf("show: %d %v\n%s", status, err, body)
	}
	if rep.Session.ID != d.Session || len(rep.Messages) != 1 || rep.Messages[0].MessageID != "adm-1@customer.test" || len(rep.Events) == 0 {
		t.Errorf("show %s: %+v", d.Session, rep)
	}
	// The reply token is a secret: the admin API never shows it.
	var token string
	g.Router().View(func(rd store.Reader) error {
		s, err := rd.Session(d.Session)
		token = s.Token
		return err
	})
	if token == "" || strings.Contains(string(body), token) {
		t.Errorf("report shows the reply token %q:\n%s", token, body)
	}

	for path, want := range map[string]struct {
		status int
		err    string
	}{
		"/v1/sessions/S-ZZZZZ":    {404, "no session S-ZZZZZ"},
		"/v1/sessions?limit=many": {400, `limit "many": want a number, 0 for no limit`},
		"/v1/nothing":             {404, "no endpoint GET /v1/nothing"},
	} {
		status, body := adminGet(t, sock, path)
		var e gateway.AdminError
		if err := json.Unmarshal(body, &e); status != want.status || err != nil || e.Error != want.err {
			t.Errorf("%s: %d %s, want %d {\"error\": %q}", path, status, body, want.status, want.err)
		}
	}
}

// A socket left by a server that died (kill -9) is replaced; Close
// removes the socket.
func TestAdminSocketStaleReplaced(t *testing.T) {
	cfg := testutil.Config(t, "")
	sock := gateway.AdminSocket(cfg)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays; nobody answers on it

	g, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatalf("Start with a stale socket: %v", err)
	}
	if status, body := adminGet(t, sock, "/v1/sessions"); status != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("list on the replaced socket: %d %s", status, body)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket after Close: %v, want it removed", err)
	}
}

// Start refuses a socket that a live server answers on, and leaves it.
func TestAdminSocketInUse(t *testing.T) {
	cfg := testutil.Config(t, "")
	sock := gateway.AdminSocket(cfg)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	g, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	err = g.Start()
	if err == nil || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "another server answers") {
		t.Fatalf("Start with a live socket: %v, want an error naming %s", err, sock)
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Errorf("the other server's socket: %v", err)
	}
}

// A second gateway on the same data_dir fails (badger's lock) and says why.
func TestSecondGatewaySameDataDir(t *testing.T) {
	cfg := testutil.Config(t, "")
	startGatewayCfg(t, cfg)
	g2, err := gateway.New(cfg, quietLog())
	if err == nil {
		g2.Close()
		t.Fatal("second gateway on the same data_dir: no error")
	}
	if !strings.Contains(err.Error(), cfg.DataDir) || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second gateway: %v, want it to name data_dir and say it is in use", err)
	}
}
