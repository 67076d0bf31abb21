package router

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/store"
)

// Envelope is the SMTP envelope of one inbound message.
type Envelope struct {
	From       string   // MAIL FROM, "" for the null sender
	To         []string // accepted RCPT TO addresses
	RemoteAddr string
	Helo       string
	TLS        bool
	// Spam: the sender failed DMARC under p=quarantine. The message
	// starts a session in its queue's Spam folder rather than joining
	// one (a forged reply must not reach an agent's thread).
	Spam bool
	// DMARCFail: the sender failed DMARC, whatever the domain's policy.
	// Such mail never gets an auto-reply (SPEC §8).
	DMARCFail bool

	// Imported: the message was pulled from an upstream mailbox (the
	// connector) rather than sent to the MX. One whose Message-ID is
	// already in the store is not filed again (Delivered.Known).
	Imported bool
	// InTx, if set, runs inside the transaction that files the message
	// (or finds it known), so that the caller's own record commits with
	// it: the connector's import position. It may run more than once.
	InTx func(tx store.Tx) error
	// RequestURI is set by the public API's RequestAdd: the message
	// shows that item, and is stamped X-Mxdesk-Request-URI with it.
	RequestURI string

	// infected: the antivirus found a virus in the message (set by
	// Deliver); it gets no auto-reply.
	infected bool
}

// Delivered says where an accepted message went.
type Delivered struct {
	Session   string
	MessageID string
	Folder    string // the mailbox name it was filed in
	Queue     string // the session's queue
	// Known: an imported message whose Message-ID was already in the
	// store; it was not filed again.
	Known bool
	// Bounced: an imported delivery status notification about a message
	// mxdesk sent, filed as its bounce (Router.Bounce), not as mail.
	Bounced bool
}

var (
	// ErrUnknownRecipient: no queue has this address.
	ErrUnknownRecipient = errorf(KindNotFound, "no such mailbox")
	// ErrSendOnly: a send-only address accepts no mail.
	ErrSendOnly = errorf(KindForbidden, "this address does not accept mail")
)

// CheckRecipient tells whether mail to addr is accepted (ErrUnknownRecipient,
// ErrSendOnly otherwise). A queue address with a plus part is accepted only
// when the part is the reply token of a session.
func (r *Router) CheckRecipient(addr string) error {
	return r.st.View(func(rd store.Reader) error {
		_, _, err := r.resolveRecipient(rd, addr)
		return err
	})
}

// maxTokenLen bounds the plus part looked up in the store.
const maxTokenLen = 64

// resolveRecipient returns the queue addr delivers to and, for a reply
// token address, its session.
func (r *Router) resolveRecipient(rd store.Reader, addr string) (queue, session string, err error) {
	queue, session, err = r.resolveAddress(rd, addr)
	if err == nil && isDisabled(r.config(), queue) {
		return "", "", disabledError(r.config().QueueByName(queue))
	}
	return queue, session, err
}

// resolveAddress is resolveRecipient before the queue switches.
func (r *Router) resolveAddress(rd store.Reader, addr string) (queue, session string, err error) {
	cfg := r.config()
	addr = config.Canonical(strings.TrimSpace(addr))
	if cfg.IsSendOnly(addr) {
		return "", "", ErrSendOnly
	}
	if q, ok := cfg.QueueByAddress(addr); ok {
		return q.Name, "", nil
	}
	if q, ok := cfg.PostmasterQueue(addr); ok {
		return q.Name, "", nil
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", "", ErrUnknownRecipient
	}
	base, token, ok := strings.Cut(addr[:at], "+")
	q, isQueue := cfg.QueueByAddress(base + addr[at:])
	if !ok || !(isQueue || cfg.IsLocalDomain(addr[at+1:])) || token == "" || len(token) > maxTokenLen {
		return "", "", ErrUnknownRecipient
	}
	id, err := rd.SessionByToken(token)
	if errors.Is(err, store.ErrNotFound) {
		// Same answer as for any unknown mailbox: a guesser learns nothing.
		return "", "", ErrUnknownRecipient
	}
	if err != nil {
		return "", "", err
	}
	if isQueue {
		return q.Name, id, nil
	}
	return r.removedQueueRecipient(rd, id)
}

