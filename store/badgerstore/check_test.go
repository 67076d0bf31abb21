package badgerstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// checkDue is the Due time of the session S-CHECK.
var checkDue = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// filledStore holds one of everything Check rebuilds: a mailbox with two
// messages of session S-CHECK (waiting in Support, due, with a token), one
// of them also queued for delivery, a quarantined original, an event and
// a Message-ID.
func filledStore(t *testing.T) (*Store, store.Message) {
	t.Helper()
	s := open(t, t.TempDir())
	var first store.Message
	update(t, s, func(tx store.Tx) error {
		err := tx.PutSession(store.Session{ID: "S-CHECK", Queue: "Support", Status: "Waiting", Token: "tok1",
			Due: checkDue, WaitingSince: checkDue.Add(-time.Hour), ActiveAgent: "alice@example.test"})
		if err != nil {
			return err
		}
		mb, err := tx.CreateMailbox(store.Mailbox{Owner: "alice@example.test", Name: "INBOX"})
		if err != nil {
			return err
		}
		if first, err = addMessage(tx, mb.ID, "first", "S-CHECK"); err != nil {
			return err
		}
		if _, err := addMessage(tx, mb.ID, "second", "S-CHECK"); err != nil {
			return err
		}
		if _, err := tx.Enqueue(store.Outbound{Session: "S-CHECK", Blob: first.Blob, To: []string{"c@customer.test"}, NextAttempt: checkDue}); err != nil {
			return err
		}
		orig, err := tx.PutBlob([]byte("original"))
		if err != nil {
			return err
		}
		if _, err := tx.Quarantine(store.Quarantined{Session: "S-CHECK", Blob: orig}); err != nil {
			return err
		}
		if err := tx.IndexMessageID("m1@customer.test", "S-CHECK"); err != nil {
			return err
		}
		return tx.AddEvent(store.Event{Session: "S-CHECK"})
	})
	return s, first
}

