package gateway_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// salesKPI is a queue without agents whose sessions wait, with a KPI
// threshold of 10 minutes.
const salesKPI = `
[[queue]]
name = "Sales"
addresses = ["sales@example.test"]
kpi_wait_alarm = "10m"
`

// TestKPIAlarmMetricAndMarker: of three sessions waiting 12, 11 and 1
// minutes in a queue whose kpi_wait_alarm is 10 minutes, the first two
// are alarms: mxdesk_queue_kpi_alarm_sessions says 2, and the supervisor
// page marks exactly those two rows in red.
func TestKPIAlarmMetricAndMarker(t *testing.T) {
	clock := testutil.NewClock()
	g := startGatewayClock(t, testutil.Config(t, salesKPI), clock)
	sendToQueue(t, g, "sales@example.test", "<kpi-1@customer.test>", "first")
	clock.Advance(time.Minute)
	sendToQueue(t, g, "sales@example.test", "<kpi-2@customer.test>", "second")
	clock.Advance(10 * time.Minute)
	sendToQueue(t, g, "sales@example.test", "<kpi-3@customer.test>", "third")
	clock.Advance(time.Minute)

	m := scrapeMetrics(t, g)
	if got := m.value("mxdesk_queue_waiting_sessions", "queue", "Sales"); got != 3 {
		t.Fatalf("mxdesk_queue_waiting_sessions{queue=Sales} = %v, want 3", got)
	}
	if got := m.value("mxdesk_queue_kpi_alarm_sessions", "queue", "Sales"); got != 2 {
		t.Errorf("mxdesk_queue_kpi_alarm_sessions{queue=Sales} = %v, want 2 (12 and 11 minutes over a 10-minute threshold)", got)
	}

	red := redRows(t, g)
	want := map[string]bool{"first": true, "second": true, "third": false}
	v := supervisorSnapshot(t, g)
	if len(v.Waiting) != 3 {
		t.Fatalf("waiting list %+v, want 3 sessions", v.Waiting)
	}
	for _, w := range v.Waiting {
		if red[w.ID] != want[w.Subject] || w.OverKPI != want[w.Subject] {
			t.Errorf("%s (%q, waiting %ds): red on the page %v, over_kpi %v; want %v", w.ID, w.Subject, w.WaitingSeconds, red[w.ID], w.OverKPI, want[w.Subject])
		}
	}
}

