package gateway

// The supervisor page's campaigns panel (issue 20): each campaign's
// state, window, rate and counts. A campaign's progress is pushed like
// the rest of the page: the store publishes store.CampaignChanged with
// each commit that changed it, which signals the feed (coalesced).

import (
	"cmp"
	"slices"

	"mxdesk/store"
)

// supervisorCampaigns bounds the campaigns the page lists.
const supervisorCampaigns = 20

// campaigns fills in the newest campaigns (those still loading their
// list are not campaigns yet) and how many older ones are left out.
func (f *supervisorFeed) campaigns(v *SupervisorView) error {
	v.Campaigns, v.CampaignCounts = []AdminCampaign{}, CampaignCounts
	cs, err := f.g.campaigns.List()
	if err != nil {
		return err
	}
	cs = slices.DeleteFunc(cs, func(c store.Campaign) bool { return c.State == store.CampaignLoading })
	slices.SortFunc(cs, func(a, b store.Campaign) int { return cmp.Compare(b.ID, a.ID) }) // IDs grow: newest first
	v.CampaignsMore = max(len(cs)-supervisorCampaigns, 0)
	for _, c := range cs[:min(len(cs), supervisorCampaigns)] {
		v.Campaigns = append(v.Campaigns, adminCampaign(c))
	}
	return nil
}
