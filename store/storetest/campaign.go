package storetest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"mxdesk/store"
)

// Campaigns and the suppression list.
func init() {
	register("CampaignCountsAndSessionIndex", campaignCountsAndSessionIndex)
	register("CampaignRowsDeletedInBatches", campaignRowsDeletedInBatches)
	register("SuppressionKeepsFirstReason", suppressionKeepsFirstReason)
}

func campaignOf(t *testing.T, s store.Store, id uint64) store.Campaign {
	t.Helper()
	var c store.Campaign
	view(t, s, func(r store.Reader) (err error) { c, err = r.Campaign(id); return err })
	return c
}

func wantCounts(t *testing.T, s store.Store, id uint64, want map[string]int) {
	t.Helper()
	if got := campaignOf(t, s, id).Counts; !maps.Equal(got, want) {
		t.Errorf("campaign %d counts %v, want %v", id, got, want)
	}
}

// newCampaign stores a campaign of n queued rows.
func newCampaign(t *testing.T, s store.Store, n int) store.Campaign {
	t.Helper()
	var c store.Campaign
	update(t, s, func(tx store.Tx) (err error) {
		c, err = tx.PutCampaign(store.Campaign{Queue: "Sales", Template: "promo", State: store.CampaignLoading,
			Rows: n, Counts: map[string]int{"bogus": 9}, Created: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
		if err != nil {
			return err
		}
		for row := 1; row <= n; row++ {
			err := tx.PutCampaignRecipient(store.CampaignRecipient{Campaign: c.ID, Row: row, Line: row + 1,
				Email: "c" + string(rune('0'+row)) + "@customer.test", State: store.RecipientQueued})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return c
}

// IDs are given in order; Counts follow every row put (a state change
// moves a count, replies and unsubscriptions count beside the state),
// PutCampaign leaves them as they are; a row's session finds it, and a
// row given another session is no longer found by the old one.
func campaignCountsAndSessionIndex(t *testing.T, s store.Store) {
	first := newCampaign(t, s, 3)
	second := newCampaign(t, s, 1)
	if first.ID == 0 || second.ID <= first.ID {
		t.Fatalf("campaign IDs %d, %d: want increasing from 1", first.ID, second.ID)
	}
	if first.Counts != nil {
		t.Errorf("a new campaign's counts: %v, want none (the store keeps them)", first.Counts)
	}
	wantCounts(t, s, first.ID, map[string]int{store.RecipientQueued: 3})
	first.State, first.Counts = store.CampaignRunning, nil
	update(t, s, func(tx store.Tx) error { _, err := tx.PutCampaign(first); return err })
	wantCounts(t, s, first.ID, map[string]int{store.RecipientQueued: 3})

	sent := func(row int, session string) store.CampaignRecipient {
		return store.CampaignRecipient{Campaign: first.ID, Row: row, Line: row + 1, State: store.RecipientSent, Session: session}
	}
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.PutCampaignRecipient(sent(1, "S-1")), tx.PutCampaignRecipient(sent(2, "S-2")))
	})
	replied := sent(1, "S-1")
	replied.Replied, replied.Unsubscribed = true, true
	moved := sent(2, "S-2b")
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.PutCampaignRecipient(replied), tx.PutCampaignRecipient(moved))
	})
	wantCounts(t, s, first.ID, map[string]int{store.RecipientQueued: 1, store.RecipientSent: 2,
		store.CountReplied: 1, store.CountUnsubscribed: 1})
	wantCounts(t, s, second.ID, map[string]int{store.RecipientQueued: 1})
	view(t, s, func(r store.Reader) error {
		if got, err := r.CampaignRecipientBySession("S-1"); err != nil || got.Row != 1 || !got.Replied {
			t.Errorf("CampaignRecipientBySession(S-1) = %+v, %v", got, err)
		}
		if got, err := r.CampaignRecipientBySession("S-2b"); err != nil || got.Row != 2 {
			t.Errorf("CampaignRecipientBySession(S-2b) = %+v, %v", got, err)
		}
		if _, err := r.CampaignRecipientBySession("S-2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the row's old session still finds it: %v", err)
		}
		rows, err := r.CampaignRecipients(first.ID, 2, 0)
		if err != nil || len(rows) != 2 || rows[0].Row != 2 || rows[1].Row != 3 {
			t.Errorf("CampaignRecipients(from 2) = %+v, %v; want rows 2, 3", rows, err)
		}
		if rows, _ := r.CampaignRecipients(first.ID, 1, 1); len(rows) != 1 || rows[0].Row != 1 {
			t.Errorf("CampaignRecipients(limit 1) = %+v; want row 1", rows)
		}
		all, err := r.Campaigns()
		if err != nil || len(all) != 2 || all[0].ID != first.ID || all[1].ID != second.ID {
			t.Errorf("Campaigns = %+v, %v; want in ID order", all, err)
		}
		return nil
	})
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		return tx.PutCampaignRecipient(store.CampaignRecipient{Campaign: 999, Row: 1, State: store.RecipientQueued})
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a row of a missing campaign: %v, want ErrNotFound", err)
	}
}

// A large list is deleted in batches, each taking its rows out of the
// counts; the campaign itself goes only once its rows have.
func campaignRowsDeletedInBatches(t *testing.T, s store.Store) {
	c := newCampaign(t, s, 5)
	update(t, s, func(tx store.Tx) error {
		return tx.PutCampaignRecipient(store.CampaignRecipient{Campaign: c.ID, Row: 5, State: store.RecipientSent, Session: "S-5"})
	})
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error { return tx.DeleteCampaign(c.ID) })
	if err == nil {
		t.Fatal("DeleteCampaign of a campaign with rows succeeded")
	}
	var n int
	update(t, s, func(tx store.Tx) (err error) { n, err = tx.DeleteCampaignRows(c.ID, 3); return err })
	if n != 3 {
		t.Errorf("DeleteCampaignRows(3) removed %d", n)
	}
	wantCounts(t, s, c.ID, map[string]int{store.RecipientQueued: 1, store.RecipientSent: 1})
	update(t, s, func(tx store.Tx) (err error) { n, err = tx.DeleteCampaignRows(c.ID, 3); return err })
	if n != 2 {
		t.Errorf("second DeleteCampaignRows(3) removed %d, want 2", n)
	}
	wantCounts(t, s, c.ID, nil)
	update(t, s, func(tx store.Tx) error { return tx.DeleteCampaign(c.ID) })
	view(t, s, func(r store.Reader) error {
		if _, err := r.Campaign(c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Campaign after DeleteCampaign: %v", err)
		}
		if _, err := r.CampaignRecipientBySession("S-5"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a deleted row's session still finds it: %v", err)
		}
		return nil
	})
}

// An address already suppressed keeps its first reason.
func suppressionKeepsFirstReason(t *testing.T, s store.Store) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	first := store.Suppression{Address: "c@customer.test", Reason: "unsubscribed", Campaign: 4, At: at}
	update(t, s, func(tx store.Tx) error { return tx.Suppress(first) })
	update(t, s, func(tx store.Tx) error {
		return tx.Suppress(store.Suppression{Address: "c@customer.test", Reason: "bounced: 550 no such user", At: at.Add(time.Hour)})
	})
	view(t, s, func(r store.Reader) error {
		if got, err := r.Suppressed("c@customer.test"); err != nil || got.Reason != "unsubscribed" || got.Campaign != 4 || !got.At.Equal(at) {
			t.Errorf("Suppressed = %+v, %v; want the first", got, err)
		}
		if _, err := r.Suppressed("other@customer.test"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Suppressed of another address: %v", err)
		}
		return nil
	})
}
