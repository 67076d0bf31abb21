package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"mxdesk/store"
)

// Flag limits: every size a client controls has one.
const (
	maxFlagLen      = 128
	maxKeywords     = 256 // distinct keywords per mailbox
	maxFlagsPerCall = 64
)

var systemFlags = []string{`\Answered`, `\Deleted`, `\Draft`, `\Flagged`, `\Seen`}

// cleanFlags normalises flags: system flags get their canonical case,
// \Recent (not settable, RFC 3501 2.3.2) is dropped, keywords must be atoms.
func cleanFlags(flags []string) ([]string, error) {
	if len(flags) > maxFlagsPerCall {
		return nil, errorf(KindInvalid, "too many flags")
	}
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			i := slices.IndexFunc(systemFlags, func(s string) bool { return strings.EqualFold(s, f) })
			if i >= 0 {
				out = append(out, systemFlags[i])
				continue
			}
			if strings.EqualFold(f, `\Recent`) {
				continue
			}
			return nil, errorf(KindInvalid, "unknown system flag %s", f)
		}
		if f == "" || len(f) > maxFlagLen || strings.ContainsAny(f, "(){ %*\"\\]\x7f") || hasCtl(f) {
			return nil, errorf(KindInvalid, "invalid keyword %q", f)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func hasCtl(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0
}

// noteKeywords adds the keywords of flags to the mailbox's known set, so
// the IMAP FLAGS response can grow (Thunderbird tags are keywords).
func noteKeywords(tx store.Tx, m *store.Mailbox, flags []string) error {
	grew := false
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) || slices.Contains(m.Keywords, f) {
			continue
		}
		if len(m.Keywords) >= maxKeywords {
			return errorf(KindInvalid, "too many distinct keywords in this folder")
		}
		m.Keywords = append(m.Keywords, f)
		grew = true
	}
	if !grew {
		return nil
	}
	slices.Sort(m.Keywords)
	return tx.UpdateMailbox(*m)
}

// Append stores raw in a's folder with flags and internal date (zero: now)
// and returns the mailbox and the new UID. Over the size limit: KindTooBig.
// Queue folders take no appends: mail reaches them only over SMTP.
func (r *Router) Append(ctx context.Context, a *Agent, folder string, raw []byte, flags []string, date time.Time) (store.Mailbox, store.UID, error) {
	if limit := r.config().IMAP.MaxAppendBytes; limit > 0 && int64(len(raw)) > limit {
		return store.Mailbox{}, 0, errorf(KindTooBig, "message larger than %d bytes", limit)
	}
	flags, err := cleanFlags(flags)
	if err != nil {
		return store.Mailbox{}, 0, err
	}
	if date.IsZero() {
		date = r.now()
	}
	var mb store.Mailbox
	var uid store.UID
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		m, err := r.mailboxFor(tx, a, folder)
		if err != nil {
			return err
		}
		if m.Owner == "" {
			return errorf(KindForbidden, "queue folders receive mail only over SMTP")
		}
		if err := noteKeywords(tx, &m, flags); err != nil {
			return err
		}
		blob, err := tx.PutBlob(raw)
		if err != nil {
			return err
		}
		msg, err := tx.AddMessage(store.Message{Mailbox: m.ID, Blob: blob, Size: int64(len(raw)), Flags: flags, InternalDate: date})
		if err != nil {
			return err
		}
		mb, uid = m, msg.UID
		return nil
	})
	return mb, uid, err
}

// StoreFlags changes the flags of the given messages of mbox and returns
// them with their new flags (messages that no longer exist are skipped).
// origin is copied into the published changes.
func (r *Router) StoreFlags(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, op FlagOp, flags []string, origin any) ([]store.Message, error) {
	flags, err := cleanFlags(flags)
	if err != nil {
		return nil, err
	}
	var out []store.Message
	err = r.st.Update(ctx, store.UpdateOptions{Origin: origin}, func(tx store.Tx) error {
		out = out[:0]
		m, err := r.mailboxByID(tx, a, mbox)
		if err != nil {
			return err
		}
		if op != FlagsRemove {
			if err := noteKeywords(tx, &m, flags); err != nil {
				return err
			}
		}
		for _, uid := range uids {
			msg, err := tx.Message(mbox, uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			next := applyFlags(msg.Flags, op, flags)
			if !slices.Equal(next, msg.Flags) {
				if err := tx.SetFlags(mbox, uid, next); err != nil {
					return err
				}
				msg.Flags = next
			}
			out = append(out, msg)
		}
		return nil
	})
	return out, err
}

func applyFlags(cur []string, op FlagOp, flags []string) []string {
	var next []string
	switch op {
	case FlagsSet:
		next = slices.Clone(flags)
	case FlagsAdd:
		next = append(slices.Clone(cur), flags...)
	case FlagsRemove:
		next = slices.DeleteFunc(slices.Clone(cur), func(f string) bool { return slices.Contains(flags, f) })
	}
	slices.Sort(next)
	return slices.Compact(next)
}

// Expunge removes the messages of mbox flagged \Deleted, only among uids
// when uids is not nil, and returns the removed UIDs ascending.
func (r *Router) Expunge(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, origin any) ([]store.UID, error) {
	var gone []store.UID
	err := r.st.Update(ctx, store.UpdateOptions{Origin: origin}, func(tx store.Tx) error {
		gone = gone[:0]
		if _, err := r.mailboxByID(tx, a, mbox); err != nil {
			return err
		}
		msgs, err := tx.Messages(mbox, 0, 0)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if !slices.Contains(m.Flags, `\Deleted`) || (uids != nil && !slices.Contains(uids, m.UID)) {
				continue
			}
			if err := tx.RemoveMessage(mbox, m.UID); err != nil {
				return err
			}
			if m.Session != "" {
				if err := r.event(tx, m.Session, "deleted", a.Login, "expunged from folder"); err != nil {
					return err
				}
			}
			gone = append(gone, m.UID)
		}
		return nil
	})
	return gone, err
}

