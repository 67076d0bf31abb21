package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"mxdesk/router"
)

// ccCollector reads the contact-center figures at scrape time: each
// agent's state and the time spent per state (the agent label is bounded
// by the configured [[agent]] entries).
type ccCollector struct{ g *Gateway }

var (
	descAgentState        = desc("agent_state", "1 for each agent's current state (available, in_session, rona, away, offline), 0 for the others.", "agent", "state")
	descAgentStateSeconds = desc("agent_state_seconds_total", "Time each agent spent in each state since the server started.", "agent", "state")
	descAgentHandled      = desc("agent_handled_sessions_total", "Sessions each agent resolved after picking them up (durable).", "agent")
	descAgentHandling     = desc("agent_handling_seconds_total", "Pick-up-to-resolve time of the sessions each agent resolved (durable).", "agent")
)

func (ccCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAgentState, descAgentStateSeconds, descAgentHandled, descAgentHandling} {
		ch <- d
	}
}

func (c ccCollector) Collect(ch chan<- prometheus.Metric) {
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
