package archive

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the archive's counters, registered by the gateway.
type Metrics struct {
	sessions *prometheus.CounterVec
	bytes    prometheus.Counter
	oldest   prometheus.Gauge
}

// NewMetrics registers the archive metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mxdesk_archive_sessions_total",
			Help: "Sessions the archive handled, by result: archived (written and removed from the store) or failed (kept, tried again next run).",
		}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mxdesk_archive_bytes_total",
			Help: "Bytes written to the archive bucket.",
		}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mxdesk_archive_oldest_due_seconds",
			Help: "How long the oldest session due for the archive has been due, after the latest run (0: none).",
		}),
	}
	reg.MustRegister(m.sessions, m.bytes, m.oldest)
	m.sessions.WithLabelValues("archived")
	m.sessions.WithLabelValues("failed")
	return m
}

func (m *Metrics) session(result string) {
	if m != nil {
		m.sessions.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) addBytes(n int64) {
	if m != nil {
		m.bytes.Add(float64(n))
	}
}

func (m *Metrics) oldestDue(d time.Duration) {
	if m != nil {
		m.oldest.Set(d.Seconds())
	}
}
