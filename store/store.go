// Package store is mxdesk's durable state: mailboxes, the messages in them,
// message bodies (blobs), sessions and their event logs.
//
// The Store interface is deliberately narrow and domain-shaped so that a
// second backend (PostgreSQL plus an object store) can replace the embedded
// badger one without touching router or protocol code. All writes go through
// Update, which the backend batches: concurrent Updates share one durable
// commit (group commit), and Update returns only once its changes are synced.
// Every committed change is published, in commit order, to the Observer.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by reads of a mailbox, message, blob or session
// that does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrBusy is returned by DeleteSession for a session that still has
// work queued (CRM events to deliver): it is archived later.
var ErrBusy = errors.New("store: session busy")

// ErrExists is returned when creating a mailbox whose name is taken.
var ErrExists = errors.New("store: already exists")

// MailboxID identifies a mailbox for its whole life (renames keep it).
type MailboxID uint64

// BlobID identifies a stored message body.
type BlobID uint64

// UID is an IMAP UID within one mailbox.
type UID uint32

// Mailbox is an IMAP folder. Shared mailboxes (queue folders) have an empty
// Owner; personal ones belong to one agent login.
type Mailbox struct {
	ID          MailboxID
	Owner       string // agent login, or "" for a shared mailbox
	Name        string // full IMAP name as its owner sees it ("INBOX", "Queues/Support")
	UIDValidity uint32
	UIDNext     UID
	Subscribed  bool
	SpecialUse  string   // RFC 6154 attribute ("\\Sent"), or ""
	Keywords    []string // every keyword ever set in this mailbox, sorted
	// RecentUID: messages with a UID at or above it have not yet been
	// seen by any SELECT, so the next one reports them as \Recent.
	RecentUID UID
	Created   time.Time
	// HighestModSeq is the mod-sequence of the mailbox's latest change
	// (RFC 7162 CONDSTORE): each append, copy or move in, flag change and
	// expunge takes the next one, in the transaction that makes it.
	HighestModSeq uint64 `json:",omitempty"`
	// ExpungedKept counts the expunged UIDs remembered with their
	// mod-sequence (QRESYNC's VANISHED); ExpungedFloor is the highest
	// mod-sequence of those forgotten to keep them bounded: Expunged
	// can't tell what vanished at or before it.
	ExpungedKept  int    `json:",omitempty"`
	ExpungedFloor uint64 `json:",omitempty"`
}

// Message is one message in one mailbox. Several Messages (copies) may share
// a blob.
type Message struct {
	Mailbox      MailboxID
	UID          UID
	Blob         BlobID
	Size         int64
	Flags        []string // sorted, system flags with their backslash
	InternalDate time.Time
	Session      string // session ID, or "" for mail outside any session
	// ModSeq is the mod-sequence of the message's latest change in its
	// mailbox (RFC 7162): set by AddMessage and SetFlags.
	ModSeq uint64 `json:",omitempty"`
}

