package campaign

import (
	"time"

	"mxdesk/store"
)

// Summary is a campaign as the admin API, the public API and the
// supervisor page show it.
type Summary struct {
	ID       uint64         `json:"id"`
	Queue    string         `json:"queue"`
	Template string         `json:"template"`
	Window   string         `json:"window"`
	Rate     string         `json:"rate"`
	State    string         `json:"state"`
	Rows     int            `json:"rows"`
	Counts   map[string]int `json:"counts"` // queued, sent, deferred, bounced, suppressed, cancelled, replied, unsubscribed
	ICS      bool           `json:"ics"`
	Created  time.Time      `json:"created"`
	NextSend time.Time      `json:"next_send,omitzero"`
}

// Counts are the counts every campaign shows, zero or not.
var Counts = []string{store.RecipientQueued, store.RecipientSent, store.RecipientDeferred, store.RecipientBounced,
	store.CountReplied, store.CountUnsubscribed, store.RecipientSuppressed, store.RecipientCancelled}

// Summarize is c's Summary.
func Summarize(c store.Campaign) Summary {
	counts := map[string]int{}
	for _, k := range Counts {
		counts[k] = c.Counts[k]
	}
	return Summary{ID: c.ID, Queue: c.Queue, Template: c.Template, Window: c.Window, Rate: c.Rate, State: c.State,
		Rows: c.Rows, Counts: counts, ICS: c.ICS != nil, Created: c.Created, NextSend: c.NextSend}
}
