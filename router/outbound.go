package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/store"
)

// Submitted says what Submit did with an agent's message.
type Submitted struct {
	Session   string
	MessageID string
	// Action is "reply" (to a session), "new" (a new outbound session),
	// "note" (an internal note), "transfer" (a forward to a queue or
	// agent), "forward" (a session's message forwarded to a third party)
	// or "held" (a stale reply, not sent).
	Action string
	// Held says, for a held reply, why it was not sent and how to send
	// it anyway: the client is to show it (the submission server refuses
	// the message with this text).
	Held   string
	Queued int    // recipients queued for delivery
	Queue  string // the session's queue afterwards
}

// CheckSubmitRecipient tells whether an authenticated agent may send to
// addr: anywhere outside our domains; inside them only to a queue, a
// session's reply or note address, or an agent's login.
func (r *Router) CheckSubmitRecipient(addr string) error {
	addr = config.Canonical(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return errorf(KindInvalid, "%q is not an address", addr)
	}
	if !r.config().IsLocalDomain(addr[at+1:]) {
		return nil
	}
	if r.isRequestNoReply(addr) {
		return errNoEmailCustomer(addr)
	}
	if _, ok := r.config().AgentByLogin(addr); ok {
		return nil
	}
	return r.st.View(func(rd store.Reader) error {
		_, _, err := r.resolveSubmitRecipient(rd, addr)
		return err
	})
}

// Submit takes a message an agent sent through the submission port
// (SPEC §7): it finds its session, rewrites it (From, Reply-To, subject
// tag, signature, Cc), stores it in the session and the agent's Sent, and
// queues it for delivery, all in one durable transaction. Forwards to a
// queue or agent are transfers and notes are internal: nothing of those
// leaves. Errors of KindInvalid, KindTooBig, KindForbidden and
// KindNotFound are the sender's (5xx); others are temporary.
func (r *Router) Submit(ctx context.Context, a *Agent, env Envelope, raw []byte) (Submitted, error) {
	if len(env.To) == 0 {
		return Submitted{}, errorf(KindInvalid, "no recipients")
	}
	release, err := r.reserveSpace(len(raw))
	if err != nil {
		return Submitted{}, err
	}
	defer release()
	in := parseInbound(raw, env, r.config().Hostname)
	cmds, in, err := takeCommands(in)
	if err != nil {
		return Submitted{}, err
	}
	var res Submitted
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		sub, err := r.classify(tx, a, env.To, in)
		if err != nil {
			return err
		}
		if len(cmds) > 0 {
			res, err = r.submitWithCommands(tx, a, in, sub, slices.Clone(cmds))
		} else {
			res, err = r.submit(tx, a, in, sub)
		}
		if err != nil || res.Session == "" {
			return err
		}
		s, err := tx.Session(res.Session) // for the log: the queue after a transfer
		res.Queue = s.Queue
		return err
	})
	return res, err
}

// submission is an agent's message sorted out: its session and where each
// recipient leads.
type submission struct {
	session   store.Session // zero when the message belongs to none
	external  []string      // customers and other outside addresses
	notes     int           // session note (or reply) addresses among the recipients
	toQueue   string        // a queue address: transfer there
	toAgent   string        // an agent's login: transfer to them
	inReplyTo string
	// dropped are the session's own addresses a Reply All copied beside
	// outside recipients: nobody gets the message there.
	dropped []string
	// forward: a forward of a session message to outsiders who are not
	// its participants. It goes to them alone: no Cc of the session, and
	// they don't become participants.
	forward bool
}

