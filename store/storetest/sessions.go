package storetest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"mxdesk/store"
)

func init() {
	register("SessionIndexesFollowPuts", sessionIndexesFollowPuts)
	register("SessionsInStatus", sessionsInStatus)
	register("SessionCountsFollowChanges", sessionCountsFollowChanges)
	register("EventsInOrder", eventsInOrder)
	register("DeleteSession", deleteSession)
	register("DeleteSessionWaitsForCRMEvents", deleteSessionWaitsForCRMEvents)
	register("RememberedState", rememberedState)
}

// filledDue is the Due time of the session S-FILLED.
var filledDue = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// filled stores one of everything a session has: S-FILLED (waiting in
// Support, due, with a token) with two messages in alice's INBOX, the
// first queued for delivery, a quarantined original, an event and a
// Message-ID. It returns the first message.
func filled(t *testing.T, s store.Store) store.Message {
	t.Helper()
	var first store.Message
	update(t, s, func(tx store.Tx) error {
		err := tx.PutSession(store.Session{ID: "S-FILLED", Queue: "Support", Status: "Waiting", Token: "tok1",
			Due: filledDue, WaitingSince: filledDue.Add(-time.Hour), ActiveAgent: "alice@example.test"})
		if err != nil {
			return err
		}
		mb, err := tx.CreateMailbox(store.Mailbox{Owner: "alice@example.test", Name: "INBOX"})
		if err != nil {
			return err
		}
		if first, err = addMessage(tx, mb.ID, "first", "S-FILLED"); err != nil {
			return err
		}
		if _, err := addMessage(tx, mb.ID, "second", "S-FILLED"); err != nil {
			return err
		}
		if _, err := tx.Enqueue(store.Outbound{Session: "S-FILLED", Blob: first.Blob, To: []string{"c@customer.test"}, NextAttempt: filledDue}); err != nil {
			return err
		}
		orig, err := tx.PutBlob([]byte("original"))
		if err != nil {
			return err
		}
		if _, err := tx.Quarantine(store.Quarantined{Session: "S-FILLED", Blob: orig}); err != nil {
			return err
		}
		if err := tx.IndexMessageID("m1@customer.test", "S-FILLED"); err != nil {
			return err
		}
		return tx.AddEvent(store.Event{Session: "S-FILLED"})
	})
	return first
}

// The Token, Due, WaitingSince and ActiveAgent indexes follow each put of
// a session: a changed value leaves no stale entry behind.
func sessionIndexesFollowPuts(t *testing.T, s store.Store) {
	base := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	update(t, s, func(tx store.Tx) error {
		for i, id := range []string{"S-C", "S-A", "S-B"} {
			at := base.Add(time.Duration([]int{3, 1, 2}[i]) * time.Minute)
			err := tx.PutSession(store.Session{ID: id, Queue: "Support", Token: "tok-" + id, Due: at, WaitingSince: at})
			if err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		b, err := tx.Session("S-B")
		if err != nil {
			return err
		}
		// S-B is taken by alice: it waits no more, is due later.
		b.WaitingSince, b.Agent, b.ActiveAgent, b.Due = time.Time{}, "alice", "alice", base.Add(time.Hour)
		return tx.PutSession(b)
	})
	view(t, s, func(r store.Reader) error {
		if id, err := r.SessionByToken("tok-S-A"); id != "S-A" || err != nil {
			t.Errorf("SessionByToken = %q, %v", id, err)
		}
		if _, err := r.SessionByToken("nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown token: %v, want ErrNotFound", err)
		}
		if due, err := r.DueSessions(base.Add(10*time.Minute), 10); err != nil || !slices.Equal(due, []string{"S-A", "S-C"}) {
			t.Errorf("DueSessions = %v, %v; want [S-A S-C] (S-B due later)", due, err)
		}
		if due, _ := r.DueSessions(base.Add(2*time.Hour), 2); !slices.Equal(due, []string{"S-A", "S-C"}) {
			t.Errorf("DueSessions limit 2 = %v, want the earliest two", due)
		}
		var waiting []string
		ws, err := r.WaitingSessions("Support", 0)
		for _, w := range ws {
			waiting = append(waiting, w.Session)
		}
		if err != nil || !slices.Equal(waiting, []string{"S-A", "S-C"}) {
			t.Errorf("WaitingSessions = %v, %v; want [S-A S-C], longest waiting first", waiting, err)
		}
		if n, err := r.ActiveCount("alice"); n != 1 || err != nil {
			t.Errorf("ActiveCount = %d, %v", n, err)
		}
		if ids, err := r.ActiveSessions("alice"); !slices.Equal(ids, []string{"S-B"}) || err != nil {
			t.Errorf("ActiveSessions = %v, %v", ids, err)
		}
		var all []string
		err = r.EachSession(func(x store.Session) error { all = append(all, x.ID); return nil })
		if err != nil || !slices.Equal(all, []string{"S-A", "S-B", "S-C"}) {
			t.Errorf("EachSession = %v, %v; want ID order", all, err)
		}
		return nil
	})
}

