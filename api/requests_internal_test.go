package api

import (
	"context"
	"errors"
	"testing"

	"mxdesk/store"
	"mxdesk/testutil/teststore"
)

// recordRequest refuses, inside the delivery's transaction, a URI that
// another request recorded first (two posts passed the check before
// either was filed): the second delivery is rolled back and answered with
// the first one's session.
func TestRecordRequestOnce(t *testing.T) {
	st := teststore.Open(t, "", teststore.Options{NoSync: true})
	defer st.Close()
	record := func(mid string) error {
		return st.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
			return recordRequest(tx, "https://crm.example.test/case/1", mid)
		})
	}
	if err := record("first@mx"); err != nil {
		t.Fatal(err)
	}
	if err := record("second@mx"); !errors.Is(err, errRequestKnown) {
		t.Errorf("second record: %v, want errRequestKnown", err)
	}
	st.View(func(rd store.Reader) error {
		if mid, err := rd.RequestMessage("https://crm.example.test/case/1"); mid != "first@mx" {
			t.Errorf("the URI leads to %q (%v), want the first request's message", mid, err)
		}
		return nil
	})
}
