package imapserver

import (
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/router"
	"mxdesk/store"
)

// selection is one session's selected mailbox: its go-imap tracker (the
// session's own view of sequence numbers) and the messages that are \Recent
// for this session. Fields below h.mu are guarded by it.
type selection struct {
	h       *hub
	sess    *session
	view    *view
	name    string
	mailbox store.MailboxID
	// readOnly: nothing in the mailbox changes through this selection
	// (no \Seen on FETCH, no \Recent taken, empty PERMANENTFLAGS). It
	// holds for EXAMINE (examined) and for the folders the router keeps
	// read-only (All/<queue>), whatever the command.
	readOnly bool
	examined bool
	// archive: a read-only folder (router.Folder.ReadOnly). Its changes
	// are refused by the router, whose message the client gets, a STORE
	// changes nothing, and nothing in it is \Recent: nobody can select
	// it read-write, so nobody would ever take them.
	archive bool
	// withRecent: report \Recent (IMAP4rev1 only; IMAP4rev2 dropped it).
	withRecent bool
	// saved is the result of the last SEARCH RETURN (SAVE), "$" (RFC
	// 5182); guarded by h.mu.
	saved imap.UIDSet

	// Each selection has its own MailboxTracker, so that updates can
	// differ per session (\Recent, no echo of a session's own STORE).
	mt     *imapserver.MailboxTracker
	st     *imapserver.SessionTracker
	recent map[store.UID]struct{}
	notify chan struct{} // wakes Idle; capacity 1
}

// wake tells an idling session that updates are queued.
func (sel *selection) wake() {
	select {
	case sel.notify <- struct{}{}:
	default:
	}
}

// imapFlags converts stored flags for this session, adding \Recent; h.mu
// must be held.
func (sel *selection) imapFlags(uid store.UID, flags []string) []imap.Flag {
	out := make([]imap.Flag, 0, len(flags)+1)
	for _, f := range flags {
		out = append(out, imap.Flag(f))
	}
	if _, ok := sel.recent[uid]; ok && sel.withRecent {
		out = append(out, flagRecent)
	}
	return out
}

// flushUpdates writes the updates queued for this selection before a
// FETCH response of the command itself: the hub queues the untagged FLAGS
// announcing a new keyword before any change carrying it, so flags read
// before this call never hold a keyword the client has not been told of
// (RFC 3501 7.2.6). EXPUNGE is not allowed during FETCH or STORE: the
// queue stops at the first one.
func (sel *selection) flushUpdates(w *imapserver.FetchWriter) error {
	return sel.st.Poll(w.Updates(), false)
}

// withRecentFlag is imapFlags for callers that don't hold h.mu.
func (sel *selection) withRecentFlag(uid store.UID, flags []string) []imap.Flag {
	sel.h.mu.Lock()
	defer sel.h.mu.Unlock()
	return sel.imapFlags(uid, flags)
}

const flagRecent imap.Flag = `\Recent`

// Select opens a mailbox (SELECT and EXAMINE, RFC 3501 6.3.1-2). SELECT
// takes the \Recent messages (router.TakeRecent); EXAMINE only looks.
// SELECT of a read-only folder (All/<queue>, Templates) is an EXAMINE
// inside; go-imap still ends it with [READ-WRITE] (docs/knownissues.md),
// but PERMANENTFLAGS is empty and every change is refused.
func (s *session) Select(name string, opts *imap.SelectOptions) (data *imap.SelectData, err error) {
	defer s.guard("SELECT", &err)
	f, err := s.srv.r.Folder(s.agent, name)
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	if f.Mailbox == 0 {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Folder is not selectable"}
	}
	var recentFrom store.UID
	if !opts.ReadOnly && !f.ReadOnly {
		if recentFrom, err = s.srv.r.TakeRecent(s.ctx, f.Mailbox); err != nil {
			return nil, s.routerErr(err, srcFolder)
		}
	}
	sel, data, err := s.srv.hub.open(s, f, opts.ReadOnly, recentFrom)
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	s.mu.Lock()
	s.sel = sel
	s.mu.Unlock()
	if s.conn.EnabledCaps().Has(imap.CapIMAP4rev2) {
		data.List = s.selectedList(f)
	}
	return data, nil
}

