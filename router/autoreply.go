package router

import (
	"bytes"
	"fmt"
	"html"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/store"
)

// Auto-reply triggers (SPEC §8).
const (
	triggerNew    = "new session"
	triggerReopen = "reopened"
	triggerPaused = "reply to a paused session"
	triggerIdle   = "reply to an idle session"
)

// Reasons an auto-reply is not sent, as recorded in auto-reply-skipped
// events and passed to Options.OnAutoReply.
const (
	SkipTriggerOff    = "trigger off"
	SkipAutoSubmitted = "auto-submitted"
	SkipPrecedence    = "precedence"
	SkipList          = "list"
	SkipNullSender    = "null sender"
	SkipDaemon        = "daemon"
	SkipOurs          = "ours"
	SkipDMARC         = "dmarc"
	SkipSpam          = "spam"
	SkipVirus         = "virus"
	SkipInterval      = "interval"
	SkipDailyCap      = "daily cap"
	SkipBounced       = "bounced"
)

// autoReplyOutcome is what happened about an auto-reply for one inbound
// message: nothing (no trigger), sent, or skipped for a reason.
type autoReplyOutcome struct {
	queue  string
	sent   bool
	reason string // why not, when skipped
}

func (o autoReplyOutcome) happened() bool { return o.sent || o.reason != "" }

// autoReplyTrigger says whether a customer message to session s, which was
// old before it (zero: s is new), calls for an auto-reply, and which
// trigger it is ("" for none).
func (r *Router) autoReplyTrigger(old, s store.Session, q *config.Queue) (trigger string, on bool) {
	a := q.AutoReply
	switch {
	case old.ID == "":
		return triggerNew, a.OnNew
	case old.Status == StatusClosed && s.Status == StatusReopened:
		return triggerReopen, a.OnReopen
	case old.Status == StatusPaused:
		return triggerPaused, a.OnPaused
	case old.Status == StatusActive && !old.LastActivity.IsZero() && r.now().Sub(old.LastActivity) >= config.Days(a.IdleDays):
		return triggerIdle, a.OnIdle
	}
	return "", false
}

// autoReply answers an inbound message in session s (just filed; it was
// old before) when its queue wants to and no loop guard objects: the
// answer is filed in the session and queued for delivery in tx, with the
// guards' ledger. Every decision is an event of the session.
func (r *Router) autoReply(tx store.Tx, env Envelope, in inbound, old, s store.Session) (autoReplyOutcome, error) {
	q := r.config().QueueByName(s.Queue)
	if q == nil || !q.AutoReply.Enabled {
		return autoReplyOutcome{}, nil
	}
	out := autoReplyOutcome{queue: q.Name}
	trigger, on := r.autoReplyTrigger(old, s, q)
	switch {
	case trigger == "":
		return autoReplyOutcome{}, nil
	case !on:
		out.reason = SkipTriggerOff
	case s.Spam || env.Spam:
		out.reason = SkipSpam
	case env.infected:
		out.reason = SkipVirus
	default:
		out.reason = r.loopGuard(env, in)
	}
	if out.reason != "" {
		return out, r.event(tx, s.ID, "auto-reply-skipped", "system", out.reason+" ("+trigger+")")
	}
	am, err := tx.AutoMail(in.sender)
	if err != nil {
		return out, err
	}
	if out.reason = r.ledgerGuard(am, q); out.reason != "" {
		return out, r.event(tx, s.ID, "auto-reply-skipped", "system", out.reason+" ("+trigger+")")
	}
	raw := r.composeAutoReply(in, q, s)
	cur := s
	blob, err := r.fileInSession(tx, cur, &s, raw, []string{`\Seen`})
	if err != nil {
		return out, err
	}
	_, err = tx.Enqueue(store.Outbound{
		Session: s.ID, Queue: s.Queue, Blob: blob, From: autoReplySender(r.config(), q), To: []string{in.sender},
		Created: r.now(), NextAttempt: r.now(),
	})
	if err != nil {
		return out, err
	}
	if err := r.recordAutoMail(tx, am, q); err != nil {
		return out, err
	}
	out.sent = true
	return out, r.event(tx, s.ID, "auto-replied", "system", "to "+in.sender+" ("+trigger+")")
}