// Session is one customer conversation (SPEC §1).
type Session struct {
	ID       string
	Queue    string // queue name
	Agent    string // assigned agent login, "" while waiting in the queue
	Status   string
	Customer string // the customer's address
	Subject  string
	Created  time.Time
	Updated  time.Time

	// Token is the secret plus-address part of the session's reply address
	// (support+<token>@...). The store indexes it; it never changes.
	Token string
	// Participants are the customer and everyone the customer's side put
	// in copy, lower-case: who may use the [S-XXXXX] subject tag.
	Participants []string `json:",omitempty"`
	// Previous is the closed session this one continues, if any.
	Previous string `json:",omitempty"`
	// Parked: the agent put the session in Later.
	Parked bool `json:",omitempty"`
	// LastInbound is the body of the latest customer message: reading it
	// opens the session.
	LastInbound BlobID `json:",omitempty"`
	// LastActivity is the time of the latest message or agent action.
	LastActivity time.Time
	// StatusSince is when Status last changed.
	StatusSince time.Time
	// Due is when the next automatic transition is to be looked at (zero:
	// none). The store indexes it for DueSessions.
	Due time.Time

	// Cc is the copy list of replies: that of the latest inbound message,
	// or what the agent set on their latest reply, as header addresses
	// with their display names ("Dan Berg <dan@partner.test>").
	Cc []string `json:",omitempty"`
	// Bcc is the blind copy list of replies: the recipients of the
	// agent's latest reply that had any outside its To and Cc (envelope
	// only, never in a header). Inbound mail never changes it.
	Bcc []string `json:",omitempty"`
	// LastInboundID and LastInboundAt are the Message-ID and arrival of
	// the latest customer message (stale reply detection).
	LastInboundID string    `json:",omitempty"`
	LastInboundAt time.Time `json:",omitempty"`
	// Held is a reply held as stale, which the agent may send anyway.
	Held *HeldReply `json:",omitempty"`

	// Spam: routed to the queue's Spam folder, never assigned.
	Spam bool `json:",omitempty"`
	// OfferedAt is when the session was auto-assigned to Agent and not
	// yet opened (zero: not an open offer); PrevOffer is the agent whose
	// offer timed out last, who is not offered it again right away.
	OfferedAt time.Time `json:",omitempty"`
	PrevOffer string    `json:",omitempty"`
	// TransferredAt is when the session was transferred to Agent (a
	// forward to the agent's login, a supervisor's move to
	// Agents/<login>) while the agent has not opened it yet (zero: not
	// such a transfer): it counts towards the queue's KPI alarm.
	TransferredAt time.Time `json:",omitempty"`
	// RemovedQueue is the queue the session was in when a reload (or a
	// start) found it removed from the configuration: replies to that
	// queue's token addresses still reach the session.
	RemovedQueue string `json:",omitempty"`
	// WaitingSince is when the session started waiting unassigned in its
	// queue (zero: not waiting). The store indexes it per queue.
	WaitingSince time.Time `json:",omitempty"`
	// ActiveAgent is Agent while the session counts towards the agent's
	// load (Unopened, Reopened, Active), else "". The store indexes it.
	ActiveAgent string `json:",omitempty"`

	// TicketID is the ID the CRM gave the session's ticket (SPEC §11),
	// "" until the CRM answered with one.
	TicketID string `json:",omitempty"`

	// Wrapup are the wrap-up codes recorded on the session in its
	// current queue ([[queue.wrapup]]), as configured; a transfer to
	// another queue clears them (its events keep them).
	Wrapup []string `json:",omitempty"`
	// PickedUpAt is when an agent opened the session and began working
	// it (zero: not being worked); resolving it adds the time since to
	// HandlingTime and clears it, so a reopened session picked up again
	// counts a second period.
	PickedUpAt   time.Time     `json:",omitempty"`
	HandlingTime time.Duration `json:",omitempty"`
	// FirstReplyAt is when the first agent reply to the customer was
	// sent (zero: none yet): the service level counts it.
	FirstReplyAt time.Time `json:",omitempty"`
	// ServiceFrom is when the customer's first message started the
	// session and its service-level clock (zero: an agent started it,
	// or it predates the service level; it is not counted).
	ServiceFrom time.Time `json:",omitempty"`
	// Rating is the customer's latest satisfaction rating (nil: none).
	Rating *Rating `json:",omitempty"`
}

// Rating is a customer's satisfaction rating of a session ([queue.rating]).
type Rating struct {
	Score int
	Scale int    // the queue's scale when rated
	Queue string // the session's queue when rated
	Agent string // the session's agent when rated ("" while waiting)
	At    time.Time
}

// Quarantined is the original of a message from which mxdesk removed
// parts (blocked or infected attachments, SPEC §9), kept whole until an
// admin releases or deletes it.
type Quarantined struct {
	ID      uint64
	Session string   // the session the cleaned copy went to
	Blob    BlobID   // the original message
	From    string   // envelope sender
	To      []string // envelope recipients
	Removed []string // what was removed and why, one line each
	Created time.Time
}

// ImportState is where the import of one upstream mailbox stands (the
// connector package): the folder's UIDVALIDITY and the highest UID taken
// care of. It advances in the transaction that files the message.
type ImportState struct {
	Account     string // the account's address, lower-case
	Folder      string
	UIDValidity uint32
	LastUID     uint32 // every UID up to it is imported or skipped
	// Start is the first contact, or the account's since: mail that
	// arrived upstream before it stays there.
	Start time.Time
	// ByDate: LastUID alone does not tell what is new (a backfill from
	// since, a rescan after a UIDVALIDITY change), so messages whose
	// INTERNALDATE is before Start are skipped.
	ByDate bool `json:",omitempty"`
}

// SentCopy is a reply delivered through an upstream account's SMTP whose
// copy is still to be appended to the account's sent_folder (the
// connector drains them). It holds a reference on Blob.
type SentCopy struct {
	Account  string // the account's address, lower-case
	Outbound uint64 // the queued message it was
	Blob     BlobID
}

