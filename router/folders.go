package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"mxdesk/config"
	"mxdesk/store"
)

// Desk folder names (SPEC §5).
const (
	Inbox           = "INBOX"
	QueuesFolder    = "Queues"
	SentFolder      = "Sent"
	DraftsFolder    = "Drafts"
	TrashFolder     = "Trash"
	ResolvedFolder  = "Resolved"
	LaterFolder     = "Later"
	TemplatesFolder = "Templates"
	JunkFolder      = "Junk"   // an agent's \Junk folder: moving a session here files it as spam
	AllFolder       = "All"    // supervisors: All/<queue>, every session's messages
	AgentsFolder    = "Agents" // supervisors: Agents/<login>, move here to assign
	StatusFolder    = "Status" // Status/Away, Status/Available: move a message here to set your state
	spamSuffix      = "/Spam"  // Queues/<queue>/Spam: supervisors only
)

// The agent state folders: moving (or copying) any message into one sets
// the state and moves nothing.
const (
	AwayFolder      = StatusFolder + "/Away"
	AvailableFolder = StatusFolder + "/Available"
)

// personalDesk are the desk folders every agent owns, with their RFC 6154
// special-use attribute. Later is added for agents of a queue that allows it.
// Resolved is \Archive and Junk \Junk so that Thunderbird's Archive and
// Junk buttons (and any client that reads special-use) find them.
var personalDesk = []struct{ name, use string }{
	{Inbox, ""},
	{SentFolder, `\Sent`},
	{DraftsFolder, `\Drafts`},
	{TrashFolder, `\Trash`},
	{ResolvedFolder, `\Archive`},
	{JunkFolder, `\Junk`},
	{TemplatesFolder, ""},
	{AwayFolder, ""},
	{AvailableFolder, ""},
}

// reservedTop are top-level names the desk owns; agents can't create
// folders at or below them. INBOX, Sent, Drafts and Trash may hold personal
// subfolders (Thunderbird deletes a folder by moving it into Trash).
var reservedTop = []string{QueuesFolder, ResolvedFolder, LaterFolder, TemplatesFolder, AllFolder, AgentsFolder, StatusFolder}

const maxFolderName = 512

// queueMailboxName is the shared mailbox of a queue's waiting sessions.
func queueMailboxName(queue string) string { return QueuesFolder + "/" + queue }

// spamMailboxName is where a queue's spam waits for supervisors.
func spamMailboxName(queue string) string { return queueMailboxName(queue) + spamSuffix }

// archiveMailboxName is the shared mailbox with every message of a queue.
func archiveMailboxName(queue string) string { return AllFolder + "/" + queue }

// agentMailboxName is the supervisors' assignment target for an agent.
func agentMailboxName(login string) string { return AgentsFolder + "/" + login }

// allowsLater reports whether one of the agent's queues lets sessions be
// parked in Later.
func (r *Router) allowsLater(queues []string) bool {
	for _, name := range queues {
		if q := r.config().QueueByName(name); q != nil && q.AllowPersonalQueue {
			return true
		}
	}
	return false
}

// ensureDesk creates the desk mailboxes of every queue and agent and fills
// the Templates folders.
func (r *Router) ensureDesk() error {
	cfg := r.config()
	return r.st.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		for _, q := range cfg.Queue {
			for _, name := range []string{queueMailboxName(q.Name), spamMailboxName(q.Name), archiveMailboxName(q.Name)} {
				if err := ensureMailbox(tx, "", name, ""); err != nil {
					return err
				}
			}
		}
		for i, a := range cfg.Agent {
			login := strings.ToLower(a.Login)
			queues := cfg.AgentQueues(&cfg.Agent[i])
			for _, d := range personalDesk {
				if err := ensureMailbox(tx, login, d.name, d.use); err != nil {
					return err
				}
			}
			if r.allowsLater(queues) {
				if err := ensureMailbox(tx, login, LaterFolder, ""); err != nil {
					return err
				}
			}
			if err := ensureMailbox(tx, "", agentMailboxName(login), ""); err != nil {
				return err
			}
			if err := r.syncTemplates(tx, login, queues); err != nil {
				return err
			}
		}
		return r.noteDeskWrapups(tx, cfg)
	})
}

// ensureMailbox creates a mailbox unless it exists, and gives a desk
// folder its special-use attribute (also one created before the desk had
// it, or a personal Junk an agent made earlier). Mailboxes that hold
// sessions announce the status keywords from the start, so clients learn
// them with the folder's FLAGS.
func ensureMailbox(tx store.Tx, owner, name, use string) error {
	m, err := tx.MailboxByName(owner, name)
	if errors.Is(err, store.ErrNotFound) {
		m, err = tx.CreateMailbox(store.Mailbox{Owner: owner, Name: name, SpecialUse: use, Subscribed: true})
	}
	if err == nil && use != "" && m.SpecialUse != use {
		m.SpecialUse = use
		err = tx.UpdateMailbox(m)
	}
	if err != nil || roleOf(m) == roleOther {
		return err
	}
	return noteKeywords(tx, &m, statusKeywords())
}

