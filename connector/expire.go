package connector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/store"
)

// expireOld removes upstream, with delete_after_days set, the messages
// imported more than that many days ago: a UID the import has passed
// (UID <= LastUID), whose Message-ID is in the store (what was skipped,
// too big or refused, or there before the first contact stays), and
// whose INTERNALDATE is older than the cutoff. Only those UIDs are
// expunged, by UID EXPUNGE (UIDPLUS): a plain EXPUNGE would also remove
// messages someone else flagged \Deleted. Without UIDPLUS nothing is
// removed and the key is named in the log, once per connection.
func (w *worker) expireOld(ctx context.Context, cl *imapclient.Client, st store.ImportState, warned *bool) error {
	days := w.acct.DeleteAfterDays
	if days <= 0 || st.LastUID == 0 {
		return nil
	}
	if !cl.Caps().Has(imap.CapUIDPlus) {
		if !*warned {
			w.c.opts.Logger.Warn("delete_after_days: the upstream server has no UIDPLUS (UID EXPUNGE), nothing is deleted",
				"account", w.acct.Address, "key", "delete_after_days", "imap", w.acct.IMAP)
			*warned = true
		}
		return nil
	}
	cutoff := w.c.opts.Now().Add(-time.Duration(days) * 24 * time.Hour)
	// BEFORE compares days only: the next day, then the exact time below.
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: 1, Stop: imap.UID(st.LastUID)}}},
		Before: cutoff.AddDate(0, 0, 1), NotFlag: []imap.Flag{imap.FlagDeleted}}
	data, err := cl.UIDSearch(criteria, nil).Wait()
	if err != nil {
		return fmt.Errorf("delete_after_days: searching folder %q: %w", w.acct.Folder, err)
	}
	candidates := data.AllUIDs()
	for len(candidates) > 0 {
		n := min(batchSize, len(candidates))
		if err := w.expireBatch(ctx, cl, candidates[:n], cutoff); err != nil {
			return err
		}
		candidates = candidates[n:]
	}
	return nil
}

// expireBatch deletes those of uids that are old enough and filed.
func (w *worker) expireBatch(ctx context.Context, cl *imapclient.Client, uids []imap.UID, cutoff time.Time) error {
	old, err := w.oldImported(cl, uids, cutoff)
	if err != nil || len(old) == 0 {
		return err
	}
	set := imap.UIDSetNum(old...)
	flag := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := cl.Store(set, flag, nil).Close(); err != nil {
		return fmt.Errorf("delete_after_days: flagging \\Deleted: %w", err)
	}
	if err := cl.UIDExpunge(set).Close(); err != nil {
		return fmt.Errorf("delete_after_days: UID EXPUNGE: %w", err)
	}
	w.c.opts.Logger.Info("imported upstream messages deleted", "account", w.acct.Address, "folder", w.acct.Folder,
		"key", "delete_after_days", "count", len(old), "older_than", cutoff)
	return ctx.Err()
}

// oldImported fetches the date and Message-ID of uids and keeps those
// that arrived before cutoff and whose Message-ID is in the store.
func (w *worker) oldImported(cl *imapclient.Client, uids []imap.UID, cutoff time.Time) ([]imap.UID, error) {
	msgs, err := cl.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, InternalDate: true, Envelope: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("delete_after_days: fetching dates: %w", err)
	}
	var old []imap.UID
	err = w.c.opts.Store.View(func(rd store.Reader) error {
		for _, m := range msgs {
			if !m.InternalDate.Before(cutoff) || m.Envelope == nil || m.Envelope.MessageID == "" {
				continue
			}
			_, err := rd.SessionByMessageID(strings.Trim(m.Envelope.MessageID, "<>"))
			switch {
			case err == nil:
				old = append(old, m.UID)
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		return nil
	})
	return old, err
}
