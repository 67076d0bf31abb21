package gateway

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mxdesk/config"
	"mxdesk/delivery"
	"mxdesk/metrics"
	"mxdesk/router"
)

// observability is the gateway's metrics registry and what /readyz knows
// about the listeners. Each gateway has a registry of its own (never
// prometheus' global one): the push-style metrics.Set the servers move,
// the Go and process collectors, and a collector that reads the desk's
// state (sessions, queues, agents, delivery queue, store size) at scrape
// time.
type observability struct {
	reg *prometheus.Registry
	set *metrics.Set

	mu   sync.Mutex
	up   map[string]bool  // listener name -> bound and serving
	down map[string]error // listener name -> why its server stopped

	// attemptHook, when set, is called after each delivery attempt has
	// recorded its outcome and moved the delivery counters (tests).
	attemptHook atomic.Pointer[func(delivery.Report)]
	// sentCopyQueued, when set, wakes the connector's account worker
	// for a copy to its sent_folder.
	sentCopyQueued atomic.Pointer[func(account string)]
}

// afterAttempt is the delivery worker's AfterAttempt.
func (o *observability) afterAttempt(rep delivery.Report) {
	if fn := o.sentCopyQueued.Load(); fn != nil && rep.SentCopy != "" {
		(*fn)(rep.SentCopy)
	}
	if fn := o.attemptHook.Load(); fn != nil {
		(*fn)(rep)
	}
}

func newObservability(cfg *config.Config) *observability {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	o := &observability{reg: reg, set: metrics.New(reg), up: map[string]bool{}, down: map[string]error{}}
	for _, q := range cfg.Queue {
		o.set.Queues(q.Name)
	}
	l := cfg.Listen
	for name, addr := range map[string]string{"smtp": l.SMTP, "submission": l.Submission, "submissions": l.Submissions, "imap": l.IMAP, "imaps": l.IMAPS} {
		if addr != "" {
			o.set.Listeners(name)
		}
	}
	return o
}

// handler serves the registry.
func (o *observability) handler() http.Handler {
	return promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// listening notes that listener name is bound and about to be served.
func (o *observability) listening(name string) {
	o.mu.Lock()
	o.up[name], o.down[name] = true, nil
	o.mu.Unlock()
}

// stopped notes that the server of listener name returned (err: why;
// nil after Close).
func (o *observability) stopped(name string, err error) {
	o.mu.Lock()
	o.up[name] = false
	if err == nil {
		err = fmt.Errorf("closed")
	}
	o.down[name] = err
	o.mu.Unlock()
}

// listenerDown names the first configured listener that is not serving.
func (o *observability) listenerDown(ls []listener) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range ls {
		if l.addr == "" || o.up[l.name] {
			continue
		}
		if err := o.down[l.name]; err != nil {
			return fmt.Errorf("listener listen.%s is down: %v", l.name, err)
		}
		return fmt.Errorf("listener listen.%s is not listening", l.name)
	}
	return nil
}

func (o *observability) isUp(name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.up[name]
}

// readiness is nil when the gateway can do its job: the store answers
// reads, every configured listener is bound and served, the delivery
// worker, the CRM feed and the campaign sender run. Otherwise the error says what is down.
func (g *Gateway) readiness() error {
	if err := g.pingStore(); err != nil {
		return err
	}
	if err := g.router.Ready(); err != nil {
		return fmt.Errorf("store not ready: %w", err)
	}
	if err := g.lowSpace(); err != nil {
		return err
	}
	if err := g.obs.listenerDown(g.listeners()); err != nil {
		return err
	}
	if err := g.delivery.Err(); err != nil {
		return fmt.Errorf("delivery worker: %w", err)
	}
	if g.crm != nil {
		if err := g.crm.Err(); err != nil {
			return err
		}
	}
	if err := g.campaignLoop.Err(); err != nil {
		return err // names the campaign sender
	}
	return nil
}

// countingListener counts the connections of one listener (accepted, and
// open now) for mxdesk_connections_total and mxdesk_connections_open.
type countingListener struct {
	net.Listener
	name string
	set  *metrics.Set
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.set.ConnOpened(l.name)
	return &countedConn{Conn: c, closed: func() { l.set.ConnClosed(l.name) }}, nil
}

type countedConn struct {
	net.Conn
	once   sync.Once
	closed func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}

// deskCollector reads the desk's state at scrape time. A read that fails
// (the store is closed) leaves its metrics out of that scrape.
type deskCollector struct{ g *Gateway }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(metrics.Namespace+"_"+name, help, labels, nil)
}