// classify sorts the recipients and finds the session: a reply or note
// address among the recipients, then In-Reply-To/References, then the
// subject tag, then for a forward what it carries (forwardClues). An
// agent may only act on sessions of their queues or their own
// (supervisors on any).
func (r *Router) classify(tx store.Tx, a *Agent, rcpts []string, in inbound) (submission, error) {
	var sub submission
	var locals []localRcpt
	for _, rcpt := range rcpts {
		addr := config.Canonical(rcpt)
		at := strings.LastIndexByte(addr, '@')
		switch {
		case at < 0:
			return sub, errorf(KindInvalid, "%q is not an address", rcpt)
		case !r.config().IsLocalDomain(addr[at+1:]):
			sub.external = append(sub.external, addr)
			continue
		}
		if ac, ok := r.config().AgentByLogin(addr); ok {
			sub.toAgent = strings.ToLower(ac.Login)
			continue
		}
		q, id, err := r.resolveSubmitRecipient(tx, addr)
		if err != nil {
			return sub, err
		}
		_, tag, _ := strings.Cut(addr[:at], "+")
		locals = append(locals, localRcpt{addr: addr, queue: q, session: id, note: strings.HasPrefix(tag, notePrefix)})
	}
	if len(in.refs) > 0 {
		sub.inReplyTo = in.refs[0]
	}
	originals := forwardedOriginals(in)
	forward := isForward(in, originals)
	s, err := r.submittedSession(tx, a, in, locals, originals, forward || len(sub.external) == 0)
	if err != nil {
		return sub, err
	}
	sub.session = s
	for _, l := range locals {
		switch {
		case l.session != "" && s.ID != "" && l.session != s.ID:
			return sub, errorf(KindForbidden, "%s is the address of another session than %s: write to one session at a time", l.addr, s.ID)
		case len(sub.external) > 0 && meansSession(l, s):
			sub.dropped = append(sub.dropped, l.addr)
		case l.note || l.session != "":
			sub.notes++ // the session's own address, and no customer beside it: a note
		default:
			sub.toQueue = l.queue
		}
	}
	sub.forward = forward && s.ID != "" && len(sub.external) > 0 && len(sub.dropped) == len(locals) &&
		!slices.ContainsFunc(sub.external, func(x string) bool { return slices.Contains(s.Participants, x) })
	if sub.forward {
		sub.inReplyTo = "" // it answers no customer message: never a stale reply
	}
	return sub, nil
}

// submittedSession finds the session of an agent's message (zero when
// none): the first session address among its recipients, else its
// references (newest first, then Thunderbird's X-Forwarded-Message-Id),
// else its subject tag, else, when clues is set (a forward, or a
// message to mxdesk only), what the forwarded message tells.
func (r *Router) submittedSession(tx store.Tx, a *Agent, in inbound, locals []localRcpt, originals []forwarded, clues bool) (store.Session, error) {
	sessionID := ""
	for _, l := range locals {
		if l.session != "" {
			sessionID = l.session
			break
		}
	}
	refs := append(slices.Clone(in.refs), trimAngles(in.header.Get("X-Forwarded-Message-Id")))
	for i := len(refs) - 1; i >= 0 && sessionID == ""; i-- {
		id, err := sessionByMessageID(tx, refs[i])
		if err != nil {
			return store.Session{}, err
		}
		sessionID = id
	}
	if sessionID == "" {
		if m := sessionTag.FindStringSubmatch(in.subject); m != nil {
			sessionID = strings.ToUpper(m[1])
		}
	}
	if sessionID == "" && clues {
		id, err := r.forwardClues(tx, a, in, originals)
		if err != nil {
			return store.Session{}, err
		}
		sessionID = id
	}
	if sessionID == "" {
		return store.Session{}, nil
	}
	s, err := tx.Session(sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, nil // a tag or reference to nothing: a new conversation
	}
	if err != nil {
		return store.Session{}, err
	}
	if !a.mayActOn(s) {
		return store.Session{}, errorf(KindForbidden, "session %s belongs to queue %s, which you do not serve", s.ID, s.Queue)
	}
	return s, nil
}

func (r *Router) submit(tx store.Tx, a *Agent, in inbound, sub submission) (Submitted, error) {
	if len(sub.external) > 0 && sub.session.ID != "" {
		in = withoutRecipients(in, r.sessionAddresses(sub.session))
	}
	internal := sub.notes > 0 || sub.toQueue != "" || sub.toAgent != ""
	switch {
	case internal && len(sub.external) > 0:
		return Submitted{}, errorf(KindForbidden, "a note or transfer goes to mxdesk only: send the reply to the customer as a separate message")
	case internal && sub.session.ID == "":
		return Submitted{}, errForwardNotFound
	case sub.toQueue != "" || sub.toAgent != "":
		return r.transferByForward(tx, a, in, sub)
	case internal || len(sub.external) == 0:
		if sub.session.ID == "" {
			return Submitted{}, errorf(KindForbidden, "no recipients outside mxdesk")
		}
		return r.note(tx, a, in, sub.session, "note", "internal note")
	case sub.session.ID == "":
		s, err := r.newOutboundSession(tx, a, in, sub.external)
		if err != nil {
			return Submitted{}, err
		}
		sub.session = s
		return r.reply(tx, a, in, sub, "new")
	case sub.forward:
		return r.reply(tx, a, in, sub, "forward")
	}
	return r.reply(tx, a, in, sub, "reply")
}

