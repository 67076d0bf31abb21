package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// Envelope is the SMTP envelope of one inbound message.
type Envelope struct {
	From       string   // MAIL FROM, "" for the null sender
	To         []string // accepted RCPT TO addresses
	RemoteAddr string
	Helo       string
	TLS        bool
}

// Delivered says where an accepted message went.
type Delivered struct {
	Session   string
	MessageID string
	Folder    string // the mailbox name it was filed in
}

var (
	// ErrUnknownRecipient: no queue has this address.
	ErrUnknownRecipient = errorf(KindNotFound, "no such mailbox")
	// ErrSendOnly: a send-only address accepts no mail.
	ErrSendOnly = errorf(KindForbidden, "this address does not accept mail")
)

// Session statuses (SPEC §4).
const (
	StatusUnopened = "Unopened"
)

// CheckRecipient tells whether mail to addr is accepted (ErrUnknownRecipient,
// ErrSendOnly otherwise).
func (r *Router) CheckRecipient(addr string) error {
	_, err := r.queueOf(addr)
	return err
}

func (r *Router) queueOf(addr string) (string, error) {
	cfg := r.config()
	addr = strings.ToLower(strings.TrimSpace(addr))
	if cfg.IsSendOnly(addr) {
		return "", ErrSendOnly
	}
	q, ok := cfg.QueueByAddress(addr)
	if !ok {
		return "", ErrUnknownRecipient
	}
	return q.Name, nil
}

// inbound is what Deliver learns from a message's header before storing it.
type inbound struct {
	header    textproto.Header
	body      []byte // everything after the header
	messageID string
	refs      []string // In-Reply-To then References, newest last
	customer  string
	subject   string
}

// maxRefs bounds how many References a message may make us look up.
const maxRefs = 50

func parseInbound(raw []byte, env Envelope, hostname string) inbound {
	src := bytes.NewReader(raw)
	br := bufio.NewReader(src)
	h, err := textproto.ReadHeader(br)
	var in inbound
	if err != nil {
		// A header that can't be parsed is kept whole as the body: the
		// agent sees what arrived rather than nothing.
		h, in.body = textproto.Header{}, raw
	} else {
		in.body = raw[len(raw)-src.Len()-br.Buffered():]
	}
	in.header = h
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
	if from, err := mh.AddressList("From"); err == nil && len(from) > 0 {
		in.customer = strings.ToLower(from[0].Address)
	} else {
		in.customer = strings.ToLower(env.From)
	}
	if s, err := mh.Subject(); err == nil {
		in.subject = s
	}
	if in.messageID == "" {
		in.messageID = newToken(16) + "@" + hostname
		h.Set("Message-Id", "<"+in.messageID+">")
	}
	in.header = h
	return in
}

// stamp returns the message as stored: the customer's X-Mxdesk-* headers
// removed (they are ours, and forged ones could mislead an agent), ours
// added on top.
func (in *inbound) stamp(session string) []byte {
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
	h.Add("X-Mxdesk-Session", session)
	var buf bytes.Buffer
	buf.Grow(len(in.body) + 1024)
	if err := textproto.WriteHeader(&buf, h); err != nil {
		// Only a broken writer fails; a bytes.Buffer never does.
		panic(err)
	}
	buf.Write(in.body)
	return buf.Bytes()
}

// Deliver threads raw into a session, stamps it (X-Mxdesk-Session, a
// Message-ID when it has none) and commits it durably to the session's
// folder. When it returns nil the message is on disk.
func (r *Router) Deliver(ctx context.Context, env Envelope, raw []byte) (Delivered, error) {
	if len(env.To) == 0 {
		return Delivered{}, errorf(KindInvalid, "no recipients")
	}
	// The first queue recipient (envelope order) decides the queue of a new
	// session: one message makes one session, however many queues it names.
	queue := ""
	for _, rcpt := range env.To {
		if q, err := r.queueOf(rcpt); err == nil {
			queue = q
			break
		}
	}
	if queue == "" {
		return Delivered{}, ErrUnknownRecipient
	}
	in := parseInbound(raw, env, r.config().Hostname)
	var d Delivered
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		s, err := r.threadInto(tx, in, queue)
		if err != nil {
			return err
		}
		mb, err := r.deliveryMailbox(tx, s)
		if err != nil {
			return err
		}
		stored := in.stamp(s.ID)
		blob, err := tx.PutBlob(stored)
		if err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{
			Mailbox: mb.ID, Blob: blob, Size: int64(len(stored)),
			InternalDate: r.now(), Session: s.ID,
		})
		if err != nil {
			return err
		}
		if err := tx.IndexMessageID(in.messageID, s.ID); err != nil {
			return err
		}
		s.Updated = r.now()
		if err := tx.PutSession(s); err != nil {
			return err
		}
		d = Delivered{Session: s.ID, MessageID: in.messageID, Folder: mb.Name}
		return r.event(tx, s.ID, "received", "customer", fmt.Sprintf("from %s, filed in %s", in.customer, mb.Name))
	})
	if err != nil {
		return Delivered{}, err
	}
	return d, nil
}

// threadInto finds the session a message belongs to (for now: one whose
// stored Message-IDs it references) or opens a new one.
func (r *Router) threadInto(tx store.Tx, in inbound, queue string) (store.Session, error) {
	for i := len(in.refs) - 1; i >= 0; i-- {
		id, err := tx.SessionByMessageID(in.refs[i])
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Session{}, err
		}
		s, err := tx.Session(id)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, err
		}
	}
	id, err := newSessionID(tx)
	if err != nil {
		return store.Session{}, err
	}
	s := store.Session{
		ID: id, Queue: queue, Status: StatusUnopened,
		Customer: in.customer, Subject: in.subject, Created: r.now(),
	}
	return s, r.event(tx, id, "created", "system", "new session in queue "+queue)
}

// deliveryMailbox is where a session's inbound mail is filed: the assigned
// agent's INBOX, else its queue folder.
func (r *Router) deliveryMailbox(tx store.Tx, s store.Session) (store.Mailbox, error) {
	if s.Agent != "" {
		if m, err := tx.MailboxByName(s.Agent, Inbox); err == nil {
			return m, nil
		}
		// The agent left the configuration: the session goes back to
		// its queue rather than into a mailbox nobody reads.
	}
	return tx.MailboxByName("", queueMailboxName(s.Queue))
}

// sessionAlphabet has no look-alike characters (no 0/O, 1/I/L, U/V).
const sessionAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"

// newSessionID draws "S-" plus 5 characters (29^5 ≈ 20 million), longer
// when the short space is crowded, never one that was used before.
func newSessionID(tx store.Tx) (string, error) {
	for attempt := 0; attempt < 20; attempt++ {
		n := 5 + attempt/5
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		for i := range b {
			b[i] = sessionAlphabet[int(b[i])%len(sessionAlphabet)]
		}
		id := "S-" + string(b)
		if _, err := tx.Session(id); errors.Is(err, store.ErrNotFound) {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", errors.New("router: no free session ID")
}

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newToken returns n random bytes as lower-case base32.
func newToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(tokenEncoding.EncodeToString(b))
}
