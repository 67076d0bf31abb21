package badgerstore

import (
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// Check agrees with what DeleteSession leaves (the conformance suite's
// DeleteSession checks the rest), and notices an archived record that
// goes missing.
func TestDeleteSessionChecked(t *testing.T) {
	s, _ := filledStore(t)
	update(t, s, func(tx store.Tx) error {
		return tx.DeleteSession("S-CHECK", store.Archived{Queue: "Support", Location: "s3://b/Support/2026/12/S-CHECK/"})
	})
	r, err := s.Check()
	if err != nil || len(r.Problems) != 0 || r.Archived != 1 || r.Sessions != 0 {
		t.Fatalf("check after DeleteSession: %v %+v", err, r)
	}
	corrupt(t, s, func(txn *badger.Txn) error { return txn.Delete(key(pArchived, []byte("S-CHECK"))) })
	wantProblems(t, s, "tok/tok1: dangling index entry", `mid/m1@customer.test: leads to missing session "S-CHECK"`)
}

// Check rebuilds the index of sessions by status and its time (the
// conformance suite's SessionsInStatus reads it).
func TestSessionsInStatusChecked(t *testing.T) {
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