// Copy copies messages of src into a's folder dest, keeping flags and
// internal date, and returns the destination mailbox with source and new
// UIDs in matching order. Copying a queue message into INBOX claims its
// session like a move.
func (r *Router) Copy(ctx context.Context, a *Agent, src store.MailboxID, uids []store.UID, dest string) (store.Mailbox, []store.UID, []store.UID, error) {
	return r.transfer(ctx, a, src, uids, dest, false, nil)
}

// Move moves messages of src into a's folder dest (src may equal dest: the
// messages get new UIDs). Desk rules apply: a queue message moved into INBOX
// claims its session for a; one moved from INBOX back into a queue folder
// returns its session to that queue; a session's message can't be moved
// into a personal folder, Sent or Drafts (KindForbidden; copying is fine).
// Returns the destination mailbox with source and new UIDs in matching order.
func (r *Router) Move(ctx context.Context, a *Agent, src store.MailboxID, uids []store.UID, dest string, origin any) (store.Mailbox, []store.UID, []store.UID, error) {
	return r.transfer(ctx, a, src, uids, dest, true, origin)
}

func (r *Router) transfer(ctx context.Context, a *Agent, src store.MailboxID, uids []store.UID, dest string, move bool, origin any) (store.Mailbox, []store.UID, []store.UID, error) {
	var (
		dm                store.Mailbox
		srcUIDs, destUIDs []store.UID
	)
	err := r.st.Update(ctx, store.UpdateOptions{Origin: origin}, func(tx store.Tx) error {
		srcUIDs, destUIDs = srcUIDs[:0], destUIDs[:0]
		sm, err := r.mailboxByID(tx, a, src)
		if err != nil {
			return err
		}
		dm, err = r.mailboxFor(tx, a, dest)
		if err != nil {
			return err
		}
		for _, uid := range uids {
			msg, err := tx.Message(src, uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			newUID, err := r.transferOne(tx, a, sm, &dm, msg, move)
			if err != nil {
				return err
			}
			srcUIDs, destUIDs = append(srcUIDs, uid), append(destUIDs, newUID)
		}
		return nil
	})
	return dm, srcUIDs, destUIDs, err
}

// transferOne files one message in dm and applies the desk rules of the
// move (or copy) from sm.
func (r *Router) transferOne(tx store.Tx, a *Agent, sm store.Mailbox, dm *store.Mailbox, msg store.Message, move bool) (store.UID, error) {
	session := msg.Session
	if session != "" && !isDeskName(dm.Name) {
		if move {
			return 0, errorf(KindForbidden, "messages of session %s stay on the desk: copy them to a personal folder instead", session)
		}
		session = "" // a personal copy is the agent's own, outside the session
	}
	if session != "" && move && (dm.Name == SentFolder || dm.Name == DraftsFolder) {
		return 0, errorf(KindForbidden, "messages of session %s can't be moved to %s", session, dm.Name)
	}
	if dm.Owner == "" && sm.ID != dm.ID && !(move && session != "") {
		return 0, errorf(KindForbidden, "only a session's messages can be moved into a queue folder")
	}
	if err := noteKeywords(tx, dm, msg.Flags); err != nil {
		return 0, err
	}
	added, err := tx.AddMessage(store.Message{
		Mailbox: dm.ID, Blob: msg.Blob, Size: msg.Size, Flags: msg.Flags,
		InternalDate: msg.InternalDate, Session: session,
	})
	if err != nil {
		return 0, err
	}
	if move {
		if err := tx.RemoveMessage(sm.ID, msg.UID); err != nil {
			return 0, err
		}
	}
	if session != "" && sm.ID != dm.ID {
		if err := r.deskMove(tx, a, sm, *dm, session); err != nil {
			return 0, err
		}
	}
	return added.UID, nil
}

// deskMove records what moving a session's message between desk folders
// means: into INBOX from a queue claims the session, into a queue folder
// returns it to that queue.
func (r *Router) deskMove(tx store.Tx, a *Agent, sm, dm store.Mailbox, id string) error {
	s, err := tx.Session(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case dm.Name == Inbox && dm.Owner == a.Login && s.Agent != a.Login:
		s.Agent = a.Login
		if err := r.event(tx, id, "assigned", a.Login, "claimed from "+sm.Name); err != nil {
			return err
		}
	case dm.Owner == "":
		q := strings.TrimPrefix(dm.Name, QueuesFolder+"/")
		s.Agent, s.Queue = "", q
		if err := r.event(tx, id, "moved", a.Login, "returned to queue "+q); err != nil {
			return err
		}
	default:
		return r.event(tx, id, "moved", a.Login, "moved to "+dm.Name)
	}
	s.Updated = r.now()
	return tx.PutSession(s)
}

func (r *Router) event(tx store.Tx, session, kind, actor, detail string) error {
	return tx.AddEvent(store.Event{Session: session, Time: r.now(), Kind: kind, Actor: actor, Detail: detail})
}

// TakeRecent returns the first UID that is \Recent for a session selecting
// mbox now, and advances the mailbox's recent mark past every current
// message, so the next SELECT sees none of them as recent (RFC 3501 2.3.2).
func (r *Router) TakeRecent(ctx context.Context, mbox store.MailboxID) (store.UID, error) {
	var first store.UID
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		m, err := tx.Mailbox(mbox)
		if err != nil {
			return err
		}
		first = m.RecentUID
		if m.RecentUID == m.UIDNext {
			return nil
		}
		m.RecentUID = m.UIDNext
		return tx.UpdateMailbox(m)
	})
	return first, err
}
