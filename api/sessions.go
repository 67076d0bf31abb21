package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/transcript"
)

// Session is a session as the API shows it: never its reply token.
type Session struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	Queue        string    `json:"queue"`
	Agent        string    `json:"agent"` // "" while waiting in the queue
	Customer     string    `json:"customer"`
	Participants []string  `json:"participants"`
	Subject      string    `json:"subject"`
	Previous     string    `json:"previous,omitempty"`
	Parked       bool      `json:"parked"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	LastActivity time.Time `json:"last_activity,omitzero"`
	WaitingSince time.Time `json:"waiting_since,omitzero"`
	TicketID     string    `json:"ticket_id,omitempty"`
}

func apiSession(s store.Session) Session {
	p := s.Participants
	if p == nil {
		p = []string{}
	}
	return Session{ID: s.ID, Status: s.Status, Queue: s.Queue, Agent: s.Agent, Customer: s.Customer, Participants: p,
		Subject: s.Subject, Previous: s.Previous, Parked: s.Parked, Created: s.Created, Updated: s.Updated,
		LastActivity: s.LastActivity, WaitingSince: s.WaitingSince, TicketID: s.TicketID}
}

// SessionPage is one page of GET /api/v1/sessions; Next is the cursor of
// the next page, absent on the last one.
type SessionPage struct {
	Sessions []Session `json:"sessions"`
	Next     string    `json:"next,omitempty"`
}

// Page sizes of GET /api/v1/sessions.
const (
	defaultPage = 50
	maxPage     = 500
)

// sessionQuery is the filter of GET /api/v1/sessions.
type sessionQuery struct {
	filter       router.SessionFilter
	customer     string // a substring of the customer or a participant
	text         string // a substring of the subject, customer, participants, ID or ticket
	since, until time.Time
	limit        int
	after        *cursor
}

// listSessions is GET /api/v1/sessions: newest first, filtered, a page
// at a time.
func (a *API) listSessions(w http.ResponseWriter, req *http.Request, _ *call) {
	q, ok := parseSessionQuery(w, req)
	if !ok {
		return
	}
	all, err := a.r.ListSessions(q.filter)
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	slices.SortFunc(all, newestFirst)
	page := SessionPage{Sessions: []Session{}}
	for _, s := range all {
		if !q.matches(s) {
			continue
		}
		if len(page.Sessions) == q.limit {
			page.Next = encodeCursor(page.Sessions[len(page.Sessions)-1])
			break
		}
		page.Sessions = append(page.Sessions, apiSession(s))
	}
	writeJSON(w, http.StatusOK, page)
}

// newestFirst orders sessions by creation, newest first, then by ID.
func newestFirst(a, b store.Session) int {
	if c := b.Created.Compare(a.Created); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

func (q sessionQuery) matches(s store.Session) bool {
	if q.after != nil && newestFirst(store.Session{ID: q.after.id, Created: q.after.created}, s) >= 0 {
		return false
	}
	if !q.since.IsZero() && s.Created.Before(q.since) || !q.until.IsZero() && !s.Created.Before(q.until) {
		return false
	}
	people := append([]string{s.Customer}, s.Participants...)
	if q.customer != "" && !slices.ContainsFunc(people, containsFold(q.customer)) {
		return false
	}
	return q.text == "" || slices.ContainsFunc(append(people, s.Subject, s.ID, s.TicketID), containsFold(q.text))
}

func containsFold(sub string) func(string) bool {
	sub = strings.ToLower(sub)
	return func(s string) bool { return strings.Contains(strings.ToLower(s), sub) }
}

func parseSessionQuery(w http.ResponseWriter, req *http.Request) (sessionQuery, bool) {
	v := req.URL.Query()
	q := sessionQuery{filter: router.SessionFilter{Queue: v.Get("queue"), Agent: v.Get("agent"), Status: v.Get("status")},
		customer: v.Get("customer"), text: v.Get("text"), limit: defaultPage}
	if st := q.filter.Status; st != "" && !slices.ContainsFunc(router.Statuses, func(s string) bool { return strings.EqualFold(s, st) }) {
		invalidQuery(w, "status", "want one of "+strings.Join(router.Statuses, ", "))
		return q, false
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.since}, {"until", &q.until}} {
		if s := v.Get(t.name); s != "" {
			var err error
			if *t.dst, err = time.Parse(time.RFC3339, s); err != nil {
				invalidQuery(w, t.name, "want an RFC 3339 time such as 2026-12-01T00:00:00Z")
				return q, false
			}
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			invalidQuery(w, "limit", "want a number from 1 to "+strconv.Itoa(maxPage))
			return q, false
		}
		q.limit = n
	}
	if s := v.Get("cursor"); s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			invalidQuery(w, "cursor", "not a cursor this API gave (use the next of the previous page)")
			return q, false
		}
		q.after = &c
	}
	return q, true
}

// invalidQuery answers 422 about a query parameter.
func invalidQuery(w http.ResponseWriter, name, detail string) {
	writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Detail: "query parameter " + name + ": " + detail, Field: name})
}

// cursor is where a page ended: its last session's creation and ID.
type cursor struct {
	created time.Time
	id      string
}

func encodeCursor(s Session) string {
	return base64.RawURLEncoding.EncodeToString([]byte(s.Created.Format(time.RFC3339Nano) + " " + s.ID))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	at, id, ok := strings.Cut(string(b), " ")
	if !ok || id == "" {
		return cursor{}, errors.New("no ID")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	return cursor{created: t, id: id}, err
}

// SessionDetail is GET /api/v1/sessions/{id}: the session, its messages
// decoded, in arrival order, and its events.
type SessionDetail struct {
	Session  Session   `json:"session"`
	Messages []Message `json:"messages"`
	Events   []Event   `json:"events"`
}

// Message is one message of a session, its header decoded and its body
// as text.
type Message struct {
	Date        time.Time `json:"date,omitzero"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Cc          string    `json:"cc,omitempty"`
	Subject     string    `json:"subject"`
	MessageID   string    `json:"message_id"`
	Direction   string    `json:"direction"` // inbound, outbound, internal
	Text        string    `json:"text"`
	Attachments []string  `json:"attachments"` // file names
	Folders     []string  `json:"folders"`
}

