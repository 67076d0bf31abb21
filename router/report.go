package router

import (
	"bufio"
	"bytes"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// SessionReport is everything known about one session, for
// `mxdesk session show` and the admin API.
type SessionReport struct {
	Session  store.Session
	Messages []MessageSummary // in arrival order
	Events   []store.Event
}

// MessageSummary is one message of a session as a report lists it.
type MessageSummary struct {
	Date      time.Time
	From      string
	Subject   string
	MessageID string
	Folders   []string // where it is filed ("All/Support", "alice@example.test:INBOX")
}

// SessionFilter selects sessions for ListSessions; empty fields match all.
type SessionFilter struct {
	Queue  string
	Agent  string
	Status string
	// Waiting selects the sessions waiting unassigned in their queue (not
	// closed, not spam: store.Session.WaitingSince is set), longest
	// waiting first instead of newest first.
	Waiting bool
	Limit   int // 0: no limit
}

// Report returns the session id with its messages and events, KindNotFound
// when there is none.
func (r *Router) Report(id string) (SessionReport, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	var rep SessionReport
	err := r.st.View(func(rd store.Reader) error {
		s, err := rd.Session(id)
		if errors.Is(err, store.ErrNotFound) {
			return errorf(KindNotFound, "no session %s", id)
		}
		if err != nil {
			return err
		}
		rep.Session = s
		msgs, err := rd.SessionMessages(id)
		if err != nil {
			return err
		}
		byBlob := map[store.BlobID]int{}
		for _, m := range msgs {
			mb, err := rd.Mailbox(m.Mailbox)
			if err != nil {
				return err
			}
			where := mb.Name
			if mb.Owner != "" {
				where = mb.Owner + ":" + mb.Name
			}
			i, seen := byBlob[m.Blob]
			if !seen {
				raw, err := rd.Blob(m.Blob)
				if err != nil {
					return err
				}
				i = len(rep.Messages)
				byBlob[m.Blob] = i
				rep.Messages = append(rep.Messages, summarize(raw, m.InternalDate))
			}
			rep.Messages[i].Folders = append(rep.Messages[i].Folders, where)
		}
		slices.SortStableFunc(rep.Messages, func(a, b MessageSummary) int { return a.Date.Compare(b.Date) })
		rep.Events, err = rd.Events(id)
		return err
	})
	return rep, err
}

func summarize(raw []byte, date time.Time) MessageSummary {
	s := MessageSummary{Date: date}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return s
	}
	s.From, s.Subject = h.Get("From"), h.Get("Subject")
	s.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	return s
}

// ListSessions returns the sessions matching f, newest first (with
// f.Waiting, longest waiting first).
func (r *Router) ListSessions(f SessionFilter) ([]store.Session, error) {
	var out []store.Session
	err := r.st.View(func(rd store.Reader) error {
		return rd.EachSession(func(s store.Session) error {
			if (f.Queue == "" || strings.EqualFold(f.Queue, s.Queue)) &&
				(f.Agent == "" || strings.EqualFold(f.Agent, s.Agent)) &&
				(f.Status == "" || strings.EqualFold(f.Status, s.Status)) &&
				(!f.Waiting || !s.WaitingSince.IsZero()) {
				out = append(out, s)
			}
			return nil
		})
	})
	if f.Waiting {
		slices.SortStableFunc(out, func(a, b store.Session) int { return a.WaitingSince.Compare(b.WaitingSince) })
	} else {
		slices.SortStableFunc(out, func(a, b store.Session) int { return b.Created.Compare(a.Created) })
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}

// SessionCounts counts the sessions of every configured queue by status
// (every status present, zero when none).
func (r *Router) SessionCounts() (map[string]map[string]int, error) {
	var counts map[string]map[string]int
	err := r.st.View(func(rd store.Reader) (err error) {
		counts, err = rd.SessionCounts()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for _, q := range r.config().Queue {
		byStatus := map[string]int{}
		for _, st := range Statuses {
			byStatus[st] = counts[q.Name][st]
		}
		out[q.Name] = byStatus
	}
	return out, nil
}
