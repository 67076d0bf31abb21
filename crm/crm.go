// Package crm feeds the organisation's CRM (SPEC §11): one ticket per
// session, a comment with a signed link to each message, the thread's
// text, its PDF transcript and its metadata, as Standard Webhooks
// (standardwebhooks.com) POSTed to crm.url.
//
// Every webhook is first a row of the durable outbox in the store, written
// by OnEvent in the same transaction as the session event that calls for
// it: a crash neither loses nor invents one. Run sends the outbox: the
// events of one session one after the other, in order, several sessions
// at once (crm.workers), at least once (a crash between the CRM's answer
// and the commit that removes the event sends it again, with the same
// webhook-id). Failures are retried with exponential backoff and jitter
// for crm.retry_for, then become dead letters; a 4xx answer other than
// 408 and 429 is a dead letter at once. Intake never waits for the CRM:
// it only writes rows.
//
// The package reaches the store through the router; only the gateway
// imports it.
package crm

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"mxdesk/config"
	"mxdesk/msglink"
	"mxdesk/outboxloop"
	"mxdesk/panics"
	"mxdesk/router"
	"mxdesk/store"
)

// Options are the feed's dependencies besides its configuration.
type Options struct {
	Now    func() time.Time // the clock; time.Now when nil
	Logger *slog.Logger     // slog.Default() when nil
	// TLSConfig is the base of the client's TLS configuration (its
	// RootCAs verify the CRM; system roots when nil). Verification is
	// always on.
	TLSConfig *tls.Config
	// AfterAttempt, if set, is told of every attempt once its outcome is
	// committed (metrics count with it). It must be quick.
	AfterAttempt func(Report)
}

// Report is the outcome of one attempt to send one event.
type Report struct {
	Hook   store.Hook
	Result string // ResultDelivered, ResultRetry or ResultDead
	Status int    // the CRM's HTTP status, 0 when it did not answer
	// TicketID is the ticket_id of a 2xx answer, "" without one.
	TicketID string
	Err      error // why it failed
}

// Attempt results (the result label of mxdesk_crm_events_total).
const (
	ResultDelivered = "delivered"
	ResultRetry     = "retry"
	ResultDead      = "dead"
)

// Feed queues and sends the CRM webhooks of one mxdesk.
type Feed struct {
	cfg    config.CRM
	secret []byte
	links  *msglink.Signer
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	after  func(Report)

	r    *router.Router
	loop *outboxloop.Loop
	sem  chan struct{} // one token per session being sent

	mu       sync.Mutex
	inflight map[string]bool // sessions with an attempt running

}

