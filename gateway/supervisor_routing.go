package gateway

import (
	"slices"

	"mxdesk/config"
)

// setRouting fills the queue's line with its routing keys (issue 19):
// teams, strategy and the enabled and receive switches.
func (q *SupervisorQueue) setRouting(qc *config.Queue) {
	q.Teams = slices.Clone(qc.Teams)
	q.Strategy, q.Enabled, q.Receive = qc.Strategy, qc.Enabled, qc.Receive
}
