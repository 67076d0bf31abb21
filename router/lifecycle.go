package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// Session statuses (SPEC §4).
const (
	StatusUnopened = "Unopened" // assigned or waiting; the latest inbound is unread
	StatusActive   = "Active"
	StatusPaused   = "Paused"
	StatusResolved = "Resolved"
	StatusClosed   = "Closed"
	StatusReopened = "Reopened"
)

// Statuses lists every session status.
var Statuses = []string{StatusUnopened, StatusActive, StatusPaused, StatusResolved, StatusClosed, StatusReopened}

// StatusKeyword is the IMAP keyword that shows a session's status on each
// of its messages ("$Active").
func StatusKeyword(status string) string { return "$" + status }

// IsStatusKeyword reports whether f is a status keyword, which only mxdesk
// sets: clients may see it but not change it.
func IsStatusKeyword(f string) bool {
	return strings.HasPrefix(f, "$") && slices.Contains(Statuses, f[1:])
}

// statusKeywords are the keywords every desk folder announces in FLAGS.
func statusKeywords() []string {
	out := make([]string, len(Statuses))
	for i, s := range Statuses {
		out[i] = StatusKeyword(s)
	}
	return out
}

// withStatus returns flags with the status keyword set to status alone.
func withStatus(flags []string, status string) []string {
	out := slices.DeleteFunc(slices.Clone(flags), IsStatusKeyword)
	if status != "" {
		out = append(out, StatusKeyword(status))
	}
	slices.Sort(out)
	return out
}

// IsActive reports whether a status counts towards an agent's load.
func IsActive(status string) bool {
	return status == StatusUnopened || status == StatusReopened || status == StatusActive
}

// due is when the next automatic transition of s falls, by the thresholds
// in force (zero: none).
func (r *Router) due(s store.Session) time.Time {
	c := r.config().Sessions
	after := func(from time.Time, days int) time.Time {
		if days <= 0 {
			return time.Time{}
		}
		return from.Add(config.Days(days))
	}
	var due time.Time
	switch s.Status {
	case StatusActive:
		due = after(s.LastActivity, c.ActiveToPausedDays)
	case StatusPaused:
		due = after(s.StatusSince, c.PausedToClosedDays)
	case StatusResolved:
		due = after(s.StatusSince, c.ResolvedToClosedDays)
	}
	if q := r.config().QueueByName(s.Queue); q != nil && !s.OfferedAt.IsZero() && q.OfferTimeout.Duration > 0 {
		if offer := s.OfferedAt.Add(q.OfferTimeout.Duration); due.IsZero() || offer.Before(due) {
			due = offer
		}
	}
	return due
}

// setStatus changes the status of s and records the change as an event.
func (r *Router) setStatus(tx store.Tx, s *store.Session, status, actor, why string) error {
	if s.Status == status {
		return nil
	}
	detail := s.Status + " → " + status
	if s.Status == "" {
		detail = status
	}
	if why != "" {
		detail += ": " + why
	}
	s.Status = status
	return r.event(tx, s.ID, "status", actor, detail)
}

