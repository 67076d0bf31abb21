package transcript

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"mxdesk/store"
)

// SessionMeta is the JSON document Metadata writes (schema in
// docs/crm.md, "Transcript, PDF and metadata").
type SessionMeta struct {
	Session       SessionInfo      `json:"session"`
	Statuses      []StatusChange   `json:"statuses"`
	Agents        []Assignment     `json:"agents"`
	Transfers     []Transfer       `json:"transfers"`
	Wrapups       []WrapupEntry    `json:"wrapups"`        // wrap-up codes recorded, in order
	FirstResponse *Duration        `json:"first_response"` // null: no agent reply yet
	Handling      *Duration        `json:"handling"`       // null: never resolved
	Messages      []MessageSummary `json:"messages"`
	Events        []EventEntry     `json:"events"` // the whole history, as recorded
}

// SessionInfo is the session's identity and current state.
type SessionInfo struct {
	ID       string    `json:"id"`
	Queue    string    `json:"queue"`
	Customer string    `json:"customer"`
	Subject  string    `json:"subject"`
	Status   string    `json:"status"`
	Agent    string    `json:"agent"` // "" while waiting in the queue
	Created  time.Time `json:"created"`
	Previous string    `json:"previous,omitempty"` // the closed session this one continues
	// TicketID is the CRM's ticket for this session, once it answered one
	// (set by the CRM feed; empty before).
	TicketID string `json:"ticket_id,omitempty"`
	// Wrapup are the wrap-up codes of the session in its current queue.
	Wrapup []string `json:"wrapup,omitempty"`
}

// WrapupEntry is a wrap-up code recorded on the session ([[queue.wrapup]]).
type WrapupEntry struct {
	Time  time.Time `json:"time"`
	Code  string    `json:"code"`
	Name  string    `json:"name"`
	Queue string    `json:"queue"`
	Actor string    `json:"actor"`
}

// wrapupDetail reads a "wrapup" event: "code (Name) in queue Q".
var wrapupDetail = regexp.MustCompile(`^(\S+) \((.*)\) in queue (.+)$`)

func wrapupEntry(e store.Event) WrapupEntry {
	w := WrapupEntry{Time: e.Time.UTC(), Code: e.Detail, Actor: e.Actor}
	if sub := wrapupDetail.FindStringSubmatch(e.Detail); sub != nil {
		w.Code, w.Name, w.Queue = sub[1], sub[2], sub[3]
	}
	return w
}

// StatusChange is one status the session entered.
type StatusChange struct {
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"` // agent login, "customer" or "system"
	Reason string    `json:"reason,omitempty"`
}

// Assignment is who the session was assigned to from when: Agent ""
// means it went back to its queue.
type Assignment struct {
	Agent  string    `json:"agent"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail"`
}

// Transfer is a move of the session to another queue.
type Transfer struct {
	Time   time.Time `json:"time"`
	From   string    `json:"from,omitempty"` // queues, when the event names them
	To     string    `json:"to,omitempty"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail"`
}

// Duration is a span with its end: seconds for computing, the time for
// reading.
type Duration struct {
	Seconds int64     `json:"seconds"`
	At      time.Time `json:"at"` // when it ended: the first reply, the resolution
}

// MessageSummary is one message of the thread.
type MessageSummary struct {
	Date        time.Time    `json:"date"` // the Date header, else the arrival time
	From        string       `json:"from"`
	To          string       `json:"to"`
	Cc          string       `json:"cc,omitempty"`
	Subject     string       `json:"subject"`
	MessageID   string       `json:"message_id"`
	Direction   string       `json:"direction"` // inbound, outbound, internal
	Folders     []string     `json:"folders"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// EventEntry is one event of the session's log.
type EventEntry struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail"`
}

// Metadata is the session's metadata as JSON: statuses with their times,
// agents, transfers, queue, first-response and handling times, and the
// message list.
func Metadata(t Thread) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "Name <addr>" stays readable
	enc.SetIndent("", "  ")
	err := enc.Encode(Meta(t))
	return buf.Bytes(), err
}

