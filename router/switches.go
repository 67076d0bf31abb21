package router

import (
	"fmt"

	"mxdesk/config"
)

// The queue switches (issue 19): enabled = false keeps a queue readable
// but takes no mail and assigns nothing into it; receive = false takes
// replies to its conversations only.
var (
	// ErrQueueDisabled: the address is a disabled queue's; refused at RCPT.
	ErrQueueDisabled = errorf(KindForbidden, "this address is disabled and accepts no mail")
	// ErrNoNewMail: a message that would start a session in a queue
	// with receive = false; refused after DATA, when threading is known.
	ErrNoNewMail = errorf(KindForbidden, "this address accepts only replies to existing conversations, no new mail")
)

// disabledError says which queue's enabled switch refused addr.
func disabledError(q *config.Queue) error {
	return switchErrorf(ErrQueueDisabled, "queue %s is disabled (queue.enabled = false): it accepts no mail", q.Name)
}

// noNewMailError says which queue's receive switch refused a new session.
func noNewMailError(queue string) error {
	return switchErrorf(ErrNoNewMail, "queue %s takes no new mail (queue.receive = false), only replies to existing conversations", queue)
}

// switchError is a refusal by a queue switch: a router Error of
// KindForbidden whose message names the queue and key (what agents and
// logs see), that is also its sentinel for errors.Is (what the MX
// answers customers by).
type switchError struct {
	msg      string
	sentinel error
}

func switchErrorf(sentinel error, format string, args ...any) error {
	return &switchError{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}

func (e *switchError) Error() string { return e.msg }

func (e *switchError) Unwrap() []error {
	return []error{&Error{Kind: KindForbidden, Msg: e.msg}, e.sentinel}
}

// takesNewMail reports whether queue may start sessions from inbound
// mail: enabled and receiving (an unknown queue is the caller's to judge).
func takesNewMail(cfg *config.Config, queue string) bool {
	q := cfg.QueueByName(queue)
	return q == nil || (q.Enabled && q.Receive)
}

// isDisabled reports whether queue is configured and disabled.
func isDisabled(cfg *config.Config, queue string) bool {
	q := cfg.QueueByName(queue)
	return q != nil && !q.Enabled
}

// outboundQueue is the queue a session an agent writes first starts in
// (newOutboundSession): From's queue, else the agent's first enabled
// queue. A disabled queue starts nothing: its customers' answers would
// be refused.
func (r *Router) outboundQueue(a *Agent, from string) (string, error) {
	cfg := r.config()
	if q, ok := cfg.QueueByAddress(from); ok && a.servesQueue(q.Name) {
		if !q.Enabled {
			return "", errorf(KindForbidden, "queue %s is disabled (queue.enabled = false): write from the address of an enabled queue", q.Name)
		}
		return q.Name, nil
	}
	for _, q := range a.Queues {
		if !isDisabled(cfg, q) {
			return q, nil
		}
	}
	if len(a.Queues) > 0 {
		return "", errorf(KindForbidden, "your queues are disabled (queue.enabled = false), so mail you write can't start a session")
	}
	return "", errorf(KindForbidden, "you serve no queue, so mail you write can't start a session")
}

// refuseTransferInto refuses moving a session into a disabled queue
// (NO [CANNOT] over IMAP, 550 on submission).
func refuseTransferInto(cfg *config.Config, target string) error {
	if isDisabled(cfg, target) {
		return errorf(KindForbidden, "queue %s is disabled (queue.enabled = false): nothing can be transferred into it", target)
	}
	return nil
}
