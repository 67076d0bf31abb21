package gateway

import (
	"log/slog"
	"net/http"
	"time"

	"mxdesk/config"
	"mxdesk/delivery"
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
