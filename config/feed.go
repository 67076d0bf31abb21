package config

import "time"

// The change feed across nodes on PostgreSQL (store/pgstore/feed.go):
// store.feed_poll, store.changes_kept_for and store.changes_kept_rows,
// pgstore's Options FeedPoll, ChangesKeptFor and ChangesKeptRows.

// Defaults of the feed's keys (pgstore's own defaults).
const (
	DefaultFeedPoll        = 5 * time.Second
	DefaultChangesKeptFor  = 10 * time.Minute
	DefaultChangesKeptRows = 100_000
)

// feedKeys are the feed's keys under [store].
var feedKeys = []string{"feed_poll", "changes_kept_for", "changes_kept_rows"}

func (p *parser) defaultStoreFeed() {
	s := &p.cfg.Store
	if !p.md.IsDefined("store", "feed_poll") {
		s.FeedPoll.Duration = DefaultFeedPoll
	}
	if !p.md.IsDefined("store", "changes_kept_for") {
		s.ChangesKeptFor.Duration = DefaultChangesKeptFor
	}
	if !p.md.IsDefined("store", "changes_kept_rows") {
		s.ChangesKeptRows = DefaultChangesKeptRows
	}
}

// checkStoreFeed validates the feed's keys: for postgres only, positive,
// and a safety poll well within what the changes table keeps.
func (p *parser) checkStoreFeed() {
	s := &p.cfg.Store
	if s.Backend != BackendPostgres {
		for _, k := range feedKeys {
			if p.md.IsDefined("store", k) {
				p.errorf("store."+k, "is only for store.backend = %q (the change feed across nodes)", BackendPostgres)
			}
		}
		return
	}
	if s.FeedPoll.Duration <= 0 {
		p.errorf("store.feed_poll", "must be a positive duration such as \"5s\"")
	}
	if s.ChangesKeptFor.Duration <= 0 {
		p.errorf("store.changes_kept_for", "must be a positive duration such as \"10m\"")
	} else if s.FeedPoll.Duration > 0 && 2*s.FeedPoll.Duration > s.ChangesKeptFor.Duration {
		p.errorf("store.feed_poll", "%v: must be at most half of store.changes_kept_for (%v), or a node would miss changes pruned before it polls",
			s.FeedPoll.Duration, s.ChangesKeptFor.Duration)
	}
	if s.ChangesKeptRows < 1000 {
		p.errorf("store.changes_kept_rows", "%d: must be at least 1000 (the batches a node can fall behind by)", s.ChangesKeptRows)
	}
}
