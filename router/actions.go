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
//
// Each rule is one function that the session actions (Act) share.
func (r *Router) moveSession(tx store.Tx, a *Agent, sm, dm store.Mailbox, id string) (placed, error) {
	s, err := openSession(tx, id)
	if err != nil {
		return placed{}, err
	}
	old := s
	personDecides(&s)
	supervisor := config.IsSupervisor(a.Role)
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
		if waitsIn(old, target) {
			return r.commit(tx, old, &s)
		}
		err = r.toQueue(tx, a, old, &s, target, "")
	case isAgentsMailbox(dm):
		login := strings.TrimPrefix(dm.Name, AgentsFolder+"/")
		if s.Agent == login {
			if err := checkServes(r.config(), login, s.Queue); err != nil {
				return placed{}, err
			}
			s.TransferredAt = old.TransferredAt // nothing changed hands
			return r.commit(tx, old, &s)
		}
		unread = true
		err = r.handTo(tx, a, &s, login, "assigned", "assigned to "+login)
	default: // a's INBOX, Resolved or Later
		opened := s.Agent != a.Login && lastInboundSeen(tx, s, sm.ID) // a claims it having read its latest message
		if err := r.claim(tx, a, &s, "claimed from "+sm.Name); err != nil {
			return placed{}, err
		}
		switch dm.Name {
		case ResolvedFolder:
			err = r.resolve(tx, a, &s, "moved to Resolved")
		case LaterFolder:
			err = r.park(tx, a, &s, "parked in Later")
		default: // INBOX
			err = r.resume(tx, a, &s, opened)
		}
	}
	if err != nil {
		return placed{}, err
	}
	return r.finishMove(tx, old, &s, unread)
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

// The rules below are each one session action, shared by the folder
// gestures (moveSession), forwards (transferByForward), the lifecycle
// timer (fire) and Act.

// openSession reads session id for an action that moves it: a closed
// session stays closed until its customer writes.
func openSession(rd store.Reader, id string) (store.Session, error) {
	s, err := rd.Session(id)
	if err != nil {
		return s, err
	}
	if s.Status == StatusClosed {
		return s, errorf(KindForbidden, "session %s is closed; a customer reply reopens it", id)
	}
	return s, nil
}

// personDecides clears what a person's action supersedes: no open offer,
// no memory of the last one; the session is spam only while it stays in
// a Spam folder.
func personDecides(s *store.Session) {
	s.OfferedAt, s.PrevOffer, s.Spam, s.TransferredAt = time.Time{}, "", false, time.Time{}
}

// waitsIn reports whether old already waits, unassigned and not spam, in
// queue q: putting it there again changes nothing.
func waitsIn(old store.Session, q string) bool {
	return old.Queue == q && old.Agent == "" && !old.Spam
}

// toQueue puts s (old before the action) back waiting in queue target:
// out of spam, a return to its own queue, or a transfer to another one,
// which the session's queue must allow (allow_transfer_to_queue) unless
// a is a supervisor. how ends the event's text (" by forward").
func (r *Router) toQueue(tx store.Tx, a *Agent, old store.Session, s *store.Session, target, how string) error {
	q := r.config().QueueByName(s.Queue) // nil when the queue left the configuration
	var err error
	switch {
	case target == s.Queue && old.Spam:
		err = r.event(tx, s.ID, "not-spam", a.Login, "moved out of spam into queue "+target+how)
	case target == s.Queue:
		err = r.event(tx, s.ID, "returned", a.Login, "returned to queue "+target+how)
	case q != nil && !q.AllowTransferToQueue && !config.IsSupervisor(a.Role):
		return errorf(KindForbidden, "queue %s does not allow transfers to other queues (allow_transfer_to_queue)", s.Queue)
	case isDisabled(r.config(), target):
		return refuseTransferInto(r.config(), target)
	default:
		if err := r.needWrapup(*s, config.WrapupOnTransfer); err != nil {
			return err
		}
		err = r.event(tx, s.ID, "transferred", a.Login, "from queue "+s.Queue+" to queue "+target+how)
		s.Queue, s.Wrapup = target, nil // the codes are the old queue's
	}
	if err != nil {
		return err
	}
	s.Agent, s.Parked = "", false
	return r.setStatus(tx, s, StatusUnopened, a.Login, "waiting in queue "+s.Queue)
}

// checkServes refuses login as the agent of a session of queue q unless
// the configuration has them serving it.
func checkServes(cfg *config.Config, login, q string) error {
	if ac, ok := cfg.AgentByLogin(login); !ok || !slices.Contains(cfg.AgentQueues(ac), q) {
		return errorf(KindForbidden, "%s does not serve queue %s", login, q)
	}
	return nil
}

