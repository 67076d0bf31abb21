package badgerstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// DeleteSession removes every trace of a session but its token and
// Message-IDs, which lead to the archived record; Check agrees, and
// notices an archived record that goes missing.
func TestDeleteSession(t *testing.T) {
	s, m := filledStore(t)
	var removed []store.Change
	s.SetObserver(func(cs []store.Change) { removed = append(removed, cs...) })
	update(t, s, func(tx store.Tx) error {
		return tx.DeleteSession("S-CHECK", store.Archived{Queue: "Support", Location: "s3://b/Support/2026/12/S-CHECK/"})
	})
	if len(removed) != 2 || removed[0].Kind != store.MessageRemoved || removed[1].Kind != store.MessageRemoved {
		t.Errorf("changes published: %+v, want two MessageRemoved", removed)
	}
	err := s.View(func(rd store.Reader) error {
		if _, err := rd.Session("S-CHECK"); err != store.ErrNotFound {
			t.Errorf("session: %v", err)
		}
		if msgs, _ := rd.Messages(m.Mailbox, 0, 0); len(msgs) != 0 {
			t.Errorf("%d messages left", len(msgs))
		}
		if n, _ := rd.OutboundCount(); n != 0 {
			t.Errorf("%d outbound rows left", n)
		}
		if evs, _ := rd.Events("S-CHECK"); len(evs) != 0 {
			t.Errorf("%d events left", len(evs))
		}
		if _, err := rd.Blob(m.Blob); err != store.ErrNotFound {
			t.Errorf("the body of the removed messages: %v", err)
		}
		a, err := rd.Archived("S-CHECK")
		if err != nil || a.Token != "tok1" || a.ID != "S-CHECK" {
			t.Errorf("archived record: %+v %v", a, err)
		}
		if id, err := rd.SessionByToken("tok1"); id != "S-CHECK" || err != nil {
			t.Errorf("token: %q %v", id, err)
		}
		if id, err := rd.SessionByMessageID("m1@customer.test"); id != "S-CHECK" || err != nil {
			t.Errorf("Message-ID: %q %v", id, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Check()
	if err != nil || len(r.Problems) != 0 || r.Archived != 1 || r.Sessions != 0 {
		t.Fatalf("check after DeleteSession: %v %+v", err, r)
	}
	corrupt(t, s, func(txn *badger.Txn) error { return txn.Delete(key(pArchived, []byte("S-CHECK"))) })
	wantProblems(t, s, "tok/tok1: dangling index entry", `mid/m1@customer.test: leads to missing session "S-CHECK"`)
}

// Closed sessions are found oldest first by the time of their status;
// Check rebuilds that index.
func TestSessionsInStatus(t *testing.T) {
	s := open(t, t.TempDir())
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	update(t, s, func(tx store.Tx) error {
		for i, id := range []string{"S-THREE", "S-ONE", "S-TWO"} {
			at := base.Add(time.Duration([]int{3, 1, 2}[i]) * time.Hour)
			if err := tx.PutSession(store.Session{ID: id, Queue: "Support", Status: "Closed", StatusSince: at}); err != nil {
				return err
			}
		}
		return tx.PutSession(store.Session{ID: "S-OPEN", Queue: "Support", Status: "Active", StatusSince: base})
	})
	var got []string
	err := s.View(func(rd store.Reader) error {
		return rd.SessionsInStatus("Closed", base.Add(2*time.Hour), func(id string, since time.Time) (bool, error) {
			got = append(got, id+"@"+since.UTC().Format("15"))
			return true, nil
		})
	})
	if err != nil || strings.Join(got, " ") != "S-ONE@10 S-TWO@11" {
		t.Errorf("closed until 11:00: %v %v", got, err)
	}
	corrupt(t, s, func(txn *badger.Txn) error {
		return txn.Delete(statusSinceKey(store.Session{ID: "S-ONE", Status: "Closed", StatusSince: base.Add(time.Hour)}))
	})
	wantProblems(t, s, "sst/Closed/2026-03-02T10:00:00Z/S-ONE: missing index entry")
}

// wantProblems checks that Check (and Close) report each of want.
func wantProblems(t *testing.T, s *Store, want ...string) {
	t.Helper()
	r, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.Problems {
		got = append(got, p.String())
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(got, "\n"), w) {
			t.Errorf("problems do not report %q:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if err := s.Close(); err == nil {
		t.Error("Close of a damaged store: nil, want ErrInconsistent")
	}
}

// A session with CRM events still to deliver is not removed (the CRM
// would miss them); once they are dead letters, they go with it.
func TestDeleteSessionWaitsForCRMEvents(t *testing.T) {
	s, _ := filledStore(t)
	var h store.Hook
	update(t, s, func(tx store.Tx) (err error) {
		h, err = tx.EnqueueHook(store.Hook{WebhookID: "msg_1", Session: "S-CHECK", Type: "ticket.comment", Kind: "link"})
		return err
	})
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		return tx.DeleteSession("S-CHECK", store.Archived{Queue: "Support"})
	})
	if !errors.Is(err, store.ErrBusy) {
		t.Fatalf("DeleteSession with a live CRM event: %v, want ErrBusy", err)
	}
	update(t, s, func(tx store.Tx) error {
		h.Dead = true
		return tx.UpdateHook(h)
	})
	update(t, s, func(tx store.Tx) error {
		return tx.DeleteSession("S-CHECK", store.Archived{Queue: "Support"})
	})
	err = s.View(func(rd store.Reader) error {
		if hooks, err := rd.Hooks(0); err != nil || len(hooks) != 0 {
			t.Errorf("CRM events left: %+v %v", hooks, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
