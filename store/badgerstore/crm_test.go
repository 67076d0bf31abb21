package badgerstore

import (
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// TestHookLinesChecked: Check rebuilds the index of due CRM events (the
// first live one of each session's line; the conformance suite's
// HookLines checks the lines themselves).
func TestHookLinesChecked(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var first store.Hook
	update(t, s, func(tx store.Tx) error {
		for i, session := range []string{"S-AAAAA", "S-AAAAA", "S-BBBBB"} {
			h, err := tx.EnqueueHook(store.Hook{Session: session, Type: "ticket.comment", Created: now, NextAttempt: now})
			if err != nil {
				return err
			}
			if i == 0 {
				first = h
			}
		}
		return nil
	})
	rep, err := s.Check()
	if err != nil || len(rep.Problems) > 0 || rep.Hooks != 3 {
		t.Fatalf("Check = %v, %d events, %v", rep.Problems, rep.Hooks, err)
	}
	corrupt(t, s, func(txn *badger.Txn) error { return txn.Delete(hookDueKey(first)) })
	rep, _ = s.Check()
	if len(rep.Problems) != 1 || rep.Problems[0].String() != "crmd/2026-12-03T09:00:00Z/1: missing index entry" {
		t.Fatalf("Check after deleting a due entry = %v", rep.Problems)
	}
	corrupt(t, s, func(txn *badger.Txn) error { return txn.Set(hookDueKey(first), nil) })
}