// removedQueueRecipient accepts a reply token on an address that is no
// queue's (any more) when the token's session was in a queue since removed
// from the configuration: a customer in mid-conversation is never
// refused. The token is the secret; the queue is the session's now.
func (r *Router) removedQueueRecipient(rd store.Reader, id string) (queue, session string, err error) {
	cfg := r.config()
	s, _, err := sessionOrArchived(rd, id)
	if err != nil {
		return "", "", err
	}
	q := cfg.QueueByName(s.Queue)
	switch {
	case q == nil:
		q = cfg.Fallback() // closed in the removed queue: it continues in the fallback
	case s.RemovedQueue == "":
		return "", "", ErrUnknownRecipient // an ordinary session: only its queue's addresses
	}
	if q == nil {
		return "", "", ErrUnknownRecipient
	}
	return q.Name, id, nil
}

// inbound is what Deliver learns from a message's header before storing it.
type inbound struct {
	header    textproto.Header
	body      []byte // everything after the header
	messageID string
	refs      []string // In-Reply-To then References, newest last
	sender    string   // From address (else MAIL FROM), lower-case
	to, cc    []string // header recipients, lower-case
	// rcpts are the envelope recipients, named the To and Cc addresses
	// and hadCc whether there was a Cc field, as the sender wrote them
	// (lower-case): what rewriting the header keeps of to and cc does
	// not change them.
	rcpts, named []string
	hadCc        bool
	subject      string
	// ownID: the sender gave no Message-ID; messageID is ours.
	ownID bool

	// requestURI is Envelope.RequestURI.
	requestURI string
}

// Header limits: every size a sender controls has one.
const (
	maxRefs       = 50 // References looked up
	maxHeaderAddr = 100
)

func parseInbound(raw []byte, env Envelope, hostname string) inbound {
	src := bytes.NewReader(raw)
	br := bufio.NewReader(src)
	h, err := textproto.ReadHeader(br)
	in := inbound{requestURI: env.RequestURI}
	if err != nil {
		// A header that can't be parsed is kept whole as the body: the
		// agent sees what arrived rather than nothing.
		h, in.body = textproto.Header{}, raw
	} else {
		in.body = raw[len(raw)-src.Len()-br.Buffered():]
	}
	mh := mail.Header{Header: message.Header{Header: h}}
	if id, err := mh.MessageID(); err == nil && id != "" {
		in.messageID = id
	}
	if ids, err := mh.MsgIDList("In-Reply-To"); err == nil {
		in.refs = append(in.refs, ids...)
	}
	if ids, err := mh.MsgIDList("References"); err == nil {
		in.refs = append(in.refs, ids...)
	}
	if len(in.refs) > maxRefs {
		in.refs = in.refs[len(in.refs)-maxRefs:]
	}
	if from := addresses(mh, "From"); len(from) > 0 {
		in.sender = from[0]
	} else {
		in.sender = strings.ToLower(env.From)
	}
	in.to, in.cc = addresses(mh, "To"), addresses(mh, "Cc")
	in.named, in.hadCc = append(slices.Clone(in.to), in.cc...), h.Has("Cc")
	for _, rcpt := range env.To {
		in.rcpts = append(in.rcpts, config.Canonical(rcpt))
	}
	if s, err := mh.Subject(); err == nil {
		in.subject = s
	}
	if in.messageID == "" {
		in.ownID = true
		in.messageID = newToken(16) + "@" + hostname
		h.Set("Message-Id", "<"+in.messageID+">")
	}
	in.header = h
	return in
}

// addresses returns the lower-case addresses of a header field, at most
// maxHeaderAddr of them.
func addresses(mh mail.Header, field string) []string {
	list, err := mh.AddressList(field)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range list {
		if len(out) == maxHeaderAddr {
			break
		}
		out = append(out, config.Canonical(a.Address))
	}
	return out
}