// Sessions are found oldest first by the time of their status.
func sessionsInStatus(t *testing.T, s store.Store) {
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
	view(t, s, func(rd store.Reader) error {
		return rd.SessionsInStatus("Closed", base.Add(2*time.Hour), func(id string, since time.Time) (bool, error) {
			got = append(got, id+"@"+since.UTC().Format("15"))
			return true, nil
		})
	})
	if strings.Join(got, " ") != "S-ONE@10 S-TWO@11" {
		t.Errorf("closed until 11:00: %v", got)
	}
}

// The per-queue status counts follow every status and queue change.
func sessionCountsFollowChanges(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, x := range []store.Session{
			{ID: "S-A", Queue: "Support", Status: "Unopened"},
			{ID: "S-B", Queue: "Support", Status: "Unopened"},
			{ID: "S-C", Queue: "Billing", Status: "Active"},
		} {
			if err := tx.PutSession(x); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		// S-B is answered, S-C moves queue.
		if err := tx.PutSession(store.Session{ID: "S-B", Queue: "Support", Status: "Active"}); err != nil {
			return err
		}
		return tx.PutSession(store.Session{ID: "S-C", Queue: "Support", Status: "Active"})
	})
	want := map[string]map[string]int{"Support": {"Unopened": 1, "Active": 2}}
	view(t, s, func(rd store.Reader) error {
		got, err := rd.SessionCounts()
		if err != nil || !maps.EqualFunc(got, want, func(x, y map[string]int) bool { return maps.Equal(x, y) }) {
			t.Errorf("counts = %v, %v; want %v", got, err, want)
		}
		return nil
	})
}

// A session's events come back in the order they were added, also when
// they share a time.
func eventsInOrder(t *testing.T, s store.Store) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	kinds := []string{"received", "assigned", "opened", "replied"}
	update(t, s, func(tx store.Tx) error { return tx.PutSession(store.Session{ID: "S-EV"}) })
	for _, k := range kinds {
		update(t, s, func(tx store.Tx) error {
			return tx.AddEvent(store.Event{Session: "S-EV", Time: at, Kind: k, Actor: "system"})
		})
	}
	view(t, s, func(r store.Reader) error {
		evs, err := r.Events("S-EV")
		var got []string
		for _, e := range evs {
			got = append(got, e.Kind)
		}
		if err != nil || !slices.Equal(got, kinds) {
			t.Errorf("events = %v, %v; want %v", got, err, kinds)
		}
		return nil
	})
}

// DeleteSession removes every trace of a session but its token and
// Message-IDs, which lead to the archived record.
func deleteSession(t *testing.T, s store.Store) {
	m := filled(t, s)
	var removed []store.Change
	s.SetObserver(func(cs []store.Change) { removed = append(removed, cs...) })
	update(t, s, func(tx store.Tx) error {
		return tx.DeleteSession("S-FILLED", store.Archived{Queue: "Support", Location: "s3://b/Support/2026/12/S-FILLED/"})
	})
	if len(removed) != 2 || removed[0].Kind != store.MessageRemoved || removed[1].Kind != store.MessageRemoved {
		t.Errorf("changes published: %+v, want two MessageRemoved", removed)
	}
	view(t, s, func(rd store.Reader) error {
		if _, err := rd.Session("S-FILLED"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session: %v", err)
		}
		if msgs, _ := rd.Messages(m.Mailbox, 0, 0); len(msgs) != 0 {
			t.Errorf("%d messages left", len(msgs))
		}
		if n, _ := rd.OutboundCount(); n != 0 {
			t.Errorf("%d outbound rows left", n)
		}
		if evs, _ := rd.Events("S-FILLED"); len(evs) != 0 {
			t.Errorf("%d events left", len(evs))
		}
		if _, err := rd.Blob(m.Blob); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the body of the removed messages: %v", err)
		}
		a, err := rd.Archived("S-FILLED")
		if err != nil || a.Token != "tok1" || a.ID != "S-FILLED" {
			t.Errorf("archived record: %+v %v", a, err)
		}
		if id, err := rd.SessionByToken("tok1"); id != "S-FILLED" || err != nil {
			t.Errorf("token: %q %v", id, err)
		}
		if id, err := rd.SessionByMessageID("m1@customer.test"); id != "S-FILLED" || err != nil {
			t.Errorf("Message-ID: %q %v", id, err)
		}
		return nil
	})
	// Restored: the session is back, the archived record goes.
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutSession(store.Session{ID: "S-FILLED", Queue: "Support", Token: "tok1"}); err != nil {
			return err
		}
		return tx.DropArchived("S-FILLED")
	})
	view(t, s, func(rd store.Reader) error {
		if _, err := rd.Archived("S-FILLED"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("archived record after DropArchived: %v", err)
		}
		return nil
	})
}

