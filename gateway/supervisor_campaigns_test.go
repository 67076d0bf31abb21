package gateway_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mxdesk/gateway"
	"mxdesk/store"
	"mxdesk/testutil"
)

// supervisorCampaign is campaign id's line of v (nil when not listed).
func supervisorCampaign(v gateway.SupervisorView, id uint64) *gateway.AdminCampaign {
	for i := range v.Campaigns {
		if v.Campaigns[i].ID == id {
			return &v.Campaigns[i]
		}
	}
	return nil
}

// TestSupervisorCampaignProgress: the snapshot lists a campaign with its
// queue, template, state, window, rate and counts, newest first, and the
// event stream pushes its sent count as the sender sends.
func TestSupervisorCampaignProgress(t *testing.T) {
	sink := startCampaignSink(t)
	clock := testutil.NewClock()
	g := startGatewayClock(t, campaignConfig(t, sink.addr), clock)
	older := createCampaign(t, g, "Sat-Sun 10:00-11:00", "1/m", campaignList(2)) // Monday: not sending
	c := createCampaign(t, g, "Mon-Sun 00:00-24:00", "1/s", campaignList(3))

	moveAndLook(t, g, clock, 0) // the first row goes

	resp := supervisorGet(t, t.Context(), g, "/supervisor/events", "carol@example.test", testutil.Password)
	defer resp.Body.Close()
	snaps := readSnapshots(t, resp.Body)
	v := nextSnapshot(t, snaps, "both campaigns", func(v gateway.SupervisorView) bool { return len(v.Campaigns) == 2 })
	if v.Campaigns[0].ID != c.ID || v.Campaigns[1].ID != older.ID || v.CampaignsMore != 0 {
		t.Errorf("campaigns %d then %d (%d more), want the newest %d first", v.Campaigns[0].ID, v.Campaigns[1].ID, v.CampaignsMore, c.ID)
	}
	got := v.Campaigns[0]
	if got.Queue != "Support" || got.Template != "welcome" || got.State != store.CampaignRunning || got.Window != "Mon-Sun 00:00-24:00" || got.Rate != "1/s" ||
		got.Counts["sent"] != 1 || got.Counts["queued"] != 2 {
		t.Errorf("campaign line %+v, want 1 sent and 2 queued", got)
	}
	if len(v.CampaignCounts) != len(gateway.CampaignCounts) {
		t.Errorf("campaign_counts %v, want %v", v.CampaignCounts, gateway.CampaignCounts)
	}

	// A second later the next row goes: the stream pushes the count
	// (well before its refresh every 10 s, which the test would take 10 s
	// to see).
	moveAndLook(t, g, clock, time.Second)
	nextSnapshot(t, snaps, "the campaign's sent count at 2", func(v gateway.SupervisorView) bool {
		line := supervisorCampaign(v, c.ID)
		return line != nil && line.Counts["sent"] == 2 && line.Counts["queued"] == 1
	})
}

// TestSupervisorCampaignsInBrowser: in a real browser the Campaigns panel
// shows a campaign's line as the server rendered it, and its sent count
// follows the sender without a reload.
func TestSupervisorCampaignsInBrowser(t *testing.T) {
	exe := chromium(t)
	sink := startCampaignSink(t)
	clock := testutil.NewClock()
	g := startGatewayClock(t, campaignConfig(t, sink.addr), clock)
	c := createCampaign(t, g, "Mon-Sun 00:00-24:00", "1/s", campaignList(3))
	moveAndLook(t, g, clock, 0) // the first row goes
	row := fmt.Sprintf(`tr[data-campaign="%d"]`, c.ID)
	ctx := openSupervisorPage(t, exe, g, "carol@example.test", chromedp.CSS(row+" td.sent"))
	if got := text(t, ctx, chromedp.CSS(row+" td.sent")); got != "1" {
		t.Errorf("sent %q as rendered, want 1", got)
	}
	if got := text(t, ctx, chromedp.CSS(row+" .pill")); got != "running" {
		t.Errorf("state %q, want running", got)
	}
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}

	moveAndLook(t, g, clock, time.Second)
	poll(t, ctx, fmt.Sprintf(`(document.querySelector('%s td.sent') || {}).textContent === "2" && document.querySelector('%s td.queued').textContent === "1"`, row, row),
		"the campaign's sent count to become 2")
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !ok {
		t.Errorf("the page reloaded instead of updating in place (%v)", err)
	}
	if got := text(t, ctx, chromedp.CSS(row+" td:nth-child(5)")); got != "Mon-Sun 00:00-24:00" {
		t.Errorf("window %q after the update", got)
	}
}

// TestSupervisorCampaignsNewestTwenty: past 20 campaigns the snapshot and
// the page list the newest 20 and say how many more there are.
func TestSupervisorCampaignsNewestTwenty(t *testing.T) {
	sink := startCampaignSink(t)
	g := startGatewayClock(t, campaignConfig(t, sink.addr), testutil.NewClock()) // Monday: the window is closed
	var newest uint64
	for range 21 {
		newest = createCampaign(t, g, "Sat-Sun 10:00-11:00", "1/m", campaignList(1)).ID
	}
	resp := supervisorGet(t, t.Context(), g, "/supervisor/snapshot", "carol@example.test", testutil.Password)
	var v gateway.SupervisorView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(v.Campaigns) != 20 || v.Campaigns[0].ID != newest || v.Campaigns[19].ID != newest-19 || v.CampaignsMore != 1 {
		t.Errorf("%d campaigns listed from %d, %d more; want 20 from %d, 1 more", len(v.Campaigns), v.Campaigns[0].ID, v.CampaignsMore, newest)
	}
	page := readAll(t, supervisorGet(t, t.Context(), g, "/supervisor", "carol@example.test", testutil.Password))
	if !strings.Contains(page, `<div id="campaigns-more" class="empty">and 1 more</div>`) || strings.Count(page, "<tr data-campaign=") != 20 {
		t.Errorf("the page does not list 20 campaigns and say 1 more:\n%s", page)
	}
}
