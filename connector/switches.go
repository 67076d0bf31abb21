package connector

import (
	"fmt"

	"mxdesk/config"
)

// pausedAccounts lists the accounts whose queue is disabled (issue 19,
// queue.enabled = false): the connector neither imports their mail, which
// stays upstream untouched, nor copies replies to their sent_folder,
// until the queue is enabled again by a reload. Their status says why.
func pausedAccounts(cfg *config.Config) map[string]Status {
	out := map[string]Status{}
	for _, a := range cfg.Account {
		if q := cfg.QueueByName(a.Queue); q != nil && !q.Enabled {
			out[a.Address] = Status{Address: a.Address, LastError: fmt.Sprintf(
				"queue %s is disabled (queue.enabled = false): not importing, mail stays upstream", q.Name)}
		}
	}
	return out
}

// isPaused reports whether the account at addr belongs to a disabled
// queue. The caller holds c.mu.
func (c *Connector) isPaused(addr string) bool {
	_, ok := c.paused[addr]
	return ok
}
