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
	mb, uids, err := r.AppendMany(ctx, a, folder, []AppendMessage{{Raw: raw, Flags: flags, Date: date}})
	if err != nil {
		return mb, 0, err
	}
	return mb, uids[0], nil
}

// AppendMessage is one message of AppendMany.
type AppendMessage struct {
	Raw   []byte
	Flags []string
	Date  time.Time // zero: now
}

// AppendMany stores msgs in a's folder in one transaction, all or none
// (IMAP MULTIAPPEND, RFC 3502), and returns their UIDs in order. Each
// message is checked as by Append.
func (r *Router) AppendMany(ctx context.Context, a *Agent, folder string, msgs []AppendMessage) (store.Mailbox, []store.UID, error) {
	total := 0
	for i, m := range msgs {
		if limit := r.config().IMAP.MaxAppendBytes; limit > 0 && int64(len(m.Raw)) > limit {
			return store.Mailbox{}, nil, errorf(KindTooBig, "message larger than %d bytes", limit)
		}
		flags, err := cleanFlags(m.Flags)
		if err != nil {
			return store.Mailbox{}, nil, err
		}
		msgs[i].Flags = flags
		if m.Date.IsZero() {
			msgs[i].Date = r.now()
		}
		total += len(m.Raw)
	}
	release, err := r.reserveSpace(total)
	if err != nil {
		return store.Mailbox{}, nil, err
	}
	defer release()
	var (
		mb   store.Mailbox
		uids []store.UID
	)
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		uids = uids[:0]
		m, err := r.mailboxFor(tx, a, folder)
		if err != nil {
			return err
		}
		if m.Owner == "" || isReadOnly(m) || (roleOf(m) == roleWorking && m.Name != Inbox) {
			return errorf(KindForbidden, "%s takes no appended messages: it holds sessions, which arrive over SMTP", m.Name)
		}
		for _, msg := range msgs {
			uid, err := appendOne(tx, &m, msg)
			if err != nil {
				return err
			}
			uids = append(uids, uid)
		}
		mb = m
		return nil
	})
	return mb, uids, err
}

// appendOne adds one message to m inside an AppendMany transaction: the
// Sent copy mxdesk already filed of a reply stands for it.
func appendOne(tx store.Tx, m *store.Mailbox, msg AppendMessage) (store.UID, error) {
	if m.SpecialUse == `\Sent` {
		if existing, ok, err := sentCopy(tx, *m, msg.Raw); err != nil || ok {
			return existing, err
		}
	}
	if err := noteKeywords(tx, m, msg.Flags); err != nil {
		return 0, err
	}
	blob, err := tx.PutBlob(msg.Raw)
	if err != nil {
		return 0, err
	}
	added, err := tx.AddMessage(store.Message{Mailbox: m.ID, Blob: blob, Size: int64(len(msg.Raw)), Flags: msg.Flags, InternalDate: msg.Date})
	return added.UID, err
}

// StoreFlags changes the flags of the given messages of mbox and returns
// them with their new flags (messages that no longer exist are skipped).
// Status keywords ($Active, ...) belong to mxdesk: they are kept whatever
// the client asks. Setting \Seen on the latest inbound message of a
// session assigned to a opens it. In an archive (All/<queue>, shared by
// the queue's supervisors) nothing changes and the messages come back
// with their flags as they are: clients store \Seen on every read, which
// must not fail. origin is copied into the published changes.
func (r *Router) StoreFlags(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, op FlagOp, flags []string, origin any) ([]store.Message, error) {
	out, _, err := r.storeFlags(ctx, a, mbox, uids, op, flags, nil, origin)
	return out, err
}

// StoreFlagsUnchangedSince is StoreFlags for a conditional STORE (RFC
// 7162 3.1.3, UNCHANGEDSINCE): the messages whose mod-sequence is above
// since keep their flags and are returned in modified, decided in the
// transaction that changes the others.
func (r *Router) StoreFlagsUnchangedSince(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, op FlagOp, flags []string, since uint64, origin any) (msgs []store.Message, modified []store.UID, err error) {
	return r.storeFlags(ctx, a, mbox, uids, op, flags, &since, origin)
}

