package router

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/policy"
)

// live is the configuration in force and what is derived from it. It is
// never changed once published: Reload builds a new one and swaps it, so
// an operation that reads the configuration once sees one consistent
// version of it.
type live struct {
	cfg     *config.Config
	rules   policy.Rules   // attachment rules for inbound mail (SPEC §9)
	scanner policy.Scanner // clamd, nil when none is configured
}

func newLive(cfg *config.Config) *live {
	l := &live{cfg: cfg}
	l.rules, l.scanner = contentPolicy(cfg)
	return l
}

// Config is the configuration in force. Callers must not change it.
func (r *Router) Config() *config.Config { return r.config() }

// Reload puts cfg in force without touching connections: queues, agents
// (passwords, roles, queues), routes, templates, hours, session timers,
// the content policy and the login lock limits apply to the next
// operation. The desk mailboxes of new queues and agents are created
// before the switch, so a new queue's address is never accepted without
// its mailbox. If they can't be, the old configuration stays in force.
// IMAP connections of an agent removed or whose password, role or queues
// changed are ended; submission checks each transaction (Current). The
// open sessions of a removed agent or queue move at once (reconcile).
//
// Keys the router does not own (listeners, hostname, store, delivery)
// are the caller's to keep as they were: Reload takes cfg as it is.
func (r *Router) Reload(ctx context.Context, cfg *config.Config) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	old := r.cur.Load().cfg
	if err := r.ensureDeskOf(cfg); err != nil {
		return fmt.Errorf("creating the desk mailboxes of the new configuration: %w", err)
	}
	r.logins.SetLock(cfg.Limits.LoginLockAfter, cfg.Limits.LoginLockFor.Duration)
	r.cur.Store(newLive(cfg))
	r.revokeChanged(cfg)
	if membershipChanged(old, cfg) {
		if n, err := r.reconcile(ctx); err != nil {
			// In force anyway: the next reload or start tries again.
			r.log.Error("reload: moving the sessions of removed queues and agents", "err", err)
		} else if n > 0 {
			r.log.Info("reload: sessions of removed queues or agents moved", "sessions", n)
		}
	}
	if timersChanged(old, cfg) {
		n, err := r.Reschedule(ctx)
		if err != nil {
			// In force anyway: fire re-checks every threshold when due.
			r.log.Error("reload: rescheduling session timers", "err", err)
		} else if n > 0 {
			r.log.Info("reload: session timers rescheduled", "sessions", n)
		}
	}
	r.kickAssign() // a new agent, queue or cap may let waiting sessions go
	return nil
}

// ensureDeskOf creates the desk mailboxes and Templates of cfg, through a
// router that sees cfg (ensureDesk reads the configuration in force).
func (r *Router) ensureDeskOf(cfg *config.Config) error {
	view := &Router{st: r.st, now: r.now, log: r.log}
	view.cur.Store(&live{cfg: cfg})
	return view.ensureDesk()
}

// membershipChanged reports whether cfg has other queues than old, or
// other agents, or agents with other queues: only then may a session be
// left where nobody works it (reconcile reads every session).
func membershipChanged(old, cfg *config.Config) bool {
	members := func(c *config.Config) map[string][]string {
		m := map[string][]string{}
		for _, q := range c.Queue {
			m["queue "+strings.ToLower(q.Name)] = nil
		}
		for i, a := range c.Agent {
			m["agent "+strings.ToLower(a.Login)] = c.AgentQueues(&c.Agent[i])
		}
		return m
	}
	return !reflect.DeepEqual(members(old), members(cfg))
}

// timersChanged reports whether a session's due time may differ under
// cfg: the lifecycle thresholds or a queue's offer timeout changed.
func timersChanged(old, cfg *config.Config) bool {
	if old.Sessions != cfg.Sessions {
		return true
	}
	offers := func(c *config.Config) map[string]time.Duration {
		m := map[string]time.Duration{}
		for _, q := range c.Queue {
			m[q.Name] = q.OfferTimeout.Duration
		}
		return m
	}
	return !reflect.DeepEqual(offers(old), offers(cfg))
}