// stamp returns the message as stored: the sender's X-Mxdesk-* headers
// removed (they are ours, and forged ones could mislead an agent), ours
// added on top.
func (in *inbound) stamp(s store.Session, cfgQueue *config.Queue) []byte {
	h := in.header.Copy()
	var ours []string
	for f := h.Fields(); f.Next(); {
		if strings.HasPrefix(strings.ToLower(f.Key()), "x-mxdesk-") {
			ours = append(ours, f.Key())
		}
	}
	for _, k := range ours {
		h.Del(k)
	}
	if s.Previous != "" {
		h.Add("X-Mxdesk-Previous-Session", s.Previous)
	}
	h.Add("X-Mxdesk-Queue", s.Queue)
	if q := cfgQueue; q != nil {
		// Where agents send internal notes (only over submission: the
		// MX refuses this address).
		h.Add("X-Mxdesk-Note-Address", tokenAddress(q, s.Token, notePrefix))
	}
	h.Add("X-Mxdesk-Session", s.ID)
	if in.requestURI != "" { // as written: Add would spell it X-Mxdesk-Request-Uri
		h.AddRaw([]byte(RequestURIHeader + ": " + in.requestURI + "\r\n"))
	}
	var buf bytes.Buffer
	buf.Grow(len(in.body) + 1024)
	if err := textproto.WriteHeader(&buf, h); err != nil {
		// Only a broken writer fails; a bytes.Buffer never does.
		panic(err)
	}
	buf.Write(in.body)
	return buf.Bytes()
}

// Deliver threads raw into a session (SPEC §3), stamps it (X-Mxdesk-*
// headers, a Message-ID when it has none) and commits it durably, with the
// session and its events, to the session's home folder and its queue's
// archive. When it returns nil the message is on disk. An imported
// delivery status notification about a message mxdesk sent is filed as
// that message's bounce instead (importedBounce).
func (r *Router) Deliver(ctx context.Context, env Envelope, raw []byte) (Delivered, error) {
	if len(env.To) == 0 {
		return Delivered{}, errorf(KindInvalid, "no recipients")
	}
	release, err := r.reserveSpace(len(raw))
	if err != nil {
		return Delivered{}, err
	}
	defer release()
	content, err := r.inspect(ctx, raw)
	if err != nil {
		return Delivered{}, err
	}
	in := parseInbound(content.Clean, env, r.config().Hostname)
	for _, rm := range content.Removed {
		env.infected = env.infected || rm.Virus != ""
	}
	dsn, isDSN := dsnReport{}, false
	if env.Imported && len(content.Removed) == 0 {
		dsn, isDSN = parseDSN(content.Clean)
	}
	var d Delivered
	var ar autoReplyOutcome
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		d, ar = Delivered{}, autoReplyOutcome{}
		if known, err := r.importedBefore(tx, env, in); known || err != nil {
			d.MessageID, d.Known = in.messageID, known
			return errors.Join(err, runInTx(tx, env))
		}
		if err := runInTx(tx, env); err != nil {
			return err
		}
		if isDSN {
			if b, bounced, err := r.importedBounce(tx, dsn, content.Clean); bounced || err != nil {
				d = b
				return err
			}
		}
		queue, token, err := r.recipientQueue(tx, env.To, in)
		if err != nil {
			return err
		}
		var s store.Session
		var how string
		if env.Spam && !takesNewMail(r.config(), queue) {
			return noNewMailError(queue) // spam starts a session: none here
		}
		if env.Spam {
			s, err = r.newSession(tx, in, queue, "")
			s.Spam, how = true, "failed DMARC: spam"
			if err == nil {
				err = r.setStatus(tx, &s, StatusResolved, "system", "failed DMARC (p=quarantine)")
			}
		} else {
			s, how, err = r.thread(tx, in, queue, token)
		}
		if err != nil {
			return err
		}
		if d, ar, err = r.file(tx, env, in, s, how); err != nil || len(content.Removed) == 0 {
			return err
		}
		return r.quarantine(tx, env, raw, d.Session, content.Removed)
	})
	if err != nil {
		return Delivered{}, err
	}
	if ar.happened() && r.onAutoReply != nil {
		r.onAutoReply(ar.queue, ar.sent, ar.reason)
	}
	return d, nil
}

