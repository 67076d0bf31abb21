package gateway

import (
	"net/http"

	"mxdesk/delivery"
)

// CloseStore closes the gateway's store under it (readiness tests).
func (g *Gateway) CloseStore() error { return g.store.Close() }

// HTTPHandler is what the HTTP listener serves.
func (g *Gateway) HTTPHandler() http.Handler { return g.httpHandler() }

// AfterDeliveryAttempt makes fn run after each delivery attempt has
// recorded its outcome.
func (g *Gateway) AfterDeliveryAttempt(fn func(delivery.Report)) { g.obs.attemptHook.Store(&fn) }
