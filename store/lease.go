package store

import "time"

// OutboundLeaser is a write transaction of a store that several nodes
// share (pgstore): it leases a queued message to one node's delivery
// worker, so two nodes never send one message at once (issue 22). The
// lease is the message's NextAttempt moved to the lease's end: a worker
// that dies holding it loses it then, and any node's worker finds the
// message due again. A store one process opens (badger) has none.
type OutboundLeaser interface {
	// LeaseOutbound takes queued message id when it is due by now and
	// no other transaction holds it, setting its NextAttempt to until,
	// and returns it with ok. ok is false, with no error, when the
	// message is gone, not due (another node leased it, or it was
	// rescheduled) or being leased by another node right now.
	LeaseOutbound(id uint64, now, until time.Time) (o Outbound, ok bool, err error)
}