// commit stores s, which was old before this transaction (zero for a new
// session): it keeps the timer current and, when the session's place or
// status changed, moves its messages to their new home and updates their
// status keyword. It returns where the session's messages now live
// (ok false for a closed session) and, per blob, the UID of its copy there.
func (r *Router) commit(tx store.Tx, old store.Session, s *store.Session) (placed, error) {
	now := r.now()
	if s.Status != old.Status {
		s.StatusSince = now
	}
	if err := r.leaveRemovedQueue(tx, s); err != nil {
		return placed{}, err
	}
	if s.Agent != "" {
		if _, ok := r.config().AgentByLogin(s.Agent); !ok {
			// The agent left the configuration: the session goes back
			// to its queue rather than into a mailbox nobody reads.
			s.Agent = ""
		}
	}
	s.Updated = now
	// A resolved session without an agent (its agent was removed) waits for
	// nothing: it closes by itself.
	waiting := s.Agent == "" && s.Status != StatusClosed && s.Status != StatusResolved && !s.Spam
	switch {
	case !waiting:
		s.WaitingSince = time.Time{}
	case s.WaitingSince.IsZero():
		s.WaitingSince = now
	}
	s.ActiveAgent = ""
	if s.Agent != "" && IsActive(s.Status) {
		s.ActiveAgent = s.Agent
	}
	if s.Agent == "" || (s.Status != StatusUnopened && s.Status != StatusReopened) {
		// Opened, or taken back: no open offer, no unopened transfer.
		s.OfferedAt, s.TransferredAt = time.Time{}, time.Time{}
	}
	if old.ActiveAgent != "" && s.ActiveAgent != old.ActiveAgent {
		r.kickAssign() // someone's load dropped: they may take a waiting session
	}
	s.Due = r.due(*s)
	if err := r.noteHandling(tx, old, s, now); err != nil {
		return placed{}, err
	}
	noteAssignment(tx, old, *s, now)
	noteServiceLevel(tx, *s)
	if err := noteLastAssigned(tx, old, *s, now); err != nil {
		return placed{}, err
	}
	var p placed
	// A new session has no messages to move yet.
	if old.ID != "" && (old.Status != s.Status || old.Agent != s.Agent || old.Queue != s.Queue || old.Parked != s.Parked) {
		var err error
		if p, err = r.place(tx, *s); err != nil {
			return p, err
		}
	} else {
		home, ok, err := r.homeMailbox(tx, *s)
		if err != nil {
			return p, err
		}
		p = placed{home: home, ok: ok}
	}
	return p, tx.PutSession(*s)
}

// leaveRemovedQueue moves s, open in a queue the configuration no longer
// has (a closed session the customer reopened), to the fallback queue.
func (r *Router) leaveRemovedQueue(tx store.Tx, s *store.Session) error {
	f := r.config().Fallback()
	if s.Status == StatusClosed || f == nil || r.config().QueueByName(s.Queue) != nil {
		return nil
	}
	why := fmt.Sprintf("queue %s removed from the configuration: moved to queue %s", s.Queue, f.Name)
	s.RemovedQueue, s.Queue = s.Queue, f.Name
	r.kickAssign() // it may wait there now, for an auto-assigning queue
	return r.event(tx, s.ID, "transferred", "system", why)
}

// placed is where place put a session's working copies.
type placed struct {
	home store.Mailbox
	ok   bool                       // false: the session is closed and has no working copies
	uids map[store.BlobID]store.UID // the copy of each body in home
}

// homeMailbox is where the working copies of s live: the assigned agent's
// INBOX, Later or Resolved, else its queue folder; ok is false when the
// session is closed.
func (r *Router) homeMailbox(rd store.Reader, s store.Session) (store.Mailbox, bool, error) {
	if s.Status == StatusClosed {
		return store.Mailbox{}, false, nil
	}
	if s.Spam {
		m, err := rd.MailboxByName("", spamMailboxName(s.Queue))
		return m, err == nil, err
	}
	if s.Agent != "" {
		names := []string{Inbox}
		switch {
		case s.Status == StatusResolved:
			names = []string{ResolvedFolder, Inbox}
		case s.Parked:
			names = []string{LaterFolder, Inbox}
		}
		for _, n := range names {
			m, err := rd.MailboxByName(s.Agent, n)
			if err == nil {
				return m, true, nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return m, false, err
			}
		}
	}
	m, err := rd.MailboxByName("", queueMailboxName(s.Queue))
	return m, err == nil, err
}

// mailboxRole classifies a mailbox for place.
type mailboxRole int

const (
	roleOther   mailboxRole = iota
	roleWorking             // INBOX, Later, Resolved, Queues/<q>: where a session is worked
	roleArchive             // All/<q>: every message of every session of the queue
)

func roleOf(m store.Mailbox) mailboxRole {
	if m.Owner == "" {
		switch {
		case strings.HasPrefix(m.Name, QueuesFolder+"/"):
			return roleWorking
		case strings.HasPrefix(m.Name, AllFolder+"/"):
			return roleArchive
		}
		return roleOther
	}
	if m.Name == Inbox || m.Name == LaterFolder || m.Name == ResolvedFolder {
		return roleWorking
	}
	return roleOther
}

