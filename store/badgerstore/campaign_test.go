package badgerstore

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// TestCampaignCountsAndIndex: PutCampaignRecipient keeps the campaign's
// counts and the session index, PutCampaign leaves the counts alone,
// DeleteCampaignRows takes both away, and Check finds counts or an index
// entry that don't match the rows.
func TestCampaignCountsAndIndex(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var c store.Campaign
	update(t, s, func(tx store.Tx) (err error) {
		if c, err = tx.PutCampaign(store.Campaign{Queue: "Support", State: store.CampaignRunning}); err != nil {
			return err
		}
		for row := 1; row <= 3; row++ {
			r := store.CampaignRecipient{Campaign: c.ID, Row: row, Email: "c@x.test", State: store.RecipientQueued}
			if err := tx.PutCampaignRecipient(r); err != nil {
				return err
			}
		}
		r := store.CampaignRecipient{Campaign: c.ID, Row: 2, Email: "c@x.test", State: store.RecipientSent, Session: "S-2", Replied: true}
		if err := tx.PutCampaignRecipient(r); err != nil {
			return err
		}
		c.Counts = map[string]int{"queued": 99}
		_, err = tx.PutCampaign(c) // counts are the store's
		return err
	})
	checkClean(t, s)
	s.View(func(rd store.Reader) error {
		got, _ := rd.Campaign(c.ID)
		if want := map[string]int{"queued": 2, "sent": 1, "replied": 1}; !maps.Equal(got.Counts, want) {
			t.Errorf("counts %v, want %v", got.Counts, want)
		}
		if r, err := rd.CampaignRecipientBySession("S-2"); err != nil || r.Row != 2 {
			t.Errorf("by session: %+v %v", r, err)
		}
		return nil
	})

	corrupt(t, s, func(txn *badger.Txn) error {
		var cur store.Campaign
		item, _ := txn.Get(campaignKey(c.ID))
		item.Value(func(v []byte) error { return json.Unmarshal(v, &cur) })
		cur.Counts["sent"] = 5
		b, _ := json.Marshal(cur)
		if err := txn.Set(campaignKey(c.ID), b); err != nil {
			return err
		}
		return txn.Delete(campaignSessionKey("S-2"))
	})
	rep, _ := s.Check()
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.String())
	}
	if len(got) != 2 || !strings.Contains(got[0], "its rows count map[queued:2 replied:1 sent:1]") || !strings.HasSuffix(got[1], "S-2: missing index entry") {
		t.Errorf("Check after damage: %q", got)
	}
	update(t, s, func(tx store.Tx) error {
		if n, err := tx.DeleteCampaignRows(c.ID, 10); err != nil || n != 3 {
			return errors.Join(err, errors.New("not 3 rows"))
		}
		return tx.DeleteCampaign(c.ID)
	})
	checkClean(t, s)
}
