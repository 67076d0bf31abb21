package imapserver

import (
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"

	"mxdesk/panics"
	"mxdesk/router"
	"mxdesk/store"
)

// hub is the server's one subscriber to the router's change feed. For every
// mailbox that at least one session has selected it keeps a view: the
// canonical, sorted list of the mailbox's UIDs (the server-side sequence
// numbers) and their flags. Each committed change updates the view and is
// queued, translated into sequence numbers, on the go-imap tracker of every
// selection of the mailbox; the sessions write the queued updates when the
// library polls them (after each command, and during IDLE).
//
// One mutex guards every view and the trackers' shared state. The feed runs
// on the store's writer, so apply only touches memory and never calls the
// router; loading a view reads the store under the same mutex, which makes
// the load and the changes committed around it line up (see view.add).
type hub struct {
	r     *router.Router
	log   *slog.Logger
	unsub func()

	mu    sync.Mutex
	views map[store.MailboxID]*view
}

func newHub(r *router.Router, log *slog.Logger) *hub {
	h := &hub{r: r, log: log, views: map[store.MailboxID]*view{}}
	h.unsub = r.Subscribe(h.apply)
	return h
}

func (h *hub) close() { h.unsub() }

// view is the in-memory state of one selected mailbox.
type view struct {
	id   store.MailboxID
	msgs []viewMsg // ascending UID: msgs[i] has server sequence number i+1
	// uidNext is one past the highest UID the view has seen. A
	// MessageAdded below it was already in the snapshot the view was
	// loaded from (or was added and removed before), so it is ignored.
	uidNext  store.UID
	keywords map[string]struct{} // every keyword of the mailbox
	// claimed: messages with a UID below it are \Recent for at most the
	// session that claimed them; those at or above it are up for grabs
	// (RFC 3501 2.3.2: recent for the first session notified).
	claimed store.UID
	// highest is the mailbox's HIGHESTMODSEQ as of the latest change
	// applied (RFC 7162).
	highest uint64
	deleted bool
	sels    map[*selection]struct{}
}

type viewMsg struct {
	uid    store.UID
	flags  []string
	modSeq uint64
}

// apply is the router subscription: it runs on the store's writer, in
// commit order, once per committed batch.
func (h *hub) apply(changes []store.Change) {
	defer func() {
		if v := recover(); v != nil {
			panics.Recovered(h.log, panics.IMAPUpdates, "panic applying store changes", v)
		}
	}()
	h.mu.Lock()
	defer h.mu.Unlock()
	touched := map[*view]struct{}{}
	for i := range changes {
		c := &changes[i]
		v := h.views[c.Mailbox]
		if v == nil {
			continue
		}
		v.highest = max(v.highest, c.ModSeq)
		switch c.Kind {
		case store.MessageAdded:
			v.add(c.UID, c.Flags, c.ModSeq)
		case store.MessageRemoved:
			v.remove(c.UID)
		case store.FlagsChanged:
			v.setFlags(c.UID, c.Flags, c.ModSeq, c.Origin)
		case store.MailboxDeleted:
			v.drop()
		default:
			continue
		}
		touched[v] = struct{}{}
	}
	for v := range touched {
		for sel := range v.sels {
			sel.wake()
		}
	}
}

// load reads mailbox id into a new view. Called with h.mu held.
func (h *hub) load(id store.MailboxID) (*view, store.Mailbox, error) {
	var (
		mb   store.Mailbox
		msgs []store.Message
	)
	err := h.r.View(func(rd store.Reader) error {
		var err error
		if mb, err = rd.Mailbox(id); err != nil {
			return err
		}
		msgs, err = rd.Messages(id, 1, 0)
		return err
	})
	if err != nil {
		return nil, mb, err
	}
	v := &view{
		id:       id,
		msgs:     make([]viewMsg, len(msgs)),
		uidNext:  mb.UIDNext,
		highest:  mb.HighestModSeq,
		keywords: map[string]struct{}{},
		sels:     map[*selection]struct{}{},
	}
	for _, k := range mb.Keywords {
		v.keywords[k] = struct{}{}
	}
	for i, m := range msgs {
		v.msgs[i] = viewMsg{uid: m.UID, flags: m.Flags, modSeq: m.ModSeq}
		v.learn(m.Flags)
		if m.UID >= v.uidNext {
			v.uidNext = m.UID + 1
		}
	}
	return v, mb, nil
}

func (v *view) find(uid store.UID) (int, bool) {
	i := sort.Search(len(v.msgs), func(i int) bool { return v.msgs[i].uid >= uid })
	return i, i < len(v.msgs) && v.msgs[i].uid == uid
}

// add appends a new message and queues EXISTS. Each message gets its own
// EXISTS: the library's SessionTracker.EncodeSeqNum only handles increments
// of one.
func (v *view) add(uid store.UID, flags []string, modSeq uint64) {
	if uid < v.uidNext {
		return
	}
	v.uidNext = uid + 1
	v.learnQueue(flags)
	v.msgs = append(v.msgs, viewMsg{uid: uid, flags: flags, modSeq: modSeq})
	n := uint32(len(v.msgs))
	for sel := range v.sels {
		sel.mt.QueueNumMessages(n)
	}
}