// place files the working copies of s in its home and its archive copies
// in its queue's archive, with the status keyword of s. Working copies
// elsewhere move. Archive copies in another queue's archive stay there
// (a transfer leaves the old queue its history) and are copied into the
// current queue's archive, once per message. A session with no working
// copy left (closed, now reopened) gets them back from its current
// archive, read except the latest inbound message.
func (r *Router) place(tx store.Tx, s store.Session) (placed, error) {
	home, ok, err := r.homeMailbox(tx, s)
	if err != nil {
		return placed{}, err
	}
	archive, err := tx.MailboxByName("", archiveMailboxName(s.Queue))
	if err != nil {
		return placed{}, fmt.Errorf("router: archive of queue %q: %w", s.Queue, err)
	}
	p := placed{home: home, ok: ok, uids: map[store.BlobID]store.UID{}}
	msgs, err := tx.SessionMessages(s.ID)
	if err != nil {
		return p, err
	}
	boxes := map[store.MailboxID]store.Mailbox{}
	var archived []store.Message         // the copies in the current archive
	var elsewhere []store.Message        // the copies in other queues' archives
	inArchive := map[store.BlobID]bool{} // blobs the current archive holds
	working := false
	for _, m := range msgs {
		mb, ok := boxes[m.Mailbox]
		if !ok {
			if mb, err = tx.Mailbox(m.Mailbox); err != nil {
				return p, err
			}
			boxes[m.Mailbox] = mb
		}
		flags := withStatus(m.Flags, s.Status)
		switch roleOf(mb) {
		case roleArchive:
			err = setFlagsIfChanged(tx, m, flags)
			if mb.ID == archive.ID {
				archived = append(archived, m)
				inArchive[m.Blob] = true
			} else {
				elsewhere = append(elsewhere, m)
			}
		case roleWorking:
			working = true
			switch {
			case !p.ok:
				err = tx.RemoveMessage(m.Mailbox, m.UID)
			case mb.ID != home.ID:
				m, err = moveMessage(tx, m, home.ID, flags)
			default:
				err = setFlagsIfChanged(tx, m, flags)
			}
			if p.ok {
				p.uids[m.Blob] = m.UID
			}
		default:
			err = setFlagsIfChanged(tx, m, flags)
		}
		if err != nil {
			return p, err
		}
	}
	for _, m := range elsewhere {
		if inArchive[m.Blob] {
			continue
		}
		added, err := copyMessage(tx, m, archive.ID, withStatus(m.Flags, s.Status))
		if err != nil {
			return p, err
		}
		archived = append(archived, added)
		inArchive[m.Blob] = true
	}
	if p.ok && !working {
		for _, m := range archived {
			flags := []string{`\Seen`}
			if m.Blob == s.LastInbound {
				flags = nil
			}
			added, err := copyMessage(tx, m, home.ID, withStatus(flags, s.Status))
			if err != nil {
				return p, err
			}
			p.uids[m.Blob] = added.UID
		}
	}
	return p, nil
}

// copyMessage files a copy of m in dest with flags.
func copyMessage(tx store.Tx, m store.Message, dest store.MailboxID, flags []string) (store.Message, error) {
	return tx.AddMessage(store.Message{
		Mailbox: dest, Blob: m.Blob, Size: m.Size, InternalDate: m.InternalDate,
		Session: m.Session, Flags: flags,
	})
}

// moveMessage files m in dest with flags and removes it from where it was.
func moveMessage(tx store.Tx, m store.Message, dest store.MailboxID, flags []string) (store.Message, error) {
	added, err := copyMessage(tx, m, dest, flags)
	if err != nil {
		return m, err
	}
	return added, tx.RemoveMessage(m.Mailbox, m.UID)
}

func setFlagsIfChanged(tx store.Tx, m store.Message, flags []string) error {
	if slices.Equal(m.Flags, flags) {
		return nil
	}
	return tx.SetFlags(m.Mailbox, m.UID, flags)
}