// loopGuard returns why in must not get an automatic answer (RFC 3834
// section 2 and mxdesk's own rules), or "".
func (r *Router) loopGuard(env Envelope, in inbound) string {
	h := in.header
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" {
		if v, _, _ = strings.Cut(v, ";"); strings.TrimSpace(v) != "no" {
			return SkipAutoSubmitted
		}
	}
	// Microsoft's and older responders' own marks.
	if h.Has("X-Autoreply") || h.Has("X-Autorespond") || h.Has("X-Auto-Response-Suppress") && autoResponseSuppressed(h.Get("X-Auto-Response-Suppress")) {
		return SkipAutoSubmitted
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "list", "junk":
		return SkipPrecedence
	}
	for f := h.Fields(); f.Next(); {
		if strings.HasPrefix(strings.ToLower(f.Key()), "list-") {
			return SkipList
		}
	}
	if strings.TrimSpace(env.From) == "" {
		return SkipNullSender
	}
	for _, a := range []string{strings.ToLower(env.From), in.sender} {
		if isDaemon(a) {
			return SkipDaemon
		}
		if r.isOurs(a) || r.isLocal(a) {
			return SkipOurs
		}
	}
	if env.DMARCFail {
		return SkipDMARC
	}
	return ""
}

// autoResponseSuppressed reads X-Auto-Response-Suppress (Microsoft): All,
// AutoReply or OOF ask for no automatic answer.
func autoResponseSuppressed(v string) bool {
	for _, x := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "all", "autoreply", "oof":
			return true
		}
	}
	return false
}

// isLocal reports whether addr is in one of mxdesk's domains (agents,
// queues, send-only addresses): mxdesk never answers itself.
func (r *Router) isLocal(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at >= 0 && r.config().IsLocalDomain(addr[at+1:])
}

// isDaemon reports whether addr looks like a mail system's or a list's
// own address (RFC 3834 section 2: MAILER-DAEMON, LISTSERV, owner-,
// -request) or a no-reply sender.
func isDaemon(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	local := strings.ToLower(addr)
	if at >= 0 {
		local = local[:at]
	}
	local, _, _ = strings.Cut(local, "+")
	squashed := strings.NewReplacer("-", "", "_", "", ".", "").Replace(local)
	switch squashed {
	case "mailerdaemon", "postmaster", "noreply", "donotreply", "dontreply", "listserv", "majordomo", "mailer", "bounce", "bounces":
		return true
	}
	return strings.HasPrefix(squashed, "noreply") || strings.HasPrefix(squashed, "donotreply") ||
		strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-request") || strings.HasPrefix(local, "bounce")
}

// ledgerGuard applies the durable limits of automatic mail to one
// address: the bounce pause, the queue's interval, the daily cap.
func (r *Router) ledgerGuard(am store.AutoMail, q *config.Queue) string {
	now, lim := r.now(), r.config().Limits
	if now.Before(am.SuppressedUntil) {
		return SkipBounced
	}
	if last, ok := am.LastReply[q.Name]; ok && now.Sub(last) < q.AutoReply.MinInterval.Duration {
		return SkipInterval
	}
	if lim.AutoMailPerAddressPerDay > 0 && am.Day == r.autoMailDay() && am.Count >= lim.AutoMailPerAddressPerDay {
		return SkipDailyCap
	}
	return ""
}

// autoMailDay is today in the top-level time zone, for the daily cap.
func (r *Router) autoMailDay() string { return r.now().In(r.config().Location()).Format(time.DateOnly) }

// recordAutoMail notes one more automatic message to am's address, from
// queue q, and forgets what no limit needs any more.
func (r *Router) recordAutoMail(tx store.Tx, am store.AutoMail, q *config.Queue) error {
	now := r.now()
	if am.LastReply == nil {
		am.LastReply = map[string]time.Time{}
	}
	am.LastReply[q.Name] = now
	if day := r.autoMailDay(); am.Day != day {
		am.Day, am.Count = day, 0
	}
	am.Count++
	return r.putAutoMail(tx, am)
}

