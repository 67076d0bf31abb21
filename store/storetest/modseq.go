package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"mxdesk/store"
)

// Mod-sequences (RFC 7162 CONDSTORE/QRESYNC).
func init() {
	registerBackend("ModSeqOfEveryChangeSurvivesReopen", modSeqOfEveryChangeSurvivesReopen)
	register("ModSeqStrictlyIncreasingPerMailbox", modSeqStrictlyIncreasingPerMailbox)
	register("FailedUpdateGivesModSeqBack", failedUpdateGivesModSeqBack)
	registerBackend("ExpungedKeptBounded", expungedKeptBounded)
}

func mailboxOf(t *testing.T, s store.Store, id store.MailboxID) store.Mailbox {
	t.Helper()
	var mb store.Mailbox
	view(t, s, func(r store.Reader) (err error) { mb, err = r.Mailbox(id); return err })
	return mb
}

func messageOf(t *testing.T, s store.Store, id store.MailboxID, uid store.UID) store.Message {
	t.Helper()
	var m store.Message
	view(t, s, func(r store.Reader) (err error) { m, err = r.Message(id, uid); return err })
	return m
}

func expunged(t *testing.T, s store.Store, id store.MailboxID, since uint64) []store.UID {
	t.Helper()
	var out []store.UID
	view(t, s, func(r store.Reader) (err error) { out, err = r.Expunged(id, since); return err })
	return out
}

// Every append, flag change and expunge takes the mailbox's next
// mod-sequence, published with its change; they, and the expunged UIDs,
// survive a restart.
func modSeqOfEveryChangeSurvivesReopen(t *testing.T, b Backend) {
	s := b.Open(t, Options{})
	var changes []store.Change
	s.SetObserver(func(c []store.Change) { changes = append(changes, c...) })
	mb := createMailbox(t, s, "alice@example.test", "INBOX")
	if mb.HighestModSeq != 1 {
		t.Errorf("new mailbox HIGHESTMODSEQ = %d, want 1", mb.HighestModSeq)
	}
	var added []store.Message
	update(t, s, func(tx store.Tx) error {
		for _, body := range []string{"one", "two"} {
			m, err := addMessage(tx, mb.ID, body, "")
			if err != nil {
				return err
			}
			added = append(added, m)
		}
		return nil
	})
	if added[0].ModSeq != 2 || added[1].ModSeq != 3 {
		t.Errorf("AddMessage mod-sequences %d, %d; want 2, 3", added[0].ModSeq, added[1].ModSeq)
	}
	update(t, s, func(tx store.Tx) error { return tx.SetFlags(mb.ID, 1, []string{`\Seen`}) })
	update(t, s, func(tx store.Tx) error { return tx.RemoveMessage(mb.ID, 2) })

	var got []uint64
	for _, c := range changes {
		if c.ModSeq != 0 {
			got = append(got, c.ModSeq)
		}
	}
	if want := []uint64{2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("changes' mod-sequences = %v, want %v", got, want)
	}
	s = b.Reopen(t, s)
	if m := messageOf(t, s, mb.ID, 1); m.ModSeq != 4 {
		t.Errorf("message 1 MODSEQ after restart = %d, want 4", m.ModSeq)
	}
	if h := mailboxOf(t, s, mb.ID).HighestModSeq; h != 5 {
		t.Errorf("HIGHESTMODSEQ after restart = %d, want 5", h)
	}
	if e := expunged(t, s, mb.ID, 4); !slices.Equal(e, []store.UID{2}) {
		t.Errorf("expunged since 4 = %v, want [2]", e)
	}
	if e := expunged(t, s, mb.ID, 5); len(e) != 0 {
		t.Errorf("expunged since 5 = %v, want none", e)
	}
	update(t, s, func(tx store.Tx) error { return tx.SetFlags(mb.ID, 1, nil) })
	if m := messageOf(t, s, mb.ID, 1); m.ModSeq != 6 {
		t.Errorf("MODSEQ of a change after restart = %d, want 6", m.ModSeq)
	}
}

