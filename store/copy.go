package store

import "time"

// Copying a whole store to another backend (mxdesk migrate-store): the
// source hands every record to a Sink as it is stored, with the identities
// a fresh store would assign anew (mailbox IDs, UIDVALIDITY, UIDs, UIDNEXT,
// mod-sequences, blob, outbound, CRM and quarantine IDs, event order),
// since IMAP clients, links, hooks and reply addresses rely on them.
//
// The source sends the kinds in the order below, so a record comes after
// those it refers to (a message after its mailbox and its body).

// Sink receives the records of a store being copied.
type Sink interface {
	Counters(c Counters) error
	Mailbox(m Mailbox) error
	Blob(id BlobID, refs int, data []byte) error
	Message(m Message) error
	// Expunged is one remembered expunge (QRESYNC's VANISHED).
	Expunged(mbox MailboxID, modSeq uint64, uid UID) error
	// Subscription is a kept subscription of a name without a mailbox.
	Subscription(owner, name string) error
	Session(s Session) error
	// Token and MessageID are index entries that outlive their session
	// (they lead to the archived record).
	Token(token, session string) error
	MessageID(messageID, session string) error
	// Event comes with its store-wide sequence: a session's events in
	// sequence order are its history.
	Event(seq uint64, e Event) error
	Outbound(o Outbound) error
	Hook(h Hook) error
	Quarantined(q Quarantined) error
	Archived(a Archived) error
	AgentState(a AgentState) error
	// AutoMail comes with when it is forgotten (zero: kept).
	AutoMail(a AutoMail, expires time.Time) error
	ImportState(s ImportState) error
	SentCopy(c SentCopy) error
	APIToken(t APIToken) error
	Request(uri, messageID string) error
	Campaign(c Campaign) error
	CampaignRecipient(r CampaignRecipient) error
	Suppression(s Suppression) error
}

// Counters are the highest values a store's counters handed out, so that
// the copy's next ones are above them (an ID taken by a record deleted
// since is not given again either).
type Counters struct {
	Mailbox, Blob, Event, Outbound, Quarantine, Hook, Campaign uint64
	// UIDValidity is the last UIDVALIDITY given to a mailbox.
	UIDValidity uint32
}
