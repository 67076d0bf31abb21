package gateway

// Duties: the background work that one node runs for all the nodes that
// share a store (issue 22). On PostgreSQL each is a duty held through
// the store's advisory locks (package duty); on badger, which one process
// opens, every duty is this node's (duty.Local). Delivery is not a duty:
// every node's worker sends, taking each message with a lease
// (router.LeaseOutbound); nor is the shared presence, which every node
// publishes and reads (router.RunPresence).

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/config"
	"mxdesk/duty"
	"mxdesk/metrics"
	"mxdesk/router"
	"mxdesk/store/pgstore"
)

// The duties' names: in the log lines, the metric's label, the admin API
// and the lock's key, so never renamed.
const (
	dutyTimers    = "timers"    // session timers and assignment (router.Run)
	dutyCRM       = "crm"       // the CRM feed's webhooks
	dutyArchive   = "archive"   // archive runs every archive.interval
	dutyCampaigns = "campaigns" // the campaign sender
	// dutyConnector is every [[account]]'s import, as one duty: accounts
	// are few, and one holder keeps their IMAP logins on one node.
	dutyConnector = "connector"
)

// duties records which duties this node holds, for the metric and the
// admin API.
type duties struct {
	mu    sync.Mutex
	held  map[string]bool // every duty this node runs for, held or not
	gauge *prometheus.GaugeVec
}

// newDuties registers the metric mxdesk_duty_held.
func newDuties(reg *prometheus.Registry) *duties {
	d := &duties{held: map[string]bool{}, gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Name: "duty_held",
		Help: "1 while this node holds the duty (timers, crm, archive, campaigns, connector) and runs it for every node.",
	}, []string{"duty"})}
	reg.MustRegister(d.gauge)
	return d
}

// dutyLocker is the store's Locker when it has one (PostgreSQL), else
// duty.Local.
func (g *Gateway) dutyLocker() duty.Locker {
	if l, ok := any(g.store).(duty.Locker); ok {
		return l
	}
	return duty.Local{}
}

// startDuties runs each duty of this configuration under its lock until
// work ends.
func (g *Gateway) startDuties(work context.Context) {
	g.wg.Go(func() { g.router.RunPresence(work) }) // every node: no duty
	locker := g.dutyLocker()
	g.runDuty(work, locker, dutyTimers, g.router.Run)
	if g.archiver != nil {
		g.runDuty(work, locker, dutyArchive, g.runArchive)
	}
	if g.crm != nil {
		g.runDuty(work, locker, dutyCRM, func(ctx context.Context) { g.crm.Run(ctx, g.router) })
	}
	g.runDuty(work, locker, dutyConnector, g.runConnector)
	g.runDuty(work, locker, dutyCampaigns, g.runCampaigns)
}

// deliveryLease is delivery.lease when st is shared by nodes (it holds
// duties: PostgreSQL), else 0: a node alone sends without leases, as
// before, and finds its queue due at once after a restart.
func deliveryLease(st any, cfg *config.Config) time.Duration {
	if _, shared := st.(duty.Locker); shared {
		return cfg.Delivery.Lease.Duration
	}
	return 0
}

// sharedPresence is the presence shared with the other nodes when st is
// PostgreSQL, else nil (badger: one node).
func sharedPresence(st any) router.SharedPresence {
	if ps, ok := st.(*pgstore.Store); ok {
		return ps.Presence(0)
	}
	return nil
}

// runDuty runs fn whenever this node holds the duty name.
func (g *Gateway) runDuty(work context.Context, l duty.Locker, name string, fn func(context.Context)) {
	g.duties.set(name, false)
	g.wg.Go(func() {
		duty.Run(work, l, name, g.log, func(ctx context.Context) {
			g.duties.set(name, true)
			defer g.duties.set(name, false)
			fn(ctx)
		})
	})
}

// runConnector imports the accounts of the configuration in force until
// ctx ends.
func (g *Gateway) runConnector(ctx context.Context) {
	g.connector.Start(ctx, g.router.Config())
	g.connector.Apply(g.router.Config()) // a reload that came before Start found it stopped
	<-ctx.Done()
}

func (d *duties) set(name string, held bool) {
	d.mu.Lock()
	d.held[name] = held
	d.mu.Unlock()
	v := 0.0
	if held {
		v = 1
	}
	d.gauge.WithLabelValues(name).Set(v)
}

// DutyStatus is one duty in GET /v1/duties.
type DutyStatus struct {
	Duty string `json:"duty"`
	Held bool   `json:"held"` // this node runs it for every node
}

// Duties lists the duties this node runs for and whether it holds each,
// by name.
func (g *Gateway) Duties() []DutyStatus {
	out := []DutyStatus{}
	g.duties.mu.Lock()
	for name, held := range g.duties.held {
		out = append(out, DutyStatus{Duty: name, Held: held})
	}
	g.duties.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Duty < out[j].Duty })
	return out
}

// serveDuties is GET /v1/duties: which duties this node holds.
func (g *Gateway) serveDuties(w http.ResponseWriter, req *http.Request) {
	writeAdminJSON(w, g.Duties())
}
