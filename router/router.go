// Package router is the heart of mxdesk: it decides where mail goes and what
// an agent may see and do. Protocol packages (smtpserver, imapserver) call
// it; it keeps its state in a store.Store and never speaks a protocol.
//
// The router owns the folder model of SPEC §5: each agent has personal
// mailboxes (INBOX, Sent, Drafts, Trash and their own folders) and sees the
// shared Queues/<queue> mailboxes of the queues they serve. It publishes
// every committed change to its subscribers (the IMAP server feeds them to
// IDLE and unilateral updates).
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mxdesk/config"
	"mxdesk/metrics"
	"mxdesk/ratelimit"
	"mxdesk/store"
)

// Kind classifies a router error so protocol packages can map it to their
// own response codes.
type Kind int

const (
	KindNotFound    Kind = iota + 1 // no such folder or message
	KindExists                      // folder name taken
	KindForbidden                   // reserved folder, not this agent's queue, desk rule
	KindInvalid                     // malformed name or argument
	KindTooBig                      // over a configured size limit
	KindAuth                        // bad login or password
	KindLocked                      // too many failed logins: try later
	KindUnavailable                 // a dependency (the virus scanner) is down: try later
	KindNoSpace                     // the store's disk is below its reserve: try later
	KindLimit                       // over a configured count (limits.*)
)

// Error is an error with a Kind and a message safe to show a client.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of err, or 0 when it is not a router error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Options are the router's dependencies besides config and store.
type Options struct {
	Now    func() time.Time // the clock; time.Now when nil
	Logger *slog.Logger     // slog.Default() when nil
	// Metrics receives assignment latency and first-response time; nil:
	// none.
	Metrics *metrics.Set
	// OnAutoReply, if set, is told of every auto-reply decision after it
	// committed: sent, or not sent for reason (one of the Skip*
	// constants). Metrics count with it; it must be quick.
	OnAutoReply func(queue string, sent bool, reason string)
	// Space, if set, guards the store's disk: Deliver, Submit and Append
	// refuse with KindNoSpace a message it has no room for.
	Space Space
	// OnEvent, if set, is called with every session event inside the
	// transaction that records it, after the event is written: what it
	// writes in tx commits (or not) with the event. The CRM feed queues
	// its webhooks with it. An error fails the transaction.
	OnEvent func(tx store.Tx, e store.Event) error
	// RatingLink, if set, makes the signed rating links that agents'
	// replies in queues with [queue.rating] end with (rating.go).
	RatingLink RatingLink
	// SharedPresence, if set, joins the presence of the nodes sharing
	// the store (RunPresence); nil: this process's connections only.
	SharedPresence SharedPresence
}

// Space is the guard of the store's free space (badgerstore.Store).
type Space interface {
	// LowSpace is non-nil while the disk is below its reserve.
	LowSpace() error
	// Reserve admits a write of about n bytes, or fails when it would
	// take the disk below its reserve; release after the write.
	Reserve(n int64) (release func(), err error)
}

// Router routes mail and serves the agents' desk.
type Router struct {
	cur atomic.Pointer[live] // the configuration in force; Reload swaps it
	st  store.Store
	now func() time.Time
	log *slog.Logger

	mu   sync.Mutex
	subs map[int]store.Observer
	next int

	presence presence
	clock    stateClock    // time per agent state
	sl       slBook        // service level (servicelevel.go)
	kick     chan struct{} // wakes Run to assign waiting sessions
	logins   *ratelimit.Logins

	onAutoReply func(queue string, sent bool, reason string)
	space       Space      // Options.Space; nil: unguarded
	reloadMu    sync.Mutex // one Reload at a time

	onEvent func(tx store.Tx, e store.Event) error // Options.OnEvent

	ratingLink RatingLink // Options.RatingLink
	csat       csatTotals // the ratings' totals (rating.go)

	// On several nodes (rona.go, nodes.go): RONA and the service level
	// reread from the store.
	ronaChecks ronaChecks
	figures    figureRefresh
}