// APIToken is a token of the public HTTP API (package api). Only the
// SHA-256 of the secret is kept; Name is unique and is what audits show.
type APIToken struct {
	Name    string
	Role    string // integrator, supervisor or admin
	Hash    string // hex SHA-256 of the secret
	Created time.Time
	Expires time.Time // zero: never
}

// Waiting is one session waiting in a queue.
type Waiting struct {
	Session string
	Since   time.Time
}

// AgentState is what mxdesk remembers about an agent between restarts.
type AgentState struct {
	Login        string
	Away         bool      // set by the agent or a supervisor: no auto-assignment
	LastAssigned time.Time // latest session that reached the agent, by any way (ties go to the oldest)
	// Day is the local date ("2006-01-02") Assigned counts for, per
	// queue: auto-assignments today, for daily caps.
	Day      map[string]string `json:",omitempty"`
	Assigned map[string]int    `json:",omitempty"`
	// WrapupDay is the local date ("2006-01-02", top-level timezone)
	// Wrapups counts for: the wrap-up codes the agent recorded that day,
	// per "<queue>/<code>" (the supervisor page's counts of today).
	WrapupDay string         `json:",omitempty"`
	Wrapups   map[string]int `json:",omitempty"`
	// RonaSince is when an offer to the agent timed out (RONA, "redirect
	// on no answer"): no more offers until they come back (zero: not in
	// RONA).
	RonaSince time.Time `json:",omitempty"`
	// Handled and HandlingTime total the agent's sessions resolved and
	// the pick-up-to-resolve time they took.
	Handled      int           `json:",omitempty"`
	HandlingTime time.Duration `json:",omitempty"`
	// Turn is, per round-robin queue, the number of the rotation's turn
	// that last gave the agent a session (router/strategy.go): the
	// highest over the queue's members is where the rotation stands.
	Turn map[string]uint64 `json:",omitempty"`
}

// AutoMail is what mxdesk remembers of the automatic mail (auto-replies,
// SPEC §8) it sent to one address: the loop guards that must survive
// restarts.
type AutoMail struct {
	Address string // lower-case
	// LastReply is, per queue name, when the latest auto-reply went to
	// this address.
	LastReply map[string]time.Time `json:",omitempty"`
	// Day is the local date ("2006-01-02") Count counts for: automatic
	// messages sent to this address that day, over every queue.
	Day   string `json:",omitempty"`
	Count int    `json:",omitempty"`
	// SuppressedUntil: mail to this address bounced permanently; no
	// automatic mail goes to it before this time.
	SuppressedUntil time.Time `json:",omitempty"`
}

// Archived is what the store keeps of a session moved to the archive
// (SPEC §12): its reply token and Message-IDs still lead to its ID, so a
// late customer reply continues it rather than being refused.
type Archived struct {
	ID           string
	Queue        string
	Customer     string
	Subject      string
	Token        string
	Participants []string `json:",omitempty"`
	// Location is where the session is in the archive
	// ("s3://bucket/prefix/Support/2026/12/S-ABCDE/").
	Location   string
	ArchivedAt time.Time
}

// HeldReply remembers a reply held because the customer wrote again.
type HeldReply struct {
	Hash  string    // of the reply's body: the same body sent again goes out
	Until time.Time // after this, sending it again is held again
}

// Outbound is one message waiting for delivery (SPEC §7).
type Outbound struct {
	ID      uint64
	Session string
	Queue   string   `json:",omitempty"` // the session's queue when queued (for logs)
	Agent   string   // who sent it: the bounce goes to them
	Blob    BlobID   // the message as stored (DKIM is added when sending)
	From    string   // envelope sender (MAIL FROM)
	To      []string // recipients not yet delivered
	Created time.Time
	// NextAttempt is when to try next; the store indexes it for
	// DueOutbound.
	NextAttempt time.Time
	Attempts    int
	LastError   string
}