// putAutoMail stores am for as long as one of its limits lasts: the
// longest queue interval, the bounce pause, two days for the daily count.
func (r *Router) putAutoMail(tx store.Tx, am store.AutoMail) error {
	now := r.now()
	keep := 48 * time.Hour
	for name, t := range am.LastReply {
		q := r.config().QueueByName(name)
		if q == nil || now.Sub(t) >= q.AutoReply.MinInterval.Duration {
			delete(am.LastReply, name)
			continue
		}
		keep = max(keep, t.Add(q.AutoReply.MinInterval.Duration).Sub(now))
	}
	keep = max(keep, am.SuppressedUntil.Sub(now))
	return tx.PutAutoMail(am, keep+time.Hour)
}

// suppressAutoMail pauses automatic mail to addrs after a permanent
// bounce ([limits] auto_mail_bounce_pause).
func (r *Router) suppressAutoMail(tx store.Tx, addrs []string) error {
	pause := r.config().Limits.AutoMailBouncePause.Duration
	if pause <= 0 {
		return nil
	}
	for _, a := range addrs {
		am, err := tx.AutoMail(strings.ToLower(a))
		if err != nil {
			return err
		}
		am.SuppressedUntil = r.now().Add(pause)
		if err := r.putAutoMail(tx, am); err != nil {
			return err
		}
	}
	return nil
}

// autoReplyDateFormat is how @{date} and @{next_working_date} read.
const autoReplyDateFormat = "Monday 2 January 2006"

// autoReplyTags are the values of an auto-reply's tags for session s.
func (r *Router) autoReplyTags(in inbound, q *config.Queue, s store.Session) map[string]string {
	cfg := r.config()
	now := r.now()
	loc := q.Hours.Location()
	next := now
	if t, ok := q.Hours.NextOpen(now); ok {
		next = t
	}
	agent := ""
	if a, ok := cfg.AgentByLogin(s.Agent); ok && s.Agent != "" {
		agent = firstName(a.Name, a.Login)
	}
	return map[string]string{
		"consumer":          firstName(displayName(in), in.sender),
		"agent":             agent,
		"date":              now.In(loc).Format(autoReplyDateFormat),
		"time":              now.In(loc).Format("15:04"),
		"queue":             q.Name,
		"company":           cfg.Company,
		"next_working_date": next.In(loc).Format(autoReplyDateFormat),
		"ticket_id":         ticketID(s),
	}
}

// displayName returns the decoded display name of in's From, or "".
func displayName(in inbound) string {
	mh := mailHeader(in.header)
	list, err := mh.AddressList("From")
	if err != nil || len(list) == 0 {
		return ""
	}
	return list[0].Name
}

func mailHeader(h textproto.Header) gomail.Header {
	return gomail.Header{Header: message.Header{Header: h}}
}

// maxFirstName bounds a name taken from a header.
const maxFirstName = 64

// firstName is a person's first name for a greeting: the first word of
// their display name ("Rossi, Carla" gives Carla), else the local part of
// their address. Control characters and quotes are dropped.
func firstName(name, addr string) string {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == '<' || r == '>' || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name))
	if last, first, ok := strings.Cut(name, ","); ok && strings.TrimSpace(first) != "" && !strings.Contains(last, "@") {
		name = strings.TrimSpace(first)
	}
	if f := strings.Fields(name); len(f) > 0 && !strings.Contains(f[0], "@") {
		return truncate(f[0], maxFirstName)
	}
	local := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local = addr[:at]
	}
	local, _, _ = strings.Cut(local, "+")
	return truncate(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, local), maxFirstName)
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// autoReplySender is the From and MAIL FROM of q's auto-replies: the
// configured sender, or the account's address when the account's SMTP
// sends them (it accepts no other).
func autoReplySender(cfg *config.Config, q *config.Queue) string {
	if a := sendingAccount(cfg, q); a != nil {
		return a.Address
	}
	return q.AutoReply.From
}

