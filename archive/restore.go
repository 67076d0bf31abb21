package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"mxdesk/store"
)

// allFolder is router.archiveMailboxName's parent: restored messages go
// to All/<queue>, which supervisors read.
const allFolder = "All/"

// Restore brings archived session id back into the store from its folder:
// the session as it was (Closed), its events, and its messages in
// All/<queue>. The retention clock starts again: it is archived again,
// to the same folder, once due. It returns the folder it read.
func (a *Archiver) Restore(ctx context.Context, id string) (string, error) {
	dir, err := a.folderOf(ctx, id)
	if err != nil {
		return "", err
	}
	raw, err := a.bucket.get(ctx, dir+ManifestName)
	if err != nil {
		return "", err
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Session.ID != id {
		return "", fmt.Errorf("s3://%s/%s%s is not the manifest of %s", a.bucket.name, dir, ManifestName, id)
	}
	bodies, err := a.readMessages(ctx, dir, m)
	if err != nil {
		return "", err
	}
	where := location(a.bucket.name, dir)
	err = a.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		return restoreInto(tx, m, bodies, where, a.now())
	})
	return where, err
}

// folderOf finds the folder of id: from its archived record, else by
// listing the bucket under the prefix's fixed part.
func (a *Archiver) folderOf(ctx context.Context, id string) (string, error) {
	var rec store.Archived
	err := a.st.View(func(rd store.Reader) (err error) {
		if _, err := rd.Session(id); err == nil {
			return fmt.Errorf("session %s is in the store: nothing to restore", id)
		}
		rec, err = rd.Archived(id)
		return err
	})
	if err == nil {
		return strings.TrimPrefix(rec.Location, location(a.bucket.name, "")), nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	prefix, _, _ := strings.Cut(a.config().Archive.Prefix, "{")
	dir, err := a.bucket.findFolder(ctx, prefix, id)
	if errors.Is(err, errNoFolder) {
		return "", fmt.Errorf("session %s: not in the store and no folder under s3://%s/%s: %w", id, a.bucket.name, prefix, store.ErrNotFound)
	}
	return dir, err
}

// readMessages reads the .eml objects of m, each checked against its
// SHA-256 in the manifest.
func (a *Archiver) readMessages(ctx context.Context, dir string, m Manifest) ([][]byte, error) {
	sums := map[string]string{}
	for _, o := range m.Objects {
		sums[o.Name] = o.SHA256
	}
	var out [][]byte
	for _, msg := range m.Messages {
		data, err := a.bucket.get(ctx, dir+msg.Name)
		if err != nil {
			return nil, err
		}
		if sum(data) != sums[msg.Name] {
			return nil, fmt.Errorf("s3://%s/%s%s: its SHA-256 is not the manifest's", a.bucket.name, dir, msg.Name)
		}
		out = append(out, data)
	}
	return out, nil
}

// restoreInto stores the session of m with its events and messages.
func restoreInto(tx store.Tx, m Manifest, bodies [][]byte, where string, now time.Time) error {
	s := m.Session
	if _, err := tx.Session(s.ID); err == nil {
		return fmt.Errorf("session %s is in the store: nothing to restore", s.ID)
	}
	mb, err := tx.MailboxByName("", allFolder+s.Queue)
	if err != nil {
		return fmt.Errorf("restore %s: mailbox %s%s: %w", s.ID, allFolder, s.Queue, err)
	}
	s.StatusSince, s.Due = now, time.Time{}
	if err := tx.PutSession(s); err != nil {
		return err
	}
	for _, e := range m.Events {
		if err := tx.AddEvent(e); err != nil {
			return err
		}
	}
	for i, body := range bodies {
		blob, err := tx.PutBlob(body)
		if err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob, Size: int64(len(body)),
			Flags: []string{`\Seen`}, InternalDate: m.Messages[i].InternalDate, Session: s.ID})
		if err != nil {
			return err
		}
	}
	if err := tx.AddEvent(store.Event{Session: s.ID, Time: now, Kind: "restored", Actor: "admin",
		Detail: "restored from " + where}); err != nil {
		return err
	}
	if err := tx.DropArchived(s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
