package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mxdesk/panics"
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

func TestFailedUpdateLeavesNoTrace(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var mb store.Mailbox
	update(t, s, func(tx store.Tx) error {
		var err error
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		return err
	})

	// Many concurrent updates in one batch, every third failing after it
	// wrote: only the good ones may land, with dense UIDs.
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
	s.View(func(r store.Reader) error {
		msgs, _ := r.Messages(mb.ID, 0, 0)
		if len(msgs) != ok || ok != 40 {
			t.Errorf("%d messages stored, %d updates succeeded, want 40", len(msgs), ok)
		}
		for i, m := range msgs {
			if m.UID != store.UID(i+1) {
				t.Fatalf("UIDs not dense: %d at %d", m.UID, i)
			}
		}
		return nil
	})
}

func TestObserverSeesCommitsInOrder(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
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
	var mb store.Mailbox
	update(t, s, func(tx store.Tx) error {
		var err error
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		return err
	})
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

func TestBlobFreedWithLastCopy(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var a, b store.Mailbox
	var m store.Message
	update(t, s, func(tx store.Tx) error {
		a, _ = tx.CreateMailbox(store.Mailbox{Name: "A"})
		b, _ = tx.CreateMailbox(store.Mailbox{Name: "B"})
		var err error
		m, err = addMessage(tx, a.ID, "shared body", "")
		if err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{Mailbox: b.ID, Blob: m.Blob})
		return err
	})
	update(t, s, func(tx store.Tx) error { return tx.RemoveMessage(a.ID, m.UID) })
	s.View(func(r store.Reader) error {
		if _, err := r.Blob(m.Blob); err != nil {
			t.Errorf("blob gone while a copy remains: %v", err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteMailbox(b.ID) })
	s.View(func(r store.Reader) error {
		if _, err := r.Blob(m.Blob); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob kept after its last copy went: %v", err)
		}
		return nil
	})
}

func TestCreateMailboxNameTaken(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	update(t, s, func(tx store.Tx) error {
		_, err := tx.CreateMailbox(store.Mailbox{Owner: "bob", Name: "INBOX"})
		return err
	})
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		_, err := tx.CreateMailbox(store.Mailbox{Owner: "bob", Name: "INBOX"})
		return err
	})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
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

func TestOutboundQueue(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []uint64
	err := s.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		ids = ids[:0]
		blob, err := tx.PutBlob([]byte("Subject: out\r\n\r\nx\r\n"))
		if err != nil {
			return err
		}
		for i, at := range []time.Duration{2 * time.Hour, time.Hour} {
			o, err := tx.Enqueue(store.Outbound{Session: "S-AAAAA", Blob: blob, From: "a@b", To: []string{fmt.Sprintf("c%d@d", i)}, NextAttempt: t0.Add(at)})
			if err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	due := func(until time.Time) (out []uint64) {
		s.View(func(rd store.Reader) error {
			os, err := rd.DueOutbound(until, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range os {
				out = append(out, o.ID)
			}
			return nil
		})
		return out
	}
	if got := due(t0.Add(90 * time.Minute)); !slices.Equal(got, []uint64{ids[1]}) {
		t.Fatalf("due at +90m = %v, want %v", got, ids[1:])
	}
	if got := due(t0.Add(3 * time.Hour)); !slices.Equal(got, []uint64{ids[1], ids[0]}) {
		t.Fatalf("due at +3h = %v (earliest first)", got)
	}
	err = s.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		o, err := tx.Outbound(ids[1])
		if err != nil {
			return err
		}
		o.NextAttempt, o.Attempts = t0.Add(5*time.Hour), 1
		if err := tx.UpdateOutbound(o); err != nil {
			return err
		}
		return tx.RemoveOutbound(ids[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := due(t0.Add(3 * time.Hour)); len(got) != 0 {
		t.Fatalf("due at +3h after update = %v", got)
	}
	s.View(func(rd store.Reader) error {
		if n, _ := rd.OutboundCount(); n != 1 {
			t.Errorf("count = %d", n)
		}
		return nil
	})
}

// TestPanicInUpdateIsCounted: an update function that panics fails its
// Update with an error, is counted and logged as a recovered panic, and
// the writer goes on committing.
func TestPanicInUpdateIsCounted(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
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
	update(t, s, func(tx store.Tx) error {
		_, err := tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		return err
	})
}
