package router

import (
	"mxdesk/store"
)

// Agent is a logged-in agent as the protocol packages see it.
type Agent struct {
	Login  string
	Name   string
	Role   string   // agent | supervisor | admin
	Queues []string // queue names this agent serves

	// hash is the password hash the agent logged in with: a reload that
	// changes it (or the role or queues) ends the login (Current).
	hash string

	// api: an API token's synthetic supervisor (APIAgent), who acts on
	// sessions but never holds one: no folder of theirs exists.
	api bool
}

// Folder is one IMAP folder as one agent sees it.
type Folder struct {
	Name       string          // full name, "/" separated ("Queues/Support")
	Mailbox    store.MailboxID // 0 for a \Noselect parent such as "Queues"
	Attrs      []string        // RFC 6154 special use, \Noselect, \HasChildren, \HasNoChildren
	Subscribed bool
	Desk       bool // a desk folder (INBOX, Queues/..., Sent, ...): cannot be renamed or deleted
	ReadOnly   bool // All/<queue>: agents can read, not change, not even flags
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
