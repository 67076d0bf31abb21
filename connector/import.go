package connector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"mxdesk/config"
	"mxdesk/msgauth"
	"mxdesk/router"
	"mxdesk/store"
)

// batchSize is how many messages one UID FETCH asks for: bodies stream
// through one at a time, so memory holds one message, not the folder.
const batchSize = 100

// position is where the import of the selected folder stands: the stored
// state, or a new one at first contact (from now on, or from since), or a
// rescan when the folder's UIDVALIDITY changed.
func (w *worker) position(ctx context.Context, sel *imap.SelectData) (store.ImportState, error) {
	var st store.ImportState
	err := w.c.opts.Store.View(func(rd store.Reader) error {
		var err error
		st, err = rd.ImportState(w.acct.Address)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && st.Folder != w.acct.Folder):
		st = w.firstContact(sel)
	case err != nil:
		return st, fmt.Errorf("reading the import state: %w", err)
	case st.UIDValidity != sel.UIDValidity:
		w.c.opts.Logger.Warn("upstream folder changed UIDVALIDITY: rescanning it, known Message-IDs are skipped",
			"account", w.acct.Address, "folder", w.acct.Folder, "was", st.UIDValidity, "now", sel.UIDValidity)
		st.UIDValidity, st.LastUID, st.ByDate = sel.UIDValidity, 0, true
	default:
		return st, nil
	}
	return st, w.save(ctx, st)
}

// firstContact starts the import from now on (UIDNEXT: what is there
// stays upstream) or, with since, from that day.
func (w *worker) firstContact(sel *imap.SelectData) store.ImportState {
	st := store.ImportState{Account: w.acct.Address, Folder: w.acct.Folder, UIDValidity: sel.UIDValidity, Start: w.c.opts.Now()}
	switch {
	case w.acct.Since != "":
		st.Start, st.ByDate = w.acct.SinceTime(nil), true
	case sel.UIDNext > 0:
		st.LastUID = uint32(sel.UIDNext) - 1
	default:
		st.ByDate = true // no UIDNEXT: the arrival time tells
	}
	return st
}

func (w *worker) save(ctx context.Context, st store.ImportState) error {
	return w.c.opts.Store.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error { return tx.PutImportState(st) })
}

// selectFolder opens the account's folder, read-only unless after_import
// changes it.
func (w *worker) selectFolder(cl *imapclient.Client) (*imap.SelectData, error) {
	readOnly := w.acct.AfterImport == config.AfterImportKeep && w.acct.DeleteAfterDays == 0
	sel, err := cl.Select(w.acct.Folder, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", w.acct.Folder, err)
	}
	return sel, nil
}

// errUIDValidity ends a session whose folder was replaced: the next one
// selects the new folder and rescans it.
var errUIDValidity = errors.New("the folder's UIDVALIDITY changed")

// importNew imports every message above st.LastUID, batch by batch. A
// folder deleted and made again while selected is reported neither to
// an IDLE nor by STATUS (Dovecot answers from the open folder), so the
// folder is selected again each time and its UIDVALIDITY compared.
func (w *worker) importNew(ctx context.Context, cl *imapclient.Client, st *store.ImportState) error {
	sel, err := w.selectFolder(cl)
	if err != nil {
		return err
	}
	if sel.UIDValidity != st.UIDValidity {
		return fmt.Errorf("folder %q: %w", w.acct.Folder, errUIDValidity)
	}
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(st.LastUID + 1)}}}}
	if st.ByDate {
		criteria.Since = st.Start
	}
	data, err := cl.UIDSearch(criteria, nil).Wait()
	if err != nil {
		return fmt.Errorf("searching folder %q: %w", w.acct.Folder, err)
	}
	var uids []imap.UID
	for _, uid := range data.AllUIDs() {
		// "n:*" matches the last message even when its UID is below n.
		if uint32(uid) > st.LastUID {
			uids = append(uids, uid)
		}
	}
	if len(uids) > 0 {
		w.c.opts.Logger.Debug("new upstream messages", "account", w.acct.Address, "folder", w.acct.Folder, "count", len(uids), "after_uid", st.LastUID)
	}
	for len(uids) > 0 {
		n := min(batchSize, len(uids))
		if err := w.importBatch(ctx, cl, st, uids[:n]); err != nil {
			return err
		}
		uids = uids[n:]
	}
	return nil
}

// fetched is one message of a batch.
type fetched struct {
	uid     imap.UID
	arrived time.Time
	body    []byte
	tooBig  bool // over the limit: body is empty
}

// importBatch fetches a batch and files each message as it streams in,
// then applies after_import to what was filed.
func (w *worker) importBatch(ctx context.Context, cl *imapclient.Client, st *store.ImportState, uids []imap.UID) error {
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := cl.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}})
	var done []imap.UID
	var failed error
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		m, err := readFetched(msg, w.c.opts.MaxMessageBytes)
		if err == nil && failed == nil {
			var filed bool
			filed, err = w.importOne(ctx, st, m)
			if filed {
				done = append(done, m.uid)
			}
		}
		failed = errors.Join(failed, err)
	}
	if err := errors.Join(failed, cmd.Close()); err != nil {
		return fmt.Errorf("fetching from folder %q: %w", w.acct.Folder, err)
	}
	return w.afterImport(cl, done)
}

