package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"mxdesk/campaign"
	"mxdesk/router"
	"mxdesk/store"
)

// maxCampaignList bounds the CSV list of POST /api/v1/campaigns (about
// 500,000 rows of a few columns).
const maxCampaignList = 64 << 20

func (a *API) campaignRoutes(mux *http.ServeMux) {
	a.handle(mux, "POST /campaigns", router.RoleSupervisor, a.createCampaign)
	a.handle(mux, "GET /campaigns", router.RoleSupervisor, a.listCampaigns)
	a.handle(mux, "GET /campaigns/{id}", router.RoleSupervisor, a.campaignAction(func(_ context.Context, id uint64) (store.Campaign, error) {
		return a.campaigns.Get(id)
	}))
	a.handle(mux, "POST /campaigns/{id}/pause", router.RoleSupervisor, a.campaignAction(a.campaigns.Pause))
	a.handle(mux, "POST /campaigns/{id}/resume", router.RoleSupervisor, a.campaignAction(a.campaigns.Resume))
	a.handle(mux, "POST /campaigns/{id}/cancel", router.RoleSupervisor, a.campaignAction(a.campaigns.Cancel))
}

// createCampaign is POST /api/v1/campaigns?queue=&template=&window=&rate=[&ics=]
// with the CSV list as the body, as mxdesk campaign create: 201 with the
// campaign, 422 naming every bad row or the bad parameter.
func (a *API) createCampaign(w http.ResponseWriter, req *http.Request, c *call) {
	q := req.URL.Query()
	spec := campaign.Spec{Queue: q.Get("queue"), Template: q.Get("template"), Window: q.Get("window"), Rate: q.Get("rate"),
		ICS: q.Get("ics"), Creator: c.agent.Login}
	for _, name := range []string{"queue", "template", "window", "rate"} {
		if q.Get(name) == "" {
			invalidQuery(w, name, "required")
			return
		}
	}
	created, err := a.campaigns.Create(req.Context(), spec, http.MaxBytesReader(w, req.Body, maxCampaignList))
	var listErr *campaign.ListError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("list over %d bytes", maxCampaignList))
	case errors.As(err, &listErr):
		p := Problem{Status: http.StatusUnprocessableEntity, Field: "list",
			Detail: fmt.Sprintf("the list has %d bad rows; nothing was stored", len(listErr.Rows))}
		for _, r := range listErr.Rows {
			p.Errors = append(p.Errors, r.Error())
		}
		writeProblem(w, p)
	case err != nil && req.Context().Err() == nil && created.ID == 0:
		problem(w, http.StatusUnprocessableEntity, err.Error()) // a bad parameter or template variable
	case err != nil:
		a.internalError(w, req, err)
	default:
		writeJSON(w, http.StatusCreated, campaign.Summarize(created))
	}
}

func (a *API) listCampaigns(w http.ResponseWriter, req *http.Request, _ *call) {
	cs, err := a.campaigns.List()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	out := []campaign.Summary{}
	for _, c := range cs {
		if c.State != store.CampaignLoading {
			out = append(out, campaign.Summarize(c))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// campaignAction serves GET or POST /api/v1/campaigns/{id}[/action]: 404
// for an unknown ID, 409 for a change its state does not allow.
func (a *API) campaignAction(do func(context.Context, uint64) (store.Campaign, error)) handler {
	return func(w http.ResponseWriter, req *http.Request, _ *call) {
		id, err := strconv.ParseUint(req.PathValue("id"), 10, 64)
		if err != nil {
			problem(w, http.StatusNotFound, fmt.Sprintf("no campaign %q", req.PathValue("id")))
			return
		}
		c, err := do(req.Context(), id)
		switch {
		case errors.Is(err, campaign.ErrNotFound):
			problem(w, http.StatusNotFound, err.Error())
		case errors.Is(err, campaign.ErrState):
			problem(w, http.StatusConflict, err.Error())
		case err != nil:
			a.internalError(w, req, err)
		default:
			writeJSON(w, http.StatusOK, campaign.Summarize(c))
		}
	}
}
