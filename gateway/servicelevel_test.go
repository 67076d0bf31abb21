package gateway_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// slConfig is a desk whose Support queue has a service level of 80%
// answered within within, and alarms over 1 waiting session and a
// 30-minute oldest wait.
const slConfig = `hostname = "mx.example.test"
data_dir = %q
[tls]
insecure_auth = true
[inbound]
resolver = "127.0.0.1:1"
[listen]
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
imap = "127.0.0.1:0"
http = "127.0.0.1:0"
[[domain]]
name = "example.test"
[[queue]]
name = "Support"
addresses = ["support@example.test"]
service_level = 0.8
service_level_within = %q
alarm_waiting = 1
alarm_oldest = "30m"
[[agent]]
login = "alice@example.test"
password_hash = %q
queues = ["Support"]
[[agent]]
login = "carol@example.test"
password_hash = %[3]q
queues = ["Support"]
role = "supervisor"
`

// slDesk is a gateway started from a configuration file the test can
// rewrite and reload, on clock.
type slDesk struct {
	path, dataDir string
	clock         *testutil.Clock
	g             *gateway.Gateway
}

func (d *slDesk) write(t *testing.T, within string) {
	t.Helper()
	text := fmt.Sprintf(slConfig, d.dataDir, within, testutil.PasswordHash())
	if err := os.WriteFile(d.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (d *slDesk) start(t *testing.T) {
	t.Helper()
	cfg, err := config.Load(d.path)
	if err != nil {
		t.Fatal(err)
	}
	d.g = startGatewayClock(t, cfg, d.clock)
}

// level is the service level on the metric (-1: absent).
func level(t *testing.T, g *gateway.Gateway, window string) float64 {
	t.Helper()
	f := scrapeMetrics(t, g)["mxdesk_queue_service_level_ratio"]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, lp := range m.Label {
			labels[lp.GetName()] = lp.GetValue()
		}
		if labels["queue"] == "Support" && labels["window"] == window {
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// wantAlarms checks mxdesk_queue_alarm of Support and the alarms of the
// supervisor view.
func wantAlarms(t *testing.T, g *gateway.Gateway, want ...string) {
	t.Helper()
	m := scrapeMetrics(t, g)
	on := map[string]bool{}
	for _, k := range want {
		on[k] = true
	}
	for _, kind := range []string{"waiting", "oldest", "service_level"} {
		v := 0.0
		if on[kind] {
			v = 1
		}
		if got := m.value("mxdesk_queue_alarm", "queue", "Support", "kind", kind); got != v {
			t.Errorf("mxdesk_queue_alarm{Support,%s} = %v, want %v", kind, got, v)
		}
	}
	for _, q := range supervisorSnapshot(t, g).Queues {
		if q.Name == "Support" && fmt.Sprint(q.QueueAlarms) != fmt.Sprint(append([]string{}, want...)) {
			t.Errorf("Support's alarms on the page: %v, want %v", q.QueueAlarms, want)
		}
	}
}

// TestServiceLevelWindowsAlarmsRestartReload: two sessions arrive at
// 09:00; alice answers the first at 09:40 (in time), the second is still
// unanswered at 10:00 (failed, counted then). At 10:10 the level is 50%
// over the last hour and today, below the 80% target: alarm. It survives
// a restart; at 11:10 the last hour has nothing counted and today still
// says 50%; a reload to a 3-hour threshold makes the second not failed
// yet: today 100%. The page shows it, red while below, in Chromium.
func TestServiceLevelWindowsAlarmsRestartReload(t *testing.T) {
	dir := t.TempDir()
	d := &slDesk{path: filepath.Join(dir, "mxdesk.toml"), dataDir: filepath.Join(dir, "data"), clock: testutil.NewClock()}
	d.write(t, "1h")
	d.start(t)
	first := customerWrites(t, d.g, "support@example.test", "From: Carla <carla@customer.test>\nTo: support@example.test\nSubject: order 1\nMessage-ID: <sl-1@customer.test>\n\nWhere is it?\n")
	customerWrites(t, d.g, "support@example.test", "From: Carla <carla@customer.test>\nTo: support@example.test\nSubject: order 2\nMessage-ID: <sl-2@customer.test>\n\nAnd this one?\n")
	wantAlarms(t, d.g, "waiting") // 2 waiting, over 1
	if got := level(t, d.g, "1h"); got != -1 {
		t.Errorf("service level with nothing counted: %v, want absent", got)
	}

	d.clock.Advance(40 * time.Minute)
	reply := "From: alice@example.test\nTo: carla@customer.test\nSubject: Re: order 1\nMessage-ID: <sl-r1@example.test>\nIn-Reply-To: <sl-1@customer.test>\nReferences: <sl-1@customer.test>\n\nOn its way.\n"
	if _, err := submitAs(t, d.g, "alice@example.test", []string{"carla@customer.test"}, crlf(reply)); err != nil {
		t.Fatal(err)
	}
	if s := sessionOf(t, d.g, "sl-1@customer.test"); s.ID != first.ID || !s.FirstReplyAt.Equal(d.clock.Now()) {
		t.Fatalf("first reply of %s at %s, want %s", s.ID, s.FirstReplyAt, d.clock.Now())
	}
	if got := level(t, d.g, "1h"); got != 1 {
		t.Errorf("service level after one reply in time: %v, want 1", got)
	}
	wantAlarms(t, d.g, "oldest") // 1 waiting for 40 minutes

	d.clock.Advance(30 * time.Minute) // 10:10: the second failed at 10:00
	for _, w := range []string{"1h", "today"} {
		if got := level(t, d.g, w); got != 0.5 {
			t.Errorf("service level %s at 10:10: %v, want 0.5", w, got)
		}
	}
	wantAlarms(t, d.g, "oldest", "service_level")
	page := supervisorPage(t, d.g)
	if !regexp.MustCompile(`<span data-window="1h" class="below">1h 50%</span>`).MatchString(page) {
		t.Errorf("the page does not show the last hour's 50%% in red:\n%s", page)
	}

	d.g.Close()
	d.start(t)
	if got := level(t, d.g, "today"); got != 0.5 {
		t.Errorf("service level today after a restart: %v, want 0.5", got)
	}

	d.clock.Advance(time.Hour) // 11:10
	if got, today := level(t, d.g, "1h"), level(t, d.g, "today"); got != -1 || today != 0.5 {
		t.Errorf("at 11:10: last hour %v (want absent), today %v (want 0.5)", got, today)
	}
	exe := chromium(t)
	sl := chromedp.CSS(`tr[data-queue="Support"] td.sl`)
	ctx := openSupervisorPage(t, exe, d.g, "carol@example.test", sl)
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")
	if got := text(t, ctx, chromedp.CSS(`tr[data-queue="Support"] td.sl span.below`)); got != "today 50%" {
		t.Errorf("the red level on the page: %q, want today 50%%", got)
	}

	d.write(t, "3h")
	if _, err := d.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	if got := level(t, d.g, "today"); got != 1 {
		t.Errorf("service level today after the reload to 3h: %v, want 1 (the second is within 3 h)", got)
	}
	poll(t, ctx, `document.querySelector('tr[data-queue="Support"] td.sl span[data-window="today"]').textContent === "today 100%"`, "today 100% on the page after the reload")
	if got := text(t, ctx, chromedp.CSS(`tr[data-queue="Support"] td.sl .target`)); got != "target 80% in 3h 00m" {
		t.Errorf("the target on the page: %q", got)
	}
}
