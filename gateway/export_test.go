package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"mxdesk/config"
	"mxdesk/delivery"
	"mxdesk/outboxloop"
	"mxdesk/panics"
	"mxdesk/router"
)

// CloseStore closes the gateway's store under it (readiness tests).
func (g *Gateway) CloseStore() error { return g.store.Close() }

// HTTPHandler is what the HTTP listener serves.
func (g *Gateway) HTTPHandler() http.Handler { return g.httpHandler() }

// AfterDeliveryAttempt makes fn run after each delivery attempt has
// recorded its outcome.
func (g *Gateway) AfterDeliveryAttempt(fn func(delivery.Report)) { g.obs.attemptHook.Store(&fn) }

// OnImport makes fn run after each message the connector filed.
func (g *Gateway) OnImport(fn func(account string, d router.Delivered)) { g.importHook.Store(&fn) }

// NewClocked is New with the router's clock: tests move time with it.
func NewClocked(cfg *config.Config, log *slog.Logger, now func() time.Time) (*Gateway, error) {
	return newGateway(cfg, log, now)
}

// ArchivedAtStart is closed once the archive's run at start has ended
// (tests then run it themselves on their clock).
func (g *Gateway) ArchivedAtStart() <-chan struct{} { return g.archivedAtStart }

// CampaignPasses counts the campaign sender's finished looks.
func (g *Gateway) CampaignPasses() int64 { return g.campaigns.Passes() }

// CrashCampaignSender stops the campaign sender's loop on a panic, as a
// bug in a look would: its Run returns with Err set.
func (g *Gateway) CrashCampaignSender() {
	g.campaignLoop.Run(context.Background(), outboxloop.Outbox{Name: "campaign sender", Where: panics.CampaignSender, Log: g.log,
		Subscribe: g.router.Subscribe,
		Dispatch: func(context.Context, *sync.WaitGroup) time.Duration {
			panic(panics.Deliberate("bug in the campaign sender"))
		}})
}
