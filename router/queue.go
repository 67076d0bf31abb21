package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"mxdesk/store"
)

// OutboundProgress is what a delivery attempt did to a queued message,
// for RecordOutbound.
type OutboundProgress struct {
	// Done are recipients that need no more attempts: delivered (the
	// remote answered 2xx) or bounced (the bounce is filed). They leave
	// To; the message leaves the queue with its last recipient.
	Done []string
	// Attempted counts an attempt: Attempts+1 and LastError and
	// NextAttempt as given. Without it only Done is applied (a commit
	// between the transactions of one attempt).
	Attempted   bool
	LastError   string
	NextAttempt time.Time
	// SentCopy is the [[account]] whose sent_folder gets a copy of the
	// message: Done holds a recipient its SMTP accepted. It is recorded
	// in the same transaction (store.SentCopy).
	SentCopy string
	// Release, when not zero and without Attempted, is the message's new
	// NextAttempt: a lease given back (an attempt cut off by shutdown),
	// so another node may send it at once.
	Release time.Time
}

// RecordOutbound applies p to the queued message id in one durable update
// and returns the message as it is now; queued is false when it has left
// the queue (now, or before: a message already gone is not an error). The
// delivery worker calls it after every SMTP transaction, so a recipient
// confirmed by the remote is never sent to again, even after a crash.
func (r *Router) RecordOutbound(ctx context.Context, id uint64, p OutboundProgress) (ob store.Outbound, queued bool, err error) {
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		ob, queued, err = applyProgress(tx, id, p)
		return err
	})
	return ob, queued, err
}

// LeaseOutbound takes the queued message id for this node's delivery
// worker until until, when it is due by now and no other node holds it
// (store.OutboundLeaser: a store several nodes share); ok is false when
// it is not (gone, not due, leased elsewhere). The store must lease.
func (r *Router) LeaseOutbound(ctx context.Context, id uint64, now, until time.Time) (ob store.Outbound, ok bool, err error) {
	err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		if m, metered := tx.(*meteredTx); metered {
			tx = m.Tx
		}
		l, leases := tx.(store.OutboundLeaser)
		if !leases {
			return errors.New("router: this store does not lease queued messages (delivery leases need a shared store: store.backend = \"postgres\")")
		}
		ob, ok, err = l.LeaseOutbound(id, now, until)
		return err
	})
	return ob, ok, err
}

func recordOutbound(tx store.Tx, id uint64, p OutboundProgress) (bool, error) {
	_, queued, err := applyProgress(tx, id, p)
	return queued, err
}

// applyProgress is RecordOutbound inside a transaction.
func applyProgress(tx store.Tx, id uint64, p OutboundProgress) (store.Outbound, bool, error) {
	cur, err := tx.Outbound(id)
	if errors.Is(err, store.ErrNotFound) {
		return cur, false, nil
	}
	if err != nil {
		return cur, false, err
	}
	cur.To = slices.DeleteFunc(slices.Clone(cur.To), func(rcpt string) bool {
		return slices.ContainsFunc(p.Done, func(d string) bool { return strings.EqualFold(d, rcpt) })
	})
	if p.Attempted {
		cur.Attempts++
		cur.LastError = p.LastError
		cur.NextAttempt = p.NextAttempt
	} else if !p.Release.IsZero() {
		cur.NextAttempt = p.Release
	}
	if p.SentCopy != "" {
		if err := tx.PutSentCopy(store.SentCopy{Account: p.SentCopy, Outbound: id, Blob: cur.Blob}); err != nil {
			return cur, false, err
		}
	}
	if err := campaignDelivery(tx, cur.Session, p.Attempted, len(cur.To) > 0); err != nil {
		return cur, false, err
	}
	if len(cur.To) == 0 {
		return cur, false, tx.RemoveOutbound(id)
	}
	return cur, true, tx.UpdateOutbound(cur)
}