func (r *Router) storeFlags(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, op FlagOp, flags []string, unchangedSince *uint64, origin any) ([]store.Message, []store.UID, error) {
	flags, err := cleanFlags(flags)
	if err != nil {
		return nil, nil, err
	}
	flags = canonicalWrapups(slices.DeleteFunc(flags, IsStatusKeyword))
	var (
		out      []store.Message
		modified []store.UID
	)
	err = r.st.Update(ctx, store.UpdateOptions{Origin: origin}, func(tx store.Tx) error {
		out, modified = out[:0], modified[:0]
		var tagged []string // sessions whose messages got wrap-up keywords
		m, err := r.mailboxByID(tx, a, mbox)
		if err != nil {
			return err
		}
		if roleOf(m) == roleArchive {
			out, err = existingMessages(tx, mbox, uids)
			return err
		}
		if op != FlagsRemove {
			if err := noteKeywords(tx, &m, flags); err != nil {
				return err
			}
		}
		var read []store.Message // session messages that became \Seen
		for _, uid := range uids {
			msg, err := tx.Message(mbox, uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if unchangedSince != nil && msg.ModSeq > *unchangedSince {
				modified = append(modified, uid)
				continue
			}
			next := applyFlags(msg.Flags, op, flags)
			next = withStatus(next, "")
			for _, f := range msg.Flags {
				if IsStatusKeyword(f) {
					next = append(next, f)
				}
			}
			slices.Sort(next)
			if !slices.Equal(next, msg.Flags) {
				if err := tx.SetFlags(mbox, uid, next); err != nil {
					return err
				}
				if msg.Session != "" && !slices.Contains(msg.Flags, `\Seen`) && slices.Contains(next, `\Seen`) {
					read = append(read, msg)
				}
				if msg.Session != "" && op != FlagsRemove && roleOf(m) == roleWorking && !slices.Contains(tagged, msg.Session) {
					tagged = append(tagged, msg.Session)
				}
				// The stored flags and the mod-sequence SetFlags gave them.
				if msg, err = tx.Message(mbox, uid); err != nil {
					return err
				}
			}
			out = append(out, msg)
		}
		if err := r.wrapupsByFlags(tx, a, tagged, flags); err != nil {
			return err
		}
		opened := false
		for _, msg := range read {
			did, err := r.openOnRead(tx, a, m, msg)
			if err != nil {
				return err
			}
			opened = opened || did
		}
		if opened {
			// Opening changed the status keyword of these messages too.
			for i := range out {
				if cur, err := tx.Message(mbox, out[i].UID); err == nil {
					out[i].Flags, out[i].ModSeq = cur.Flags, cur.ModSeq
				}
			}
		}
		return nil
	})
	return out, modified, err
}

// existingMessages returns the messages of mbox among uids that exist.
func existingMessages(rd store.Reader, mbox store.MailboxID, uids []store.UID) ([]store.Message, error) {
	var out []store.Message
	for _, uid := range uids {
		msg, err := rd.Message(mbox, uid)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}

// openOnRead makes a session Active when its agent reads (in INBOX) its
// latest inbound message while it is Unopened or Reopened.
func (r *Router) openOnRead(tx store.Tx, a *Agent, mb store.Mailbox, msg store.Message) (bool, error) {
	if mb.Owner != a.Login || mb.Name != Inbox {
		return false, nil
	}
	s, err := tx.Session(msg.Session)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if s.Agent != a.Login || s.LastInbound != msg.Blob || (s.Status != StatusUnopened && s.Status != StatusReopened) {
		return false, nil
	}
	old := s
	if err := r.setStatus(tx, &s, StatusActive, a.Login, "opened"); err != nil {
		return false, err
	}
	s.LastActivity = r.now()
	_, err = r.commit(tx, old, &s)
	return true, err
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

// resolveInstead ends every refusal to delete a session's message: what the
// agent does instead, in the words of the desk and of Thunderbird, whose
// Archive button (A) resolves.
const resolveInstead = "a customer conversation is never deleted; resolve it instead (drag it to Resolved, or press A in Thunderbird)"

// Expunge removes the messages of mbox flagged \Deleted, only among uids
// when uids is not nil, and returns the removed UIDs ascending. A session's
// message can't be deleted: KindForbidden, nothing is removed, and the
// session's messages lose their \Deleted flag, so that the client shows
// them as they are again (Thunderbird's "remove immediately" stores
// \Deleted, then expunges).
func (r *Router) Expunge(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, origin any) ([]store.UID, error) {
	var gone []store.UID
	refused := ""
	err := r.st.Update(ctx, store.UpdateOptions{Origin: origin}, func(tx store.Tx) error {
		gone, refused = gone[:0], ""
		mb, err := r.mailboxByID(tx, a, mbox)
		if err != nil {
			return err
		}
		if isReadOnly(mb) {
			return errorf(KindForbidden, "%s is read-only", mb.Name)
		}
		msgs, err := tx.Messages(mbox, 0, 0)
		if err != nil {
			return err
		}
		msgs = slices.DeleteFunc(msgs, func(m store.Message) bool {
			return !slices.Contains(m.Flags, `\Deleted`) || (uids != nil && !slices.Contains(uids, m.UID))
		})
		if refused, err = undeleteSessions(tx, mb, msgs); err != nil || refused != "" {
			return err
		}
		for _, m := range msgs {
			if err := tx.RemoveMessage(mbox, m.UID); err != nil {
				return err
			}
			gone = append(gone, m.UID)
		}
		return nil
	})
	if err == nil && refused != "" {
		err = errorf(KindForbidden, "messages of session %s can't be deleted: %s", refused, resolveInstead)
	}
	return gone, err
}

// undeleteSessions clears \Deleted on the session messages among msgs
// (in a desk folder, where they are the session's) and returns the first
// such session, or "" when there is none.
func undeleteSessions(tx store.Tx, mb store.Mailbox, msgs []store.Message) (string, error) {
	if roleOf(mb) == roleOther {
		return "", nil
	}
	first := ""
	for _, m := range msgs {
		if m.Session == "" {
			continue
		}
		if first == "" {
			first = m.Session
		}
		if err := tx.SetFlags(m.Mailbox, m.UID, applyFlags(m.Flags, FlagsRemove, []string{`\Deleted`})); err != nil {
			return "", err
		}
	}
	return first, nil
}

// Copy copies messages of src into a's folder dest, keeping flags and
// internal date, and returns the destination mailbox with source and new
// UIDs in matching order. Copying a session's message into a desk folder
// (INBOX, Later, Resolved, a queue, Agents/<login>) is the same session
// action as moving it; into any other folder it makes a personal copy
// outside the session.
func (r *Router) Copy(ctx context.Context, a *Agent, src store.MailboxID, uids []store.UID, dest string) (store.Mailbox, []store.UID, []store.UID, error) {
	return r.transfer(ctx, a, src, uids, dest, false, nil)
}

// Move moves messages of src into a's folder dest (src may equal dest: the
// messages get new UIDs). Moving a session's message is a session action
// that moves the whole session (see moveSession); it can't go to Trash or a
// personal folder (KindForbidden; copying is fine). Returns the destination
// mailbox with source and new UIDs in matching order; messages of a session
// that landed elsewhere (Agents/<login> files into that agent's INBOX) are
// left out.
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
		if dm.Owner == a.Login && (dm.Name == AwayFolder || dm.Name == AvailableFolder) {
			// A state folder: the move sets the agent's state and
			// leaves the messages where they are (from any folder).
			return setAway(tx, a.Login, dm.Name == AwayFolder)
		}
		if isReadOnly(dm) {
			return errorf(KindForbidden, "%s is read-only", dm.Name)
		}
		if move && isReadOnly(sm) {
			return errorf(KindForbidden, "%s is read-only: copy instead", sm.Name)
		}
		acted := map[string]placed{} // sessions moved by this command
		for _, uid := range uids {
			msg, err := tx.Message(src, uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if roleOf(sm) == roleOther {
				msg.Session = "" // the Sent copy of a reply is the agent's own
			}
			if msg.Session != "" && isSessionTarget(dm) {
				p, done := acted[msg.Session]
				if !done {
					if !move {
						if err := r.refuseCopyHome(tx, msg.Session, dm); err != nil {
							return err
						}
					}
					if p, err = r.moveSession(tx, a, sm, dm, msg.Session); err != nil {
						return err
					}
					acted[msg.Session] = p
				}
				// The whole session moved; report this message's new
				// UID when it landed where the client asked.
				if newUID, ok := p.uids[msg.Blob]; ok && p.ok && p.home.ID == dm.ID {
					srcUIDs, destUIDs = append(srcUIDs, uid), append(destUIDs, newUID)
				}
				continue
			}
			newUID, err := r.transferOne(tx, sm, &dm, msg, move)
			if err != nil {
				return err
			}
			srcUIDs, destUIDs = append(srcUIDs, uid), append(destUIDs, newUID)
		}
		return nil
	})
	if err == nil && dm.Owner == a.Login && dm.Name == AvailableFolder {
		r.kickAssign()
	}
	if err == nil && dm.Owner == a.Login && (dm.Name == AwayFolder || dm.Name == AvailableFolder) {
		r.noteStates()
	}
	return dm, srcUIDs, destUIDs, err
}

// refuseCopyHome refuses a COPY of a session's message into the folder the
// session already lives in: its messages are there once, so nothing would
// be copied, and OK would say something was.
func (r *Router) refuseCopyHome(tx store.Tx, id string, dm store.Mailbox) error {
	s, err := tx.Session(id)
	if err != nil {
		return err
	}
	home, ok, err := r.homeMailbox(tx, s)
	if err != nil || !ok || home.ID != dm.ID {
		return err
	}
	return errorf(KindForbidden, "session %s is already in %s: copy it to one of your own folders for a copy of yours", id, dm.Name)
}

// isSessionTarget reports whether moving a session's message into m is a
// session action: INBOX, Later, Resolved, Junk, a queue, Agents/<login>.
func isSessionTarget(m store.Mailbox) bool {
	return roleOf(m) == roleWorking || isAgentsMailbox(m) || isJunkMailbox(m)
}

// isJunkMailbox reports whether m is an agent's Junk folder.
func isJunkMailbox(m store.Mailbox) bool {
	return m.Owner != "" && m.Name == JunkFolder
}

func isAgentsMailbox(m store.Mailbox) bool {
	return m.Owner == "" && strings.HasPrefix(m.Name, AgentsFolder+"/")
}

// transferOne copies or moves one message that is not a session action:
// mail outside sessions, and personal copies of session messages.
func (r *Router) transferOne(tx store.Tx, sm store.Mailbox, dm *store.Mailbox, msg store.Message, move bool) (store.UID, error) {
	session, flags := msg.Session, msg.Flags
	if session != "" {
		switch {
		case move && dm.Name == TrashFolder:
			return 0, errorf(KindForbidden, "session %s can't go to Trash: %s", session, resolveInstead)
		case move:
			return 0, errorf(KindForbidden, "messages of session %s stay on the desk: move them to INBOX, Resolved or a queue, or copy them to %s", session, dm.Name)
		}
		// A personal copy is the agent's own, outside the session.
		session, flags = "", withStatus(flags, "")
	}
	if dm.Owner == "" || (roleOf(*dm) == roleWorking && dm.Name != Inbox) {
		return 0, errorf(KindForbidden, "only a session's messages can go into %s", dm.Name)
	}
	if err := noteKeywords(tx, dm, flags); err != nil {
		return 0, err
	}
	added, err := tx.AddMessage(store.Message{
		Mailbox: dm.ID, Blob: msg.Blob, Size: msg.Size, Flags: flags,
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
	return added.UID, nil
}

func (r *Router) event(tx store.Tx, session, kind, actor, detail string) error {
	e := store.Event{Session: session, Time: r.now(), Kind: kind, Actor: actor, Detail: detail}
	if err := tx.AddEvent(e); err != nil {
		return err
	}
	if r.onEvent == nil {
		return nil
	}
	return r.onEvent(tx, e)
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

// sentCopy finds the copy of a reply that mxdesk itself filed in Sent
// mailbox m when it was submitted, by the Message-ID of raw: a client
// that APPENDs its own copy after sending gets that one back instead of a
// duplicate.
func sentCopy(rd store.Reader, m store.Mailbox, raw []byte) (store.UID, bool, error) {
	id := headerMessageID(raw)
	if id == "" {
		return 0, false, nil
	}
	session, err := rd.SessionByMessageID(id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	msgs, err := rd.SessionMessages(session)
	if err != nil {
		return 0, false, err
	}
	for _, msg := range msgs {
		if msg.Mailbox != m.ID {
			continue
		}
		body, err := rd.Blob(msg.Blob)
		if err != nil {
			return 0, false, err
		}
		if headerMessageID(body) == id {
			return msg.UID, true, nil
		}
	}
	return 0, false, nil
}
