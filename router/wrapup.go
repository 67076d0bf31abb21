package router

import (
	"errors"
	"slices"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// Wrap-up codes (issue 19): [[queue.wrapup]] codes an agent records on a
// session as the IMAP keyword $wrapup_<code> (Thunderbird's tag keys are
// lower-case, so that is the form announced; any case is taken), the
// email command "#wrapup <code>" or the API (Act). wrapup_required makes
// a resolve or a transfer wait for one.

// wrapupPrefix begins the keyword of a wrap-up code.
const wrapupPrefix = "$wrapup_"

// WrapupKeyword is the IMAP keyword of wrap-up code code.
func WrapupKeyword(code string) string { return wrapupPrefix + strings.ToLower(code) }

// wrapupOfKeyword returns the code of a wrap-up keyword, in any case.
func wrapupOfKeyword(f string) (string, bool) {
	if len(f) <= len(wrapupPrefix) || !strings.EqualFold(f[:len(wrapupPrefix)], wrapupPrefix) {
		return "", false
	}
	return f[len(wrapupPrefix):], true
}

// wrapupKeywords are the keywords of the codes of the queues named.
func wrapupKeywords(cfg *config.Config, queues ...string) []string {
	var out []string
	for _, name := range queues {
		if q := cfg.QueueByName(name); q != nil {
			for _, w := range q.Wrapup {
				out = append(out, WrapupKeyword(w.Code))
			}
		}
	}
	return out
}

// wrapupList names the codes of q for a refusal: "refund (Refund
// granted), no-fault".
func wrapupList(q *config.Queue) string {
	var out []string
	for _, w := range q.Wrapup {
		if w.Name != w.Code {
			out = append(out, WrapupKeyword(w.Code)+" ("+w.Name+")")
		} else {
			out = append(out, WrapupKeyword(w.Code))
		}
	}
	return strings.Join(out, ", ")
}

// needWrapup refuses move ("resolve", "transfer") of s while its queue
// requires a wrap-up code and s has none.
func (r *Router) needWrapup(s store.Session, move string) error {
	q := r.config().QueueByName(s.Queue)
	if q == nil || !q.WrapupRequiredOn(move) || len(s.Wrapup) > 0 {
		return nil
	}
	return errorf(KindForbidden, "queue %s needs a wrap-up code to %s session %s: tag a message with one of %s, or write #wrapup <code>",
		s.Queue, move, s.ID, wrapupList(q))
}

// wrapup records code on session s as a: the "wrapup" event, the
// session's codes, the keyword on its messages, the metric. A code
// recorded already changes nothing.
func (r *Router) wrapup(tx store.Tx, a *Agent, s store.Session, code string) error {
	q := r.config().QueueByName(s.Queue)
	if q == nil || len(q.Wrapup) == 0 {
		return errorf(KindInvalid, "queue %s has no wrap-up codes ([[queue.wrapup]])", s.Queue)
	}
	w, ok := q.WrapupByCode(code)
	if !ok {
		return errorf(KindInvalid, "%q is not a wrap-up code of queue %s: one of %s", code, s.Queue, wrapupList(q))
	}
	if slices.Contains(s.Wrapup, w.Code) {
		return nil
	}
	old := s
	s.Wrapup = append(slices.Clone(s.Wrapup), w.Code)
	if err := r.event(tx, s.ID, "wrapup", a.Login, w.Code+" ("+w.Name+") in queue "+s.Queue); err != nil {
		return err
	}
	if err := tagSession(tx, s.ID, WrapupKeyword(w.Code)); err != nil {
		return err
	}
	if err := r.countWrapup(tx, a.Login, s.Queue, w.Code); err != nil {
		return err
	}
	note(tx, s.ID, func(o *observation) {
		o.queue, o.wrapups = s.Queue, append(o.wrapups, w.Code)
	})
	_, err := r.commit(tx, old, &s)
	return err
}

// tagSession sets keyword kw on every desk copy of session id (working
// copies and archive), so the client shows the tag wherever it is.
func tagSession(tx store.Tx, id, kw string) error {
	msgs, err := tx.SessionMessages(id)
	if err != nil {
		return err
	}
	boxes := map[store.MailboxID]store.Mailbox{}
	for _, m := range msgs {
		mb, ok := boxes[m.Mailbox]
		if !ok {
			if mb, err = tx.Mailbox(m.Mailbox); err != nil {
				return err
			}
			boxes[m.Mailbox] = mb
		}
		if roleOf(mb) == roleOther || slices.Contains(m.Flags, kw) {
			continue
		}
		if err := noteKeywords(tx, &mb, []string{kw}); err != nil {
			return err
		}
		boxes[m.Mailbox] = mb
		if err := setFlagsIfChanged(tx, m, applyFlags(m.Flags, FlagsAdd, []string{kw})); err != nil {
			return err
		}
	}
	return nil
}

// wrapupsByFlags records the wrap-up codes an agent's STORE added to
// session messages (keywords $wrapup_<code>): an unknown code of the
// session's queue is refused, naming the queue's codes.
func (r *Router) wrapupsByFlags(tx store.Tx, a *Agent, sessions []string, flags []string) error {
	for _, f := range flags {
		code, ok := wrapupOfKeyword(f)
		if !ok {
			continue
		}
		for _, id := range sessions {
			s, err := tx.Session(id)
			if err != nil {
				return err
			}
			if err := r.wrapup(tx, a, s, code); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteDeskWrapups announces the wrap-up keywords in the desk folders'
// FLAGS: each queue's in its Queues/ and All/ folders, an agent's
// queues' in their INBOX, Later and Resolved.
func (r *Router) noteDeskWrapups(tx store.Tx, cfg *config.Config) error {
	for _, q := range cfg.Queue {
		kws := wrapupKeywords(cfg, q.Name)
		for _, name := range []string{queueMailboxName(q.Name), archiveMailboxName(q.Name)} {
			if err := noteMailboxKeywords(tx, "", name, kws); err != nil {
				return err
			}
		}
	}
	for _, ac := range cfg.Agent {
		kws := wrapupKeywords(cfg, cfg.AgentQueues(&ac)...)
		for _, name := range []string{Inbox, LaterFolder, ResolvedFolder} {
			if err := noteMailboxKeywords(tx, strings.ToLower(ac.Login), name, kws); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteMailboxKeywords is noteKeywords on a mailbox by name, if it exists.
func noteMailboxKeywords(tx store.Tx, owner, name string, kws []string) error {
	if len(kws) == 0 {
		return nil
	}
	m, err := tx.MailboxByName(owner, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil // Later exists only where a queue allows it
	}
	if err != nil {
		return err
	}
	return noteKeywords(tx, &m, kws)
}

// canonicalWrapups writes the wrap-up keywords of flags in the form
// announced ($wrapup_<code> in lower case), so that one code is one
// keyword whatever case the client used.
func canonicalWrapups(flags []string) []string {
	out := slices.Clone(flags)
	for i, f := range out {
		if code, ok := wrapupOfKeyword(f); ok {
			out[i] = WrapupKeyword(code)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// today is the local date by the top-level timezone.
func (r *Router) today() string {
	return r.now().In(r.config().Location()).Format(time.DateOnly)
}

// countWrapup counts a code recorded by login today, in their agent
// state (store.AgentState.Wrapups).
func (r *Router) countWrapup(tx store.Tx, login, queue, code string) error {
	st, err := tx.AgentState(login)
	if err != nil {
		return err
	}
	if day := r.today(); st.WrapupDay != day || st.Wrapups == nil {
		st.WrapupDay, st.Wrapups = day, map[string]int{}
	}
	st.Wrapups[queue+"/"+code]++
	return tx.PutAgentState(st)
}

// WrapupsToday counts the wrap-up codes recorded today (top-level
// timezone) by the configured agents, per queue and code.
func (r *Router) WrapupsToday() (map[string]map[string]int, error) {
	cfg, day := r.config(), r.today()
	out := map[string]map[string]int{}
	err := r.st.View(func(rd store.Reader) error {
		for _, ac := range cfg.Agent {
			st, err := rd.AgentState(strings.ToLower(ac.Login))
			if err != nil {
				return err
			}
			if st.WrapupDay != day {
				continue
			}
			for key, n := range st.Wrapups {
				i := strings.LastIndexByte(key, '/')
				q, code := key[:i], key[i+1:]
				if out[q] == nil {
					out[q] = map[string]int{}
				}
				out[q][code] += n
			}
		}
		return nil
	})
	return out, err
}