// New builds the feed of cfg.CRM (which must be enabled): it reads the
// secret now, so a bad crm.secret_file fails the start.
func New(cfg *config.Config, opts Options) (*Feed, error) {
	c := cfg.CRM
	secret, err := config.ReadCRMSecret(c.SecretFile)
	if err != nil {
		return nil, err
	}
	f := &Feed{
		cfg: c, secret: secret, now: opts.Now, log: opts.Logger, after: opts.AfterAttempt,
		loop: outboxloop.New(), sem: make(chan struct{}, max(c.Workers, 1)), inflight: map[string]bool{},
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	f.links = msglink.New(msglink.KeyFromSecret(secret), c.LinkBaseURL, c.LinkTTL.Duration, f.now)
	f.client = newClient(c, opts.TLSConfig)
	return f, nil
}

// Links is the signer of the message links the feed posts ([listen] http
// serves them with it).
func (f *Feed) Links() *msglink.Signer { return f.links }

// newClient is the HTTP client of the webhooks: verified TLS, connect
// and whole-request timeouts, no redirects (a webhook is not re-POSTed
// elsewhere).
func newClient(c config.CRM, base *tls.Config) *http.Client {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tlsConf = base.Clone()
	}
	tlsConf.InsecureSkipVerify = false
	dialer := &net.Dialer{Timeout: c.ConnectTimeout.Duration}
	return &http.Client{
		Timeout: c.Timeout.Duration,
		Transport: &http.Transport{
			DialContext: dialer.DialContext, TLSClientConfig: tlsConf, TLSHandshakeTimeout: c.ConnectTimeout.Duration,
			ResponseHeaderTimeout: c.Timeout.Duration, MaxIdleConnsPerHost: max(c.Workers, 1), IdleConnTimeout: time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sign is the webhook-signature header of a body (Standard Webhooks):
// "v1," and the base64 HMAC-SHA256, keyed with the secret's bytes, of
// "<id>.<timestamp>.<body>".
func sign(secret []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%s.%d.", id, timestamp)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// pollInterval bounds how long Run sleeps without looking at the outbox.
const pollInterval = time.Minute

// Run sends the outbox until ctx ends: it starts the due event of each
// session (up to crm.workers sessions at once), wakes when one becomes
// due or an attempt ends, and otherwise sleeps until the earliest next
// attempt. After a restart it picks up everything due.
func (f *Feed) Run(ctx context.Context, r *router.Router) {
	f.r = r
	f.loop.Run(ctx, outboxloop.Outbox{
		Name: "CRM feed", Where: panics.CRMFeed, Log: f.log,
		Subscribe: r.Subscribe, Queued: store.HookQueued, Dispatch: f.dispatch,
	})
}

// Err is non-nil when Run stopped on its own (a bug): the gateway is then
// not ready.
func (f *Feed) Err() error { return f.loop.Err() }

// Kick makes Run look at the outbox now.
func (f *Feed) Kick() { f.loop.Kick() }

// dispatch starts the due events it has a free worker for and returns how
// long Run may wait before looking again.
func (f *Feed) dispatch(ctx context.Context, wg *sync.WaitGroup) time.Duration {
	now := f.now()
	var due []store.Hook
	err := f.r.View(func(rd store.Reader) error {
		var err error
		due, err = rd.DueHooks(now.Add(100*365*24*time.Hour), 2*cap(f.sem)+1) // the running ones come first
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			f.log.Error("crm: reading the outbox", "err", err)
		}
		return pollInterval
	}
	for _, h := range due {
		if h.NextAttempt.After(now) {
			return min(h.NextAttempt.Sub(now), pollInterval)
		}
		if !f.claim(h.Session) {
			continue
		}
		select {
		case f.sem <- struct{}{}:
		default: // every worker busy: the next attempt to end wakes Run
			f.unclaim(h.Session)
			return pollInterval
		}
		wg.Go(func() { f.run(ctx, h.Session, h.ID) })
	}
	return pollInterval
}

func (f *Feed) claim(session string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight[session] {
		return false
	}
	f.inflight[session] = true
	return true
}

func (f *Feed) unclaim(session string) {
	f.mu.Lock()
	delete(f.inflight, session)
	f.mu.Unlock()
}

// run is one attempt on its own goroutine, holding a worker and the
// claim on the session.
func (f *Feed) run(ctx context.Context, session string, id uint64) {
	defer func() {
		f.unclaim(session)
		<-f.sem
		f.Kick()
	}()
	var h store.Hook
	defer func() {
		if p := recover(); p != nil {
			panics.Recovered(f.log, panics.CRMAttempt, "CRM attempt panicked", p, "crm_event", id, "session", session)
			if h.ID != 0 { // tried again after its backoff, not at once
				f.record(ctx, &Report{Hook: h, Err: fmt.Errorf("internal error: %v", p)})
			}
		}
	}()
	var body []byte
	var renderErr error
	err := f.r.View(func(rd store.Reader) error {
		var err error
		if h, err = rd.Hook(id); err != nil {
			return err
		}
		body, renderErr = f.render(rd, h)
		return nil
	})
	if err != nil || h.Dead || h.NextAttempt.After(f.now()) {
		return // sent, retried or dropped since it was listed
	}
	rep := Report{Hook: h}
	if renderErr != nil {
		rep.Err = renderErr
		if errors.Is(renderErr, store.ErrNotFound) {
			rep.Result = ResultDead // its session or message is gone: nothing to send
		}
	} else {
		rep = f.post(ctx, h, body)
	}
	if ctx.Err() != nil && rep.Result != ResultDelivered {
		return // shutting down: the event stays due
	}
	f.record(ctx, &rep)
	if f.after != nil {
		f.after(rep)
	}
}

// timestampHeader formats webhook-timestamp.
func timestampHeader(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
