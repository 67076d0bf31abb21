// Package metrics holds mxdesk's push-style Prometheus collectors: the
// counters and histograms that the SMTP, IMAP, router, delivery and store
// code moves as things happen. (Gauges read at scrape time, such as
// sessions by status or waiting per queue, are collected by the gateway.)
// The one exception is mxdesk_panics_total: it reads the process's counts
// of recovered panics (package panics) at scrape time.
//
// A Set is built per gateway on a registry of its own, never the global
// one, so two gateways in one test process don't collide. Every method is
// safe on a nil *Set and then does nothing: packages and tests that don't
// care about metrics pass none.
//
// Names follow `mxdesk_<area>_<thing>_<unit>`; counters end in `_total`.
// Labels are low-cardinality (queue, listener, reason, result, ...), never
// addresses, logins or session IDs. docs/operations.md lists every metric.
package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/panics"
)

// Namespace prefixes every mxdesk metric.
const Namespace = "mxdesk"

// WaitBuckets are the buckets of the contact-center latencies (assignment,
// first response): from seconds to a week.
var WaitBuckets = []float64{
	1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600,
	8 * 3600, 24 * 3600, 2 * 24 * 3600, 4 * 24 * 3600, 7 * 24 * 3600,
}

// CommitBuckets are the buckets of store commit latency: 0.1 ms to 2.5 s.
var CommitBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5,
}

// Rejection reasons of mxdesk_messages_rejected_total: a fixed set.
const (
	ReasonUnknownRecipient = "unknown_recipient" // no queue, session or agent has the address
	ReasonSendOnly         = "send_only"         // a send-only address
	ReasonBadAddress       = "bad_address"       // malformed or too long address
	ReasonTooBig           = "too_big"           // over the size limit
	ReasonRateLimit        = "rate_limit"        // messages per sender per hour
	ReasonTooManyCommands  = "too_many_commands" // limits.commands_per_connection
	ReasonDMARC            = "dmarc"             // DMARC p=reject with dmarc_reject on
	ReasonInvalid          = "invalid"           // the router refused the message's content
	ReasonForbidden        = "forbidden"         // submission: not allowed for this agent
	ReasonNotAuthenticated = "not_authenticated" // submission before AUTH
	ReasonUnavailable      = "unavailable"       // the virus scanner is down (4xx)
	ReasonStore            = "store_error"       // the store failed (4xx)
	ReasonNoSpace          = "no_space"          // the disk is below store.min_free_space (4xx)
	ReasonInTransit        = "in_transit"        // limits.inflight_message_bytes reached (4xx)
	ReasonQueueSwitch      = "queue_switch"      // a queue with enabled or receive off (issue 19)
)

// Set is every push-style collector of one gateway.
type Set struct {
	connections     *prometheus.CounterVec
	connectionsOpen *prometheus.GaugeVec
	connsRefused    *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
	received        *prometheus.CounterVec
	rejected        *prometheus.CounterVec
	submitted       *prometheus.CounterVec
	assignLatency   *prometheus.HistogramVec
	firstResponse   *prometheus.HistogramVec
	handling        *prometheus.HistogramVec
	autoReplies     *prometheus.CounterVec
	commitSeconds   prometheus.Histogram
	commitUpdates   prometheus.Histogram
	commitErrors    prometheus.Counter
	wrapups         *prometheus.CounterVec // wrapup.go
}

// New builds a Set and registers it on reg.
func New(reg prometheus.Registerer) *Set {
	s := &Set{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "connections_total",
			Help: "Connections accepted, per listener (smtp, submission, submissions, imap, imaps).",
		}, []string{"listener"}),
		connectionsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "connections_open",
			Help: "Connections open now, per listener.",
		}, []string{"listener"}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "connections_refused_total",
			Help: "Connections refused because their address had limits.connections_per_ip open, per listener.",
		}, []string{"listener"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "auth_failures_total",
			Help: "Failed logins, per protocol (smtp: submission AUTH, imap) and reason (credentials, locked).",
		}, []string{"protocol", "reason"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "messages_received_total",
			Help: "Inbound messages stored by the MX, per queue.",
		}, []string{"queue"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "messages_rejected_total",
			Help: "Recipients or messages refused, per service (smtp, submission) and reason.",
		}, []string{"service", "reason"}),
		submitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "messages_submitted_total",
			Help: "Messages agents submitted and mxdesk accepted, per action (reply, new, note, transfer, held).",
		}, []string{"action"}),
		assignLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "assignment_latency_seconds",
			Help:    "Time a session waited in its queue until an agent got it (auto-assignment, claim, reply), per queue.",
			Buckets: WaitBuckets,
		}, []string{"queue"}),
		firstResponse: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "first_response_seconds",
			Help:    "Time from a session's first customer message to the first agent reply sent, per queue.",
			Buckets: WaitBuckets,
		}, []string{"queue"}),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "session_handling_seconds",
			Help:    "Handling time of a session, from its agent's pick-up (opening it) to its resolution, per queue.",
			Buckets: WaitBuckets,
		}, []string{"queue"}),
		autoReplies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "autoreplies_total",
			Help: "Automatic replies to customers, per queue and result (sent, or why not).",
		}, []string{"queue", "result"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "store_commit_seconds",
			Help:    "Duration of one store commit (a group of updates, fsync included).",
			Buckets: CommitBuckets,
		}),
		commitUpdates: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "store_commit_updates",
			Help:    "Updates sharing one store commit (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "store_commit_errors_total",
			Help: "Store commits that failed.",
		}),
		wrapups: newWrapups(),
	}
	for _, action := range []string{"reply", "new", "note", "transfer", "held"} {
		s.submitted.WithLabelValues(action)
	}
	reg.MustRegister(s.connections, s.connectionsOpen, s.connsRefused, s.authFailures,
		s.received, s.rejected, s.submitted, s.assignLatency, s.firstResponse,
		s.handling, s.autoReplies, s.commitSeconds, s.commitUpdates, s.commitErrors, panicCounts, s.wrapups)
	return s
}