func TestCheckConsistentStore(t *testing.T) {
	s, _ := filledStore(t)
	r, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Errorf("problems in a consistent store: %v", r.Problems)
	}
	want := "1 sessions, 1 mailboxes, 2 messages, 3 bodies, 1 queued outbound, 1 quarantined"
	if got := r.Summary(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// corrupt changes the store behind its API, as a bug or a damaged disk
// would.
func corrupt(t *testing.T, s *Store, fn func(txn *badger.Txn) error) {
	t.Helper()
	if err := s.db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsEachDamage(t *testing.T) {
	due := "2026-12-03T09:00:00Z"
	for _, tc := range []struct {
		name   string
		damage func(txn *badger.Txn, m store.Message) error
		want   []string
	}{
		{"missing due entry", func(txn *badger.Txn, _ store.Message) error {
			return txn.Delete(dueKey(checkDue, "S-CHECK"))
		}, []string{"due/" + due + "/S-CHECK: missing index entry"}},
		{"missing waiting entry", func(txn *badger.Txn, _ store.Message) error {
			return txn.Delete(waitingKey(store.Session{ID: "S-CHECK", Queue: "Support", WaitingSince: checkDue.Add(-time.Hour)}))
		}, []string{"wait/Support/2026-12-03T08:00:00Z/S-CHECK: missing index entry"}},
		{"missing session message", func(txn *badger.Txn, m store.Message) error {
			return txn.Delete(sessionMsgKey("S-CHECK", m.Mailbox, m.UID))
		}, []string{"sm/S-CHECK/1/1: missing index entry"}},
		{"missing delivery entry", func(txn *badger.Txn, _ store.Message) error {
			return txn.Delete(outboundAtKey(store.Outbound{ID: 1, NextAttempt: checkDue}))
		}, []string{"obd/" + due + "/1: missing index entry"}},
		{"dangling agent entry", func(txn *badger.Txn, _ store.Message) error {
			return txn.Set(activeKey(store.Session{ID: "S-GONE", ActiveAgent: "bob@example.test"}), nil)
		}, []string{"act/bob@example.test/S-GONE: dangling index entry: no record has it"}},
		{"dangling status entry", func(txn *badger.Txn, _ store.Message) error {
			return txn.Set(statusKey(store.Session{ID: "S-CHECK", Queue: "Support", Status: "Closed"}), nil)
		}, []string{"ss/Support/Closed/S-CHECK: dangling index entry: no record has it"}},
		{"token to another session", func(txn *badger.Txn, _ store.Message) error {
			return txn.Set(key(pToken, []byte("tok1")), []byte("S-OTHER"))
		}, []string{`tok/tok1: index entry points at "S-OTHER", the record at "S-CHECK"`}},
		{"reference count too high", func(txn *badger.Txn, m store.Message) error {
			return txn.Set(key(pBlobRef, u64(uint64(m.Blob))), u32(5))
		}, []string{"br/1: reference count is 5, records hold 2 references"}},
		{"body without count", func(txn *badger.Txn, m store.Message) error {
			return txn.Delete(key(pBlobRef, u64(uint64(m.Blob))))
		}, []string{"b/1: body without a reference count"}},
		{"missing body", func(txn *badger.Txn, m store.Message) error {
			return txn.Delete(key(pBlob, u64(uint64(m.Blob))))
		}, []string{"br/1: reference count 2 of a missing body", "b/1: missing body, referenced by 2 records"}},
		{"missing mailbox", func(txn *badger.Txn, m store.Message) error {
			return txn.Delete(key(pMailbox, u64(uint64(m.Mailbox))))
		}, []string{"m/1/1: message in missing mailbox 1", "m/1/2: message in missing mailbox 1",
			"mn/alice@example.test/INBOX: dangling index entry"}},
		{"UIDNEXT not above the UIDs", func(txn *badger.Txn, m store.Message) error {
			return setMailbox(txn, m.Mailbox, func(mb *store.Mailbox) { mb.UIDNext = 2 })
		}, []string{"m/1/2: UID 2 is not below the mailbox's UIDNEXT 2"}},
		{"message of a missing session", func(txn *badger.Txn, _ store.Message) error {
			return txn.Delete(key(pSession, []byte("S-CHECK")))
		}, []string{`m/1/1: message of missing session "S-CHECK"`, "tok/tok1: dangling index entry",
			`mid/m1@customer.test: leads to missing session "S-CHECK"`, `e/S-CHECK/1: event of missing session "S-CHECK"`}},
		{"subscription kept for an existing mailbox", func(txn *badger.Txn, _ store.Message) error {
			return txn.Set(subscriptionKey("alice@example.test", "INBOX"), nil)
		}, []string{`sub/alice@example.test/INBOX: subscription kept for existing mailbox "INBOX" of "alice@example.test"`}},
		{"message changed after the mailbox's latest change", func(txn *badger.Txn, m store.Message) error {
			return setMailbox(txn, m.Mailbox, func(mb *store.Mailbox) { mb.HighestModSeq = 2 })
		}, []string{"m/1/2: mod-sequence 3 outside the mailbox's [1, 2]"}},
		{"expunged UID still there", func(txn *badger.Txn, m store.Message) error {
			if err := txn.Set(expungedKey(m.Mailbox, 3, m.UID), nil); err != nil {
				return err
			}
			return setMailbox(txn, m.Mailbox, func(mb *store.Mailbox) { mb.ExpungedKept = 1 })
		}, []string{"vx/1/3/1: expunged UID 1 is still in the mailbox"}},
		{"expunged UIDs miscounted", func(txn *badger.Txn, m store.Message) error {
			return setMailbox(txn, m.Mailbox, func(mb *store.Mailbox) { mb.ExpungedKept = 4 })
		}, []string{"mb/1: counts 4 expunged UIDs, 0 are kept"}},
		{"counter behind", func(txn *badger.Txn, _ store.Message) error {
			return txn.Set(key(pCounter, []byte("blob")), u64(1))
		}, []string{"c/blob: counter is 1, below 3 in use"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, m := filledStore(t)
			corrupt(t, s, func(txn *badger.Txn) error { return tc.damage(txn, m) })
			r, err := s.Check()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not report %q:\n%s", w, all)
				}
			}
			// Close checks too (CheckEveryStoreOnClose in TestMain).
			err = s.Close()
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tc.want[0]) {
				t.Errorf("Close = %v, want ErrInconsistent naming %q", err, tc.want[0])
			}
		})
	}
}

func setMailbox(txn *badger.Txn, id store.MailboxID, change func(*store.Mailbox)) error {
	t := &tx{txn: txn}
	mb, err := t.Mailbox(id)
	if err != nil {
		return err
	}
	change(&mb)
	return t.putMailbox(mb)
}

// A read-only store can be checked but not written, and is refused while
// another process (here: this one) holds the store.
func TestReadOnlyOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, ErrLocked) {
		t.Errorf("read-only open of a store in use: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Update(t.Context(), store.UpdateOptions{}, func(store.Tx) error { return nil }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Update on a read-only store: %v, want ErrReadOnly", err)
	}
	if err := ro.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// checkClean fails t when Check finds a problem in s.
func checkClean(t *testing.T, s *Store) {
	t.Helper()
	r, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Errorf("Check: %v", r.Problems)
	}
}