// canonicalName cleans a folder name: INBOX in any case is INBOX.
func canonicalName(name string) string {
	if strings.EqualFold(name, Inbox) {
		return Inbox
	}
	if len(name) > len(Inbox) && strings.EqualFold(name[:len(Inbox)+1], Inbox+"/") {
		return Inbox + name[len(Inbox):]
	}
	return name
}

func isDeskName(name string) bool {
	top, _, _ := strings.Cut(name, "/")
	if top == QueuesFolder || top == AllFolder || top == AgentsFolder || name == LaterFolder || name == StatusFolder {
		return true
	}
	for _, d := range personalDesk {
		if name == d.name {
			return true
		}
	}
	return false
}

// isReadOnly reports whether a mailbox takes no messages in or out: the
// archives and Templates. Flags are another matter: an agent's Templates
// keep the agent's flags, an archive's stay as they are (StoreFlags).
func isReadOnly(m store.Mailbox) bool {
	return roleOf(m) == roleArchive || (m.Owner != "" && m.Name == TemplatesFolder)
}

func isReserved(name string) bool {
	top, _, _ := strings.Cut(name, "/")
	return slices.Contains(reservedTop, top) || isDeskName(name)
}

// validName checks a personal folder name.
func validName(name string) error {
	if name == "" || len(name) > maxFolderName || !utf8.ValidString(name) {
		return errorf(KindInvalid, "invalid folder name")
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return errorf(KindInvalid, "invalid folder name %q: empty or dot component", name)
		}
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || c == '*' || c == '%' {
			return errorf(KindInvalid, "invalid folder name %q: control or wildcard character", name)
		}
	}
	return nil
}

// KeptSubscriptions lists the names a is subscribed to that have no folder
// (deleted ones: RFC 3501 6.3.6 keeps their subscription).
func (r *Router) KeptSubscriptions(a *Agent) ([]string, error) {
	var out []string
	err := r.st.View(func(rd store.Reader) error {
		var err error
		out, err = rd.KeptSubscriptions(a.Login)
		return err
	})
	return out, err
}