// Hook is one CRM webhook event in the durable outbox (SPEC §11). The
// events of one session form a line, in ID order: only the first live one
// (not Dead) is due, so they reach the CRM in order.
type Hook struct {
	ID        uint64
	WebhookID string // the webhook-id header: the same on every attempt
	Session   string
	Type      string // "ticket.created", "ticket.comment", "ticket.attachment"
	// Kind says what a comment or attachment carries: "link",
	// "content", "pdf", "metadata".
	Kind string `json:",omitempty"`
	// Blob is the message a link points to (a weak reference: the link
	// shows "not found" once the message is gone).
	Blob    BlobID    `json:",omitempty"`
	Created time.Time // when what caused it happened
	// Since is when the current round of attempts began (Created, or
	// when an admin retried it): crm.retry_for counts from it.
	Since time.Time
	// NextAttempt is when to try next; the store indexes it for
	// DueHooks while the hook is first in its session's line.
	NextAttempt time.Time
	Attempts    int
	LastError   string `json:",omitempty"`
	// Dead: failed for good (a 4xx answer, or retried for crm.retry_for);
	// kept, out of its session's line, until retried or dropped.
	Dead bool `json:",omitempty"`
}

// Event is one append-only record in a session's history.
type Event struct {
	Session string
	Time    time.Time
	Kind    string // "received", "assigned", "moved", ...
	Actor   string // agent login, "customer", "system"
	Detail  string
}

// ChangeKind says what a Change did.
type ChangeKind int

const (
	MessageAdded ChangeKind = iota + 1
	MessageRemoved
	FlagsChanged
	MailboxCreated
	MailboxUpdated // renamed, (un)subscribed, keywords grew
	MailboxDeleted
	OutboundQueued // a message was queued for delivery (Change.Outbound)
	HookQueued     // a CRM event became first in its session's line (due)
)

// Change is one committed modification, published to the Observer.
type Change struct {
	Kind    ChangeKind
	Mailbox MailboxID
	UID     UID      // MessageAdded, MessageRemoved, FlagsChanged
	Flags   []string // MessageAdded, FlagsChanged: the new flags
	// ModSeq is the mailbox's mod-sequence the change took
	// (MessageAdded, MessageRemoved, FlagsChanged).
	ModSeq uint64
	// Outbound is the ID of the queued message (OutboundQueued).
	Outbound uint64
	// Origin is the opaque value the writer passed in UpdateOptions, so a
	// listener can tell its own changes from others' (IMAP sessions skip
	// FETCH echoes of their own STORE).
	Origin any
}

// Observer receives every committed batch of changes in commit order. It
// runs on the store's writer: it must be quick and must not call Update.
type Observer func(changes []Change)

