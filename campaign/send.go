package campaign

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"mxdesk/config"
	"mxdesk/outboxloop"
	"mxdesk/panics"
	"mxdesk/router"
	"mxdesk/store"
)

// idleWait is how long the loop sleeps with no campaign to send (a new
// or resumed one kicks it).
const idleWait = time.Hour

// maxPerDispatch bounds the messages one look sends, so that a fast rate
// leaves room for the loop to notice a pause or the end.
const maxPerDispatch = 200

// Outbox is the campaign sender for outboxloop.
func (s *Service) Outbox(loop *outboxloop.Loop, subscribe func(store.Observer) func()) outboxloop.Outbox {
	s.kick = loop.Kick
	return outboxloop.Outbox{Name: "campaign sender", Where: panics.CampaignSender, Log: s.log, Subscribe: subscribe,
		Dispatch: func(ctx context.Context, _ *sync.WaitGroup) time.Duration { return s.Dispatch(ctx) }}
}

// Dispatch sends what is due of every running campaign and returns how
// long to wait before looking again (by the service's clock).
func (s *Service) Dispatch(ctx context.Context) time.Duration {
	cs, err := s.List()
	if err != nil {
		s.log.Error("campaign: reading the campaigns", "err", err)
		return time.Minute
	}
	wait := idleWait
	for _, c := range cs {
		if c.State != store.CampaignRunning {
			continue
		}
		w, err := s.sendDue(ctx, c)
		if err != nil {
			s.log.Error("campaign: sending", "campaign", c.ID, "queue", c.Queue, "err", err)
			w = time.Minute
		}
		wait = min(wait, w)
	}
	return max(wait, 0)
}

// sendDue sends the messages of c that the window and the rate allow now.
func (s *Service) sendDue(ctx context.Context, c store.Campaign) (time.Duration, error) {
	cfg := s.cfg.Load()
	q := cfg.QueueByName(c.Queue)
	if q == nil {
		return idleWait, errors.New("queue " + c.Queue + " is no longer configured")
	}
	tpl, ok := cfg.TemplateByName(c.Template, c.Queue)
	if !ok {
		return idleWait, errors.New("[[template]] " + c.Template + " is no longer configured")
	}
	window, err := config.ParseWindow(c.Window, q.Hours)
	if err != nil {
		return idleWait, err
	}
	now := s.now()
	next := c.NextSend
	if next.Before(now.Add(-c.Interval)) {
		next = now // no catching up on time the window was closed
	}
	for sent := 0; sent < maxPerDispatch && ctx.Err() == nil; {
		if !window.Open(now) {
			open, ok := window.NextOpen(now)
			if !ok {
				return idleWait, nil
			}
			return open.Sub(now), nil
		}
		if next.After(now) {
			return next.Sub(now), nil
		}
		res, err := s.sendNext(ctx, c.ID, tpl, next.Add(c.Interval))
		if err != nil || res == rowsDone {
			return idleWait, err
		}
		if res == rowSent {
			sent++
			next = next.Add(c.Interval)
		}
		now = s.now()
	}
	return 0, nil
}

type sendResult int

const (
	rowSent    sendResult = iota
	rowSkipped            // suppressed, or no longer queued
	rowsDone              // no queued row left, or the campaign stopped
)

// sendNext sends the next queued row of campaign id, if any: its session,
// message and delivery are queued in the transaction that marks the row
// sent and moves the campaign's cursor and NextSend on.
func (s *Service) sendNext(ctx context.Context, id uint64, tpl config.Template, nextSend time.Time) (sendResult, error) {
	row, c, ok, err := s.nextQueued(id)
	if err != nil || !ok {
		return rowsDone, err
	}
	l := letter{c: c, tpl: tpl, row: row, now: s.now()}
	res := rowSkipped
	_, err = s.r.SendCampaign(ctx, routerSend(s, &l, &res, nextSend))
	return res, err
}

