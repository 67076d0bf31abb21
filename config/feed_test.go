package config

import (
	"strings"
	"testing"
	"time"
)

const postgresStore = "backend = \"postgres\"\ndsn = \"postgres://mxdesk@db.example.test/mxdesk\"\n"

// The feed's keys default to 5s, 10m and 100000, and take other values.
func TestStoreFeedKeys(t *testing.T) {
	c, errs := parse(t, edit(t, "[listen]", "[store]\n"+postgresStore+"\n[listen]"))
	if errs != nil || c.Store.FeedPoll.Duration != 5*time.Second || c.Store.ChangesKeptFor.Duration != 10*time.Minute || c.Store.ChangesKeptRows != 100_000 {
		t.Fatalf("defaults: %+v, %v", c.Store, errs)
	}
	c, errs = parse(t, edit(t, "[listen]", "[store]\n"+postgresStore+"feed_poll = \"2s\"\nchanges_kept_for = \"1h\"\nchanges_kept_rows = 5000\n[listen]"))
	if errs != nil || c.Store.FeedPoll.Duration != 2*time.Second || c.Store.ChangesKeptFor.Duration != time.Hour || c.Store.ChangesKeptRows != 5000 {
		t.Fatalf("set: %+v, %v", c.Store, errs)
	}
}

// Each wrong feed key is reported with its key and line.
func TestStoreFeedValidation(t *testing.T) {
	for _, tt := range []struct {
		name, keys, key, msg string
	}{
		{"with badger", `feed_poll = "5s"`, "store.feed_poll", `is only for store.backend = "postgres"`},
		{"poll zero", postgresStore + `feed_poll = "0s"`, "store.feed_poll", "positive duration"},
		{"kept_for negative", postgresStore + `changes_kept_for = "-1m"`, "store.changes_kept_for", "positive duration"},
		{"poll beyond kept_for", postgresStore + "feed_poll = \"6m\"\nchanges_kept_for = \"10m\"", "store.feed_poll", "at most half of store.changes_kept_for"},
		{"kept_rows small", postgresStore + `changes_kept_rows = 10`, "store.changes_kept_rows", "at least 1000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, edit(t, "[listen]", "[store]\n"+tt.keys+"\n[listen]"))
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					if e.Line == 0 {
						t.Errorf("%s: no line", e.Key)
					}
					return
				}
			}
			t.Errorf("want an error with key %q containing %q, got:\n%v", tt.key, tt.msg, errs)
		})
	}
}
