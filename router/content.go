package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mxdesk/config"
	"mxdesk/policy"
	"mxdesk/store"
)

// contentPolicy builds the attachment rules and the virus scanner of cfg
// ([policy]).
func contentPolicy(cfg *config.Config) (policy.Rules, policy.Scanner) {
	p := cfg.Policy
	rules := policy.DefaultRules().Amend(p.Allow, p.Block)
	rules.MaxAttachments, rules.MaxAttachmentBytes = p.MaxAttachments, p.MaxAttachmentBytes
	rules.MaxDepth, rules.MaxHeaders, rules.MaxHeaderBytes = p.MaxDepth, p.MaxHeaders, p.MaxHeaderBytes
	if p.Clamd == "" {
		return rules, nil
	}
	return rules, policy.NewClamd(p.Clamd, p.ClamdTimeout.Duration)
}

// inspect applies the content policy to an inbound message before it is
// threaded: blocked and infected attachments are replaced by notes in
// the copy agents get. When the scanner is down the message is refused
// for now (451): nothing reaches an agent unscanned.
func (r *Router) inspect(ctx context.Context, raw []byte) (policy.Result, error) {
	l := r.cur.Load()
	res, err := policy.Inspect(ctx, raw, l.rules, l.scanner)
	var limit *policy.LimitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &limit):
		return res, errorf(KindInvalid, "%s", limit.Error())
	case errors.Is(err, policy.ErrScanUnavailable):
		r.log.Error("virus scanner unavailable: mail waits (451)", "clamd", l.cfg.Policy.Clamd, "err", err)
		return res, errorf(KindUnavailable, "virus scanner unavailable, try again later")
	case errors.Is(err, policy.ErrMalformed):
		return res, errorf(KindInvalid, "malformed message header")
	}
	return res, err
}

// quarantine keeps the original of a message whose attachments were
// removed, in the same transaction as its cleaned copy, and records what
// was removed in the session.
func (r *Router) quarantine(tx store.Tx, env Envelope, raw []byte, session string, removed []policy.Removal) error {
	blob, err := tx.PutBlob(raw)
	if err != nil {
		return err
	}
	var lines []string
	for _, rm := range removed {
		line := fmt.Sprintf("part %s %q (%s): %s", rm.Path, rm.Filename, rm.SniffedType, rm.Reason)
		lines = append(lines, line)
		if err := r.event(tx, session, "attachment-removed", "system", line); err != nil {
			return err
		}
	}
	q, err := tx.Quarantine(store.Quarantined{
		Session: session, Blob: blob, From: env.From, To: env.To, Removed: lines, Created: r.now(),
	})
	if err != nil {
		return err
	}
	return r.event(tx, session, "quarantined", "system", fmt.Sprintf("original kept as quarantine %d: %s", q.ID, strings.Join(lines, "; ")))
}
