package router

import (
	"context"
	"time"

	"mxdesk/store"
)

// Agent is a logged-in agent as the protocol packages see it.
type Agent struct {
	Login  string
	Name   string
	Role   string   // agent | supervisor | admin
	Queues []string // queue names this agent serves
}

// Folder is one IMAP folder as one agent sees it.
type Folder struct {
	Name       string          // full name, "/" separated ("Queues/Support")
	Mailbox    store.MailboxID // 0 for a \Noselect parent such as "Queues"
	Attrs      []string        // RFC 6154 special use, \Noselect, \HasChildren, \HasNoChildren
	Subscribed bool
	Desk       bool // a desk folder (INBOX, Queues/..., Sent, ...): cannot be renamed or deleted
}

// Delimiter is the IMAP hierarchy delimiter of every folder name.
const Delimiter = '/'

// FlagOp says how StoreFlags combines flags.
type FlagOp int

const (
	FlagsSet FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// Authenticate checks a login and password against the configuration. A
// wrong login or password returns an error of KindAuth; both take the same
// time so logins can't be probed.
func (r *Router) Authenticate(login, password string) (*Agent, error) { panic("TODO") }

// Folders lists every folder a sees, sorted by name, parents included.
func (r *Router) Folders(a *Agent) ([]Folder, error) { panic("TODO") }

// Folder resolves one folder name for a (INBOX is case-insensitive).
// KindNotFound when a has no such folder.
func (r *Router) Folder(a *Agent, name string) (Folder, error) { panic("TODO") }

// CreateFolder creates a personal folder (and missing parents). Desk names
// and their children are KindForbidden; an existing name is KindExists.
func (r *Router) CreateFolder(ctx context.Context, a *Agent, name string) error { panic("TODO") }

// DeleteFolder deletes a personal folder and its messages. Desk folders are
// KindForbidden.
func (r *Router) DeleteFolder(ctx context.Context, a *Agent, name string) error { panic("TODO") }

// RenameFolder renames a personal folder (children follow). Renaming INBOX
// or any desk folder is KindForbidden.
func (r *Router) RenameFolder(ctx context.Context, a *Agent, from, to string) error { panic("TODO") }

// SetSubscribed (un)subscribes a to a folder.
func (r *Router) SetSubscribed(ctx context.Context, a *Agent, name string, on bool) error {
	panic("TODO")
}

// Append stores raw in a's folder with flags and internal date (zero: now)
// and returns the mailbox and the new UID. Over the size limit: KindTooBig.
func (r *Router) Append(ctx context.Context, a *Agent, folder string, raw []byte, flags []string, date time.Time) (store.Mailbox, store.UID, error) {
	panic("TODO")
}

// StoreFlags changes the flags of the given messages of mbox and returns
// them with their new flags (messages that no longer exist are skipped).
// origin is copied into the published changes.
func (r *Router) StoreFlags(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, op FlagOp, flags []string, origin any) ([]store.Message, error) {
	panic("TODO")
}

// Expunge removes the messages of mbox flagged \Deleted, only among uids
// when uids is not nil, and returns the removed UIDs ascending.
func (r *Router) Expunge(ctx context.Context, a *Agent, mbox store.MailboxID, uids []store.UID, origin any) ([]store.UID, error) {
	panic("TODO")
}

// Copy copies messages of src into a's folder dest, keeping flags and
// internal date, and returns the destination mailbox with source and new
// UIDs in matching order. Copying a queue message into INBOX claims its
// session like a move.
func (r *Router) Copy(ctx context.Context, a *Agent, src store.MailboxID, uids []store.UID, dest string) (store.Mailbox, []store.UID, []store.UID, error) {
	panic("TODO")
}

// Move moves messages of src into a's folder dest (src may equal dest: the
// messages get new UIDs). Desk rules apply: a queue message moved into INBOX
// claims its session for a; a session's message can't be moved into a
// personal folder (KindForbidden; copying is fine). Returns the destination
// mailbox with source and new UIDs in matching order.
func (r *Router) Move(ctx context.Context, a *Agent, src store.MailboxID, uids []store.UID, dest string, origin any) (store.Mailbox, []store.UID, []store.UID, error) {
	panic("TODO")
}

// TakeRecent returns the first UID that is \Recent for a session selecting
// mbox now, and advances the mailbox's recent mark past every current
// message, so the next SELECT sees none of them as recent (RFC 3501 2.3.2).
func (r *Router) TakeRecent(ctx context.Context, mbox store.MailboxID) (store.UID, error) {
	panic("TODO")
}

// ensureDesk creates the desk mailboxes of every queue and agent.
func (r *Router) ensureDesk() error { return nil }
