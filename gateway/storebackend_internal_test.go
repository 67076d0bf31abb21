package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mxdesk/store"
)

// countingPinger is a database store whose pings are counted.
type countingPinger struct {
	store.Store
	pings int
	err   error
}

func (p *countingPinger) Ping(context.Context) error {
	p.pings++
	return p.err
}

// /readyz and the metrics' scrapes ask the database at most once a
// second, and the answer names store.dsn.
func TestStorePingCached(t *testing.T) {
	db := &countingPinger{err: errors.New("connection refused")}
	g := &Gateway{store: db}
	for range 10 {
		if err := g.pingStore(); err == nil || !strings.Contains(err.Error(), "store.dsn") {
			t.Fatalf("pingStore: %v, want an error naming store.dsn", err)
		}
	}
	if db.pings != 1 {
		t.Errorf("10 readiness checks at once pinged the database %d times, want 1", db.pings)
	}
	g.ping.at = g.ping.at.Add(-pingEvery) // a second later
	db.err = nil
	if err := g.pingStore(); err != nil || db.pings != 2 {
		t.Errorf("a second later: %v after %d pings, want ready after 2", err, db.pings)
	}
}
