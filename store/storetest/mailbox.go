package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"mxdesk/panics"
	"mxdesk/store"
)

func init() {
	register("MailboxesAndMessages", mailboxesAndMessages)
	register("CreateMailboxNameTaken", createMailboxNameTaken)
	register("UIDValidityNeverReused", uidValidityNeverReused)
	register("RenameKeepsIDAndUIDs", renameKeepsIDAndUIDs)
	register("FailedUpdateLeavesNoTrace", failedUpdateLeavesNoTrace)
	register("ObserverSeesCommitsInOrder", observerSeesCommitsInOrder)
	register("OriginTravelsWithChanges", originTravelsWithChanges)
	register("BlobFreedWithLastCopy", blobFreedWithLastCopy)
	register("PanicInUpdateIsCounted", panicInUpdateIsCounted)
	register("KeptSubscriptions", keptSubscriptions)
}

func mailboxesAndMessages(t *testing.T, s store.Store) {
	mb := createMailbox(t, s, "alice", "INBOX")
	createMailbox(t, s, "alice", "Archive")
	createMailbox(t, s, "bob", "INBOX")
	update(t, s, func(tx store.Tx) error {
		for i := range 3 {
			if _, err := addMessage(tx, mb.ID, fmt.Sprintf("body %d", i), "S-AAAAA"); err != nil {
				return err
			}
		}
		return tx.SetFlags(mb.ID, 2, []string{"\\Seen", "$label1", "\\Seen"})
	})
	update(t, s, func(tx store.Tx) error { return tx.RemoveMessage(mb.ID, 1) })
	view(t, s, func(r store.Reader) error {
		got, err := r.MailboxByName("alice", "INBOX")
		if err != nil {
			return err
		}
		if got.ID != mb.ID || got.UIDValidity != mb.UIDValidity || got.UIDNext != 4 {
			t.Errorf("mailbox %+v, want id %d uidvalidity %d uidnext 4", got, mb.ID, mb.UIDValidity)
		}
		msgs, err := r.Messages(mb.ID, 0, 0)
		if err != nil {
			return err
		}
		if len(msgs) != 2 || msgs[0].UID != 2 || msgs[1].UID != 3 {
			t.Fatalf("messages = %+v, want UIDs 2,3", msgs)
		}
		if fmt.Sprint(msgs[0].Flags) != "[$label1 \\Seen]" {
			t.Errorf("flags = %v, want sorted without repeats", msgs[0].Flags)
		}
		if part, _ := r.Messages(mb.ID, 3, 3); len(part) != 1 || part[0].UID != 3 {
			t.Errorf("Messages(3, 3) = %+v", part)
		}
		if _, err := r.Message(mb.ID, 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removed message: %v, want ErrNotFound", err)
		}
		body, err := r.Blob(msgs[1].Blob)
		if err != nil || string(body) != "body 2" {
			t.Errorf("blob = %q, %v", body, err)
		}
		if sm, err := r.SessionMessages("S-AAAAA"); err != nil || len(sm) != 2 {
			t.Errorf("session messages = %v, %v", sm, err)
		}
		var names []string
		mbs, err := r.Mailboxes("alice")
		for _, m := range mbs {
			names = append(names, m.Name)
		}
		if err != nil || strings.Join(names, ",") != "Archive,INBOX" {
			t.Errorf("alice's mailboxes = %v, %v; want sorted by name, only hers", names, err)
		}
		return nil
	})
}

func createMailboxNameTaken(t *testing.T, s store.Store) {
	createMailbox(t, s, "bob", "INBOX")
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		_, err := tx.CreateMailbox(store.Mailbox{Owner: "bob", Name: "INBOX"})
		return err
	})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
}

// A name reused for a new mailbox gets a new UIDVALIDITY (RFC 3501
// 2.3.1.1), and its UIDs start again at 1.
func uidValidityNeverReused(t *testing.T, s store.Store) {
	seen := map[uint32]bool{}
	for range 3 {
		mb := createMailbox(t, s, "carol", "Drafts")
		if seen[mb.UIDValidity] {
			t.Fatalf("UIDVALIDITY %d given twice", mb.UIDValidity)
		}
		seen[mb.UIDValidity] = true
		if mb.UIDNext != 1 {
			t.Errorf("UIDNEXT of a new mailbox = %d, want 1", mb.UIDNext)
		}
		update(t, s, func(tx store.Tx) error {
			if _, err := addMessage(tx, mb.ID, "x", ""); err != nil {
				return err
			}
			return tx.DeleteMailbox(mb.ID)
		})
	}
}

// Renaming keeps the mailbox's ID, UIDVALIDITY and UIDNEXT.
func renameKeepsIDAndUIDs(t *testing.T, s store.Store) {
	mb := createMailbox(t, s, "dan", "Old")
	update(t, s, func(tx store.Tx) error {
		if _, err := addMessage(tx, mb.ID, "x", ""); err != nil {
			return err
		}
		m, err := tx.Mailbox(mb.ID)
		if err != nil {
			return err
		}
		m.Name, m.Subscribed, m.Keywords = "New", true, []string{"$Done"}
		return tx.UpdateMailbox(m)
	})
	view(t, s, func(r store.Reader) error {
		if _, err := r.MailboxByName("dan", "Old"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old name: %v, want ErrNotFound", err)
		}
		got, err := r.MailboxByName("dan", "New")
		if err != nil {
			return err
		}
		if got.ID != mb.ID || got.UIDValidity != mb.UIDValidity || got.UIDNext != 2 || !got.Subscribed || fmt.Sprint(got.Keywords) != "[$Done]" {
			t.Errorf("renamed mailbox %+v, want id %d uidvalidity %d uidnext 2, subscribed, [$Done]", got, mb.ID, mb.UIDValidity)
		}
		return nil
	})
}