// New builds a router on st and makes sure every desk mailbox of cfg exists.
func New(cfg *config.Config, st store.Store, opts Options) (*Router, error) {
	r := &Router{st: st, now: opts.Now, log: opts.Logger, onAutoReply: opts.OnAutoReply, space: opts.Space, onEvent: opts.OnEvent, ratingLink: opts.RatingLink, subs: map[int]store.Observer{}, kick: make(chan struct{}, 1)}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.logins = ratelimit.NewLogins(cfg.Limits.LoginLockAfter, cfg.Limits.LoginLockFor.Duration, time.Hour, r.now)
	r.presence.shared = newShared(opts.SharedPresence)
	r.cur.Store(newLive(cfg))
	r.figures = newFigureRefresh(st)
	st.SetObserver(r.publish)
	r.st = meteredStore{Store: st, m: opts.Metrics, sl: &r.sl}
	if err := r.ensureDesk(); err != nil {
		return nil, err
	}
	if err := r.rebuildServiceLevel(); err != nil {
		return nil, fmt.Errorf("reading the service level: %w", err)
	}
	if err := r.loadRona(); err != nil {
		return nil, fmt.Errorf("reading the agents in RONA: %w", err)
	}
	// The configuration may have been edited while the server was down.
	if n, err := r.reconcile(context.Background()); err != nil {
		return nil, fmt.Errorf("moving the sessions of removed queues and agents: %w", err)
	} else if n > 0 {
		r.log.Info("sessions of removed queues or agents moved", "sessions", n)
	}
	return r, nil
}

// Subscribe registers fn to receive every committed batch of changes, in
// commit order, on the store's writer: fn must be quick and must not write.
func (r *Router) Subscribe(fn store.Observer) (unsubscribe func()) {
	r.mu.Lock()
	id := r.next
	r.next++
	r.subs[id] = fn
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.subs, id)
		r.mu.Unlock()
	}
}

func (r *Router) publish(changes []store.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, fn := range r.subs {
		fn(changes)
	}
}

// kickAssign wakes Run to look for waiting sessions someone can take now.
func (r *Router) kickAssign() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
	if r.presence.shared.sp != nil {
		signal(r.presence.shared.kickOut) // the timers duty may be another node's
	}
}

// Now is the router's clock: what "now" is for timers, waiting ages and
// daily caps (the admin API reports ages by it).
func (r *Router) Now() time.Time { return r.now() }

// config is the configuration in force.
func (r *Router) config() *config.Config { return r.cur.Load().cfg }

// View gives read access to the store. Callers read only mailboxes they got
// from Folder (the router checked the agent may see them).
func (r *Router) View(fn func(rd store.Reader) error) error { return r.st.View(fn) }

// SpaceErr is non-nil (KindNoSpace) while the store's disk is below its
// reserve: new messages are refused, reads and small updates still work.
func (r *Router) SpaceErr() error {
	if r.space == nil || r.space.LowSpace() == nil {
		return nil
	}
	return errNoSpace
}

var errNoSpace = &Error{Kind: KindNoSpace, Msg: "insufficient system storage, try again later"}

// reserveSpace admits a message of size bytes to the store's disk (twice
// its size: a cleaned copy and its quarantined original may both be
// stored, plus the records around them); release it once stored.
func (r *Router) reserveSpace(size int) (release func(), err error) {
	if r.space == nil {
		return func() {}, nil
	}
	release, err = r.space.Reserve(2*int64(size) + 64<<10)
	if err != nil {
		return nil, errNoSpace
	}
	return release, nil
}

// ReserveSpool admits n more bytes of a message body spooled to a file on
// the store's filesystem (data_dir/spool): it fails with the KindNoSpace
// error when they would take the free space below store.min_free_space.
// release once the file is removed.
func (r *Router) ReserveSpool(n int64) (release func(), err error) {
	if r.space == nil {
		return func() {}, nil
	}
	release, err = r.space.Reserve(n)
	if err != nil {
		return nil, errNoSpace
	}
	return release, nil
}

// Ready reports whether the store answers reads.
func (r *Router) Ready() error {
	return r.st.View(func(rd store.Reader) error {
		_, err := rd.Mailboxes("")
		return err
	})
}