// TestKPIAlarmTransferredUnopened: sessions transferred to an agent (a
// supervisor's move to Agents/<login>, an agent's forward to another
// agent) and left unopened beyond kpi_wait_alarm count as alarms of their
// queue, on the metric and on the page, red, with the agent named; once
// the agent opens one it no longer counts. An auto-assigned offer does
// not count (offer_timeout takes it back).
func TestKPIAlarmTransferredUnopened(t *testing.T) {
	clock := testutil.NewClock()
	cfg := testutil.Config(t, "")
	cfg.Listen.Submission = "127.0.0.1:0"
	support := &cfg.Queue[0]
	support.KPIWaitAlarm = config.Duration{Duration: 10 * time.Minute}
	support.AllowTransferToAgent = true
	g := startGatewayClock(t, cfg, clock)
	sendToQueue(t, g, "support@example.test", "<tr-1@customer.test>", "by supervisor")
	sendToQueue(t, g, "support@example.test", "<tr-2@customer.test>", "by forward")

	carol := loginIMAP(t, g.Addr("imap"), "carol@example.test")
	moveByMessageID(t, carol, "Queues/Support", "tr-1@customer.test", "Agents/alice@example.test")
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	moveByMessageID(t, alice, "Queues/Support", "tr-2@customer.test", "INBOX")
	forward(t, g, "alice@example.test", "carol@example.test", "tr-2@customer.test")

	clock.Advance(9 * time.Minute)
	if got := scrapeMetrics(t, g).value("mxdesk_queue_kpi_alarm_sessions", "queue", "Support"); got != 0 {
		t.Errorf("9 minutes after the transfers: %v alarms, want 0", got)
	}
	clock.Advance(2 * time.Minute)
	if got := scrapeMetrics(t, g).value("mxdesk_queue_kpi_alarm_sessions", "queue", "Support"); got != 2 {
		t.Errorf("11 minutes after the transfers: %v alarms, want 2", got)
	}
	v := supervisorSnapshot(t, g)
	agents := map[string]string{}
	for _, w := range v.Waiting {
		if !w.OverKPI {
			t.Errorf("%s listed but not over the KPI: %+v", w.ID, w)
		}
		agents[w.Subject] = w.Agent
	}
	if agents["by supervisor"] != "alice@example.test" || agents["by forward"] != "carol@example.test" {
		t.Errorf("listed transfers by subject and agent %v", agents)
	}
	if q := v.Queues[0]; q.Name != "Support" || q.Alarms != 2 || q.Waiting != 0 {
		t.Errorf("Support on the page: %+v, want 2 alarms and none waiting", q)
	}
	page := supervisorPage(t, g)
	if !regexp.MustCompile(`class="alarm">\s*<td><code>S-[^<]+</code></td><td>Support <span class="transferred">→ alice@example.test, unopened</span>`).MatchString(page) {
		t.Errorf("the page does not show alice's transfer in red with her name:\n%s", page)
	}

	// alice reads it: opened, no longer an alarm.
	if _, err := alice.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if got := scrapeMetrics(t, g).value("mxdesk_queue_kpi_alarm_sessions", "queue", "Support"); got != 1 {
		t.Errorf("after alice opened hers: %v alarms, want 1", got)
	}

	// The supervisor gives carol's to alice from All/Support (read-only:
	// a copy to Agents/<login> assigns, as a move would): a new transfer,
	// not yet an alarm.
	if _, err := carol.Select("All/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	found, err := carol.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "tr-2@customer.test"}}}, nil).Wait()
	if err != nil || len(found.AllUIDs()) == 0 { // the message and the forward's note (fwd-tr-2@…)
		t.Fatalf("SEARCH in All/Support: %v %v", err, found)
	}
	if _, err := carol.Copy(imap.UIDSetNum(found.AllUIDs()[0]), "Agents/alice@example.test").Wait(); err != nil {
		t.Fatalf("COPY from All/Support to Agents/alice@example.test: %v", err)
	}
	if got := scrapeMetrics(t, g).value("mxdesk_queue_kpi_alarm_sessions", "queue", "Support"); got != 0 {
		t.Errorf("after the supervisor gave it to alice: %v alarms, want 0", got)
	}
	if got := report(t, g, sessionOf(t, g, "tr-2@customer.test").ID).Session.Agent; got != "alice@example.test" {
		t.Errorf("after the copy to Agents/alice@example.test the session is %q's", got)
	}

	// An auto-assigned offer left unopened is offer_timeout's business.
	cfg2 := *g.Router().Config()
	cfg2.Queue = append([]config.Queue(nil), cfg2.Queue...)
	cfg2.Queue[1].AutoAssign, cfg2.Queue[1].LoggedInOnly = true, false
	cfg2.Queue[1].KPIWaitAlarm = config.Duration{Duration: time.Minute}
	cfg2.Queue[1].OfferTimeout = config.Duration{}
	if err := g.Router().Reload(context.Background(), &cfg2); err != nil {
		t.Fatal(err)
	}
	sendToQueue(t, g, "billing@example.test", "<tr-3@customer.test>", "offered")
	clock.Advance(time.Hour)
	if got := scrapeMetrics(t, g).value("mxdesk_queue_kpi_alarm_sessions", "queue", "Billing"); got != 0 {
		t.Errorf("an auto-assigned offer unopened for an hour: %v alarms, want 0", got)
	}
}

// moveByMessageID selects folder and moves the message with a Message-ID
// to dest.
func moveByMessageID(t *testing.T, c *imapclient.Client, folder, messageID, dest string) {
	t.Helper()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: messageID}}}, nil).Wait()
	if err != nil || len(found.AllUIDs()) != 1 {
		t.Fatalf("SEARCH %s in %s: %v %v", messageID, folder, err, found)
	}
	if _, err := c.Move(imap.UIDSetNum(found.AllUIDs()[0]), dest).Wait(); err != nil {
		t.Fatalf("MOVE %s to %s: %v", messageID, dest, err)
	}
}

// forward sends from's forward of the customer message messageID to
// another agent over submission: a transfer of its session.
func forward(t *testing.T, g *gateway.Gateway, from, to, messageID string) {
	t.Helper()
	c, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", from, testutil.Password)); err != nil {
		t.Fatal(err)
	}
	msg := "From: " + from + "\r\nTo: " + to + "\r\nSubject: Fwd: by forward\r\nReferences: <" + messageID +
		">\r\nMessage-ID: <fwd-" + messageID + ">\r\n\r\nYou know this customer.\r\n"
	if err := c.SendMail(from, []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatalf("forward to %s: %v", to, err)
	}
	c.Quit()
}

func supervisorSnapshot(t *testing.T, g *gateway.Gateway) gateway.SupervisorView {
	t.Helper()
	resp := supervisorGet(t, t.Context(), g, "/supervisor/snapshot", "carol@example.test", testutil.Password)
	defer resp.Body.Close()
	var v gateway.SupervisorView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func supervisorPage(t *testing.T, g *gateway.Gateway) string {
	t.Helper()
	return readAll(t, supervisorGet(t, t.Context(), g, "/supervisor", "carol@example.test", testutil.Password))
}

// redRows reads the supervisor page as the server renders it and returns
// the sessions of the waiting list and whether each row is marked red.
func redRows(t *testing.T, g *gateway.Gateway) map[string]bool {
	t.Helper()
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile(`<tr data-session="([^"]+)"( class="alarm")?>`).FindAllStringSubmatch(supervisorPage(t, g), -1) {
		rows[m[1]] = m[2] != ""
	}
	return rows
}