// Folders lists every folder a sees, sorted by name, parents included.
func (r *Router) Folders(a *Agent) ([]Folder, error) {
	var out []Folder
	err := r.st.View(func(rd store.Reader) error {
		own, err := rd.Mailboxes(a.Login)
		if err != nil {
			return err
		}
		for _, m := range own {
			out = append(out, folderOf(m))
		}
		shared, err := rd.Mailboxes("")
		if err != nil {
			return err
		}
		for _, m := range shared {
			if a.mayOpen(m) {
				out = append(out, folderOf(m))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, parent := range []string{QueuesFolder, AllFolder, AgentsFolder, StatusFolder} {
		if slices.ContainsFunc(out, func(f Folder) bool { return strings.HasPrefix(f.Name, parent+"/") }) {
			out = append(out, parentFolder(parent))
		}
	}
	slices.SortFunc(out, func(x, y Folder) int { return strings.Compare(x.Name, y.Name) })
	markChildren(out)
	return out, nil
}

func parentFolder(name string) Folder {
	return Folder{Name: name, Attrs: []string{`\Noselect`}, Subscribed: true, Desk: true}
}

// mayOpen reports whether a may see shared mailbox m: the queue folders of
// a's queues, and for supervisors every archive and agent folder.
func (a *Agent) mayOpen(m store.Mailbox) bool {
	if m.Owner != "" {
		return m.Owner == a.Login
	}
	top, rest, _ := strings.Cut(m.Name, "/")
	switch top {
	case QueuesFolder:
		if q, ok := strings.CutSuffix(rest, spamSuffix); ok {
			return config.IsSupervisor(a.Role) && a.servesQueue(q)
		}
		return a.servesQueue(rest)
	case AllFolder, AgentsFolder:
		return config.IsSupervisor(a.Role)
	}
	return false
}

func folderOf(m store.Mailbox) Folder {
	f := Folder{Name: m.Name, Mailbox: m.ID, Subscribed: m.Subscribed, Desk: isDeskName(m.Name), ReadOnly: roleOf(m) == roleArchive}
	if m.SpecialUse != "" {
		f.Attrs = append(f.Attrs, m.SpecialUse)
	}
	if m.Owner != "" && m.Name == ResolvedFolder {
		// Thunderbird archives into yearly subfolders of the \Archive
		// folder unless it can't have any: this keeps its Archive
		// button moving sessions into Resolved itself.
		f.Attrs = append(f.Attrs, `\Noinferiors`)
	}
	if m.Owner == "" || f.Desk {
		f.Subscribed = true
	}
	return f
}

// markChildren adds \HasChildren or \HasNoChildren (RFC 3348) to a sorted
// folder list.
func markChildren(fs []Folder) {
	for i := range fs {
		if slices.Contains(fs[i].Attrs, `\Noinferiors`) {
			continue // RFC 5258 4: \Noinferiors implies \HasNoChildren
		}
		attr := `\HasNoChildren`
		prefix := fs[i].Name + "/"
		for j := range fs {
			if strings.HasPrefix(fs[j].Name, prefix) {
				attr = `\HasChildren`
				break
			}
		}
		fs[i].Attrs = append(fs[i].Attrs, attr)
	}
}

// Folder resolves one folder name for a. KindNotFound when a has no such
// folder; shared folders a may not open are not found either.
func (r *Router) Folder(a *Agent, name string) (Folder, error) {
	name = canonicalName(name)
	var f Folder
	err := r.st.View(func(rd store.Reader) error {
		m, err := r.mailboxFor(rd, a, name)
		if err == nil {
			f = folderOf(m)
			return nil
		}
		if KindOf(err) == KindNotFound && slices.Contains([]string{QueuesFolder, AllFolder, AgentsFolder, StatusFolder}, name) {
			// A parent exists when a sees one of its children.
			fs, ferr := r.Folders(a)
			if ferr == nil && slices.ContainsFunc(fs, func(x Folder) bool { return x.Name == name }) {
				f = parentFolder(name)
				return nil
			}
		}
		return err
	})
	return f, err
}

// mailboxFor finds the mailbox behind a's folder name.
func (r *Router) mailboxFor(rd store.Reader, a *Agent, name string) (store.Mailbox, error) {
	name = canonicalName(name)
	top, _, _ := strings.Cut(name, "/")
	owner := a.Login
	if top == QueuesFolder || top == AllFolder || top == AgentsFolder {
		owner = ""
	}
	m, err := rd.MailboxByName(owner, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.mayOpen(m)) {
		return store.Mailbox{}, errorf(KindNotFound, "no such folder %q", name)
	}
	return m, err
}

// mailboxByID returns a mailbox a may use, KindNotFound otherwise.
func (r *Router) mailboxByID(rd store.Reader, a *Agent, id store.MailboxID) (store.Mailbox, error) {
	m, err := rd.Mailbox(id)
	if errors.Is(err, store.ErrNotFound) {
		return m, errorf(KindNotFound, "folder no longer exists")
	}
	if err != nil {
		return m, err
	}
	if !a.mayOpen(m) {
		return store.Mailbox{}, errorf(KindNotFound, "no such folder")
	}
	return m, nil
}

// CreateFolder creates a personal folder and its missing parents. Desk
// names and names below the reserved ones are KindForbidden; an existing
// name is KindExists.
func (r *Router) CreateFolder(ctx context.Context, a *Agent, name string) error {
	name = strings.TrimSuffix(canonicalName(name), "/")
	if isReserved(name) {
		return errorf(KindForbidden, "%q is a desk folder name", name)
	}
	if err := validName(name); err != nil {
		return err
	}
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		if _, err := tx.MailboxByName(a.Login, name); err == nil {
			return errorf(KindExists, "folder %q already exists", name)
		}
		if err := r.checkFolderCap(tx, a, append(parentNames(name), name)); err != nil {
			return err
		}
		if err := r.ensureParents(tx, a.Login, name); err != nil {
			return err
		}
		return r.createPersonal(tx, a.Login, name)
	})
}

// ensureParents creates the missing folders above a personal folder name.
func (r *Router) ensureParents(tx store.Tx, owner, name string) error {
	for _, parent := range parentNames(name) {
		_, err := tx.MailboxByName(owner, parent)
		if errors.Is(err, store.ErrNotFound) {
			err = r.createPersonal(tx, owner, parent)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// createPersonal creates a personal folder, unsubscribed (RFC 3501 6.3.6:
// CREATE does not subscribe) unless its name kept a subscription from a
// deleted folder.
func (r *Router) createPersonal(tx store.Tx, owner, name string) error {
	subscribed, err := takeKeptSubscription(tx, owner, name)
	if err != nil {
		return err
	}
	_, err = tx.CreateMailbox(store.Mailbox{Owner: owner, Name: name, Subscribed: subscribed, Created: r.now()})
	return err
}

// takeKeptSubscription reports whether owner kept a subscription of name
// without a mailbox, and forgets it: the mailbox made under that name now
// holds it.
func takeKeptSubscription(tx store.Tx, owner, name string) (bool, error) {
	kept, err := tx.KeptSubscriptions(owner)
	if err != nil || !slices.Contains(kept, name) {
		return false, err
	}
	return true, tx.KeepSubscription(owner, name, false)
}

// DeleteFolder deletes a personal folder and its messages. Desk folders are
// KindForbidden, and so is a folder that still has subfolders (delete those
// first, as Dovecot asks).
func (r *Router) DeleteFolder(ctx context.Context, a *Agent, name string) error {
	name = canonicalName(name)
	if isReserved(name) {
		return errorf(KindForbidden, "%q is a desk folder and can't be deleted", name)
	}
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		m, err := r.mailboxFor(tx, a, name)
		if err != nil {
			return err
		}
		all, err := tx.Mailboxes(a.Login)
		if err != nil {
			return err
		}
		for _, c := range all {
			if strings.HasPrefix(c.Name, name+"/") {
				return errorf(KindForbidden, "folder %q has subfolders; delete them first", name)
			}
		}
		if m.Subscribed {
			// RFC 3501 6.3.6: the subscription outlives the folder.
			if err := tx.KeepSubscription(a.Login, m.Name, true); err != nil {
				return err
			}
		}
		return tx.DeleteMailbox(m.ID)
	})
}

// RenameFolder renames a personal folder; its subfolders follow. Renaming a
// desk folder, or to a desk name, is KindForbidden.
func (r *Router) RenameFolder(ctx context.Context, a *Agent, from, to string) error {
	from, to = canonicalName(from), strings.TrimSuffix(canonicalName(to), "/")
	if isReserved(from) {
		return errorf(KindForbidden, "%q is a desk folder and can't be renamed", from)
	}
	if isReserved(to) {
		return errorf(KindForbidden, "%q is a desk folder name", to)
	}
	if err := validName(to); err != nil {
		return err
	}
	if to == from || strings.HasPrefix(to, from+"/") {
		return errorf(KindInvalid, "can't rename %q into itself", from)
	}
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		if _, err := r.mailboxFor(tx, a, from); err != nil {
			return err
		}
		if _, err := tx.MailboxByName(a.Login, to); err == nil {
			return errorf(KindExists, "folder %q already exists", to)
		}
		all, err := tx.Mailboxes(a.Login)
		if err != nil {
			return err
		}
		if err := r.checkFolderCap(tx, a, parentNames(to)); err != nil {
			return err
		}
		if err := r.ensureParents(tx, a.Login, to); err != nil {
			return err
		}
		for _, m := range all {
			if m.Name == from || strings.HasPrefix(m.Name, from+"/") {
				m.Name = to + strings.TrimPrefix(m.Name, from)
				kept, err := takeKeptSubscription(tx, a.Login, m.Name)
				if err != nil {
					return err
				}
				m.Subscribed = m.Subscribed || kept
				if err := tx.UpdateMailbox(m); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// parentNames are the folders above name, outermost first: "a/b/c" has
// "a" and "a/b".
func parentNames(name string) []string {
	var out []string
	for i, c := range name {
		if c == '/' {
			out = append(out, name[:i])
		}
	}
	return out
}

// checkFolderCap refuses to give a more folders of their own than
// limits.personal_folders_per_agent, when names (a new folder and its
// parents) are created. Desk folders are not counted.
func (r *Router) checkFolderCap(tx store.Tx, a *Agent, names []string) error {
	limit := r.config().Limits.PersonalFoldersPerAgent
	if limit == 0 {
		return nil
	}
	own, err := tx.Mailboxes(a.Login)
	if err != nil {
		return err
	}
	have, exists := 0, make(map[string]bool, len(own))
	for _, m := range own {
		exists[m.Name] = true
		if !isDeskName(m.Name) {
			have++
		}
	}
	adding := 0
	for _, n := range names {
		if !exists[n] && !isDeskName(n) {
			adding++
		}
	}
	if adding == 0 || have+adding <= limit {
		return nil
	}
	r.log.Warn("folder refused: limits.personal_folders_per_agent reached", "login", a.Login, "folders", have, "limit", limit)
	return errorf(KindLimit, "at most %d folders of your own (limits.personal_folders_per_agent): delete some first", limit)
}

// SetSubscribed (un)subscribes a to a personal folder, or unsubscribes a
// deleted one's kept subscription. Desk folders are always subscribed;
// changing them is accepted and has no effect.
func (r *Router) SetSubscribed(ctx context.Context, a *Agent, name string, on bool) error {
	name = canonicalName(name)
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		m, err := r.mailboxFor(tx, a, name)
		if err != nil && !on {
			// UNSUBSCRIBE of a deleted folder's kept subscription.
			if kept, kerr := takeKeptSubscription(tx, a.Login, name); kerr != nil || kept {
				return kerr
			}
		}
		if err != nil {
			return err
		}
		if isDeskName(m.Name) || m.Subscribed == on {
			return nil
		}
		m.Subscribed = on
		return tx.UpdateMailbox(m)
	})
}