// A session with CRM events still to deliver is not removed (the CRM
// would miss them); once they are dead letters, they go with it.
func deleteSessionWaitsForCRMEvents(t *testing.T, s store.Store) {
	filled(t, s)
	var h store.Hook
	update(t, s, func(tx store.Tx) (err error) {
		h, err = tx.EnqueueHook(store.Hook{WebhookID: "msg_1", Session: "S-FILLED", Type: "ticket.comment", Kind: "link"})
		return err
	})
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		return tx.DeleteSession("S-FILLED", store.Archived{Queue: "Support"})
	})
	if !errors.Is(err, store.ErrBusy) {
		t.Fatalf("DeleteSession with a live CRM event: %v, want ErrBusy", err)
	}
	update(t, s, func(tx store.Tx) error {
		h.Dead = true
		return tx.UpdateHook(h)
	})
	update(t, s, func(tx store.Tx) error {
		return tx.DeleteSession("S-FILLED", store.Archived{Queue: "Support"})
	})
	view(t, s, func(rd store.Reader) error {
		if hooks, err := rd.Hooks(0); err != nil || len(hooks) != 0 {
			t.Errorf("CRM events left: %+v %v", hooks, err)
		}
		return nil
	})
}

// What is remembered of agents, automatic mail and imports reads back;
// nothing remembered reads as zero with the key set (not an error),
// except an import's state.
func rememberedState(t *testing.T, s store.Store) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	view(t, s, func(r store.Reader) error {
		if a, err := r.AgentState("alice"); err != nil || a.Login != "alice" || a.Away {
			t.Errorf("unknown agent: %+v, %v", a, err)
		}
		if a, err := r.AutoMail("c@customer.test"); err != nil || a.Address != "c@customer.test" || a.Count != 0 {
			t.Errorf("unknown address: %+v, %v", a, err)
		}
		if _, err := r.ImportState("help@upstream.test"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("import never started: %v, want ErrNotFound", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutAgentState(store.AgentState{Login: "alice", Away: true, LastAssigned: at,
			Day: map[string]string{"Support": "2026-06-01"}, Assigned: map[string]int{"Support": 3}}); err != nil {
			return err
		}
		if err := tx.PutAutoMail(store.AutoMail{Address: "c@customer.test", Day: "2026-06-01", Count: 2}, 0); err != nil {
			return err
		}
		return tx.PutImportState(store.ImportState{Account: "help@upstream.test", Folder: "INBOX", UIDValidity: 7, LastUID: 42, Start: at})
	})
	view(t, s, func(r store.Reader) error {
		if a, err := r.AgentState("alice"); err != nil || !a.Away || !a.LastAssigned.Equal(at) || a.Assigned["Support"] != 3 {
			t.Errorf("agent state: %+v, %v", a, err)
		}
		if a, err := r.AutoMail("c@customer.test"); err != nil || a.Count != 2 || a.Day != "2026-06-01" {
			t.Errorf("auto mail: %+v, %v", a, err)
		}
		if st, err := r.ImportState("help@upstream.test"); err != nil || st.LastUID != 42 || st.UIDValidity != 7 || !st.Start.Equal(at) {
			t.Errorf("import state: %+v, %v", st, err)
		}
		return nil
	})
}
