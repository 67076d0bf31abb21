package gateway_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/testutil"
)

// tier2 is a Returns queue taken by the team Tier2 (members %[2]s) and
// erin, who serves nothing of her own.
const tier2 = `
[[team]]
name = "Tier2"
members = [%[2]s]
[[queue]]
name = "Returns"
addresses = ["returns@example.test"]
teams = ["tier2"]
auto_assign = true
logged_in_only = false
[[agent]]
login = "erin@example.test"
name = "Erin Blom"
password_hash = %[1]q
`

// queueFolders lists the folders under Queues/ that c sees.
func queueFolders(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	folders, err := c.List("", "Queues/*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range folders {
		names = append(names, f.Mailbox)
	}
	slices.Sort(names)
	return names
}

// waitClosed waits for the server to end c's connection.
func waitClosed(t *testing.T, c *imapclient.Client, why string) {
	t.Helper()
	select {
	case <-c.Closed():
	case <-time.After(30 * time.Second):
		t.Fatalf("IMAP connection still open: %s", why)
	}
}

// TestTeamMembershipByReload: joining a team by reload gives the member
// the team's queue (its folders listed, its sessions offered); leaving
// it takes both away, and the session the member held goes back to the
// queue.
func TestTeamMembershipByReload(t *testing.T) {
	hash := testutil.PasswordHash()
	e := startFromFileWith(t, "", fmt.Sprintf(tier2, hash, ``))
	erin := loginIMAP(t, e.g.Addr("imap"), "erin@example.test")
	if got := queueFolders(t, erin); len(got) != 0 {
		t.Fatalf("erin outside the team sees %v, want no queue", got)
	}

	e.write(t, fmt.Sprintf(tier2, hash, `"Erin@Example.test"`))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, erin, "erin joined Tier2: her queues changed")
	erin = loginIMAP(t, e.g.Addr("imap"), "erin@example.test")
	want := []string{"Queues/Returns"}
	if got := queueFolders(t, erin); !slices.Equal(got, want) {
		t.Fatalf("erin in Tier2 sees %v, want %v", got, want)
	}
	sendToQueue(t, e.g, "returns@example.test", "<team-1@customer.test>", "broken parcel")
	if n := countIn(t, erin, "INBOX"); n != 1 {
		t.Fatalf("erin's INBOX holds %d after mail to Returns, want the session offered to her", n)
	}

	e.write(t, fmt.Sprintf(tier2, hash, ``))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, erin, "erin left Tier2")
	erin = loginIMAP(t, e.g.Addr("imap"), "erin@example.test")
	if got := queueFolders(t, erin); len(got) != 0 {
		t.Errorf("erin after leaving Tier2 sees %v, want no queue", got)
	}
	if n := countIn(t, erin, "INBOX"); n != 0 {
		t.Errorf("erin's INBOX holds %d after leaving the team, want 0 (the session back in Returns)", n)
	}
	sendToQueue(t, e.g, "returns@example.test", "<team-2@customer.test>", "missing parcel")
	alice := loginIMAP(t, e.g.Addr("imap"), "alice@example.test")
	if got := queueFolders(t, alice); slices.Contains(got, "Queues/Returns") {
		t.Errorf("alice sees %v: she is neither in Returns nor Tier2", got)
	}
	waiting, err := e.g.Router().WaitingStats()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(waiting, func(w router.QueueWaiting) bool { return w.Queue == "Returns" })
	if i < 0 || waiting[i].Waiting != 2 {
		t.Errorf("waiting %+v, want 2 in Returns: nobody left to offer them to", waiting)
	}
}

// TestSupervisorPageRoutingInBrowser: each queue's line shows its
// strategy, its teams and a red badge for a switch turned off, drawn by
// the server and again by the page's script on a pushed update.
func TestSupervisorPageRoutingInBrowser(t *testing.T) {
	exe := chromium(t)
	cfg := testutil.Config(t, "")
	cfg.Team = []config.Team{{Name: "Tier2", Members: []string{"alice@example.test"}}}
	cfg.Queue[0].Strategy = config.StrategyRoundRobin
	cfg.Queue[1].Teams, cfg.Queue[1].Enabled = []string{"Tier2"}, false
	g := startGatewayCfg(t, cfg)
	support := chromedp.CSS(`tr[data-queue="Support"] td.routing`)
	ctx := openSupervisorPage(t, exe, g, "carol@example.test", support)
	check := func(when string) {
		t.Helper()
		if got := text(t, ctx, support); got != "round_robin" {
			t.Errorf("%s: Support's routing cell %q, want round_robin", when, got)
		}
		if got := text(t, ctx, `tr[data-queue="Billing"] td.routing`); got != "least_active teams: Tier2 disabled" {
			t.Errorf("%s: Billing's routing cell %q, want its strategy, team and the disabled badge", when, got)
		}
		if got := text(t, ctx, `tr[data-queue="Billing"] td.routing .badge.alarm`); got != "disabled" {
			t.Errorf("%s: Billing's red badge %q, want disabled", when, got)
		}
	}
	check("server-drawn")
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")
	sendToQueue(t, g, "support@example.test", "<routing-1@customer.test>", "drawn again")
	poll(t, ctx, `document.querySelector('tr[data-queue="Support"] td.waiting').textContent === "1"`, "the pushed update")
	check("script-drawn")
}

// roundRobinDesk is a round-robin Desk for ann, ben and cid, and a Solo
// queue of ann's own that gives her load first.
const roundRobinDesk = `
[[queue]]
name = "Desk"
addresses = ["desk@example.test"]
auto_assign = true
strategy = "round_robin"
[[queue]]
name = "Solo"
addresses = ["solo@example.test"]
auto_assign = true
[[agent]]
login = "ann@example.test"
password_hash = %[1]q
queues = ["Desk", "Solo"]
[[agent]]
login = "ben@example.test"
password_hash = %[1]q
queues = ["Desk"]
[[agent]]
login = "cid@example.test"
password_hash = %[1]q
queues = ["Desk"]
`

// inboxSubjects lists the subjects in c's INBOX, by UID.
func inboxSubjects(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5, 6, 7, 8, 9), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Envelope.Subject)
	}
	return out
}

// TestRoundRobinThroughIMAP: agents logged in over IMAP get a
// round-robin queue's sessions in turn, in their INBOX, whatever else
// they carry (least_active would have kept ann out until the others
// caught up).
func TestRoundRobinThroughIMAP(t *testing.T) {
	g := startGateway(t, fmt.Sprintf(roundRobinDesk, testutil.PasswordHash()))
	clients := map[string]*imapclient.Client{}
	for _, who := range []string{"ann", "ben", "cid"} {
		clients[who] = loginIMAP(t, g.Addr("imap"), who+"@example.test")
	}
	sendToQueue(t, g, "solo@example.test", "<solo-1@customer.test>", "solo 1")
	sendToQueue(t, g, "solo@example.test", "<solo-2@customer.test>", "solo 2")
	for i := 1; i <= 6; i++ {
		sendToQueue(t, g, "desk@example.test", fmt.Sprintf("<rr-%d@customer.test>", i), fmt.Sprintf("desk %d", i))
	}
	want := map[string][]string{
		"ann": {"solo 1", "solo 2", "desk 1", "desk 4"},
		"ben": {"desk 2", "desk 5"},
		"cid": {"desk 3", "desk 6"},
	}
	for who, c := range clients {
		if got := inboxSubjects(t, c); !slices.Equal(got, want[who]) {
			t.Errorf("%s's INBOX: %q, want %q", who, got, want[who])
		}
	}
}