// Meta is Metadata before it is encoded (the CRM feed may set TicketID).
func Meta(t Thread) SessionMeta {
	s := t.Session
	m := SessionMeta{
		Session: SessionInfo{ID: s.ID, Queue: s.Queue, Customer: s.Customer, Subject: s.Subject,
			Status: s.Status, Agent: s.Agent, Created: s.Created.UTC(), Previous: s.Previous, Wrapup: s.Wrapup},
		Statuses: []StatusChange{}, Agents: []Assignment{}, Transfers: []Transfer{}, Wrapups: []WrapupEntry{},
		Messages: []MessageSummary{}, Events: []EventEntry{},
	}
	for _, e := range t.Events {
		m.Events = append(m.Events, EventEntry{Time: e.Time.UTC(), Kind: e.Kind, Actor: e.Actor, Detail: e.Detail})
		switch e.Kind {
		case "status":
			m.Statuses = append(m.Statuses, statusChange(e))
		case "assigned", "unassigned", "returned":
			m.Agents = append(m.Agents, assignment(e))
		case "transferred", "not-spam":
			m.Transfers = append(m.Transfers, transfer(e))
		case "wrapup":
			m.Wrapups = append(m.Wrapups, wrapupEntry(e))
		}
	}
	m.FirstResponse = firstResponse(t)
	m.Handling = handling(s.Created, m.Statuses)
	for _, msg := range t.Messages {
		m.Messages = append(m.Messages, summary(msg))
	}
	return m
}

// statusChange reads a "status" event: "Old → New: why", "New: why" or
// "New" (status names hold neither ':' nor '→').
func statusChange(e store.Event) StatusChange {
	change, reason, _ := strings.Cut(e.Detail, ": ")
	if _, to, ok := strings.Cut(change, " → "); ok {
		change = to
	}
	return StatusChange{Status: strings.TrimSpace(change), Time: e.Time.UTC(), Actor: e.Actor, Reason: reason}
}

// assignedTo finds the agent in "assigned to X", "auto-assigned to X (why)".
var assignedTo = regexp.MustCompile(`assigned to (\S+)`)

// assignment reads an assignment event: the agent is named in the detail
// when a supervisor or the system assigned; otherwise the actor took it
// (claimed, reopened by replying).
func assignment(e store.Event) Assignment {
	a := Assignment{Time: e.Time.UTC(), Actor: e.Actor, Detail: e.Detail}
	if e.Kind != "assigned" {
		return a // back to the queue
	}
	if sub := assignedTo.FindStringSubmatch(e.Detail); sub != nil {
		a.Agent = sub[1]
	} else {
		a.Agent = e.Actor
	}
	return a
}

// queueMove finds the queues in "from queue A to queue B" and "moved
// out of spam into queue B".
var queueMove = regexp.MustCompile(`(?:from queue (.+?) )?(?:to|into) queue (.+)$`)

func transfer(e store.Event) Transfer {
	t := Transfer{Time: e.Time.UTC(), Actor: e.Actor, Detail: e.Detail}
	if sub := queueMove.FindStringSubmatch(e.Detail); sub != nil {
		t.From, t.To = sub[1], sub[2]
	}
	return t
}

// firstResponse is the first agent reply after creation. For a session
// an agent started by writing to the customer, the clock starts at the
// customer's first message instead, and only replies after it count.
func firstResponse(t Thread) *Duration {
	start := t.Session.Created
	agentStarted := false
	for _, e := range t.Events {
		if e.Kind == "created" && e.Actor != "system" {
			agentStarted = true
		}
	}
	if agentStarted {
		start = time.Time{}
	}
	for _, e := range t.Events {
		switch {
		case agentStarted && start.IsZero() && e.Kind == "received":
			start = e.Time
		case e.Kind == "replied" && !start.IsZero() && !e.Time.Before(start):
			return &Duration{Seconds: int64(e.Time.Sub(start) / time.Second), At: e.Time.UTC()}
		}
	}
	return nil
}

// handling runs from creation to the latest resolution (a session
// reopened and resolved again counts until the last one); nil while it
// was never resolved.
func handling(created time.Time, statuses []StatusChange) *Duration {
	var d *Duration
	for _, s := range statuses {
		if s.Status == "Resolved" {
			d = &Duration{Seconds: int64(s.Time.Sub(created) / time.Second), At: s.Time}
		}
	}
	return d
}

func summary(m Message) MessageSummary {
	p := Parse(m.Raw)
	date := p.Date
	if date.IsZero() {
		date = m.InternalDate
	}
	return MessageSummary{
		Date: date.UTC(), From: p.From, To: p.To, Cc: p.Cc, Subject: p.Subject, MessageID: p.MessageID,
		Direction: p.Direction, Folders: m.Folders, Attachments: p.Attachments,
	}
}
