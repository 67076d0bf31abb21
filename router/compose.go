package router

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/store"
)

// expandTags fills @{name} tags from vals.
func expandTags(text string, vals map[string]string) string {
	var pairs []string
	for k, v := range vals {
		pairs = append(pairs, "@{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

func (a *Agent) displayName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Login
}

// rewriteReply turns an agent's message into what the customer gets
// (SPEC §7): From the queue with the configured name, Reply-To the
// session's reply address, the Cc and Bcc the session remembers when the
// agent set none (what the agent sets replaces them: applyCopies), no Bcc
// header, the session's subject and tag when the queue wants them
// (replySubject), threading headers, the signature, and the attachment
// limits. A forward to a third party goes where the agent sent it, with
// the subject typed, and neither the session's copies nor threading to the
// customer's message. It returns the message and every recipient to
// deliver to.
func (r *Router) rewriteReply(a *Agent, in inbound, q *config.Queue, s *store.Session, external []string, forward bool) ([]byte, []string, error) {
	cfg := r.config()
	h := in.header.Copy()
	h.Del("Bcc")
	// The submission hop's Received line names the agent's own IP
	// address: customers don't get it (the log keeps it).
	h.Del("Received")
	rcpts := slices.Clone(external)
	subject := in.subject
	if !forward {
		rcpts = r.applyCopies(&h, in, s, rcpts)
		subject = replySubject(q, *s, in.subject)
	}
	name := expandTags(q.FromName, map[string]string{"agent": a.displayName(), "queue": q.Name, "company": cfg.Company})
	h.Set("From", (&mail.Address{Name: name, Address: q.Addresses[0]}).String())
	h.Set("Reply-To", tokenAddress(q, s.Token, ""))
	if acct := sendingAccount(cfg, q); acct != nil {
		// The upstream server sends it, From its own mailbox; the answer
		// comes back to that mailbox and threads by References, not by a
		// reply token that mxdesk's MX may never receive.
		h.Set("From", (&mail.Address{Name: name, Address: acct.Address}).String())
		h.Del("Reply-To")
	}
	h.Del("Sender")
	h.Set("Subject", mime.QEncoding.Encode("utf-8", subject))
	if !h.Has("In-Reply-To") && s.LastInboundID != "" && !forward {
		h.Set("In-Reply-To", "<"+s.LastInboundID+">")
		h.Set("References", strings.TrimSpace(h.Get("References")+" <"+s.LastInboundID+">"))
	}
	if !h.Has("Date") {
		h.Set("Date", r.now().Format(time.RFC1123Z))
	}
	stampOurs(&h, s.ID)
	if s.Previous != "" {
		h.Add("X-Mxdesk-Previous-Session", s.Previous)
	}
	sig := ""
	if q.Signature != "" {
		sig = expandTags(q.Signature, map[string]string{"agent": a.displayName(), "company": cfg.Company, "alias": a.Login})
	}
	rw := bodyRewrite{sigText: sig, maxCount: cfg.Policy.MaxAttachments, maxBytes: cfg.Policy.MaxAttachmentBytes}
	if !forward {
		rw.ratingText, rw.ratingHTML = r.ratingBlock(q, s.ID)
	}
	nh, body, err := rw.rewrite(h, in.body)
	if err != nil {
		return nil, nil, err
	}
	return assemble(nh, body), rcpts, nil
}

// stampOurs replaces any X-Mxdesk-* header by ours.
func stampOurs(h *textproto.Header, session string) {
	var keys []string
	for f := h.Fields(); f.Next(); {
		if strings.HasPrefix(strings.ToLower(f.Key()), "x-mxdesk-") {
			keys = append(keys, f.Key())
		}
	}
	for _, k := range keys {
		h.Del(k)
	}
	h.Add("X-Mxdesk-Session", session)
}

func assemble(h textproto.Header, body []byte) []byte {
	var buf bytes.Buffer
	if err := textproto.WriteHeader(&buf, h); err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	buf.Write(body)
	return buf.Bytes()
}

// internalMessage marks an agent's message as internal to the desk (a
// note, or the comment of a transfer): subject prefix, X-Mxdesk-Internal,
// threaded to the session's latest customer message when it has no
// references of its own, no Bcc.
func internalMessage(in inbound, s store.Session, kind string) []byte {
	h := in.header.Copy()
	h.Del("Bcc")
	subject := in.subject
	if !strings.HasPrefix(subject, "[Internal] ") {
		subject = "[Internal] " + subject
	}
	h.Set("Subject", mime.QEncoding.Encode("utf-8", subject))
	if !h.Has("In-Reply-To") && s.LastInboundID != "" {
		h.Set("In-Reply-To", "<"+s.LastInboundID+">")
		h.Set("References", "<"+s.LastInboundID+">")
	}
	stampOurs(&h, s.ID)
	h.Add("X-Mxdesk-Internal", kind)
	return assemble(h, in.body)
}

// note files an agent's message as an internal note of session s.
func (r *Router) note(tx store.Tx, a *Agent, in inbound, s store.Session, kind, detail string) (Submitted, error) {
	old := s
	var flags []string
	if s.Agent == a.Login {
		flags = []string{`\Seen`} // the author's own note
	}
	s.LastActivity = r.now()
	if _, err := r.fileInSession(tx, old, &s, internalMessage(in, s, kind), flags); err != nil {
		return Submitted{}, err
	}
	return Submitted{Session: s.ID, MessageID: in.messageID, Action: kind}, r.event(tx, s.ID, kind, a.Login, detail)
}

// transferByForward handles a session's message forwarded to a queue's or
// an agent's address: the session moves there and the forward's text
// becomes an internal note for the next agent. Nothing reaches the
// customer.
func (r *Router) transferByForward(tx store.Tx, a *Agent, in inbound, sub submission) (Submitted, error) {
	s, err := openSession(tx, sub.session.ID)
	if err != nil {
		return Submitted{}, err
	}
	old := s
	personDecides(&s)
	if sub.toQueue != "" {
		err = r.toQueue(tx, a, old, &s, sub.toQueue, " by forward")
	} else if err = r.mayTransferToAgent(a, s); err == nil {
		err = r.handTo(tx, a, &s, sub.toAgent, "transferred", "to "+sub.toAgent+" by forward")
	}
	if err != nil {
		return Submitted{}, err
	}
	s.LastActivity = r.now()
	if _, err := r.fileInSession(tx, old, &s, internalMessage(in, s, "transfer"), nil); err != nil {
		return Submitted{}, err
	}
	return Submitted{Session: s.ID, MessageID: in.messageID, Action: "transfer"}, nil
}

// maxQuote bounds how much of the customer's newer message a stale-reply
// notice quotes.
const maxQuote = 4000

// staleNotice is the message that tells an agent their reply was sent
// although it answers an older message than the customer's latest
// (stale_reply = "warn"), threaded into the session. A held reply gets
// no notice: the agent's client shows the refusal (heldText).
func (r *Router) staleNotice(rd store.Reader, a *Agent, in inbound, s store.Session) []byte {
	cfg := r.config()
	var b strings.Builder
	subject := "Sent, but the customer wrote again"
	fmt.Fprintf(&b, "Your reply %q was sent, but the customer wrote again after the message you answered.\r\n", in.subject)
	fmt.Fprintf(&b, "\r\n---- newer message, received %s ----\r\n", s.LastInboundAt.In(cfg.Location()).Format("2006-01-02 15:04"))
	if raw, err := rd.Blob(s.LastInbound); err == nil {
		b.WriteString(quoteText(raw))
	}
	return r.noticeMessage(s, a.Login, subject, b.String())
}

// noticeMessage is a notice from mxdesk itself to the people working
// session s (X-Mxdesk-Internal: notice), threaded to its latest customer
// message: subject "[Internal] <subject> [S-XXXXX]", body plain text.
func (r *Router) noticeMessage(s store.Session, to, subject, body string) []byte {
	cfg := r.config()
	var h textproto.Header
	h.Set("Content-Transfer-Encoding", "8bit")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Mime-Version", "1.0")
	h.Set("X-Mxdesk-Internal", "notice")
	h.Set("X-Mxdesk-Session", s.ID)
	if s.LastInboundID != "" {
		h.Set("References", "<"+s.LastInboundID+">")
		h.Set("In-Reply-To", "<"+s.LastInboundID+">")
	}
	h.Set("Message-Id", "<"+newToken(16)+"@"+cfg.Hostname+">")
	h.Set("Date", r.now().Format(time.RFC1123Z))
	h.Set("To", to)
	h.Set("From", (&mail.Address{Name: "mxdesk", Address: "mxdesk@" + cfg.Hostname}).String())
	h.Set("Subject", mime.QEncoding.Encode("utf-8", "[Internal] "+subject+" ["+s.ID+"]"))
	return assemble(h, []byte(body))
}

// quoteText returns From, Subject and the start of the first text/plain
// part of a message, for a notice.
func quoteText(raw []byte) string {
	e, _ := message.Read(bytes.NewReader(raw)) // unknown charsets still give an entity
	if e == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nSubject: %s\r\n\r\n", e.Header.Get("From"), e.Header.Get("Subject"))
	var text string
	e.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil || text != "" {
			return nil
		}
		if mt, _, _ := part.Header.ContentType(); mt == "text/plain" || mt == "" {
			data, _ := io.ReadAll(io.LimitReader(part.Body, maxQuote+1)) // decoded to UTF-8
			text = string(data)
		}
		return nil
	})
	if len(text) > maxQuote {
		text = strings.ToValidUTF8(text[:maxQuote], "") + "\r\n[...]"
	}
	b.WriteString(text)
	return b.String()
}

