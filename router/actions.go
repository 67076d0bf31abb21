package router

import (
	"slices"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// moveSession is what moving a session's message from sm into dm means
// (SPEC §5), applied to the whole session:
//
//	Queues/X -> INBOX        claim
//	-> Resolved              resolve (claiming it first if it waits)
//	-> Later                 park (queue must allow_personal_queue)
//	Resolved, Later -> INBOX resume
//	INBOX -> Queues/X        return to its queue
//	-> Queues/Y              transfer to queue Y (allow_transfer_to_queue)
//	-> Agents/<login>        assign to that agent (supervisors)
//	-> Junk, Queues/X/Spam   spam: resolved, filed in its queue's Spam folder
func (r *Router) moveSession(tx store.Tx, a *Agent, sm, dm store.Mailbox, id string) (placed, error) {
	s, err := tx.Session(id)
	if err != nil {
		return placed{}, err
	}
	if s.Status == StatusClosed {
		return placed{}, errorf(KindForbidden, "session %s is closed; a customer reply reopens it", id)
	}
	old := s
	// A person decides now: no open offer, no memory of the last one;
	// the session is spam only while it stays in a Spam folder.
	s.OfferedAt, s.PrevOffer, s.Spam, s.TransferredAt = time.Time{}, "", false, time.Time{}
	q := r.config().QueueByName(s.Queue) // nil when the queue left the configuration
	supervisor := config.IsSupervisor(a.Role)
	opened := false // a claimed the session having read its latest message
	unread := false // someone else now owns it: its latest message shows unread
	switch {
	case dm.Owner == "" && strings.HasSuffix(dm.Name, spamSuffix):
		// A supervisor files the session as spam in that queue.
		s.Queue = strings.TrimSuffix(strings.TrimPrefix(dm.Name, QueuesFolder+"/"), spamSuffix)
		err = r.markSpam(tx, a, &s, "moved to "+dm.Name)
	case isJunkMailbox(dm):
		// An agent's Junk button: spam of its own queue, for the
		// queue's supervisors to review.
		if s.Agent != a.Login && !a.servesQueue(s.Queue) && !supervisor {
			return placed{}, errorf(KindForbidden, "you do not serve queue %s", s.Queue)
		}
		err = r.markSpam(tx, a, &s, "moved to Junk: filed in "+spamMailboxName(s.Queue))
	case roleOf(dm) == roleWorking && dm.Owner == "":
		target := strings.TrimPrefix(dm.Name, QueuesFolder+"/")
		switch {
		case target == s.Queue && s.Agent == "" && !old.Spam:
			return r.commit(tx, old, &s) // already waiting there
		case target == s.Queue && old.Spam:
			err = r.event(tx, id, "not-spam", a.Login, "moved out of spam into queue "+target)
		case target == s.Queue:
			err = r.event(tx, id, "returned", a.Login, "returned to queue "+target)
		case q != nil && !q.AllowTransferToQueue && !supervisor:
			return placed{}, errorf(KindForbidden, "queue %s does not allow transfers to other queues (allow_transfer_to_queue)", s.Queue)
		case isDisabled(r.config(), target):
			return placed{}, refuseTransferInto(r.config(), target)
		default:
			err = r.event(tx, id, "transferred", a.Login, "from queue "+s.Queue+" to queue "+target)
			s.Queue = target
		}
		if err == nil {
			s.Agent, s.Parked = "", false
			err = r.setStatus(tx, &s, StatusUnopened, a.Login, "waiting in queue "+s.Queue)
		}
	case isAgentsMailbox(dm):
		login := strings.TrimPrefix(dm.Name, AgentsFolder+"/")
		cfg := r.config()
		ac, ok := cfg.AgentByLogin(login)
		if !ok || !slices.Contains(cfg.AgentQueues(ac), s.Queue) {
			return placed{}, errorf(KindForbidden, "%s does not serve queue %s", login, s.Queue)
		}
		if s.Agent == login {
			s.TransferredAt = old.TransferredAt // nothing changed hands
			return r.commit(tx, old, &s)
		}
		s.Agent, s.Parked, unread = login, false, true
		s.TransferredAt = r.now() // unopened past kpi_wait_alarm, it is an alarm
		if err = r.event(tx, id, "assigned", a.Login, "assigned to "+login); err == nil {
			err = r.setStatus(tx, &s, StatusUnopened, a.Login, "assigned to "+login)
		}
	default: // a's INBOX, Resolved or Later
		if s.Agent != a.Login {
			if !a.servesQueue(s.Queue) && !supervisor {
				return placed{}, errorf(KindForbidden, "you do not serve queue %s", s.Queue)
			}
			opened = lastInboundSeen(tx, s, sm.ID)
			s.Agent = a.Login
			if err := r.event(tx, id, "assigned", a.Login, "claimed from "+sm.Name); err != nil {
				return placed{}, err
			}
		}
		switch dm.Name {
		case ResolvedFolder:
			s.Parked = false
			err = r.setStatus(tx, &s, StatusResolved, a.Login, "moved to Resolved")
		case LaterFolder:
			if q != nil && !q.AllowPersonalQueue {
				return placed{}, errorf(KindForbidden, "queue %s does not allow parking sessions in Later (allow_personal_queue)", s.Queue)
			}
			s.Parked = true
			err = r.setStatus(tx, &s, StatusPaused, a.Login, "parked in Later")
		default: // INBOX
			s.Parked = false
			switch {
			case s.Status == StatusPaused || s.Status == StatusResolved:
				err = r.setStatus(tx, &s, StatusActive, a.Login, "resumed")
			case opened && (s.Status == StatusUnopened || s.Status == StatusReopened):
				err = r.setStatus(tx, &s, StatusActive, a.Login, "opened")
			}
		}
	}
	if err != nil {
		return placed{}, err
	}
	s.LastActivity = r.now()
	p, err := r.commit(tx, old, &s)
	if err != nil || !unread || !p.ok {
		return p, err
	}
	return p, markUnread(tx, p.home.ID, p.uids[s.LastInbound])
}

// markSpam makes s spam of its queue: nobody's, resolved, at home in the
// queue's Spam folder (homeMailbox), with an event saying who and how.
func (r *Router) markSpam(tx store.Tx, a *Agent, s *store.Session, detail string) error {
	s.Agent, s.Parked, s.Spam = "", false, true
	if err := r.event(tx, s.ID, "spam", a.Login, detail); err != nil {
		return err
	}
	return r.setStatus(tx, s, StatusResolved, a.Login, "spam")
}

// lastInboundSeen reports whether the latest inbound message of s is
// \Seen in mailbox mb.
func lastInboundSeen(rd store.Reader, s store.Session, mb store.MailboxID) bool {
	msgs, err := rd.SessionMessages(s.ID)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if m.Mailbox == mb && m.Blob == s.LastInbound {
			return slices.Contains(m.Flags, `\Seen`)
		}
	}
	return false
}

// markUnread clears \Seen on one message, if it exists.
func markUnread(tx store.Tx, mb store.MailboxID, uid store.UID) error {
	if uid == 0 {
		return nil
	}
	m, err := tx.Message(mb, uid)
	if err != nil {
		return err
	}
	return setFlagsIfChanged(tx, m, applyFlags(m.Flags, FlagsRemove, []string{`\Seen`}))
}