var (
	descSessions = desc("sessions", "Sessions per queue and status.", "queue", "status")
	descWaiting  = desc("queue_waiting_sessions", "Sessions waiting unassigned in their queue.", "queue")
	descOldest   = desc("queue_oldest_waiting_seconds", "How long the longest-waiting session of the queue has waited (0: none waits).", "queue")
	descAlarms   = desc("queue_kpi_alarm_sessions", "Sessions over the queue's kpi_wait_alarm: waiting unassigned longer, or transferred to an agent and unopened longer.", "queue")
	descAgents   = desc("agents", "Configured agents per state (available: connected over IMAP, not away, not working a session; in_session: connected with a session in status Active; rona: an offer timed out and they have not come back; away; offline).", "state")
	descActive   = desc("agent_active_sessions", "Sessions counting towards agents' load (Unopened, Reopened, Active), summed over the agents in each state.", "state")
	descMaxLoad  = desc("agent_max_active_sessions", "The load of the busiest agent.")
	descOutQueue = desc("delivery_queue_messages", "Messages in the outbound queue.")
	descAttempts = desc("delivery_attempts_total", "Delivery attempts (one SMTP transaction per queued message).")
	descRetries  = desc("delivery_retries_total", "Delivery attempts of messages attempted before.")
	descDeferred = desc("delivery_deferred_total", "Recipients that failed temporarily in an attempt, to be retried.")
	descFailures = desc("delivery_failures_total", "Delivery attempts that ended in a local error (store, bounce filing).")
	descSent     = desc("messages_delivered_total", "Outbound recipients accepted by the remote server.")
	descBounced  = desc("messages_bounced_total", "Outbound recipients bounced (permanent failure or retry_for expired).")
	descStore    = desc("store_size_bytes", "Size of the store on disk, per part (lsm: the index and small values; vlog: the value log with message bodies).", "part")
	descFree     = desc("store_free_bytes", "Free space on data_dir's filesystem, measured after each commit and every 2 s.")
	descLowSpace = desc("store_low_space", "1 while the free space is below store.min_free_space: new messages are refused with 452 / NO [OVERQUOTA].")
	descListener = desc("listener_up", "1 when the configured listener is bound and served.", "listener")
	descReady    = desc("ready", "1 when /readyz answers 200.")
	descInflight = desc("inflight_message_bytes", "Message bytes the MX and submission hold in memory now, all connections together, against limits.inflight_message_bytes.")
)

func (deskCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSessions, descWaiting, descOldest, descAlarms, descAgents, descActive, descMaxLoad,
		descOutQueue, descAttempts, descRetries, descDeferred, descFailures, descSent, descBounced, descStore, descFree, descLowSpace, descListener, descReady, descInflight} {
		ch <- d
	}
}

func (c deskCollector) Collect(ch chan<- prometheus.Metric) {
	g := c.g
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	if counts, err := g.router.SessionCounts(); err == nil {
		for q, byStatus := range counts {
			for st, n := range byStatus {
				gauge(descSessions, float64(n), q, st)
			}
		}
	}
	if ws, err := g.router.WaitingStats(); err == nil {
		for _, w := range ws {
			gauge(descWaiting, float64(w.Waiting), w.Queue)
			gauge(descOldest, max(w.Oldest.Seconds(), 0), w.Queue)
			gauge(descAlarms, float64(w.Alarms), w.Queue)
		}
	}
	if agents, err := g.router.AgentStatuses(); err == nil {
		states, active := map[string]int{}, map[string]int{}
		for _, st := range router.States {
			states[st], active[st] = 0, 0
		}
		busiest := 0
		for _, a := range agents {
			states[a.State]++
			active[a.State] += a.Active
			busiest = max(busiest, a.Active)
		}
		for st, n := range states {
			gauge(descAgents, float64(n), st)
			gauge(descActive, float64(active[st]), st)
		}
		gauge(descMaxLoad, float64(busiest))
	}
	if st, err := g.delivery.Stats(); err == nil {
		gauge(descOutQueue, float64(st.Queued))
		counter(descAttempts, st.Attempts)
		counter(descRetries, st.Retries)
		counter(descDeferred, st.Deferred)
		counter(descFailures, st.Failures)
		counter(descSent, st.Delivered)
		counter(descBounced, st.Bounced)
	}
	gauge(descInflight, float64(g.inflight.InUse()))
	g.collectStoreDisk(gauge)
	for _, l := range g.listeners() {
		if l.addr == "" {
			continue
		}
		up := 0.0
		if g.obs.isUp(l.name) {
			up = 1
		}
		gauge(descListener, up, l.name)
	}
	ready := 0.0
	if g.readiness() == nil {
		ready = 1
	}
	gauge(descReady, ready)
}