// handTo gives s to the agent login, who must serve its queue: unopened
// in their INBOX, counted as a transfer for the queue's KPI alarm until
// they open it. kind and detail make the event.
func (r *Router) handTo(tx store.Tx, a *Agent, s *store.Session, login, kind, detail string) error {
	if err := checkServes(r.config(), login, s.Queue); err != nil {
		return err
	}
	s.Agent, s.Parked = login, false
	s.TransferredAt = r.now() // unopened past kpi_wait_alarm, it is an alarm
	if err := r.event(tx, s.ID, kind, a.Login, detail); err != nil {
		return err
	}
	return r.setStatus(tx, s, StatusUnopened, a.Login, detail)
}

// mayTransferToAgent refuses a's transfer of s to another agent unless
// its queue allows it (allow_transfer_to_agent) or a is a supervisor.
func (r *Router) mayTransferToAgent(a *Agent, s store.Session) error {
	if q := r.config().QueueByName(s.Queue); q != nil && !q.AllowTransferToAgent && !config.IsSupervisor(a.Role) {
		return errorf(KindForbidden, "queue %s does not allow transfers to another agent (allow_transfer_to_agent)", s.Queue)
	}
	return r.needWrapup(s, config.WrapupOnTransfer)
}

// claim makes a the agent of s, if they are not already: a session
// waiting in one of a's queues, or any for a supervisor. Another agent's
// session is theirs (a supervisor may take it). how is the event's text.
func (r *Router) claim(tx store.Tx, a *Agent, s *store.Session, how string) error {
	if s.Agent == a.Login || a.api { // an API token acts on a session where it is
		return nil
	}
	supervisor := config.IsSupervisor(a.Role)
	switch {
	case !a.servesQueue(s.Queue) && !supervisor:
		return errorf(KindForbidden, "you do not serve queue %s", s.Queue)
	case s.Agent != "" && !supervisor:
		return errorf(KindForbidden, "session %s is %s's: they or a supervisor may do that", s.ID, s.Agent)
	}
	s.Agent = a.Login
	return r.event(tx, s.ID, "assigned", a.Login, how)
}

// resolve marks s resolved (Resolved folder), with a wrap-up code if
// its queue requires one.
func (r *Router) resolve(tx store.Tx, a *Agent, s *store.Session, why string) error {
	if err := r.needWrapup(*s, config.WrapupOnResolve); err != nil {
		return err
	}
	s.Parked = false
	return r.setStatus(tx, s, StatusResolved, a.Login, why)
}

// park pauses s in its agent's Later folder, which its queue must allow
// (allow_personal_queue).
func (r *Router) park(tx store.Tx, a *Agent, s *store.Session, why string) error {
	if q := r.config().QueueByName(s.Queue); q != nil && !q.AllowPersonalQueue {
		return errorf(KindForbidden, "queue %s does not allow parking sessions in Later (allow_personal_queue)", s.Queue)
	}
	s.Parked = true
	return r.setStatus(tx, s, StatusPaused, a.Login, why)
}

// resume brings s back to its agent's INBOX: a paused or resolved session
// is active again, and one claimed with its latest message read (opened)
// is opened.
func (r *Router) resume(tx store.Tx, a *Agent, s *store.Session, opened bool) error {
	s.Parked = false
	switch {
	case s.Status == StatusPaused || s.Status == StatusResolved:
		return r.setStatus(tx, s, StatusActive, a.Login, "resumed")
	case opened && (s.Status == StatusUnopened || s.Status == StatusReopened):
		return r.setStatus(tx, s, StatusActive, a.Login, "opened")
	}
	return nil
}

// closeSession closes s as the lifecycle timer does when its days are up
// (fire): its working copies go, its archive stays, a customer reply
// reopens it. actor is "system" for the timer.
func (r *Router) closeSession(tx store.Tx, actor string, s *store.Session, why string) error {
	s.Parked = false
	return r.setStatus(tx, s, StatusClosed, actor, why)
}

// finishMove commits s (old before the action) after a person acted on
// it; unread: it changed hands, so its latest message shows unread to
// its new agent.
func (r *Router) finishMove(tx store.Tx, old store.Session, s *store.Session, unread bool) (placed, error) {
	s.LastActivity = r.now()
	p, err := r.commit(tx, old, s)
	if err != nil || !unread || !p.ok {
		return p, err
	}
	return p, markUnread(tx, p.home.ID, p.uids[s.LastInbound])
}