// selectedList is the LIST line an IMAP4rev2 SELECT answers (RFC 9051
// 6.3.2), with the attributes LIST gives the folder (\HasChildren...).
func (s *session) selectedList(f router.Folder) *imap.ListData {
	if folders, err := s.srv.r.Folders(s.agent); err == nil {
		if i := slices.IndexFunc(folders, func(g router.Folder) bool { return g.Name == f.Name }); i >= 0 {
			f = folders[i]
		}
	}
	return &imap.ListData{Mailbox: f.Name, Delim: router.Delimiter, Attrs: folderAttrs(f)}
}

// Unselect leaves the selected state (UNSELECT, CLOSE, and before a new
// SELECT).
func (s *session) Unselect() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unselect()
	return nil
}

// unselect drops the selection; s.mu must be held.
func (s *session) unselect() {
	if s.sel != nil {
		s.srv.hub.closeSel(s.sel)
		s.sel = nil
	}
}

// open creates the selection of folder f for s and the data of the SELECT
// response, loading the mailbox's view when nobody has it selected yet.
func (h *hub) open(s *session, f router.Folder, examine bool, recentFrom store.UID) (*selection, *imap.SelectData, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.views[f.Mailbox]
	var mb store.Mailbox
	var err error
	if v == nil {
		if v, mb, err = h.load(f.Mailbox); err != nil {
			return nil, nil, err
		}
		h.views[f.Mailbox] = v
	} else if err = h.r.View(func(rd store.Reader) error {
		mb, err = rd.Mailbox(f.Mailbox)
		return err
	}); err != nil {
		return nil, nil, err
	}
	sel := &selection{
		h: h, sess: s, view: v, name: f.Name, mailbox: f.Mailbox,
		readOnly:   examine || f.ReadOnly,
		examined:   examine,
		archive:    f.ReadOnly,
		withRecent: !s.conn.EnabledCaps().Has(imap.CapIMAP4rev2),
		recent:     map[store.UID]struct{}{},
		notify:     make(chan struct{}, 1),
	}
	sel.mt = imapserver.NewMailboxTracker(uint32(len(v.msgs)))
	sel.st = sel.mt.NewSession()
	v.sels[sel] = struct{}{}
	if !sel.archive {
		h.markRecent(sel, sel.readOnly, recentFrom, mb.RecentUID)
	}
	return sel, h.selectData(sel, mb), nil
}

// markRecent decides which messages are \Recent for a new selection.
// SELECT claims every message at or above both the mark the router
// returned and the view's own claims; EXAMINE (RFC 3501 6.3.2) sees the
// unclaimed ones as recent without taking them.
func (h *hub) markRecent(sel *selection, readOnly bool, recentFrom, storeMark store.UID) {
	v := sel.view
	from := recentFrom
	if readOnly {
		from = storeMark
	}
	from = max(from, v.claimed)
	for i := len(v.msgs) - 1; i >= 0 && v.msgs[i].uid >= from; i-- {
		sel.recent[v.msgs[i].uid] = struct{}{}
	}
	if !readOnly {
		v.claimed = max(v.claimed, v.uidNext)
	}
}