// Reader is a consistent read-only view of the store.
type Reader interface {
	Mailbox(id MailboxID) (Mailbox, error)
	MailboxByName(owner, name string) (Mailbox, error)
	// Mailboxes lists the mailboxes of one owner ("" for the shared ones),
	// sorted by name.
	Mailboxes(owner string) ([]Mailbox, error)
	// Messages lists a mailbox's messages with UIDs in [from, to], ascending
	// (to == 0 means no upper bound).
	Messages(mbox MailboxID, from, to UID) ([]Message, error)
	Message(mbox MailboxID, uid UID) (Message, error)
	// Blob returns a stored body. The slice must not be modified.
	Blob(id BlobID) ([]byte, error)
	Session(id string) (Session, error)
	// SessionByMessageID finds the session a Message-ID (without angle
	// brackets) was stored or sent in.
	SessionByMessageID(messageID string) (string, error)
	Events(session string) ([]Event, error)
	// SessionMessages lists where the messages of a session are filed.
	SessionMessages(session string) ([]Message, error)
	// SessionByToken finds the session with a reply token.
	SessionByToken(token string) (string, error)
	// DueSessions lists up to limit sessions whose Due is not after until,
	// earliest first.
	DueSessions(until time.Time, limit int) ([]string, error)
	// EachSession calls fn for every session, in ID order, until fn
	// returns an error.
	EachSession(fn func(Session) error) error
	// Outbound returns a queued message.
	Outbound(id uint64) (Outbound, error)
	// DueOutbound lists up to limit queued messages whose NextAttempt is
	// not after until, earliest first.
	DueOutbound(until time.Time, limit int) ([]Outbound, error)
	// OutboundCount is the number of queued messages.
	OutboundCount() (int, error)
	// WaitingSessions lists up to limit (0: all) sessions waiting in
	// queue, longest waiting first.
	WaitingSessions(queue string, limit int) ([]Waiting, error)
	// ActiveCount is the number of sessions with ActiveAgent == agent.
	ActiveCount(agent string) (int, error)
	// ActiveSessions lists the IDs of the sessions with ActiveAgent ==
	// agent (the index ActiveCount counts).
	ActiveSessions(agent string) ([]string, error)
	// SessionCounts counts the sessions per queue and status.
	SessionCounts() (map[string]map[string]int, error)
	// AgentState returns what is remembered of an agent (zero with Login
	// set when nothing is).
	AgentState(login string) (AgentState, error)
	Quarantined(id uint64) (Quarantined, error)
	// AutoMail returns what is remembered of automatic mail to address
	// (zero with Address set when nothing is).
	AutoMail(address string) (AutoMail, error)
	// QuarantineList lists quarantined messages, oldest first.
	QuarantineList() ([]Quarantined, error)
	// SessionsInStatus calls fn for each session in status whose
	// StatusSince is not after until, earliest first, until fn returns
	// false or an error.
	SessionsInStatus(status string, until time.Time, fn func(id string, since time.Time) (bool, error)) error
	// Archived returns what is kept of an archived session.
	Archived(id string) (Archived, error)
	// Hook returns a CRM event of the outbox.
	Hook(id uint64) (Hook, error)
	// DueHooks lists up to limit CRM events that are first in their
	// session's line and whose NextAttempt is not after until, earliest
	// first.
	DueHooks(until time.Time, limit int) ([]Hook, error)
	// Hooks lists up to limit (0: all) CRM events of the outbox, dead
	// letters included, in ID order.
	Hooks(limit int) ([]Hook, error)
	// ImportState returns where the import of an account stands
	// (ErrNotFound before its first contact).
	ImportState(account string) (ImportState, error)
	// KeptSubscriptions lists, sorted, the names owner is subscribed to
	// that have no mailbox (RFC 3501 6.3.6: DELETE keeps the
	// subscription); a mailbox's own is its Subscribed.
	KeptSubscriptions(owner string) ([]string, error)
	// SentCopies lists up to limit copies still to append for account,
	// oldest first.
	SentCopies(account string, limit int) ([]SentCopy, error)
	// Expunged lists, ascending, the UIDs of mbox expunged with a
	// mod-sequence above since, among those remembered (see
	// Mailbox.ExpungedFloor).
	Expunged(mbox MailboxID, since uint64) ([]UID, error)

	// The public API's tokens and queued requests (package api).

	// APIToken returns the token called name.
	APIToken(name string) (APIToken, error)
	// APITokenByHash returns the token whose secret hashes to hash.
	APITokenByHash(hash string) (APIToken, error)
	// APITokens lists every token, by name.
	APITokens() ([]APIToken, error)
	// RequestMessage returns the Message-ID of the mail that queued the
	// request identified by uri (RequestAdd).
	RequestMessage(uri string) (string, error)

	// Campaigns (campaign.go).
	Campaign(id uint64) (Campaign, error)
	// Campaigns lists every campaign, in ID order.
	Campaigns() ([]Campaign, error)
	// CampaignRecipients lists up to limit rows of campaign id from row
	// from on, in row order.
	CampaignRecipients(id uint64, from, limit int) ([]CampaignRecipient, error)
	// CampaignRecipient returns one row.
	CampaignRecipient(id uint64, row int) (CampaignRecipient, error)
	// CampaignRecipientBySession finds the row that started a session.
	CampaignRecipientBySession(session string) (CampaignRecipient, error)
	// Suppressed returns the suppression of address (ErrNotFound: none).
	Suppressed(address string) (Suppression, error)
}

