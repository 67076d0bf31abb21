// Package campaign sends outbound campaigns (SPEC §13): a CSV list, one
// message per row from a [[template]] with the row's ${column}
// variables, optionally a calendar invitation, within a weekly window of
// the queue's time zone and at a rate. Each message starts a session of
// its own in the queue through the router (router.SendCampaign), in the
// transaction that moves its row from queued to sent, and leaves through
// the normal durable delivery queue; outboxloop drives the sending. The
// one-click unsubscribe endpoint (RFC 8058) and the suppression list
// live here too.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"mxdesk/config"
	"mxdesk/msglink"
	"mxdesk/router"
	"mxdesk/store"
)

// Spec is what `mxdesk campaign create` asks for.
type Spec struct {
	Queue    string
	Template string
	Window   string // "Mon-Fri 13:00-18:00"
	Rate     string // "10/s", "30/m", "500/h"
	ICS      string // --ics, "" for none
	Creator  string
}

// Service creates campaigns, changes their state and sends them.
type Service struct {
	st     store.Store
	r      *router.Router
	cfg    atomic.Pointer[config.Config]
	now    func() time.Time
	log    *slog.Logger
	signer *msglink.Signer // nil: campaign.link_base_url unset, no campaign can be created
	kick   func()
	passes atomic.Int64 // Dispatch calls finished (Passes)
}

// Options configure a Service.
type Options struct {
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger
}

// New returns the campaigns of st, sent through r.
func New(cfg *config.Config, st store.Store, r *router.Router, opts Options) (*Service, error) {
	s := &Service{st: st, r: r, now: opts.Now, log: opts.Logger, kick: func() {}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.cfg.Store(cfg)
	if cfg.Campaign.Enabled() {
		secret, err := config.ReadCampaignSecret(cfg.Campaign.SecretFile)
		if err != nil {
			return nil, err
		}
		s.signer = msglink.New(msglink.KeyFromSecret(secret), cfg.Campaign.LinkBaseURL, 0, s.now)
	}
	return s, nil
}

// SetConfig installs a reloaded configuration (templates, queue hours).
func (s *Service) SetConfig(cfg *config.Config) { s.cfg.Store(cfg) }

// rowBatch is how many rows one transaction stores or changes: well
// under badger's transaction limit.
const rowBatch = 500

// Create validates spec and the list and stores the campaign, running.
// A bad list (*ListError) stores nothing and reports every bad row by its
// line; the list is read once, stored in batches as it comes, so a large
// upload is never whole in memory.
func (s *Service) Create(ctx context.Context, spec Spec, list io.Reader) (store.Campaign, error) {
	c, tpl, err := s.prepare(spec)
	if err != nil {
		return c, err
	}
	lr, err := newListReader(list)
	if err != nil {
		return c, err
	}
	c.Columns = lr.columns
	if err := checkVars(c.Columns, campaignTexts(tpl, c.ICS)); err != nil {
		return c, err
	}
	if err := s.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) (err error) {
		c, err = tx.PutCampaign(c)
		return err
	}); err != nil {
		return c, err
	}
	n, err := s.storeRows(ctx, c.ID, lr)
	if err == nil {
		err = lr.err()
	}
	if err != nil {
		return c, errors.Join(err, s.drop(context.WithoutCancel(ctx), c.ID))
	}
	err = s.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		cur, err := tx.Campaign(c.ID)
		if err != nil {
			return err
		}
		cur.Rows, cur.State = n, store.CampaignRunning
		c, err = tx.PutCampaign(cur)
		return err
	})
	if err == nil {
		s.log.Info("campaign created", "campaign", c.ID, "queue", c.Queue, "template", c.Template, "rows", n, "window", c.Window, "rate", c.Rate)
		s.kick()
	}
	return c, err
}

// prepare checks spec against the configuration.
func (s *Service) prepare(spec Spec) (store.Campaign, config.Template, error) {
	cfg := s.cfg.Load()
	if s.signer == nil {
		return store.Campaign{}, config.Template{}, errors.New("campaigns need campaign.link_base_url and campaign.secret_file in the configuration (the unsubscribe links)")
	}
	q := cfg.QueueByName(spec.Queue)
	if q == nil {
		return store.Campaign{}, config.Template{}, fmt.Errorf("--queue %q: no such [[queue]]", spec.Queue)
	}
	tpl, ok := cfg.TemplateByName(spec.Template, q.Name)
	if !ok {
		return store.Campaign{}, tpl, fmt.Errorf("--template %q: no [[template]] of that name for queue %s", spec.Template, q.Name)
	}
	if strings.TrimSpace(tpl.Subject) == "" {
		return store.Campaign{}, tpl, fmt.Errorf("--template %q: the [[template]] has no subject, which a campaign message needs", spec.Template)
	}
	if _, err := config.ParseWindow(spec.Window, q.Hours); err != nil {
		return store.Campaign{}, tpl, fmt.Errorf("--window: %w", err)
	}
	interval, err := config.ParseRate(spec.Rate)
	if err != nil {
		return store.Campaign{}, tpl, fmt.Errorf("--rate: %w", err)
	}
	c := store.Campaign{Queue: q.Name, Template: tpl.Name, Window: spec.Window, Rate: spec.Rate, Interval: interval,
		State: store.CampaignLoading, Created: s.now(), Creator: spec.Creator}
	if spec.ICS != "" {
		if c.ICS, err = ParseEvent(spec.ICS, q.Hours.Location().String()); err != nil {
			return c, tpl, err
		}
	}
	return c, tpl, nil
}

