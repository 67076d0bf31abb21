package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/store"
)

// appendSentCopies appends to sent_folder, flagged \Seen, the replies the
// delivery worker sent through this account's SMTP (store.SentCopy,
// recorded with the delivery's success), then forgets each. A copy whose
// Message-ID is already in the folder is not appended again: a crash
// between the APPEND and the record's removal makes no second copy. It
// leaves sent_folder selected: importNew selects the folder again.
func (w *worker) appendSentCopies(ctx context.Context, cl *imapclient.Client) error {
	if w.acct.SentFolder == "" {
		return nil
	}
	for {
		var copies []store.SentCopy
		err := w.c.opts.Store.View(func(r store.Reader) (err error) {
			copies, err = r.SentCopies(w.acct.Address, batchSize)
			return err
		})
		if err != nil || len(copies) == 0 {
			return err
		}
		if _, err := cl.Select(w.acct.SentFolder, nil).Wait(); err != nil {
			return fmt.Errorf("sent_folder %q: %w", w.acct.SentFolder, err)
		}
		for _, sc := range copies {
			if err := w.appendSentCopy(ctx, cl, sc); err != nil {
				return err
			}
		}
	}
}

// appendSentCopy appends one copy unless its Message-ID is there already,
// then removes its record.
func (w *worker) appendSentCopy(ctx context.Context, cl *imapclient.Client, sc store.SentCopy) error {
	raw, err := w.sentBlob(sc.Blob)
	if err != nil {
		return err
	}
	there, err := w.inSentFolder(cl, messageIDOf(raw))
	if err != nil {
		return err
	}
	if !there {
		cmd := cl.Append(w.acct.SentFolder, int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return fmt.Errorf("sent_folder %q: APPEND: %w", w.acct.SentFolder, err)
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("sent_folder %q: APPEND: %w", w.acct.SentFolder, err)
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("sent_folder %q: APPEND: %w", w.acct.SentFolder, err)
		}
	}
	w.c.opts.Logger.Info("reply copied to the upstream sent folder", "account", w.acct.Address,
		"key", "sent_folder", "folder", w.acct.SentFolder, "outbound", sc.Outbound, "already_there", there)
	return w.c.opts.Store.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		return tx.RemoveSentCopy(sc.Account, sc.Outbound)
	})
}

// sentBlob is a copy of the stored reply.
func (w *worker) sentBlob(id store.BlobID) ([]byte, error) {
	var raw []byte
	err := w.c.opts.Store.View(func(r store.Reader) error {
		b, err := r.Blob(id)
		raw = bytes.Clone(b)
		return err
	})
	return raw, err
}

// inSentFolder says whether the selected sent_folder holds a message
// with Message-ID id (never, for a message without one).
func (w *worker) inSentFolder(cl *imapclient.Client, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	criteria := &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}
	data, err := cl.UIDSearch(criteria, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("sent_folder %q: searching Message-ID %s: %w", w.acct.SentFolder, id, err)
	}
	return len(data.AllUIDs()) > 0, nil
}

// messageIDOf is the Message-ID field of raw, angle brackets included.
func messageIDOf(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil && !errors.Is(err, mail.ErrHeaderNotPresent) {
		return ""
	}
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m.Header.Get("Message-ID"))
}