// composeAutoReply builds the auto-reply to in for session s of queue q
// (SPEC §8): From the configured sender, Reply-To the session's reply
// address, Subject "RE: " and the original, threaded to in, marked
// Auto-Submitted: auto-replied (RFC 3834), with the text and HTML bodies,
// inline images and attachments of the configuration.
func (r *Router) composeAutoReply(in inbound, q *config.Queue, s store.Session) []byte {
	cfg := r.config()
	a := q.AutoReply
	tags := r.autoReplyTags(in, q, s)
	var h message.Header
	name := expandTags(a.FromName, map[string]string{"queue": q.Name, "company": cfg.Company})
	h.Set("From", (&mail.Address{Name: name, Address: autoReplySender(cfg, q)}).String())
	h.Set("To", (&mail.Address{Address: in.sender}).String())
	if sendingAccount(cfg, q) == nil {
		// An account's mailbox gets the answer itself (rewriteReply).
		h.Set("Reply-To", tokenAddress(q, s.Token, ""))
	}
	h.Set("Subject", mime.QEncoding.Encode("utf-8", "RE: "+in.subject))
	h.Set("Date", r.now().Format(time.RFC1123Z))
	h.Set("Message-Id", "<"+newToken(16)+"@"+cfg.Hostname+">")
	h.Set("In-Reply-To", "<"+in.messageID+">")
	h.Set("References", strings.Join(append(references(in), "<"+in.messageID+">"), " "))
	h.Set("Auto-Submitted", "auto-replied")
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set("Mime-Version", "1.0")
	stampOurs(&h.Header, s.ID)
	h.Set("X-Mxdesk-Auto-Reply", q.Name)

	var body []mimeNode
	if strings.TrimSpace(a.Body) != "" {
		body = append(body, textNode("text/plain", expandTags(a.Body, tags)))
	}
	if strings.TrimSpace(a.BodyHTML) != "" {
		esc := map[string]string{}
		for k, v := range tags {
			esc[k] = html.EscapeString(v)
		}
		body = append(body, textNode("text/html", expandTags(a.BodyHTML, esc)))
	}
	root := body[0]
	if len(body) > 1 {
		root = multipartNode("alternative", body...)
	}
	var inline, attached []mimeNode
	for _, f := range a.Files() {
		if f.Inline {
			inline = append(inline, fileNode(f))
		} else {
			attached = append(attached, fileNode(f))
		}
	}
	if len(inline) > 0 {
		root = multipartNode("related", append([]mimeNode{root}, inline...)...)
	}
	if len(attached) > 0 {
		root = multipartNode("mixed", append([]mimeNode{root}, attached...)...)
	}
	var buf bytes.Buffer
	err := root.write(func(nh message.Header) (*message.Writer, error) {
		for f := nh.Fields(); f.Next(); {
			h.Set(f.Key(), f.Value())
		}
		return message.CreateWriter(&buf, h)
	})
	if err != nil {
		panic(fmt.Sprintf("router: compose auto-reply: %v", err)) // a bytes.Buffer does not fail
	}
	return buf.Bytes()
}

// references is the References of a reply to in: in's own, oldest first,
// at most maxRefs of them.
func references(in inbound) []string {
	h := mailHeader(in.header)
	ids, _ := h.MsgIDList("References")
	if len(ids) == 0 {
		ids, _ = h.MsgIDList("In-Reply-To")
	}
	if len(ids) > maxRefs {
		ids = ids[len(ids)-maxRefs:]
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "<" + id + ">"
	}
	return out
}

// mimeNode is one part of a message being built.
type mimeNode struct {
	h    message.Header
	body []byte
	kids []mimeNode
}

func textNode(mt, text string) mimeNode {
	var h message.Header
	h.SetContentType(mt, map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return mimeNode{h: h, body: []byte(strings.ReplaceAll(text, "\r\n", "\n"))}
}

func multipartNode(sub string, kids ...mimeNode) mimeNode {
	var h message.Header
	h.SetContentType("multipart/"+sub, nil)
	return mimeNode{h: h, kids: kids}
}

func fileNode(f config.AutoReplyFile) mimeNode {
	var h message.Header
	h.SetContentType(f.ContentType, map[string]string{"name": f.Name})
	h.Set("Content-Transfer-Encoding", "base64")
	disp := "attachment"
	if f.Inline {
		disp = "inline"
		h.Set("Content-Id", "<"+f.Name+">")
	}
	h.SetContentDisposition(disp, map[string]string{"filename": f.Name})
	return mimeNode{h: h, body: f.Data}
}

// write writes the node through a writer made by create (the message's,
// or the parent multipart's CreatePart).
func (n mimeNode) write(create func(message.Header) (*message.Writer, error)) error {
	w, err := create(n.h)
	if err != nil {
		return err
	}
	for _, k := range n.kids {
		if err := k.write(w.CreatePart); err != nil {
			return err
		}
	}
	if len(n.kids) == 0 {
		if _, err := w.Write(n.body); err != nil {
			return err
		}
	}
	return w.Close()
}
