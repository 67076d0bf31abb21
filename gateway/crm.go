package gateway

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/config"
	"mxdesk/crm"
	"mxdesk/metrics"
)

// crmMetrics are the CRM feed's metrics: attempts counted as they end,
// the outbox read at scrape time.
type crmMetrics struct {
	g      *Gateway
	events *prometheus.CounterVec
}

var (
	descCRMOutbox = desc("crm_outbox_events", "CRM webhook events in the outbox, dead letters included.")
	descCRMOldest = desc("crm_oldest_event_seconds", "Age of the oldest CRM webhook event in the outbox (0: empty).")
)

func newCRMMetrics(g *Gateway) *crmMetrics {
	m := &crmMetrics{g: g, events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "crm_events_total",
		Help: "CRM webhook attempts by event type and result (delivered, retry, dead).",
	}, []string{"type", "result"})}
	for _, typ := range []string{crm.TypeCreated, crm.TypeComment, crm.TypeAttachment} {
		for _, result := range []string{crm.ResultDelivered, crm.ResultRetry, crm.ResultDead} {
			m.events.WithLabelValues(typ, result)
		}
	}
	return m
}

// afterAttempt is the feed's AfterAttempt.
func (m *crmMetrics) afterAttempt(rep crm.Report) {
	m.events.WithLabelValues(rep.Hook.Type, rep.Result).Inc()
}

func (m *crmMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.events.Describe(ch)
	ch <- descCRMOutbox
	ch <- descCRMOldest
}

func (m *crmMetrics) Collect(ch chan<- prometheus.Metric) {
	m.events.Collect(ch)
	n, oldest, err := m.g.router.HookBacklog()
	if err != nil {
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(m.g.router.Now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(descCRMOutbox, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(descCRMOldest, prometheus.GaugeValue, age)
}

// CRM is the gateway's CRM feed, nil when crm.url is empty (for tests).
func (g *Gateway) CRM() *crm.Feed { return g.crm }

// newFeed builds the CRM feed of cfg, or nil when crm.url is empty.
func newFeed(cfg *config.Config, log *slog.Logger, now func() time.Time, m *crmMetrics) (*crm.Feed, error) {
	if !cfg.CRM.Enabled() {
		return nil, nil
	}
	return crm.New(cfg, crm.Options{Now: now, Logger: log, AfterAttempt: func(rep crm.Report) { m.afterAttempt(rep) }})
}
