package badgerstore

import (
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
