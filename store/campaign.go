package store

import "time"

// Campaign states (mxdesk campaign pause|resume|cancel).
const (
	CampaignLoading   = "loading" // its list is being stored; not sent
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignCancelled = "cancelled"
	CampaignDone      = "done" // every row left the queued state
)

// Campaign recipient states: queued (not sent yet), sent (its session
// created and its message handed to the delivery queue), deferred (a
// delivery attempt failed for now), bounced, suppressed (the address was
// on the suppression list when its turn came), cancelled.
const (
	RecipientQueued     = "queued"
	RecipientSent       = "sent"
	RecipientDeferred   = "deferred"
	RecipientBounced    = "bounced"
	RecipientSuppressed = "suppressed"
	RecipientCancelled  = "cancelled"
)

// Campaign counts that are not states: recipients that replied, and
// that unsubscribed, whatever their state.
const (
	CountReplied      = "replied"
	CountUnsubscribed = "unsubscribed"
)

// Campaign is one outbound campaign (SPEC §13): a list of recipients
// sent a template from a queue, within a window, at a rate.
type Campaign struct {
	ID       uint64
	Queue    string
	Template string
	Window   string // as given: "Mon-Fri 13:00-18:00"
	Rate     string // as given: "10/s"
	// Interval is the pause between two messages (from Rate).
	Interval time.Duration
	// Columns are the CSV header's column names, in order.
	Columns []string
	// ICS is the calendar event each message invites to (nil: none).
	ICS   *CampaignEvent `json:",omitempty"`
	State string
	Rows  int
	// Counts are the recipients per state (and CountReplied,
	// CountUnsubscribed); the store keeps them with each
	// PutCampaignRecipient, and PutCampaign leaves them as they are.
	Counts map[string]int `json:",omitempty"`
	// Cursor is the row before which none is queued (the sender starts
	// looking there); NextSend is when the next message may go (the
	// rate, kept across restarts).
	Cursor   int
	NextSend time.Time
	Created  time.Time
	Creator  string `json:",omitempty"`
}

// CampaignEvent is a calendar invitation (RFC 5545) with ${column}
// variables in its texts.
type CampaignEvent struct {
	Title       string
	Organizer   string // an address, may hold variables
	Location    string `json:",omitempty"`
	Description string `json:",omitempty"`
	Start, End  string // local times "2026-12-10T10:00" in TZID
	TZID        string // IANA zone: the queue's
}

// CampaignRecipient is one row of a campaign's list.
type CampaignRecipient struct {
	Campaign uint64
	Row      int // 1-based row number after the header
	Line     int // line in the CSV file
	Email    string
	Values   []string // the row's fields, in the campaign's Columns order
	State    string
	Session  string `json:",omitempty"` // the session it started, once sent
	Detail   string `json:",omitempty"` // why it bounced or was suppressed
	Replied  bool   `json:",omitempty"`
	// Unsubscribed: the recipient used the message's unsubscribe link.
	Unsubscribed bool `json:",omitempty"`
}

// Suppression is an address no campaign sends to (unsubscribed, or a
// permanent bounce).
type Suppression struct {
	Address  string // lower-case
	Reason   string // "unsubscribed", "bounced: ..."
	Campaign uint64 `json:",omitempty"` // the campaign it came from
	At       time.Time
}