// Tx is a write transaction. Its changes become visible and durable together
// when Update returns nil; if the function returns an error none of them is
// applied.
type Tx interface {
	Reader
	// CreateMailbox assigns ID, UIDValidity and UIDNext (1) and stores it.
	// It returns ErrExists if owner already has a mailbox of that name.
	CreateMailbox(m Mailbox) (Mailbox, error)
	// UpdateMailbox stores Name, Subscribed, SpecialUse, Keywords and
	// RecentUID of an existing mailbox (ID, UIDValidity, UIDNext are kept).
	UpdateMailbox(m Mailbox) error
	// DeleteMailbox removes a mailbox and every message in it.
	DeleteMailbox(id MailboxID) error
	PutBlob(data []byte) (BlobID, error)
	// AddMessage files m in m.Mailbox under the mailbox's next UID and
	// returns it with UID set. m.Blob must exist (it gains a reference).
	AddMessage(m Message) (Message, error)
	SetFlags(mbox MailboxID, uid UID, flags []string) error
	// RemoveMessage drops a message; its blob goes with its last reference.
	RemoveMessage(mbox MailboxID, uid UID) error
	// PutSession stores s and keeps its Token, Due, WaitingSince and
	// ActiveAgent indexes current.
	PutSession(s Session) error
	IndexMessageID(messageID, session string) error
	AddEvent(e Event) error
	// Enqueue queues o for delivery: it assigns o.ID, takes a reference
	// on o.Blob, indexes o.NextAttempt and publishes OutboundQueued.
	Enqueue(o Outbound) (Outbound, error)
	// UpdateOutbound stores the progress of a queued message (To,
	// NextAttempt, Attempts, LastError) and re-indexes it.
	UpdateOutbound(o Outbound) error
	// RemoveOutbound drops a queued message and its blob reference.
	RemoveOutbound(id uint64) error
	PutAgentState(a AgentState) error
	// PutAutoMail stores a, forgotten after ttl (0: kept).
	PutAutoMail(a AutoMail, ttl time.Duration) error
	// Quarantine keeps q (assigning q.ID, taking a reference on q.Blob).
	Quarantine(q Quarantined) (Quarantined, error)
	// Unquarantine drops a quarantined message and its blob reference.
	Unquarantine(id uint64) error
	// DeleteSession removes session id once it is archived: its messages
	// in every folder (published as MessageRemoved), their bodies with
	// their last reference, its events, its indexes and its queued
	// outbound messages and CRM dead letters; a session with CRM events
	// still to deliver is refused with ErrBusy. It keeps a: the session's token and
	// Message-IDs lead to a.ID from then on.
	DeleteSession(id string, a Archived) error
	// DropArchived forgets what was kept of an archived session (it was
	// restored).
	DropArchived(id string) error
	// EnqueueHook adds h to the CRM outbox at the end of its session's
	// line: it assigns h.ID and publishes HookQueued.
	EnqueueHook(h Hook) (Hook, error)
	// UpdateHook stores the progress of a CRM event (Since,
	// NextAttempt, Attempts, LastError, Dead) and keeps its session's line current.
	UpdateHook(h Hook) error
	// RemoveHook drops a CRM event; the next of its session becomes due.
	RemoveHook(id uint64) error
	// PutImportState stores where the import of s.Account stands.
	PutImportState(s ImportState) error
	// KeepSubscription keeps (on) or forgets owner's subscription of a
	// name that has no mailbox.
	KeepSubscription(owner, name string, on bool) error
	// PutSentCopy records a copy to append (taking a reference on
	// c.Blob); the same account and outbound again is kept once.
	PutSentCopy(c SentCopy) error
	// RemoveSentCopy drops a copy and its blob reference; a missing one
	// is not an error.
	RemoveSentCopy(account string, outbound uint64) error

	// PutAPIToken stores t (a new one or a replacement of the same name).
	PutAPIToken(t APIToken) error
	// DeleteAPIToken forgets the token called name (ErrNotFound: none).
	DeleteAPIToken(name string) error
	// PutRequest records that the mail with messageID queued the request
	// identified by uri.
	PutRequest(uri, messageID string) error
	// Campaigns (campaign.go).
	// PutCampaign stores c, assigning c.ID when it is 0; the stored
	// Counts are kept (PutCampaignRecipient keeps them).
	PutCampaign(c Campaign) (Campaign, error)
	// PutCampaignRecipient stores a row, keeps its session index and
	// its campaign's Counts current.
	PutCampaignRecipient(r CampaignRecipient) error
	// DeleteCampaignRows removes up to limit rows of campaign id and
	// returns how many it removed (a large list takes several
	// transactions); DeleteCampaign removes the campaign itself.
	DeleteCampaignRows(id uint64, limit int) (int, error)
	DeleteCampaign(id uint64) error
	// Suppress adds s to the suppression list (an address already on it
	// keeps its first reason).
	Suppress(s Suppression) error
}

// UpdateOptions travel with an Update.
type UpdateOptions struct {
	Origin any // copied into every Change of this update
}

// Store is the durable state of one mxdesk.
type Store interface {
	View(fn func(r Reader) error) error
	// Update runs fn in a write transaction and returns after its changes
	// are durably committed and the Observer has received them (or with
	// fn's error). IMAP relies on that order: a session's own EXPUNGE or
	// EXISTS is reported within the command that caused it. fn may run more
	// than once on retry, so it must have no side effects outside tx.
	Update(ctx context.Context, opts UpdateOptions, fn func(tx Tx) error) error
	// SetObserver installs the one observer of committed changes.
	SetObserver(o Observer)
	Close() error
}