// Bounce files dsn, a delivery status notification about ob built by the
// delivery worker, into ob's session for its agent (threaded, unread),
// records which recipients failed and why, and takes them off the queued
// message, all in one transaction: a bounce is never lost nor its
// recipients retried once it is filed. A closed session reopens: the
// agent has something to act on. queued says whether the message still
// has recipients to deliver.
//
// Every failed recipient gets no automatic mail for [limits]
// auto_mail_bounce_pause. The bounce of automatic mail (an auto-reply,
// ob.Agent "") is not filed: nobody wrote it, and nobody is to answer it;
// the session records it as an event.
func (r *Router) Bounce(ctx context.Context, ob store.Outbound, dsn []byte, failed []string, reason string) (queued bool, err error) {
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		if ob.Agent == "" {
			campaign, err := r.campaignBounced(tx, ob, failed, reason)
			if err != nil {
				return err
			}
			if campaign {
				if err := r.suppressAutoMail(tx, failed); err != nil {
					return err
				}
				queued, err = recordOutbound(tx, ob.ID, OutboundProgress{Done: failed})
				return err
			}
		}
		if err := r.bounceInSession(tx, ob.Session, ob.Agent == "", dsn, failed, reason); err != nil {
			return err
		}
		queued, err = recordOutbound(tx, ob.ID, OutboundProgress{Done: failed})
		return err
	})
	return queued, err
}

// bounceInSession is Bounce's filing in session, inside tx: automatic
// says the message that failed was automatic mail (an auto-reply).
func (r *Router) bounceInSession(tx store.Tx, session string, automatic bool, dsn []byte, failed []string, reason string) error {
	s, err := tx.Session(session)
	if err != nil {
		return fmt.Errorf("router: bounce for session %s: %w", session, err)
	}
	if err := r.suppressAutoMail(tx, failed); err != nil {
		return err
	}
	if automatic {
		return r.event(tx, s.ID, "auto-reply-bounced", "system", "to "+strings.Join(failed, ", ")+": "+reason)
	}
	old := s
	if s.Status == StatusClosed {
		if err := r.setStatus(tx, &s, StatusReopened, "system", "a reply could not be delivered"); err != nil {
			return err
		}
	}
	if _, err := r.fileInSession(tx, old, &s, dsn, nil); err != nil {
		return err
	}
	return r.event(tx, s.ID, "bounced", "system", "to "+strings.Join(failed, ", ")+": "+reason)
}
