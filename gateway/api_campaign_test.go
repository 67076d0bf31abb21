package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mxdesk/campaign"
	"mxdesk/store"
)

// TestAPICampaigns: the public API creates and steers campaigns as
// mxdesk campaign does (issue 20: "the same through the public API"):
// a CSV list posted with a supervisor token becomes a campaign, a bad list
// is a problem naming every bad row, and pause, resume and cancel move its
// state; an integrator token may not.
func TestAPICampaigns(t *testing.T) {
	g := startGatewayCfg(t, campaignConfig(t, "127.0.0.1:1"))
	sup := newAPIClient(t, g, "marketing", "supervisor")
	q := url.Values{"queue": {"Support"}, "template": {"welcome"}, "window": {"Mon-Fri 13:00-18:00"}, "rate": {"10/s"}}
	path := "/api/v1/campaigns?" + q.Encode()

	var c campaign.Summary
	sup.call("POST", path, campaignList(3), http.StatusCreated, &c)
	if c.ID == 0 || c.Queue != "Support" || c.Rows != 3 || c.State != store.CampaignRunning || c.Counts[store.RecipientQueued] != 3 {
		t.Fatalf("created %+v, want 3 rows queued in Support, running", c)
	}
	var list []campaign.Summary
	sup.call("GET", "/api/v1/campaigns", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("list %+v, want campaign %d", list, c.ID)
	}
	id := "/api/v1/campaigns/" + itoa(c.ID)
	for _, step := range []struct{ action, state string }{
		{"pause", store.CampaignPaused}, {"resume", store.CampaignRunning}, {"cancel", store.CampaignCancelled},
	} {
		sup.call("POST", id+"/"+step.action, nil, http.StatusOK, &c)
		if c.State != step.state {
			t.Errorf("after %s: %s, want %s", step.action, c.State, step.state)
		}
	}
	sup.wantProblem("POST", id+"/resume", nil, http.StatusConflict, "")
	sup.wantProblem("GET", "/api/v1/campaigns/999", nil, http.StatusNotFound, "")

	bad := sup.wantProblem("POST", path, campaignList(2)+"bad,Bad,Gold\r\n", http.StatusUnprocessableEntity, "list")
	if len(bad.Errors) != 1 || !strings.HasPrefix(bad.Errors[0], "line 4: ") {
		t.Errorf("bad list: errors %q, want line 4", bad.Errors)
	}
	q.Del("rate")
	sup.wantProblem("POST", "/api/v1/campaigns?"+q.Encode(), campaignList(1), http.StatusUnprocessableEntity, "rate")

	integrator := newAPIClient(t, g, "crm", "integrator")
	integrator.wantProblem("POST", path, campaignList(1), http.StatusForbidden, "")
}
