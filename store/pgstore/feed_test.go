package pgstore

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
	"mxdesk/testutil/pgtest"
)

// Every commit that changes something is numbered in the changes table,
// in commit order, and announced by NOTIFY mxdesk_changes with its
// number: what another node's feed will read.
func TestChangeFeedNumberedAndNotified(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).NewDB(t)
	s, err := Open(ctx, dsn, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	listener, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN mxdesk_changes"); err != nil {
		t.Fatal(err)
	}
	var mb store.Mailbox
	if err := s.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		err := s.Update(ctx, store.UpdateOptions{Origin: "local"}, func(tx store.Tx) error {
			blob, err := tx.PutBlob([]byte("x"))
			if err != nil {
				return err
			}
			_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for want := 1; want <= 4; want++ {
		n, err := listener.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Channel != "mxdesk_changes" || n.Payload != strconv.Itoa(want) {
			t.Fatalf("notification %d: %s %q, want mxdesk_changes %q", want, n.Channel, n.Payload, strconv.Itoa(want))
		}
	}
	rows, err := listener.Query(ctx, "SELECT data FROM changes ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	batches, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var uids []store.UID
	for _, b := range batches[1:] {
		var cs []store.Change
		if err := json.Unmarshal(b, &cs); err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Origin != nil {
				t.Errorf("change %+v carries its node's origin", c)
			}
			uids = append(uids, c.UID)
		}
	}
	if !slices.Equal(uids, []store.UID{1, 2, 3}) {
		t.Errorf("changes table: UIDs %v, want [1 2 3]", uids)
	}
}

// The Observer sees this node's commits in the order of their feed
// numbers (the commit order every node reads), also when nothing else
// orders them: concurrent deliveries to different mailboxes.
func TestObserverOrderIsFeedOrder(t *testing.T) {
	s := openTest(t)
	const n = 40
	mbs := make([]store.Mailbox, n)
	if err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) (err error) {
		for i := range mbs {
			if mbs[i], err = tx.CreateMailbox(store.Mailbox{Name: "Box" + strconv.Itoa(i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var observed []store.MailboxID
	s.SetObserver(func(cs []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			observed = append(observed, c.Mailbox)
		}
	})
	var wg sync.WaitGroup
	for _, mb := range mbs {
		wg.Go(func() {
			err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
				blob, err := tx.PutBlob([]byte("x"))
				if err != nil {
					return err
				}
				_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob})
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var fed []store.MailboxID
	err := s.View(func(r store.Reader) error {
		rows, err := r.(*tx).q.Query(context.Background(), "SELECT data FROM changes ORDER BY seq OFFSET 1")
		if err != nil {
			return err
		}
		batches, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		for _, b := range batches {
			var cs []store.Change
			if err := json.Unmarshal(b, &cs); err != nil {
				return err
			}
			for _, c := range cs {
				fed = append(fed, c.Mailbox)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(observed, fed) {
		t.Fatalf("observer order %v\nfeed order     %v", observed, fed)
	}
}
