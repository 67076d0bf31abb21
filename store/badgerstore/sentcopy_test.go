package badgerstore

import (
	"errors"
	"testing"

	"mxdesk/store"
)

// TestSentCopyKeepsItsBlob: a sent copy holds a counted reference on its
// blob (the queued message may leave first), Check counts it, a second
// Put of the same copy is kept once, and the blob goes with the removal.
func TestSentCopyKeepsItsBlob(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var ob store.Outbound
	update(t, s, func(tx store.Tx) error {
		blob, err := tx.PutBlob([]byte("the reply"))
		if err != nil {
			return err
		}
		ob, err = tx.Enqueue(store.Outbound{Session: "S-1", Blob: blob, To: []string{"c@customer.test"}})
		return err
	})
	sc := store.SentCopy{Account: "help@upstream.test", Outbound: ob.ID, Blob: ob.Blob}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutSentCopy(sc); err != nil {
			return err
		}
		if err := tx.PutSentCopy(sc); err != nil {
			return err
		}
		return tx.RemoveOutbound(ob.ID)
	})
	checkClean(t, s)
	s.View(func(r store.Reader) error {
		got, err := r.SentCopies(sc.Account, 0)
		if err != nil || len(got) != 1 || got[0] != sc {
			t.Errorf("SentCopies = %+v, %v; want [%+v]", got, err, sc)
		}
		if _, err := r.Blob(sc.Blob); err != nil {
			t.Errorf("the copy's blob went with the queued message: %v", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.RemoveSentCopy(sc.Account, sc.Outbound) })
	checkClean(t, s)
	s.View(func(r store.Reader) error {
		if _, err := r.Blob(sc.Blob); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob kept after its sent copy went: %v", err)
		}
		return nil
	})
}

func checkClean(t *testing.T, s *Store) {
	t.Helper()
	r, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Errorf("Check: %v", r.Problems)
	}
}
