package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/connector"
	"mxdesk/router"
)

// newConnector builds the importer of the [[account]] mailboxes; Start
// runs it with the background work.
func (g *Gateway) newConnector() *connector.Connector {
	c := connector.New(connector.Options{Router: g.router, Store: g.store, Logger: g.log, OnImport: g.onImport,
		MaxMessageBytes: g.cfg.SMTP.MaxMessageBytes, DMARCReject: g.cfg.Inbound.DMARCReject, DMARCQuarantine: g.cfg.Inbound.DMARCQuarantine})
	wake := c.SentCopyQueued
	g.obs.sentCopyQueued.Store(&wake)
	return c
}

// onImport forwards the connector's imports to a test's hook.
func (g *Gateway) onImport(account string, d router.Delivered) {
	if fn := g.importHook.Load(); fn != nil {
		(*fn)(account, d)
	}
}

// Accounts is the status of every [[account]], by address.
func (g *Gateway) Accounts() []connector.Status { return g.connector.Status() }

// AdminAccount is one line of GET /v1/accounts.
type AdminAccount struct {
	Address   string `json:"address"`
	Status    string `json:"status"` // "valid" or "invalid"
	LastError string `json:"last_error"`
	Imported  int64  `json:"imported"` // messages filed since the start
}

// serveAccounts is GET /v1/accounts: each account's status.
func (g *Gateway) serveAccounts(w http.ResponseWriter, _ *http.Request) {
	out := []AdminAccount{}
	for _, s := range g.connector.Status() {
		a := AdminAccount{Address: s.Address, Status: "invalid", LastError: s.LastError, Imported: s.Imported}
		if s.Valid {
			a.Status = "valid"
		}
		out = append(out, a)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out) // an error here is the client gone
}

var descAccountUp = desc("account_up", "1 while the upstream [[account]] is valid: logged in, its folder open.", "account")

// accountCollector reports mxdesk_account_up at scrape time.
type accountCollector struct{ g *Gateway }

func (accountCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descAccountUp }

func (c accountCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.g.connector.Status() {
		up := 0.0
		if s.Valid {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descAccountUp, prometheus.GaugeValue, up, s.Address)
	}
}