// newOutboundSession opens a session for a message an agent writes first:
// in the queue whose address is the message's From (when the agent serves
// it), else the agent's first queue that is enabled, assigned to the
// agent.
func (r *Router) newOutboundSession(tx store.Tx, a *Agent, in inbound, external []string) (store.Session, error) {
	queue, err := r.outboundQueue(a, in.sender)
	if err != nil {
		return store.Session{}, err
	}
	id, token, err := newSessionIdentity(tx)
	if err != nil {
		return store.Session{}, err
	}
	s := store.Session{
		ID: id, Queue: queue, Agent: a.Login, Customer: external[0], Subject: in.subject,
		Created: r.now(), Token: token, Participants: slices.Clone(external),
	}
	if err := r.event(tx, id, "created", a.Login, "new outbound session in queue "+queue); err != nil {
		return s, err
	}
	return s, r.setStatus(tx, &s, StatusActive, a.Login, "")
}

// staleWindow is how long a held reply may be sent again unchanged.
const staleWindow = 10 * time.Minute

// reply rewrites, stores and queues an agent's reply in session
// sub.session (new or existing). A reply to a closed session reopens it
// or continues it in a new one (reviveForReply); a stale reply may be
// held instead (staleCheck).
func (r *Router) reply(tx store.Tx, a *Agent, in inbound, sub submission, action string) (Submitted, error) {
	s := sub.session
	if s.Status == StatusClosed {
		var err error
		if s, err = r.reviveForReply(tx, a, s); err != nil {
			return Submitted{}, err
		}
	}
	old, err := tx.Session(s.ID)
	if errors.Is(err, store.ErrNotFound) {
		old, err = store.Session{}, nil
	}
	if err != nil {
		return Submitted{}, err
	}
	q := r.config().QueueByName(s.Queue)
	if q == nil {
		return Submitted{}, errorf(KindForbidden, "queue %s of session %s is no longer configured", s.Queue, s.ID)
	}
	// classify leaves inReplyTo empty for a message that answers no
	// customer message; the one answered is In-Reply-To, else the newest
	// reference (answeredMessageID), not the first.
	answered := ""
	if sub.inReplyTo != "" {
		answered = answeredMessageID(in.header)
	}
	if held, err := r.staleCheck(tx, a, in, q, &s, old, answered); err != nil || held {
		if err != nil {
			return Submitted{}, err
		}
		if _, err := r.commit(tx, old, &s); err != nil {
			return Submitted{}, err
		}
		return Submitted{Session: s.ID, MessageID: in.messageID, Action: "held", Held: r.heldText(s)}, nil
	}
	out, rcpts, err := r.rewriteReply(a, in, q, &s, sub.external, sub.forward)
	if err != nil {
		return Submitted{}, err
	}
	for _, x := range rcpts {
		if !sub.forward && !slices.Contains(s.Participants, x) && len(s.Participants) < maxParticipants {
			s.Participants = append(s.Participants, x)
		}
	}
	if s.Agent == "" && !a.api {
		// Answering a waiting session takes it: it moves to the
		// agent's INBOX like a claim (an API token's reply leaves it
		// waiting).
		s.Agent = a.Login
		if err := r.event(tx, s.ID, "assigned", a.Login, "claimed by replying"); err != nil {
			return Submitted{}, err
		}
	}
	switch {
	case s.Status == StatusUnopened || s.Status == StatusReopened || (s.Status == StatusPaused && !s.Parked):
		err = r.setStatus(tx, &s, StatusActive, a.Login, "replied")
	}
	if err != nil {
		return Submitted{}, err
	}
	s.LastActivity, s.Held = r.now(), nil
	if !sub.forward && old.ID != "" && s.FirstReplyAt.IsZero() {
		s.FirstReplyAt = r.now() // the service level counts the first reply
	}
	blob, err := r.fileInSession(tx, old, &s, out, []string{`\Seen`})
	if err != nil {
		return Submitted{}, err
	}
	sent, err := tx.MailboxByName(a.Login, SentFolder)
	if err == nil {
		_, err = tx.AddMessage(store.Message{Mailbox: sent.ID, Blob: blob, Size: int64(len(out)), InternalDate: r.now(), Session: s.ID, Flags: []string{`\Seen`}})
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Submitted{}, err
	}
	_, err = tx.Enqueue(store.Outbound{
		Session: s.ID, Queue: s.Queue, Agent: a.Login, Blob: blob, From: envelopeSender(r.config(), q, s.Token), To: rcpts,
		Created: r.now(), NextAttempt: r.now(),
	})
	if err != nil {
		return Submitted{}, err
	}
	if sub.forward {
		err = r.event(tx, s.ID, "forwarded", a.Login, "to "+strings.Join(rcpts, ", "))
	} else if err = r.noteReply(tx, old, s); err == nil {
		err = r.event(tx, s.ID, "replied", a.Login, "to "+strings.Join(rcpts, ", "))
	}
	if err != nil {
		return Submitted{}, err
	}
	return Submitted{Session: s.ID, MessageID: in.messageID, Action: action, Queued: len(rcpts)}, nil
}

