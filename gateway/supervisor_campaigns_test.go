package gateway_test

import (
	"testing"
	"time"

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