// Event is one entry of a session's history.
type Event struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail"`
}

// showSession is GET /api/v1/sessions/{id}.
func (a *API) showSession(w http.ResponseWriter, req *http.Request, _ *call) {
	var t transcript.Thread
	err := a.r.View(func(rd store.Reader) (err error) {
		t, err = transcript.Load(rd, req.PathValue("id"))
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, "no session "+req.PathValue("id"))
		return
	case err != nil:
		a.internalError(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionDetail(t))
}

func sessionDetail(t transcript.Thread) SessionDetail {
	hide := secrets(t.Session)
	out := SessionDetail{Session: apiSession(t.Session), Messages: []Message{}, Events: []Event{}}
	for _, m := range t.Messages {
		p := transcript.Parse(m.Raw)
		msg := Message{Date: p.Date, From: hide.Replace(p.From), To: hide.Replace(p.To), Cc: hide.Replace(p.Cc), Subject: p.Subject,
			MessageID: p.MessageID, Direction: p.Direction, Text: hide.Replace(p.Text), Attachments: []string{}, Folders: m.Folders}
		for _, at := range p.Attachments {
			msg.Attachments = append(msg.Attachments, at.Name)
		}
		out.Messages = append(out.Messages, msg)
	}
	for _, e := range t.Events {
		out.Events = append(out.Events, Event{Time: e.Time, Kind: e.Kind, Actor: e.Actor, Detail: hide.Replace(e.Detail)})
	}
	return out
}

// secrets blanks a session's reply token wherever it is written: its
// reply and note addresses (support+<token>@, support+note-<token>@) lead
// into the session and are for its participants and agents only.
func secrets(s store.Session) *strings.Replacer {
	if s.Token == "" {
		return strings.NewReplacer()
	}
	return strings.NewReplacer(s.Token, "[token]")
}