// campaignTexts are the texts whose ${variables} must be columns, by
// where they come from.
func campaignTexts(tpl config.Template, ev *store.CampaignEvent) map[string]string {
	m := map[string]string{"the template's subject": tpl.Subject, "the template's body": tpl.Body, "the template's body_html": tpl.BodyHTML}
	if ev != nil {
		m["--ics title"], m["--ics organizer"] = ev.Title, ev.Organizer
		m["--ics location"], m["--ics description"] = ev.Location, ev.Description
	}
	return m
}

// storeRows stores the list's good rows in batches and returns how many.
func (s *Service) storeRows(ctx context.Context, id uint64, lr *listReader) (int, error) {
	n := 0
	for {
		var batch []Row
		for len(batch) < rowBatch {
			row, err := lr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, err
			}
			batch = append(batch, row)
		}
		if len(batch) == 0 {
			return n, nil
		}
		if len(lr.bad) > 0 {
			n += len(batch) // nothing more is stored: the list is refused
			continue
		}
		err := s.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
			for i, row := range batch {
				r := store.CampaignRecipient{Campaign: id, Row: n + i + 1, Line: row.Line, Email: row.Email, Values: row.Values, State: store.RecipientQueued}
				if err := tx.PutCampaignRecipient(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(batch)
	}
}

// drop removes a campaign and its rows, batch by batch.
func (s *Service) drop(ctx context.Context, id uint64) error {
	for {
		var n int
		err := s.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) (err error) {
			if n, err = tx.DeleteCampaignRows(id, rowBatch); err != nil || n > 0 {
				return err
			}
			return tx.DeleteCampaign(id)
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// DropLoading removes campaigns whose list was still being stored when
// the server stopped: their upload never finished, so nobody got their ID.
func (s *Service) DropLoading(ctx context.Context) error {
	var ids []uint64
	err := s.st.View(func(rd store.Reader) error {
		cs, err := rd.Campaigns()
		for _, c := range cs {
			if c.State == store.CampaignLoading {
				ids = append(ids, c.ID)
			}
		}
		return err
	})
	for _, id := range ids {
		err = errors.Join(err, s.drop(ctx, id))
	}
	return err
}

// ErrNotFound is a campaign ID that does not exist.
var ErrNotFound = errors.New("no such campaign")

// Get returns a campaign.
func (s *Service) Get(id uint64) (c store.Campaign, err error) {
	err = s.st.View(func(rd store.Reader) error {
		c, err = rd.Campaign(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	return c, err
}

// List returns every campaign.
func (s *Service) List() (cs []store.Campaign, err error) {
	err = s.st.View(func(rd store.Reader) error {
		cs, err = rd.Campaigns()
		return err
	})
	return cs, err
}

// ErrState is a state change the campaign's state does not allow.
var ErrState = errors.New("not allowed in this state")

// Pause stops sending a running campaign; Resume goes on; Cancel stops it
// for good, its queued rows cancelled. Each is durable.
func (s *Service) Pause(ctx context.Context, id uint64) (store.Campaign, error) {
	return s.setState(ctx, id, store.CampaignPaused, store.CampaignRunning)
}

func (s *Service) Resume(ctx context.Context, id uint64) (store.Campaign, error) {
	c, err := s.setState(ctx, id, store.CampaignRunning, store.CampaignPaused)
	if err == nil {
		s.kick()
	}
	return c, err
}

func (s *Service) Cancel(ctx context.Context, id uint64) (store.Campaign, error) {
	c, err := s.setState(ctx, id, store.CampaignCancelled, store.CampaignRunning, store.CampaignPaused)
	if err != nil {
		return c, err
	}
	if err := s.cancelRows(ctx, id); err != nil {
		return c, err
	}
	return s.Get(id)
}

func (s *Service) setState(ctx context.Context, id uint64, to string, from ...string) (c store.Campaign, err error) {
	err = s.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		if c, err = tx.Campaign(id); err != nil {
			return err
		}
		if c.State == to {
			return nil
		}
		for _, f := range from {
			if c.State == f {
				c.State = to
				if to == store.CampaignRunning {
					c.NextSend = time.Time{} // resumed: afresh, no catching up on the pause
				}
				c, err = tx.PutCampaign(c)
				return err
			}
		}
		return fmt.Errorf("campaign %d is %s: can't make it %s: %w", id, c.State, to, ErrState)
	})
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	if err == nil {
		s.log.Info("campaign "+to, "campaign", id)
	}
	return c, err
}

// cancelRows turns the queued rows of a cancelled campaign to cancelled,
// batch by batch (the sender no longer touches them).
func (s *Service) cancelRows(ctx context.Context, id uint64) error {
	for from := 0; ; {
		var more bool
		err := s.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
			rows, err := tx.CampaignRecipients(id, from, rowBatch)
			for _, r := range rows {
				if r.State == store.RecipientQueued {
					r.State = store.RecipientCancelled
					err = errors.Join(err, tx.PutCampaignRecipient(r))
				}
			}
			if len(rows) > 0 {
				from, more = rows[len(rows)-1].Row+1, true
			} else {
				more = false
			}
			return err
		})
		if err != nil || !more {
			return err
		}
	}
}