// importedBefore tells whether an imported message's Message-ID is
// already in the store (an earlier import, a copy that came by the MX, or
// a reply mxdesk sent): upstream mailboxes hold copies of what mxdesk has.
func (r *Router) importedBefore(rd store.Reader, env Envelope, in inbound) (bool, error) {
	if !env.Imported || in.ownID {
		return false, nil
	}
	_, err := rd.SessionByMessageID(in.messageID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// runInTx runs the caller's part of the delivery transaction.
func runInTx(tx store.Tx, env Envelope) error {
	if env.InTx == nil {
		return nil
	}
	return env.InTx(tx)
}

// recipientQueue picks the queue of a message and the session of the
// first reply token among its recipients. One message makes one session,
// however many queues it names: the first queue address in To wins, then
// Cc, then the envelope order (Bcc).
func (r *Router) recipientQueue(rd store.Reader, rcpts []string, in inbound) (queue, tokenSession string, err error) {
	queues := map[string]string{} // address -> queue
	var envOrder []string
	var disabled error // a recipient's queue was disabled since its RCPT
	for _, rcpt := range rcpts {
		q, id, err := r.resolveRecipient(rd, rcpt)
		if errors.Is(err, ErrQueueDisabled) && disabled == nil {
			disabled = err
		}
		if KindOf(err) != 0 {
			continue // refused at RCPT, or the token's session is gone
		}
		if err != nil {
			return "", "", err
		}
		if id != "" && tokenSession == "" {
			tokenSession = id
		}
		queues[config.Canonical(rcpt)] = q
		envOrder = append(envOrder, q)
	}
	if len(envOrder) == 0 {
		return "", "", cmp.Or(disabled, ErrUnknownRecipient)
	}
	var order []string // To, then Cc, then the envelope
	for _, a := range append(slices.Clone(in.to), in.cc...) {
		if q, ok := queues[a]; ok {
			order = append(order, q)
		}
	}
	order = append(order, envOrder...)
	return r.firstTakingNewMail(order), tokenSession, nil
}

// firstTakingNewMail is the first of queues (never empty) that takes new
// mail (receive = true), else the first: a message to a receiving and a
// replies-only queue starts its session in the receiving one.
func (r *Router) firstTakingNewMail(queues []string) string {
	for _, q := range queues {
		if takesNewMail(r.config(), q) {
			return q
		}
	}
	return queues[0]
}

// sessionTag finds [S-XXXXX] subject tags, of IDs drawn from either
// alphabet: sessions made before the change keep threading.
var sessionTag = regexp.MustCompile(`(?i)\[(S-[` + legacySessionAlphabet + `]{5,12})\]`)

// thread finds the session a message belongs to, in the order of SPEC §3:
// the reply token, a subject tag used by a participant, a Message-ID it
// references (or its own, for a second copy of the same message), else a
// new session. A closed session is reopened inside the reopen window and
// continued by a new session outside it.
// It also says how the session was found, for the event log.
func (r *Router) thread(tx store.Tx, in inbound, queue, tokenSession string) (store.Session, string, error) {
	found, how, err := r.match(tx, in, tokenSession)
	if err == nil && found.ID == "" && !takesNewMail(r.config(), queue) {
		return store.Session{}, "", noNewMailError(queue)
	}
	if err != nil || found.ID == "" {
		s, nerr := r.newSession(tx, in, queue, "")
		return s, "new session", errors.Join(err, nerr)
	}
	if how == howArchived {
		return r.continueArchived(tx, in, queue, found.ID)
	}
	if found.Status == StatusClosed {
		if !r.reopenable(found) {
			s, err := r.newSession(tx, in, queue, found.ID)
			if err != nil {
				return s, "", err
			}
			return s, "new session after " + found.ID + " closed", r.event(tx, found.ID, "continued", "customer",
				"a reply after the reopen window started session "+s.ID)
		}
	}
	return found, how, nil
}

// match finds the existing session of a message, and says how.
func (r *Router) match(tx store.Tx, in inbound, tokenSession string) (store.Session, string, error) {
	if tokenSession != "" {
		s, archived, err := sessionOrArchived(tx, tokenSession)
		if err == nil {
			return s, howOf(archived, "reply address"), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return s, "", err
		}
	}
	for _, m := range sessionTag.FindAllStringSubmatch(in.subject, 5) {
		id := strings.ToUpper(m[1])
		s, err := tx.Session(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return s, "", err
		}
		if slices.Contains(s.Participants, in.sender) {
			return s, "subject tag", nil
		}
		// Someone outside the conversation copied its tag: they don't
		// get in, and the session's history says they tried.
		if err := r.event(tx, id, "tag-refused", in.sender, "subject tag used by a non-participant; not threaded"); err != nil {
			return s, "", err
		}
	}
	refs := append(slices.Clone(in.refs), in.messageID)
	for i := len(refs) - 1; i >= 0; i-- {
		id, err := tx.SessionByMessageID(refs[i])
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Session{}, "", err
		}
		s, archived, err := sessionOrArchived(tx, id)
		if err == nil {
			return s, howOf(archived, "references"), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, "", err
		}
	}
	return store.Session{}, "", nil
}

// newSession opens a session in queue for in's sender, continuing previous
// when it is not empty. It is stored by file.
func (r *Router) newSession(tx store.Tx, in inbound, queue, previous string) (store.Session, error) {
	queue, spam, rule := r.route(in, queue)
	id, token, err := newSessionIdentity(tx)
	if err != nil {
		return store.Session{}, err
	}
	s := store.Session{
		// Any session tag in the subject is another session's (a
		// stranger's copy, or the closed session this continues): the
		// new session's replies must not carry it.
		ID: id, Queue: queue, Customer: in.sender, Subject: withoutSessionTags(in.subject),
		Created: r.now(), Token: token, Previous: previous,
		ServiceFrom: r.now(), // the customer started it: the service level counts it
	}
	detail := "new session in queue " + queue
	if previous != "" {
		detail += ", continuing " + previous
	}
	if rule != "" {
		detail += " by " + rule
	}
	if err := r.event(tx, id, "created", "system", detail); err != nil {
		return s, err
	}
	if spam {
		// Spam waits for supervisors in Queues/<queue>/Spam, resolved,
		// so that it closes by itself.
		s.Spam = true
		return s, r.setStatus(tx, &s, StatusResolved, "system", "spam by "+rule)
	}
	return s, r.setStatus(tx, &s, StatusUnopened, "system", "")
}

// route applies the [[route]] rules to a message that starts a session:
// the first that matches picks its queue (else the addressed queue stays)
// and may mark it spam. rule names the rule for the event log.
func (r *Router) route(in inbound, queue string) (string, bool, string) {
	cfg := r.config()
	for i := range cfg.Route {
		rt := &cfg.Route[i]
		if !rt.Match(in.sender, in.subject, in.header.Get) {
			continue
		}
		if rt.Queue != "" && !isDisabled(cfg, rt.Queue) {
			queue = rt.Queue // a disabled target: the addressed queue keeps it
		}
		return queue, rt.Spam, fmt.Sprintf("route[%d]", i)
	}
	return queue, false, ""
}

// maxParticipants bounds the addresses a session remembers.
const maxParticipants = 50

// file commits an inbound message to session s: the sender and the people
// in copy become participants, a paused or resolved session becomes active
// again, a closed one reopens, the message lands in the session's home
// and archive, and the queue's auto-reply answers it when it should.
func (r *Router) file(tx store.Tx, env Envelope, in inbound, s store.Session, how string) (Delivered, autoReplyOutcome, error) {
	d, old, s, err := r.fileInbound(tx, in, s, how)
	if err != nil {
		return d, autoReplyOutcome{}, err
	}
	ar, err := r.autoReply(tx, env, in, old, s)
	return d, ar, err
}

// fileInbound is file without the auto-reply. It returns the session as
// it was before (zero: new) and as it is now.
func (r *Router) fileInbound(tx store.Tx, in inbound, s store.Session, how string) (Delivered, store.Session, store.Session, error) {
	old, err := tx.Session(s.ID)
	if errors.Is(err, store.ErrNotFound) {
		old, err = store.Session{}, nil // a new session
	}
	if err != nil {
		return Delivered{}, old, s, err
	}
	for i, a := range append([]string{in.sender}, append(in.to, in.cc...)...) {
		if a != "" && !slices.Contains(s.Participants, a) && len(s.Participants) < maxParticipants && (i == 0 || !r.isOurs(a)) {
			s.Participants = append(s.Participants, a)
		}
	}
	switch {
	case old.ID == "":
		// A new session keeps the status it was created with (spam
		// is Resolved): this message is not a reply.
	case s.Status == StatusClosed:
		err = r.setStatus(tx, &s, StatusReopened, "customer", "reply within the reopen window")
	case s.Status == StatusPaused || s.Status == StatusResolved:
		s.Parked = false
		err = r.setStatus(tx, &s, StatusActive, "customer", "customer replied")
	}
	if err != nil {
		return Delivered{}, old, s, err
	}
	if s.Agent == "" {
		why := "new session"
		if old.ID != "" {
			why = "customer wrote to a waiting session"
		}
		if _, err := r.autoAssign(tx, &s, why); err != nil {
			return Delivered{}, old, s, err
		}
	}
	stored := in.stamp(s, r.config().QueueByName(s.Queue))
	blob, err := tx.PutBlob(stored)
	if err != nil {
		return Delivered{}, old, s, err
	}
	s.LastInbound, s.LastActivity = blob, r.now()
	s.LastInboundID, s.LastInboundAt = in.messageID, r.now()
	// Replies go to the people this message copied (SPEC §7), named as
	// the customer named them.
	s.Cc = r.copyList(in.header, "Cc")
	p, err := r.commit(tx, old, &s)
	if err != nil {
		return Delivered{}, old, s, err
	}
	archive, err := tx.MailboxByName("", archiveMailboxName(s.Queue))
	if err != nil {
		return Delivered{}, old, s, err
	}
	for _, mb := range []store.MailboxID{p.home.ID, archive.ID} {
		_, err := tx.AddMessage(store.Message{
			Mailbox: mb, Blob: blob, Size: int64(len(stored)), InternalDate: r.now(),
			Session: s.ID, Flags: withStatus(nil, s.Status),
		})
		if err != nil {
			return Delivered{}, old, s, err
		}
	}
	if err := tx.IndexMessageID(in.messageID, s.ID); err != nil {
		return Delivered{}, old, s, err
	}
	if err := r.campaignReplied(tx, s, in.subject); err != nil {
		return Delivered{}, old, s, err
	}
	d := Delivered{Session: s.ID, MessageID: in.messageID, Folder: p.home.Name, Queue: s.Queue}
	return d, old, s, r.event(tx, s.ID, "received", "customer", fmt.Sprintf("from %s (%s), filed in %s", in.sender, how, p.home.Name))
}

// isOurs reports whether addr is one of mxdesk's own addresses: a queue
// address, with or without a plus part, or a send-only address.
func (r *Router) isOurs(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	base, _, _ := strings.Cut(addr[:at], "+")
	_, isQueue := r.config().QueueByAddress(base + addr[at:])
	return isQueue || r.config().IsSendOnly(addr)
}

// sessionAlphabet is what agents read out and type: no look-alike pairs
// (0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V), so the digits and letters left are
// each unmistakable.
const sessionAlphabet = "34679ACDEFGHJKMNPQRTWXY"

// legacySessionAlphabet is the alphabet of IDs drawn before 2/Z, 5/S and
// 8/B were dropped. It holds sessionAlphabet, so matching by it finds
// old and new IDs alike.
const legacySessionAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"

// newSessionID draws "S-" plus 5 characters (23^5 ≈ 6.4 million), longer
// when the short space is crowded, never one that was used before.
func newSessionID(tx store.Tx) (string, error) {
	for attempt := 0; attempt < 20; attempt++ {
		id, err := drawSessionID(rand.Reader, 5+attempt/5)
		if err != nil {
			return "", err
		}
		if _, err := tx.Session(id); errors.Is(err, store.ErrNotFound) {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", errors.New("router: no free session ID")
}

// unbiasedBytes is the largest multiple of len(sessionAlphabet) a byte
// can hold: bytes from it up are drawn again, so that every character is
// equally likely (b % len alone would favour the first 256 % len).
const unbiasedBytes = 256 - 256%len(sessionAlphabet)

// drawSessionID draws "S-" plus n characters of sessionAlphabet from src.
func drawSessionID(src io.Reader, n int) (string, error) {
	id := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(id) < n {
		want := buf[:n-len(id)]
		if _, err := io.ReadFull(src, want); err != nil {
			return "", err
		}
		for _, b := range want {
			if int(b) < unbiasedBytes {
				id = append(id, sessionAlphabet[int(b)%len(sessionAlphabet)])
			}
		}
	}
	return "S-" + string(id), nil
}

// newSessionIdentity draws a new session's ID and reply token.
func newSessionIdentity(tx store.Tx) (id, token string, err error) {
	if id, err = newSessionID(tx); err == nil {
		token, err = newReplyToken(tx)
	}
	return id, token, err
}

// newReplyToken draws a session's reply token: 64 random bits, unrelated
// to the session ID, so nobody can guess one from a subject tag.
func newReplyToken(tx store.Tx) (string, error) {
	for {
		t := newToken(8)
		if _, err := tx.SessionByToken(t); errors.Is(err, store.ErrNotFound) {
			return t, nil
		} else if err != nil {
			return "", err
		}
	}
}

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newToken returns n random bytes as lower-case base32.
func newToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(tokenEncoding.EncodeToString(b))
}