// readFetched reads one message's UID, arrival and body; a body over
// limit bytes is read to its end and thrown away (tooBig).
func readFetched(msg *imapclient.FetchMessageData, limit int64) (fetched, error) {
	var m fetched
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch item := item.(type) {
		case imapclient.FetchItemDataUID:
			m.uid = item.UID
		case imapclient.FetchItemDataInternalDate:
			m.arrived = item.Time
		case imapclient.FetchItemDataBodySection:
			b, err := io.ReadAll(io.LimitReader(item.Literal, limit+1))
			if err == nil && int64(len(b)) > limit {
				m.tooBig, b = true, nil
				_, err = io.Copy(io.Discard, item.Literal)
			}
			if err != nil {
				return m, err
			}
			m.body = b
		}
	}
	if m.uid == 0 {
		return m, errors.New("a FETCH response without UID")
	}
	return m, nil
}

// importOne files one message through the router, advancing the import
// state in the same transaction. A message the router refuses for good
// (policy, malformed) is skipped and logged; a temporary refusal (disk
// full, scanner down) ends the session, to be retried from the same UID.
func (w *worker) importOne(ctx context.Context, st *store.ImportState, m fetched) (filed bool, err error) {
	next := *st
	next.LastUID = uint32(m.uid)
	if m.tooBig {
		w.c.opts.Logger.Error("upstream message over smtp.max_message_bytes, left upstream", "account", w.acct.Address,
			"folder", w.acct.Folder, "uid", m.uid, "limit", w.c.opts.MaxMessageBytes)
		return false, w.advance(ctx, st, next)
	}
	// INTERNALDATE has whole seconds: the start's second counts as after.
	if st.ByDate && m.arrived.Before(st.Start.Truncate(time.Second)) {
		w.c.opts.Logger.Debug("upstream message older than the start, left upstream", "account", w.acct.Address, "uid", m.uid, "arrived", m.arrived, "start", st.Start)
		return false, w.advance(ctx, st, next)
	}
	env := router.Envelope{
		From: envelopeSender(m.body), To: []string{w.queueAddr}, RemoteAddr: w.acct.IMAP, Helo: "imap " + w.acct.Address,
		TLS: w.acct.IMAPTLS != config.AccountTLSNone, Imported: true,
		InTx: func(tx store.Tx) error { return tx.PutImportState(next) },
	}
	env.Spam, env.DMARCFail = w.upstreamDMARC(m)
	d, err := w.c.opts.Router.Deliver(ctx, env, m.body)
	switch k := router.KindOf(err); {
	case err == nil:
	case k == router.KindInvalid || k == router.KindTooBig || k == router.KindForbidden || k == router.KindNotFound:
		w.c.opts.Logger.Error("upstream message refused, left upstream", "account", w.acct.Address, "folder", w.acct.Folder,
			"uid", m.uid, "err", err)
		return false, w.advance(ctx, st, next)
	default:
		return false, fmt.Errorf("filing UID %d: %w", m.uid, err)
	}
	*st = next
	if d.Known {
		return false, nil
	}
	w.imported()
	if w.c.opts.OnImport != nil {
		w.c.opts.OnImport(w.acct.Address, d)
	}
	return true, nil
}

// advance moves the import state past a message that is not filed.
func (w *worker) advance(ctx context.Context, st *store.ImportState, next store.ImportState) error {
	if err := w.save(ctx, next); err != nil {
		return err
	}
	*st = next
	return nil
}

// afterImport flags or moves what was filed, as after_import says. The
// message is in the store already: a failure here loses nothing.
func (w *worker) afterImport(cl *imapclient.Client, uids []imap.UID) error {
	if len(uids) == 0 || w.acct.AfterImport == config.AfterImportKeep {
		return nil
	}
	set := imap.UIDSetNum(uids...)
	if folder := w.acct.MoveFolder(); folder != "" {
		if _, err := cl.Move(set, folder).Wait(); err != nil {
			return fmt.Errorf("after_import: moving to %q: %w", folder, err)
		}
		return nil
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	if err := cl.Store(set, store, nil).Close(); err != nil {
		return fmt.Errorf("after_import: flagging \\Seen: %w", err)
	}
	return nil
}

// upstreamDMARC applies [inbound]'s DMARC rules to the verdict the
// trusted upstream server recorded (authentication_results), as the MX
// does to its own: a failure gets no auto-reply, and under p=quarantine
// is filed as spam. A p=reject that the MX would refuse is filed as spam
// too: the upstream accepted it already, and nothing can refuse it now.
func (w *worker) upstreamDMARC(m fetched) (spam, failed bool) {
	d, ok := msgauth.UpstreamDMARC(m.body, w.acct.AuthenticationResults)
	if !ok {
		return false, false
	}
	disp := d.Disposition(w.c.opts.DMARCReject, w.c.opts.DMARCQuarantine)
	if disp >= msgauth.Quarantine {
		w.c.opts.Logger.Info("upstream message failed DMARC: filed as spam", "account", w.acct.Address, "uid", m.uid,
			"domain", d.Domain, "detail", d.Reason)
	}
	return disp >= msgauth.Quarantine, disp != msgauth.Accept
}

// envelopeSender is the Return-Path the upstream server recorded, else
// the From address: the MAIL FROM the MX would have seen ("" only for a
// bounce, which gets no auto-reply).
func envelopeSender(raw []byte) string {
	h, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	if rp := strings.TrimSpace(h.Header.Get("Return-Path")); rp != "" {
		return strings.Trim(rp, "<>")
	}
	if a, err := mail.ParseAddress(h.Header.Get("From")); err == nil {
		return a.Address
	}
	return ""
}
