package badgerstore

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"mxdesk/store"
)

// backupOf makes a store with one mailbox of messages large enough to
// span several frames and returns its backup.
func backupOf(t *testing.T) []byte {
	t.Helper()
	s := open(t, t.TempDir())
	defer s.Close()
	update(t, s, func(tx store.Tx) error {
		mb, err := tx.CreateMailbox(store.Mailbox{Owner: "alice", Name: "INBOX"})
		if err != nil {
			return err
		}
		for i := range 3 {
			if _, err := addMessage(tx, mb.ID, strings.Repeat(string(rune('a'+i)), maxFrame/2+10), "S-AAAAA"); err != nil {
				return err
			}
		}
		return nil
	})
	var buf bytes.Buffer
	if err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBackupRoundTrip(t *testing.T) {
	data := backupOf(t)
	if !bytes.HasPrefix(data, []byte("mxdesk-backup 1 badger/v4\n")) {
		t.Fatalf("backup starts %q, want the format header", data[:min(len(data), 40)])
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := Restore(dir, Options{Sync: true}, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	defer s.Close()
	err := s.View(func(r store.Reader) error {
		mb, err := r.MailboxByName("alice", "INBOX")
		if err != nil {
			return err
		}
		msgs, err := r.Messages(mb.ID, 0, 0)
		if err != nil || len(msgs) != 3 {
			t.Errorf("restored INBOX: %d messages (%v), want 3", len(msgs), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A backup cut anywhere, damaged, or of another format is refused before
// anything is restored from it.
func TestBackupDamageDetected(t *testing.T) {
	data := backupOf(t)
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0xff
	cases := map[string][]byte{
		"empty":            nil,
		"header only":      data[:strings.IndexByte(string(data), '\n')+1],
		"cut in a frame":   data[:len(data)/3],
		"cut before sum":   data[:len(data)-10],
		"no end mark":      data[:len(data)-4-32],
		"flipped byte":     flipped,
		"trailing garbage": append(bytes.Clone(data), 'x'),
		"other format":     append([]byte("mxdesk-backup 2 badger/v5\n"), data[strings.IndexByte(string(data), '\n')+1:]...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			err := VerifyBackup(bytes.NewReader(b))
			if !errors.Is(err, ErrBadBackup) {
				t.Errorf("VerifyBackup: %v, want ErrBadBackup", err)
			}
		})
	}
	if err := VerifyBackup(bytes.NewReader(data)); err != nil {
		t.Errorf("VerifyBackup of the whole backup: %v", err)
	}
}

func TestRestoreRefusesNonEmptyDir(t *testing.T) {
	data := backupOf(t)
	dir := t.TempDir()
	s := open(t, dir)
	s.Close()
	err := Restore(dir, Options{}, bytes.NewReader(data))
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Restore into a store: %v, want an error naming %s", err, dir)
	}
}