// selectData builds the untagged data of SELECT; h.mu must be held.
func (h *hub) selectData(sel *selection, mb store.Mailbox) *imap.SelectData {
	v := sel.view
	flags := v.mailboxFlags()
	perm := []imap.Flag{}
	if !sel.readOnly {
		// Status keywords ($Active, ...) are mxdesk's: clients see them
		// in FLAGS but may not set or clear them. RFC 3501 7.1: \* means
		// clients may create keywords.
		for _, f := range flags {
			if !router.IsStatusKeyword(string(f)) {
				perm = append(perm, f)
			}
		}
		perm = append(perm, imap.FlagWildcard)
	}
	data := &imap.SelectData{
		Flags:          flags,
		PermanentFlags: perm,
		NumMessages:    uint32(len(v.msgs)),
		NumRecent:      uint32(len(sel.recent)),
		UIDNext:        imap.UID(v.uidNext),
		UIDValidity:    mb.UIDValidity,
		HighestModSeq:  v.highest,
	}
	for i, m := range v.msgs {
		if !hasFlag(m.flags, imap.FlagSeen) {
			data.FirstUnseenSeqNum = uint32(i + 1)
			break
		}
	}
	return data
}

// closeSel ends a selection and forgets the view nobody uses any more.
func (h *hub) closeSel(sel *selection) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sel.st.Close()
	v := sel.view
	delete(v.sels, sel)
	if len(v.sels) == 0 && h.views[v.id] == v {
		delete(h.views, v.id)
	}
}

// claimRecent gives sel the messages that arrived since anyone last
// claimed, and returns how many it got.
func (h *hub) claimRecent(sel *selection) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := sel.view
	if sel.readOnly || v.claimed >= v.uidNext {
		return 0
	}
	n := 0
	for i := len(v.msgs) - 1; i >= 0 && v.msgs[i].uid >= v.claimed; i-- {
		sel.recent[v.msgs[i].uid] = struct{}{}
		n++
	}
	v.claimed = v.uidNext
	return n
}

func (h *hub) recentCount(sel *selection) uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return uint32(len(sel.recent))
}

// deleted tells whether the selected mailbox was deleted meanwhile.
func (sel *selection) deleted() bool {
	sel.h.mu.Lock()
	defer sel.h.mu.Unlock()
	return sel.view.deleted
}

// Poll writes the updates queued for this session (called by the library
// after every command; allowExpunge is false after FETCH, STORE and SEARCH,
// RFC 3501 7.4.1). A command was just read, so the client spoke: that
// renews presence, and for NOOP and CHECK, which reach the session only
// here, nothing else does (a client polling with NOOP stays present).
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	s.touch()
	return s.poll(w, allowExpunge)
}

// poll is Poll without renewing presence: Idle writes updates with it
// that the client did not ask for.
func (s *session) poll(w *imapserver.UpdateWriter, allowExpunge bool) (err error) {
	defer s.guard("POLL", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	sel := s.sel
	if sel == nil {
		return nil
	}
	// New messages become \Recent for the first session that reports
	// them, which is only certain when the whole queue is written.
	claimed := 0
	if allowExpunge {
		claimed = s.srv.hub.claimRecent(sel)
	}
	if err := sel.st.Poll(w, allowExpunge); err != nil {
		return err
	}
	if claimed == 0 {
		return nil
	}
	if err := w.WriteNumRecent(s.srv.hub.recentCount(sel)); err != nil {
		return err
	}
	// Persist the claim so that the next SELECT doesn't report them again.
	if _, err := s.srv.r.TakeRecent(s.ctx, sel.mailbox); err != nil && s.ctx.Err() == nil {
		s.log.Warn("take recent", "err", err)
	}
	return nil
}

// Idle streams updates until the client sends DONE (RFC 2177).
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	s.touch()
	for {
		if err := s.poll(w, true); err != nil {
			return err
		}
		var notify <-chan struct{}
		s.mu.Lock()
		if s.sel != nil {
			notify = s.sel.notify
		}
		s.mu.Unlock()
		select {
		case <-notify:
		case <-stop:
			return nil
		case <-s.ctx.Done():
			return nil
		}
	}
}

func hasFlag(flags []string, f imap.Flag) bool {
	for _, x := range flags {
		if x == string(f) {
			return true
		}
	}
	return false
}
