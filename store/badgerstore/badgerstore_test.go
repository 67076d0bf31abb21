package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"mxdesk/store"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func update(t *testing.T, s *Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), store.UpdateOptions{}, fn); err != nil {
		t.Fatal(err)
	}
}

// addMessage files body in mbox, in session (created if new: a message's
// session must exist) unless "".
func addMessage(tx store.Tx, mbox store.MailboxID, body string, session string) (store.Message, error) {
	if _, err := tx.Session(session); session != "" && errors.Is(err, store.ErrNotFound) {
		if err := tx.PutSession(store.Session{ID: session}); err != nil {
			return store.Message{}, err
		}
	}
	blob, err := tx.PutBlob([]byte(body))
	if err != nil {
		return store.Message{}, err
	}
	return tx.AddMessage(store.Message{Mailbox: mbox, Blob: blob, Size: int64(len(body)), Session: session})
}

func TestMailboxesMessagesAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var mb store.Mailbox
	update(t, s, func(tx store.Tx) error {
		var err error
		mb, err = tx.CreateMailbox(store.Mailbox{Owner: "alice", Name: "INBOX"})
		if err != nil {
			return err
		}
		for i := range 3 {
			if _, err := addMessage(tx, mb.ID, fmt.Sprintf("body %d", i), "S-AAAAA"); err != nil {
				return err
			}
		}
		return tx.SetFlags(mb.ID, 2, []string{"\\Seen", "$label1", "\\Seen"})
	})
	update(t, s, func(tx store.Tx) error { return tx.RemoveMessage(mb.ID, 1) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	defer s.Close()
	err := s.View(func(r store.Reader) error {
		got, err := r.MailboxByName("alice", "INBOX")
		if err != nil {
			return err
		}
		if got.UIDValidity != mb.UIDValidity || got.UIDNext != 4 {
			t.Errorf("after restart: uidvalidity %d uidnext %d, want %d 4", got.UIDValidity, got.UIDNext, mb.UIDValidity)
		}
		msgs, err := r.Messages(mb.ID, 0, 0)
		if err != nil {
			return err
		}
		if len(msgs) != 2 || msgs[0].UID != 2 || msgs[1].UID != 3 {
			t.Fatalf("messages = %+v, want UIDs 2,3", msgs)
		}
		if fmt.Sprint(msgs[0].Flags) != "[$label1 \\Seen]" {
			t.Errorf("flags = %v", msgs[0].Flags)
		}
		body, err := r.Blob(msgs[1].Blob)
		if err != nil || string(body) != "body 2" {
			t.Errorf("blob = %q, %v", body, err)
		}
		sm, err := r.SessionMessages("S-AAAAA")
		if err != nil || len(sm) != 2 {
			t.Errorf("session messages = %v, %v", sm, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkGroupCommit(b *testing.B) {
	s, err := Open(b.TempDir(), Options{Sync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var mb store.Mailbox
	s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Q"})
		return err
	})
	body := make([]byte, 5000)
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
				blob, err := tx.PutBlob(body)
				if err != nil {
					return err
				}
				_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob})
				return err
			})
		}
	})
}
