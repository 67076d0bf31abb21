package router_test

import (
	"context"
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/teststore"
)

// TestCampaignRowFollowsDelivery: a campaign message's row goes sent →
// deferred after a failed attempt that leaves it queued → sent once the
// message is delivered; SendCampaign files the session Closed and
// unassigned with the message queued for delivery.
func TestCampaignRowFollowsDelivery(t *testing.T) {
	clock := testutil.NewClock()
	db := teststore.Open(t, "", teststore.Options{})
	defer db.Close()
	r, err := router.New(testutil.Config(t, ""), db, router.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var c store.Campaign
	err = db.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) (err error) {
		if c, err = tx.PutCampaign(store.Campaign{Queue: "Support", State: store.CampaignRunning}); err != nil {
			return err
		}
		return tx.PutCampaignRecipient(store.CampaignRecipient{Campaign: c.ID, Row: 1, Email: "ann@customer.test", State: store.RecipientQueued})
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := r.SendCampaign(ctx, []router.CampaignSend{{
		Queue: "Support", Customer: "ann@customer.test", Subject: "Welcome",
		Prepare: func(store.Tx) (bool, error) { return true, nil },
		Compose: func(id router.CampaignIdentity) ([]byte, error) {
			return []byte("From: " + id.From + "\r\nTo: ann@customer.test\r\nSubject: Welcome\r\nMessage-Id: <w-1@mx.example.test>\r\n\r\nHello\r\n"), nil
		},
		Sent: func(tx store.Tx, s store.Session) error {
			row, err := tx.CampaignRecipient(c.ID, 1)
			row.State, row.Session = store.RecipientSent, s.ID
			if err == nil {
				err = tx.PutCampaignRecipient(row)
			}
			return err
		},
	}})
	if err != nil || len(ids) != 1 || ids[0] == "" {
		t.Fatalf("SendCampaign = %v, %v", ids, err)
	}
	var ob store.Outbound
	r.View(func(rd store.Reader) error {
		s, _ := rd.Session(ids[0])
		if s.Status != router.StatusClosed || s.Agent != "" {
			t.Errorf("session %s: %s, agent %q; want Closed and unassigned", s.ID, s.Status, s.Agent)
		}
		due, _ := rd.DueOutbound(clock.Now(), 10)
		if len(due) != 1 || due[0].Session != ids[0] {
			t.Fatalf("queued: %+v", due)
		}
		ob = due[0]
		return nil
	})
	state := func() string {
		var row store.CampaignRecipient
		r.View(func(rd store.Reader) (err error) { row, err = rd.CampaignRecipient(c.ID, 1); return err })
		return row.State
	}
	if _, _, err := r.RecordOutbound(ctx, ob.ID, router.OutboundProgress{Attempted: true, LastError: "451 later", NextAttempt: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != store.RecipientDeferred {
		t.Errorf("after a failed attempt: %s, want deferred", s)
	}
	if _, _, err := r.RecordOutbound(ctx, ob.ID, router.OutboundProgress{Attempted: true, Done: []string{"ann@customer.test"}}); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != store.RecipientSent {
		t.Errorf("after delivery: %s, want sent", s)
	}
}