// remove drops a message and queues EXPUNGE for every selection, including
// the one that expunged or moved it: a session reports its own expunges
// through its tracker too, so that each client sees each EXPUNGE once, in
// order, with the right sequence number.
func (v *view) remove(uid store.UID) {
	i, ok := v.find(uid)
	if !ok {
		return
	}
	v.msgs = append(v.msgs[:i], v.msgs[i+1:]...)
	for sel := range v.sels {
		sel.mt.QueueExpungeUID(uint32(i+1), imap.UID(uid))
		delete(sel.recent, uid)
	}
}

// setFlags records new flags and queues FETCH FLAGS for every selection
// but the session whose own command answers with them (see origin).
func (v *view) setFlags(uid store.UID, flags []string, modSeq uint64, o any) {
	i, ok := v.find(uid)
	if !ok {
		return
	}
	old := v.msgs[i].flags
	v.msgs[i].flags = flags
	v.msgs[i].modSeq = modSeq
	v.learnQueue(flags)
	for sel := range v.sels {
		if o, ok := o.(*origin); ok && o.answers(sel, uid, old, flags) {
			continue
		}
		sel.mt.QueueMessageFlagsModSeq(uint32(i+1), imap.UID(uid), sel.imapFlags(uid, flags), modSeq, nil)
	}
}

// origin marks the store changes of one session's command
// (store.UpdateOptions.Origin), so that the hub does not echo to that
// session what the command's own response reports. A command has side
// effects its response does not show: reading the latest message of a
// session opens it, which changes the status keyword of every message of
// the session; those changes are queued as for anyone else.
type origin struct {
	sess *session
	// answered are the UIDs whose final flags the response carries
	// (STORE, FETCH that sets \Seen).
	answered map[store.UID]bool
	// silent (STORE .SILENT): the response carries no flags; the client
	// knows what it asked for, so only changes of a status keyword (which
	// it can't ask for) are reported.
	silent bool
}

// newOrigin returns the origin of a command of s answering for uids.
func (s *session) newOrigin(uids []store.UID, silent bool) *origin {
	o := &origin{sess: s, silent: silent, answered: make(map[store.UID]bool, len(uids))}
	for _, u := range uids {
		o.answered[u] = true
	}
	return o
}

// answers reports whether the change of uid's flags from old to next is
// reported to sel by the command itself.
func (o *origin) answers(sel *selection, uid store.UID, old, next []string) bool {
	if o.sess != sel.sess || !o.answered[uid] {
		return false
	}
	return !o.silent || slices.Equal(statusKeywords(old), statusKeywords(next))
}

func statusKeywords(flags []string) []string {
	var out []string
	for _, f := range flags {
		if router.IsStatusKeyword(f) {
			out = append(out, f)
		}
	}
	return out
}

// drop handles the deletion of the mailbox: every message is expunged, and
// further commands on it get NO.
func (v *view) drop() {
	v.deleted = true
	for n := len(v.msgs); n > 0; n-- {
		for sel := range v.sels {
			sel.mt.QueueExpungeUID(uint32(n), imap.UID(v.msgs[n-1].uid))
		}
	}
	v.msgs = nil
}

// learn adds the keywords among flags to the mailbox's and reports whether
// there was a new one.
func (v *view) learn(flags []string) bool {
	added := false
	for _, f := range flags {
		if isKeyword(f) {
			if _, ok := v.keywords[f]; !ok {
				v.keywords[f] = struct{}{}
				added = true
			}
		}
	}
	return added
}

// learnQueue is learn plus an untagged FLAGS to every selection when the
// mailbox got a new keyword (RFC 3501 7.2.6: FLAGS lists the flags defined
// in the mailbox; Thunderbird tags are keywords). It is queued before the
// EXISTS or FETCH that carries the keyword.
func (v *view) learnQueue(flags []string) {
	if !v.learn(flags) {
		return
	}
	fl := v.mailboxFlags()
	for sel := range v.sels {
		sel.mt.QueueMailboxFlags(fl)
	}
}

// systemFlags are the flags of RFC 3501 2.3.2 a client may set.
var systemFlags = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

// mailboxFlags is the FLAGS of the mailbox: system flags and its keywords.
func (v *view) mailboxFlags() []imap.Flag {
	fl := append([]imap.Flag(nil), systemFlags...)
	kw := make([]string, 0, len(v.keywords))
	for k := range v.keywords {
		kw = append(kw, k)
	}
	sort.Strings(kw)
	for _, k := range kw {
		fl = append(fl, imap.Flag(k))
	}
	return fl
}

func isKeyword(f string) bool { return f != "" && !strings.HasPrefix(f, `\`) }
