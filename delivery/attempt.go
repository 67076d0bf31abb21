package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"mxdesk/router"
	"mxdesk/store"
)

// Backoff: the n-th consecutive attempt of a message is followed by a
// wait of backoffMin·2^(n-1), at most backoffMax: 1m, 2m, 4m, 8m, 16m,
// 32m, then every hour until retry_for has passed since the message was
// queued. The last retry is moved to that moment, so a message that keeps
// failing is bounced on time.
const (
	backoffMin = time.Minute
	backoffMax = time.Hour
)

func backoff(attempts int) time.Duration {
	d := backoffMin
	for i := 1; i < attempts && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// nextAttempt is when to try ob again after one more failed attempt.
func (w *Worker) nextAttempt(ob store.Outbound) time.Time {
	now := w.now()
	next := now.Add(backoff(ob.Attempts + 1))
	if expiry := ob.Created.Add(w.retryFor); now.Before(expiry) && next.After(expiry) {
		next = expiry
	}
	return next
}

// commitTimeout bounds a commit that runs after ctx ended: what the
// remote accepted is recorded even during shutdown.
const commitTimeout = 30 * time.Second

// record commits p for id, even when ctx has ended.
func (w *Worker) record(ctx context.Context, id uint64, p router.OutboundProgress) (queued bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	_, queued, err = w.r.RecordOutbound(ctx, id, p)
	return queued, err
}

// sentCopy is the account whose sent_folder gets a copy of ob, when
// delivered went through that account's SMTP; "" otherwise.
func (w *Worker) sentCopy(ob store.Outbound, delivered []string) string {
	acct := w.account(ob.Queue)
	if acct == nil || acct.SMTP == "" || acct.SentFolder == "" || len(delivered) == 0 {
		return ""
	}
	return acct.Address
}

// attempt tries every recipient of ob once and commits the outcome: the
// delivered leave the queue after their transaction, the failed ones are
// retried after a backoff or, for permanent failures and after retry_for,
// bounced.
func (w *Worker) attempt(ctx context.Context, ob store.Outbound) Report {
	w.attempts.Add(1)
	if ob.Attempts > 0 {
		w.retries.Add(1)
	}
	rep := Report{ID: ob.ID, Session: ob.Session, Queued: true}
	raw, err := w.blob(ob.Blob)
	carried := w.takePending(ob.ID)
	targets := slices.DeleteFunc(slices.Clone(ob.To), func(rcpt string) bool { return hasRcpt(carried, rcpt) })

	var results []result
	var last []string // delivered by the last transaction, not committed yet
	switch {
	case err != nil:
		for _, rcpt := range targets {
			results = append(results, localError(rcpt, "4.3.0", "reading the queued message: %v", err))
		}
	case len(targets) > 0:
		results, last, err = w.send(ctx, ob, raw, targets)
		if err != nil {
			// A commit between transactions failed and nothing more
			// was sent; the commit below tries those recipients again
			// (if it fails too, they are sent again: at least once).
			rep.Err = err
		}
	}

	var bounce []result
	var deferred []string
	now := w.now()
	expired := !now.Before(ob.Created.Add(w.retryFor))
	for _, res := range results {
		switch {
		case res.ok():
			rep.Delivered = append(rep.Delivered, res.rcpt)
		case res.perm || expired:
			res.expired = !res.perm
			bounce = append(bounce, res)
		default:
			deferred = append(deferred, res.rcpt)
		}
	}
	w.logResults(ob, results, expired)
	w.delivered.Add(uint64(len(rep.Delivered)))
	w.deferred.Add(uint64(len(deferred)))
	rep.Deferred = deferred
	bounce = append(carried, bounce...)

	if ctx.Err() != nil {
		// Shutting down: the aborted attempt doesn't count; record only
		// what the remote accepted, and try the rest at the next start.
		if len(carried) > 0 {
			w.setPending(ob.ID, carried)
		}
		rep.SentCopy = w.sentCopy(ob, last)
		progress := router.OutboundProgress{Done: last, SentCopy: rep.SentCopy}
		if w.lease > 0 {
			progress.Release = now // give the lease back: another node sends it now
		}
		rep.Queued, err = w.record(ctx, ob.ID, progress)
		rep.Err = firstErr(rep.Err, err)
		return rep
	}
	rep.SentCopy = w.sentCopy(ob, last)
	progress := router.OutboundProgress{
		Done: last, Attempted: true, LastError: summary(results), NextAttempt: w.nextAttempt(ob),
		SentCopy: rep.SentCopy,
	}
	if rep.Queued, err = w.record(ctx, ob.ID, progress); err != nil {
		w.failures.Add(1)
		w.log.Error("delivery: recording the attempt", "queue_id", ob.ID, "session", ob.Session, "queue", ob.Queue, "err", err)
		rep.Err = firstErr(rep.Err, err)
		return rep
	}
	if len(bounce) > 0 {
		w.fileBounce(ctx, ob, raw, bounce, &rep)
	}
	return rep
}

// fileBounce hands a DSN for the failed recipients to the router, which
// files it and takes them off the queue in one transaction. If it can't,
// they stay queued and the bounce is tried again at the message's next
// attempt (or, after a restart, the recipients are tried again).
func (w *Worker) fileBounce(ctx context.Context, ob store.Outbound, raw []byte, failed []result, rep *Report) {
	rcpts := make([]string, len(failed))
	for i, f := range failed {
		rcpts[i] = f.rcpt
	}
	dsn := buildDSN(w.cfg.Hostname, ob, raw, failed, w.now())
	reason := bounceReason(failed, w.retryFor)
	queued, err := w.r.Bounce(ctx, ob, dsn, rcpts, reason)
	if err == nil {
		rep.Queued = queued
	}
	if err != nil {
		w.failures.Add(1)
		w.setPending(ob.ID, failed)
		w.log.Error("delivery: filing the bounce", "queue_id", ob.ID, "session", ob.Session, "queue", ob.Queue, "rcpts", rcpts, "err", err)
		rep.Err = firstErr(rep.Err, fmt.Errorf("bounce: %w", err))
		return
	}
	w.bounced.Add(uint64(len(rcpts)))
	rep.Bounced = rcpts
	w.log.Info("bounced", "session", ob.Session, "queue", ob.Queue, "queue_id", ob.ID, "agent", ob.Agent, "rcpts", rcpts, "reason", reason)
}

func (w *Worker) blob(id store.BlobID) ([]byte, error) {
	var raw []byte
	err := w.r.View(func(rd store.Reader) error {
		var err error
		raw, err = rd.Blob(id)
		return err
	})
	return raw, err
}

// takePending returns and forgets the failures of id whose bounce could
// not be filed yet.
func (w *Worker) takePending(id uint64) []result {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending[id]
	delete(w.pending, id)
	return p
}

func (w *Worker) setPending(id uint64, failed []result) {
	w.mu.Lock()
	w.pending[id] = failed
	w.mu.Unlock()
}

// logResults writes one line per recipient: delivered, deferred, or
// failed (bounced right after).
func (w *Worker) logResults(ob store.Outbound, results []result, expired bool) {
	for _, res := range results {
		attrs := []any{"session", ob.Session, "queue", ob.Queue, "queue_id", ob.ID, "from", ob.From, "rcpt", res.rcpt,
			"remote", res.remote, "tls", res.tls, "reply", res.diagnostic()}
		switch {
		case res.ok():
			w.log.Info("delivered", attrs...)
		case res.perm:
			w.log.Warn("delivery failed", attrs...)
		case expired:
			w.log.Warn("delivery expired", append(attrs, "attempts", ob.Attempts+1)...)
		default:
			w.log.Info("deferred", append(attrs, "attempts", ob.Attempts+1)...)
		}
	}
}

// summary is LastError: the failures of an attempt, shortened.
func summary(results []result) string {
	var parts []string
	for _, res := range results {
		if !res.ok() {
			parts = append(parts, res.rcpt+": "+res.diagnostic())
		}
	}
	s := strings.Join(parts, "; ")
	if len(s) > maxLastError {
		s = s[:maxLastError] + "…"
	}
	return s
}

const maxLastError = 1000

// bounceReason is the short reason given to the router with a bounce.
func bounceReason(failed []result, retryFor time.Duration) string {
	parts := make([]string, len(failed))
	for i, f := range failed {
		parts[i] = f.rcpt + ": " + f.diagnostic()
		if f.expired {
			parts[i] = fmt.Sprintf("%s: no delivery within %v; last error: %s", f.rcpt, retryFor, f.diagnostic())
		}
	}
	return strings.Join(parts, "; ")
}

func hasRcpt(results []result, rcpt string) bool {
	return slices.ContainsFunc(results, func(r result) bool { return strings.EqualFold(r.rcpt, rcpt) })
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
