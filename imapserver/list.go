package imapserver

import (
	"reflect"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/router"
)

// maxPatternLen bounds a LIST pattern: matching costs its length times the
// name's.
const maxPatternLen = 1024

// List answers LIST and LSUB (RFC 3501 6.3.8-9) with the LIST-EXTENDED
// selection and return options (RFC 5258), SPECIAL-USE (RFC 6154), CHILDREN
// (RFC 3348) and LIST-STATUS (RFC 5819).
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, opts *imap.ListOptions) (err error) {
	defer s.guard("LIST", &err)
	if len(patterns) == 0 {
		// RFC 3501 6.3.8: an empty pattern asks for the delimiter.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: router.Delimiter})
	}
	for _, p := range patterns {
		if len(p) > maxPatternLen {
			return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Pattern too long"}
		}
	}
	folders, err := s.srv.r.Folders(s.agent)
	if err != nil {
		return s.routerErr(err, srcFolder)
	}
	m := newListMatcher(ref, patterns)
	lsub := isLSub(w)
	for i := range folders {
		data := s.listData(folders, i, m, opts, lsub)
		if data == nil {
			continue
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	if opts.SelectSubscribed {
		return s.listKeptSubscriptions(w, m, lsub)
	}
	return nil
}

// listKeptSubscriptions lists the subscriptions of deleted folders (RFC
// 3501 6.3.6 keeps them): \NonExistent in LIST (SUBSCRIBED) (RFC 5258
// 3.4), \Noselect in LSUB (RFC 3501 6.3.9).
func (s *session) listKeptSubscriptions(w *imapserver.ListWriter, m listMatcher, lsub bool) error {
	names, err := s.srv.r.KeptSubscriptions(s.agent)
	if err != nil {
		return s.routerErr(err, srcFolder)
	}
	attrs := []imap.MailboxAttr{imap.MailboxAttrNonExistent, imap.MailboxAttrSubscribed}
	if lsub {
		attrs = []imap.MailboxAttr{imap.MailboxAttrNoSelect}
	}
	for _, name := range names {
		if !m.match(name) {
			continue
		}
		if err := w.WriteList(&imap.ListData{Mailbox: name, Delim: router.Delimiter, Attrs: attrs}); err != nil {
			return err
		}
	}
	return nil
}

// isLSub tells LSUB from LIST (SUBSCRIBED): the library passes both the
// same options, and only its writer records which command it answers. The
// two differ: LIST (SUBSCRIBED) returns \Subscribed (RFC 5258 3.1), LSUB
// shows unsubscribed parents as \Noselect (RFC 3501 6.3.9).
func isLSub(w *imapserver.ListWriter) bool {
	f := reflect.ValueOf(w).Elem().FieldByName("lsub")
	return f.IsValid() && f.Kind() == reflect.Bool && f.Bool()
}

// listData is the LIST response for folders[i], or nil when it is not
// listed.
func (s *session) listData(folders []router.Folder, i int, m listMatcher, opts *imap.ListOptions, lsub bool) *imap.ListData {
	f := folders[i]
	if !m.match(f.Name) {
		return nil
	}
	attrs := folderAttrs(f)
	data := &imap.ListData{Mailbox: f.Name, Delim: router.Delimiter, Attrs: attrs}
	subscribedChild := hasSubscribedChild(folders, f.Name)
	if opts.SelectSubscribed && !f.Subscribed {
		switch {
		case opts.SelectRecursiveMatch && subscribedChild:
			// RFC 5258 3.5: listed for its subscribed children only.
			data.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
			return data
		case lsub && subscribedChild && !m.matchesChildOf(folders, f.Name):
			// RFC 3501 6.3.9: "%" shows a non-subscribed parent of a
			// subscribed folder as \Noselect.
			data.Attrs = []imap.MailboxAttr{imap.MailboxAttrNoSelect}
			return data
		default:
			return nil
		}
	}
	if opts.SelectSpecialUse && !hasSpecialUse(attrs) {
		return nil
	}
	if f.Subscribed && !lsub && (opts.SelectSubscribed || opts.ReturnSubscribed) {
		data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
	}
	if opts.SelectRecursiveMatch && subscribedChild {
		data.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
	}
	if opts.ReturnStatus != nil && f.Mailbox != 0 {
		if st, err := s.status(f, opts.ReturnStatus); err == nil {
			data.Status = st
		}
	}
	return data
}

func folderAttrs(f router.Folder) []imap.MailboxAttr {
	attrs := make([]imap.MailboxAttr, 0, len(f.Attrs)+1)
	for _, a := range f.Attrs {
		attrs = append(attrs, imap.MailboxAttr(a))
	}
	if f.Mailbox == 0 && !containsAttr(attrs, imap.MailboxAttrNoSelect) {
		attrs = append(attrs, imap.MailboxAttrNoSelect)
	}
	return attrs
}

func containsAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// hasSpecialUse tells whether attrs hold an RFC 6154 attribute.
func hasSpecialUse(attrs []imap.MailboxAttr) bool {
	for _, a := range attrs {
		switch a {
		case imap.MailboxAttrAll, imap.MailboxAttrArchive, imap.MailboxAttrDrafts, imap.MailboxAttrFlagged,
			imap.MailboxAttrJunk, imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttrImportant:
			return true
		}
	}
	return false
}

func hasSubscribedChild(folders []router.Folder, name string) bool {
	prefix := name + string(router.Delimiter)
	for _, f := range folders {
		if f.Subscribed && strings.HasPrefix(f.Name, prefix) {
			return true
		}
	}
	return false
}

// listMatcher matches folder names against the patterns of one LIST.
type listMatcher struct {
	patterns []string
	inbox    []string // the same with their INBOX prefix upper-cased
}

// newListMatcher joins the reference and each pattern into one canonical
// pattern (RFC 3501 6.3.8). A pattern that starts with the delimiter is
// absolute and ignores the reference; a reference without a trailing
// delimiter gets one.
func newListMatcher(ref string, patterns []string) listMatcher {
	delim := string(router.Delimiter)
	var m listMatcher
	for _, p := range patterns {
		full := p
		if ref != "" && !strings.HasPrefix(p, delim) {
			if !strings.HasSuffix(ref, delim) {
				ref += delim
			}
			full = ref + p
		}
		m.patterns = append(m.patterns, full)
		m.inbox = append(m.inbox, upperInbox(full))
	}
	return m
}

// upperInbox upper-cases the literal start of a pattern as far as it spells
// INBOX in any case: INBOX is case-insensitive (RFC 3501 5.1), so "inbox",
// "InBoX*" and "inb%" all match it.
func upperInbox(p string) string {
	n := 0
	for n < len(p) && n < len(router.Inbox) && strings.EqualFold(p[n:n+1], router.Inbox[n:n+1]) {
		n++
	}
	return router.Inbox[:n] + p[n:]
}

func (m listMatcher) match(name string) bool {
	patterns := m.patterns
	if name == router.Inbox || strings.HasPrefix(name, router.Inbox+string(router.Delimiter)) {
		patterns = m.inbox
	}
	for _, p := range patterns {
		if matchPattern(p, name, router.Delimiter) {
			return true
		}
	}
	return false
}

// matchesChildOf tells whether a pattern matches some folder below name.
func (m listMatcher) matchesChildOf(folders []router.Folder, name string) bool {
	prefix := name + string(router.Delimiter)
	for _, f := range folders {
		if f.Subscribed && strings.HasPrefix(f.Name, prefix) && m.match(f.Name) {
			return true
		}
	}
	return false
}

// matchPattern matches name against a LIST pattern: "*" matches any run of
// characters, "%" any run without the delimiter, everything else (including
// characters that are special elsewhere, like "[", "(", "." or "\") only
// itself. It runs in O(len(pattern)·len(name)) (dynamic programming over
// the name, one row per pattern byte), so hostile patterns with many
// wildcards can't make it backtrack exponentially.
func matchPattern(pattern, name string, delim byte) bool {
	n := len(name)
	cur := make([]bool, n+1) // cur[j]: pattern[:i] matches name[:j]
	next := make([]bool, n+1)
	cur[0] = true
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			run := false
			for j := 0; j <= n; j++ {
				run = run || cur[j]
				next[j] = run
			}
		case '%':
			run := false
			for j := 0; j <= n; j++ {
				if j > 0 && name[j-1] == delim {
					run = false
				}
				run = run || cur[j]
				next[j] = run
			}
		default:
			next[0] = false
			for j := 1; j <= n; j++ {
				next[j] = cur[j-1] && name[j-1] == c
			}
		}
		cur, next = next, cur
	}
	return cur[n]
}
