package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"mxdesk/store"
)

// Desk folder names (SPEC §5).
const (
	Inbox        = "INBOX"
	QueuesFolder = "Queues"
	SentFolder   = "Sent"
	DraftsFolder = "Drafts"
	TrashFolder  = "Trash"
)

// personalDesk are the desk folders every agent owns, with their RFC 6154
// special-use attribute.
var personalDesk = []struct{ name, use string }{
	{Inbox, ""},
	{SentFolder, `\Sent`},
	{DraftsFolder, `\Drafts`},
	{TrashFolder, `\Trash`},
}

// reservedTop are top-level names the desk owns now or will own; agents
// can't create folders at or below them. INBOX, Sent, Drafts and Trash may
// hold personal subfolders (Thunderbird deletes a folder by moving it into
// Trash).
var reservedTop = []string{QueuesFolder, "Resolved", "Later", "Templates", "All", "Agents"}

const maxFolderName = 512

// queueMailboxName is the shared mailbox of a queue.
func queueMailboxName(queue string) string { return QueuesFolder + "/" + queue }

// ensureDesk creates the desk mailboxes of every queue and agent.
func (r *Router) ensureDesk() error {
	cfg := r.config()
	return r.st.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		for _, q := range cfg.Queue {
			if err := ensureMailbox(tx, "", queueMailboxName(q.Name), ""); err != nil {
				return err
			}
		}
		for _, a := range cfg.Agent {
			for _, d := range personalDesk {
				if err := ensureMailbox(tx, strings.ToLower(a.Login), d.name, d.use); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func ensureMailbox(tx store.Tx, owner, name, use string) error {
	_, err := tx.MailboxByName(owner, name)
	if errors.Is(err, store.ErrNotFound) {
		_, err = tx.CreateMailbox(store.Mailbox{Owner: owner, Name: name, SpecialUse: use, Subscribed: true})
	}
	return err
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
	if name == QueuesFolder || strings.HasPrefix(name, QueuesFolder+"/") {
		return true
	}
	for _, d := range personalDesk {
		if name == d.name {
			return true
		}
	}
	return false
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
		for _, q := range a.Queues {
			m, err := rd.MailboxByName("", queueMailboxName(q))
			if err != nil {
				return err
			}
			out = append(out, folderOf(m))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(a.Queues) > 0 {
		out = append(out, Folder{Name: QueuesFolder, Attrs: []string{`\Noselect`}, Subscribed: true, Desk: true})
	}
	slices.SortFunc(out, func(x, y Folder) int { return strings.Compare(x.Name, y.Name) })
	markChildren(out)
	return out, nil
}

func folderOf(m store.Mailbox) Folder {
	f := Folder{Name: m.Name, Mailbox: m.ID, Subscribed: m.Subscribed, Desk: isDeskName(m.Name)}
	if m.SpecialUse != "" {
		f.Attrs = append(f.Attrs, m.SpecialUse)
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
// folder; queue folders of other queues are not found either.
func (r *Router) Folder(a *Agent, name string) (Folder, error) {
	name = canonicalName(name)
	if name == QueuesFolder && len(a.Queues) > 0 {
		return Folder{Name: QueuesFolder, Attrs: []string{`\Noselect`}, Subscribed: true, Desk: true}, nil
	}
	var f Folder
	err := r.st.View(func(rd store.Reader) error {
		m, err := r.mailboxFor(rd, a, name)
		if err != nil {
			return err
		}
		f = folderOf(m)
		return nil
	})
	return f, err
}

// mailboxFor finds the mailbox behind a's folder name.
func (r *Router) mailboxFor(rd store.Reader, a *Agent, name string) (store.Mailbox, error) {
	name = canonicalName(name)
	owner := a.Login
	if q, ok := strings.CutPrefix(name, QueuesFolder+"/"); ok {
		if !a.servesQueue(q) {
			return store.Mailbox{}, errorf(KindNotFound, "no such folder %q", name)
		}
		owner = ""
	}
	m, err := rd.MailboxByName(owner, name)
	if errors.Is(err, store.ErrNotFound) {
		return m, errorf(KindNotFound, "no such folder %q", name)
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
	if m.Owner == a.Login {
		return m, nil
	}
	if q, ok := strings.CutPrefix(m.Name, QueuesFolder+"/"); ok && m.Owner == "" && a.servesQueue(q) {
		return m, nil
	}
	return store.Mailbox{}, errorf(KindNotFound, "no such folder")
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
		parts := strings.Split(name, "/")
		for i := 1; i < len(parts); i++ {
			if err := ensureMailbox(tx, a.Login, strings.Join(parts[:i], "/"), ""); err != nil {
				return err
			}
		}
		_, err := tx.CreateMailbox(store.Mailbox{Owner: a.Login, Name: name, Subscribed: true, Created: r.now()})
		return err
	})
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
		parts := strings.Split(to, "/")
		for i := 1; i < len(parts); i++ {
			if err := ensureMailbox(tx, a.Login, strings.Join(parts[:i], "/"), ""); err != nil {
				return err
			}
		}
		for _, m := range all {
			if m.Name == from || strings.HasPrefix(m.Name, from+"/") {
				m.Name = to + strings.TrimPrefix(m.Name, from)
				if err := tx.UpdateMailbox(m); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// SetSubscribed (un)subscribes a to a personal folder. Desk folders are
// always subscribed; changing them is accepted and has no effect.
func (r *Router) SetSubscribed(ctx context.Context, a *Agent, name string, on bool) error {
	name = canonicalName(name)
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		m, err := r.mailboxFor(tx, a, name)
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
