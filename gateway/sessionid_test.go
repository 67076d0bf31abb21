package gateway_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/testutil"
)

// TestOldAlphabetSessionIDStillThreads: a session whose ID was drawn
// before 2/Z, 5/S and 8/B left the alphabet still takes the customer's
// reply by its subject tag (typed in lower case) and by its reply
// address, and mxdesk session show finds it.
func TestOldAlphabetSessionIDStillThreads(t *testing.T) {
	cfg := testutil.Config(t, "")
	const id, token = "S-2Z5B8", "oldtoken2z5b8"
	putOldSession(t, cfg.DataDir, store.Session{
		ID: id, Queue: "Support", Agent: "alice@example.test", Status: router.StatusActive,
		Customer: "carla@customer.test", Subject: "help", Token: token,
		Participants: []string{"carla@customer.test"},
	})
	g := startGatewayCfg(t, cfg)
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")

	sendRawMX(t, g, "carla@customer.test", "support@example.test",
		"From: carla@customer.test\r\nTo: support@example.test\r\nSubject: Re: help [s-2z5b8]\r\nMessage-ID: <old-1@customer.test>\r\n\r\nstill waiting\r\n")
	sendRawMX(t, g, "carla@customer.test", "support+"+token+"@example.test",
		"From: carla@customer.test\r\nTo: support+"+token+"@example.test\r\nSubject: another thing\r\nMessage-ID: <old-2@customer.test>\r\n\r\nand this\r\n")

	rep, err := g.Router().Report("s-2z5b8")
	if err != nil {
		t.Fatalf("session show s-2z5b8: %v", err)
	}
	if len(rep.Messages) != 2 {
		t.Errorf("session %s has %d messages, want both replies", id, len(rep.Messages))
	}
	if n := countIn(t, alice, "INBOX"); n != 2 {
		t.Errorf("alice's INBOX has %d messages, want the 2 replies of %s", n, id)
	}
}

// putOldSession writes s into the store of dataDir before the gateway
// opens it, as an older version left it.
func putOldSession(t *testing.T, dataDir string, s store.Session) {
	t.Helper()
	st, err := badgerstore.Open(filepath.Join(dataDir, "store"), badgerstore.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.Created, s.StatusSince, s.LastActivity, s.Updated = now, now, now, now
	err = st.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error { return tx.PutSession(s) })
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
