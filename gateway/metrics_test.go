package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"mxdesk/delivery"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// scrape is one /metrics exposition, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, g *gateway.Gateway) scrape {
	t.Helper()
	resp, err := http.Get("http://" + g.Addr("http") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value is the counter, gauge or histogram count of the series of name
// with labels (name=value pairs); 0 when absent.
func (s scrape) value(name string, labels ...string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	total := 0.0
	for _, m := range f.Metric {
		match := 0
		for _, lp := range m.Label {
			if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
				match++
			}
		}
		if match != len(want) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// metricsGateway starts a gateway with a submission listener and a sink
// smarthost.
func metricsGateway(t *testing.T) (*gateway.Gateway, *sink) {
	t.Helper()
	snk := startSink(t)
	cfg := testutil.Config(t, "[delivery]\nsmarthost = \""+snk.addr+"\"\nsmarthost_tls = \"none\"\n")
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)
	return g, snk
}

func sendMX(t *testing.T, g *gateway.Gateway, to, msgID, subject string) {
	t.Helper()
	c, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "From: carla@customer.test\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgID + ">\r\n\r\nhello\r\n"
	if err := c.SendMail("carla@customer.test", []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

// rejectUnknown makes the MX refuse one unknown recipient.
func rejectUnknown(t *testing.T, g *gateway.Gateway) {
	t.Helper()
	c, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("nobody@example.test", nil); err == nil {
		t.Fatal("RCPT to an unknown address was accepted")
	}
	c.Quit()
}

func failIMAPLogin(t *testing.T, g *gateway.Gateway) {
	t.Helper()
	c, err := imapclient.DialInsecure(g.Addr("imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.test", "wrong").Wait(); err == nil {
		t.Fatal("IMAP login with a wrong password succeeded")
	}
	c.Logout().Wait()
}

func failSMTPAuth(t *testing.T, g *gateway.Gateway) {
	t.Helper()
	c, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", "wrong")); err == nil {
		t.Fatal("AUTH with a wrong password succeeded")
	}
	c.Quit()
}

// submitReply sends alice's reply to the customer message inReplyTo and
// waits until it reached the smarthost and the delivery worker recorded
// its delivery.
func submitReply(t *testing.T, g *gateway.Gateway, snk *sink, attempts chan delivery.Report, inReplyTo, msgID string) {
	t.Helper()
	c, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}
	msg := "From: alice@example.test\r\nTo: carla@customer.test\r\nSubject: Re: order\r\nMessage-ID: <" + msgID +
		">\r\nIn-Reply-To: <" + inReplyTo + ">\r\n\r\nOn its way.\r\n"
	if err := c.SendMail("alice@example.test", []string{"carla@customer.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	// Both the arrival and the worker's report, so that neither is left
	// over for the next reply.
	for arrived, delivered := false, false; !arrived || !delivered; {
		select {
		case got := <-snk.got:
			if !strings.Contains(got, msgID) {
				t.Fatalf("the smarthost got another message:\n%s", got)
			}
			arrived = true
		case rep := <-attempts:
			if len(rep.Delivered) != 1 {
				t.Fatalf("delivery attempt: %+v", rep)
			}
			delivered = true
		case <-time.After(30 * time.Second):
			t.Fatal("the reply was not delivered within 30s")
		}
	}
}

// TestMetricsMoveWithTraffic scrapes /metrics before and after real SMTP,
// submission and IMAP traffic and checks that each metric moved by what
// happened.
func TestMetricsMoveWithTraffic(t *testing.T) {
	g, snk := metricsGateway(t)
	attempts := make(chan delivery.Report, 16)
	g.AfterDeliveryAttempt(func(rep delivery.Report) { attempts <- rep })

	before := scrapeMetrics(t, g)
	if got := before.value("mxdesk_queue_waiting_sessions", "queue", "Support"); got != 0 {
		t.Fatalf("waiting in Support before any mail: %v", got)
	}
	for i := range 3 {
		sendMX(t, g, "support@example.test", fmt.Sprintf("m%d@customer.test", i), "order")
	}
	sendMX(t, g, "billing@example.test", "b0@customer.test", "invoice")
	rejectUnknown(t, g)
	failIMAPLogin(t, g)
	failSMTPAuth(t, g)

	// An agent connected over IMAP counts as an open connection and
	// makes her available.
	ic, err := imapclient.DialInsecure(g.Addr("imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("alice@example.test", testutil.Password).Wait(); err != nil {
		t.Fatal(err)
	}

	mid := scrapeMetrics(t, g)
	diff := func(a, b scrape, name string, labels ...string) float64 {
		return b.value(name, labels...) - a.value(name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mxdesk_messages_received_total", []string{"queue", "Support"}, 3},
		{"mxdesk_messages_received_total", []string{"queue", "Billing"}, 1},
		{"mxdesk_messages_rejected_total", []string{"service", "smtp", "reason", "unknown_recipient"}, 1},
		{"mxdesk_auth_failures_total", []string{"protocol", "imap", "reason", "credentials"}, 1},
		{"mxdesk_auth_failures_total", []string{"protocol", "smtp", "reason", "credentials"}, 1},
		{"mxdesk_connections_total", []string{"listener", "smtp"}, 5},
		{"mxdesk_connections_total", []string{"listener", "submission"}, 1},
		{"mxdesk_connections_total", []string{"listener", "imap"}, 2},
		{"mxdesk_sessions", []string{"queue", "Support", "status", "Unopened"}, 3},
		{"mxdesk_sessions", []string{"queue", "Billing", "status", "Unopened"}, 1},
		{"mxdesk_queue_waiting_sessions", []string{"queue", "Support"}, 3},
		{"mxdesk_queue_waiting_sessions", []string{"queue", "Billing"}, 1},
		{"mxdesk_agents", []string{"state", "available"}, 1},
	} {
		if got := diff(before, mid, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := mid.value("mxdesk_connections_open", "listener", "imap"); got < 1 {
		t.Errorf("open IMAP connections with one logged in: %v", got)
	}
	if got := mid.value("mxdesk_queue_oldest_waiting_seconds", "queue", "Support"); got < 0 {
		t.Errorf("oldest waiting age %v", got)
	}
	if got := mid.value("mxdesk_store_commit_seconds"); got < 4 {
		t.Errorf("store commits observed: %v, want at least one per message", got)
	}
	if got := mid.value("mxdesk_ready"); got != 1 {
		t.Errorf("mxdesk_ready = %v", got)
	}

	// The first reply takes a waiting session (assignment), is its first
	// response, and is delivered.
	submitReply(t, g, snk, attempts, "m0@customer.test", "r1@example.test")
	afterFirst := scrapeMetrics(t, g)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mxdesk_assignment_latency_seconds", []string{"queue", "Support"}, 1},
		{"mxdesk_first_response_seconds", []string{"queue", "Support"}, 1},
		{"mxdesk_messages_submitted_total", []string{"action", "reply"}, 1},
		{"mxdesk_messages_delivered_total", nil, 1},
		{"mxdesk_delivery_attempts_total", nil, 1},
		{"mxdesk_queue_waiting_sessions", []string{"queue", "Support"}, -1},
		{"mxdesk_sessions", []string{"queue", "Support", "status", "Unopened"}, -1},
		{"mxdesk_sessions", []string{"queue", "Support", "status", "Active"}, 1},
		// alice now works an Active session: in_session.
		{"mxdesk_agent_active_sessions", []string{"state", "in_session"}, 1},
		{"mxdesk_agents", []string{"state", "in_session"}, 1},
		{"mxdesk_agents", []string{"state", "available"}, -1},
	} {
		if got := diff(mid, afterFirst, c.name, c.labels...); got != c.want {
			t.Errorf("first reply: %s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := afterFirst.value("mxdesk_delivery_queue_messages"); got != 0 {
		t.Errorf("delivery queue after the delivery: %v", got)
	}

	// A second reply in the same session is neither an assignment nor a
	// first response.
	submitReply(t, g, snk, attempts, "m0@customer.test", "r2@example.test")
	afterSecond := scrapeMetrics(t, g)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mxdesk_assignment_latency_seconds", []string{"queue", "Support"}, 0},
		{"mxdesk_first_response_seconds", []string{"queue", "Support"}, 0},
		{"mxdesk_messages_submitted_total", []string{"action", "reply"}, 1},
		{"mxdesk_messages_delivered_total", nil, 1},
	} {
		if got := diff(afterFirst, afterSecond, c.name, c.labels...); got != c.want {
			t.Errorf("second reply: %s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestReadinessFlipsWhenStoreCloses: /readyz is 200 while everything is
// up and 503, naming the store, once the store is closed; /healthz stays
// 200 and /metrics still answers (mxdesk_ready 0).
func TestReadinessFlipsWhenStoreCloses(t *testing.T) {
	g, _ := metricsGateway(t)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + g.Addr("http") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz before: %d %s", code, body)
	}
	if err := g.CloseStore(); err != nil {
		t.Fatal(err)
	}
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("/readyz with the store closed: %d %q, want 503 naming the store", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz with the store closed: %d", code)
	}
	if got := scrapeMetrics(t, g).value("mxdesk_ready"); got != 0 {
		t.Errorf("mxdesk_ready with the store closed: %v", got)
	}
}

// TestReadinessNeedsListeners: a gateway whose listeners are not open
// yet is not ready, and says which listener.
func TestReadinessNeedsListeners(t *testing.T) {
	g, err := gateway.New(testutil.Config(t, ""), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rec := httptest.NewRecorder()
	g.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "listen.smtp") {
		t.Errorf("/readyz before Start: %d %q, want 503 naming listen.smtp", rec.Code, rec.Body.String())
	}
}

// exposedAfterTraffic is what /metrics of a gateway exposes after some
// traffic (so that labelled series exist).
func exposedAfterTraffic(t *testing.T) scrape {
	t.Helper()
	g, _ := metricsGateway(t)
	sendMX(t, g, "support@example.test", "x@customer.test", "order")
	rejectUnknown(t, g)
	failIMAPLogin(t, g)
	failSMTPAuth(t, g)
	return scrapeMetrics(t, g)
}

var metricName = regexp.MustCompile(`\bmxdesk_[a-z0-9_]+`)

// TestDashboardUsesExposedMetrics keeps deploy/grafana-dashboard.json
// from drifting: every mxdesk_ metric its panels query is exposed.
func TestDashboardUsesExposedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	exposed := exposedAfterTraffic(t)
	used := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				used++
				base := name
				if exposed[base] == nil {
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						if f := exposed[strings.TrimSuffix(name, suffix)]; f != nil && strings.HasSuffix(name, suffix) && f.GetType() == dto.MetricType_HISTOGRAM {
							base = strings.TrimSuffix(name, suffix)
						}
					}
				}
				if exposed[base] == nil {
					t.Errorf("panel %q uses %s, which /metrics does not expose", p.Title, name)
				}
			}
		}
	}
	if used == 0 {
		t.Fatal("the dashboard queries no mxdesk_ metric")
	}
}

// TestOperationsDocListsEveryMetric: every mxdesk_ metric /metrics
// exposes is described in docs/operations.md.
func TestOperationsDocListsEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := metricName.FindAllString(string(doc), -1)
	for name := range exposedAfterTraffic(t) {
		if strings.HasPrefix(name, "mxdesk_") && !slices.Contains(documented, name) {
			t.Errorf("%s is not in docs/operations.md", name)
		}
	}
}