// staleCheck holds (or, with stale_reply = "warn", only reports) a reply
// that answers an older customer message than the session's latest one.
// A held reply is refused to the agent's client (heldText says why); the
// same text sent again within staleWindow goes out. A warned one goes
// out with a notice in the agent's INBOX. It reports whether the reply is
// held.
func (r *Router) staleCheck(tx store.Tx, a *Agent, in inbound, q *config.Queue, s *store.Session, old store.Session, answeredID string) (bool, error) {
	if q.StaleReply == config.StaleOff || answeredID == "" || s.LastInboundID == "" || answeredID == s.LastInboundID {
		return false, nil
	}
	answered, ok, err := r.messageDate(tx, s.ID, answeredID)
	if err != nil || !ok || !s.LastInboundAt.After(answered) {
		return false, err
	}
	detail := "reply to an older message; the customer wrote again at " + s.LastInboundAt.Format(time.RFC3339)
	if q.StaleReply == config.StaleWarn {
		if _, err := r.fileInSession(tx, old, s, r.staleNotice(tx, a, in, *s), nil); err != nil {
			return false, err
		}
		return false, r.event(tx, s.ID, "stale-warned", a.Login, detail)
	}
	hash := replyHash(in.header, in.body)
	if s.Held != nil && s.Held.Hash == hash && !r.now().After(s.Held.Until) {
		return false, r.event(tx, s.ID, "stale-sent", a.Login, "held reply sent again unchanged: sending")
	}
	s.Held = &store.HeldReply{Hash: hash, Until: r.now().Add(staleWindow)}
	return true, r.event(tx, s.ID, "held", a.Login, detail)
}

// heldText is what the agent's client shows when their reply is held: why,
// and how to send it anyway. It is one ASCII line, well under the SMTP
// line limit. The time is the queue's (timezone), with the day when it
// was not today.
func (r *Router) heldText(s store.Session) string {
	loc := r.config().Location()
	wrote := s.LastInboundAt.In(loc)
	when := "at " + wrote.Format("15:04")
	if wrote.Format(time.DateOnly) != r.now().In(loc).Format(time.DateOnly) {
		when = "on " + wrote.Format("Jan 2") + " " + when
	}
	return fmt.Sprintf("not sent: the customer wrote again %s (%s) - read their new message, then send again unchanged within %d minutes to send it anyway",
		when, s.ID, int(staleWindow/time.Minute))
}

// answeredMessageID is the message a reply answers: its In-Reply-To, else
// the last of its References (the newest of the thread).
func answeredMessageID(h textproto.Header) string {
	mh := mail.Header{Header: message.Header{Header: h}}
	if ids, err := mh.MsgIDList("In-Reply-To"); err == nil && len(ids) > 0 {
		return ids[0]
	}
	if ids, err := mh.MsgIDList("References"); err == nil && len(ids) > 0 {
		return ids[len(ids)-1]
	}
	return ""
}