// Concurrent changes to one mailbox each take their own mod-sequence
// (none shared, none skipped), in the order the feed publishes them; a
// second mailbox counts on its own.
func modSeqStrictlyIncreasingPerMailbox(t *testing.T, s store.Store) {
	var mu sync.Mutex
	seen := map[store.MailboxID][]uint64{}
	s.SetObserver(func(changes []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range changes {
			if c.ModSeq != 0 {
				seen[c.Mailbox] = append(seen[c.Mailbox], c.ModSeq)
			}
		}
	})
	busy := createMailbox(t, s, "", "Queues/Support")
	quiet := createMailbox(t, s, "", "Queues/Sales")
	update(t, s, func(tx store.Tx) error { _, err := addMessage(tx, busy.ID, "first", ""); return err })
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			update(t, s, func(tx store.Tx) error {
				if i%2 == 0 {
					return tx.SetFlags(busy.ID, 1, []string{`\Flagged`})
				}
				_, err := addMessage(tx, busy.ID, "x", "")
				return err
			})
		}()
	}
	wg.Wait()
	update(t, s, func(tx store.Tx) error { _, err := addMessage(tx, quiet.ID, "y", ""); return err })
	mu.Lock()
	defer mu.Unlock()
	want := make([]uint64, 41)
	for i := range want {
		want[i] = uint64(i + 2)
	}
	if !slices.Equal(seen[busy.ID], want) {
		t.Errorf("mod-sequences of the busy mailbox, in feed order: %v; want 2..42", seen[busy.ID])
	}
	if h := mailboxOf(t, s, busy.ID).HighestModSeq; h != 42 {
		t.Errorf("busy HIGHESTMODSEQ = %d, want 42", h)
	}
	if got := seen[quiet.ID]; !slices.Equal(got, []uint64{2}) {
		t.Errorf("mod-sequences of the other mailbox: %v, want [2]", got)
	}
}

// A rolled-back update's mod-sequences are given back: no client sees a
// HIGHESTMODSEQ that no change has.
func failedUpdateGivesModSeqBack(t *testing.T, s store.Store) {
	mb := createMailbox(t, s, "", "INBOX")
	update(t, s, func(tx store.Tx) error { _, err := addMessage(tx, mb.ID, "x", ""); return err })
	boom := errors.New("boom")
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		if err := tx.SetFlags(mb.ID, 1, []string{`\Seen`}); err != nil {
			return err
		}
		if err := tx.RemoveMessage(mb.ID, 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if h := mailboxOf(t, s, mb.ID).HighestModSeq; h != 2 {
		t.Errorf("HIGHESTMODSEQ after a rolled-back update = %d, want 2", h)
	}
	if e := expunged(t, s, mb.ID, 0); len(e) != 0 {
		t.Errorf("expunged after a rolled-back expunge: %v", e)
	}
	update(t, s, func(tx store.Tx) error { return tx.SetFlags(mb.ID, 1, []string{`\Seen`}) })
	if m := messageOf(t, s, mb.ID, 1); m.ModSeq != 3 {
		t.Errorf("next change's MODSEQ = %d, want 3", m.ModSeq)
	}
}

// The expunged UIDs kept are bounded by ExpungedKept; the floor says which
// expunges are forgotten; a deleted mailbox forgets its own (the backend's
// check on close finds none left).
func expungedKeptBounded(t *testing.T, b Backend) {
	s := b.Open(t, Options{ExpungedKept: 3})
	var mb store.Mailbox
	update(t, s, func(tx store.Tx) (err error) {
		if mb, err = tx.CreateMailbox(store.Mailbox{Owner: "alice@example.test", Name: "INBOX"}); err != nil {
			return err
		}
		for range 5 {
			if _, err := addMessage(tx, mb.ID, "x", ""); err != nil {
				return err
			}
		}
		return nil
	}) // modseqs 2..6
	for uid := store.UID(1); uid <= 5; uid++ {
		update(t, s, func(tx store.Tx) error { return tx.RemoveMessage(mb.ID, uid) }) // 7..11
	}
	mb = mailboxOf(t, s, mb.ID)
	if mb.ExpungedKept != 3 || mb.ExpungedFloor != 8 {
		t.Errorf("kept %d, floor %d; want 3, 8", mb.ExpungedKept, mb.ExpungedFloor)
	}
	if e := expunged(t, s, mb.ID, 0); !slices.Equal(e, []store.UID{3, 4, 5}) {
		t.Errorf("expunged = %v, want [3 4 5]", e)
	}
	if e := expunged(t, s, mb.ID, 9); !slices.Equal(e, []store.UID{4, 5}) {
		t.Errorf("expunged since 9 = %v, want [4 5]", e)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteMailbox(mb.ID) })
	other := createMailbox(t, s, "alice@example.test", "INBOX")
	if e := expunged(t, s, other.ID, 0); len(e) != 0 || other.ExpungedKept != 0 || other.ExpungedFloor != 0 {
		t.Errorf("a new mailbox of the same name: expunged %v, kept %d, floor %d", e, other.ExpungedKept, other.ExpungedFloor)
	}
}
