package testutil

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
)

// Closed describes the sessions ClosedSessions makes.
type Closed struct {
	StoreDir      string // the store of a stopped server (data_dir/store)
	Login, Passwd string // an agent of the queue, who resolves them
	Address       string // the queue address the customers write to
	Folder        string // the queue's folder ("Queues/Support")
	N             int
	BodyBytes     int  // size of each message's body (default 100)
	NoSync        bool // faster for benchmarks: the store is closed cleanly anyway
}

// ClosedSessions makes c.N sessions in c.StoreDir, each one customer
// message resolved by the agent and closed by the timers on a clock of
// March–April 2026: with a 30-day retention they are all due for the
// archive now. It returns their IDs.
func ClosedSessions(t testing.TB, cfg *config.Config, c Closed) []string {
	t.Helper()
	st, err := badgerstore.Open(c.StoreDir, badgerstore.Options{Sync: !c.NoSync})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}()
	clock := NewClock()
	r, err := router.New(cfg, st, router.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := r.Authenticate(c.Login, c.Passwd)
	if err != nil {
		t.Fatalf("login %s: %v", c.Login, err)
	}
	body := strings.Repeat("The parcel has not arrived yet.\r\n", max(c.BodyBytes, 100)/33+1)
	ids := make([]string, 0, c.N)
	for i := range c.N {
		raw := fmt.Sprintf("From: Carla <carla@customer.test>\r\nTo: %s\r\nSubject: order %d\r\nMessage-ID: <closed-%d@customer.test>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\n%s",
			c.Address, i, i, body)
		d, err := r.Deliver(context.Background(), router.Envelope{From: "carla@customer.test", To: []string{c.Address}}, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.Session)
	}
	resolveAll(t, r, agent, c.Folder)
	clock.Advance(config.Days(cfg.Sessions.ResolvedToClosedDays) + time.Hour)
	if _, err := r.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ids
}

// resolveAll moves every message of the queue folder to the agent's
// Resolved, a few hundred at a time.
func resolveAll(t testing.TB, r *router.Router, a *router.Agent, folder string) {
	t.Helper()
	f, err := r.Folder(a, folder)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var uids []store.UID
		err := r.View(func(rd store.Reader) error {
			msgs, err := rd.Messages(f.Mailbox, 0, 0)
			for _, m := range msgs[:min(len(msgs), 500)] {
				uids = append(uids, m.UID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(uids) == 0 {
			return
		}
		if _, _, _, err := r.Move(context.Background(), a, f.Mailbox, uids, router.ResolvedFolder, nil); err != nil {
			t.Fatal(err)
		}
	}
}
