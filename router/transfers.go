package router

import (
	"slices"
	"strings"
	"time"

	"mxdesk/store"
)

// The transfer view (Queues/<queue>/Transfers, seed 003's transfer
// queue): while a session is transferred to an agent and left unopened,
// its latest inbound message has one more working copy there, tagged
// with the target ($to_<login>) and, once over the queue's
// kpi_wait_alarm, with $KPIAlarm. Any agent of the queue sees the view
// and takes a session by moving it to their INBOX (moveSession); the copy
// leaves as soon as the target opens it, anyone takes it, or it closes.
// place keeps it (fileTransferView), so it is a working copy like the
// others and nothing lists it aside.

// KPIAlarmKeyword marks a transfer's copy in the view once it is left
// unopened beyond the queue's kpi_wait_alarm.
const KPIAlarmKeyword = "$KPIAlarm"

// transferKeywordPrefix starts the keyword naming a transfer's target.
const transferKeywordPrefix = "$to_"

// TransferKeyword is the keyword naming the agent a session in the
// transfer view was transferred to ("$to_bob@example.test").
func TransferKeyword(login string) string { return transferKeywordPrefix + login }

// isTransferView reports whether a shared mailbox name is a queue's
// transfer view.
func isTransferView(name string) bool {
	rest, ok := strings.CutPrefix(name, QueuesFolder+"/")
	q, ok2 := strings.CutSuffix(rest, transfersSuffix)
	return ok && ok2 && q != ""
}

// inTransferView reports whether s belongs in its queue's transfer view:
// handed to an agent (handTo) who has not opened it yet.
func inTransferView(s store.Session) bool {
	return s.Agent != "" && !s.TransferredAt.IsZero() && s.Status == StatusUnopened && !s.Spam
}

// transferAlarmAt is the first instant s, in the transfer view, is over
// its queue's kpi_wait_alarm (overKPI is strict); ok is false when it
// never will be.
func (r *Router) transferAlarmAt(s store.Session) (time.Time, bool) {
	q := r.config().QueueByName(s.Queue)
	if !inTransferView(s) || q == nil || q.KPIWaitAlarm.Duration <= 0 {
		return time.Time{}, false
	}
	return s.TransferredAt.Add(q.KPIWaitAlarm.Duration + time.Nanosecond), true
}

// overTransferAlarm reports whether s, in the transfer view, is over its
// queue's kpi_wait_alarm at t.
func (r *Router) overTransferAlarm(s store.Session, t time.Time) bool {
	alarm, ok := r.transferAlarmAt(s)
	return ok && !t.Before(alarm)
}

// transferAlarmCrossed reports whether s went over the alarm between its
// last commit (old) and now: its copy in the view needs the keyword.
func (r *Router) transferAlarmCrossed(old, s store.Session, now time.Time) bool {
	return r.overTransferAlarm(s, now) && !r.overTransferAlarm(s, old.Updated)
}

// transferFlags are the flags of the view's copy of s: the client's own
// (\Seen, tags) with the target, the status and the alarm as they are now.
func (r *Router) transferFlags(s store.Session, cur []string) []string {
	flags := slices.DeleteFunc(slices.Clone(cur), func(f string) bool {
		return strings.HasPrefix(f, transferKeywordPrefix) || f == KPIAlarmKeyword
	})
	flags = append(flags, TransferKeyword(s.Agent))
	if r.overTransferAlarm(s, r.now()) {
		flags = append(flags, KPIAlarmKeyword)
	}
	return withStatus(flags, s.Status)
}

// fileTransferView keeps the copy of s in its queue's transfer view:
// exactly its latest inbound message while s is in the view (copied from
// its working copy), none otherwise, wherever an older copy was.
func (r *Router) fileTransferView(tx store.Tx, s store.Session) error {
	msgs, err := tx.SessionMessages(s.ID)
	if err != nil {
		return err
	}
	var view store.Mailbox
	want := inTransferView(s)
	if want {
		if view, err = tx.MailboxByName("", transferViewName(s.Queue)); err != nil {
			return err
		}
	}
	var source *store.Message // a copy of the latest inbound to copy from
	kept := false
	for i, m := range msgs {
		mb, err := tx.Mailbox(m.Mailbox)
		if err != nil {
			return err
		}
		if roleOf(mb) != roleTransfers {
			if m.Blob == s.LastInbound && source == nil {
				source = &msgs[i]
			}
			continue
		}
		if want && !kept && mb.ID == view.ID && m.Blob == s.LastInbound {
			kept = true
			if err := r.setTransferFlags(tx, &view, m, r.transferFlags(s, m.Flags)); err != nil {
				return err
			}
			continue
		}
		if err := tx.RemoveMessage(m.Mailbox, m.UID); err != nil {
			return err
		}
	}
	if !want || kept || source == nil {
		return nil
	}
	// The copy carries the session's tags (wrap-up codes), unread.
	flags := r.transferFlags(s, slices.DeleteFunc(slices.Clone(source.Flags), func(f string) bool { return f == `\Seen` }))
	if err := noteKeywords(tx, &view, flags); err != nil {
		return err
	}
	_, err = copyMessage(tx, *source, view.ID, flags)
	return err
}

// setTransferFlags sets the view's copy m to flags, announcing new
// keywords in the view's FLAGS first.
func (r *Router) setTransferFlags(tx store.Tx, view *store.Mailbox, m store.Message, flags []string) error {
	slices.Sort(flags)
	if slices.Equal(m.Flags, flags) {
		return nil
	}
	if err := noteKeywords(tx, view, flags); err != nil {
		return err
	}
	return tx.SetFlags(m.Mailbox, m.UID, flags)
}

// TransferViewCounts counts, per queue, the sessions in its transfer view.
func (r *Router) TransferViewCounts() (map[string]int, error) {
	out := map[string]int{}
	err := r.st.View(func(rd store.Reader) error {
		for _, q := range r.config().Queue {
			view, err := rd.MailboxByName("", transferViewName(q.Name))
			if err != nil {
				return err
			}
			msgs, err := rd.Messages(view.ID, 0, 0)
			if err != nil {
				return err
			}
			out[q.Name] = len(msgs)
		}
		return nil
	})
	return out, err
}
