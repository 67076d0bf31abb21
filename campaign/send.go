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

// maxCatchUp bounds how far behind its schedule a campaign may send to
// catch up (a restart, a slow store): one second's worth of messages at
// once at most, never the backlog of a long stop.
const maxCatchUp = time.Second

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
	defer s.passes.Add(1)
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

// Passes counts the looks Dispatch has finished: a test that moved the
// clock waits for the next one to see what it did (or did not) send.
func (s *Service) Passes() int64 { return s.passes.Load() }

// sendDue sends the messages of c that the window and the rate allow now.
func (s *Service) sendDue(ctx context.Context, c store.Campaign) (time.Duration, error) {
	if c.Counts[store.RecipientQueued] == 0 {
		_, err := s.setState(ctx, c.ID, store.CampaignDone, store.CampaignRunning)
		return idleWait, err
	}
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
	if floor := now.Add(-maxCatchUp); next.Before(floor) {
		next = floor // after a stall, at most maxCatchUp's worth at once
	}
	if c.NextSend.IsZero() || !window.Open(next) {
		next = now // the first message, or the window was closed at the planned time: start afresh
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
		slots := min(int(now.Sub(next)/c.Interval)+1, maxBatch)
		n, more, err := s.sendBatch(ctx, c.ID, tpl, next, slots)
		if err != nil || !more {
			return idleWait, err
		}
		sent += n
		next = next.Add(time.Duration(n) * c.Interval)
		now = s.now()
	}
	return 0, nil
}

// maxBatch bounds the messages one transaction sends.
const maxBatch = 50

// sendBatch sends up to slots queued rows of campaign id, the first in
// the slot at next, in one transaction: each one's session, message and
// delivery are queued with the row marked sent and the campaign's cursor
// and NextSend moved on. It returns how many went, and more false when
// no queued row is left or the campaign stopped.
func (s *Service) sendBatch(ctx context.Context, id uint64, tpl config.Template, next time.Time, slots int) (int, bool, error) {
	rows, c, err := s.nextQueued(id, slots)
	if err != nil || len(rows) == 0 {
		return 0, false, err
	}
	sends := make([]router.CampaignSend, len(rows))
	for i, row := range rows {
		sends[i] = routerSend(s, &letter{c: c, tpl: tpl, row: row, now: s.now()}, next)
	}
	ids, err := s.r.SendCampaign(ctx, sends)
	n := 0
	for _, id := range ids {
		if id != "" {
			n++
		}
	}
	return n, true, err
}

// nextQueued finds up to n queued rows at or after the campaign's
// cursor; none left finishes the campaign.
func (s *Service) nextQueued(id uint64, n int) ([]store.CampaignRecipient, store.Campaign, error) {
	var found []store.CampaignRecipient
	var c store.Campaign
	err := s.st.View(func(rd store.Reader) error {
		var err error
		if c, err = rd.Campaign(id); err != nil || c.State != store.CampaignRunning {
			return err
		}
		for from := c.Cursor; len(found) < n; {
			rows, err := rd.CampaignRecipients(id, from, 64)
			if err != nil || len(rows) == 0 {
				return err
			}
			for _, r := range rows {
				if r.State == store.RecipientQueued && len(found) < n {
					found = append(found, r)
				}
			}
			from = rows[len(rows)-1].Row + 1
		}
		return nil
	})
	if err == nil && len(found) == 0 && c.State == store.CampaignRunning {
		_, err = s.setState(context.Background(), id, store.CampaignDone, store.CampaignRunning)
	}
	return found, c, err
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

// routerSend is the router's work for l's row: Prepare checks (again,
// inside the transaction) that the campaign runs, the row is queued and
// its address not suppressed; Sent marks the row sent and takes the
// campaign's next slot, at or after next.
func routerSend(s *Service, l *letter, next time.Time) router.CampaignSend {
	return router.CampaignSend{
		Queue: l.c.Queue, Customer: l.row.Email, Subject: l.fill(l.tpl.Subject),
		Prepare: func(tx store.Tx) (bool, error) {
			c, err := tx.Campaign(l.c.ID)
			if err != nil || c.State != store.CampaignRunning {
				return false, err
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
			c.Cursor = max(c.Cursor, row.Row+1)
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
			c.Cursor = max(c.Cursor, row.Row+1)
			c.NextSend = maxTime(c.NextSend, next).Add(c.Interval)
			_, err = tx.PutCampaign(c)
			return err
		},
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