// messageDate finds when the message with messageID arrived in session.
func (r *Router) messageDate(rd store.Reader, session, messageID string) (time.Time, bool, error) {
	m, _, ok, err := sessionMessage(rd, session, messageID)
	return m.InternalDate, ok, err
}

// sessionMessage finds the message with messageID in session, and its
// body.
func sessionMessage(rd store.Reader, session, messageID string) (store.Message, []byte, bool, error) {
	msgs, err := rd.SessionMessages(session)
	if err != nil {
		return store.Message{}, nil, false, err
	}
	seen := map[store.BlobID]bool{}
	for _, m := range msgs {
		if seen[m.Blob] {
			continue
		}
		seen[m.Blob] = true
		raw, err := rd.Blob(m.Blob)
		if err != nil {
			return store.Message{}, nil, false, err
		}
		if headerMessageID(raw) == messageID {
			return m, raw, true, nil
		}
	}
	return store.Message{}, nil, false, nil
}

// sendingAccount is the upstream [[account]] whose SMTP sends the replies
// of queue q (its smtp is set), or nil.
func sendingAccount(cfg *config.Config, q *config.Queue) *config.Account {
	if a := cfg.AccountByQueue(q.Name); a != nil && a.SMTP != "" {
		return a
	}
	return nil
}

// envelopeSender is the MAIL FROM of a reply in queue q: the session's
// reply address, or the account's address when the account sends it
// (upstream servers accept only their own mailbox's).
func envelopeSender(cfg *config.Config, q *config.Queue, token string) string {
	if a := sendingAccount(cfg, q); a != nil {
		return a.Address
	}
	return tokenAddress(q, token, "")
}

// tokenAddress is the reply address of a session in queue q (with
// prefix "note-": its note address).
func tokenAddress(q *config.Queue, token, prefix string) string {
	addr := q.Addresses[0]
	at := strings.LastIndexByte(addr, '@')
	return addr[:at] + "+" + prefix + token + addr[at:]
}

// fileInSession stores raw as a message of session s (which was old
// before this transaction): the session is committed, the message filed
// in its home and archive with flags, its Message-ID indexed. It returns
// the blob.
func (r *Router) fileInSession(tx store.Tx, old store.Session, s *store.Session, raw []byte, flags []string) (store.BlobID, error) {
	blob, err := tx.PutBlob(raw)
	if err != nil {
		return 0, err
	}
	p, err := r.commit(tx, old, s)
	if err != nil {
		return 0, err
	}
	archive, err := tx.MailboxByName("", archiveMailboxName(s.Queue))
	if err != nil {
		return 0, err
	}
	boxes := []store.MailboxID{archive.ID}
	if p.ok {
		boxes = append(boxes, p.home.ID)
	}
	for _, mb := range boxes {
		_, err := tx.AddMessage(store.Message{
			Mailbox: mb, Blob: blob, Size: int64(len(raw)), InternalDate: r.now(),
			Session: s.ID, Flags: withStatus(flags, s.Status),
		})
		if err != nil {
			return 0, err
		}
	}
	if id := headerMessageID(raw); id != "" {
		if err := tx.IndexMessageID(id, s.ID); err != nil {
			return 0, err
		}
	}
	return blob, nil
}

// resolveSubmitRecipient is resolveRecipient for the submission side,
// where note addresses (queue+note-<token>) count too. It returns the
// queue and session of addr.
func (r *Router) resolveSubmitRecipient(rd store.Reader, addr string) (queue, session string, err error) {
	at := strings.LastIndexByte(addr, '@')
	if base, tag, ok := strings.Cut(addr[:at], "+"); ok && strings.HasPrefix(tag, notePrefix) {
		return r.resolveRecipient(rd, base+"+"+strings.TrimPrefix(tag, notePrefix)+addr[at:])
	}
	return r.resolveRecipient(rd, addr)
}

// notePrefix marks a session's note address: support+note-<token>@...
const notePrefix = "note-"
