package badgerstore

import (
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

func mailboxOf(t *testing.T, s *Store, id store.MailboxID) store.Mailbox {
	t.Helper()
	var mb store.Mailbox
	if err := s.View(func(rd store.Reader) (err error) { mb, err = rd.Mailbox(id); return err }); err != nil {
		t.Fatal(err)
	}
	return mb
}

func messageOf(t *testing.T, s *Store, id store.MailboxID, uid store.UID) store.Message {
	t.Helper()
	var m store.Message
	if err := s.View(func(rd store.Reader) (err error) { m, err = rd.Message(id, uid); return err }); err != nil {
		t.Fatal(err)
	}
	return m
}

func expunged(t *testing.T, s *Store, id store.MailboxID, since uint64) []store.UID {
	t.Helper()
	var out []store.UID
	if err := s.View(func(rd store.Reader) (err error) { out, err = rd.Expunged(id, since); return err }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every append, flag change and expunge takes the mailbox's next
// mod-sequence, published with its change, and they survive a restart.
func TestModSeqOfEveryChangeSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var changes []store.Change
	s.SetObserver(func(c []store.Change) { changes = append(changes, c...) })
	var mb store.Mailbox
	update(t, s, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Owner: "alice@example.test", Name: "INBOX"})
		return err
	})
	if mb.HighestModSeq != 1 {
		t.Errorf("new mailbox HIGHESTMODSEQ = %d, want 1", mb.HighestModSeq)
	}
	update(t, s, func(tx store.Tx) error {
		for _, body := range []string{"one", "two"} {
			if _, err := addMessage(tx, mb.ID, body, ""); err != nil {
				return err
			}
		}
		return nil
	})
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
	s.Close()
	s = open(t, dir)
	defer s.Close()
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

// The expunged UIDs kept are bounded; the floor says which expunges are
// forgotten.
func TestExpungedKeptBounded(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Sync: true, ExpungedKept: 3})
	if err != nil {
		t.Fatal(err)
	}
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
	// Deleting the mailbox forgets them: Check on close finds none left.
	update(t, s, func(tx store.Tx) error { return tx.DeleteMailbox(mb.ID) })
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// A store written before mod-sequences gives every message and mailbox
// mod-sequence 1 when opened.
func TestModSeqMigratedForOlderStore(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var mb store.Mailbox
	update(t, s, func(tx store.Tx) (err error) {
		if mb, err = tx.CreateMailbox(store.Mailbox{Owner: "alice@example.test", Name: "INBOX"}); err != nil {
			return err
		}
		_, err = addMessage(tx, mb.ID, "old", "")
		return err
	})
	corrupt(t, s, func(txn *badger.Txn) error {
		t := &tx{txn: txn}
		m, err := t.Message(mb.ID, 1)
		if err != nil {
			return err
		}
		m.ModSeq = 0
		if err := t.setJSON(msgKey(mb.ID, 1), m); err != nil {
			return err
		}
		if err := setMailbox(txn, mb.ID, func(mb *store.Mailbox) { mb.HighestModSeq = 0 }); err != nil {
			return err
		}
		return txn.Delete(modSeqMarker)
	})
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if m := messageOf(t, s, mb.ID, 1); m.ModSeq != 1 {
		t.Errorf("migrated message MODSEQ = %d, want 1", m.ModSeq)
	}
	if h := mailboxOf(t, s, mb.ID).HighestModSeq; h != 1 {
		t.Errorf("migrated HIGHESTMODSEQ = %d, want 1", h)
	}
}
