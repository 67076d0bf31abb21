package gateway

// Campaigns on the running server (package campaign): the sending loop,
// the admin API under /v1/campaigns, the unsubscribe links on [listen]
// http and the metrics.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/campaign"
	"mxdesk/outboxloop"
	"mxdesk/store"
)

// AdminCampaign is a campaign as GET /v1/campaigns and the answers of
// the others show it.
type AdminCampaign struct {
	ID       uint64         `json:"id"`
	Queue    string         `json:"queue"`
	Template string         `json:"template"`
	Window   string         `json:"window"`
	Rate     string         `json:"rate"`
	State    string         `json:"state"`
	Rows     int            `json:"rows"`
	Counts   map[string]int `json:"counts"` // queued, sent, deferred, bounced, suppressed, cancelled, replied, unsubscribed
	ICS      bool           `json:"ics"`
	Created  time.Time      `json:"created"`
	NextSend time.Time      `json:"next_send,omitzero"`
}

// AdminListError is the body of a refused list (422): every bad row by
// its line.
type AdminListError struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems"`
}

// CampaignCounts are the counts every campaign shows, zero or not.
var CampaignCounts = []string{store.RecipientQueued, store.RecipientSent, store.RecipientDeferred, store.RecipientBounced,
	store.CountReplied, store.CountUnsubscribed, store.RecipientSuppressed, store.RecipientCancelled}

func adminCampaign(c store.Campaign) AdminCampaign {
	counts := map[string]int{}
	for _, k := range CampaignCounts {
		counts[k] = c.Counts[k]
	}
	return AdminCampaign{ID: c.ID, Queue: c.Queue, Template: c.Template, Window: c.Window, Rate: c.Rate, State: c.State,
		Rows: c.Rows, Counts: counts, ICS: c.ICS != nil, Created: c.Created, NextSend: c.NextSend}
}

func (g *Gateway) newCampaigns(now func() time.Time) error {
	svc, err := campaign.New(g.cfg, g.store, g.router, campaign.Options{Now: now, Logger: g.log})
	if err != nil {
		return err
	}
	// Before the admin socket opens: an upload in progress is never
	// taken for one a stop cut short.
	if err := svc.DropLoading(context.Background()); err != nil {
		return fmt.Errorf("campaigns: dropping the uploads a stop cut short: %w", err)
	}
	g.campaigns, g.campaignLoop = svc, outboxloop.New()
	g.obs.reg.MustRegister(campaignCollector{g})
	return nil
}

// runCampaigns sends until ctx ends.
func (g *Gateway) runCampaigns(ctx context.Context) {
	g.campaignLoop.Run(ctx, g.campaigns.Outbox(g.campaignLoop, g.router.Subscribe))
}

// KickCampaigns makes the campaign sender look now (after a clock
// change in tests).
func (g *Gateway) KickCampaigns() { g.campaignLoop.Kick() }

func (g *Gateway) campaignRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/campaigns", g.createCampaign)
	mux.HandleFunc("GET /v1/campaigns", g.listCampaigns)
	mux.HandleFunc("GET /v1/campaigns/{id}", g.campaignAction(func(ctx context.Context, id uint64) (store.Campaign, error) { return g.campaigns.Get(id) }))
	mux.HandleFunc("POST /v1/campaigns/{id}/pause", g.campaignAction(g.campaigns.Pause))
	mux.HandleFunc("POST /v1/campaigns/{id}/resume", g.campaignAction(g.campaigns.Resume))
	mux.HandleFunc("POST /v1/campaigns/{id}/cancel", g.campaignAction(g.campaigns.Cancel))
}

// createCampaign is POST /v1/campaigns?queue=&template=&window=&rate=&ics=
// with the CSV list as the body, read as it streams in. 201 with the
// campaign; 422 with every bad row; 400 for a bad flag.
func (g *Gateway) createCampaign(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	spec := campaign.Spec{Queue: q.Get("queue"), Template: q.Get("template"), Window: q.Get("window"), Rate: q.Get("rate"),
		ICS: q.Get("ics"), Creator: adminActor(req)}
	c, err := g.campaigns.Create(req.Context(), spec, req.Body)
	var listErr *campaign.ListError
	switch {
	case errors.As(err, &listErr):
		out := AdminListError{Error: fmt.Sprintf("the list has %d bad rows; nothing was stored", len(listErr.Rows))}
		for _, r := range listErr.Rows {
			out.Problems = append(out.Problems, r.Error())
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(out) // an error here is the client gone
	case err != nil && req.Context().Err() == nil && c.ID == 0:
		writeAdminError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		g.log.Error("admin request failed", "method", req.Method, "path", req.URL.Path, "err", err)
		writeAdminError(w, http.StatusInternalServerError, err.Error())
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(adminCampaign(c)) // an error here is the client gone
	}
}

func (g *Gateway) listCampaigns(w http.ResponseWriter, req *http.Request) {
	cs, err := g.campaigns.List()
	if err != nil {
		writeAdminError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []AdminCampaign{}
	for _, c := range cs {
		if c.State != store.CampaignLoading {
			out = append(out, adminCampaign(c))
		}
	}
	writeAdminJSON(w, out)
}

// campaignAction serves GET or POST /v1/campaigns/{id}[/action]: 404 for
// an unknown ID, 409 for a change its state does not allow.
func (g *Gateway) campaignAction(do func(context.Context, uint64) (store.Campaign, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		id, err := strconv.ParseUint(req.PathValue("id"), 10, 64)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("campaign ID %q: want a number", req.PathValue("id")))
			return
		}
		c, err := do(req.Context(), id)
		switch {
		case errors.Is(err, campaign.ErrNotFound):
			writeAdminError(w, http.StatusNotFound, err.Error())
		case errors.Is(err, campaign.ErrState):
			writeAdminError(w, http.StatusConflict, err.Error())
		case err != nil:
			g.log.Error("admin request failed", "method", req.Method, "path", req.URL.Path, "err", err)
			writeAdminError(w, http.StatusInternalServerError, err.Error())
		default:
			writeAdminJSON(w, adminCampaign(c))
		}
	}
}

// registerUnsubscribe serves the unsubscribe links on [listen] http.
func (g *Gateway) registerUnsubscribe(mux *http.ServeMux) {
	mux.Handle("GET "+campaign.UnsubscribePath, g.campaigns.UnsubscribeHandler())
	mux.Handle("POST "+campaign.UnsubscribePath, g.campaigns.UnsubscribeHandler())
}

var descCampaign = desc("campaign_messages_total", "Recipients of each campaign per state (queued, sent, deferred, bounced, suppressed, cancelled) and those that replied or unsubscribed.", "campaign", "state")

type campaignCollector struct{ g *Gateway }

func (campaignCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descCampaign }

func (cc campaignCollector) Collect(ch chan<- prometheus.Metric) {
	cs, err := cc.g.campaigns.List()
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.State == store.CampaignLoading {
			continue
		}
		id := strconv.FormatUint(c.ID, 10)
		for _, k := range slices.Sorted(slices.Values(CampaignCounts)) {
			ch <- prometheus.MustNewConstMetric(descCampaign, prometheus.GaugeValue, float64(c.Counts[k]), id, k)
		}
	}
}