// Many concurrent updates, every third failing after it wrote: only the
// good ones land, with dense UIDs (no gap a client could see).
func failedUpdateLeavesNoTrace(t *testing.T, s store.Store) {
	mb := createMailbox(t, s, "", "Queues/Support")
	boom := errors.New("boom")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
				if _, err := addMessage(tx, mb.ID, "x", ""); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, boom) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	view(t, s, func(r store.Reader) error {
		msgs, err := r.Messages(mb.ID, 0, 0)
		if len(msgs) != ok || ok != 40 {
			t.Errorf("%d messages stored (%v), %d updates succeeded, want 40", len(msgs), err, ok)
		}
		for i, m := range msgs {
			if m.UID != store.UID(i+1) {
				t.Fatalf("UIDs not dense: %d at %d", m.UID, i)
			}
		}
		return nil
	})
}

func observerSeesCommitsInOrder(t *testing.T, s store.Store) {
	var mu sync.Mutex
	var seen []store.UID
	s.SetObserver(func(changes []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range changes {
			if c.Kind == store.MessageAdded {
				seen = append(seen, c.UID)
			}
		}
	})
	mb := createMailbox(t, s, "", "Queues/Support")
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			update(t, s, func(tx store.Tx) error { _, err := addMessage(tx, mb.ID, "x", ""); return err })
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 100 {
		t.Fatalf("observer saw %d additions, want 100", len(seen))
	}
	for i, uid := range seen {
		if uid != store.UID(i+1) {
			t.Fatalf("observer order: %v", seen)
		}
	}
}

// Update returns after the observer got its changes, each carrying the
// writer's Origin (IMAP skips echoes of its own STORE).
func originTravelsWithChanges(t *testing.T, s store.Store) {
	var got []store.Change
	s.SetObserver(func(cs []store.Change) { got = append(got, cs...) })
	mb := createMailbox(t, s, "", "Queues/Support")
	type origin struct{ name string }
	me := &origin{"imap session 1"}
	err := s.Update(context.Background(), store.UpdateOptions{Origin: me}, func(tx store.Tx) error {
		m, err := addMessage(tx, mb.ID, "x", "")
		if err != nil {
			return err
		}
		return tx.SetFlags(mb.ID, m.UID, []string{"\\Seen"})
	})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []store.ChangeKind
	for _, c := range got {
		if c.Mailbox == mb.ID && c.Kind != store.MailboxCreated {
			kinds = append(kinds, c.Kind)
			if c.Origin != me {
				t.Errorf("change %+v: origin %v, want %v", c, c.Origin, me)
			}
		}
	}
	if fmt.Sprint(kinds) != fmt.Sprint([]store.ChangeKind{store.MessageAdded, store.FlagsChanged}) {
		t.Errorf("changes published by the time Update returned: %v, want MessageAdded, FlagsChanged", kinds)
	}
	if last := got[len(got)-1]; fmt.Sprint(last.Flags) != "[\\Seen]" {
		t.Errorf("FlagsChanged carries %v, want [\\Seen]", last.Flags)
	}
}

func blobFreedWithLastCopy(t *testing.T, s store.Store) {
	var a, b store.Mailbox
	var m store.Message
	update(t, s, func(tx store.Tx) (err error) {
		if a, err = tx.CreateMailbox(store.Mailbox{Name: "A"}); err != nil {
			return err
		}
		if b, err = tx.CreateMailbox(store.Mailbox{Name: "B"}); err != nil {
			return err
		}
		if m, err = addMessage(tx, a.ID, "shared body", ""); err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{Mailbox: b.ID, Blob: m.Blob})
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.RemoveMessage(a.ID, m.UID) })
	view(t, s, func(r store.Reader) error {
		if _, err := r.Blob(m.Blob); err != nil {
			t.Errorf("blob gone while a copy remains: %v", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteMailbox(b.ID) })
	view(t, s, func(r store.Reader) error {
		if _, err := r.Blob(m.Blob); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob kept after its last copy went: %v", err)
		}
		return nil
	})
}

// An update function that panics fails its Update with an error, is
// counted as a recovered panic, and the store goes on committing.
func panicInUpdateIsCounted(t *testing.T, s store.Store) {
	before := panics.Counts()[panics.StoreWriter]
	err := s.Update(context.Background(), store.UpdateOptions{}, func(store.Tx) error {
		panic(panics.Deliberate("bug in an update"))
	})
	if err == nil || !strings.Contains(err.Error(), "bug in an update") {
		t.Errorf("Update of a panicking function: %v", err)
	}
	if got := panics.Counts()[panics.StoreWriter] - before; got != 1 {
		t.Errorf("%d panics counted, want 1", got)
	}
	createMailbox(t, s, "", "Queues/Support")
}

// DELETE keeps a subscription (RFC 3501 6.3.6): it is listed until
// forgotten.
func keptSubscriptions(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, name := range []string{"Gone/B", "Gone/A", "Other"} {
			if err := tx.KeepSubscription("erin", name, true); err != nil {
				return err
			}
		}
		return tx.KeepSubscription("erin", "Other", false)
	})
	view(t, s, func(r store.Reader) error {
		got, err := r.KeptSubscriptions("erin")
		if err != nil || strings.Join(got, ",") != "Gone/A,Gone/B" {
			t.Errorf("kept subscriptions = %v, %v; want sorted, without the forgotten one", got, err)
		}
		if other, _ := r.KeptSubscriptions("frank"); len(other) != 0 {
			t.Errorf("another owner's subscriptions: %v", other)
		}
		return nil
	})
}