// nextQueued finds the first queued row at or after the campaign's
// cursor; none left finishes the campaign.
func (s *Service) nextQueued(id uint64) (store.CampaignRecipient, store.Campaign, bool, error) {
	var row store.CampaignRecipient
	var c store.Campaign
	found := false
	err := s.st.View(func(rd store.Reader) error {
		var err error
		if c, err = rd.Campaign(id); err != nil || c.State != store.CampaignRunning {
			return err
		}
		for from := c.Cursor; !found; {
			rows, err := rd.CampaignRecipients(id, from, 64)
			if err != nil || len(rows) == 0 {
				return err
			}
			for _, r := range rows {
				if r.State == store.RecipientQueued {
					row, found = r, true
					break
				}
			}
			from = rows[len(rows)-1].Row + 1
		}
		return nil
	})
	if err == nil && !found && c.State == store.CampaignRunning {
		_, err = s.setState(context.Background(), id, store.CampaignDone, store.CampaignRunning)
	}
	return row, c, found, err
}

// unsubscribePurpose is the signer purpose of unsubscribe links.
const unsubscribePurpose = "campaign-unsubscribe"

// UnsubscribePath is where unsubscribe links point on [listen] http:
// UnsubscribePath + "<session>/<token>".
const UnsubscribePath = "/u/"

// unsubscribeURL is the one-click link of a session's message.
func (s *Service) unsubscribeURL(session string) string {
	return s.signer.Base() + UnsubscribePath + url.PathEscape(session) + "/" + s.signer.Token(unsubscribePurpose, session)
}

// checkUnsubscribe verifies the path of an unsubscribe link and returns
// its session.
func (s *Service) checkUnsubscribe(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, UnsubscribePath)
	session, token, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || s.signer == nil {
		return "", false
	}
	return session, s.signer.CheckToken(unsubscribePurpose, session, token)
}

// routerSend is the router's transaction for l's row: Prepare checks
// (again, inside the transaction) that the campaign runs, the row is
// queued and its address not suppressed; Sent marks the row sent and
// moves the campaign on. res says what happened.
func routerSend(s *Service, l *letter, res *sendResult, nextSend time.Time) router.CampaignSend {
	return router.CampaignSend{
		Queue: l.c.Queue, Customer: l.row.Email, Subject: l.fill(l.tpl.Subject),
		Prepare: func(tx store.Tx) (bool, error) {
			*res = rowSkipped
			c, err := tx.Campaign(l.c.ID)
			if err != nil {
				return false, err
			}
			if c.State != store.CampaignRunning {
				*res = rowsDone
				return false, nil
			}
			row, err := tx.CampaignRecipient(c.ID, l.row.Row)
			if err != nil || row.State != store.RecipientQueued {
				return false, err
			}
			sup, err := tx.Suppressed(strings.ToLower(row.Email))
			if errors.Is(err, store.ErrNotFound) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			row.State, row.Detail = store.RecipientSuppressed, sup.Reason
			if err := tx.PutCampaignRecipient(row); err != nil {
				return false, err
			}
			c.Cursor = row.Row + 1
			_, err = tx.PutCampaign(c)
			return false, err
		},
		Compose: func(id router.CampaignIdentity) ([]byte, error) {
			l.unsubscribe = s.unsubscribeURL(id.Session)
			return l.compose(id)
		},
		Sent: func(tx store.Tx, sess store.Session) error {
			row, err := tx.CampaignRecipient(l.c.ID, l.row.Row)
			if err != nil {
				return err
			}
			row.State, row.Session = store.RecipientSent, sess.ID
			if err := tx.PutCampaignRecipient(row); err != nil {
				return err
			}
			c, err := tx.Campaign(l.c.ID)
			if err != nil {
				return err
			}
			c.Cursor, c.NextSend = row.Row+1, nextSend
			if _, err := tx.PutCampaign(c); err != nil {
				return err
			}
			*res = rowSent
			return nil
		},
	}
}
