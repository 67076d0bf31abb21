package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"mxdesk/store"
)

// Records is a store.Sink that keeps what a source store exported
// (badgerstore's Export), to compare a copy with it (Compare).
type Records struct {
	Counters      store.Counters
	Mailboxes     []store.Mailbox
	Blobs         map[store.BlobID][]byte
	Messages      []store.Message
	Expunged      map[store.MailboxID][]store.UID
	Subscriptions map[string][]string
	Sessions      []store.Session
	Tokens        map[string]string
	MessageIDs    map[string]string
	Events        map[string][]store.Event
	Outbound      []store.Outbound
	Hooks         []store.Hook
	Quarantined   []store.Quarantined
	Archived      []store.Archived
	AgentStates   []store.AgentState
	AutoMail      []store.AutoMail
	ImportStates  []store.ImportState
	SentCopies    map[string][]store.SentCopy
	APITokens     []store.APIToken
	Requests      map[string]string
	Campaigns     []store.Campaign
	CampaignRows  []store.CampaignRecipient
	Suppressions  []store.Suppression
}

// NewRecords is an empty Records.
func NewRecords() *Records {
	return &Records{Blobs: map[store.BlobID][]byte{}, Expunged: map[store.MailboxID][]store.UID{},
		Subscriptions: map[string][]string{}, Tokens: map[string]string{}, MessageIDs: map[string]string{},
		Events: map[string][]store.Event{}, SentCopies: map[string][]store.SentCopy{}, Requests: map[string]string{}}
}

// sink adapts Records to store.Sink (its field names take the methods'
// names).
type sink struct{ r *Records }

// Sink is the store.Sink filling r.
func (r *Records) Sink() store.Sink { return sink{r} }

func (s sink) Counters(c store.Counters) error { s.r.Counters = c; return nil }
func (s sink) Mailbox(m store.Mailbox) error   { s.r.Mailboxes = append(s.r.Mailboxes, m); return nil }
func (s sink) Blob(id store.BlobID, _ int, data []byte) error {
	s.r.Blobs[id] = slices.Clone(data)
	return nil
}
func (s sink) Message(m store.Message) error { s.r.Messages = append(s.r.Messages, m); return nil }
func (s sink) Expunged(mbox store.MailboxID, _ uint64, uid store.UID) error {
	s.r.Expunged[mbox] = append(s.r.Expunged[mbox], uid)
	return nil
}
func (s sink) Subscription(owner, name string) error {
	s.r.Subscriptions[owner] = append(s.r.Subscriptions[owner], name)
	return nil
}
func (s sink) Session(x store.Session) error       { s.r.Sessions = append(s.r.Sessions, x); return nil }
func (s sink) Token(token, session string) error   { s.r.Tokens[token] = session; return nil }
func (s sink) MessageID(mid, session string) error { s.r.MessageIDs[mid] = session; return nil }
func (s sink) Event(_ uint64, e store.Event) error {
	s.r.Events[e.Session] = append(s.r.Events[e.Session], e)
	return nil
}
func (s sink) Outbound(o store.Outbound) error { s.r.Outbound = append(s.r.Outbound, o); return nil }
func (s sink) Hook(h store.Hook) error         { s.r.Hooks = append(s.r.Hooks, h); return nil }
func (s sink) Quarantined(q store.Quarantined) error {
	s.r.Quarantined = append(s.r.Quarantined, q)
	return nil
}
func (s sink) Archived(a store.Archived) error { s.r.Archived = append(s.r.Archived, a); return nil }
func (s sink) AgentState(a store.AgentState) error {
	s.r.AgentStates = append(s.r.AgentStates, a)
	return nil
}
func (s sink) AutoMail(a store.AutoMail, _ time.Time) error {
	s.r.AutoMail = append(s.r.AutoMail, a)
	return nil
}
func (s sink) ImportState(x store.ImportState) error {
	s.r.ImportStates = append(s.r.ImportStates, x)
	return nil
}
func (s sink) SentCopy(c store.SentCopy) error {
	s.r.SentCopies[c.Account] = append(s.r.SentCopies[c.Account], c)
	return nil
}
func (s sink) APIToken(t store.APIToken) error { s.r.APITokens = append(s.r.APITokens, t); return nil }
func (s sink) Request(uri, mid string) error   { s.r.Requests[uri] = mid; return nil }
func (s sink) Campaign(c store.Campaign) error { s.r.Campaigns = append(s.r.Campaigns, c); return nil }
func (s sink) Suppression(x store.Suppression) error {
	s.r.Suppressions = append(s.r.Suppressions, x)
	return nil
}
func (s sink) CampaignRecipient(c store.CampaignRecipient) error {
	s.r.CampaignRows = append(s.r.CampaignRows, c)
	return nil
}