// panicCounts exports panics.Counts. The counts are the process's: every
// Set shows the same ones, which is right for the one Set of a server.
var panicCounts = panicCollector{prometheus.NewDesc(
	prometheus.BuildFQName(Namespace, "", "panics_total"),
	"Panics recovered, per place (where): each is logged at error level with its stack; any is a bug.",
	[]string{"where"}, nil)}

type panicCollector struct{ desc *prometheus.Desc }

func (c panicCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c panicCollector) Collect(ch chan<- prometheus.Metric) {
	counts := panics.Counts()
	for _, where := range panics.Places {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(counts[where]), where)
	}
}

// ConnOpened counts a connection accepted on listener; call ConnClosed
// when it ends.
func (s *Set) ConnOpened(listener string) {
	if s == nil {
		return
	}
	s.connections.WithLabelValues(listener).Inc()
	s.connectionsOpen.WithLabelValues(listener).Inc()
}

// ConnClosed counts down the open connections of listener.
func (s *Set) ConnClosed(listener string) {
	if s == nil {
		return
	}
	s.connectionsOpen.WithLabelValues(listener).Dec()
}

// ConnRefused counts a connection refused by the per-address limit.
func (s *Set) ConnRefused(listener string) {
	if s == nil {
		return
	}
	s.connsRefused.WithLabelValues(listener).Inc()
}

// Listeners makes the connection series of these listeners exist at zero,
// so a dashboard shows them before the first connection.
func (s *Set) Listeners(names ...string) {
	if s == nil {
		return
	}
	for _, n := range names {
		s.connections.WithLabelValues(n)
		s.connectionsOpen.WithLabelValues(n)
		s.connsRefused.WithLabelValues(n)
	}
}

// Queues makes the per-queue series exist at zero (auto-replies: those
// sent).
func (s *Set) Queues(names ...string) {
	if s == nil {
		return
	}
	for _, n := range names {
		s.received.WithLabelValues(n)
		s.assignLatency.WithLabelValues(n)
		s.firstResponse.WithLabelValues(n)
		s.autoReplies.WithLabelValues(n, "sent")
	}
}

// AuthFailed counts a failed login over protocol ("smtp", "imap"); locked
// says the account or address was locked out rather than the password
// wrong.
func (s *Set) AuthFailed(protocol string, locked bool) {
	if s == nil {
		return
	}
	reason := "credentials"
	if locked {
		reason = "locked"
	}
	s.authFailures.WithLabelValues(protocol, reason).Inc()
}

// MessageReceived counts an inbound message stored in queue.
func (s *Set) MessageReceived(queue string) {
	if s == nil {
		return
	}
	s.received.WithLabelValues(queue).Inc()
}

// MessageRejected counts a refused recipient or message of service
// ("smtp", "submission") with one of the Reason constants.
func (s *Set) MessageRejected(service, reason string) {
	if s == nil {
		return
	}
	s.rejected.WithLabelValues(service, reason).Inc()
}

// MessageSubmitted counts a message an agent submitted, by what mxdesk
// did with it (router.Submitted.Action).
func (s *Set) MessageSubmitted(action string) {
	if s == nil {
		return
	}
	s.submitted.WithLabelValues(action).Inc()
}

// Assigned observes how long a session of queue waited for an agent.
func (s *Set) Assigned(queue string, waited time.Duration) {
	if s == nil {
		return
	}
	s.assignLatency.WithLabelValues(queue).Observe(max(waited, 0).Seconds())
}

// FirstResponse observes the time to a session's first agent reply.
func (s *Set) FirstResponse(queue string, took time.Duration) {
	if s == nil {
		return
	}
	s.firstResponse.WithLabelValues(queue).Observe(max(took, 0).Seconds())
}

// Handled observes the handling time of a session (pick-up to resolve).
func (s *Set) Handled(queue string, took time.Duration) {
	if s == nil {
		return
	}
	s.handling.WithLabelValues(queue).Observe(max(took, 0).Seconds())
}

// AutoReply counts an automatic reply of queue: sent, or not and why
// (reason comes from a fixed set in the router).
func (s *Set) AutoReply(queue string, sent bool, reason string) {
	if s == nil {
		return
	}
	result := "sent"
	if !sent {
		// "daily cap" -> daily_cap: label values in Prometheus' style.
		result = strings.NewReplacer(" ", "_", "-", "_").Replace(reason)
	}
	s.autoReplies.WithLabelValues(queue, result).Inc()
}

// Commit observes one store commit of updates updates.
func (s *Set) Commit(took time.Duration, updates int, err error) {
	if s == nil {
		return
	}
	if err != nil {
		s.commitErrors.Inc()
		return
	}
	s.commitSeconds.Observe(took.Seconds())
	s.commitUpdates.Observe(float64(updates))
}
