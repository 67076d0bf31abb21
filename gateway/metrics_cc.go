package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/router"
)

// ccCollector reads the contact-center figures at scrape time: each
// queue's service level and alarms, each agent's state and the time
// spent per state (the agent label is bounded
// by the configured [[agent]] entries).
type ccCollector struct{ g *Gateway }

var (
	descAgentState        = desc("agent_state", "1 for each agent's current state (available, in_session, rona, away, offline), 0 for the others.", "agent", "state")
	descAgentStateSeconds = desc("agent_state_seconds_total", "Time each agent spent in each state since the server started.", "agent", "state")
	descAgentHandled      = desc("agent_handled_sessions_total", "Sessions each agent resolved after picking them up (durable).", "agent")
	descServiceLevel      = desc("queue_service_level_ratio", "Share of the queue's counted sessions answered within service_level_within, over the window (1h, today); absent while none is counted.", "queue", "window")
	descQueueAlarm        = desc("queue_alarm", "1 while the queue's real-time threshold of kind is crossed: waiting (alarm_waiting), oldest (alarm_oldest), service_level (the last hour below the target).", "queue", "kind")
	descAgentHandling     = desc("agent_handling_seconds_total", "Pick-up-to-resolve time of the sessions each agent resolved (durable).", "agent")
)

func (ccCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAgentState, descAgentStateSeconds, descAgentHandled, descAgentHandling, descServiceLevel, descQueueAlarm} {
		ch <- d
	}
}

func (c ccCollector) Collect(ch chan<- prometheus.Metric) {
	c.collectQueues(ch)
	c.collectAgents(ch)
}

// collectQueues exports each queue's service level and alarms.
func (c ccCollector) collectQueues(ch chan<- prometheus.Metric) {
	levels := c.g.router.ServiceLevels()
	for _, l := range levels {
		if ratio, ok := l.Ratio(); ok {
			ch <- prometheus.MustNewConstMetric(descServiceLevel, prometheus.GaugeValue, ratio, l.Queue, l.Window)
		}
	}
	stats, err := c.g.router.WaitingStats()
	if err != nil {
		return
	}
	cfg := c.g.config()
	for _, w := range stats {
		q := cfg.QueueByName(w.Queue)
		if q == nil {
			continue
		}
		on := router.QueueAlarms(q, w, levels)
		for _, kind := range router.AlarmKinds {
			v := 0.0
			if on[kind] {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descQueueAlarm, prometheus.GaugeValue, v, w.Queue, kind)
		}
	}
}

// collectAgents exports each agent's state, time per state and handling.
func (c ccCollector) collectAgents(ch chan<- prometheus.Metric) {
	agents, err := c.g.router.AgentStatuses()
	if err != nil {
		return
	}
	for _, a := range agents {
		for _, st := range router.States {
			on := 0.0
			if a.State == st {
				on = 1
			}
			ch <- prometheus.MustNewConstMetric(descAgentState, prometheus.GaugeValue, on, a.Login, st)
			ch <- prometheus.MustNewConstMetric(descAgentStateSeconds, prometheus.CounterValue, a.Spent[st].Seconds(), a.Login, st)
		}
		ch <- prometheus.MustNewConstMetric(descAgentHandled, prometheus.CounterValue, float64(a.Handled), a.Login)
		ch <- prometheus.MustNewConstMetric(descAgentHandling, prometheus.CounterValue, a.HandlingTime.Seconds(), a.Login)
	}
}
