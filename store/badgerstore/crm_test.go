package badgerstore

import (
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

func dueHookIDs(t *testing.T, s *Store, until time.Time) []uint64 {
	t.Helper()
	var ids []uint64
	err := s.View(func(r store.Reader) error {
		due, err := r.DueHooks(until, 100)
		for _, h := range due {
			ids = append(ids, h.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestHookLines: only the first live event of each session is due; a
// dead letter leaves the line and the next becomes due; a retried one
// takes its place again; Check rebuilds both indexes.
func TestHookLines(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	queued := 0
	s.SetObserver(func(cs []store.Change) {
		for _, c := range cs {
			if c.Kind == store.HookQueued {
				queued++
			}
		}
	})
	var a []store.Hook
	update(t, s, func(tx store.Tx) error {
		a = a[:0]
		for _, session := range []string{"S-AAAAA", "S-AAAAA", "S-BBBBB", "S-AAAAA"} {
			h, err := tx.EnqueueHook(store.Hook{Session: session, Type: "ticket.comment", Created: now, NextAttempt: now})
			if err != nil {
				return err
			}
			a = append(a, h)
		}
		return nil
	})
	if got := dueHookIDs(t, s, now); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("due = %v, want the first of each session [1 3]", got)
	}
	dead := a[0]
	dead.Dead, dead.LastError = true, "400 Bad Request"
	update(t, s, func(tx store.Tx) error { return tx.UpdateHook(dead) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, []uint64{2, 3}) {
		t.Fatalf("after a dead letter due = %v, want [2 3]", got)
	}
	later := a[1]
	later.NextAttempt, later.Attempts = now.Add(time.Minute), 1
	update(t, s, func(tx store.Tx) error { return tx.UpdateHook(later) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("a retried head keeps its line waiting: due = %v, want [3]", got)
	}
	update(t, s, func(tx store.Tx) error { return tx.RemoveHook(2) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("after removing the head due = %v, want [3 4]", got)
	}
	dead.Dead, dead.NextAttempt = false, now
	update(t, s, func(tx store.Tx) error { return tx.UpdateHook(dead) })
	if got := dueHookIDs(t, s, now); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("a retried dead letter is first again: due = %v, want [1 3]", got)
	}
	if queued < 4 {
		t.Errorf("HookQueued published %d times, want one per new head (4)", queued)
	}
	rep, err := s.Check()
	if err != nil || len(rep.Problems) > 0 || rep.Hooks != 3 {
		t.Fatalf("Check = %v, %d events, %v", rep.Problems, rep.Hooks, err)
	}
	corrupt(t, s, func(txn *badger.Txn) error { return txn.Delete(hookDueKey(dead)) })
	rep, _ = s.Check()
	if len(rep.Problems) != 1 || rep.Problems[0].String() != "crmd/2026-12-03T09:00:00Z/1: missing index entry" {
		t.Fatalf("Check after deleting a due entry = %v", rep.Problems)
	}
	corrupt(t, s, func(txn *badger.Txn) error { return txn.Set(hookDueKey(dead), nil) })
}
