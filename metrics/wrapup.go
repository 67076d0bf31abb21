package metrics

import "github.com/prometheus/client_golang/prometheus"

func newWrapups() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "wrapups_total",
		Help: "Wrap-up codes recorded on sessions, per queue and code ([[queue.wrapup]]).",
	}, []string{"queue", "code"})
}

// Wrapup counts a wrap-up code recorded on a session of queue.
func (s *Set) Wrapup(queue, code string) {
	if s == nil {
		return
	}
	s.wrapups.WithLabelValues(queue, code).Inc()
}
