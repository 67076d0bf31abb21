package badgerstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// TestAPITokenIndex: a token is found by its hash, a replacement moves the
// hash index, a deletion drops both, and Check rebuilds the index (a
// dangling or missing entry is a problem) and checks requests' messages.
func TestAPITokenIndex(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	tok := store.APIToken{Name: "crm", Role: "integrator", Hash: "aa11", Created: time.Unix(1, 0).UTC()}
	update(t, s, func(tx store.Tx) error { return tx.PutAPIToken(tok) })
	tok.Hash = "bb22"
	update(t, s, func(tx store.Tx) error { return tx.PutAPIToken(tok) })
	checkClean(t, s)
	s.View(func(r store.Reader) error {
		if got, err := r.APITokenByHash("bb22"); err != nil || got.Name != "crm" {
			t.Errorf("APITokenByHash(new) = %+v, %v", got, err)
		}
		if _, err := r.APITokenByHash("aa11"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the replaced secret still finds the token: %v", err)
		}
		return nil
	})
	corrupt(t, s, func(txn *badger.Txn) error { return txn.Delete(apiTokenHashKey("bb22")) })
	wantProblem(t, s, "missing index entry")
	update(t, s, func(tx store.Tx) error { return tx.PutAPIToken(tok) })
	update(t, s, func(tx store.Tx) error { return tx.DeleteAPIToken("crm") })
	checkClean(t, s)
	update(t, s, func(tx store.Tx) error { return tx.PutRequest("crm://1", "nowhere@x") })
	wantProblem(t, s, "in no session")
}

func wantProblem(t *testing.T, s *Store, what string) {
	t.Helper()
	r, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		if strings.Contains(p.What, what) {
			return
		}
	}
	t.Errorf("Check found %v, want a problem %q", r.Problems, what)
}