// Compare reads every record of r back through src (the source store)
// and dst (its copy) and returns one line per difference: each record
// as the Reader gives it, then the indexes built from them (due
// sessions, waiting lines, agents' loads, counts, the due queues).
func Compare(r *Records, src, dst store.Reader) []string {
	c := comparer{src: src, dst: dst}
	c.records(r)
	c.indexes(r)
	return c.diffs
}

type comparer struct {
	src, dst store.Reader
	diffs    []string
}

// same reads one thing from both readers and notes any difference.
func same[T any](c *comparer, what string, read func(store.Reader) (T, error)) {
	a, errA := read(c.src)
	b, errB := read(c.dst)
	switch {
	case errA != nil:
		c.diffs = append(c.diffs, fmt.Sprintf("%s: source: %v", what, errA))
	case errB != nil:
		c.diffs = append(c.diffs, fmt.Sprintf("%s: copy: %v", what, errB))
	case !equal(reflect.ValueOf(a), reflect.ValueOf(b)):
		c.diffs = append(c.diffs, fmt.Sprintf("%s: source %+v, copy %+v", what, a, b))
	}
}

// equal is reflect.DeepEqual but for what the stores may tell apart
// without a difference in meaning: times are equal at the same instant
// (badger's indexes rebuild them in the local zone), a nil slice or map
// equals an empty one.
func equal(a, b reflect.Value) bool {
	if a.Type() == reflect.TypeFor[time.Time]() {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		if a.Kind() == reflect.Map {
			for _, k := range a.MapKeys() {
				if bv := b.MapIndex(k); !bv.IsValid() || !equal(a.MapIndex(k), bv) {
					return false
				}
			}
			return true
		}
		for i := range a.Len() {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

func (c *comparer) records(r *Records) {
	for _, m := range r.Mailboxes {
		same(c, fmt.Sprintf("mailbox %d", m.ID), func(x store.Reader) (store.Mailbox, error) { return x.Mailbox(m.ID) })
		same(c, fmt.Sprintf("mailbox %q of %q", m.Name, m.Owner), func(x store.Reader) (store.Mailbox, error) { return x.MailboxByName(m.Owner, m.Name) })
		same(c, fmt.Sprintf("mailboxes of %q", m.Owner), func(x store.Reader) ([]store.Mailbox, error) { return x.Mailboxes(m.Owner) })
		same(c, fmt.Sprintf("messages of mailbox %d", m.ID), func(x store.Reader) ([]store.Message, error) { return x.Messages(m.ID, 0, 0) })
		same(c, fmt.Sprintf("expunged of mailbox %d", m.ID), func(x store.Reader) ([]store.UID, error) { return x.Expunged(m.ID, 0) })
	}
	for _, m := range r.Messages {
		same(c, fmt.Sprintf("message %d/%d", m.Mailbox, m.UID), func(x store.Reader) (store.Message, error) { return x.Message(m.Mailbox, m.UID) })
	}
	for id := range r.Blobs {
		same(c, fmt.Sprintf("blob %d", id), func(x store.Reader) ([]byte, error) { return x.Blob(id) })
	}
	for owner := range r.Subscriptions {
		same(c, fmt.Sprintf("kept subscriptions of %q", owner), func(x store.Reader) ([]string, error) { return x.KeptSubscriptions(owner) })
	}
	for _, s := range r.Sessions {
		same(c, "session "+s.ID, func(x store.Reader) (store.Session, error) { return x.Session(s.ID) })
		same(c, "events of "+s.ID, func(x store.Reader) ([]store.Event, error) { return x.Events(s.ID) })
		same(c, "messages of "+s.ID, func(x store.Reader) ([]store.Message, error) { return x.SessionMessages(s.ID) })
	}
	for token := range r.Tokens {
		same(c, "token "+token, func(x store.Reader) (string, error) { return x.SessionByToken(token) })
	}
	for mid := range r.MessageIDs {
		same(c, "Message-ID "+mid, func(x store.Reader) (string, error) { return x.SessionByMessageID(mid) })
	}
	c.queues(r)
	c.remembered(r)
	c.api(r)
	c.campaigns(r)
}

func (c *comparer) queues(r *Records) {
	for _, o := range r.Outbound {
		same(c, fmt.Sprintf("outbound %d", o.ID), func(x store.Reader) (store.Outbound, error) { return x.Outbound(o.ID) })
	}
	for _, h := range r.Hooks {
		same(c, fmt.Sprintf("CRM event %d", h.ID), func(x store.Reader) (store.Hook, error) { return x.Hook(h.ID) })
	}
	for _, q := range r.Quarantined {
		same(c, fmt.Sprintf("quarantined %d", q.ID), func(x store.Reader) (store.Quarantined, error) { return x.Quarantined(q.ID) })
	}
	for account := range r.SentCopies {
		same(c, "sent copies of "+account, func(x store.Reader) ([]store.SentCopy, error) { return x.SentCopies(account, 0) })
	}
}

func (c *comparer) remembered(r *Records) {
	for _, a := range r.Archived {
		same(c, "archived "+a.ID, func(x store.Reader) (store.Archived, error) { return x.Archived(a.ID) })
	}
	for _, a := range r.AgentStates {
		same(c, "agent state of "+a.Login, func(x store.Reader) (store.AgentState, error) { return x.AgentState(a.Login) })
	}
	for _, a := range r.AutoMail {
		same(c, "auto mail to "+a.Address, func(x store.Reader) (store.AutoMail, error) { return x.AutoMail(a.Address) })
	}
	for _, s := range r.ImportStates {
		same(c, "import state of "+s.Account, func(x store.Reader) (store.ImportState, error) { return x.ImportState(s.Account) })
	}
}

func (c *comparer) api(r *Records) {
	for _, t := range r.APITokens {
		same(c, "API token "+t.Name, func(x store.Reader) (store.APIToken, error) { return x.APIToken(t.Name) })
		same(c, "API token by hash "+t.Hash, func(x store.Reader) (store.APIToken, error) { return x.APITokenByHash(t.Hash) })
	}
	same(c, "API tokens", func(x store.Reader) ([]store.APIToken, error) { return x.APITokens() })
	for uri := range r.Requests {
		same(c, "request "+uri, func(x store.Reader) (string, error) { return x.RequestMessage(uri) })
	}
}

func (c *comparer) campaigns(r *Records) {
	same(c, "campaigns", func(x store.Reader) ([]store.Campaign, error) { return x.Campaigns() })
	for _, row := range r.CampaignRows {
		same(c, fmt.Sprintf("campaign %d row %d", row.Campaign, row.Row), func(x store.Reader) (store.CampaignRecipient, error) {
			return x.CampaignRecipient(row.Campaign, row.Row)
		})
		if row.Session != "" {
			same(c, "campaign row of "+row.Session, func(x store.Reader) (store.CampaignRecipient, error) {
				return x.CampaignRecipientBySession(row.Session)
			})
		}
	}
	for _, s := range r.Suppressions {
		same(c, "suppression of "+s.Address, func(x store.Reader) (store.Suppression, error) { return x.Suppressed(s.Address) })
	}
}

// indexes compares what the stores build from the records: a far
// future includes every due time.
func (c *comparer) indexes(r *Records) {
	future := time.Now().AddDate(100, 0, 0)
	same(c, "due sessions", func(x store.Reader) ([]string, error) { return x.DueSessions(future, 1<<20) })
	same(c, "session counts", func(x store.Reader) (map[string]map[string]int, error) { return x.SessionCounts() })
	same(c, "due outbound", func(x store.Reader) ([]store.Outbound, error) { return x.DueOutbound(future, 1<<20) })
	same(c, "outbound count", func(x store.Reader) (int, error) { return x.OutboundCount() })
	same(c, "due CRM events", func(x store.Reader) ([]store.Hook, error) { return x.DueHooks(future, 1<<20) })
	same(c, "CRM events", func(x store.Reader) ([]store.Hook, error) { return x.Hooks(0) })
	same(c, "quarantine", func(x store.Reader) ([]store.Quarantined, error) { return x.QuarantineList() })
	queues, agents, statuses := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range r.Sessions {
		queues[s.Queue], agents[s.Agent], statuses[s.Status] = true, true, true
	}
	for q := range queues {
		same(c, "waiting in "+q, func(x store.Reader) ([]store.Waiting, error) { return x.WaitingSessions(q, 0) })
	}
	for a := range agents {
		same(c, "active sessions of "+a, func(x store.Reader) ([]string, error) { return x.ActiveSessions(a) })
		same(c, "active count of "+a, func(x store.Reader) (int, error) { return x.ActiveCount(a) })
	}
	for st := range statuses {
		same(c, "sessions in status "+st, func(x store.Reader) ([]string, error) {
			var ids []string
			err := x.SessionsInStatus(st, future, func(id string, _ time.Time) (bool, error) {
				ids = append(ids, id)
				return true, nil
			})
			return ids, err
		})
	}
}

// FillEveryKind writes into s at least one record of every kind a copy
// must keep, with IDs and counters moved past their first values (a
// mailbox deleted, expunges, a session archived, an outbound sent), so a
// copy that renumbers anything shows.
func FillEveryKind(t testing.TB, s store.Store) {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		gone, err := tx.CreateMailbox(store.Mailbox{Owner: "alice", Name: "Old"})
		if err != nil {
			return err
		}
		if err := tx.DeleteMailbox(gone.ID); err != nil {
			return err
		}
		inbox, err := tx.CreateMailbox(store.Mailbox{Owner: "alice", Name: "INBOX", Subscribed: true})
		if err != nil {
			return err
		}
		queue, err := tx.CreateMailbox(store.Mailbox{Name: "Queues/Support", Keywords: []string{"$Label1"}})
		if err != nil {
			return err
		}
		var blobs []store.BlobID
		for i := range 6 {
			id, err := tx.PutBlob([]byte(fmt.Sprintf("Subject: message %d\r\n\r\nbody %d\r\n", i, i)))
			if err != nil {
				return err
			}
			blobs = append(blobs, id)
		}
		for i, b := range blobs[:4] {
			m, err := tx.AddMessage(store.Message{Mailbox: queue.ID, Blob: b, Size: 30, Flags: []string{"\\Recent"},
				InternalDate: now, Session: "S-AAAAA"})
			if err != nil {
				return err
			}
			switch i {
			case 1:
				if err := tx.SetFlags(queue.ID, m.UID, []string{"\\Seen", "$Label1"}); err != nil {
					return err
				}
			case 2:
				if err := tx.RemoveMessage(queue.ID, m.UID); err != nil {
					return err
				}
			}
		}
		if _, err := tx.AddMessage(store.Message{Mailbox: inbox.ID, Blob: blobs[0], Size: 30, InternalDate: now}); err != nil {
			return err
		}
		if err := tx.KeepSubscription("alice", "Gone", true); err != nil {
			return err
		}
		for _, ses := range []store.Session{
			{ID: "S-AAAAA", Queue: "support", Agent: "alice", ActiveAgent: "alice", Status: "active", Customer: "c@example.org",
				Subject: "help", Created: now, Updated: now, Token: "tok-a", LastActivity: now, StatusSince: now,
				Due: now.Add(time.Hour), Cc: []string{"Dan <dan@example.org>"}, Wrapup: []string{"billing"}},
			{ID: "S-BBBBB", Queue: "support", Status: "waiting", Customer: "d@example.org", Created: now, Updated: now,
				Token: "tok-b", StatusSince: now, WaitingSince: now.Add(-time.Minute)},
			{ID: "S-CCCCC", Queue: "sales", Status: "resolved", Customer: "e@example.org", Created: now, Updated: now,
				Token: "tok-c", StatusSince: now},
		} {
			if err := tx.PutSession(ses); err != nil {
				return err
			}
			if err := tx.IndexMessageID("m-"+ses.ID+"@example.org", ses.ID); err != nil {
				return err
			}
			for _, kind := range []string{"received", "assigned"} {
				if err := tx.AddEvent(store.Event{Session: ses.ID, Time: now, Kind: kind, Actor: "system"}); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteSession("S-CCCCC", store.Archived{Queue: "sales", Customer: "e@example.org",
			Location: "s3://archive/sales/S-CCCCC/", ArchivedAt: now}); err != nil {
			return err
		}
		o, err := tx.Enqueue(store.Outbound{Session: "S-AAAAA", Agent: "alice", Blob: blobs[4], From: "support@example.com",
			To: []string{"c@example.org"}, Created: now, NextAttempt: now.Add(time.Minute), Attempts: 1, LastError: "451 try later"})
		if err != nil {
			return err
		}
		sent, err := tx.Enqueue(store.Outbound{Session: "S-AAAAA", Agent: "alice", Blob: blobs[4], From: "support@example.com",
			To: []string{"c@example.org"}, Created: now, NextAttempt: now})
		if err != nil {
			return err
		}
		if err := tx.RemoveOutbound(sent.ID); err != nil {
			return err
		}
		if err := tx.PutSentCopy(store.SentCopy{Account: "support@example.com", Outbound: o.ID, Blob: blobs[4]}); err != nil {
			return err
		}
		for i, typ := range []string{"ticket.created", "ticket.comment", "ticket.comment"} {
			h, err := tx.EnqueueHook(store.Hook{WebhookID: fmt.Sprintf("msg_%d", i), Session: "S-AAAAA", Type: typ, Kind: "link",
				Blob: blobs[0], Created: now, Since: now, NextAttempt: now})
			if err != nil {
				return err
			}
			if i == 0 {
				h.Dead, h.LastError, h.Attempts = true, "400 bad request", 3
				if err := tx.UpdateHook(h); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Quarantine(store.Quarantined{Session: "S-AAAAA", Blob: blobs[5], From: "c@example.org",
			To: []string{"support@example.com"}, Removed: []string{"invoice.exe: blocked extension"}, Created: now}); err != nil {
			return err
		}
		if err := tx.PutAgentState(store.AgentState{Login: "alice", LastAssigned: now, Day: map[string]string{"support": "2026-12-03"},
			Assigned: map[string]int{"support": 2}, Turn: map[string]uint64{"support": 7}}); err != nil {
			return err
		}
		if err := tx.PutAutoMail(store.AutoMail{Address: "c@example.org", Day: "2026-12-03", Count: 1,
			LastReply: map[string]time.Time{"support": now}}, 24*time.Hour); err != nil {
			return err
		}
		if err := tx.PutAutoMail(store.AutoMail{Address: "d@example.org", SuppressedUntil: now.Add(time.Hour)}, 0); err != nil {
			return err
		}
		if err := tx.PutImportState(store.ImportState{Account: "support@example.com", Folder: "INBOX", UIDValidity: 7,
			LastUID: 42, Start: now}); err != nil {
			return err
		}
		if err := tx.PutAPIToken(store.APIToken{Name: "crm", Role: "integrator", Hash: "ab12", Created: now}); err != nil {
			return err
		}
		if err := tx.PutRequest("/v1/sessions/S-AAAAA/replies/1", "m-S-AAAAA@example.org"); err != nil {
			return err
		}
		return fillCampaign(tx, now)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func fillCampaign(tx store.Tx, now time.Time) error {
	c, err := tx.PutCampaign(store.Campaign{Queue: "sales", Template: "offer", Window: "Mon-Fri 09:00-17:00", Rate: "1/s",
		Interval: time.Second, Columns: []string{"email", "name"}, State: "running", Rows: 2, Cursor: 2, NextSend: now, Created: now})
	if err != nil {
		return err
	}
	for _, r := range []store.CampaignRecipient{
		{Campaign: c.ID, Row: 1, Line: 2, Email: "f@example.org", Values: []string{"f@example.org", "F"}, State: "sent",
			Session: "S-BBBBB", Replied: true},
		{Campaign: c.ID, Row: 2, Line: 3, Email: "g@example.org", Values: []string{"g@example.org", "G"}, State: "suppressed",
			Detail: "unsubscribed"},
	} {
		if err := tx.PutCampaignRecipient(r); err != nil {
			return err
		}
	}
	return tx.Suppress(store.Suppression{Address: "g@example.org", Reason: "unsubscribed", Campaign: c.ID, At: now})
}
