package router

// The router's side of outbound campaigns (package campaign): a campaign
// message starts a session of its own, filed and queued in the
// transaction that advances the recipient's row, and what happens to
// that session later (a reply, a bounce, a delivery attempt, an
// unsubscribe) moves the row on.

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"mxdesk/store"
)

// CampaignIdentity is what a campaign message needs to know of the
// session it starts: its ID and reply token, the header From and
// Reply-To ("" when the queue's upstream account sends it) and the
// envelope sender.
type CampaignIdentity struct {
	Session, Token string
	From, ReplyTo  string
	Sender         string
	Hostname       string
}

// CampaignSend is one campaign message to send.
type CampaignSend struct {
	Queue, Customer, Subject string
	// Prepare runs first in the transaction: false (with no error) sends
	// nothing (the row is no longer queued, or its address is
	// suppressed; Prepare stored what it found).
	Prepare func(tx store.Tx) (bool, error)
	// Compose builds the message for the new session.
	Compose func(id CampaignIdentity) ([]byte, error)
	// Sent runs last in the transaction with the new session.
	Sent func(tx store.Tx, s store.Session) error
}

// SendCampaign starts the sessions of campaign messages in their queue
// and queues the messages for delivery, in one durable transaction with
// each one's Prepare and Sent: the recipients' rows advance with them,
// so a crash never sends one twice nor loses one. Each session is Closed
// and unassigned, its message filed in the queue's All folder: a reply
// reopens it and routes it to the queue's agents like any reply. It
// returns the session IDs ("" where Prepare said no).
func (r *Router) SendCampaign(ctx context.Context, msgs []CampaignSend) ([]string, error) {
	ids := make([]string, len(msgs))
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		clear(ids)
		for i, m := range msgs {
			ok, err := m.Prepare(tx)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			s, err := r.campaignSession(tx, m)
			if err != nil {
				return err
			}
			ids[i] = s.ID
			if err := m.Sent(tx, s); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

func (r *Router) campaignSession(tx store.Tx, m CampaignSend) (store.Session, error) {
	cfg := r.config()
	q := cfg.QueueByName(m.Queue)
	if q == nil {
		return store.Session{}, errorf(KindNotFound, "campaign: queue %q is no longer configured", m.Queue)
	}
	sid, token, err := newSessionIdentity(tx)
	if err != nil {
		return store.Session{}, err
	}
	name := expandTags(q.FromName, map[string]string{"agent": q.Name, "queue": q.Name, "company": cfg.Company})
	ident := CampaignIdentity{Session: sid, Token: token, Hostname: cfg.Hostname,
		From:    (&mail.Address{Name: name, Address: q.Addresses[0]}).String(),
		ReplyTo: tokenAddress(q, token, ""), Sender: envelopeSender(cfg, q, token)}
	if acct := sendingAccount(cfg, q); acct != nil {
		ident.From = (&mail.Address{Name: name, Address: acct.Address}).String()
		ident.ReplyTo = ""
	}
	raw, err := m.Compose(ident)
	if err != nil {
		return store.Session{}, err
	}
	s := store.Session{ID: sid, Queue: q.Name, Customer: m.Customer, Subject: m.Subject,
		Created: r.now(), Token: token, Participants: []string{m.Customer}, LastActivity: r.now()}
	if err := r.event(tx, sid, "created", "campaign", "campaign message to "+m.Customer+" in queue "+q.Name); err != nil {
		return s, err
	}
	if err := r.setStatus(tx, &s, StatusClosed, "campaign", "sent; a reply reopens it"); err != nil {
		return s, err
	}
	blob, err := r.fileInSession(tx, store.Session{}, &s, raw, []string{`\Seen`})
	if err != nil {
		return s, err
	}
	_, err = tx.Enqueue(store.Outbound{Session: sid, Queue: q.Name, Blob: blob, From: ident.Sender,
		To: []string{m.Customer}, Created: r.now(), NextAttempt: r.now()})
	return s, err
}

// campaignRow returns the campaign row that started session id (ok
// false: none).
func campaignRow(rd store.Reader, session string) (store.CampaignRecipient, bool, error) {
	row, err := rd.CampaignRecipientBySession(session)
	if errors.Is(err, store.ErrNotFound) {
		return row, false, nil
	}
	return row, err == nil, err
}

// campaignDelivery moves the row of a campaign message on after a
// delivery attempt: deferred while it stays queued after a failed
// attempt, sent again once it has left the queue.
func campaignDelivery(tx store.Tx, session string, attempted, queued bool) error {
	row, ok, err := campaignRow(tx, session)
	if err != nil || !ok {
		return err
	}
	state := row.State
	switch {
	case attempted && queued && row.State == store.RecipientSent:
		state = store.RecipientDeferred
	case !queued && row.State == store.RecipientDeferred:
		state = store.RecipientSent
	}
	if state == row.State {
		return nil
	}
	row.State = state
	return tx.PutCampaignRecipient(row)
}

// campaignBounced records a bounce of a campaign message: the row is
// bounced and the address suppressed for future campaigns (the delivery
// worker bounces only for good: a 5xx answer or retries exhausted). It
// reports whether ob was a campaign message.
func (r *Router) campaignBounced(tx store.Tx, ob store.Outbound, failed []string, reason string) (bool, error) {
	row, ok, err := campaignRow(tx, ob.Session)
	if err != nil || !ok {
		return false, err
	}
	row.State, row.Detail = store.RecipientBounced, reason
	if err := tx.PutCampaignRecipient(row); err != nil {
		return true, err
	}
	for _, a := range failed {
		err := tx.Suppress(store.Suppression{Address: strings.ToLower(a), Reason: "bounced: " + reason, Campaign: row.Campaign, At: r.now()})
		if err != nil {
			return true, err
		}
	}
	return true, r.event(tx, ob.Session, "campaign-bounced", "system", "to "+strings.Join(failed, ", ")+": "+reason)
}

// unsubscribeSubject is the subject of the List-Unsubscribe mailto: a
// reply with it unsubscribes rather than counting as a reply.
const unsubscribeSubject = "unsubscribe"

// campaignReplied records a customer's message in a campaign's session
// (or in the session that continues one): the row counts as replied, or
// as unsubscribed when the message is the List-Unsubscribe mailto's.
func (r *Router) campaignReplied(tx store.Tx, s store.Session, subject string) error {
	row, ok, err := campaignRow(tx, s.ID)
	if err == nil && !ok && s.Previous != "" {
		row, ok, err = campaignRow(tx, s.Previous)
	}
	if err != nil || !ok {
		return err
	}
	if strings.EqualFold(strings.TrimSpace(subject), unsubscribeSubject) {
		return r.unsubscribe(tx, row, "mail")
	}
	if row.Replied {
		return nil
	}
	row.Replied = true
	return tx.PutCampaignRecipient(row)
}

// Unsubscribe records that the recipient of campaign session's message
// asked for no more (the one-click link, RFC 8058): the address goes on
// the suppression list. Unsubscribing twice is not an error.
func (r *Router) Unsubscribe(ctx context.Context, session, via string) (address string, err error) {
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		row, ok, err := campaignRow(tx, session)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(KindNotFound, "session %s was not started by a campaign", session)
		}
		address = row.Email
		return r.unsubscribe(tx, row, via)
	})
	return address, err
}

func (r *Router) unsubscribe(tx store.Tx, row store.CampaignRecipient, via string) error {
	if row.Unsubscribed {
		return nil
	}
	row.Unsubscribed = true
	if err := tx.PutCampaignRecipient(row); err != nil {
		return err
	}
	err := tx.Suppress(store.Suppression{Address: strings.ToLower(row.Email), Reason: "unsubscribed", Campaign: row.Campaign, At: r.now()})
	if err != nil {
		return err
	}
	return r.event(tx, row.Session, "unsubscribed", "customer", fmt.Sprintf("%s unsubscribed from campaign %d (%s)", row.Email, row.Campaign, via))
}
